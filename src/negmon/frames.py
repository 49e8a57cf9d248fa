"""negmon from pandas and Hugging Face ``datasets``: a DataFrame in, result columns out.

>>> import pandas as pd, negmon
>>> df = pd.DataFrame({"text": ["В Кстово нет воды третий день!", "Спасибо за парк"]})
>>> out = negmon.classify_frame(df, model="fast")                     # doctest: +SKIP
>>> df.join(out)[["text", "needs_reply", "topic"]]                    # doctest: +SKIP

>>> ds = negmon.classify_dataset(datasets.load_from_disk("posts"), model="fast")   # doctest: +SKIP

A row that cannot be classified (text missing or not a string, an unknown region) gets its reason in the
``error`` column and empty result columns; it never raises, so that every row is accounted for.
pandas is needed only here (``pip install 'negmon[pandas]'``); ``import negmon`` does not import it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from negmon.errors import InputError
from negmon.result import Result

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FIELDS", "classify_dataset", "classify_frame", "to_frame"]

FIELDS = (
    "sentiment",
    "topic",
    "needs_reply",
    "priority",
    "reply_score",
    "urgent_score",
    "localities",
    "empty",
    "truncated",
)
_ALL = (*FIELDS, "addresses", "sentiment_scores", "topic_scores", "reasons", "flags", "model")
_POST_KEYS = ("id", "region", "source", "created_at")


def _pandas() -> Any:
    try:
        import pandas
    except ImportError:
        raise InputError("DataFrames need pandas: pip install 'negmon[pandas]'") from None
    return pandas


def _fields(fields: Sequence[str] | None) -> tuple[str, ...]:
    chosen = tuple(fields) if fields is not None else FIELDS
    unknown = [f for f in chosen if f not in _ALL]
    if unknown:
        raise InputError(f"unknown result field(s) {unknown}; choose from {', '.join(_ALL)}")
    return chosen


def _rows(
    texts: Sequence[Any], meta: Mapping[str, Sequence[Any]], *, model: str | Path, batch_size: int, reasons: bool,
    localities: bool, fields: tuple[str, ...],
) -> dict[str, list[Any]]:
    """Result columns (plus ``error``) for parallel columns of texts and post fields."""
    from negmon.classifier import _get

    clf = _get(model, localities)
    cols: dict[str, list[Any]] = {f: [None] * len(texts) for f in (*fields, "error")}
    good: list[tuple[int, Any]] = []
    for i, text in enumerate(texts):
        post = {"text": text, **{k: _missing_to_none(v[i]) for k, v in meta.items()}}
        try:
            good.append((i, clf.prepare(post)))
        except (TypeError, InputError) as e:
            cols["error"][i] = str(e)
    posts = [p for _, p in good]
    try:
        results: list[Result | None] = list(clf.classify_batch(posts, batch_size=batch_size, reasons=reasons))
    except Exception:  # one post that breaks the model must not sink its batch (or a Spark task): one by one
        results = []
        for (i, _), p in zip(good, posts, strict=True):
            try:
                results.append(clf.classify(p, reasons=reasons))
            except Exception as e:  # the row's error, the others go on
                results.append(None)
                cols["error"][i] = f"internal error: {e!r}"
    for (i, _), r in zip(good, results, strict=True):
        if r is not None:
            d = r.as_dict()
            for f in fields:
                cols[f][i] = d[f]
    return cols


def _missing_to_none(v: Any) -> Any:
    return None if isinstance(v, float) and v != v else v  # pandas writes a missing value as NaN


def classify_frame(
    df: pd.DataFrame,
    text_col: str = "text",
    *,
    model: str | Path = "default",
    fields: Sequence[str] | None = None,
    batch_size: int = 64,
    reasons: bool = False,
    localities: bool = True,
) -> pd.DataFrame:
    """Classify the ``text_col`` column of ``df``; returns a DataFrame of result columns on ``df``'s index.

    Columns named ``id``, ``region``, ``source`` and ``created_at`` are used as the post's fields. ``fields``
    chooses the result columns (default :data:`FIELDS`; also ``sentiment_scores``, ``topic_scores``,
    ``reasons``, ``flags``, ``model``); an ``error`` column holds the reason a row could not be classified.
    Join it back with ``df.join(out)``.
    """
    pd = _pandas()
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"classify_frame() expects a pandas DataFrame, got {type(df).__name__}")
    if text_col not in df.columns:
        shown = ", ".join(map(repr, list(df.columns)[:12]))
        raise InputError(f"the DataFrame has no column {text_col!r} (its columns: {shown}); pass text_col=")
    chosen = _fields(fields)
    meta = {k: df[k].tolist() for k in _POST_KEYS if k in df.columns and k != text_col}
    cols = _rows(df[text_col].tolist(), meta, model=model, batch_size=batch_size, reasons=reasons,
                 localities=localities, fields=chosen)
    return pd.DataFrame(cols, index=df.index, columns=[*chosen, "error"])


def to_frame(results: Iterable[Result]) -> pd.DataFrame:
    """A DataFrame with one row per :class:`~negmon.Result` (the columns of ``Result.as_dict()``)."""
    pd = _pandas()
    rows = []
    for r in results:
        if not isinstance(r, Result):
            raise TypeError(f"to_frame() expects negmon.Result objects, got {type(r).__name__}")
        rows.append(r.as_dict())
    return pd.DataFrame(rows)


_ARROW = {"needs_reply": "bool", "empty": "bool", "truncated": "bool", "reply_score": "float64",
          "urgent_score": "float64"}


def _mapper(
    model: str | Path, text_col: str, fields: tuple[str, ...], batch_size: int, localities: bool,
    reasons: bool = False,
) -> Callable[[dict[str, list[Any]]], dict[str, list[Any]]]:
    """A function from a batch of columns (text, post fields) to result columns, nested fields as JSON text;
    used by :func:`classify_dataset` and by ``negmon.spark``."""

    def fn(batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
        meta = {k: batch[k] for k in _POST_KEYS if k in batch and k != text_col}
        cols = _rows(batch[text_col], meta, model=model, batch_size=batch_size, reasons=reasons,
                     localities=localities, fields=fields)
        for f in ("localities", "addresses", "sentiment_scores", "topic_scores", "reasons", "flags"):
            if f in cols:
                cols[f] = [None if v is None else json.dumps(v, ensure_ascii=False) for v in cols[f]]
        return cols

    return fn


def classify_dataset(
    ds: Any,
    text_col: str = "text",
    *,
    model: str | Path = "default",
    fields: Sequence[str] | None = None,
    batch_size: int = 64,
    localities: bool = True,
    **map_kwargs: Any,
) -> Any:
    """A Hugging Face ``datasets.Dataset`` with the result columns added: ``Dataset.map(batched=True)`` with a
    classifying function and the result columns' types declared (a batch of all-None values cannot fix them).

    Nested fields (``localities``, the score maps, ``flags``) are JSON strings; ``error`` holds the reason a row
    could not be classified. Other keyword arguments go to ``Dataset.map`` (``num_proc``, ``cache_file_name``...).
    """
    try:
        import datasets
    except ImportError:
        raise InputError("this helper needs Hugging Face datasets: pip install datasets") from None
    if not isinstance(ds, datasets.Dataset):
        raise TypeError(f"classify_dataset() expects a datasets.Dataset, got {type(ds).__name__}")
    if text_col not in ds.column_names:
        raise InputError(f"the dataset has no column {text_col!r} (its columns: {', '.join(ds.column_names)})")
    chosen = _fields(fields)
    clash = [f for f in (*chosen, "error") if f in ds.column_names]
    if clash:
        raise InputError(f"the dataset already has result columns {clash}; remove or rename them first")
    features = ds.features.copy()
    for f in (*chosen, "error"):
        features[f] = datasets.Value(_ARROW.get(f, "string"))
    fn = _mapper(model, text_col, chosen, batch_size, localities)
    return ds.map(fn, batched=True, batch_size=map_kwargs.pop("map_batch_size", 1000), features=features,
                  **map_kwargs)
