"""The classifier: normalize -> model -> localities -> decide, for one post or lazily for many."""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from negmon.addresses import extract_addresses
from negmon.errors import InputError
from negmon.normalize import Normalized, normalize
from negmon.result import Post, Result

if TYPE_CHECKING:
    import numpy as np

__all__ = ["Classifier", "PostLike", "classify", "classify_batch", "to_post"]

PostLike = str | Mapping[str, Any] | Post
DEFAULT_MAX_CHARS = 20_000
_POST_KEYS = ("text", "id", "region", "source", "created_at")


def to_post(obj: object, *, text_field: str = "text", id_field: str = "id") -> Post:
    """Turn a str, a mapping with a text field, or a Post into a :class:`Post`.

    >>> to_post({"text": "нет воды", "id": 7, "likes": 3}).extra["likes"]
    3
    """
    if isinstance(obj, Post):
        return obj
    if isinstance(obj, str):
        return Post(obj)
    if isinstance(obj, Mapping):
        if text_field not in obj:
            keys = ", ".join(map(str, list(obj)[:10])) or "none"
            raise InputError(f"a post mapping needs a {text_field!r} key; its keys are: {keys}")
        text = obj[text_field]
        if not isinstance(text, str):
            raise TypeError(f"post field {text_field!r} must be str, got {type(text).__name__}")
        fields = {k: obj.get(k) for k in ("region", "source", "created_at")}
        used = {text_field, id_field, "region", "source", "created_at"}
        extra = {k: v for k, v in obj.items() if k not in used}
        return Post(text, id=obj.get(id_field), extra=extra, **fields)
    raise TypeError(
        f"a post must be str, a mapping with {text_field!r}, or negmon.Post; got {type(obj).__name__}"
    )


def _visible(text: str) -> bool:
    """Whether ``text`` has a letter, digit, punctuation mark or symbol (not only spaces, controls, marks)."""
    return any(unicodedata.category(c)[0] not in "CZM" for c in text)


_SETTLEMENTS = ("city", "town", "village", "city_district", "city_part")
_LATIN = re.compile(r"[A-Za-z]")
_CYRILLIC = re.compile(r"[А-Яа-яЁё]")


def _localities(text: str, region: str | None, n: Normalized, city: Any = None) -> tuple[Any, ...]:
    """Localities of the original text, plus those that only the normalizer's repairs reveal (Latin
    look-alike letters, Russian typed in Latin): found in a window of the normalized text around each repaired
    word and mapped back to the original offsets. ``city`` (an input record's ``city`` field: the town its
    source writes from) is a hint where the gazetteer knows it, and is ignored where it does not."""
    from dataclasses import replace

    from negmon.localities import extract_localities

    town = city if isinstance(city, str) and city.strip() else None
    try:
        found = list(extract_localities(text, region=region, city=town))
    except InputError:
        town = None
        found = list(extract_localities(text, region=region))
    if not n.flags & {"lookalike", "translit"} or n.source != text:
        return tuple(found)
    repaired = [
        t for t in n.tokens if _CYRILLIC.search(t.text) and _LATIN.search(text[t.source_start : t.source_end])
    ]
    windows: list[list[int]] = []
    for t in repaired:
        a, b = max(0, t.start - 40), min(len(n.text), t.end + 40)
        if windows and a <= windows[-1][1]:
            windows[-1][1] = b
        else:
            windows.append([a, b])
    for a, b in windows:
        for loc in extract_localities(n.text[a:b], region=region, city=town):
            start, end = loc.start + a, loc.end + a
            if not any(t.start < end and start < t.end for t in repaired):
                continue
            s, e = n.source_span(start, end)
            if all(e <= x.start or s >= x.end for x in found):
                found.append(replace(loc, start=s, end=e, surface=text[s:e]))
    found.sort(key=lambda x: x.start)
    return tuple(found)


