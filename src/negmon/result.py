"""Immutable result types: :class:`Post` in, :class:`Result` out, with :class:`Locality` and :class:`Reason`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = ["Locality", "Post", "Reason", "Result"]

_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _freeze(m: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(m)) if m else _EMPTY


@dataclass(frozen=True, slots=True)
class Post:
    """One social-media post.

    ``extra`` holds any other fields of the input record; they are carried through to the output.

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
        object.__setattr__(self, "extra", _freeze(self.extra))


@dataclass(frozen=True, slots=True)
class Locality:
    """A settlement, municipal district or federal subject named in a post.

    ``start``/``end`` index the ORIGINAL text: ``text[start:end] == surface``.
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
        """A dict of plain JSON types; keys carried from the input come last and never override result keys."""
        d: dict[str, Any] = {}
        for k in self.__slots__:  # type: ignore[attr-defined]
            if k == "extra":
                continue
            v = getattr(self, k)
            if isinstance(v, Mapping):
                v = dict(v)
            elif k in ("localities", "reasons"):
                v = [x.as_dict() for x in v]
            elif isinstance(v, tuple):
                v = list(v)
            d[k] = v
        for k, v in self.extra.items():
            d.setdefault(k, v)
        return d
