"""Coverage of the locality extractor over the hflabs tables in ../shared/data/geo (a test helper, also run
by benchmarks/localities.py): every city and every region, inflected with pymorphy3 into the
prepositional and the genitive case inside a sentence, must be found with the right region."""

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


def coverage(pairs: list[tuple[str, str]], *, hint: bool = False) -> dict[str, Any]:
    """Share of names found, with the right region, in each case's sentence; and the misses.

    ``hint=True`` passes the true region as ``region=`` (a regional service knows its own region).
    """
    import json

    from negmon import extract_localities

    root = Path(__file__).resolve().parents[1]
    names = {
        s["code"]: s["name"]
        for s in json.loads(
            (root / "src" / "negmon" / "localities" / "data" / "subjects.json").read_text("utf-8")
        )
    }

    out: dict[str, Any] = {}
    for case, template in SENTENCES.items():
        ok = 0
        misses = []
        for name, code in pairs:
            form = inflect_name(name, case)
            text = template.format(form)
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
