"""A team's own labelled posts and label names: read them, hold out dev, and fix each head's labels.

The files are read with negmon's batch readers (:func:`negmon.io.read_rows`): CSV, TSV, JSONL or Parquet
(``.gz`` too) and folders saved by Hugging Face ``datasets``. A row that cannot be read or carries a label
outside the declared list stops training with its file, line and reason: a model trained on silently dropped
rows would be measured on data it never saw the shape of.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from pathlib import Path
from typing import Any

from negmon.errors import InputError
from negmon.model import HEADS
from negmon.train.config import FIXED_LABELS, DataConfig, TrainConfig
from negmon.train.data import SENTIMENTS, TOPICS

__all__ = ["BUILTIN_LABELS", "apply_schema", "gather", "label_schema", "load_own", "own_records"]

Record = dict[str, Any]

BUILTIN_LABELS: dict[str, list[str]] = {"sentiment": list(SENTIMENTS), "topic": list(TOPICS), **FIXED_LABELS}
_YES = {"1", "true", "yes", "да", "y"}
_NO = {"0", "false", "no", "нет", "n"}
_SHOWN = 5
log = logging.getLogger("negmon.train")


def _bool(v: Any) -> bool | None:
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, float) and v != v:
        return None
    s = str(v).strip().lower()
    if s == "":
        return None
    if s in _YES:
        return True
    if s in _NO:
        return False
    raise ValueError(f"needs_reply must be yes/no (true/false, 1/0, да/нет), got {v!r}")


def _label(v: Any) -> str | None:
    if v is None or (isinstance(v, float) and v != v):
        return None
    s = str(v).strip()
    return s or None


def load_own(paths: list[str], *, text_field: str = "text", label_fields: dict[str, str] | None = None,
             tag: str = "train") -> list[Record]:
    """Records of the user's files (every head they label; None where a cell is empty)."""
    from negmon.io import read_rows

    fields = {h: (label_fields or {}).get(h, h) for h in HEADS}
    out: list[Record] = []
    bad: list[str] = []
    n_bad = 0
    for path in paths:
        if not Path(path).exists():
            raise InputError(f"[data] names {path}, which does not exist")
        for row in read_rows(path, text_field=text_field):
            where = f"{row.file}:{row.line}"
            try:
                if row.post is None:
                    raise ValueError(row.error or "unreadable row")
                text = row.post[text_field]
                rec: Record = {"text": text, "source": f"own/{tag}", "file": Path(path).name, "line": row.line}
                for h, col in fields.items():
                    v = row.post.get(col)
                    rec[h] = _bool(v) if h == "needs_reply" else _label(v)
                if rec["priority"] is not None and rec["priority"] not in FIXED_LABELS["priority"]:
                    raise ValueError(f"priority must be normal or urgent, got {rec['priority']!r}")
            except ValueError as e:
                n_bad += 1
                if len(bad) < _SHOWN:
                    bad.append(f"{where}: {e}")
                continue
            out.append(rec)
    if n_bad:
        raise InputError(f"{n_bad} row(s) of your data could not be used:\n  " + "\n  ".join(bad)
                         + ("\n  ..." if n_bad > _SHOWN else ""))
    if not out:
        raise InputError(f"no rows in {paths}")
    return out


def _split(records: list[Record], share: float, seed: int, heads: list[str]) -> tuple[list[Record], list[Record]]:
    """Hold out ``share`` of the records, stratified by the first labelled head's label."""
    rng = random.Random(seed)
    groups: dict[Any, list[Record]] = {}
    for r in records:
        key = next(((h, r[h]) for h in heads if r.get(h) is not None), None)
        groups.setdefault(key, []).append(r)
    train: list[Record] = []
    dev: list[Record] = []
    for key in sorted(groups, key=str):
        rows = groups[key]
        rng.shuffle(rows)
        k = round(len(rows) * share) if len(rows) > 1 else 0
        dev += rows[:k]
        train += rows[k:]
    return train, dev


