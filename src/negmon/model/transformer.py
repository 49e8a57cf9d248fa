"""The default tier: a fine-tuned encoder with four heads, run by ONNX Runtime (no torch at inference).

The ONNX graph takes ``input_ids`` and ``attention_mask`` (int64, batch x length) and returns ``logits``
(batch x the heads' labels, in the order of ``meta.json["heads"]``). Posts are normalized, prefixed with
``"query: "`` (as the encoder was pretrained), tokenized by ``tokenizer.json``, cut to ``max_tokens``
(the first tokens are kept; the Result is marked ``truncated``), sorted by length inside a chunk so that
padding stays small, and returned in their input order.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from negmon.errors import ModelError
from negmon.model import softmax
from negmon.normalize import Normalized

__all__ = ["TransformerModel"]

PREFIX = "query: "


class TransformerModel:
    """ONNX encoder + heads. One session serves all threads (ONNX Runtime's ``run`` is thread-safe)."""

    def __init__(self, folder: Path, meta: dict[str, Any], *, threads: int | None = None) -> None:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as e:  # pragma: no cover - both are core dependencies
            raise ModelError(f"the transformer tier needs {e.name}: pip install negmon") from None
        self.folder = folder
        self.meta = meta
        rt = meta.get("runtime", {})
        self.max_tokens = int(rt.get("max_tokens", 256))
        self.batch_tokens = int(rt.get("batch_tokens", 4096))
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        self.pad_id = int(rt.get("pad_id", self.tokenizer.token_to_id("<pad>") or 0))
        opts = ort.SessionOptions()
        n = threads or int(os.environ.get("NEGMON_THREADS", "0")) or min(4, os.cpu_count() or 1)
        opts.intra_op_num_threads = n
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self.session = ort.InferenceSession(
                str(folder / rt.get("onnx", "model.onnx")), opts, providers=["CPUExecutionProvider"]
            )
        except Exception as e:  # onnxruntime raises its own exception types
            raise ModelError(f"cannot load the ONNX model in {folder}: {e}") from None
        self.slices: dict[str, slice] = {}
        col = 0
        for head, spec in meta["heads"].items():
            k = len(spec["labels"])
            self.slices[head] = slice(col, col + k)
            col += k
        self._local = threading.local()

    def encode(self, posts: list[Normalized]) -> tuple[list[list[int]], np.ndarray]:
        """Token ids of each post (cut to ``max_tokens``) and whether it was cut."""
        encs = self.tokenizer.encode_batch([PREFIX + n.text for n in posts])
        ids, cut = [], np.zeros(len(posts), dtype=bool)
        for i, e in enumerate(encs):
            x = e.ids
            if len(x) > self.max_tokens:
                x = [*x[: self.max_tokens - 1], x[-1]]  # keep the closing </s>
                cut[i] = True
            ids.append(x)
        return ids, cut

    def logits_from_ids(self, ids: list[list[int]]) -> np.ndarray:
        """Raw logits for token id lists, batched by length under a token budget, in input order."""
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        out = np.empty((len(ids), sum(s.stop - s.start for s in self.slices.values())), dtype=np.float32)
        start = 0
        while start < len(order):
            # the longest post of a batch sets its width; grow the batch while it fits the token budget
            end = start + 1
            while end < len(order) and len(ids[order[end]]) * (end - start + 1) <= self.batch_tokens:
                end += 1
            batch = [order[k] for k in range(start, end)]
            width = len(ids[batch[-1]])
            x = np.full((len(batch), width), self.pad_id, dtype=np.int64)
            m = np.zeros((len(batch), width), dtype=np.int64)
            for r, i in enumerate(batch):
                x[r, : len(ids[i])] = ids[i]
                m[r, : len(ids[i])] = 1
            (logits,) = self.session.run(["logits"], {"input_ids": x, "attention_mask": m})
            out[batch] = logits
            start = end
        return out

    def predict(self, posts: list[Normalized]) -> dict[str, np.ndarray]:
        """Calibrated probabilities per head, plus ``_truncated`` (bool per post)."""
        ids, cut = self.encode(posts)
        z = self.logits_from_ids(ids)
        res: dict[str, np.ndarray] = {
            head: softmax(z[:, sl], self.meta["heads"][head].get("temperature", 1.0))
            for head, sl in self.slices.items()
        }
        res["_truncated"] = cut
        return res
