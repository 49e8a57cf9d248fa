"""The default tier: a fine-tuned encoder with four heads, run by ONNX Runtime (no torch at inference).

The ONNX graph takes ``input_ids`` and ``attention_mask`` (int64, batch x length) and returns ``logits``
(batch x the heads' labels, in the order of ``meta.json["heads"]``). Posts are normalized, prefixed with
``"query: "`` (as the encoder was pretrained), tokenized by ``tokenizer.json`` (a whole chunk at once) and
cut to ``max_tokens`` (the first tokens are kept; the Result is marked ``truncated``).

Each post then runs on its own (no padding at all), so a post's scores never depend on the other posts of its
batch (dynamic int8 quantization scales activations per run). A batch runs on a pool of worker threads with one
ONNX Runtime thread each (on CPUs as fast as padded batches or faster); a single post runs on a second session,
made at its first use, that gives one post every thread (p50 on 2 cores: 16 ms instead of 28 ms with one
thread). Its runs are serialized: concurrent runs of a multi-threaded session spin against each other (a third
slower on 2 cores). ``NEGMON_THREADS`` sets the threads (default: the CPUs, at most 4); set it to 1 where
several processes share the cores (Spark executors).

A model may name a partner in ``meta.json["ensemble"]``: a packed linear model (the fast tier) whose
calibrated probabilities for some heads are combined with the encoder's as a weighted geometric mean. The
partner is found by its relative ``path``, else as a bundled model, and must have exactly the file hashes
recorded at packing time.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from negmon.errors import ModelError, ModelIntegrityError
from negmon.model import Model, fuse, head_slices, partner_weights, softmax
from negmon.normalize import Normalized

__all__ = ["TransformerModel"]

PREFIX = "query: "


class TransformerModel:
    """ONNX encoder + heads. One session runs batches (any thread may call it), a second one single posts."""

    def __init__(self, folder: Path, meta: dict[str, Any], *, threads: int | None = None) -> None:
        try:
            import onnxruntime  # noqa: F401  (checked here, used in _session)
            from tokenizers import Tokenizer
        except ImportError as e:  # pragma: no cover - both are core dependencies
            raise ModelError(f"the transformer tier needs {e.name}: pip install negmon") from None
        self.folder = folder
        self.meta = meta
        rt = meta.get("runtime", {})
        self.max_tokens = int(rt.get("max_tokens", 256))
        try:
            self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        except Exception as e:  # tokenizers raises its own exception types
            raise ModelError(f"cannot load {folder / 'tokenizer.json'}: {e}") from None
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        self.workers = threads or int(os.environ.get("NEGMON_THREADS", "0")) or min(4, os.cpu_count() or 1)
        self._onnx = folder / rt.get("onnx", "model.onnx")
        self.session = self._session(1)
        self._single: Any = None  # the single-post session, made at first use
        self._single_lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self.slices = head_slices(meta["heads"])
        self._width = max((sl.stop for sl in self.slices.values()), default=0)
        self.partner: Model | None = None
        self.partner_heads: tuple[str, ...] = ()
        self.partner_weights: dict[str, float] = {}
        if meta.get("ensemble"):
            self._load_partner(meta["ensemble"])

    def _session(self, threads: int) -> Any:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            return ort.InferenceSession(str(self._onnx), opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own exception types
            raise ModelError(f"cannot load the ONNX model in {self.folder}: {e}") from None

    def _load_partner(self, ens: dict[str, Any]) -> None:
        from negmon.model import load_model

        mid = self.meta["id"]
        heads = tuple(ens.get("heads", ()))
        path = self.folder / ens["path"] if ens.get("path") else None
        try:
            partner = load_model(path if path is not None and path.is_dir() else ens["model"])
        except ModelError as e:
            raise ModelError(
                f"model {mid} combines its {', '.join(heads)} scores with the model {ens['model']} "
                f"(expected at {path or 'the bundled models'}), which could not be loaded: {e}"
            ) from None
        if partner.meta["id"] != ens["model"] or partner.meta["files"] != ens["files"]:
            raise ModelIntegrityError(
                f"model {mid} was packed with partner {ens['model']}, but {partner.folder} holds "
                f"{partner.meta['id']} with other files; repack it (negmon train CONFIG --repack)"
            )
        for h in heads:
            if partner.meta["heads"].get(h, {}).get("labels") != self.meta["heads"][h]["labels"]:
                raise ModelError(f"model {mid}: partner {ens['model']} has other labels for head {h}")
        self.partner, self.partner_heads = partner, heads
        self.partner_weights = partner_weights(ens)

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

    def visible_chars(self, n: Normalized) -> int:
        """How many characters of ``n.text`` fit in ``max_tokens`` (what the encoder reads of the post)."""
        enc = self.tokenizer.encode(PREFIX + n.text)
        if len(enc.ids) <= self.max_tokens:
            return len(n.text)
        return max(0, enc.offsets[self.max_tokens - 2][1] - len(PREFIX))

    def _run_one(self, ids: list[int], session: Any = None) -> np.ndarray:
        x = np.asarray([ids], dtype=np.int64)
        feed = {"input_ids": x, "attention_mask": np.ones_like(x)}
        return (session or self.session).run(["logits"], feed)[0][0]  # type: ignore[no-any-return]

    def _run_single(self, ids: list[int]) -> np.ndarray:
        with self._single_lock:
            if self._single is None:
                self._single = self._session(self.workers)
            return self._run_one(ids, self._single)

    def logits_from_ids(self, ids: list[list[int]]) -> np.ndarray:
        """Raw logits for token id lists, one run per post, in input order: a single post on the
        multi-threaded session, several on the worker threads."""
        if self.workers == 1:
            rows = [self._run_one(x) for x in ids]
        elif len(ids) == 1:
            rows = [self._run_single(ids[0])]
        else:
            if self._pool is None:
                with self._pool_lock:
                    if self._pool is None:
                        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="negmon")
            rows = list(self._pool.map(self._run_one, ids))
        return np.stack(rows) if rows else np.zeros((0, self._width), dtype=np.float32)

    def predict(self, posts: list[Normalized]) -> dict[str, np.ndarray]:
        """Calibrated probabilities per head, plus ``_truncated`` (bool per post)."""
        ids, cut = self.encode(posts)
        z = self.logits_from_ids(ids)
        res: dict[str, np.ndarray] = {
            head: softmax(z[:, sl], self.meta["heads"][head].get("temperature", 1.0))
            for head, sl in self.slices.items()
        }
        if self.partner is not None and posts:
            other = self.partner.predict(posts)
            for head in self.partner_heads:
                res[head] = fuse(res[head], other[head], self.partner_weights[head])
        res["_truncated"] = cut
        return res
