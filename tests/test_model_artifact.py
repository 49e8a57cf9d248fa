"""Model folders: hashes checked on load, format version checked, clear errors, no code on load."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
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


def _default_copy(tmp_path: Path, name: str, *, ensemble: bool = True, files: dict | None = None) -> Path:
    """The bundled default model in a new folder (files linked), with or without its partner."""
    src = resolve("default")
    meta = json.loads((src / "meta.json").read_text())
    if "ensemble" not in meta:
        pytest.skip("the bundled default model has no partner")
    dst = tmp_path / name
    dst.mkdir()
    for f in meta["files"]:
        (dst / f).symlink_to(src / f)
    partner = (src / meta["ensemble"]["path"]).resolve()
    if ensemble:
        meta["ensemble"]["path"] = os.path.relpath(partner, dst)
        if files is not None:
            meta["ensemble"]["files"] = files
    else:
        del meta["ensemble"]
    (dst / "meta.json").write_text(json.dumps(meta))
    return dst


def test_partner_fusion_is_the_weighted_geometric_mean(tmp_path: Path) -> None:
    from negmon.model import load_model, softmax
    from negmon.normalize import normalize

    fused_model = load_model(_default_copy(tmp_path, "fused"))
    alone = load_model(_default_copy(tmp_path, "alone", ensemble=False))
    ens = fused_model.meta["ensemble"]
    partner = load_model((fused_model.folder / ens["path"]).resolve())
    posts = [normalize(t) for t in ("яма на дороге у школы", "во дворе сломали качели", "когда включат отопление?")]
    fused, a, b = fused_model.predict(posts), alone.predict(posts), partner.predict(posts)
    for head in ens["heads"]:
        w = ens.get("weights", {}).get(head, ens["weight"])
        expected = softmax((1 - w) * np.log(a[head]) + w * np.log(b[head]))
        np.testing.assert_allclose(fused[head], expected, rtol=1e-5, atol=1e-7)
        assert not np.allclose(fused[head], a[head])
    np.testing.assert_allclose(fused["needs_reply"], a["needs_reply"])  # heads without a partner are untouched


def test_partner_with_other_files_is_refused(tmp_path: Path) -> None:
    from negmon.model import load_model

    m = _default_copy(tmp_path, "bad", files={"weights.safetensors": "0" * 64})
    with pytest.raises(ModelIntegrityError, match="repack"):
        load_model(m)
