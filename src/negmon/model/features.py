"""Hashed n-gram features of a normalized post, shared by training and inference of the linear tier.

Features: word unigrams and bigrams on ``Token.norm``, character n-grams inside words (with ``<``/``>``
word boundaries), emoji, and post flags (``caps``, ``obscenity``, ``translit``...). Each is hashed with
CRC-32 into ``dim`` buckets (deterministic across processes, unlike ``hash()``), counted, sublinear-scaled,
multiplied by IDF and L2-normalized: TF-IDF on hashed n-grams.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from negmon.normalize import Normalized

__all__ = ["FeatureConfig", "featurize", "featurize_counts"]


@dataclass(frozen=True)
class FeatureConfig:
    """Parameters of the featurizer; stored in a linear model's ``meta.json``."""

    dim: int = 1 << 18
    char_min: int = 2
    char_max: int = 5
    word_bigrams: bool = True

    def __post_init__(self) -> None:
        if self.dim <= 0 or self.dim & (self.dim - 1):
            raise ValueError(f"dim must be a positive power of two, got {self.dim}")
        if not 1 <= self.char_min <= self.char_max:
            raise ValueError(f"need 1 <= char_min <= char_max, got {self.char_min}, {self.char_max}")


def _h(s: str) -> int:
    return zlib.crc32(s.encode("utf-8"))


@lru_cache(maxsize=200_000)
def _word_hashes(norm: str, cmin: int, cmax: int) -> tuple[int, ...]:
    out = [_h("w:" + norm)]
    if norm.isalpha():
        w = f"<{norm}>"
        n = len(w)
        out += [_h("c:" + w[i : i + k]) for k in range(cmin, cmax + 1) for i in range(n - k + 1)]
    return tuple(out)


def _raw_hashes(n: Normalized, cfg: FeatureConfig) -> list[int]:
    hs: list[int] = []
    prev = "<s>"
    for t in n.tokens:
        if t.kind == "punct" and t.norm not in ("!", "?", "!!!", "???"):
            continue
        hs += _word_hashes(t.norm, cfg.char_min, cfg.char_max)
        if cfg.word_bigrams:
            hs.append(_h(f"b:{prev} {t.norm}"))
        prev = t.norm
        if t.caps:
            hs.append(_h("f:caps_word"))
    hs += [_h("f:" + f) for f in sorted(n.flags)]
    e = n.emoji_sentiment
    if e:
        hs.append(_h("f:emoji_pos" if e > 0 else "f:emoji_neg"))
    return hs


def featurize_counts(n: Normalized, cfg: FeatureConfig) -> tuple[np.ndarray, np.ndarray]:
    """Bucket indices and sublinear term frequencies (``1 + log(count)``) of one post, sorted by index."""
    mask = cfg.dim - 1
    idx = np.fromiter(_raw_hashes(n, cfg), dtype=np.int64) & mask
    if not idx.size:
        return idx.astype(np.int32), np.zeros(0, np.float32)
    uniq, counts = np.unique(idx, return_counts=True)
    return uniq.astype(np.int32), (1.0 + np.log(counts)).astype(np.float32)


def featurize(n: Normalized, cfg: FeatureConfig, idf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """TF-IDF features of one post as (indices, L2-normalized values)."""
    idx, tf = featurize_counts(n, cfg)
    v = tf * idf[idx]
    norm = float(np.sqrt(v @ v))
    return idx, (v / norm if norm else v)
