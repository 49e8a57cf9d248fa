"""Score extracted localities against gold annotations (used by tests and benchmarks/localities.py).

A prediction is correct when its span overlaps a gold span and its name equals the gold name (case and
ё/е ignored); region accuracy is the share of correct names whose region equals the gold region.

>>> score([[{"start": 2, "end": 8, "name": "Кстово", "region": "Нижегородская область"}]],
...       [[{"start": 2, "end": 8, "name": "кстово", "region": "Нижегородская область", "surface": "Кстово"}]])["f1"]
1.0
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

__all__ = ["SETTLEMENT_KINDS", "score"]


def _norm(s: str | None) -> str:
    return (s or "").lower().replace("ё", "е").strip()


# the kinds the first locality sets annotate; parts of cities came later and are not marked there
SETTLEMENT_KINDS = frozenset({"region", "city", "town", "village", "district"})


def score(
    gold: Sequence[Sequence[Mapping[str, Any]]],
    pred: Sequence[Sequence[Mapping[str, Any]]],
    *,
    kinds: Collection[str] | None = None,
) -> dict[str, Any]:
    """Precision, recall, F1 of names and region accuracy, with the list of errors (kind, post, surface, name).

    ``kinds`` limits the predictions scored to the kinds the gold set annotates (e.g. :data:`SETTLEMENT_KINDS`
    for a set written before parts of cities were annotated)."""
    tp = fp = fn = region_ok = 0
    errors: list[tuple[str, int, str, str]] = []
    if kinds is not None:
        pred = [[x for x in p if x.get("kind") in kinds] for p in pred]
    for i, (g, p) in enumerate(zip(gold, pred, strict=True)):
        used: set[int] = set()
        for x in p:
            hit = next(
                (
                    j
                    for j, y in enumerate(g)
                    if j not in used
                    and x["start"] < y["end"]
                    and y["start"] < x["end"]
                    and _norm(x["name"]) == _norm(y["name"])
                ),
                None,
            )
            if hit is None:
                fp += 1
                errors.append(("fp", i, str(x.get("surface", "")), str(x["name"])))
            else:
                used.add(hit)
                tp += 1
                region_ok += x.get("region") == g[hit].get("region")
        for j, y in enumerate(g):
            if j not in used:
                fn += 1
                errors.append(("fn", i, str(y.get("surface", "")), str(y["name"])))
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    return {
        "precision": prec,
        "recall": rec,
        "f1": 2 * prec * rec / (prec + rec) if prec + rec else 0.0,
        "region_accuracy": region_ok / tp if tp else 0.0,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "errors": errors,
    }
