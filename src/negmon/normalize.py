"""Russian social-media text normalizer that keeps a map back to the original offsets.

>>> n = normalize("В Кстово 3й день нет воды!!! #ЖКХНеРаботает https://vk.com/x 😡")
>>> n.text
'В Кстово 3й день нет воды!!! ЖКХ Не Работает <url> 😡'
>>> tok = n.tokens[1]
>>> tok.text, n.source[tok.source_start:tok.source_end]
('Кстово', 'Кстово')

What it does, in this order: lone surrogates, control and invisible characters removed; ``<br>`` and HTML
entities decoded; Unicode NFKC (``№`` kept) and stress marks dropped; whitespace runs collapsed; URLs,
e-mails, @mentions and phone numbers replaced by ``<url>``, ``<email>``, ``<user>``, ``<phone>``; hashtags
split into words (``#ЖКХНеРаботает`` -> ``ЖКХ Не Работает``); Russian typed in Latin letters converted
(``u nas net vody`` -> ``у нас нет воды``); Latin look-alike letters inside Cyrillic words replaced;
letter repetitions collapsed (``ооочень`` -> ``очень``, ``классссс`` -> ``класс``); a shouted post
(mostly CAPS) lower-cased, with the flag ``caps`` kept. Tokens come from razdel; emoji and emoticons are
tokens with a sentiment hint; masked (``х**``, ``бл@ть``) and plain obscenity is recognised. Each token
has ``norm`` (lower case, ё -> е) for matching and, with ``lemmas=True``, a pymorphy3 lemma.

Every character of ``text`` maps to a span of ``source``; :meth:`Normalized.source_span` turns a span of
``text`` into the span of ``source`` it came from. The result depends on the input only (deterministic).
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, NamedTuple

__all__ = ["Normalized", "Token", "normalize"]

Edit = tuple[int, int, str, "list[tuple[int, int]] | None"]


class Token(NamedTuple):
    """One token of the normalized text.

    ``start``/``end`` index :attr:`Normalized.text`; ``source_start``/``source_end`` index the original.
    ``kind`` is one of ``word``, ``number``, ``punct``, ``emoji``, ``emoticon``, ``obscenity``, ``url``,
    ``email``, ``phone``, ``user``.
    """

    text: str
    kind: str
    start: int
    end: int
    source_start: int
    source_end: int
    norm: str
    lemma: str | None = None
    caps: bool = False
    sentiment_hint: float = 0.0


@dataclass(frozen=True, slots=True)
class Normalized:
    """A normalized post: ``text``, its ``tokens``, ``flags`` and the map back to ``source``."""

    source: str
    text: str
    tokens: tuple[Token, ...]
    flags: frozenset[str]
    caps_ratio: float
    _starts: tuple[int, ...]
    _ends: tuple[int, ...]

    @property
    def emoji_sentiment(self) -> float:
        """Sum of the sentiment hints of emoji and emoticons (positive > 0 > negative)."""
        return sum(t.sentiment_hint for t in self.tokens)

    @property
    def offsets(self) -> tuple[int, ...]:
        """For each character of ``text``, the offset in ``source`` where it comes from."""
        return self._starts

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        """Map the span ``text[start:end]`` to the span of ``source`` it was made from."""
        if not 0 <= start <= end <= len(self.text):
            raise ValueError(
                f"span ({start}, {end}) is outside the normalized text of length {len(self.text)}"
            )
        if start == end:
            pos = self._starts[start] if start < len(self._starts) else len(self.source)
            return pos, pos
        return self._starts[start], self._ends[end - 1]


# ---------------------------------------------------------------- editing with an offset map


def _apply(s: str, st: list[int], en: list[int], edits: list[Edit]) -> tuple[str, list[int], list[int]]:
    """Apply non-overlapping, sorted edits ``(i, j, replacement, char_spans)`` to ``s`` and its maps.

    ``char_spans`` gives the source span of every replacement character; when it is None, a replacement
    of the same length maps character to character and any other maps each character to the whole span.
    """
    if not edits:
        return s, st, en
    out: list[str] = []
    ost: list[int] = []
    oen: list[int] = []
    pos = 0
    for i, j, rep, spans in edits:
        out.append(s[pos:i])
        ost += st[pos:i]
        oen += en[pos:i]
        if spans is not None:
            ost += [a for a, _ in spans]
            oen += [b for _, b in spans]
        elif len(rep) == j - i:
            ost += st[i:j]
            oen += en[i:j]
        elif rep:
            a = st[i] if i < j else (en[i - 1] if i else 0)
            b = en[j - 1] if i < j else a
            ost += [a] * len(rep)
            oen += [b] * len(rep)
        out.append(rep)
        pos = j
    out.append(s[pos:])
    ost += st[pos:]
    oen += en[pos:]
    return "".join(out), ost, oen


def _sub(
    pattern: re.Pattern[str], fn: Callable[[re.Match[str]], str | None], s: str, st: list[int], en: list[int]
) -> tuple[str, list[int], list[int]]:
    """Like ``re.sub`` but keeps the offset map; ``fn`` returning None leaves the match as it is."""
    edits: list[Edit] = []
    for m in pattern.finditer(s):
        rep = fn(m)
        if rep is not None and rep != m.group():
            edits.append((m.start(), m.end(), rep, None))
    return _apply(s, st, en, edits)


# ---------------------------------------------------------------- character-level cleaning

_SURROGATE = re.compile(r"[\ud800-\udfff]")
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e"
    "\u200b\u200c\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]"
)
_BR = re.compile(r"<\s*br\s*/?\s*>|<\s*/?\s*p\s*>", re.I)
_ENTITY = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_COMBINING = "\u0300-\u036f\u0483-\u0489\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
_CLUSTER = re.compile(f"[^{_COMBINING}][{_COMBINING}]*|[{_COMBINING}]+", re.S)
_STRESS = re.compile("[\u0300-\u036f]")
_NFKC_KEEP = {"№"}
_SPACE = re.compile(
    r"[ \t\r\f\v\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*\n[\s]*|[^\S\n]{2,}|[^\S\n ]"
)


def _nfkc(m: re.Match[str]) -> str | None:
    c = m.group()
    if c[0] in _NFKC_KEEP:
        return None
    n = unicodedata.normalize("NFKC", c)
    return _STRESS.sub("", n) if n != c or _STRESS.search(n) else None


def _space(m: re.Match[str]) -> str:
    return "\n" if "\n" in m.group() else " "


# ---------------------------------------------------------------- entities replaced by placeholders

_PLACEHOLDERS = ("<url>", "<email>", "<user>", "<phone>")
_ENTITIES = re.compile(
    r"(?P<url>(?:https?://|www\.)[^\s<>\"«»]+[^\s<>\"«».,;:!?)\]}'»]"
    r"|\b(?:[a-z0-9-]+\.)+(?:ru|su|com|org|net|info|io|me|рф|online|pro)(?:/[^\s<>\"«»]*[^\s<>\"«».,;:!?)\]}'»])?(?![\w.])"
    r"|\b[а-яё0-9-]+(?:\.[а-яё0-9-]+)*\.рф\b(?:/[^\s<>\"«»]*[^\s<>\"«».,;:!?)\]}'»])?)"
    r"|(?P<email>\b[\w.+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+\b)"
    r"|(?P<user>\[(?:id|club|public)\d+\|[^\]]{0,80}\]|(?<![\w@])@[A-Za-z0-9_.]{2,64}(?<![.]))"
    r"|(?P<phone>(?<![\w+])(?:\+7|8)[\s(-]{0,3}\d{3}[\s)-]{0,3}\d{3}[\s-]?\d{2}[\s-]?\d{2}(?!\w)"
    r"|(?<![\w-])\d{3}-\d{2}-\d{2}(?![\w-]))",
    re.I,
)


# every entity above has one of these: a dot inside a word (domains, links), "@", "[id", or a run of digits
_ENTITY_HINT = re.compile(r"\w\.\w|://|@|\[|\d\d\d")


def _entity(m: re.Match[str]) -> str:
    return f"<{m.lastgroup}>"


# ---------------------------------------------------------------- hashtags

_HASHTAG = re.compile(r"(?<![\w&#])#([^\W_][\w]*)")
_HASH_PART = re.compile(r"[A-ZА-ЯЁ]+(?![a-zа-яё])|[A-ZА-ЯЁ]?[a-zа-яё]+|\d+|[^\W\d_]+")


def _hashtag_edits(s: str, st: list[int], en: list[int]) -> list[Edit]:
    edits: list[Edit] = []
    for m in _HASHTAG.finditer(s):
        body_start = m.start(1)
        pieces = [(p.start() + body_start, p.end() + body_start) for p in _HASH_PART.finditer(m.group(1))]
        chars: list[str] = []
        spans: list[tuple[int, int]] = []
        for k, (a, b) in enumerate(pieces):
            if k:
                chars.append(" ")
                spans.append((en[a - 1], en[a - 1]))
            chars += s[a:b]
            spans += list(zip(st[a:b], en[a:b], strict=True))
        edits.append((m.start(), m.end(), "".join(chars), spans))
    return edits


# ---------------------------------------------------------------- Russian typed in Latin letters

_LATIN_WORD = re.compile(r"(?<![<\w])[a-zA-Z']+(?![\w>])")
_TRANSLIT = [
    ("shch", "щ"),
    ("sch", "щ"),
    ("zh", "ж"),
    ("kh", "х"),
    ("ch", "ч"),
    ("sh", "ш"),
    ("ts", "ц"),
    ("tz", "ц"),
    ("yu", "ю"),
    ("ya", "я"),
    ("yo", "ё"),
    ("ju", "ю"),
    ("ja", "я"),
    ("jo", "ё"),
    ("ye", "е"),
    ("je", "е"),
    ("iu", "ю"),
    ("ia", "я"),
    ("ii", "ий"),
    ("iy", "ий"),
    ("yi", "ый"),
    ("yy", "ый"),
    ("a", "а"),
    ("b", "б"),
    ("v", "в"),
    ("w", "в"),
    ("g", "г"),
    ("d", "д"),
    ("e", "е"),
    ("z", "з"),
    ("i", "и"),
    ("j", "й"),
    ("k", "к"),
    ("l", "л"),
    ("m", "м"),
    ("n", "н"),
    ("o", "о"),
    ("p", "п"),
    ("r", "р"),
    ("s", "с"),
    ("t", "т"),
    ("u", "у"),
    ("f", "ф"),
    ("h", "х"),
    ("c", "ц"),
    ("y", "ы"),
    ("x", "кс"),
    ("q", "к"),
    ("'", "ь"),
]
_TRANSLIT_RE = re.compile("|".join(re.escape(a) for a, _ in _TRANSLIT))
_TRANSLIT_MAP = dict(_TRANSLIT)
_VOWELS = set("аеёиоуыэюя")


@cache
def _morph() -> Any:
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


@lru_cache(maxsize=65536)
def _known(word: str) -> bool:
    return bool(_morph().word_is_known(word))


def _translit_candidates(word: str) -> list[str]:
    base = _TRANSLIT_RE.sub(lambda m: _TRANSLIT_MAP[m.group()], word.lower())
    out = [base]
    # y after a vowel is й, not ы; e at the start of a word is often э; a final soft sign is often dropped
    y_fixed = re.sub(r"(?<=[аеёиоуэюя])ы", "й", base)
    for c in (y_fixed, "э" + y_fixed[1:] if y_fixed.startswith("е") else y_fixed):
        if c not in out:
            out.append(c)
    out += [c + "ь" for c in list(out) if c[-1] not in _VOWELS and c[-1] not in "йь"]
    return out


@lru_cache(maxsize=65536)
def _translit_word(word: str) -> tuple[str, bool]:
    cands = _translit_candidates(word)
    for c in cands:
        if _known(c):
            return c, True
    return cands[0], False


def _match_case(src: str, dst: str) -> str:
    if src.isupper() and len(src) > 1:
        return dst.upper()
    if src[:1].isupper():
        return dst[:1].upper() + dst[1:]
    return dst


def _translit_edits(s: str) -> list[Edit]:
    words = [m for m in _LATIN_WORD.finditer(s) if len(m.group().strip("'")) >= 1]
    if len(words) < 3:
        return []
    letters = sum(c.isalpha() for c in s)
    latin = sum(len(m.group()) for m in words)
    if latin < 0.6 * letters:
        return []
    converted = [_translit_word(m.group()) for m in words]
    longer = [ok for (_, ok), m in zip(converted, words, strict=True) if len(m.group()) >= 3]
    if len(longer) < 3 or sum(longer) < 0.6 * len(longer):
        return []
    return [
        (m.start(), m.end(), _match_case(m.group(), c), None)
        for (c, _), m in zip(converted, words, strict=True)
    ]


# ---------------------------------------------------------------- look-alikes, repetitions, caps

_LOOKALIKE = str.maketrans("aAcCeEoOpPxXyYkKmMTHB", "аАсСеЕоОрРхХуУкКмМТНВ")
_LOOKALIKE_SET = set("aAcCeEoOpPxXyYkKmMTHB")
_CYR_LOOKALIKE = set("аАсСеЕоОрРхХуУкКмМТНВ")
_MIXED = re.compile(r"[^\W\d_]*(?:[а-яё][a-z]|[a-z][а-яё])[^\W\d_]*", re.I)
_MIXED_HINT = re.compile(r"[а-яё][a-z]|[a-z][а-яё]", re.I)  # cheap test before the backtracking _MIXED
_REPEAT = re.compile(r"([^\W\d_])\1{2,}", re.I)
_PUNCT_REPEAT = re.compile(r"([!?.)(])\1{3,}")
_WORD_AT = re.compile(r"[^\W\d_]+")


def _lookalike(m: re.Match[str]) -> str | None:
    w = m.group()
    latin = [c for c in w if "a" <= c.lower() <= "z"]
    if not latin or not all(c in _LOOKALIKE_SET for c in latin):
        return None
    cyr = [c for c in w if "\u0400" <= c <= "\u04ff"]
    # a Cyrillic word when Cyrillic letters are the majority or one of them has no Latin twin ("Kcтoвo")
    cyrillic = len(cyr) >= len(latin) or any(c not in _CYR_LOOKALIKE for c in cyr)
    return w.translate(_LOOKALIKE) if cyrillic else None


def _repeat_edits(s: str) -> list[Edit]:
    edits: list[Edit] = []
    for w in _WORD_AT.finditer(s):
        word = w.group()
        if not _REPEAT.search(word):
            continue
        one = _REPEAT.sub(r"\1", word)
        two = _REPEAT.sub(r"\1\1", word)
        cyrillic = any("\u0400" <= c <= "\u04ff" for c in word)
        best = two if cyrillic and not _known(one.lower()) and _known(two.lower()) else one
        # keep the first letter of each run mapped to the run, so offsets stay exact
        edits.append((w.start(), w.end(), best, None))
    return edits


# ---------------------------------------------------------------- tokens

_SPECIAL_PARTS = (
    r"(?P<ph><(?:url|email|user|phone)>)"
    r"|(?P<emoji>(?:[\U0001F1E6-\U0001F1FF]{2}"
    r"|[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\u2190-\u21FF\u2300-\u23FF\u3030\u303D\u3297\u3299]"
    r"[\uFE0F\U0001F3FB-\U0001F3FF]*(?:\u200D[\U0001F000-\U0001FAFF\u2600-\u27BF][\uFE0F\U0001F3FB-\U0001F3FF]*)*))"
    r"|(?P<emoticon>(?<![\w)(])[:;=8]-?[)(DPрРoO](?![\w])|\){2,}|\({2,}|(?<=[^\W\d_] )\)(?!\w)|(?<=[^\W\d_])\)(?=\s|$))",
    r"|(?P<masked>(?<![\w*@#$])[а-яёa-z]*[а-яё][а-яё]*[*@#$%]+[а-яё*@#$%]*[а-яё*](?![\w*@#$%])"
    r"|(?<![\w*@#$])[а-яё]{1,3}\*+(?![\w*]))",
)
_SPECIAL = re.compile("".join(_SPECIAL_PARTS), re.I)
_SPECIAL_UNMASKED = re.compile(_SPECIAL_PARTS[0], re.I)  # the same without masked words, which need [*@#$%]
_MASK_CHARS = re.compile(r"[*@#$%]")
_OBSCENE = re.compile(
    r"^(?:(?:за|на|от|по|вы|у|съ|разъ|до|об|при|про|въ)?(?:еб|ёб)(?:а|у|л|ан|ат|ен|ёт|ет|ис|ну|ыр)"
    r"|(?:по|на|за|ни|до|от)?ху[йеёяию]|бля[дтьх]?|пизд|(?:с|на|от|рас|вы)?пизд|муд[аои]|пид[оа]р|залуп|манд[аеуо]"
    r"|сук[аиеу]\b|сучк)",
    re.I,
)
_EMOJI_HINT = {
    **dict.fromkeys("😀😃😄😁😆😊🙂😍🥰😘😻👍👏🙏💪🎉✨👌🤗🥳💐🌹☺😇🤝💯🏆", 1.0),
    **dict.fromkeys("❤💖💗💓💕💞💙💚💛🧡💜", 1.0),
    **dict.fromkeys("😂🤣😅😉😜", 0.5),
    **dict.fromkeys("😡🤬😠😤👎💩🤮🤢💔😾", -1.0),
    **dict.fromkeys("😢😭😞😔😟😩😫😱😨😰😥😣😖😓🙁☹😒🙄😬🤦😪😧", -1.0),
    **dict.fromkeys("⚠❗‼🆘", -0.5),
}
_CYR_OR_LATIN_LETTER = re.compile(r"[^\W\d_]")
_LETTERS = re.compile(r"[^\W\d_]")
_UPPER = re.compile(r"[A-ZА-ЯЁ]")


@lru_cache(maxsize=200_000)
def _lemma(norm: str) -> str:
    try:
        return str(_morph().parse(norm)[0].normal_form).replace("ё", "е")
    except ValueError:  # pymorphy3 looks up Unicode names, which some letters (Tangut) lack
        return norm


def _kind(t: str) -> str:
    if _CYR_OR_LATIN_LETTER.search(t):
        return "word"
    if t[0].isdigit():
        return "number"
    return "punct"


_ONE_SCRIPT = re.compile(r"[а-яё]+|[a-z]+", re.I)


@lru_cache(maxsize=100_000)
def _razdel_chunk(chunk: str) -> tuple[tuple[int, int, str, str, str], ...]:
    """razdel tokens of one whitespace-free chunk as (start, end, text, kind, norm)."""
    if _ONE_SCRIPT.fullmatch(chunk):  # razdel keeps a run of one script's letters whole: skip it
        norm = chunk.lower().replace("ё", "е")
        return ((0, len(chunk), chunk, "obscenity" if _OBSCENE.match(norm) else "word", norm),)
    from razdel import tokenize

    out = []
    for t in tokenize(chunk):
        kind = _kind(t.text)
        norm = t.text.lower().replace("ё", "е")
        if kind == "word" and _OBSCENE.match(norm):
            kind = "obscenity"
        out.append((t.start, t.stop, t.text, kind, norm))
    return tuple(out)


_CHUNK = re.compile(r"\S+")


def _tokens(
    s: str, st: list[int], en: list[int], source: str, lemmas: bool
) -> tuple[tuple[Token, ...], set[str]]:
    toks: list[Token] = []
    flags: set[str] = set()
    append = toks.append

    def plain(segment: str, offset: int) -> None:
        # razdel never joins across whitespace, so tokenizing each whitespace-free chunk on its own gives the
        # same tokens and lets a cache serve the many chunks that repeat
        for m in _CHUNK.finditer(segment):
            base = offset + m.start()
            for a0, b0, t, kind, norm in _razdel_chunk(m.group()):
                a, b = base + a0, base + b0
                lemma = None
                if lemmas and kind != "number" and kind != "punct" and norm.isalpha():
                    lemma = _lemma(norm) if len(norm) < 40 else norm
                caps = kind == "word" and b - a > 1 and source[st[a] : en[b - 1]].isupper()
                append(Token(t, kind, a, b, st[a], en[b - 1], norm, lemma, caps))

    pos = 0
    for m in (_SPECIAL if _MASK_CHARS.search(s) else _SPECIAL_UNMASKED).finditer(s):
        plain(s[pos : m.start()], pos)
        g = m.lastgroup
        text = m.group()
        a, b = m.start(), m.end()
        hint = 0.0
        if g == "ph":
            kind = text[1:-1]
        elif g == "emoji":
            kind, hint = "emoji", _EMOJI_HINT.get(text[0], 0.0)
            flags.add("emoji")
        elif g == "emoticon":
            kind = "emoticon"
            hint = -1.0 if "(" in text else 1.0
            flags.add("emoji")
        else:
            kind = "obscenity"
        append(Token(text, kind, a, b, st[a], en[b - 1], text.lower().replace("ё", "е"), None, False, hint))
        pos = b
    plain(s[pos:], pos)
    if any(t.kind == "obscenity" for t in toks):
        flags.add("obscenity")
    return tuple(toks), flags


# ---------------------------------------------------------------- the pipeline


def normalize(text: str, *, lemmas: bool = False) -> Normalized:
    """Normalize one post; see the module docstring for the steps.

    >>> normalize("ооочень cпасибо!").text  # the first "c" of "cпасибо" is Latin
    'очень спасибо!'
    """
    if not isinstance(text, str):
        raise TypeError(f"normalize() expects str, got {type(text).__name__}")
    s = text
    st = list(range(len(s)))
    en = list(range(1, len(s) + 1))
    flags: set[str] = set()

    if _SURROGATE.search(s):
        s, st, en = _sub(_SURROGATE, lambda m: "", s, st, en)
    if _INVISIBLE.search(s):
        s, st, en = _sub(_INVISIBLE, lambda m: "", s, st, en)
    if "<" in s and _BR.search(s):
        s, st, en = _sub(_BR, lambda m: "\n", s, st, en)
    if "&" in s and _ENTITY.search(s):
        s, st, en = _sub(_ENTITY, lambda m: html.unescape(m.group()), s, st, en)
        flags.add("html")
    if (not s.isascii() and not unicodedata.is_normalized("NFKC", s)) or _STRESS.search(s):
        s, st, en = _sub(_CLUSTER, _nfkc, s, st, en)
        if _INVISIBLE.search(s):
            s, st, en = _sub(_INVISIBLE, lambda m: "", s, st, en)
    if _SPACE.search(s):
        s, st, en = _sub(_SPACE, _space, s, st, en)
    lead = len(s) - len(s.lstrip())
    trail = len(s.rstrip())
    if lead or trail < len(s):
        s, st, en = s[lead:trail], st[lead:trail], en[lead:trail]

    if _ENTITY_HINT.search(s) and _ENTITIES.search(s):
        s, st, en = _sub(_ENTITIES, _entity, s, st, en)
    if "#" in s:
        edits = _hashtag_edits(s, st, en)
        if edits:
            s, st, en = _apply(s, st, en, edits)
            flags.add("hashtag")
    if s.isascii() or not re.search("[а-яё]", s, re.I):
        edits = _translit_edits(s)
        if edits:
            s, st, en = _apply(s, st, en, edits)
            flags.add("translit")
    if _MIXED_HINT.search(s):
        s2, st, en = _sub(_MIXED, _lookalike, s, st, en)
        if s2 != s:
            flags.add("lookalike")
        s = s2
    if _REPEAT.search(s):
        s, st, en = _apply(s, st, en, _repeat_edits(s))
        flags.add("repeats")
    if _PUNCT_REPEAT.search(s):
        s, st, en = _sub(_PUNCT_REPEAT, lambda m: m.group(1) * 3, s, st, en)

    n_letters = len(_LETTERS.findall(s))
    caps_ratio = len(_UPPER.findall(s)) / n_letters if n_letters else 0.0
    if caps_ratio >= 0.6 and n_letters >= 8:
        flags.add("caps")
        low = s.lower()
        if len(low) == len(s):
            s = low
    tokens, tflags = _tokens(s, st, en, text, lemmas)
    flags |= tflags
    return Normalized(text, s, tokens, frozenset(flags), caps_ratio, tuple(st), tuple(en))
