"""The locality extractor behind :func:`negmon.extract_localities` (see the package docstring)."""

from __future__ import annotations

import bisect
import gzip
import itertools
import json
import math
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from negmon.errors import InputError
from negmon.result import Locality

__all__ = ["Gazetteer", "check_region", "extract_localities"]

GAZETTEER = Path(__file__).resolve().parent / "data" / "gazetteer.json.gz"
FLAG_COMMON, FLAG_PERSON, FLAG_NOT_PLACE, FLAG_FOREIGN = 1, 2, 4, 8

_TOKEN = re.compile(r"[A-Za-zА-Яа-яЁё0-9]+(?:[-‐–][A-Za-zА-Яа-яЁё0-9]+)*|[^\sA-Za-zА-Яа-яЁё0-9]")


def _forms(*groups: str) -> frozenset[str]:
    return frozenset(w for g in groups for w in g.split())


# words after which a name is a place: prepositions, settlement markers, "жители", "мэр" ...
_CUES = _forms(
    "в во из изо под подо до около возле у над за через от ото по к ко между близ вблизи с со на о об про при",
    "г гор город города городе городу городом пгт рп пос поселок поселка поселке поселку поселком п нп",
    "село села селе селу селом с д дер деревня деревни деревне деревню деревней ст станица станицы станице станицу",
    "станицей ст-ца х хутор хутора хутору хутором хуторе аул аула аулу аулом ауле слобода слободы слободе слободу",
    "слободой сл починок починка починке починку снт",
    "жители жителей жителям житель жительница администрация администрации мэр мэрия мэрии глава главы",
    "горожане области районе района край края крае",
)
_MARKERS = {
    "г": "town",
    "гор": "town",
    "город": "town",
    "города": "town",
    "городе": "town",
    "городу": "town",
    "городом": "town",
    "пгт": "town",
    "рп": "town",
    "пос": "village",
    "поселок": "village",
    "поселка": "village",
    "поселке": "village",
    "поселку": "village",
    "п": "village",
    "село": "village",
    "села": "village",
    "селе": "village",
    "селу": "village",
    "с": "village",
    "д": "village",
    "дер": "village",
    "деревня": "village",
    "деревни": "village",
    "деревне": "village",
    "деревню": "village",
    "деревней": "village",
    "ст": "village",
    **dict.fromkeys(
        _forms(
            "станица станицы станице станицу станицей ст-ца х хутор хутора хутору хутором хуторе",
            "аул аула аулу аулом ауле слобода слободы слободе слободу слободой сл",
            "починок починка починке починку снт поселком пос",
        ),
        "village",
    ),
}
_ABBREV_MARKERS = frozenset(
    {"г", "гор", "пос", "п", "с", "д", "дер", "ст", "х", "сл"}
)  # need a dot after them
# words before a genitive that is nearly always a place ("жители сокола", "администрации мирного")
_STRONG_CUES = _forms(
    "жители жителей жителям житель жительница жительницы жительнице администрация администрации мэр мэра мэрия",
    "мэрии",
)
_STREET_BEFORE = _forms(
    "ул улица улице улицы улицу улицей пр пр-т пр-кт проспект проспекте проспекта проспекту пер переулок",
    "переулке переулка шоссе бульвар бульваре бульвара б-р пл площадь площади наб набережная набережной",
    "проезд проезде проезда тупик аллея аллее аллеи тракт тракте тракта мкр микрорайон микрорайоне",
    "метро остановка остановке остановки им имени памятник",
    "фк хк пфк банк банка завод завода заводе компания компании ооо оао зао пао ао тц трц тк кафе ресторан",
    "гостиница гостинице отель кинотеатр магазин клуб команда команды сборная аэропорт аэропорту",
)
_STREET_AFTER = _forms(
    "улица улице улицы ул шоссе проспект проспекте пр-т переулок переулке бульвар площадь набережная",
    "вокзал вокзале вокзала тракт аэропорт парк парка парке сквер сквера сквере рынок рынка рынке",
    "микрорайон микрорайоне мкр проезд переулок",
)
_QUOTES_OPEN = "«\"“„'"
_QUOTES_CLOSE = "»\"”“'"
_DISTRICT_NOUNS = _forms(
    "район района районе району районом р-н р-на р-не округ округа округе округу округом"
)
_DISTRICT_MIDDLE = _forms(
    "городской городского городском городскому городским муниципальный муниципального муниципальном",
    "муниципальному муниципальным",
)
_NOT_DISTRICT = _forms(
    "автономный автономного автономном автономному федеральный федерального федеральном административный",
    "административного административном внутригородской внутригородского",
)
# district adjectives that also name city districts everywhere; taken only with "муниципальный" or "городской"
_GENERIC_DISTRICTS = _forms(
    "ленинский советский кировский октябрьский центральный заводской первомайский красноармейский",
    "ворошиловский фрунзенский калининский дзержинский железнодорожный индустриальный промышленный",
    "северный южный западный восточный пролетарский свердловский куйбышевский орджоникидзевский",
    "тракторозаводский краснооктябрьский приволжский московский",
)
_ADJ = re.compile(r".+(?:ск|цк|ин|ов|ев)(?:ий|ого|ому|им|ом|ой|ая|ое|ую|ые|ых)$")
_TOWN_PREPS = _forms("в во из изо до от около возле под близ")
_SENTENCE_END = ".!?\n"
# the cases a preposition governs, as the gazetteer's case bits (nominative 1, genitive 2, dative 4,
# accusative 8, instrumental 16, prepositional 32, second locative 64); nominative is always allowed,
# since many names stay undeclined ("в Рощино")
_PREP_CASES = {
    **dict.fromkeys(("в", "во", "на"), 1 | 8 | 32 | 64),
    **dict.fromkeys(("о", "об", "обо", "при"), 1 | 32),
    **dict.fromkeys(
        (
            "из",
            "изо",
            "от",
            "ото",
            "до",
            "у",
            "около",
            "возле",
            "близ",
            "вблизи",
            "для",
            "без",
            "после",
            "вокруг",
            "мимо",
            "среди",
        ),
        1 | 2,
    ),
    **dict.fromkeys(("к", "ко", "по"), 1 | 4),
    **dict.fromkeys(("с", "со"), 1 | 2 | 16),
    **dict.fromkeys(("под", "подо", "за", "над", "перед", "между"), 1 | 8 | 16),
    **dict.fromkeys(("через", "про"), 1 | 8),
}
_GAP = re.compile(r"[\s—–\-()]+")
_PART_RANK = 4_999
_PLATE_LETTERS = "АВЕКМНОРСТУХABEKMHOPCTYX"
_CODES = re.compile(
    rf"(?:(?:\+7|\b8)[\s\-(]*(?P<phone>[2-8]\d\d)[\s\-)]*\d{{2,3}}[\s\-]?\d\d[\s\-]?\d\d\b"
    rf"|\b[{_PLATE_LETTERS}]\s?\d{{3}}\s?[{_PLATE_LETTERS}]{{2}}\s?(?P<plate>\d{{2,3}})(?!\d)"
    r"|\b(?P<plate2>\d{2,3})\s?(?:-?(?:й|ый|ой))?\s(?:регион|rus)\b)",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class _Tok:
    text: str
    key: str
    start: int
    end: int
    word: bool


def _key(s: str) -> str:
    return s.lower().replace("ё", "е").replace("‐", "-").replace("–", "-")


def district_key(adjective: str) -> str:
    """The lookup key of a district's adjective, "-ской" read as "-ский" ("Слободской" = "слободский")."""
    return re.sub(r"(?:ой|ый)$", "ий", _key(adjective))


class Gazetteer:
    """The compiled gazetteer, loaded once (thread-safe) from ``data/gazetteer.json.gz``."""

    _instance: Gazetteer | None = None
    _lock = threading.Lock()

    def __init__(self, path: Path = GAZETTEER) -> None:
        g = json.loads(gzip.decompress(path.read_bytes()))
        self.regions: list[tuple[str, str, str]] = [tuple(r) for r in g["regions"]]
        self.places: list[list[Any]] = g["places"]
        self.forms: dict[str, list[int]] = g["forms"]
        self.flags: dict[str, int] = g["flags"]
        self.abbreviations: dict[str, int] = g["abbreviations"]
        self.cases: dict[str, dict[int, int]] = {
            f: {int(i): b for i, b in d.items()} for f, d in g.get("cases", {}).items()
        }
        self.abbrev_lower = {_key(a): i for a, i in self.abbreviations.items() if len(a) >= 4}
        self.parents: dict[int, int] = {int(i): p for i, p in g.get("parents", {}).items()}
        self.districts: dict[str, list[list[Any]]] = g.get("districts", {})
        self.codes: dict[str, dict[str, int]] = g.get("codes", {"plate": {}, "phone": {}})
        # administrative districts of cities by name ("советский район" -> its places)
        self.city_districts: dict[str, list[int]] = {}
        for i in self.parents:
            if self.places[i][1] == "city_district":
                self.city_districts.setdefault(_key(self.places[i][0]), []).append(i)
        self.max_words: int = g["max_words"]
        self.region_index = {r[0]: i for i, r in enumerate(self.regions)}
        names = sorted(
            {
                (_key(p[0]), i)
                for i, p in enumerate(self.places)
                if p[1] not in ("region",) and i not in self.parents
            }
        )
        self.sorted_keys = [k for k, _ in names]
        self.sorted_ids = [i for _, i in names]

    @classmethod
    def get(cls) -> Gazetteer:
        """The shared instance, loaded on first use."""
        if cls._instance is None:
            with cls._lock:
                if cls._instance is None:
                    cls._instance = cls()
        return cls._instance

    def by_prefix(self, prefix: str) -> list[int]:
        """Places whose lower-case name starts with ``prefix``."""
        lo = bisect.bisect_left(self.sorted_keys, prefix)
        out = []
        for k in range(lo, len(self.sorted_keys)):
            if not self.sorted_keys[k].startswith(prefix):
                break
            out.append(self.sorted_ids[k])
        return out


@lru_cache(maxsize=4096)
def _lemma_adj(word: str) -> str:
    from negmon.normalize import _morph

    for p in _morph().parse(word.lower()):
        if "ADJF" in p.tag and p.is_known:
            f = p.inflect({"masc", "sing", "nomn"})
            if f is not None:
                return str(f.word)
    # an adjective pymorphy3 does not know ("Геническом"): by its ending
    return re.sub(r"(?:ого|ому|ом|им|ой|ая|ое|ую|ые|ых|ими|ыми)$", "ий", word.lower())


@lru_cache(maxsize=4096)
def _lemma_noun(word: str) -> str:
    from negmon.normalize import _morph

    parses = _morph().parse(word.lower())
    best = max(parses, key=lambda p: ("Geox" in p.tag, "NOUN" in p.tag, p.score))
    return str(best.normal_form)


def _title(s: str) -> str:
    return "-".join(p[:1].upper() + p[1:] for p in s.split("-"))


@dataclass
class _Match:
    start_tok: int
    end_tok: int  # exclusive, word-token index
    cands: list[int]
    kind_hint: str | None = None
    flags: int = 0
    surface: str = ""
    start: int = 0
    end: int = 0
    name: str | None = None  # set for districts and unknown settlements
    region: int | None = None
    confidence: float = 1.0


def _tokens(text: str) -> list[_Tok]:
    return [
        _Tok(m.group(), _key(m.group()), m.start(), m.end(), m.group()[0].isalnum())
        for m in _TOKEN.finditer(text)
    ]


class _Extractor:
    def __init__(self, g: Gazetteer, text: str, hint: int | None, city: int | None = None) -> None:
        self.g, self.text, self.hint, self.city = g, text, hint, city
        self.toks = _tokens(text)
        self.words = [i for i, t in enumerate(self.toks) if t.word]

    # ------------------------------------------------------------ context helpers

    def _prev(self, ti: int) -> _Tok | None:
        return self.toks[ti - 1] if ti > 0 else None

    def _prev_word(self, ti: int, skip_dot: bool = True) -> tuple[_Tok | None, bool]:
        """The word before token ``ti`` and whether a dot sits between (``г.`` style markers)."""
        j = ti - 1
        dot = False
        while j >= 0 and not self.toks[j].word:
            if self.toks[j].text == "." and skip_dot and not dot:
                dot = True
                j -= 1
                continue
            return None, dot
        return (self.toks[j] if j >= 0 else None), dot

    def _next_tok(self, ti: int) -> _Tok | None:
        return self.toks[ti + 1] if ti + 1 < len(self.toks) else None

    def _sentence_initial(self, ti: int) -> bool:
        p = self._prev(ti)
        return (
            p is None
            or (not p.word and p.text in _SENTENCE_END)
            or "\n" in self.text[p.end : self.toks[ti].start]
        )

    def _cue(self, ti: int) -> tuple[bool, bool]:
        """(a place cue precedes token ti, that cue is a settlement marker such as "пос.")."""
        w, dot = self._prev_word(ti)
        if w is None:
            return False, False
        if w.key in _ABBREV_MARKERS:
            return (True, True) if dot else (w.key in ("с", "п", "г", "д") and False, False)
        if dot and w.key not in _MARKERS:
            return False, False
        return (w.key in _CUES or w.key in _MARKERS), w.key in _MARKERS

    def _street(self, ti: int, tj: int) -> bool:
        w, _ = self._prev_word(ti)
        if w is not None and w.key in _STREET_BEFORE:
            return True
        nxt = self.toks[tj] if tj < len(self.toks) else None
        return nxt is not None and nxt.word and nxt.key in _STREET_AFTER

    def _address_after(self, tj: int) -> bool:
        """Whether ", улица ..." or ", <Street> <house>" follows token ``tj``."""
        t = self.toks[tj : tj + 2]
        if len(t) < 2 or t[0].text != "," or not t[1].word:
            return False
        return t[1].key in _STREET_BEFORE or (t[1].text[:1].isupper() and self._house_number_after(tj + 2))

    def _house_number_after(self, tj: int) -> bool:
        for t in self.toks[tj : tj + 3]:
            if t.text == ",":
                continue
            return t.text[0].isdigit() or t.key in ("д", "дом")
        return False

    def _quoted(self, start: int, end: int) -> bool:
        before = self.text[start - 1] if start else ""
        after = self.text[end] if end < len(self.text) else ""
        return bool(before and before in _QUOTES_OPEN and after and after in _QUOTES_CLOSE)

    # ------------------------------------------------------------ candidates

    def _districts(self, used: set[int]) -> list[_Match]:
        out = []
        for wi, ti in enumerate(self.words):
            t = self.toks[ti]
            if t.key not in _DISTRICT_NOUNS:
                continue
            j = wi - 1
            middle: list[_Tok] = []
            while j >= 0 and self.toks[self.words[j]].key in _DISTRICT_MIDDLE and len(middle) < 1:
                middle.insert(0, self.toks[self.words[j]])
                j -= 1
            if j < 0:
                continue
            adj = self.toks[self.words[j]]
            if adj.key in _NOT_DISTRICT or not _ADJ.match(adj.key):
                continue
            if self.text[adj.end : t.start].strip() not in ("", *(m.text for m in middle)) and not middle:
                continue
            if f"{adj.key} {t.key}" in self.g.forms:
                continue  # "Чукотского округа" is a region
            lemma = _lemma_adj(adj.key)
            if t.key in ("район", "округ") and adj.key.endswith(("ий", "ой", "ый")):
                lemma = adj.key  # already nominative: keep the author's form ("Слободской район")
            generic = lemma in _GENERIC_DISTRICTS and not middle
            noun = "район" if t.key.startswith(("район", "р-н")) else "округ"
            mid = f" {_lemma_adj(middle[0].key)}" if middle else ""
            name = f"{_title(lemma)}{mid} {noun}"
            m = _Match(
                j,
                wi + 1,
                [],
                "district",
                name=name,
                start=adj.start,
                end=t.end,
                surface=self.text[adj.start : t.end],
                flags=FLAG_COMMON if generic else 0,
            )
            out.append(m)
            used.update(range(j, wi + 1))
        return out

    def _lookup(self, used: set[int]) -> list[_Match]:
        g = self.g
        out: list[_Match] = []
        n = len(self.words)
        wi = 0
        while wi < n:
            if wi in used:
                wi += 1
                continue
            found = None
            for k in range(min(g.max_words, n - wi), 0, -1):
                if any(x in used for x in range(wi, wi + k)):
                    continue
                toks = [self.toks[self.words[x]] for x in range(wi, wi + k)]
                if k > 1 and any(
                    not _GAP.fullmatch(self.text[a.end : b.start]) for a, b in itertools.pairwise(toks)
                ):
                    continue
                key = " ".join(t.key for t in toks)
                ids = g.forms.get(key)
                abbr = None
                if k == 1:
                    abbr = g.abbreviations.get(toks[0].text)
                    if abbr is None and toks[0].key in g.abbrev_lower:
                        abbr = g.abbrev_lower[toks[0].key]
                    if abbr is None and len(toks[0].text) <= 3 and toks[0].text.isupper():
                        ids = None  # "УК", "ЖЭК": an abbreviation, not the town Ук
                if ids or abbr is not None:
                    cands = list(ids or [])
                    if abbr is not None and abbr not in cands:
                        cands = [abbr, *cands]
                    found = _Match(
                        wi,
                        wi + k,
                        cands,
                        flags=g.flags.get(key, 0) if abbr is None else 0,
                        start=toks[0].start,
                        end=toks[-1].end,
                        surface=self.text[toks[0].start : toks[-1].end],
                    )
                    break
            if found:
                out.append(found)
                wi = found.end_tok
            else:
                wi += 1
        return out

    def _next_word(self, tj: int) -> _Tok | None:
        nxt = self.toks[tj] if tj < len(self.toks) else None
        return (
            nxt
            if nxt is not None and nxt.word and self.text[self.toks[tj - 1].end : nxt.start] == " "
            else None
        )

    def _accept(self, m: _Match) -> bool | None:
        """True: a place; False: not a place; None: undecided (a flagged name without a cue, which a
        neighbouring place may still make a place, as in "Воронежская область, Лиски")."""
        ti = self.words[m.start_tok]
        tj = self.words[m.end_tok - 1] + 1
        if self._street(ti, tj) or self._quoted(m.start, m.end):
            return False
        nxt = self._next_word(tj)
        regionish = any(self.g.places[i][1] == "region" for i in m.cands)
        if nxt is not None and nxt.key in _DISTRICT_NOUNS and not regionish:
            return False  # "в Советском районе": the adjective of a district, not the town Советск
        cue, marker = self._cue(ti)
        if marker:
            m.kind_hint = "settlement"
        cap = m.surface[:1].isupper()
        if regionish and (cap or not m.flags):
            return True
        w, _ = self._prev_word(ti)
        part = all(i in self.g.parents for i in m.cands)
        if w is not None and w.key == "на" and not regionish and not (part and cap and not m.flags):
            return False  # "на Лесной", "на Кирова": a street; settlements take "в" (parts of cities both)
        # "жители мезени", "жители зимы": not "жители нового дома", where the word is an adjective of the next
        strong = w is not None and w.key in _STRONG_CUES and not self._modifies(m.surface, nxt)
        if m.flags & (FLAG_NOT_PLACE | FLAG_FOREIGN):
            if marker or (strong and not m.flags & FLAG_FOREIGN):
                return True
            # a town that shares its name with a river: "в Зее", "из Оби" yes, "в Волгу" (a village) no; in
            # lower case where pymorphy3 reads the word as a place name ("в мезени")
            town = max((self.g.places[i][5] or 0) for i in m.cands) >= 3_000
            geo = cap or (self._geox_share(m.surface.lower()) >= 0.3 and not self._nounish(nxt))
            if m.flags & FLAG_NOT_PLACE and geo and town and w is not None and w.key in _TOWN_PREPS:
                return True
            return None
        if not cap and part:
            # a part of a city in lower case only where its words are names ("купчино", not "старом городе")
            return all(self._lower_name_like(t.key) for t in self.toks[ti:tj] if t.word)
        if not m.flags:
            return True
        big = max((self.g.places[i][5] or 0) for i in m.cands) >= 100_000
        if self._house_number_after(tj) and not marker:
            return False
        if m.flags & FLAG_COMMON:
            if not cap:
                # lower case: a marker, "жители ...", or a cue before a word that is big or mostly a place name
                geo = cue and not big and self._geox_share(m.surface.lower()) >= 0.3
                if marker or strong or (((big and cue) or geo) and not self._nounish(nxt)):
                    return True
                return None if cue else False  # its region named right after may still make it a place
            if cue:
                return True
            if big and not self._sentence_initial(ti) and not m.flags & FLAG_PERSON:
                return True
            huge = max((self.g.places[i][5] or 0) for i in m.cands) >= 500_000
            if huge and not (nxt is not None and nxt.text[:1].isupper()):
                return True  # "Ростов опять без воды", "Нижний встал в пробках"
            return None
        # a personal name: needs a cue unless it is a large city not followed by a name or an initial
        if cue:
            return True
        if nxt is not None and nxt.text[:1].isupper():
            return False
        return True if big else None

    @staticmethod
    def _modifies(form: str, t: _Tok | None) -> bool:
        """Whether ``form`` reads as an adjective of the noun ``t`` ("нового" in "нового дома")."""
        if t is None:
            return False
        from negmon.normalize import _morph

        adjective = any("ADJF" in p.tag for p in _morph().parse(form.lower()) if p.score >= 0.1)
        return adjective and "NOUN" in _morph().parse(t.key)[0].tag

    @staticmethod
    def _nounish(t: _Tok | None) -> bool:
        """Whether the word after a lower-case name makes it an adjective ("в нижнем ящике")."""
        if t is None:
            return False
        from negmon.normalize import _morph

        p = _morph().parse(t.key)[0]
        return bool({"NOUN", "ADJF"} & p.tag.grammemes)

    def _chained(self, m: _Match, accepted: list[_Match]) -> bool:
        """An undecided name next to an accepted place ("Липецкая область, Грязи", "Щёкино и Алексин")
        or titling a post ("Заречный: ...") is a place."""
        ti = self.words[m.start_tok]
        tj = self.words[m.end_tok - 1] + 1
        if not m.surface[:1].isupper():
            # lower case: only with its region right after ("в зиме (иркутская обл)", "в свободном амурской области")
            k = tj
            while k < len(self.toks) and self.toks[k].text in "(,":
                k += 1
            regions = [a for a in accepted if k < len(self.toks) and a.start == self.toks[k].start
                       and any(self.g.places[i][1] == "region" for i in a.cands)]
            return any(self.g.places[i][2] == self.g.places[r.cands[0]][2] for r in regions for i in m.cands)
        after = self.toks[tj].text if tj < len(self.toks) else ""
        if m.flags & FLAG_PERSON:  # a surname-like town: ":" only, or "," before an address ("Муром, Лакина 12")
            title: tuple[str, ...] = (":", ",") if self._address_after(tj) else (":",)
        else:
            title = (":", "—", "–", ",")
        town = max((self.g.places[i][5] or 0) for i in m.cands) >= 5_000
        if (
            after in title
            and town
            and self._sentence_initial(ti)
            and not m.flags & (FLAG_NOT_PLACE | FLAG_FOREIGN)
        ):
            return True
        nxt = self._next_word(tj)
        if nxt is not None and any(
            a.start == nxt.start and any(self.g.places[i][1] == "region" for i in a.cands) for a in accepted
        ):
            return True  # "Апатиты Мурманской области"
        j = ti - 1
        if j >= 0 and (self.toks[j].text in (",", "(") or self.toks[j].key in ("и", "или")):
            k = j - 1
            while k >= 0 and self.toks[k].text == ".":  # "Нижегородская обл., Бор"
                k -= 1
            prev_end = self.toks[k].end if k >= 0 else -1
            return any(a.end == prev_end for a in accepted)
        if after in (",", ")"):
            nxt_start = self.toks[tj + 1].start if tj + 1 < len(self.toks) else -1
            return any(a.start == nxt_start for a in accepted)
        return False

    def _region_start(self, k: int) -> bool:
        """Whether word ``k`` starts a federal subject's name ("Ярославской области", "Башкирии")."""
        g = self.g
        keys = [self.toks[self.words[x]].key for x in range(k, min(k + 2, len(self.words)))]
        for n in (2, 1):
            ids = g.forms.get(" ".join(keys[:n]), []) if len(keys) >= n else []
            if any(g.places[i][1] == "region" for i in ids):
                return True
        return False

    def _marker_names(self, used: set[int]) -> list[_Match]:
        """Settlements after a marker ("д. Кузьмищево", "в селе Малая Семёновка", "в деревне громотеево") that the
        gazetteer does not hold as a whole: up to three capitalised words, or in a lower-case text one word that
        pymorphy3 does not know or knows as a place. Names the gazetteer holds are left to :meth:`_lookup`."""
        out = []
        n = len(self.words)
        for wi, ti in enumerate(self.words):
            if wi in used:
                continue
            w, dot = self._prev_word(ti)
            if w is None or w.key not in _MARKERS or (w.key in _ABBREV_MARKERS) != dot:
                continue
            first = self.toks[ti]
            lower = not first.text[:1].isupper()
            span = self._anchored(wi, used, upper=not lower)
            for k in range(wi, min(wi + (1 if lower else 3), n) if not span else 0):
                t = self.toks[self.words[k]]
                if (
                    k in used
                    or len(t.text) < 2
                    or t.key in _MARKERS
                    or t.key in _DISTRICT_NOUNS
                    or self._region_start(k)
                ):
                    break
                if span and self.text[span[-1].end : t.start] != " ":
                    break
                if lower:
                    if not self._lower_name_like(t.key):
                        break
                elif not t.text[:1].isupper() or not self._placename_like(t.key):
                    break
                span.append(t)
            while span and (span[-1].key in _STREET_AFTER or span[-1].key in _STREET_BEFORE):
                span.pop()
            if not span:
                continue
            joined = " ".join(t.key for t in span)
            if joined in self.g.forms:
                continue
            if len(span) == 1 and not lower and span[0].key in self.g.forms:
                continue
            name = " ".join(_title(t.text.lower()) if lower or t.text.isupper() else t.text for t in span)
            if len(span) == 1 and not lower:
                name = self._nominative(span[0].text)
            start, end = span[0].start, span[-1].end
            out.append(
                _Match(
                    wi,
                    wi + len(span),
                    [],
                    _MARKERS[w.key],
                    name=name,
                    start=start,
                    end=end,
                    surface=self.text[start:end],
                    confidence=0.5,
                )
            )
            used.update(range(wi, wi + len(span)))
        return out

    def _anchored(self, wi: int, used: set[int], *, upper: bool) -> list[_Tok]:
        """Words after a marker right before a district or a region ("д. Верхняя Убыть Глазовского района",
        "в деревне малое шарыгино кикнурского района"): a name in apposition, whatever pymorphy3 reads it as;
        in lower case each word must have a nominative reading."""
        from negmon.normalize import _morph

        span: list[_Tok] = []
        for k in range(wi, min(wi + 4, len(self.words))):
            t = self.toks[self.words[k]]
            if k in used or self._region_start(k):
                return span
            if len(span) == 3 or (span and self.text[span[-1].end : t.start] != " "):
                return []
            if t.key in _MARKERS or t.key in _STREET_BEFORE or t.key in _STREET_AFTER:
                return []
            if upper:
                if not (t.text[:1].isupper() or (span and t.text[:1].isdigit())):
                    return []
            elif t.text[:1].isupper():
                return []
            else:
                parses = _morph().parse(t.key)
                if parses[0].is_known and not any(
                    "nomn" in p.tag and {"NOUN", "ADJF"} & p.tag.grammemes for p in parses
                ):
                    return []
            span.append(t)
        return []

    def _can_be_nominative(self, m: _Match) -> bool:
        from negmon.normalize import _morph

        last = self.toks[self.words[m.end_tok - 1]].key
        parses = _morph().parse(last)
        return not parses[0].is_known or any("nomn" in p.tag for p in parses)

    @staticmethod
    def _nominative(word: str) -> str:
        """A capitalised unknown name as written, or its dictionary form where pymorphy3 knows it as an
        inflected place name ("в посёлке Мезени" -> "Мезень")."""
        from negmon.normalize import _morph

        geo = [p for p in _morph().parse(word.lower()) if "Geox" in p.tag and p.is_known]
        if geo and "nomn" not in geo[0].tag:
            return _title(str(geo[0].normal_form))
        return word

    @staticmethod
    def _placename_like(word: str) -> bool:
        """A word that may name an unknown village: a noun or adjective, or a word pymorphy3 does not know."""
        from negmon.normalize import _morph

        p = _morph().parse(word)[0]
        return not p.is_known or (bool({"NOUN", "ADJF"} & p.tag.grammemes) and "Name" not in p.tag)

    @staticmethod
    def _lower_name_like(word: str) -> bool:
        """A lower-case word after a marker that is a name: unknown to pymorphy3, or known only as a place."""
        from negmon.normalize import _morph

        if not word.isalpha() and "-" not in word:
            return False
        parses = _morph().parse(word)
        return not parses[0].is_known or all("Geox" in p.tag for p in parses if p.score >= 0.1)

    @staticmethod
    def _geox_share(form: str) -> float:
        """How much of pymorphy3's reading of ``form`` is a place name (0 for "зимы", 1 for "шилки")."""
        from negmon.normalize import _morph

        return float(sum(p.score for p in _morph().parse(form) if "Geox" in p.tag))

    # ------------------------------------------------------------ resolution

    def _code_regions(self) -> set[int]:
        """Regions named by a car plate or a telephone area code in the post ("А123ВС 102", "8 (347) ...")."""
        out = set()
        for m in _CODES.finditer(self.text):
            if m.group("phone"):
                r = self.g.codes["phone"].get(m.group("phone"))
            else:
                r = self.g.codes["plate"].get((m.group("plate") or m.group("plate2")).lstrip("0").zfill(2))
            if r is not None:
                out.add(r)
        return out

    def _sentence(self, pos: int) -> tuple[int, int]:
        a = max(self.text.rfind(c, 0, pos) for c in _SENTENCE_END)
        ends = [e for c in _SENTENCE_END if (e := self.text.find(c, pos)) >= 0]
        return a + 1, min(ends) if ends else len(self.text)

    def _near(self, m: _Match, others: list[_Match]) -> _Match | None:
        """The nearest of ``others`` in the same sentence as ``m``."""
        a, b = self._sentence(m.start)
        same = [o for o in others if a <= o.start < b and o is not m]
        return min(same, key=lambda o: abs(o.start - m.start), default=None)

    def run(self) -> tuple[Locality, ...]:
        g = self.g
        used: set[int] = set()
        districts = self._districts(used)
        unknown = self._marker_names(used)
        matches: list[_Match] = []
        undecided: list[_Match] = []
        for m in self._lookup(used):
            verdict = self._accept(m)
            if verdict:
                matches.append(m)
            elif verdict is None:
                undecided.append(m)
        for m in list(undecided):
            # a foreign homonym or a river name is the village when the post names its region
            regions_named = {g.places[x.cands[0]][2] for x in matches if g.places[x.cands[0]][1] == "region"}
            if m.flags & FLAG_FOREIGN and any(g.places[i][2] in regions_named for i in m.cands):
                matches.append(m)
                undecided.remove(m)
        changed = True
        while changed and undecided:
            changed = False
            for m in list(undecided):
                if self._chained(m, matches + districts):
                    matches.append(m)
                    undecided.remove(m)
                    changed = True
        context: set[int] = set()
        if self.hint is not None:
            context.add(self.hint)
        for m in matches:
            kinds = {g.places[i][1] for i in m.cands}
            if len({g.places[i][2] for i in m.cands}) == 1 or kinds & {"region"}:
                regions = [g.places[i][2] for i in m.cands if g.places[i][1] == "region"] or [
                    g.places[m.cands[0]][2]
                ]
                context.update(regions[:1])
        codes = self._code_regions()
        if len(codes) == 1:
            context |= codes
        # municipal districts first: a village next to one takes its region ("д. Кузьмищево Ярославского района")
        villages = unknown + [m for m in matches if m.kind_hint == "settlement"]
        for m in districts:
            if m.flags and self._near(m, villages) is not None:
                m.flags = 0  # "с. Бакаево Северного района": a village's district is a municipal one
            m.region, m.confidence = self._district_region(m, context, matches)
        municipal = [m for m in districts if m.region is not None and not m.flags]
        settled = [(m, self._resolve(m, context, self._near(m, municipal))) for m in matches]
        locs: list[tuple[int, Locality]] = [(m.start, loc) for m, loc in settled]
        cities = {i for _, loc in settled if loc.kind in ("city", "town") for i in self._ids(loc)}
        if self.city is not None:
            cities.add(self.city)
        for m in districts:
            loc = self._resolve_district(m, context, settled, cities)
            if loc is not None:
                locs.append((m.start, loc))
        for m in unknown:
            near = self._near(m, municipal)
            region = near.region if near is not None else next(iter(context)) if len(context) == 1 else None
            conf = 0.7 if near is not None else m.confidence
            locs.append((m.start, self._named(m, m.kind_hint or "village", region, conf)))
        return tuple(loc for _, loc in sorted(locs, key=lambda x: x[0]))

    def _ids(self, loc: Locality) -> list[int]:
        return [
            i
            for i in self.g.forms.get(_key(loc.name), [])
            if self.g.places[i][0] == loc.name and self.g.regions[self.g.places[i][2]][0] == loc.region
        ]

    def _population(self, i: int) -> int:
        """A place's population for ranking namesakes; a part of a city ranks above villages and below towns
        ("Марьино" is Moscow's district, "Коломна" the town, not the part of Petersburg)."""
        return _PART_RANK if i in self.g.parents else int(self.g.places[i][5] or 0)

    def _resolve(self, m: _Match, context: set[int], district: _Match | None = None) -> Locality:
        g = self.g
        cands = self._governed(m, m.cands)
        if m.kind_hint == "settlement":
            cands = [i for i in cands if g.places[i][1] != "region"] or cands
        elif any(g.places[i][1] == "region" for i in cands):
            cands = [i for i in cands if g.places[i][1] == "region"]
        local = (
            district.region if district is not None else self.hint if m.kind_hint == "settlement" else None
        )
        if local is not None and g.places[cands[0]][1] != "region":
            inside = [i for i in cands if g.places[i][2] == local]
            if inside:
                cands = inside
            elif m.kind_hint == "settlement" or max(self._population(i) for i in cands) < 50_000:
                # a namesake of a village the gazetteer lacks: the village of the district the post names,
                # by the name as written where it can be a nominative ("в хуторе Тары": Тары, not Тара)
                name = g.places[cands[0]][0]
                if (
                    m.kind_hint == "settlement"
                    and _key(name) != _key(m.surface)
                    and self._can_be_nominative(m)
                ):
                    name = " ".join(_title(w.lower()) if w.islower() else w for w in m.surface.split())
                return self._named(m, "village", local, 0.7, name=name)

        def score(i: int) -> tuple[int, int, int, float]:
            p = g.places[i]
            parent = g.parents.get(i)
            return (
                int(p[2] == self.hint),
                int(parent is not None and parent == self.city),
                int(p[2] in context),
                math.log1p(self._population(i)),
            )

        best = max(cands, key=score)
        if len(cands) == 1:
            conf = 0.95 if m.flags else 1.0
        elif score(best)[:3] > (0, 0, 0):
            conf = 0.9
        else:
            pops = sorted((self._population(i) or 1 for i in cands), reverse=True)
            conf = round(max(0.4, min(0.85, pops[0] / sum(pops))), 2)
        return self._locality(best, m, conf)

    def _governed(self, m: _Match, cands: list[int]) -> list[int]:
        """The candidates whose form agrees with the case the preceding preposition governs: "в Советском" is
        Советский (prepositional), not Советск (instrumental); all of them when none agrees."""
        if len(cands) < 2:
            return cands
        cases = self.g.cases.get(
            " ".join(self.toks[self.words[x]].key for x in range(m.start_tok, m.end_tok))
        )
        if not cases:
            return cands
        prep, _ = self._prev_word(self.words[m.start_tok], skip_dot=False)
        allowed = _PREP_CASES.get(prep.key, 0) if prep is not None else 0
        agree = [i for i in cands if cases.get(i, 0) & allowed]
        return agree or cands

    def _locality(self, i: int, m: _Match, conf: float) -> Locality:
        name, kind, region, lat, lon, pop = self.g.places[i]
        parent = self.g.parents.get(i)
        city = self.g.places[parent][0] if parent is not None else None
        return self._named(m, kind, region, conf, name=name, lat=lat, lon=lon, population=pop, city=city)

    def _named(self, m: _Match, kind: str, region: int | None, conf: float, *, name: str | None = None,
               **place: Any) -> Locality:
        """A Locality at ``m`` with its region; a place the gazetteer does not hold as such (a district, an
        unknown village) has only a name, ``place`` the gazetteer's coordinates, population and city."""
        rname, code = (self.g.regions[region][0], self.g.regions[region][1]) if region is not None else (None, None)
        out = name or m.name
        assert out is not None
        return Locality(name=out, kind=kind, region=rname, region_code=code, start=m.start, end=m.end,
                        surface=m.surface, confidence=conf, **place)

    def _district_region(
        self, m: _Match, context: set[int], matches: list[_Match]
    ) -> tuple[int | None, float]:
        """The region of a municipal district: from the project's table of districts, where a name several
        subjects share is settled by the hint, the post's other places and codes, or a settlement of the same
        sentence; else from the town its adjective comes from ("Кстовский" -> Кстово)."""
        g = self.g
        adjective = _key(m.name.split()[0]) if m.name else ""
        entries = g.districts.get(district_key(adjective))
        if entries:
            regions = sorted({r for r, _ in entries})
            if self.hint in regions:
                return self.hint, 0.95
            known = [r for r in regions if r in context]
            if len(known) == 1:
                return known[0], 0.9
            near = self._near(m, matches)
            if near is not None:
                both = {g.places[i][2] for i in near.cands} & set(regions)
                if len(both) == 1:
                    return next(iter(both)), 0.8
            if len(regions) == 1 and not m.flags:
                return regions[0], 0.95
            if m.flags:
                return None, 0.4
            # a guess, and said to be one: the subject whose district has the larger centre
            return max(regions, key=lambda r: self._centre_population(r, entries)), 0.5
        stem = re.sub(r"(?:ский|цкий|ской)$", "", adjective)
        stems = [stem, stem.split("-")[0]] if "-" in stem else [stem]
        cands: list[int] = []
        for base in stems:
            for cut in range(0, 4):
                s = base[: len(base) - cut] if cut else base
                if len(s) < 3:
                    break
                cands = [i for i in g.by_prefix(s) if g.places[i][1] != "region"]
                if cands:
                    break
            if cands:
                break
        if cands and not m.flags:
            best = max(
                cands,
                key=lambda i: (
                    int(g.places[i][2] == self.hint),
                    int(g.places[i][2] in context),
                    -abs(len(g.places[i][0]) - len(stem)),
                    g.places[i][5] or 0,
                ),
            )
            return g.places[best][2], 0.9 if g.places[best][2] in context else 0.7
        if self.hint is not None:
            return self.hint, 0.8
        if len(context) == 1:
            return next(iter(context)), 0.6
        return None, 0.4

    def _centre_population(self, region: int, entries: list[list[Any]]) -> int:
        g = self.g
        centres = {_key(c) for r, c in entries if r == region}
        return max(
            (g.places[i][5] or 0 for c in centres for i in g.forms.get(c, []) if g.places[i][2] == region),
            default=0,
        )

    def _city_internal(self, m: _Match, settlements: list[tuple[_Match, Locality]]) -> bool:
        """A district named right after or before a city ("в Казани в Советском районе", "районе Петербурга")."""
        for sm, loc in settlements:
            if loc.kind != "city":
                continue
            gap = self.text[m.end : sm.start] if sm.start >= m.end else self.text[sm.end : m.start]
            if len(gap) <= 4 and gap.strip(" ,") in ("", "в", "г", "г."):
                return True
        return False

    def _resolve_district(
        self, m: _Match, context: set[int], settled: list[tuple[_Match, Locality]], cities: set[int]
    ) -> Locality | None:
        """A district of a city the post names (or the caller's city), else a municipal district; a district
        named next to a city the project has no parts for is left out, as before."""
        g = self.g
        parts = g.city_districts.get(_key(m.name or ""), [])
        mine = [i for i in parts if g.parents[i] in cities]
        if mine:
            return self._locality(mine[0], m, 0.9)
        if self._city_internal(m, settled) or (m.flags and any(loc.kind == "city" for _, loc in settled)):
            return None
        if m.region is not None and (g.districts.get(district_key((m.name or "").split()[0])) or not parts):
            return self._named(m, "district", m.region, m.confidence)
        regional = [i for i in parts if g.places[i][2] in context] or ([] if context else parts)
        if len({g.parents[i] for i in regional}) == 1:
            return self._locality(regional[0], m, 0.8 if len(parts) == 1 else 0.7)
        return self._named(m, "district", m.region, m.confidence)


def extract_localities(
    text: str, *, region: str | None = None, city: str | None = None
) -> tuple[Locality, ...]:
    """Every Russian settlement, municipal district, part of a large city and federal subject named in ``text``.

    ``region`` (a federal subject's official name, e.g. "Нижегородская область") resolves names that
    several regions share; ``city`` (the town a source writes from, e.g. the city a group is named after)
    does the same for its region and for the districts of that city, and is the region hint when ``region``
    is not given. Offsets index ``text``: ``text[loc.start:loc.end] == loc.surface``.

    >>> extract_localities("в Бору опять отключили свет", region="Нижегородская область")[0].name
    'Бор'
    >>> [(x.name, x.city) for x in extract_localities("в Советском районе опять нет воды", city="Казань")]
    [('Советский район', 'Казань')]
    """
    if not isinstance(text, str):
        raise TypeError(f"extract_localities() expects str, got {type(text).__name__}")
    for name, value in (("region", region), ("city", city)):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{name} must be str or None, got {type(value).__name__}")
    g = Gazetteer.get()
    hint = _region_hint(g, region) if region and region.strip() else None
    town = _city_hint(g, city, hint) if city and city.strip() else None
    if hint is None and town is not None:
        hint = g.places[town][2]
    return _Extractor(g, text, hint, town).run()


def _city_hint(g: Gazetteer, city: str, hint: int | None) -> int:
    """The place a ``city`` hint names: the largest settlement of that name, in the hinted region if given."""
    ids = [
        i
        for i in g.forms.get(_key(" ".join(city.split())), [])
        if g.places[i][1] in ("city", "town", "village") and i not in g.parents
    ]
    if hint is not None:
        ids = [i for i in ids if g.places[i][2] == hint] or ids
    if not ids:
        import difflib

        names = sorted({p[0] for p in g.places if p[1] in ("city", "town")})
        close = difflib.get_close_matches(city, names, n=3, cutoff=0.7)
        more = f"did you mean {', '.join(map(repr, close))}?" if close else "for example 'Казань'"
        raise InputError(f"unknown city {city[:80]!r}: expected a Russian town's name ({more})")
    return max(ids, key=lambda i: (g.places[i][5] or 0, -i))


_REGION_WORDS = {"обл": "область", "респ": "республика", "ао": "автономный округ"}
_REGION_ABBR = re.compile(r"\b(обл|респ|ао)\b\.?")


def _region_hint(g: Gazetteer, region: str) -> int:
    hint = g.region_index.get(region)
    key = _key(" ".join(region.split()))
    for k in (key, _REGION_ABBR.sub(lambda m: _REGION_WORDS[m.group(1)], key)):
        if hint is None:
            ids = g.forms.get(k, [])
            regions = [g.places[i][2] for i in ids if g.places[i][1] == "region"]
            hint = regions[0] if regions else None
    if hint is None:
        import difflib

        names = [r[0] for r in g.regions]
        close = difflib.get_close_matches(region, names, n=3, cutoff=0.6)
        hint_text = f"did you mean {', '.join(map(repr, close))}?" if close else f"for example {names[0]!r}"
        raise InputError(
            f"unknown region {region[:80]!r}: expected a federal subject's name or short form ({hint_text})"
        )
    return hint


def check_region(region: str) -> str:
    """The official name of the federal subject ``region`` names (an official name or a short form such as
    "Нижегородская обл."); raises :class:`~negmon.errors.InputError` with close matches when it names none.

    >>> check_region("нижегородская область")
    'Нижегородская область'
    """
    if not isinstance(region, str):
        raise TypeError(f"region must be str, got {type(region).__name__}")
    g = Gazetteer.get()
    return g.regions[_region_hint(g, region)][0]
