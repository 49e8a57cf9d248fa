"""Coverage of the locality extractor over tables the project did not write, in ../shared/data/geo (a test
helper, also run by benchmarks/localities.py): every hflabs city and region, inflected with pymorphy3 into the
prepositional and the genitive case inside a sentence (also all in lower case), and the rural settlements of
OKTMO volumes 3 and 5 after their marker ("в селе ...", "жители деревни ..."), with and without their municipal
district, capitalised and in lower case."""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path
from typing import Any

# ISO 3166-2 codes GeoNames-based tables give to subjects ISO files under Ukraine -> negmon's codes
ISO_FIX = {"UA-43": "RU-CR", "UA-40": "RU-SEV"}
TYPE_WORDS = {"обл": "область", "Респ": "Республика", "АО": "автономный округ", "Аобл": "автономная область"}
SENTENCES = {
    "loct": "Вчера в {} снова отключили горячую воду, ждём уже третий день",
    "gent": "Автобус из {} опять опоздал на сорок минут, жалоба уже в прокуратуре",
    "residents": "Жители {} жалуются, что третий день нет воды, а в администрации молчат",
}


@cache
def _morph() -> Any:
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


def inflect_name(name: str, case: str) -> str:
    """``name`` in ``case`` word by word with pymorphy3 (adjectives agree with the last noun)."""
    words = name.split()
    out = []
    plural = words[-1].lower().endswith(("ы", "и")) and len(words) > 1
    for i, w in enumerate(words):
        if w.lower() in ("на", "под") or (words[0].lower() == "республика" and i > 0) or w in ("-", "—"):
            out.append(w)
            continue
        parts = w.split("-")
        if len(parts) >= 3 and parts[1].lower() in ("на", "под"):
            out.append("-".join([_inflect_word(parts[0], case, plural), *parts[1:]]))
            continue
        # "Усть-Илимск": the last part declines; "Каменск-Уральский": both, the adjective agreeing
        both = (
            len(parts) == 2
            and parts[1].lower().endswith(("ий", "ый", "ой", "ая"))
            and parts[0][-1] not in "оеыи"
        )
        out.append(
            "-".join(
                _inflect_word(p, case, plural) if j == len(parts) - 1 or both else p
                for j, p in enumerate(parts)
            )
        )
    return " ".join(out)


# a masculine name ending in a consonant that pymorphy3 reads as another part of speech ("Белев": a gerund)
_MASC_ENDINGS = {"loct": "е", "gent": "а"}


def _inflect_word(w: str, case: str, plural: bool) -> str:
    parses = [p for p in _morph().parse(w.lower()) if {"NOUN", "ADJF"} & p.tag.grammemes]
    if not parses:
        low = w.lower()
        word = low + _MASC_ENDINGS[case] if low[-1] in "бвгджзклмнпрстфхцчшщ" else low
        return word[:1].upper() + word[1:] if w[:1].isupper() else word
    # the reading whose dictionary form is the name itself first ("Лесной", not the Geox noun "Лесна")
    p = max(
        parses,
        key=lambda p: (
            "nomn" in p.tag and p.normal_form == w.lower(),
            "Geox" in p.tag,
            p.normal_form == w.lower(),
            "nomn" in p.tag,
            p.score,
        ),
    )
    num = "plur" if plural or ("plur" in p.tag and "nomn" in p.tag) else "sing"
    f = p.inflect({case, num}) or p.inflect({case})
    word = f.word if f else w.lower()
    return word[:1].upper() + word[1:] if w[:1].isupper() else word


def load(shared: Path) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(city name, ISO code) and (region name, ISO code) pairs from the hflabs tables."""
    with open(shared / "geo" / "hflabs-region" / "region.csv", encoding="utf-8") as f:
        regions_raw = list(csv.DictReader(f))
    iso = {(r["type"], r["name"]): ISO_FIX.get(r["iso_code"], r["iso_code"]) for r in regions_raw}
    regions = []
    for r in regions_raw:
        if r["type"] == "г" or not r["iso_code"].startswith(("RU", "UA-4")):
            continue
        t = TYPE_WORDS.get(r["type"], r["type"])
        name = r["name"].split(" - ")[0].split(" —")[0]
        if r["type"] == "Респ":
            full = f"{name} Республика" if name.endswith(("ская", "цкая")) else f"Республика {name}"
        elif r["type"] == "АО" and "округ" in name.lower():
            full = name.replace("Автономный", "автономный")
        elif r["type"] in TYPE_WORDS or r["type"] == "край":
            full = f"{name} {t}"
        else:  # the odd type "Чувашия" of hflabs: the Chuvash Republic
            full = "Чувашская Республика"
        regions.append((full, iso[(r["type"], r["name"])]))
    with open(shared / "geo" / "hflabs-city" / "city.csv", encoding="utf-8") as f:
        cities = [
            (r["city"] or r["settlement"], iso[(r["region_type"], r["region"])])
            for r in csv.DictReader(f)
            if (r["city"] or r["settlement"])
        ]
    return cities, regions


@cache
def subject_names() -> dict[str, str]:
    """ISO code -> the federal subject's name as negmon spells it."""
    import json

    path = Path(__file__).resolve().parents[1] / "src" / "negmon" / "localities" / "data" / "subjects.json"
    return {s["code"]: s["name"] for s in json.loads(path.read_text("utf-8"))}


