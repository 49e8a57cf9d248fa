"""Evaluate a model on a labelled set: per-head accuracy, macro-F1, per-class P/R/F1, ECE, confusion matrix.

``negmon evaluate MODEL DATA --out DIR`` writes ``DIR/metrics.json`` and PNG plots. DATA is a named set
(``rusentiment-test``, ``rusentitweet-test``, ``sentirueval-test``, ``corpus-dev``; ``corpus-dev-realistic``:
its posts written the way residents write, batch 3 and the counterfactual rewrites; ``real-dev``: the dev half
of the labelled real posts of ../shared/data; ``blind``: the blind realistic set, never trained or tuned on), a
CSV/TSV/JSONL/Parquet file or a folder saved by ``datasets`` with a ``text`` column and any of the label
columns ``sentiment``, ``topic``, ``needs_reply``, ``priority`` (``--text-field`` and ``--label-field
topic=category`` name other columns). A head is measured on the rows whose label is one of the model's.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from negmon.errors import InputError
from negmon.train import data as D

__all__ = ["NAMED_SETS", "evaluate", "expected_calibration_error", "head_metrics", "load_eval_set", "main"]

NAMED_SETS = {
    "rusentiment-test": lambda: D.load_rusentiment("test"),
    "rusentitweet-test": lambda: D.load_rusentitweet("test"),
    "sentirueval-test": lambda: D.load_sentirueval("test"),
    "corpus-dev": lambda: D.load_corpus("dev"),
    "corpus-dev-realistic": lambda: [r for r in D.load_corpus("dev") if D.is_realistic(r)],
    "real-dev": lambda: _real("dev"),
    "blind": lambda: D.load_corpus(folder=D.REPO / "corpus" / "blind", pattern="blind_*.jsonl"),
}


def _real(split: str) -> list[dict[str, Any]]:
    from negmon.train.real import load_real

    return load_real(split)


def load_eval_set(name_or_path: str, *, text_field: str = "text",
                  label_fields: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Records of a named set, or of a CSV/TSV/JSONL/Parquet file or a folder saved by ``datasets`` whose
    ``text_field`` column holds the text and whose label columns are named after the heads (or as
    ``label_fields`` maps them: ``{"topic": "category"}``)."""
    if name_or_path in NAMED_SETS:
        return NAMED_SETS[name_or_path]()
    p = Path(name_or_path)
    if not p.exists():
        raise InputError(f"{name_or_path!r} is neither a named set ({', '.join(NAMED_SETS)}) nor a file or folder")
    from negmon.train.own import load_own

    return load_own([str(p)], text_field=text_field, label_fields=label_fields, tag="eval")


def expected_calibration_error(conf: np.ndarray, correct: np.ndarray, bins: int = 15) -> float:
    """ECE with equal-width confidence bins: sum over bins of |accuracy - confidence| * share of samples."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    ece = 0.0
    for lo, hi in itertools.pairwise(edges):
        m = (conf > lo) & (conf <= hi)
        if m.any():
            ece += abs(float(correct[m].mean()) - float(conf[m].mean())) * float(m.mean())
    return ece


def head_metrics(y_true: Sequence[str], probs: np.ndarray, labels: Sequence[str]) -> dict[str, Any]:
    """Metrics of one head from gold labels and predicted probabilities (columns follow ``labels``)."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

    labels = list(labels)
    pred = [labels[i] for i in probs.argmax(1)]
    present = [lab for lab in labels if lab in set(y_true)]
    p, r, f, s = precision_recall_fscore_support(y_true, pred, labels=present, zero_division=0)
    conf = probs.max(1)
    correct = np.array([a == b for a, b in zip(y_true, pred, strict=True)], dtype=float)
    return {
        "n": len(y_true),
        "accuracy": float(accuracy_score(y_true, pred)),
        "macro_f1": float(f1_score(y_true, pred, labels=present, average="macro", zero_division=0)),
        "per_class": {
            lab: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
            for i, lab in enumerate(present)
        },
        "ece": expected_calibration_error(conf, correct),
        "labels": labels,
        "confusion": confusion_matrix(y_true, pred, labels=labels).tolist(),
    }


def _binary(y: Sequence[bool], score: np.ndarray, threshold: float, pos: str, neg: str) -> dict[str, Any]:
    from sklearn.metrics import average_precision_score

    pred = score >= threshold
    yt = np.array(y, dtype=bool)
    tp = int((pred & yt).sum())
    fp = int((pred & ~yt).sum())
    fn = int((~pred & yt).sum())
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    probs = np.stack([1 - score, score], 1)
    m = head_metrics([pos if v else neg for v in y], probs, [neg, pos])
    m.update(
        {
            "threshold": threshold,
            "precision": prec,
            "recall": rec,
            "f1": 2 * prec * rec / (prec + rec) if prec + rec else 0.0,
            "average_precision": float(average_precision_score(yt, score))
            if 0 < yt.sum() < len(yt)
            else None,
        }
    )
    # the thresholded decision, not argmax, is what the classifier returns
    m["accuracy"] = float((pred == yt).mean())
    return m


