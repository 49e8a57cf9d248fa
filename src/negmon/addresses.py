"""Addresses inside a settlement: streets with houses, numbered and named landmarks, microdistricts.

>>> [(a.kind, a.normalized, a.surface) for a in extract_addresses("на Гончарова, 3 опять прорвало трубу")]
[('street', 'улица Гончарова, 3', 'Гончарова, 3')]
>>> [a.normalized for a in extract_addresses("пр-т Ленина 5к2, у школы № 12 и в 3-м микрорайоне")]
['проспект Ленина, 5к2', 'школа № 12', '3-й микрорайон']

Rules, not a model: a street is a street-type word ("ул.", "проспекте", "пер.") with a name, a name with its
type after it ("Садовая улица", "Московское шоссе"), or, with no type word, a name after "на"/"по" that reads
as a street name (a genitive surname or noun: "на Гончарова", "по Мира"; a feminine adjective: "на Садовой")
or a capitalised name followed by a house number at the start of a line ("Ленина 5, третий подъезд") or inside
a sentence ("во дворе Ленина 15", "подъезд Серова 7"), when what follows the number ends the address (not "у
Петрова 2 детей"). A house is the number that follows ("д. 5", "14А", "5/1", "5 корп. 2", "5к2", "стр. 3"),
unless a unit word makes it a count ("2 часа", "3 дня", "5 км") or it is a date or a time. Landmarks are
numbered institutions ("школы 12" -> "школа № 12", "поликлинике №2") and named shopping centres ("ТЦ «Мега»");
microdistricts are numbered ("в 3-м микрорайоне", "9 мкр") or named ("мкр. Солнечный", "ЖК «Светлый»").
Normalized forms: "<type> <Name>, <house>" with the type spelled out (a street with no type word is an
"улица"), an adjective name in the nominative agreeing with the type ("на Садовой" -> "улица Садовая"), a
surname as written ("улица Гончарова").

Why rules: natasha's AddrExtractor (a yargy grammar for full postal addresses) is the peer;
``benchmarks/addresses.py`` measures both on the project's set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from negmon.errors import InputError
from negmon.result import Address

__all__ = ["extract_addresses"]

_TOKEN = re.compile(
    r"\d+(?:/\d+)?(?:-?[А-Яа-яЁё]{1,3}\b)?(?:[кК]\d+)?|[А-Яа-яЁёA-Za-z]+(?:[-‐–][А-Яа-яЁёA-Za-z0-9]+)*|№|\S"
)


@dataclass(frozen=True, slots=True)
class _Tok:
    text: str
    low: str
    start: int
    end: int


def _forms(*groups: str) -> frozenset[str]:
    return frozenset(w for g in groups for w in g.split())


# street type words (lower case, no dot) -> the type spelled out and its gender
_TYPES: dict[str, tuple[str, str]] = {
    **dict.fromkeys(_forms("ул улица улице улицы улицу улицей"), ("улица", "femn")),
    **dict.fromkeys(_forms("пр-т пр-те пр-та пр-кт просп пр проспект проспекте проспекта проспекту проспектом"),
                    ("проспект", "masc")),
    **dict.fromkeys(_forms("пер переулок переулке переулка переулку переулком"), ("переулок", "masc")),
    **dict.fromkeys(_forms("б-р б-ре б-ра бул бульвар бульваре бульвара бульвару бульваром"), ("бульвар", "masc")),
    **dict.fromkeys(_forms("ш шоссе"), ("шоссе", "neut")),
    **dict.fromkeys(_forms("пл площадь площади площадью"), ("площадь", "femn")),
    **dict.fromkeys(_forms("наб набережная набережной набережную"), ("набережная", "femn")),
    **dict.fromkeys(_forms("проезд проезде проезда проезду"), ("проезд", "masc")),
    **dict.fromkeys(_forms("туп тупик тупике тупика"), ("тупик", "masc")),
    **dict.fromkeys(_forms("аллея аллее аллеи аллею"), ("аллея", "femn")),
    **dict.fromkeys(_forms("тракт тракте тракта тракту трактом"), ("тракт", "masc")),
}
# the street types of normalized forms ("улица", "проспект" ...): "проспект Серова, 7" is "Серова, 7" by name
STREET_TYPES = frozenset(t for t, _ in _TYPES.values())
_DOTTED = _forms("ул пр просп пер б бул ш пл наб туп")  # abbreviations that may carry a dot
_NEEDS_DOT = _forms("пр ш пл туп бул")  # too short or too common to be a type word without its dot
_STREET_PREPS = _forms("на по")
# words after which a capitalised name is a street too: "от Попова до вокзала", "угол Гоголя и Советской",
# "у дома Родионова, 192"
_STREET_CUES = _forms("от до через с со перекресток перекрестка перекрестке пересечение пересечении угол углу "
                      "дом дома доме домом")
# a number followed by one of these is a count, not a house
_UNITS = _forms(
    "час часа часов ч мин минут минуты сек день дня дней суток сутки раз раза неделю недели недель месяц",
    "месяца месяцев год года лет км м метр метра метров руб рубль рубля рублей р тыс человек чел штук шт",
    "градус градуса градусов этаж этаже этажа этажей маршрут маршрута автобус автобуса троллейбус трамвай",
    "января февраля марта апреля мая июня июля августа сентября октября ноября декабря ноябре декабре",
    "минута процентов",
)
_NOT_NAMES = _forms(
    "новый новом новая новую год года пасху рождество праздники выходные неделе неделю работу работе "
    "улицу улице улицах дом доме даче дачу связи связь остановке остановку приём приеме прием"
)
_LANDMARKS: dict[str, str] = {
    **dict.fromkeys(_forms("школа школы школе школу школой школ"), "школа"),
    **dict.fromkeys(_forms("лицей лицея лицее лицею"), "лицей"),
    **dict.fromkeys(_forms("гимназия гимназии гимназию гимназией"), "гимназия"),
    **dict.fromkeys(_forms("поликлиника поликлиники поликлинике поликлинику поликлиникой"), "поликлиника"),
    **dict.fromkeys(_forms("больница больницы больнице больницу больницей"), "больница"),
    **dict.fromkeys(_forms("детсад детсада детсаде детсаду садик садика садике сад сада саду"), "детский сад"),
    **dict.fromkeys(_forms("роддом роддома роддоме"), "роддом"),
    **dict.fromkeys(_forms("колледж колледжа колледже"), "колледж"),
    **dict.fromkeys(_forms("библиотека библиотеки библиотеке библиотеку"), "библиотека"),
    **dict.fromkeys(_forms("техникум техникума техникуме"), "техникум"),
}
_KINDERGARTEN = _forms("детский детского детском детскому")
_MALLS = {"тц": "ТЦ", "трц": "ТРЦ", "тк": "ТК"}
_MALL_WORDS = _forms("торговый торгового торговом торговому")
_CENTRE_WORDS = _forms("центр центра центре центру")
_MICRO = _forms("микрорайон микрорайона микрорайоне микрорайону микрорайоном мкр мкрн микр")
_HOUSE_WORDS = _forms("д дом доме дома")
_ENTRANCES = _forms("подъезд подъезде подъезда кв квартира квартире корп корпус стр строение")
_BUILDING = _forms("корп корпус корпуса к")
_STRUCTURE = _forms("стр строение строения")
_CYRILLIC = re.compile(r"[А-ЯЁ][а-яё]")
_QUOTES = "«»\"“”„'"
_HOUSE = re.compile(r"(\d+)(?:/(\d+))?-?([А-Яа-яЁё])?(?:[кК](\d+))?$")


def _morph():  # type: ignore[no-untyped-def]
    from negmon.normalize import _morph as morph

    return morph()


@lru_cache(maxsize=8192)
def _parses(word: str) -> tuple[tuple[frozenset[str], str, float, bool], ...]:
    return tuple((frozenset(p.tag.grammemes), str(p.normal_form), float(p.score), bool(p.is_known))
                 for p in _morph().parse(word))


def _adjective(word: str) -> bool:
    return any("ADJF" in g and s >= 0.1 for g, _, s, _k in _parses(word.lower()))


def _streetlike(word: str, *, strict: bool = False) -> bool:
    """A word that can name a street after "на"/"по": a genitive surname, name or noun ("Гончарова",
    "Мира"), a feminine adjective ("Садовой"), or a word pymorphy3 does not know; ``strict`` (a lower-case post
    with no house number) keeps only unknown words and surnames."""
    ps = _parses(word.lower())
    if not ps or not ps[0][3]:
        return True
    if strict:
        return any(("Surn" in g or "Name" in g) and "gent" in g and s >= 0.1 for g, _, s, _k in ps)
    for g, _, s, _known in ps:
        if s < 0.05:
            continue
        if "Geox" in g:
            return False
        if ("Surn" in g or "Name" in g) and "gent" in g:
            return True
        if "ADJF" in g and "femn" in g and ("loct" in g or "accs" in g or "datv" in g or "gent" in g):
            return True
        if "NOUN" in g and "gent" in g and "anim" not in g:
            return True
    return False


def _named(word: str) -> str | None:
    """How a word before a house number reads as a street's name: "name" (a genitive surname or first name, an
    indeclinable or unknown word: "Ленина", "Дыбенко"), "noun" (another genitive: "Строителей", "Чкалова",
    a town's name too), or None ("Иван", "Скорая")."""
    ps = [(g, s) for g, _, s, _k in _parses(word.lower()) if s >= 0.05]
    if not ps or not _parses(word.lower())[0][3]:
        return "name"
    if any((("Surn" in g or "Name" in g) and "gent" in g) or "Fixd" in g for g, _ in ps):
        return "name"
    if any("gent" in g and "NOUN" in g and ("sing" in g or "anim" in g) for g, _ in ps):
        return "noun"  # not "Окон 12, работают 4": a street is named after people in the plural
    return None


def _feminine_adjective(word: str) -> bool:
    """"Садовой", "Лежневская": a feminine adjective, as a street's name agreeing with "улица"."""
    return any("ADJF" in g and "femn" in g and s >= 0.1 for g, _, s, _k in _parses(word.lower()))


def _noun(word: str) -> bool:
    return bool(_parses(word)) and "NOUN" in _parses(word)[0][0]


def _name_word(word: str) -> bool:
    """A lower-case word that can be part of a street name: not a preposition, verb, pronoun or the like."""
    ps = _parses(word)
    if not ps or not ps[0][3]:
        return True
    return not ({"PREP", "CONJ", "PRCL", "VERB", "INFN", "NPRO", "ADVB", "PRED", "INTJ"} & ps[0][0])


@lru_cache(maxsize=4096)
def _inflect_adjective(word: str, gender: str) -> str:
    """An adjective name in the nominative of ``gender`` ("Садовой" -> "Садовая" for улица)."""
    low = word.lower()
    for p in _morph().parse(low):
        if "ADJF" in p.tag:
            f = p.inflect({"nomn", "sing", gender})
            if f is not None:
                out = _cap(str(f.word))
                return out if "ё" in low else out.replace("ё", "е")  # "Взлетной" stays without ё
    return word


def _cap(s: str) -> str:
    return "-".join(x[:1].upper() + x[1:] for x in s.split("-")) if s.islower() else s


class _Extractor:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = [_Tok(m.group(), m.group().lower().replace("ё", "е"), m.start(), m.end())
                     for m in _TOKEN.finditer(text)]
        self.used: set[int] = set()
        self.lower = not any(c.isupper() for c in text)

    def tok(self, i: int) -> _Tok | None:
        return self.toks[i] if 0 <= i < len(self.toks) else None

    def gap(self, i: int) -> str:
        """The characters between token i-1 and token i."""
        return self.text[self.toks[i - 1].end : self.toks[i].start] if i > 0 else ""

    def is_word(self, i: int) -> bool:
        t = self.tok(i)
        return t is not None and t.text[0].isalpha()

    def cap(self, i: int) -> bool:
        t = self.tok(i)
        return (t is not None and t.text[0].isupper()) or (self.lower and self.is_word(i))

    # ------------------------------------------------------------ pieces

    def type_at(self, i: int) -> tuple[str, str, int] | None:
        """(type, gender, index after the type word and its dot) when token i is a street type word."""
        t = self.tok(i)
        if t is None or t.low not in _TYPES:
            return None
        j = i + 1
        dot = self.tok(j) is not None and self.toks[j].text == "." and self.gap(j) == ""
        if dot and t.low not in _DOTTED:
            return (*_TYPES[t.low], j)  # "на набережной. Красиво": the sentence ends, no name follows
        if t.low in _NEEDS_DOT and not dot and not (self.lower and self.house_at(self.name_at(j)) is not None
                                                    and self.name_at(j) > j):
            return None
        if t.low == "б" or (t.low in _DOTTED and not dot and len(t.low) <= 2 and t.low != "ул"):
            return None
        return (*_TYPES[t.low], j + 1 if dot else j)

    def name_at(self, i: int) -> int:
        """The end (exclusive token index) of a street name starting at token i, i itself when none."""
        j = i
        while j < len(self.toks) and j - i < 4:
            t = self.toks[j]
            if j > i and self.gap(j) not in (" ", "-"):
                break
            if t.text[0].isdigit():
                # "8 Марта", "50 лет Октября", "2-я Садовая": a number that a name word follows
                nxt = self.tok(j + 1)
                if j == i and nxt is not None and self.is_word(j + 1) and self.cap(j + 1) and \
                        (nxt.low not in _UNITS or nxt.text[0].isupper()) and \
                        nxt.low not in _BUILDING | _STRUCTURE | _HOUSE_WORDS and \
                        not _HOUSE.match(t.text).group(3):  # type: ignore[union-attr]
                    j += 1
                    continue
                if j == i and re.fullmatch(r"\d+-?[а-яё]{1,3}", t.low):
                    j += 1
                    continue
                if j == i and t.text.isdigit() and self.tok(j + 1) is not None and self.toks[j + 1].low == "лет":
                    j += 2
                    continue
                break
            if not t.text[0].isalpha() or t.low in _TYPES or (t.low in _HOUSE_WORDS and j > i):
                break
            if len(t.text) > 1 and t.text.isupper():
                break  # "УК", "МФЦ": abbreviations, not street names
            if not self.cap(j) and not (j > i and t.low in ("лет", "летия", "де")):
                break
            if j == i and not _name_word(t.low):
                break  # "На Родонитовой": a preposition starts no name
            if self.lower and not _name_word(t.low):
                break
            j += 1
        if j > i and self.toks[j - 1].low in ("де", "лет"):
            j -= 1
        return j

    def after_comma(self, i: int) -> int:
        """Token i, or the one after it when token i is a comma."""
        return i + 1 if self.tok(i) is not None and self.toks[i].text == "," else i

    def labelled(self, i: int, words: frozenset[str]) -> int | None:
        """The token index after an optional comma, one of ``words`` and an optional dot from token i ("д.",
        ", корп."), or None when the word is not there."""
        j = self.after_comma(i)
        if self.tok(j) is None or self.toks[j].low not in words:
            return None
        return j + 2 if self.tok(j + 1) is not None and self.toks[j + 1].text == "." else j + 1

    def house_at(self, i: int) -> tuple[str, int] | None:
        """(house, end token index) when a house number starts at token i (after a comma or "д.")."""
        j = self.labelled(i, _HOUSE_WORDS)
        if j is None:
            j = self.after_comma(i)
        t = self.tok(j)
        if t is None or not t.text[0].isdigit():
            return None
        m = _HOUSE.match(t.text)
        if m is None:
            return None
        nxt = self.tok(j + 1)
        if nxt is not None and nxt.text in (".", ":") and self.tok(j + 2) is not None and \
                self.toks[j + 2].text[:1].isdigit() and self.gap(j + 1) == "" and self.gap(j + 2) == "":
            return None  # a date or a time: "12.11", "8:30"
        if nxt is not None and nxt.low in _UNITS:
            return None
        house = m.group(1) + (f"/{m.group(2)}" if m.group(2) else "") + (m.group(3) or "").lower()
        end = j + 1
        # "14 А", "5 корп. 2", "5, к. 2", "5 стр 3"
        k = end
        if self.tok(k) is not None and len(self.toks[k].text) == 1 and self.toks[k].text.isalpha() and \
                self.gap(k) == " " and self.toks[k].low not in ("к", "и", "в", "с", "у", "о", "а") and \
                (self.tok(k + 1) is None or not self.toks[k + 1].text[0].isalpha()):
            house += self.toks[k].low
            end = k + 1
        building = m.group(4)
        for words, prefix in ((_BUILDING, "к"), (_STRUCTURE, "с")):
            after = self.labelled(end, words)
            if after is not None and self.tok(after) is not None and self.toks[after].text.isdigit():
                if prefix == "к":
                    building = self.toks[after].text
                else:
                    house += ("к" + building if building else "") + "с" + self.toks[after].text
                    building = None
                end = after + 1
        if building:
            house += "к" + building
        return house, end

    # ------------------------------------------------------------ patterns

    def emit(self, out: list[Address], a: int, b: int, kind: str, normalized: str, street: str | None = None,
             house: str | None = None) -> None:
        if any(k in self.used for k in range(a, b)):
            return
        self.used.update(range(a, b))
        start, end = self.toks[a].start, self.toks[b - 1].end
        out.append(Address(kind=kind, normalized=normalized, start=start, end=end, surface=self.text[start:end],
                           street=street, house=house))

    def street(self, a: int, name_start: int, name_end: int, typ: str, gender: str, after: int,
               out: list[Address], *, before: bool = False) -> None:
        words = [self.toks[k] for k in range(name_start, name_end)]
        name = self.text[words[0].start : words[-1].end]
        last = words[-1].text
        single = len(words) == 1 or (len(words) == 2 and words[0].text[0].isdigit())
        # an adjective before its type agrees with it ("Ленинского проспекта"); after it or with no type only a
        # feminine one does ("на улице Садовой", "на Садовой"): "-ого" there is a genitive name ("Чернышевского")
        agrees = before or any("ADJF" in g and gender in g and s >= 0.1 for g, _, s, _k in _parses(last.lower()))
        if single and agrees and _adjective(last) and not any(
                "NOUN" in g and "gent" in g and s > 0.3 for g, _, s, _k in _parses(last.lower())):
            name = " ".join([*(w.text for w in words[:-1]), _inflect_adjective(last, gender)])
        name = " ".join(_cap(w) if self.lower or w[:1].isupper() else w for w in name.split())
        street = f"{typ} {name}"
        h = self.house_at(after)
        house, end = (h[0], h[1]) if h else (None, after)
        self.emit(out, a, end, "street", f"{street}, {house}" if house else street, street, house)

    def run(self) -> list[Address]:
        out: list[Address] = []
        n = len(self.toks)
        for i in range(n):
            if i in self.used:
                continue
            t = self.toks[i]
            # "улица Гончарова", "пр-т Ленина 5к2", "ул. 8 Марта, д. 3"
            ty = self.type_at(i)
            if ty is not None:
                typ, gender, j = ty
                e = self.name_at(j)
                if e > j:
                    self.street(i, j, e, typ, gender, e, out)
                    continue
                # "Садовая улица", "на Садовой улице": the adjective before the type word
                if i > 0 and self.is_word(i - 1) and self.cap(i - 1) and _adjective(self.toks[i - 1].text) and \
                        i - 1 not in self.used and self.gap(i) == " ":
                    a = i - 2 if i >= 2 and re.fullmatch(r"\d+-?[а-яё]{1,3}", self.toks[i - 2].low) else i - 1
                    self.street(a, a, i, typ, gender, j, out, before=True)
                    # the span runs from the adjective through the type word and the house
                    continue
            if self.landmark(i, out) or self.micro(i, out):
                continue
        for i in range(n):
            if i in self.used or not self.is_word(i) or not self.cap(i):
                continue
            t = self.toks[i]
            if t.low in _NOT_NAMES or t.low in _TYPES or t.low in _LANDMARKS:
                continue
            prev = self.tok(i - 1)
            after_prep = prev is not None and prev.low in _STREET_PREPS and i - 1 not in self.used
            cue = prev is not None and prev.low in _STREET_CUES and i - 1 not in self.used
            joined = prev is not None and prev.low == "и" and i - 2 in self.used and bool(out) and \
                out[-1].kind == "street" and out[-1].end == self.toks[i - 2].end  # "Белинского и Ошарской"
            line_start = i == 0 or "\n" in self.gap(i) or (prev is not None and prev.text in ".!?:(,—" and
                                                           self.gap(i) in (" ", "\n", ""))
            # a capitalised word inside a sentence is a name: "во дворе Ленина 15", "подъезд Серова 7"
            inside = not (self.lower or line_start or after_prep or cue or joined) and prev is not None and \
                prev.text[0].islower() and len(t.text) > 2 and \
                _CYRILLIC.match(t.text) is not None  # not "Ленинцев" of "Юных Ленинцев 17": a name starts earlier
            if not (after_prep or cue or joined or line_start or inside):
                continue
            e = self.name_at(i)
            if e == i:
                continue
            if self.lower and e - i > 1 and self.house_at(e) is None:
                e = i + 1
            h = self.house_at(e)
            words = [self.toks[k].text for k in range(i, e)]
            bare = not (after_prep or cue or joined)  # at the start of a line: "Ленина 5, третий подъезд"
            nxt = self.tok(e)
            if inside:
                if h is None or not self.house_ends(h[1], _named(words[-1])):
                    continue
            elif bare:
                if h is None or not (_streetlike(words[0], strict=True) or _feminine_adjective(words[-1]) or
                                     self.house_ends(h[1], _named(words[-1]))):
                    continue
            elif h is None and self.lower:
                if not (_streetlike(words[-1], strict=True) or (_feminine_adjective(words[-1]) and not (
                        nxt is not None and nxt.text[0].isalpha() and _noun(nxt.low)))):
                    continue
            elif not _streetlike(words[-1]) and not (h is not None and (
                    _streetlike(words[0]) or (_named(words[-1]) and self.house_ends(h[1], "name")))):
                continue  # "на Юных Ленинцев 17" is a street, "на Юных Ленинцев" may be people
            if (h is None or not after_prep) and _is_place(" ".join(self.toks[k].low for k in range(i, e)),
                                                            prev.low if prev and (after_prep or cue) else "до"):
                continue  # "на Кубани", "по Казани", "до Кстово"
            if h is None and not (after_prep or cue or joined):
                continue
            self.street(i, i, e, "улица", "femn", e, out)
        return sorted(out, key=lambda x: x.start)

    def house_ends(self, i: int, named: str | None) -> bool:
        """Whether a street's name with no type word ends its address at the house number before token i:
        after a person's name ("Ленина 15 живёт", not "у Петрова 2 детей") a word that is no noun may follow,
        after a common noun or a town ("Строителей 12", "Чкалова 40", not "Людей 30 было") only a comma, a full
        stop, a dash or the end."""
        if named is None:
            return False
        t = self.tok(i)
        if t is None or not t.text[0].isalpha():
            return t is None or t.text in ",.;—–-:)\n"
        return named == "name" and (t.low in _ENTRANCES or not _noun(t.low))

    def landmark(self, i: int, out: list[Address]) -> bool:
        t = self.toks[i]
        # numbered institutions: "школы № 12", "детского сада 45", "поликлинике №2"
        typ = _LANDMARKS.get(t.low)
        a = i
        if typ is None and t.low in _KINDERGARTEN and self.tok(i + 1) is not None and \
                _LANDMARKS.get(self.toks[i + 1].low) == "детский сад":
            typ, i = "детский сад", i + 1
        if typ is not None:
            j = i + 1
            if self.tok(j) is not None and self.toks[j].low in ("№", "n", "номер"):
                j += 1
            num = self.tok(j)
            if num is not None and re.fullmatch(r"\d{1,4}", num.text) and (self.tok(j + 1) is None or
                                                                           self.toks[j + 1].low not in _UNITS):
                if typ == "детский сад" and t.low in ("сад", "сада", "саду") and j == i + 1:
                    return False  # "в сад 2 раза" is no kindergarten; a bare "сад" needs its "№"
                self.emit(out, a, j + 1, "landmark", f"{typ} № {num.text}")
                return True
            return False
        # shopping centres: "ТЦ «Мега»", "торговом центре Галерея"
        kind = _MALLS.get(t.low)
        j = i + 1
        if kind is None and t.low in _MALL_WORDS and self.tok(i + 1) is not None and \
                self.toks[i + 1].low in _CENTRE_WORDS:
            kind, j = "ТЦ", i + 2
        if kind is None:
            return False
        name, end = self.quoted_or_capitalised(j)
        if not name and self.lower and self.is_word(j):
            name, end = _cap(self.toks[j].text), j + 1
        if name:
            self.emit(out, i, end, "landmark", f"{kind} {name}")
            return True
        return False

    def quoted_or_capitalised(self, j: int) -> tuple[str, int]:
        """A name in quotes or capitalised words starting at token j, and the end token index."""
        if self.tok(j) is not None and self.toks[j].text in _QUOTES:
            k = j + 1
            while k < len(self.toks) and self.toks[k].text not in _QUOTES and k - j < 6:
                k += 1
            if k < len(self.toks) and k > j + 1:
                return self.text[self.toks[j + 1].start : self.toks[k - 1].end], k + 1
            return "", j
        k = j
        while k < len(self.toks) and self.toks[k].text[0].isupper() and self.is_word(k) and k - j < 3:
            k += 1
        if k > j:
            return self.text[self.toks[j].start : self.toks[k - 1].end], k
        return "", j

    def micro(self, i: int, out: list[Address]) -> bool:
        t = self.toks[i]
        # "в 3-м микрорайоне", "9 мкр"
        m = re.fullmatch(r"(\d{1,2})(?:-?[а-яё]{1,3})?", t.low)
        if m and self.tok(i + 1) is not None and self.toks[i + 1].low in _MICRO:
            end = i + 2
            if self.tok(end) is not None and self.toks[end].text == "." and self.gap(end) == "":
                end += 1
            self.emit(out, i, end, "microdistrict", f"{m.group(1)}-й микрорайон")
            return True
        if t.low in _MICRO:
            j = i + 1
            if self.tok(j) is not None and self.toks[j].text == "." and self.gap(j) == "":
                j += 1
            nxt = self.tok(j)
            if nxt is None:
                return False
            if re.fullmatch(r"\d{1,2}", nxt.text):
                self.emit(out, i, j + 1, "microdistrict", f"{nxt.text}-й микрорайон")
                return True
            name, end = self.quoted_or_capitalised(j)
            if not name and self.lower and self.is_word(j) and nxt.low not in _UNITS:
                name, end = nxt.text, j + 1
            if name:
                words = name.split()
                if len(words) == 1 and _adjective(words[0]):
                    name = _inflect_adjective(words[0], "masc")
                self.emit(out, i, end, "microdistrict", f"микрорайон {_cap(name)}")
                return True
            return False
        if t.low == "жк":
            name, end = self.quoted_or_capitalised(i + 1)
            if name:
                self.emit(out, i, end, "microdistrict", f"ЖК {name}")
                return True
        return False


@lru_cache(maxsize=8192)
def _is_place(key: str, prep: str) -> bool:
    """Whether a name after "на" is a region ("на Кубани"), or after "по" also a town of 10,000+ people ("по
    Казани"): not a street. Towns take "в", so "на Гагарина" is the street."""
    from negmon.localities.extractor import Gazetteer

    g = Gazetteer.get()
    return any(g.places[i][1] == "region" or (prep == "по" and (g.places[i][5] or 0) >= 10_000)
               for i in g.forms.get(key.replace("ё", "е"), []))


def extract_addresses(text: str, *, locality: str | None = None) -> tuple[Address, ...]:
    """Every street (with its house), numbered or named landmark and microdistrict ``text`` names.

    ``locality`` (the settlement the post is about, e.g. from :func:`negmon.extract_localities`) is stored
    on each address. Offsets index ``text``: ``text[a.start:a.end] == a.surface``.

    >>> extract_addresses("ул. Ленина, д. 5, корп. 2 — нет света", locality="Кстово")[0].as_dict()["normalized"]
    'улица Ленина, 5к2'
    """
    if not isinstance(text, str):
        raise TypeError(f"extract_addresses() expects str, got {type(text).__name__}")
    if locality is not None and not isinstance(locality, str):
        raise InputError(f"locality must be a settlement's name (str) or None, got {type(locality).__name__}")
    found = _Extractor(text).run()
    if locality:
        from dataclasses import replace

        found = [replace(a, locality=locality) for a in found]
    return tuple(found)
