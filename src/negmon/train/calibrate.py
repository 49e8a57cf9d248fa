"""Calibration on dev data: temperature scaling per head and decision thresholds for the binary heads."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["decision_meta", "decision_slices", "fit_temperature", "threshold_for_recall", "thresholds_on_slices"]


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The temperature T minimising the negative log-likelihood of ``softmax(logits / T)`` on ``y``.

    A golden-section search over log T in [1/20, 20]; NLL is convex in 1/T, so this finds the optimum.
    """
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)

    def nll(log_t: float) -> float:
        s = z / np.exp(log_t)
        s = s - s.max(1, keepdims=True)
        lse = np.log(np.exp(s).sum(1))
        return float((lse - s[np.arange(len(y)), y]).mean())

    lo, hi = np.log(1 / 20), np.log(20)
    g = (np.sqrt(5) - 1) / 2
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    fa, fb = nll(a), nll(b)
    for _ in range(60):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - g * (hi - lo)
            fa = nll(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo)
            fb = nll(b)
    return float(np.exp((lo + hi) / 2))


def round_down(t: float, decimals: int = 4) -> float:
    """``t`` rounded down: a threshold rounded up could drop the very post that set it."""
    f = 10**decimals
    return math.floor(t * f) / f


def threshold_for_recall(scores: np.ndarray, y: np.ndarray, min_recall: float) -> float:
    """The highest threshold whose recall on ``y`` is still >= ``min_recall`` (so the best precision).

    Returns 0.5 when ``y`` has no positives.
    """
    s = np.asarray(scores, dtype=np.float64)
    pos = np.sort(s[np.asarray(y, dtype=bool)])[::-1]
    if not len(pos):
        return 0.5
    k = int(np.ceil(min_recall * len(pos)))
    # every positive scoring >= the k-th best positive is recalled
    return float(pos[max(k, 1) - 1])


def thresholds_on_slices(p_reply: np.ndarray, y_reply: np.ndarray, p_urgent: np.ndarray, y_urgent: np.ndarray,
                         slices: list[np.ndarray], reply_recall: float, urgent_recall: float) -> dict[str, float]:
    """Thresholds for the rule "urgent score over its threshold flags a post by itself".

    All arrays run over the same dev rows: ``y_reply`` is 1, 0 or -1 (no label), ``y_urgent`` is 1 for an
    urgent post, 0 for another post that needs a reply, -1 otherwise. Each threshold is the highest whose recall
    reaches its target on all rows and on each of ``slices`` (boolean masks) that holds positives, rounded down.
    """
    out = {}
    everything = np.ones(len(p_reply), bool)
    for name, score, y, recall in (("needs_reply", p_reply, y_reply, reply_recall),
                                   ("urgent", p_urgent, y_urgent, urgent_recall)):
        rows = y >= 0
        ts = [threshold_for_recall(score[rows & g], y[rows & g], recall)
              for g in [everything, *slices] if (y[rows & g] == 1).any()]
        out[name] = round_down(min(ts)) if ts else 0.5
    return out


def decision_slices(dev: list[dict]) -> dict[str, np.ndarray]:
    """The dev slices whose recall the thresholds must reach beside the whole dev set: the corpus posts written
    the way residents write (``corpus-dev-realistic``). The real slice's dev half counts in the whole dev set;
    alone (49 posts that need a reply) it is too small to hold a recall target of its own."""
    from negmon.train.data import is_realistic

    masks = {"corpus-dev-realistic": np.array([is_realistic(r) for r in dev], bool)}
    return {k: m for k, m in masks.items() if m.any()}


def decision_meta(slices: dict[str, np.ndarray], real_dev: bool, reply_recall: float, urgent_recall: float) -> dict:
    """``meta.json["decision"]`` of a model whose urgent score flags a post by itself."""
    return {
        "urgent_implies_reply": True,
        "thresholds_chosen_on": ["corpus-dev" + (" + real-dev" if real_dev else ""), *slices],
        "needs_reply_recall": reply_recall, "urgent_recall": urgent_recall,
        "rule": "the highest threshold whose recall reaches the target on the whole dev set and on each slice",
    }
