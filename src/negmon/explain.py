"""Reasons for a decision by occlusion: the phrases whose removal lowers the score the most.

A post is cut into phrases (clauses between punctuation, long clauses into windows of at most four words).
Each phrase is removed in turn and the post is scored again, all variants in one batch; a phrase's weight is
the drop of the needs_reply score (for posts flagged as needing a reply) or of the predicted topic's
probability. The reasons are the phrases with the largest positive drops, with their offsets in the original
text. This measures the model itself (faithful by construction).

The cost is bounded whatever the length of the post: only the text the model sees takes part (a transformer
reads its first ``max_tokens`` tokens; the variants are cut there too and compared with the score of the cut
text), and at most ``MAX_PHRASES`` phrases are tried; where the text read is longer than ``FULL_DETAIL_CHARS``
fewer are (down to ``MIN_PHRASES``, neighbours merged into longer phrases), so an explanation costs one batch of
at most ``MAX_PHRASES + 1`` posts of bounded length, shared by all heads.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from negmon.normalize import Normalized, normalize
from negmon.result import Reason

__all__ = ["MAX_PHRASES", "explain", "phrase_cap", "phrases", "reasons"]

_BREAKS = {",", ".", "!", "?", ";", ":", "—", "–", "-", "(", ")", "«", "»", '"', "...", "!!!", "???", "\n"}
MAX_WORDS = 4
MAX_PHRASES = 24
MIN_PHRASES = 4
FULL_DETAIL_CHARS = 600  # up to this many characters read, every phrase is tried (at most MAX_PHRASES)


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


def phrase_cap(chars: int) -> int:
    """How many phrases are tried for a post of which the model reads ``chars`` characters: ``MAX_PHRASES`` up
    to ``FULL_DETAIL_CHARS``, then fewer, falling with the 4.5th power of the length (down to ``MIN_PHRASES``
    from about 880 characters, about what a 256-token encoder reads), so the re-scored text stays bounded."""
    if chars <= FULL_DETAIL_CHARS:
        return MAX_PHRASES
    return max(MIN_PHRASES, int(MAX_PHRASES * (FULL_DETAIL_CHARS / chars) ** 4.5))


def _bounded(spans: list[tuple[int, int]], cap: int) -> list[tuple[int, int]]:
    if len(spans) <= cap:
        return spans
    size = -(-len(spans) // cap)
    return [(spans[k][0], spans[min(k + size, len(spans)) - 1][1]) for k in range(0, len(spans), size)]


def explain(model: Any, n: Normalized, probs: dict[str, np.ndarray], targets: list[tuple[str, int, int]],
            *, min_drop: float = 0.1) -> tuple[Reason, ...]:
    """Reasons for several ``(head, label_index, top)`` targets from one batch of occluded variants.

    Phrases are ranked by the drop of the score's log-odds (a near-certain score still shows which phrase
    carries it); ``Reason.weight`` is the drop of the probability itself. A phrase that explains several
    targets is given once, for the first of them.
    """
    visible = getattr(model, "visible_chars", None)
    limit = min(len(n.text), visible(n)) if visible is not None else len(n.text)
    spans = [(a, min(b, limit)) for a, b in phrases(n) if a < limit]
    spans = _bounded(spans, phrase_cap(limit))
    if len(spans) < 2:
        return ()
    text = n.text[:limit]
    variants = [normalize(text[:a] + " " + text[b:]) for a, b in spans]
    if limit < len(n.text):
        variants.append(normalize(text))  # the base: what the model read of the post
    scores = model.predict(variants)
    found: dict[tuple[int, int], Reason] = {}
    for head, label_index, top in targets:
        col = scores[head][:, label_index]
        base = float(col[-1]) if limit < len(n.text) else float(probs[head][label_index])
        drops = _logit(base) - _logit(col[: len(spans)])
        for i in np.argsort(-drops, kind="stable")[:top]:
            if drops[i] < min_drop:
                break
            a, b = spans[int(i)]
            st, en = n.source_span(a, b)
            weight = round(base - float(col[i]), 4)
            found.setdefault((st, en), Reason(text=n.source[st:en], start=st, end=en, weight=weight, head=head))
    return tuple(sorted(found.values(), key=lambda r: r.start))


def reasons(model: Any, n: Normalized, probs: dict[str, np.ndarray], *, head: str, label_index: int,
            top: int = 3, min_drop: float = 0.1) -> tuple[Reason, ...]:
    """The phrases of ``n`` that drive ``probs[head][label_index]`` the most, as :class:`Reason` objects."""
    return explain(model, n, probs, [(head, label_index, top)], min_drop=min_drop)