def evaluate(model: Any, records: list[dict[str, Any]], batch_size: int = 64) -> dict[str, Any]:
    """Run ``model`` (a loaded negmon model backend) over ``records`` and compute every head it has."""
    from negmon.normalize import normalize

    heads = model.meta["heads"]
    thresholds = model.meta.get("thresholds", {})
    probs: dict[str, list[np.ndarray]] = {h: [] for h in heads}
    for i in range(0, len(records), batch_size):
        chunk = [normalize(r["text"][:20_000]) for r in records[i : i + batch_size]]
        out = model.predict(chunk)
        for h in heads:
            probs[h].append(out[h])
    P = {h: np.concatenate(v) if v else np.zeros((0, len(heads[h]["labels"]))) for h, v in probs.items()}
    res: dict[str, Any] = {"n": len(records), "heads": {}}
    for h in ("sentiment", "topic"):
        if h in heads:
            known = set(heads[h]["labels"])  # a set labelled in another taxonomy measures only the shared labels
            idx = [i for i, r in enumerate(records) if r.get(h) in known]
            if idx:
                res["heads"][h] = head_metrics([records[i][h] for i in idx], P[h][idx], heads[h]["labels"])
                if skipped := sum(1 for r in records if r.get(h) and r[h] not in known):
                    res["heads"][h]["rows_with_other_labels"] = skipped
    if "topic" in heads:  # the topic of the posts an official must answer, the one routing depends on
        known = set(heads["topic"]["labels"])
        idx = [i for i, r in enumerate(records) if r.get("topic") in known and r.get("needs_reply")]
        if idx:
            res["heads"]["topic_reply"] = head_metrics([records[i]["topic"] for i in idx], P["topic"][idx],
                                                       heads["topic"]["labels"])
    if "needs_reply" in heads:
        idx = [i for i, r in enumerate(records) if r.get("needs_reply") is not None]
        if idx:
            from negmon.model import decide

            reply = P["needs_reply"][idx, 1]
            t = thresholds.get("needs_reply", 0.5)
            flagged, _ = decide(reply, P["priority"][idx, 1] if "priority" in heads else None, thresholds,
                                model.meta)
            # the score of a post flagged by its urgent score alone is lifted to the threshold, so that the
            # thresholded metrics are those of the classifier's decision
            res["heads"]["needs_reply"] = _binary(
                [records[i]["needs_reply"] for i in idx],
                np.where(flagged, np.maximum(reply, t), reply),
                t,
                "yes",
                "no",
            )
    if "priority" in heads:
        idx = [i for i, r in enumerate(records) if r.get("needs_reply") and r.get("priority")]
        if idx:
            res["heads"]["priority"] = _binary(
                [records[i]["priority"] == "urgent" for i in idx],
                P["priority"][idx, 1],
                thresholds.get("urgent", 0.5),
                "urgent",
                "normal",
            )
    return res


def plot(metrics: dict[str, Any], out: Path, title: str) -> list[Path]:
    """Confusion-matrix PNGs, one per head; returns the written paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    for head, m in metrics["heads"].items():
        cm = np.array(m["confusion"], dtype=float)
        labels = m["labels"]
        norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
        size = 3 + 0.45 * len(labels)
        fig, ax = plt.subplots(figsize=(size + 1, size))
        ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
        ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=8)
        ax.set_yticks(range(len(labels)), labels, fontsize=8)
        for i in range(len(labels)):
            for j in range(len(labels)):
                if cm[i, j]:
                    ax.text(
                        j,
                        i,
                        str(int(cm[i, j])),
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="white" if norm[i, j] > 0.5 else "black",
                    )
        ax.set_xlabel("predicted")
        ax.set_ylabel("gold")
        ax.set_title(f"{title}: {head} (macro-F1 {m['macro_f1']:.3f})", fontsize=9)
        fig.tight_layout()
        p = out / f"confusion_{head}.png"
        fig.savefig(p, dpi=110)
        plt.close(fig)
        paths.append(p)
    return paths


def main(model: str, data: str, out: str | None = None, batch_size: int = 64, *, text_field: str = "text",
         label_fields: dict[str, str] | None = None) -> dict[str, Any]:
    """CLI entry: evaluate, print a summary table, write metrics.json and plots into ``out``."""
    from negmon.model import load_model

    backend = load_model(model)
    records = load_eval_set(data, text_field=text_field, label_fields=label_fields)
    m = evaluate(backend, records, batch_size=batch_size)
    m.update({"model": backend.meta["id"], "data": data})
    for head, hm in m["heads"].items():
        extra = f"  P={hm['precision']:.3f} R={hm['recall']:.3f} F1={hm['f1']:.3f}" if "recall" in hm else ""
        print(
            f"{head:12s} n={hm['n']:6d}  acc={hm['accuracy']:.3f}  macro-F1={hm['macro_f1']:.3f}  "
            f"ECE={hm['ece']:.3f}{extra}"
        )
    if out:
        d = Path(out)
        d.mkdir(parents=True, exist_ok=True)
        (d / "metrics.json").write_text(json.dumps(m, ensure_ascii=False, indent=2) + "\n", "utf-8")
        plot(m, d, f"{m['model']} on {data}")
        print(f"wrote {d / 'metrics.json'} and plots")
    return m
