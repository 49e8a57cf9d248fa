"""The schema of a model's ``meta.json``: every field the loaders read, checked before any of it is used.

A damaged or hand-edited ``meta.json`` fails here with a :class:`~negmon.errors.ModelError` that names the
field, what it holds and what was expected, never later as a ``KeyError`` or ``TypeError`` deep inside a
backend. Every file a backend opens must be listed in ``files`` with its sha256, so the integrity check
cannot be switched off by leaving ``files`` empty.

The checks are written out here rather than with the ``jsonschema`` package: they are few, they need
cross-field rules (files a kind opens, thresholds of present heads), and the package would add a core
dependency for them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from negmon.errors import ModelError

__all__ = ["check_meta", "required_files"]

_SHA256 = re.compile(r"[0-9a-f]{64}")
_KINDS = ("linear", "transformer")
_BINARY_HEADS = ("needs_reply", "priority")


def _type(v: Any) -> str:
    return "null" if v is None else type(v).__name__


class _Checker:
    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, field: str, expected: str, got: Any) -> ModelError:
        shown = repr(got)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        return ModelError(f"{self.where}: field {field} must be {expected}, got {_type(got)} {shown}")

    def obj(self, v: Any, field: str) -> dict[str, Any]:
        if not isinstance(v, dict):
            raise self.fail(field, "an object", v)
        return v

    def string(self, v: Any, field: str) -> str:
        if not isinstance(v, str) or not v:
            raise self.fail(field, "a non-empty string", v)
        return v

    def boolean(self, v: Any, field: str) -> bool:
        if not isinstance(v, bool):
            raise self.fail(field, "true or false", v)
        return v

    def integer(self, v: Any, field: str, low: int = 1) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or v < low:
            raise self.fail(field, f"an integer >= {low}", v)
        return v

    def number(self, v: Any, field: str, ok: Callable[[float], bool], expected: str) -> float:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or not ok(v):
            raise self.fail(field, expected, v)
        return float(v)

    def strings(self, v: Any, field: str, *, nonempty: bool = True, unique: bool = True) -> list[str]:
        if not isinstance(v, list) or (nonempty and not v) or not all(isinstance(x, str) and x for x in v):
            raise self.fail(field, "a non-empty list of non-empty strings" if nonempty else "a list of strings", v)
        if unique and len(set(v)) != len(v):
            raise self.fail(field, "a list without repeats", v)
        return v

    def files(self, v: Any, field: str) -> dict[str, str]:
        files = self.obj(v, field)
        if not files:
            raise self.fail(field, "an object listing every model file with its sha256", v)
        for name, digest in files.items():
            if not name or "/" in name or "\\" in name or name in (".", ".."):
                raise self.fail(f"{field} key", "a file name inside the model folder", name)
            if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
                raise self.fail(f"{field}[{name!r}]", "a sha256 as 64 lower-case hex digits", digest)
        return files


def required_files(meta: dict[str, Any]) -> list[str]:
    """The files the backend of ``meta["kind"]`` opens (each must be listed in ``files``)."""
    if meta.get("kind") == "linear":
        return ["weights.safetensors"]
    rt = meta.get("runtime") or {}
    return ["tokenizer.json", str(rt.get("onnx", "model.onnx"))]


def check_meta(meta: Any, where: str) -> dict[str, Any]:
    """Check a parsed ``meta.json`` (``where`` names it in errors); returns it unchanged when it is valid."""
    c = _Checker(where)
    m = c.obj(meta, "(top level)")
    c.string(m.get("id"), "id")
    kind = m.get("kind")
    if kind not in _KINDS:
        raise c.fail("kind", " or ".join(map(repr, _KINDS)), kind)
    if "aliases" in m:
        c.strings(m["aliases"], "aliases", nonempty=False)
    heads = c.obj(m.get("heads"), "heads")
    if not heads:
        raise c.fail("heads", "an object with at least one head", heads)
    for name, spec in heads.items():
        spec = c.obj(spec, f"heads.{name}")
        labels = c.strings(spec.get("labels"), f"heads.{name}.labels")
        if name in _BINARY_HEADS and len(labels) != 2:
            raise c.fail(f"heads.{name}.labels", "two labels (no, yes)", labels)
        if "temperature" in spec:
            c.number(spec["temperature"], f"heads.{name}.temperature", lambda x: x > 0, "a number > 0")
    if "priority" in heads and "needs_reply" not in heads:
        raise c.fail("heads", "a needs_reply head wherever there is a priority head", sorted(heads))
    thresholds = c.obj(m.get("thresholds", {}), "thresholds")
    for name, t in thresholds.items():
        if name == "urgent":
            if "priority" not in heads:
                raise c.fail("thresholds", "thresholds of present heads only (no priority head)", name)
        elif name not in heads:
            raise c.fail("thresholds", f"thresholds of present heads only (no {name} head)", name)
        c.number(t, f"thresholds.{name}", lambda x: 0 <= x <= 1, "a number from 0 to 1")
    if "max_chars" in m:
        c.integer(m["max_chars"], "max_chars")
    if "decision" in m:
        d = c.obj(m["decision"], "decision")
        if "urgent_implies_reply" in d:
            c.boolean(d["urgent_implies_reply"], "decision.urgent_implies_reply")
    files = c.files(m.get("files"), "files")
    if kind == "linear":
        f = c.obj(m.get("features"), "features")
        for key in ("dim", "char_min", "char_max"):
            if key in f:
                c.integer(f[key], f"features.{key}")
        if "word_bigrams" in f:
            c.boolean(f["word_bigrams"], "features.word_bigrams")
        unknown = sorted(set(f) - {"dim", "char_min", "char_max", "word_bigrams"})
        if unknown:
            raise c.fail("features", "dim, char_min, char_max and word_bigrams only", unknown)
        dim = f.get("dim", 1 << 18)
        if dim & (dim - 1):
            raise c.fail("features.dim", "a power of two", dim)
        if f.get("char_min", 2) > f.get("char_max", 5):
            raise c.fail("features.char_min", "at most features.char_max", f.get("char_min"))
    else:
        rt = c.obj(m.get("runtime", {}), "runtime")
        if "onnx" in rt:
            c.string(rt["onnx"], "runtime.onnx")
        if "max_tokens" in rt:
            c.integer(rt["max_tokens"], "runtime.max_tokens", low=2)
        if m.get("ensemble"):
            e = c.obj(m["ensemble"], "ensemble")
            c.string(e.get("model"), "ensemble.model")
            if "path" in e:
                c.string(e["path"], "ensemble.path")
            c.files(e.get("files"), "ensemble.files")
            for h in c.strings(e.get("heads"), "ensemble.heads"):
                if h not in heads:
                    raise c.fail("ensemble.heads", "heads the model has", h)
            c.number(e.get("weight"), "ensemble.weight", lambda x: 0 <= x <= 1, "a number from 0 to 1")
            for h, w in c.obj(e.get("weights", {}), "ensemble.weights").items():
                c.number(w, f"ensemble.weights.{h}", lambda x: 0 <= x <= 1, "a number from 0 to 1")
    for name in required_files(m):
        if name not in files:
            raise c.fail("files", f"an object that lists {name} (a {kind} model opens it)", sorted(files))
    return m
