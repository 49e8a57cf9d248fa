"""``meta.json`` is checked against its schema at load: each field mutated gives a ModelError, never another
exception at load or at the first classify, and every file a backend opens must be listed with its hash."""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from negmon import Classifier
from negmon.errors import ModelError
from negmon.model.artifact import read_meta, resolve
from negmon.model.schema import check_meta

Mutation = Callable[[dict[str, Any]], object]


def _set(path: str, value: Any) -> Mutation:
    *parents, leaf = path.split(".")

    def apply(m: dict[str, Any]) -> None:
        for p in parents:
            m = m[p]
        m[leaf] = value

    return apply


def _drop(path: str) -> Mutation:
    *parents, leaf = path.split(".")

    def apply(m: dict[str, Any]) -> None:
        for p in parents:
            m = m[p]
        del m[leaf]

    return apply


COMMON: dict[str, Mutation] = {
    "id missing": _drop("id"),
    "id not a string": _set("id", 7),
    "kind unknown": _set("kind", "pickle"),
    "kind missing": _drop("kind"),
    "aliases not a list": _set("aliases", "fast"),
    "aliases with a number": _set("aliases", [1]),
    "heads missing": _drop("heads"),
    "heads empty": _set("heads", {}),
    "heads a list": _set("heads", ["sentiment"]),
    "head not an object": _set("heads.sentiment", "negative"),
    "labels missing": _drop("heads.sentiment.labels"),
    "labels a string": _set("heads.sentiment.labels", "negative"),
    "labels empty": _set("heads.sentiment.labels", []),
    "labels repeated": _set("heads.sentiment.labels", ["a", "a", "b"]),
    "needs_reply with three labels": _set("heads.needs_reply.labels", ["no", "yes", "maybe"]),
    "temperature a string": _set("heads.topic.temperature", "0.5"),
    "temperature zero": _set("heads.topic.temperature", 0),
    "temperature true": _set("heads.topic.temperature", True),
    "threshold a string": _set("thresholds.needs_reply", "0.3"),
    "threshold over 1": _set("thresholds.needs_reply", 1.5),
    "threshold of a missing head": _set("thresholds.stance", 0.5),
    "thresholds a list": _set("thresholds", [0.3]),
    "max_chars zero": _set("max_chars", 0),
    "max_chars a string": _set("max_chars", "20000"),
    "decision rule not a bool": _set("decision.urgent_implies_reply", "yes"),
    "decision a list": _set("decision", []),
    "files missing": _drop("files"),
    "files empty": _set("files", {}),
    "files a list": _set("files", ["weights.safetensors"]),
    "file hash short": lambda m: m["files"].update({k: "abc" for k in m["files"]}),
    "file name escapes the folder": lambda m: m["files"].update({"../meta.json": "0" * 64}),
    "priority without needs_reply": lambda m: m["heads"].pop("needs_reply") and m["thresholds"].pop("needs_reply"),
}

LINEAR: dict[str, Mutation] = {
    "weights not listed": lambda m: m["files"].pop("weights.safetensors"),
    "features missing": _drop("features"),
    "features.dim not a power of two": _set("features.dim", 1000),
    "features.dim a string": _set("features.dim", "262144"),
    "features with an unknown key": _set("features.lowercase", True),
    "char_min over char_max": _set("features.char_min", 9),
    "word_bigrams not a bool": _set("features.word_bigrams", 1),
}

TRANSFORMER: dict[str, Mutation] = {
    "onnx not listed": lambda m: m["files"].pop("model.onnx"),
    "tokenizer not listed": lambda m: m["files"].pop("tokenizer.json"),
    "runtime.onnx names an unlisted file": _set("runtime.onnx", "other.onnx"),
    "runtime.max_tokens a string": _set("runtime.max_tokens", "256"),
    "runtime a list": _set("runtime", []),
    "ensemble.model missing": _drop("ensemble.model"),
    "ensemble.files empty": _set("ensemble.files", {}),
    "ensemble.heads names a missing head": _set("ensemble.heads", ["stance"]),
    "ensemble.weight over 1": _set("ensemble.weight", 2),
    "ensemble.weights a list": _set("ensemble.weights", [0.2]),
}


def _meta(name: str) -> dict[str, Any]:
    return json.loads((resolve(name) / "meta.json").read_text("utf-8"))


def test_the_bundled_models_pass() -> None:
    for name in ("fast", "default"):
        check_meta(_meta(name), name)


@pytest.fixture(scope="module")
def linear_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dst = tmp_path_factory.mktemp("schema") / "fast"
    shutil.copytree(resolve("fast"), dst)
    return dst


@pytest.mark.parametrize("mutation", sorted({**COMMON, **LINEAR}))
def test_each_field_of_a_linear_meta(linear_folder: Path, mutation: str) -> None:
    meta = copy.deepcopy(_meta("fast"))
    {**COMMON, **LINEAR}[mutation](meta)
    (linear_folder / "meta.json").write_text(json.dumps(meta), "utf-8")
    with pytest.raises(ModelError, match="field"):
        Classifier.load(linear_folder).classify("В Кстово нет воды, когда дадут?")


@pytest.mark.parametrize("mutation", sorted({**COMMON, **TRANSFORMER}))
def test_each_field_of_a_transformer_meta(tmp_path: Path, mutation: str) -> None:
    meta = copy.deepcopy(_meta("default"))
    if "ensemble" not in meta and mutation.startswith("ensemble"):
        pytest.skip("the bundled default has no partner")
    {**COMMON, **TRANSFORMER}[mutation](meta)
    (tmp_path / "meta.json").write_text(json.dumps(meta), "utf-8")
    with pytest.raises(ModelError, match="field"):
        read_meta(tmp_path, verify=False)  # the schema is checked before any file is opened


@pytest.fixture
def fast_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "fast"
    shutil.copytree(resolve("fast"), dst)
    return dst


@pytest.mark.parametrize("damage", [b"\xff\xfe\x00garbage", b"[1, 2]", b"{\"format_version\": 1,", b""])
def test_damaged_meta_bytes_give_model_error(fast_copy: Path, damage: bytes) -> None:
    (fast_copy / "meta.json").write_bytes(damage)
    with pytest.raises(ModelError):
        Classifier.load(fast_copy)


def test_string_threshold_is_refused_at_load_not_at_classify(fast_copy: Path) -> None:
    meta = json.loads((fast_copy / "meta.json").read_text("utf-8"))
    meta["thresholds"]["needs_reply"] = "0.2"
    (fast_copy / "meta.json").write_text(json.dumps(meta), "utf-8")
    with pytest.raises(ModelError, match=r"thresholds\.needs_reply must be a number"):
        Classifier.load(fast_copy)


def test_empty_files_cannot_switch_off_the_integrity_check(fast_copy: Path) -> None:
    meta = json.loads((fast_copy / "meta.json").read_text("utf-8"))
    meta["files"] = {}
    (fast_copy / "meta.json").write_text(json.dumps(meta), "utf-8")
    w = fast_copy / "weights.safetensors"
    data = bytearray(w.read_bytes())
    data[-1] ^= 0xFF
    w.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="files"):
        Classifier.load(fast_copy)
