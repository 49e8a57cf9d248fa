"""The corpus's real slice: labels the project gave to real posts of ``../shared/data``, kept as pointers.

The texts stay in the third-party files; ``corpus/real/labels.jsonl`` holds, per post, the file (relative to
the shared data folder), the row (0-based data row of a CSV, or the index of a ``<table>`` of a SentiRuEval XML
file), the sha256 of the text, the four labels and the split. :func:`load_real` reads the texts back and
refuses a pointer whose text no longer has the recorded hash.
"""

from __future__ import annotations

import csv
import hashlib
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from negmon.errors import InputError
from negmon.train.data import REPO, shared_data_dir

__all__ = ["LABELS", "SOURCE_FILES", "iter_source_rows", "load_real", "read_row"]

LABELS = REPO / "corpus" / "real" / "labels.jsonl"
# training files only: no test file that benchmarks/quality.py reports sentiment on
SOURCE_FILES = (
    "sentiment/rusentiment/rusentiment_random_posts.csv",
    "sentiment/rusentiment/rusentiment_preselected_posts.csv",
    "sentiment/rusentitweet/rusentitweet_train.csv",
    "sentiment/sentirueval-2015/banks/train.xml",
    "sentiment/sentirueval-2015/telecoms/train.xml",
    "toxicity/skoltech-inappropriate-v1/val.csv",
    "toxicity/skoltech-inappropriate-v1/test.csv",
    "emotion/cedr/cedr-main-train.csv",
    "emotion/cedr/cedr-main-test.csv",
)


def _texts(path: Path) -> list[str]:
    if path.suffix == ".xml":
        root = ET.parse(path).getroot()
        return [next((c.text or "" for c in t.iter("column") if c.get("name") == "text"), "")
                for t in root.iter("table")]
    with open(path, encoding="utf-8", newline="") as fh:
        rows = csv.DictReader(fh)
        col = "text" if "text" in (rows.fieldnames or []) else (rows.fieldnames or ["text"])[0]
        return [row.get(col) or "" for row in rows]


_CACHE: dict[str, list[str]] = {}


def read_row(file: str, row: int, data: Path | None = None) -> str:
    """The text at ``file``/``row`` of the shared data folder."""
    base = data or shared_data_dir()
    if base is None:
        raise InputError("the shared data folder was not found: set NEGMON_SHARED_DATA or place shared/ beside the repo")
    key = str(base / file)
    if key not in _CACHE:
        _CACHE[key] = _texts(base / file)
    texts = _CACHE[key]
    if not 0 <= row < len(texts):
        raise InputError(f"{file} has {len(texts)} rows; the real slice points at row {row}")
    return texts[row]


def iter_source_rows(data: Path | None = None) -> Iterator[dict[str, Any]]:
    """Every non-empty text of :data:`SOURCE_FILES` as ``{"file", "row", "text"}``."""
    for f in SOURCE_FILES:
        read_row(f, 0, data)
        base = data or shared_data_dir()
        for i, t in enumerate(_CACHE[str(Path(base or ".") / f)]):
            if t.strip():
                yield {"file": f, "row": i, "text": t}


def load_real(split: str | None = None, labels: Path = LABELS, data: Path | None = None) -> list[dict[str, Any]]:
    """Records of the real slice (``split`` train or dev, or both), texts read from the shared data."""
    if not labels.is_file():
        return []
    out = []
    for n, line in enumerate(labels.read_text("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        p = json.loads(line)
        if split and p["split"] != split:
            continue
        text = read_row(p["file"], p["row"], data)
        if hashlib.sha256(text.encode()).hexdigest() != p["sha256"]:
            raise InputError(f"{labels}:{n}: the text at {p['file']} row {p['row']} does not have the recorded "
                             "sha256; the shared data changed")
        out.append({"text": text, "sentiment": p["sentiment"], "topic": p["topic"], "needs_reply": p["needs_reply"],
                    "priority": p["priority"], "source": f"real/{p['split']}", "id": p["id"]})
    return out