class Classifier:
    """A loaded model with the whole pipeline around it. Thread-safe: it holds no mutable state.

    >>> clf = Classifier.load("fast")                          # doctest: +SKIP
    >>> clf.classify("Когда включат воду на Садовой?").sentiment  # doctest: +SKIP
    'neutral'
    """

    def __init__(
        self, model: Any, *, localities: bool = True, reasons: bool = False, max_chars: int | None = None
    ) -> None:
        self.model = model
        self.reasons = reasons
        self.meta: dict[str, Any] = model.meta
        self.heads: dict[str, dict[str, Any]] = dict(self.meta["heads"])
        self.localities = localities
        self.max_chars = int(max_chars or self.meta.get("max_chars", DEFAULT_MAX_CHARS))
        self.thresholds: dict[str, float] = dict(self.meta.get("thresholds", {}))

    @classmethod
    def load(
        cls, name_or_path: str | Path = "default", *, verify: bool = True, localities: bool = True
    ) -> Classifier:
        """Load a bundled model (``"default"``, ``"fast"``, or an id) or a model folder.

        ``verify`` checks the sha256 of every weight file against ``meta.json`` (refuses changed files).
        """
        from negmon.model import load_model

        return cls(load_model(name_or_path, verify=verify), localities=localities)

    @property
    def id(self) -> str:
        """The model id from ``meta.json``."""
        return str(self.meta["id"])

    def classify(self, post: PostLike, *, reasons: bool | None = None) -> Result:
        """Classify one post (a str, a mapping with ``text``, or a :class:`Post`).

        ``reasons=True`` fills ``Result.reasons`` for a post that needs a reply: the phrases that drove
        needs_reply and the topic.
        """
        return self._run([self.prepare(post)], self.reasons if reasons is None else reasons)[0]

    def prepare(self, post: PostLike) -> Post:
        """The :class:`Post` that :meth:`classify` would see: checked, with its ``region`` hint resolved to
        the official name (an unknown region raises :class:`~negmon.errors.InputError` with close matches).

        Batch jobs call it per row to report a bad row before the model runs.
        """
        p = to_post(post)
        if p.region is not None and p.region.strip() and self.localities:  # a blank CSV cell is no hint
            from negmon.localities import check_region

            official = check_region(p.region)
            if official != p.region:
                from dataclasses import replace

                p = replace(p, region=official)
        return p

    def classify_batch(
        self, posts: Iterable[PostLike], batch_size: int = 64, *, reasons: bool | None = None
    ) -> Iterator[Result]:
        """Classify many posts lazily, in chunks of ``batch_size``, keeping the input order."""
        explain = self.reasons if reasons is None else reasons
        if isinstance(posts, str | bytes | Mapping | Post):
            raise TypeError(
                f"classify_batch() expects an iterable of posts, got one {type(posts).__name__}; "
                "use classify() for a single post or wrap it in a list"
            )
        if not isinstance(batch_size, int) or batch_size < 1:
            raise InputError(f"batch_size must be a positive int, got {batch_size!r}")
        chunk: list[Post] = []
        for i, p in enumerate(posts):
            try:
                chunk.append(self.prepare(p))
            except (TypeError, InputError) as e:
                raise type(e)(f"post #{i}: {e}") from None
            if len(chunk) == batch_size:
                yield from self._run(chunk, explain)
                chunk = []
        if chunk:
            yield from self._run(chunk, explain)

    # ------------------------------------------------------------ pipeline

    def _run(self, posts: list[Post], explain: bool = False) -> list[Result]:
        texts = [p.text[: self.max_chars] for p in posts]
        norms: dict[int, Normalized] = {i: normalize(t) for i, t in enumerate(texts) if t.strip()}
        live = [i for i, n in norms.items() if _visible(n.text)]
        probs: dict[str, np.ndarray] = {}
        if live:
            probs = self.model.predict([norms[i] for i in live])
        row = {i: k for k, i in enumerate(live)}
        out = []
        for i, p in enumerate(posts):
            if i in row:
                out.append(
                    self._decide(p, texts[i], norms[i], {h: v[row[i]] for h, v in probs.items()}, explain)
                )
            else:
                out.append(self._empty(p))
        return out

    def _base(self, p: Post) -> dict[str, Any]:
        return {
            "text": p.text,
            "id": p.id,
            "region": p.region,
            "source": p.source,
            "created_at": p.created_at,
            "extra": p.extra,
            "model": self.id,
        }

    def _empty(self, p: Post) -> Result:
        """An empty post: neutral, topic other and no reply, where the model has those labels and heads."""

        def label(head: str, name: str) -> str | None:
            return name if name in self.heads.get(head, {}).get("labels", ()) else None

        return Result(
            **self._base(p),
            sentiment=label("sentiment", "neutral"),
            needs_reply=False if "needs_reply" in self.heads else None,
            topic=label("topic", "other"),
            empty=True,
        )

    def _decide(self, p: Post, text: str, n: Normalized, pr: dict[str, np.ndarray], explain: bool) -> Result:
        fields: dict[str, Any] = self._base(p)
        for head in ("sentiment", "topic"):
            if head in pr:
                labels = self.heads[head]["labels"]
                fields[f"{head}_scores"] = {
                    lab: round(float(x), 4) for lab, x in zip(labels, pr[head], strict=True)
                }
                fields[head] = labels[int(pr[head].argmax())]
        if "needs_reply" in pr:
            import numpy as np

            from negmon.model import decide

            score = float(pr["needs_reply"][1])
            urgent = float(pr["priority"][1]) if "priority" in pr else None
            flagged, hot = decide(
                np.array([score]), None if urgent is None else np.array([urgent]), self.thresholds, self.meta
            )
            fields["reply_score"] = round(score, 4)
            fields["needs_reply"] = bool(flagged[0])
            if fields["needs_reply"] and urgent is not None:
                fields["urgent_score"] = round(urgent, 4)
                fields["priority"] = "urgent" if hot[0] else "normal"
            elif fields["needs_reply"]:
                fields["priority"] = None
        fields["truncated"] = len(text) < len(p.text) or bool(pr.get("_truncated", False))
        if explain and fields.get("needs_reply"):
            fields["reasons"] = self._explain(n, pr)
        fields["flags"] = tuple(sorted(n.flags))
        if self.localities:
            locs = _localities(text, p.region, n, p.extra.get("city"))
            fields["localities"] = locs
            town = next((x.city or x.name for x in locs if x.kind in _SETTLEMENTS), None)
            source = p.extra.get("city")
            fields["addresses"] = extract_addresses(text, locality=town or (source if isinstance(source, str) else None))
        return Result(**fields)

    def _explain(self, n: Normalized, pr: dict[str, np.ndarray]) -> tuple[Any, ...]:
        from negmon.explain import explain

        targets = [("needs_reply", 1, 3)]
        if "topic" in pr:
            targets.append(("topic", int(pr["topic"].argmax()), 2))
        return explain(self.model, n, pr, targets)


_default: dict[tuple[str, bool], Classifier] = {}
_lock = threading.Lock()


def _get(model: str | Path, localities: bool = True) -> Classifier:
    """The process's one loaded classifier per (model, localities), shared by the module-level functions,
    batch runs and the DataFrame helpers."""
    key = (str(model), localities)
    clf = _default.get(key)
    if clf is None:
        with _lock:
            clf = _default.get(key)
            if clf is None:
                clf = _default[key] = Classifier.load(model, localities=localities)
    return clf


def classify(post: PostLike, *, model: str | Path = "default", reasons: bool | None = None) -> Result:
    """Classify one post with a bundled or given model (loaded once per process, thread-safe).

    >>> import negmon
    >>> negmon.classify("В Кстово третий день нет горячей воды!").sentiment  # doctest: +SKIP
    'negative'
    """
    return _get(model).classify(post, reasons=reasons)


def classify_batch(
    posts: Iterable[PostLike],
    *,
    batch_size: int = 64,
    model: str | Path = "default",
    reasons: bool | None = None,
) -> Iterator[Result]:
    """Classify an iterable of posts lazily, keeping order; see :meth:`Classifier.classify_batch`."""
    return _get(model).classify_batch(posts, batch_size=batch_size, reasons=reasons)
