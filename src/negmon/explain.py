"""Reasons for a decision by occlusion: the phrases whose removal lowers the score the most.

A post is cut into phrases (clauses between punctuation, long clauses into windows of at most four words).
Each phrase is removed in turn and the post is scored again, all variants in one batch; a phrase's weight is
the drop of the needs_reply score (for posts flagged as needing a reply) or of the predicted topic's
probability. The reasons are the phrases with the largest positive drops, with their offsets in the original
text. This measures the model itself (faithful by construction), at the cost of one extra batch per post.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from negmon.normalize import Normalized, normalize
from negmon.result import Reason

__all__ = ["phrases", "reasons"]

_BREAKS = {",", ".", "!", "?", ";", ":", "—", "–", "-", "(", ")", "«", "»", '"', "...", "!!!", "???", "\n"}
MAX_WORDS = 4


def phrases(n: Normalized) -> list[tuple[int, int]]:
    """Spans of the normalized text, each a phrase of at most ``MAX_WORDS`` words."""
    out: list[tuple[int, int]] = []
    run: list[Any] = []

    def flush() -> None:
        for k in range(0, len(run), MAX_WORDS):
            part = run[k : k + MAX_WORDS]
            out.append((part[0].start, part[-1].end))
        run.clear()

    for t in n.tokens:
        if t.kind == "punct" and (t.text in _BREAKS or not t.text.isalnum()):
            flush()
        else:
            run.append(t)
    flush()
    return out


def _logit(p: np.ndarray | float) -> np.ndarray:
    q = np.clip(np.asarray(p, dtype=np.float64), 1e-6, 1 - 1e-6)
    return np.log(q / (1 - q))


def reasons(model: Any, n: Normalized, probs: dict[str, np.ndarray], *, head: str, label_index: int,
            top: int = 3, min_drop: float = 0.1) -> tuple[Reason, ...]:
    """The phrases of ``n`` that drive ``probs[head][label_index]`` the most, as :class:`Reason` objects.

    Phrases are ranked by the drop of the score's log-odds (a near-certain score still shows which phrase
    carries it); ``Reason.weight`` is the drop of the probability itself.
    """
    spans = phrases(n)
    if len(spans) < 2:
        return ()
    variants = [normalize(n.text[:a] + " " + n.text[b:]) for a, b in spans]
    base = float(probs[head][label_index])
    scores = model.predict(variants)[head][:, label_index]
    drops = _logit(base) - _logit(scores)
    order = np.argsort(-drops)[:top]
    out = []
    for i in order:
        if drops[i] < min_drop:
            break
        a, b = spans[int(i)]
        s, e = n.source_span(a, b)
        weight = round(base - float(scores[i]), 4)
        out.append(Reason(text=n.source[s:e], start=s, end=e, weight=weight, head=head))
    return tuple(sorted(out, key=lambda r: r.start))
