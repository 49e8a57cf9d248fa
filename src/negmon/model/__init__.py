"""Model artifacts and their inference backends (loaded lazily by :class:`negmon.Classifier`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np

from negmon.errors import ModelError
from negmon.model.artifact import read_meta, resolve
from negmon.normalize import Normalized

__all__ = ["HEADS", "Model", "decide", "fuse", "head_slices", "load_model", "partner_weights", "softmax"]

HEADS = ("sentiment", "topic", "needs_reply", "priority")


class Model(Protocol):
    """What the classifier needs from a backend: calibrated probabilities per head for a batch of posts."""

    meta: dict[str, Any]
    folder: Path

    def predict(self, posts: list[Normalized]) -> dict[str, np.ndarray]:
        """Probabilities per head, shape (len(posts), len(labels of the head))."""
        ...


def head_slices(heads: dict[str, Any]) -> dict[str, slice]:
    """The columns of each head in a model's concatenated logits, in ``meta.json["heads"]`` order."""
    out: dict[str, slice] = {}
    col = 0
    for head, spec in heads.items():
        out[head] = slice(col, col + len(spec["labels"]))
        col += len(spec["labels"])
    return out


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of ``logits / temperature`` in float64 for stable probabilities."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def fuse(p: np.ndarray, q: np.ndarray, weight: float) -> np.ndarray:
    """Late fusion of two models' probabilities for one head: the weighted geometric mean, renormalized
    (``weight`` for ``q``)."""
    z = (1 - weight) * np.log(np.maximum(p, 1e-12)) + weight * np.log(np.maximum(q, 1e-12))
    return softmax(z)


def partner_weights(ensemble: dict[str, Any]) -> dict[str, float]:
    """The partner's weight per fused head of ``meta.json["ensemble"]``: ``weights[head]``, else ``weight``."""
    per_head = ensemble.get("weights", {})
    return {h: float(per_head.get(h, ensemble["weight"])) for h in ensemble.get("heads", ())}


def decide(
    reply: np.ndarray, urgent: np.ndarray | None, thresholds: dict[str, float], meta: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray]:
    """The decision rule: (needs_reply, urgent) as boolean arrays from the reply and urgent probabilities.

    A post needs a reply when its reply score reaches ``thresholds["needs_reply"]``; it is urgent when it needs
    a reply and its urgent score reaches ``thresholds["urgent"]``. For models whose ``meta.json`` says
    ``"decision": {"urgent_implies_reply": true}`` (their priority head learned urgent against every other
    post, not only against normal replies) an urgent score over its threshold flags the post by itself, so
    urgency never hangs on the reply head.
    """
    reply = np.asarray(reply, dtype=np.float64)
    flagged = reply >= thresholds.get("needs_reply", 0.5)
    if urgent is None:
        return flagged, np.zeros_like(flagged)
    hot = np.asarray(urgent, dtype=np.float64) >= thresholds.get("urgent", 0.5)
    if meta.get("decision", {}).get("urgent_implies_reply"):
        flagged = flagged | hot
    return flagged, flagged & hot


def load_model(name_or_path: str | Path, *, verify: bool = True) -> Model:
    """Load a model folder (or a bundled id/alias) with the backend its ``meta.json`` names."""
    folder = resolve(name_or_path)
    meta = read_meta(folder, verify=verify)
    kind = meta["kind"]
    if kind == "linear":
        from negmon.model.linear import LinearModel

        return LinearModel(folder, meta)
    if kind == "transformer":
        from negmon.model.transformer import TransformerModel

        return TransformerModel(folder, meta)
    raise ModelError(f"model {meta['id']}: unknown kind {kind!r} (expected 'linear' or 'transformer')")
