"""Immutable result types: :class:`Post` in, :class:`Result` out, with :class:`Locality` and :class:`Reason`."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from types import MappingProxyType
from typing import Any

__all__ = ["Locality", "Post", "Reason", "Result", "jsonable", "scrub"]

_EMPTY: Mapping[str, Any] = MappingProxyType({})


_SURROGATE = re.compile("[\ud800-\udfff]")


def _freeze(m: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(m)) if m else _EMPTY


def scrub(text: str) -> str:
    """``text`` with each lone surrogate (half an emoji from a broken ``\\ud83d`` escape, common in scraped
    data) replaced by U+FFFD, so that it can be written as UTF-8; the length and every offset stay the same."""
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


def jsonable(v: Any) -> Any:
    """``v`` as plain JSON values: mappings and sequences copied, strings scrubbed of lone surrogates, NaN and
    infinities as None (JSON has neither), dates and times in ISO form, bytes decoded, anything else as its
    string."""
    if isinstance(v, str):
        return scrub(v)
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, Mapping):
        return {scrub(str(k)): jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [jsonable(x) for x in v]
    if v is None or isinstance(v, bool | int):
        return v
    if isinstance(v, date | time):
        return v.isoformat()
    if isinstance(v, bytes | bytearray):
        return scrub(bytes(v).decode("utf-8", "replace"))
    return scrub(str(v))  # Decimal, numpy scalars and other objects a Parquet or pandas input may carry


def _field(name: str, v: Any, *, numbers: bool) -> str | None:
    if v is None:
        return v
    if isinstance(v, str):
        return scrub(v)
    if numbers and isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    if numbers and isinstance(v, float):  # pandas turns an int column with gaps into floats
        if not math.isfinite(v):
            return None
        return str(int(v)) if v.is_integer() else repr(v)
    if name == "created_at" and isinstance(v, date):
        return v.isoformat()
    if name == "created_at" and isinstance(v, float) and math.isfinite(v):
        return repr(v)
    allowed = "str, int, float" if numbers else "str"
    if name == "created_at":
        allowed = "str, a date or datetime, or a number"
    raise TypeError(f"Post.{name} must be {allowed} or None, got {type(v).__name__}")


@dataclass(frozen=True, slots=True)
class Post:
    """One social-media post.

    ``extra`` holds any other fields of the input record; they are carried through to the output. A ``city``
    there (the town a source writes from, e.g. the city a group is named after) is a hint for the places the
    post names, where the gazetteer knows it. An int
    ``id`` or ``source`` becomes its decimal string; a date or a number as ``created_at`` its ISO form or
    string. Lone surrogates in the text fields are replaced by U+FFFD (offsets unchanged).

    >>> Post("Когда включат воду на Садовой?", id="42", region="Нижегородская область").id
    '42'
    """

    text: str
    id: str | None = None
    region: str | None = None
    source: str | None = None
    created_at: str | None = None
    extra: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)

    def __post_init__(self) -> None:
        if not isinstance(self.text, str):
            raise TypeError(f"Post.text must be str, got {type(self.text).__name__}")
        object.__setattr__(self, "text", scrub(self.text))
        for name in ("id", "region", "source", "created_at"):
            object.__setattr__(self, name, _field(name, getattr(self, name), numbers=name != "region"))
        if self.extra is not None and not isinstance(self.extra, Mapping):
            raise TypeError(f"Post.extra must be a mapping, got {type(self.extra).__name__}")
        object.__setattr__(self, "extra", _freeze(self.extra))


@dataclass(frozen=True, slots=True)
class Locality:
    """A settlement, municipal district, part of a city or federal subject named in a post.

    ``kind`` is one of ``region``, ``city``, ``town``, ``village``, ``district`` (a municipal district),
    ``city_district`` (an administrative district of a city) and ``city_part`` (a microdistrict or historic
    part of a city); for the last two ``city`` names the city. ``start``/``end`` index the ORIGINAL text:
    ``text[start:end] == surface``.
    """

    name: str
    kind: str
    region: str | None
    region_code: str | None
    start: int
    end: int
    surface: str
    lat: float | None = None
    lon: float | None = None
    population: int | None = None
    confidence: float = 1.0
    city: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON types only."""
        return {k: getattr(self, k) for k in self.__slots__}  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Address:
    """A place inside a settlement named in a post: a street with its house, a landmark or a microdistrict.

    ``kind`` is ``street``, ``landmark`` or ``microdistrict``; ``normalized`` its normal form ("улица
    Гончарова, 3", "школа № 12", "3-й микрорайон"); ``street`` and ``house`` split a street's form;
    ``locality`` is the settlement when the caller gave it. ``text[start:end] == surface``.
    """

    kind: str
    normalized: str
    start: int
    end: int
    surface: str
    street: str | None = None
    house: str | None = None
    locality: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON types only."""
        return {k: getattr(self, k) for k in self.__slots__}  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Reason:
    """A phrase of the original text that drove a decision, with its offsets and weight (score drop)."""

    text: str
    start: int
    end: int
    weight: float
    head: str = "needs_reply"

    def __str__(self) -> str:
        return self.text

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON types only."""
        return {k: getattr(self, k) for k in self.__slots__}  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Result:
    """What negmon says about one post. Fields of heads the model lacks are ``None``.

    >>> r = Result(text="")
    >>> r.as_dict()["needs_reply"] is None
    True
    """

    text: str
    id: str | None = None
    sentiment: str | None = None
    sentiment_scores: Mapping[str, float] | None = None
    topic: str | None = None
    topic_scores: Mapping[str, float] | None = None
    needs_reply: bool | None = None
    reply_score: float | None = None
    priority: str | None = None
    urgent_score: float | None = None
    localities: tuple[Locality, ...] = ()
    addresses: tuple[Address, ...] = ()
    reasons: tuple[Reason, ...] = ()
    empty: bool = False
    truncated: bool = False
    flags: tuple[str, ...] = ()
    model: str | None = None
    region: str | None = None
    source: str | None = None
    created_at: str | None = None
    extra: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)

    def __post_init__(self) -> None:
        for name in ("sentiment_scores", "topic_scores"):
            v = getattr(self, name)
            if v is not None and not isinstance(v, MappingProxyType):
                object.__setattr__(self, name, MappingProxyType(dict(v)))
        object.__setattr__(self, "extra", _freeze(self.extra))

    def as_dict(self) -> dict[str, Any]:
        """A dict of plain JSON values that always encodes as UTF-8 JSON.

        Keys carried from the input come last; one that a result key already uses (an input ``id`` beside
        ``--id-field``, a labelled file's own ``sentiment``) is kept as ``input_<key>``, never dropped.
        Carried NaN and infinities become None, lone surrogates U+FFFD.
        """
        d: dict[str, Any] = {}
        for k in self.__slots__:  # type: ignore[attr-defined]
            if k == "extra":
                continue
            v = getattr(self, k)
            if isinstance(v, Mapping):
                v = dict(v)
            elif k in ("localities", "addresses", "reasons"):
                v = [x.as_dict() for x in v]
            elif isinstance(v, tuple):
                v = list(v)
            elif isinstance(v, str):
                v = scrub(v)
            d[k] = v
        for k, v in self.extra.items():
            key = scrub(str(k))
            while key in d:
                key = "input_" + key
            d[key] = jsonable(v)
        return d
