"""Moods by place, topic and period: aggregates of scored posts with Wilson intervals, and emerging problems.

>>> import negmon
>>> table = negmon.aggregate("scored.jsonl", by=("region", "settlement", "topic"), freq="W")  # doctest: +SKIP

Input: :class:`~negmon.Result` objects, scored files written by ``negmon score`` (JSONL, CSV, TSV, Parquet or a
saved ``datasets`` folder) or a DataFrame with their columns. A post counts once for each distinct settlement
it names (a post about two towns is a post of each); a post that names none counts under settlement None, in
the region of the places it names or else of its ``region`` field. Headline totals count posts once.
pandas is needed here (``pip install 'negmon[pandas]'``); ``import negmon`` does not import it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from negmon.errors import InputError
from negmon.result import Result

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["GROUPS", "SETTLEMENT_KINDS", "aggregate", "emerging", "posts_frame", "wilson"]

SETTLEMENT_KINDS = ("city", "town", "village")
GROUPS = ("region", "settlement", "district", "topic", "sentiment", "source")
_POST_COLUMNS = ("id", "text", "created_at", "sentiment", "topic", "needs_reply", "priority", "reply_score",
                 "source", "reasons")


def wilson(k: Any, n: Any, z: float = 1.96) -> tuple[Any, Any]:
    """The Wilson score interval (low, high) of a share ``k / n`` at ``z`` (1.96: 95%); arrays work too.
    Its lower bound ranks places: three negative posts out of three give 0.44, not 1.0.

    >>> [round(x, 3) for x in wilson(3, 3)]
    [0.439, 1.0]
    """
    import numpy as np

    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    low, high = np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)
    if low.ndim == 0:
        return float(low), float(high)
    return low, high


def _pandas() -> Any:
    try:
        import pandas
    except ImportError:
        raise InputError("aggregates need pandas: pip install 'negmon[pandas]'") from None
    return pandas


def _json(v: Any) -> Any:
    if isinstance(v, str) and v[:1] in "[{":
        try:
            return json.loads(v)
        except ValueError:
            return None
    if hasattr(v, "tolist"):  # numpy arrays from Parquet
        return v.tolist()
    return v


def _truth(v: Any) -> bool:
    """needs_reply from JSON (a bool), CSV (``True``/``False`` text) or Parquet (a bool or None)."""
    if isinstance(v, str):
        return v.strip().lower() in ("true", "1", "yes", "да")
    return bool(v) if v is not None and v == v else False


def _number(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _epoch(v: float) -> datetime:
    return datetime.fromtimestamp(v, tz=UTC).replace(tzinfo=None)


def _when(v: Any) -> datetime | None:
    """The local wall-clock time of ``created_at`` (the offset dropped: a week is the author's week)."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return None
    if isinstance(v, datetime):
        return v.replace(tzinfo=None)
    if isinstance(v, date):
        return datetime(v.year, v.month, v.day)
    if isinstance(v, int | float) and not isinstance(v, bool):
        return _epoch(v) if 0 < v < 1e11 else None
    s = str(v).strip()
    try:
        return datetime.fromisoformat(s.replace("Z", "+00:00")).replace(tzinfo=None)
    except ValueError:
        try:
            return _epoch(float(s)) if s else None
        except (ValueError, OverflowError, OSError):
            return None


_NEEDED = (*_POST_COLUMNS, "region", "localities")


def _arrow_schema() -> Any:
    """The columns the aggregates read from a scored JSONL file, typed as ``negmon score`` writes them."""
    import pyarrow as pa

    loc = pa.struct([("name", pa.string()), ("kind", pa.string()), ("region", pa.string()),
                     ("lat", pa.float64()), ("lon", pa.float64())])
    reason = pa.struct([("start", pa.int64()), ("end", pa.int64())])
    types = {"needs_reply": pa.bool_(), "reply_score": pa.float64(), "localities": pa.list_(loc),
             "reasons": pa.list_(reason)}
    return pa.schema([(c, types.get(c, pa.string())) for c in _NEEDED])


def _fast_file(path: Path) -> dict[str, list[Any]] | None:
    """The needed columns of a JSONL or Parquet file read by Arrow, or None where only the row-by-row reader
    can read it (other formats, a value of an unexpected type, a broken line: that reader reports them)."""
    from negmon.io import detect_format

    try:
        fmt = detect_format(path)
        if fmt not in ("jsonl", "parquet"):
            return None
        import pyarrow as pa

        if fmt == "jsonl":
            import pyarrow.json as pj

            opts = pj.ParseOptions(explicit_schema=_arrow_schema(), unexpected_field_behavior="ignore")
            table = pj.read_json(pa.input_stream(str(path), compression="detect"), parse_options=opts)
        else:
            import pyarrow.parquet as pq

            names = set(pq.read_schema(path).names)
            table = pq.read_table(path, columns=[c for c in _NEEDED if c in names])
    except (ImportError, OSError, ValueError, InputError):
        return None  # pyarrow.ArrowInvalid is a ValueError
    return {c: table.column(c).to_pylist() if c in table.column_names else [None] * table.num_rows
            for c in _NEEDED}


def _columns(data: Any) -> tuple[dict[str, list[Any]], int]:
    """(the needed columns as lists, unreadable rows) from Results, dicts, files or a DataFrame."""
    pd = _pandas()
    if isinstance(data, pd.DataFrame):
        return {c: data[c].tolist() if c in data.columns else [None] * len(data) for c in _NEEDED}, 0
    if isinstance(data, str | Path):
        data = [data]
    items = list(data)
    cols: dict[str, list[Any]] = {c: [] for c in _NEEDED}
    if items and all(isinstance(x, str | Path) for x in items):
        from negmon.io import read_rows

        bad = 0
        for path in items:
            fast = _fast_file(Path(path))
            if fast is not None:
                for c in _NEEDED:
                    cols[c] += fast[c]
                continue
            for row in read_rows(path):
                if row.post is None:
                    bad += 1
                    continue
                for c in _NEEDED:
                    cols[c].append(row.post.get(c))
        return cols, bad
    for x in items:
        if isinstance(x, Result):
            x = x.as_dict()
        elif not isinstance(x, dict):
            raise TypeError(f"expected negmon.Result objects, scored files or a DataFrame; got {type(x).__name__}")
        for c in _NEEDED:
            cols[c].append(x.get(c))
    return cols, 0


_OFFSET = r"(?:Z|[+-]\d{2}:?\d{2})$"


def _times(values: list[Any]) -> pd.Series:
    """Local wall-clock times of ``created_at`` values: ISO strings parsed together, anything else one by one."""
    pd = _pandas()
    s = pd.Series(values, dtype="object")
    text = s.map(lambda v: isinstance(v, str))
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    if text.any():
        local = s[text].astype("string").str.strip().str.replace(_OFFSET, "", regex=True)
        out[text] = pd.to_datetime(local, format="ISO8601", errors="coerce")
    redo = ~text | (text & out.isna())
    if redo.any():
        out[redo] = pd.to_datetime(pd.Series([_when(v) for v in s[redo]], index=s[redo].index, dtype="object"))
    return out


def posts_frame(data: Any) -> pd.DataFrame:
    """One row per (post, settlement it names): the post's fields, ``when`` (its local time), ``negative`` and
    ``urgent`` (flags), ``region``, ``settlement``, ``district``, ``lat``, ``lon`` and ``post`` (the post's number,
    for counting posts once).

    ``attrs["unreadable"]`` counts rows of the files that could not be read, ``attrs["posts"]`` the posts."""
    pd = _pandas()
    cols, bad = _columns(data)
    n = len(cols["text"])
    post_ix: list[int] = []
    place: dict[str, list[Any]] = {"region": [], "settlement": [], "district": [], "lat": [], "lon": []}
    for i, (raw, hint) in enumerate(zip(cols["localities"], cols["region"], strict=True)):
        locs = [x for x in (_json(raw) or []) if isinstance(x, dict)]
        region = next((x.get("region") for x in locs if x.get("region")),
                      hint if isinstance(hint, str) and hint else None)
        district = next((x.get("name") for x in locs if x.get("kind") == "district"), None)
        places: dict[tuple[Any, Any], tuple[Any, Any]] = {}
        for x in locs:
            # a part of a city ("Сормово", "Советский район" of Казань) counts for its city
            name = x.get("city") if x.get("kind") in ("city_part", "city_district") else \
                x.get("name") if x.get("kind") in SETTLEMENT_KINDS else None
            if name:
                key = (name, x.get("region") or region)
                if places.get(key, (None, None))[0] is None:
                    places[key] = (x.get("lat"), x.get("lon"))
        if not places:
            places[(None, region)] = (None, None)
        for (name, reg), (lat, lon) in places.items():
            post_ix.append(i)
            for k, v in (("region", reg), ("settlement", name), ("district", district), ("lat", lat), ("lon", lon)):
                place[k].append(v)
    base = pd.DataFrame({
        "id": cols["id"], "text": cols["text"], "created_at": cols["created_at"], "sentiment": cols["sentiment"],
        "topic": cols["topic"], "needs_reply": [_truth(v) for v in cols["needs_reply"]],
        "priority": cols["priority"], "reply_score": [_number(v) for v in cols["reply_score"]],
        "source": cols["source"], "reasons": [_json(v) for v in cols["reasons"]],
        "post": range(n), "when": _times(cols["created_at"]),
    }, columns=[*_POST_COLUMNS, "post", "when"])
    base["negative"] = base["sentiment"].eq("negative")
    base["urgent"] = base["needs_reply"] & base["priority"].eq("urgent")
    df = base.iloc[post_ix].reset_index(drop=True)
    for k, v in place.items():
        df[k] = pd.Series(v, dtype="float64" if k in ("lat", "lon") else "object")
    df.attrs["unreadable"] = bad
    df.attrs["posts"] = n
    return df


def _periods(when: pd.Series, freq: str) -> pd.Series:
    try:
        return when.dt.to_period(freq)
    except ValueError:
        raise InputError(f"freq must be a pandas period such as 'W' (weeks from Monday), 'D', 'M' or 'Q'; "
                         f"got {freq!r}") from None


def _check_by(by: Sequence[str]) -> list[str]:
    if isinstance(by, str):
        by = (by,)
    unknown = [b for b in by if b not in GROUPS]
    if unknown:
        raise InputError(f"aggregate(by=...) takes some of {list(GROUPS)}; got {unknown}")
    return list(by)


def _frame(data: Any) -> pd.DataFrame:
    pd = _pandas()
    if isinstance(data, pd.DataFrame) and {"post", "when", "settlement"} <= set(data.columns):
        return data  # already a posts_frame
    return posts_frame(data)


def aggregate(data: Any, by: Sequence[str] = ("region", "settlement", "topic"), freq: str | None = "W", *,
              z: float = 1.96) -> pd.DataFrame:
    """A table per group of ``by`` (and per period of ``freq``, a pandas period: ``"W"`` weeks from Monday,
    ``"D"``, ``"M"``...; None for no periods) with: ``posts``, ``negative``, ``negative_share`` and its Wilson
    interval ``negative_low``/``negative_high`` (at ``z``), ``needs_reply``, ``urgent``, and against the
    group's previous period ``posts_prev``, ``posts_change`` and ``negative_share_change``.

    Rows are sorted by period, then by ``negative_low`` (highest first): small places do not top the list on
    three posts. Posts without a usable ``created_at`` are left out when ``freq`` is set
    (``attrs["undated"]`` counts them)."""
    keys = _check_by(by)
    df = _frame(data)
    undated = 0
    if freq:
        undated = int(df.loc[df["when"].isna(), "post"].nunique())
        df = df[df["when"].notna()].copy()
        df["period"] = _periods(df["when"], freq).dt.start_time
        keys_all = ["period", *keys]
    else:
        keys_all = keys
    df = df.drop_duplicates(["post", *keys_all])  # a post of two towns counts twice only by settlement
    g = df.groupby(keys_all, dropna=False, sort=False)
    out = g.agg(posts=("post", "size"), negative=("negative", "sum"), needs_reply=("needs_reply", "sum"),
                urgent=("urgent", "sum")).reset_index()
    for c in ("posts", "negative", "needs_reply", "urgent"):
        out[c] = out[c].astype("int64")
    out["negative_share"] = out["negative"] / out["posts"]
    low, high = wilson(out["negative"].to_numpy(), out["posts"].to_numpy(), z)
    out["negative_low"], out["negative_high"] = low, high
    if freq:
        prev = out[[*keys_all, "posts", "negative_share"]].copy()
        prev["period"] = (prev["period"].dt.to_period(freq) + 1).dt.start_time
        prev = prev.rename(columns={"posts": "posts_prev", "negative_share": "_share_prev"})
        out = out.merge(prev, on=keys_all, how="left")
        out["posts_prev"] = out["posts_prev"].fillna(0).astype("int64")
        out["posts_change"] = out["posts"] - out["posts_prev"]
        out["negative_share_change"] = out["negative_share"] - out["_share_prev"]
        out = out.drop(columns="_share_prev")
    out = out.sort_values([*(["period"] if freq else []), "negative_low", "posts"],
                          ascending=[*([True] if freq else []), False, False], kind="stable").reset_index(drop=True)
    out.attrs["undated"] = undated
    out.attrs["posts"] = int(df["post"].nunique()) if len(df) else 0
    return out


_MISSING = "\x00missing"


def _binomial_sf(x: int, n: int, p: float) -> float:
    """P(X >= x) for X ~ Binomial(n, p)."""
    return min(1.0, sum(math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(x, n + 1)))


def emerging(data: Any, by: Sequence[str] = ("region", "settlement", "topic"), freq: str = "W", *,
             period: Any = None, history: int = 8, fdr: float = 0.05, min_posts: int = 3) -> pd.DataFrame:
    """Groups whose count of posts that need a reply in ``period`` (the last period of the data by default)
    is a spike against their own history.

    The test: counts of reply posts per place, topic and week are small, mostly zero, and arrive independently,
    the case a Poisson count describes (a z-score of shares breaks down at such counts). This period's count
    ``x`` is compared with the ``h`` previous periods' total ``y`` (``history`` periods, zeros included, never
    before the data begins) by the exact conditional test of two Poisson rates: if the rate has not changed,
    ``x`` given ``x + y`` is Binomial(x + y, 1 / (h + 1)), and p = P(X >= x). Unlike a test against the
    history's mean taken as known, it allows for a quiet history being quiet by chance. A region has
    thousands of place-topic groups,
    so the groups with ``x >= min_posts`` are tested together and listed when their Benjamini-Hochberg
    q-value is below ``fdr`` (the expected share of false alarms in the list). Rows carry ``p_value``,
    ``q_value`` and ``posts`` (the post numbers of :func:`posts_frame`), sorted by p."""
    pd = _pandas()
    keys = _check_by(by)
    df = _frame(data)
    df = df[df["when"].notna() & df["needs_reply"]].drop_duplicates(["post", *keys]).copy()
    # missing keys (no settlement named) as a marker: NaN never equals itself, so its history would be lost
    df[keys] = df[keys].astype("object").where(df[keys].notna(), _MISSING)
    cols = [*keys, "period", "reply_posts", "baseline", "ratio", "p_value", "q_value", "posts"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    df["period"] = _periods(df["when"], freq)
    first = df["period"].min()
    target = df["period"].max() if period is None else pd.Period(period, freq=freq)
    now = df[df["period"] == target]
    span = min(history, (target - first).n)
    if span <= 0 or now.empty:
        return pd.DataFrame(columns=cols)
    past = df[(df["period"] < target) & (df["period"] >= target - span)]
    hist = past.groupby(keys).size()
    tested = []
    for key, grp in now.groupby(keys):
        key = key if isinstance(key, tuple) else (key,)
        x = len(grp)
        if x < min_posts:
            continue
        total = int(hist.get(key if len(key) > 1 else key[0], 0))
        named = {k: None if v == _MISSING else v for k, v in zip(keys, key, strict=True)}
        tested.append({**named, "period": target.start_time, "reply_posts": x, "baseline": round(total / span, 3),
                       "ratio": round(x * span / total, 2) if total else None,
                       "p_value": _binomial_sf(x, x + total, 1 / (span + 1)), "q_value": 1.0,
                       "posts": sorted(grp["post"].tolist())})
    tested.sort(key=lambda r: r["p_value"])
    q = 1.0
    for rank in range(len(tested), 0, -1):  # Benjamini-Hochberg step-up
        q = min(q, tested[rank - 1]["p_value"] * len(tested) / rank)
        tested[rank - 1]["q_value"] = q
    rows = [r for r in tested if r["q_value"] < fdr]
    return pd.DataFrame(rows, columns=cols).sort_values(["p_value", "reply_posts"], ascending=[True, False],
                                                        kind="stable").reset_index(drop=True)
