"""Model artifact folders: ``meta.json`` + weights + a model card, checked on load.

Loading reads JSON and safetensors/ONNX only (never pickle), checks the format version, and checks the
sha256 of every file listed in ``meta.json["files"]`` (the schema in :mod:`negmon.model.schema` requires every
file the backend opens to be listed).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from negmon.errors import ModelError, ModelIntegrityError
from negmon.model.schema import check_meta

__all__ = [
    "BUNDLED_DIR",
    "FORMAT_VERSION",
    "bundled_models",
    "file_sha256",
    "read_meta",
    "resolve",
    "write_meta",
]

FORMAT_VERSION = 1


def _bundled_dir() -> Path:
    from importlib.resources import files

    try:
        return Path(str(files("negmon.models")))
    except ModuleNotFoundError:  # a source tree used without installing
        return Path(__file__).resolve().parents[3] / "models"


BUNDLED_DIR = _bundled_dir()


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def bundled_models() -> dict[str, Path]:
    """Models shipped inside the package: id and alias (``fast``, ``default``) -> folder."""
    out: dict[str, Path] = {}
    if not BUNDLED_DIR.is_dir():
        return out
    for d in sorted(BUNDLED_DIR.iterdir()):
        meta = d / "meta.json"
        if not meta.is_file():
            continue
        try:
            m = json.loads(meta.read_text("utf-8"))
            mid, aliases = str(m["id"]), [str(a) for a in m.get("aliases", [])]
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            continue  # a damaged folder is reported when it is loaded by path, not while listing
        out[mid] = d
        for alias in aliases:
            out[alias] = d
    return out


def resolve(name_or_path: str | Path) -> Path:
    """A model folder from a path, a bundled model id or an alias (``"default"``, ``"fast"``).

    ``"default"`` is the bundled model whose meta.json lists that alias, else the fast tier.
    """
    p = Path(name_or_path)
    if p.is_dir():
        return p
    bundled = bundled_models()
    if str(name_or_path) in bundled:
        return bundled[str(name_or_path)]
    if str(name_or_path) == "default" and "fast" in bundled:  # no bundled model claims "default"
        return bundled["fast"]
    known = ", ".join(sorted(bundled)) or "none"
    raise ModelError(f"no model folder or bundled model named {str(name_or_path)!r} (bundled: {known})")


def read_meta(folder: Path, *, verify: bool = True) -> dict[str, Any]:
    """Read and check ``meta.json`` of a model folder; with ``verify``, check every listed file's sha256."""
    path = folder / "meta.json"
    try:
        meta = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{folder} is not a negmon model: {path.name} is missing") from None
    except (OSError, ValueError) as e:  # ValueError: JSONDecodeError and UnicodeDecodeError
        raise ModelError(f"cannot read {path}: {e}") from None
    if not isinstance(meta, dict):
        raise ModelError(f"{path} must hold a JSON object, got {type(meta).__name__}")
    version = meta.get("format_version")
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise ModelError(
            f"{path}: model format version {version!r} is not supported by this negmon "
            f"(expected {FORMAT_VERSION}); use the negmon version the model was made for"
        )
    check_meta(meta, str(path))
    if verify:
        for name, digest in meta["files"].items():
            f = folder / name
            if not f.is_file():
                raise ModelError(
                    f"model {meta['id']}: file {name} listed in meta.json is missing from {folder}"
                )
            actual = file_sha256(f)
            if actual != digest:
                raise ModelIntegrityError(
                    f"model {meta['id']}: {name} has sha256 {actual[:16]}..., meta.json expects {digest[:16]}...; "
                    "the file was changed or damaged, refusing to load it"
                )
    return meta


def write_meta(folder: Path, meta: dict[str, Any], files: list[str]) -> None:
    """Write ``meta.json`` with the format version and the sha256 of ``files`` (names inside ``folder``)."""
    meta = {"format_version": FORMAT_VERSION, **meta}
    meta["files"] = {name: file_sha256(folder / name) for name in sorted(files)}
    (folder / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", "utf-8")
