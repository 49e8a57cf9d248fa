"""Model folders: hashes checked on load, format version checked, clear errors, no code on load."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from negmon import Classifier
from negmon.errors import ModelError, ModelIntegrityError
from negmon.model.artifact import bundled_models, resolve


@pytest.fixture
def model_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "fast"
    shutil.copytree(resolve("fast"), dst)
    return dst


def test_bundled_aliases() -> None:
    models = bundled_models()
    assert "fast" in models
    assert resolve("default") == models.get("default", models["fast"])


def test_loads_and_classifies(model_copy: Path) -> None:
    clf = Classifier.load(model_copy)
    assert clf.classify("спасибо!").sentiment == "positive"


def test_tampered_weights_are_refused(model_copy: Path) -> None:
    w = model_copy / "weights.safetensors"
    data = bytearray(w.read_bytes())
    data[-1] ^= 0xFF
    w.write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match="sha256"):
        Classifier.load(model_copy)


def test_missing_file_and_bad_version(model_copy: Path) -> None:
    meta = json.loads((model_copy / "meta.json").read_text())
    meta["format_version"] = 99
    (model_copy / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="format version 99"):
        Classifier.load(model_copy)
    meta["format_version"] = 1
    (model_copy / "meta.json").write_text(json.dumps(meta))
    (model_copy / "weights.safetensors").unlink()
    with pytest.raises(ModelError, match="missing"):
        Classifier.load(model_copy)


def test_not_a_model(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"meta\.json is missing"):
        Classifier.load(tmp_path)
    with pytest.raises(ModelError, match="no model folder"):
        Classifier.load("no-such-model")


def test_no_unpickling_anywhere_in_inference() -> None:
    src = Path(__file__).resolve().parents[1] / "src" / "negmon"
    for f in src.rglob("*.py"):
        text = f.read_text("utf-8")
        for bad in ("import pickle", "pickle.load", "joblib.load", "torch.load("):
            assert bad not in text, f"{f} uses {bad}"
