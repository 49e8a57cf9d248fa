"""The fast tier: TF-IDF on hashed n-grams with one linear layer per head (numpy only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from negmon.errors import ModelError
from negmon.model import head_slices, softmax
from negmon.model.features import FeatureConfig, featurize
from negmon.normalize import Normalized

__all__ = ["LinearModel"]


class LinearModel:
    """Weights ``W`` (dim x sum of head sizes), bias ``b`` and ``idf`` from ``weights.safetensors``."""

    def __init__(self, folder: Path, meta: dict[str, Any]) -> None:
        from safetensors.numpy import load_file

        self.folder = folder
        self.meta = meta
        self.config = FeatureConfig(**meta["features"])
        try:
            t = load_file(str(folder / "weights.safetensors"))
        except Exception as e:  # safetensors raises its own error types for damaged headers
            raise ModelError(f"cannot read {folder / 'weights.safetensors'}: {e}") from None
        self.W = np.asarray(t["W"], dtype=np.float32)
        self.b = np.asarray(t["b"], dtype=np.float32)
        self.idf = np.asarray(t["idf"], dtype=np.float32)
        if self.W.shape[0] != self.config.dim or self.idf.shape != (self.config.dim,):
            raise ModelError(f"model {meta['id']}: weight shapes do not match dim={self.config.dim}")
        self.slices = head_slices(meta["heads"])
        col = max((sl.stop for sl in self.slices.values()), default=0)
        if col != self.W.shape[1]:
            raise ModelError(
                f"model {meta['id']}: heads need {col} weight columns, the file has {self.W.shape[1]}"
            )

    def logits(self, posts: list[Normalized]) -> np.ndarray:
        """Raw scores for all heads, shape (len(posts), total columns)."""
        out = np.empty((len(posts), self.W.shape[1]), dtype=np.float32)
        for i, n in enumerate(posts):
            idx, val = featurize(n, self.config, self.idf)
            # a weighted sum, not ``val @ W[idx]``: BLAS would wake its threads for this small product, and
            # they spin against the encoder's threads afterwards (single-post p50 21 -> 28 ms on 2 cores)
            out[i] = np.einsum("k,kc->c", val, self.W[idx]) + self.b
        return out

    def predict(self, posts: list[Normalized]) -> dict[str, np.ndarray]:
        """Calibrated probabilities per head."""
        z = self.logits(posts)
        return {
            head: softmax(z[:, sl], self.meta["heads"][head].get("temperature", 1.0))
            for head, sl in self.slices.items()
        }
