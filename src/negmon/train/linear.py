"""Train the fast tier: hashed TF-IDF n-grams + logistic regression per head, packed as safetensors + JSON."""

from __future__ import annotations

import json
import logging
import random
import shutil
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from negmon.model.features import FeatureConfig, featurize_counts
from negmon.normalize import normalize
from negmon.train import data as D
from negmon.train.calibrate import (
    decision_meta,
    decision_slices,
    fit_temperature,
    round_down,
    threshold_for_recall,
    thresholds_on_slices,
)
from negmon.train.config import TrainConfig
from negmon.train.own import BUILTIN_LABELS, gather

__all__ = ["HEAD_LABELS", "head_targets", "select_logistic", "train_linear"]

log = logging.getLogger("negmon.train")

HEAD_LABELS = BUILTIN_LABELS


def head_targets(records: list[dict[str, Any]], head: str, *, urgent_vs_all: bool = False,
                 labels: list[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(row indices, class ids) of the records labelled for ``head`` (class ids index ``labels``, the built-in
    label names by default; a label outside them is no label); priority only for needs_reply posts, unless
    ``urgent_vs_all``: then a post that needs no reply is a priority row too, as not urgent."""
    rows, ys = [], []
    names = {lab: k for k, lab in enumerate(labels or HEAD_LABELS[head])}
    for i, r in enumerate(records):
        if head in ("sentiment", "topic") and r.get(head) in names:
            rows.append(i)
            ys.append(names[r[head]])
        elif head == "needs_reply" and r.get("needs_reply") is not None:
            rows.append(i)
            ys.append(int(r["needs_reply"]))
        elif head == "priority" and r.get("needs_reply") and r.get("priority"):
            rows.append(i)
            ys.append(int(r["priority"] == "urgent"))
        elif head == "priority" and urgent_vs_all and r.get("needs_reply") is False:
            rows.append(i)
            ys.append(0)
    return np.array(rows, dtype=np.int64), np.array(ys, dtype=np.int64)


def _counts_matrix(texts: list[str], cfg: FeatureConfig) -> Any:
    from scipy.sparse import csr_matrix

    indptr = [0]
    indices: list[np.ndarray] = []
    values: list[np.ndarray] = []
    for t in texts:
        idx, tf = featurize_counts(normalize(t[:20_000]), cfg)
        indices.append(idx)
        values.append(tf)
        indptr.append(indptr[-1] + len(idx))
    return csr_matrix(
        (
            np.concatenate(values) if values else np.zeros(0, np.float32),
            np.concatenate(indices) if indices else np.zeros(0, np.int32),
            np.array(indptr),
        ),
        shape=(len(texts), cfg.dim),
        dtype=np.float32,
    )


def _tfidf(counts: Any, idf: np.ndarray) -> Any:
    from sklearn.preprocessing import normalize as l2

    return l2(counts.multiply(idf[None, :]).tocsr(), norm="l2", copy=False)


def select_logistic(X: Any, y: np.ndarray, Xd: Any, dy: np.ndarray, Cs: Any, *, max_iter: int = 3000,
                    class_weight: str | None = "balanced", name: str = "") -> tuple[float, float, Any]:
    """Fit a logistic regression per C in ``Cs``; return (dev macro-F1, C, model) of the best on (Xd, dy)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score

    best = None
    for C in Cs:
        clf = LogisticRegression(C=C, max_iter=max_iter, class_weight=class_weight).fit(X, y)
        s = float(f1_score(dy, clf.predict(Xd), average="macro")) if len(dy) else 0.0
        log.info("%s C=%g dev macro-F1 %.4f", name, C, s)
        if best is None or s > best[0]:
            best = (s, C, clf)
    if best is None:
        raise ValueError("select_logistic needs at least one C")
    return best


def train_linear(cfg: TrainConfig) -> Path:
    """Train every head the data labels, calibrate on dev, and write the model folder ``cfg.out``."""

    t0 = time.time()
    random.seed(cfg.seed)
    np.random.seed(cfg.seed)
    lc = cfg.linear
    train, dev, schema = gather(cfg, lc.heads)
    train = (train + [r for r in train if D.is_realistic(r)] * max(0, lc.realistic_repeat - 1)
             + [r for r in train if r["source"].startswith("real/")] * max(0, lc.real_repeat - 1))
    log.info("training records: %d, dev records: %d", len(train), len(dev))
    fc = FeatureConfig(dim=cfg.linear.dim, char_min=cfg.linear.char_min, char_max=cfg.linear.char_max)
    Xc = _counts_matrix([r["text"] for r in train], fc)
    df = np.bincount(Xc.indices, minlength=fc.dim)
    idf = (np.log((1 + Xc.shape[0]) / (1 + df)) + 1).astype(np.float32)
    X = _tfidf(Xc, idf)
    Xd = _tfidf(_counts_matrix([r["text"] for r in dev], fc), idf)
    log.info("features: %s train, %s dev (%.0fs)", X.shape, Xd.shape, time.time() - t0)

    heads: dict[str, Any] = {}
    Ws, bs = [], []
    thresholds: dict[str, float] = {}
    selection: dict[str, Any] = {}
    dev_p1: dict[str, np.ndarray] = {}
    for head, labels in schema.items():
        rows, y = head_targets(train, head, urgent_vs_all=lc.urgent_vs_all, labels=labels)
        drows, dy = head_targets(dev, head, urgent_vs_all=lc.urgent_vs_all, labels=labels)
        if len(set(y.tolist())) < 2:
            continue
        score, C, clf = select_logistic(X[rows], y, Xd[drows], dy, cfg.linear.C, max_iter=cfg.linear.max_iter,
                                        class_weight=cfg.linear.class_weight, name=head)
        k = len(labels)
        W = np.zeros((fc.dim, k), np.float32)
        b = np.zeros(k, np.float32)
        if k == 2 and clf.coef_.shape[0] == 1:  # binary: one weight vector for class 1
            W[:, 1] = clf.coef_[0]
            b[1] = clf.intercept_[0]
        else:
            W[:, clf.classes_] = clf.coef_.T
            b[clf.classes_] = clf.intercept_
        T = 1.0
        if len(drows):
            dlogits = (Xd[drows] @ W) + b
            T = fit_temperature(dlogits, dy)
            if head in ("needs_reply", "priority"):
                z = ((Xd @ W) + b) / T  # every dev row: the urgent rule scores posts of both classes
                p1 = 1 / (1 + np.exp(-(z[:, 1] - z[:, 0])))
                dev_p1[head] = p1
                if not lc.urgent_vs_all:  # else both come from thresholds_on_slices below
                    name = "needs_reply" if head == "needs_reply" else "urgent"
                    thresholds[name] = threshold_for_recall(p1[drows], dy, 0.95 if head == "needs_reply" else 0.9)
        heads[head] = {"labels": labels, "temperature": round(T, 4)}
        selection[head] = {
            "C": C,
            "dev_macro_f1": round(score, 4),
            "train_rows": len(rows),
            "dev_rows": len(drows),
        }
        Ws.append(W)
        bs.append(b)

    decision = None
    if lc.urgent_vs_all and len(dev_p1) == 2:
        y_reply = np.array([-1 if r.get("needs_reply") is None else int(r["needs_reply"]) for r in dev])
        y_urgent = np.array([int(r.get("priority") == "urgent") if r.get("needs_reply") else -1 for r in dev])
        slices = decision_slices(dev)
        thresholds = thresholds_on_slices(dev_p1["needs_reply"], y_reply, dev_p1["priority"], y_urgent,
                                          list(slices.values()), lc.reply_recall, lc.urgent_recall)
        decision = decision_meta(slices, any(r["source"].startswith("real/") for r in dev), lc.reply_recall,
                                 lc.urgent_recall)

    out = Path(cfg.out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    from safetensors.numpy import save_file

    save_file(
        {
            "W": np.concatenate(Ws, 1).astype(np.float16),
            "b": np.concatenate(bs).astype(np.float32),
            "idf": idf,
        },
        str(out / "weights.safetensors"),
        metadata={"format": "negmon-linear"},
    )
    meta = {
        "id": cfg.id,
        "aliases": cfg.aliases,
        "kind": "linear",
        "heads": heads,
        "thresholds": {k: round_down(v) for k, v in thresholds.items()},
        "features": asdict(fc),
        "max_chars": 20_000,
        **({"decision": decision} if decision else {}),
        "training": {
            "config": json.loads(json.dumps(asdict(cfg.data))),
            "linear": asdict(cfg.linear),
            "selection": selection,
            "train_rows": len(train),
            "seconds": round(time.time() - t0, 1),
        },
    }
    from negmon.train.card import finish_model

    finish_model(out, meta, ["weights.safetensors"], [r for r in dev if r["source"].startswith("own/")],
                 [r for r in train if r["source"].startswith("own/")])
    log.info("wrote %s in %.0fs", out, time.time() - t0)
    return out