def own_records(dc: DataConfig, seed: int) -> tuple[list[Record], list[Record]]:
    """(train, dev) of the user's data: ``dev_files`` as dev, or a stratified ``dev_share`` of ``files``."""
    if not dc.files:
        return [], []
    train = load_own(dc.files, text_field=dc.text_field, label_fields=dc.label_fields, tag="train")
    if dc.dev_files:
        return train, load_own(dc.dev_files, text_field=dc.text_field, label_fields=dc.label_fields, tag="dev")
    labelled = [h for h in ("topic", "sentiment", "needs_reply", "priority") if any(r[h] is not None for r in train)]
    train, dev = _split(train, dc.dev_share, seed, labelled)
    for r in dev:
        r["source"] = "own/dev"
    return train, dev


def label_schema(dc: DataConfig, own: list[Record], heads: list[str]) -> dict[str, list[str]]:
    """Each head's label names, in the order the model's outputs take: ``[data] labels``, else the names the
    user's files give (sorted), else the built-in ones."""
    schema: dict[str, list[str]] = {}
    for h in HEADS:
        if h not in heads:
            continue
        if h in dc.labels:
            schema[h] = list(dc.labels[h])
        elif h in FIXED_LABELS or not any(r.get(h) is not None for r in own):
            schema[h] = list(BUILTIN_LABELS[h])
        else:
            schema[h] = sorted({r[h] for r in own if r.get(h) is not None})
            if len(schema[h]) < 2:
                raise InputError(f"your data gives {h} a single label {schema[h]}: a head needs two or more")
    return schema


def apply_schema(records: list[Record], schema: dict[str, list[str]], *, strict: bool) -> list[Record]:
    """``records`` with each multi-class label checked against ``schema``. ``strict`` (the user's own rows)
    raises on a label outside it, naming the rows; otherwise (built-in data) such a label is dropped."""
    out = []
    unknown: Counter[tuple[str, str]] = Counter()
    where: dict[tuple[str, str], str] = {}
    for r in records:
        fixed = r
        for h in ("sentiment", "topic"):
            v = r.get(h)
            if v is None or (h in schema and v in schema[h]):
                continue
            if strict and h in schema:
                unknown[(h, v)] += 1
                where.setdefault((h, v), f"{r.get('file', '?')}:{r.get('line', '?')}")
            fixed = {**fixed, h: None}
        out.append(fixed)
    if unknown:
        shown = "; ".join(f"{h} {v!r} x{n} (first at {where[(h, v)]})" for (h, v), n in unknown.most_common(_SHOWN))
        raise InputError(f"labels outside [data] labels: {shown}; add them to the list or fix the rows")
    return out


def gather(cfg: TrainConfig, heads: list[str]) -> tuple[list[Record], list[Record], dict[str, list[str]]]:
    """(train, dev, label schema) for a config: the built-in data it asks for and the user's own files, every
    label checked against the schema; heads that the training data labels with fewer than two labels are
    left out of the schema."""
    from negmon.train import data as D

    dc = cfg.data
    train: list[Record] = []
    dev: list[Record] = []
    if dc.corpus or dc.sentiment_sets or dc.real:
        train, dev = D.training_records(
            dc.sentiment_sets, corpus=dc.corpus, corpus_folder=Path(dc.corpus_folder) if dc.corpus_folder else None,
            other_from_sentiment=dc.other_from_sentiment, seed=dc.seed, real=dc.real,
            corpus_exclude=dc.corpus_exclude)
    own_train, own_dev = own_records(dc, dc.seed)
    schema = label_schema(dc, own_train + own_dev, heads)
    train = apply_schema(train, schema, strict=False) + apply_schema(own_train, schema, strict=True)
    dev = apply_schema(dev, schema, strict=False) + apply_schema(own_dev, schema, strict=True)
    if not train:
        raise InputError("the config gives no training data: set [data] files, corpus or sentiment_sets")
    for h in list(schema):
        seen = {r[h] for r in train if r.get(h) is not None and (h != "priority" or r.get("needs_reply"))}
        if len(seen) < 2:
            log.warning("head %s left out: its training rows have %d label(s)", h, len(seen))
            del schema[h]
    if not schema:
        raise InputError("no head has training rows with two or more labels")
    if own_train:
        random.Random(cfg.seed).shuffle(train)
    return train, dev, schema