def coverage(pairs: list[tuple[str, str]], *, hint: bool = False, lower: bool = False) -> dict[str, Any]:
    """Share of names found, with the right region, in each case's sentence; and the misses.

    ``hint=True`` passes the true region as ``region=`` (a regional service knows its own region);
    ``lower=True`` writes the whole sentence in lower case.
    """
    from negmon import extract_localities

    names = subject_names()

    out: dict[str, Any] = {}
    for case, template in SENTENCES.items():
        ok = 0
        misses = []
        for name, code in pairs:
            form = inflect_name(name, "gent" if case == "residents" else case)
            text = template.format(form)
            if lower:
                text, form = text.lower(), form.lower()
            start = text.index(form)
            region = names.get(code) if hint else None
            found = [
                loc
                for loc in extract_localities(text, region=region)
                if loc.start < start + len(form) and start < loc.end
            ]
            if any(loc.region_code == code for loc in found):
                ok += 1
            else:
                misses.append((name, form, code, [(x.name, x.region_code) for x in found]))
        out[case] = {"share": ok / len(pairs), "n": len(pairs), "misses": misses}
    return out


# OKTMO's settlement types -> the marker word in the prepositional and the genitive
MARKERS = {
    "д": ("деревне", "деревни"),
    "с": ("селе", "села"),
    "п": ("посёлке", "посёлка"),
    "х": ("хуторе", "хутора"),
    "ст-ца": ("станице", "станицы"),
    "аул": ("ауле", "аула"),
    "сл": ("слободе", "слободы"),
    "рп": ("посёлке", "посёлка"),
    "пгт": ("посёлке", "посёлка"),
    "починок": ("починке", "починка"),
}
RURAL_SENTENCES = {
    "loct": "В {marker} {name}{district} второй день нет воды, в администрации трубку не берут",
    "gent": "Жители {marker} {name}{district} просят отремонтировать дорогу к школе",
}


def _lines(path: Path) -> list[str]:
    """A file of the OKTMO dump, line by line (its files mix UTF-8 and cp1251)."""
    out = []
    for raw in path.read_bytes().split(b"\n"):
        try:
            out.append(raw.decode("utf-8").rstrip("\r"))
        except UnicodeDecodeError:
            out.append(raw.decode("cp1251").rstrip("\r"))
    return out


def load_oktmo(shared: Path) -> list[tuple[str, str, str, str]]:
    """(settlement type, name, municipal district adjective, ISO code of the region) for every settlement of
    OKTMO volumes 3 and 5 that lies in a municipal district (settlements of urban okrugs are left out: their
    sentence would name a city, not a district)."""
    import re

    with open(shared / "geo" / "hflabs-region" / "region.csv", encoding="utf-8") as f:
        iso = {r["okato"][:2]: ISO_FIX.get(r["iso_code"], r["iso_code"]) for r in csv.DictReader(f)}
    folder = shared / "geo" / "oktmo-partial-tom3-tom5"
    districts = {}
    for path in sorted(folder.glob("*_1.csv")):
        for line in _lines(path):
            p = line.split(";")
            if len(p) >= 3 and re.fullmatch(r"\d\d \d{3} 000\s*", p[0]) and " муниципальный район" in p[2]:
                districts[p[0].replace(" ", "")[:5]] = p[2].split(" муниципальный район")[0].strip()
    out = []
    for path in sorted(folder.glob("*_2.csv")):
        for line in _lines(path):
            p = line.split(";")
            if len(p) < 3 or not re.fullmatch(r"\d\d \d{3} \d{3} \d{3}\s*", p[0]):
                continue
            code = p[0].replace(" ", "").strip()
            m = re.match(r"(\S+) (.+)$", p[2].strip())
            if code.endswith("000") or not m or m.group(1) not in MARKERS or code[2] != "6":
                continue
            if code[:5] in districts and code[:2] in iso:
                out.append((m.group(1), m.group(2).strip(), districts[code[:5]], iso[code[:2]]))
    return out


def _district_genitive(adjective: str) -> str:
    """ "Гиагинский" -> "Гиагинского района"."""
    import re

    return re.sub(r"(?:ий|ый|ой)$", "ого", adjective) + " района"


def rural_coverage(
    rows: list[tuple[str, str, str, str]], *, district: bool, lower: bool = False, hint: bool = False
) -> dict[str, Any]:
    """Share of settlements found (by name) and found with the right region, in each case's sentence."""
    from negmon import extract_localities

    names = subject_names()
    out: dict[str, Any] = {}
    for case, template in RURAL_SENTENCES.items():
        found = right = 0
        misses = []
        for kind, name, adjective, code in rows:
            text = template.format(
                marker=MARKERS[kind][0 if case == "loct" else 1],
                name=name,
                district=f" {_district_genitive(adjective)}" if district else "",
            )
            if lower:
                text = text.lower()
            start = text.lower().index(name.lower())
            key = name.lower().replace("ё", "е")
            hits = [
                x
                for x in extract_localities(text, region=names.get(code) if hint else None)
                if x.start == start and x.name.lower().replace("ё", "е") == key
            ]
            found += bool(hits)
            right += bool(hits) and hits[0].region_code == code
            if not (hits and hits[0].region_code == code):
                misses.append((text, [(x.name, x.region_code) for x in hits], code))
        out[case] = {
            "found": found / len(rows),
            "right_region": right / len(rows),
            "n": len(rows),
            "misses": misses,
        }
    return out
