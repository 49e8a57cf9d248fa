"""The real slice: labels on real posts of ../shared/data, kept as pointers (file, row, sha256), never as text."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT / "corpus" / "real"
sys.path.insert(0, str(ROOT / "corpus" / "tools"))

from check import check_post  # noqa: E402
from real_labels import kappa  # noqa: E402

from negmon.train.real import SOURCE_FILES  # noqa: E402


def rows(name: str) -> list[dict]:
    return [json.loads(x) for x in (REAL / name).read_text("utf-8").splitlines() if x.strip()]


def test_labels_are_pointers_with_valid_labels() -> None:
    labels = rows("labels.jsonl")
    assert len(labels) >= 1000
    for r in labels:
        assert "text" not in r and r["file"] in SOURCE_FILES and len(r["sha256"]) == 64
        assert check_post({**r, "text": "x", "localities": []}) == [], r["id"]
    assert Counter(r["split"] for r in labels).keys() == {"train", "dev"}
    assert sum(r["needs_reply"] for r in labels if r["split"] == "dev") >= 30


def test_two_blind_passes_agree_beyond_chance() -> None:
    p1 = {r["key"]: r for r in rows("pass1.jsonl")}
    p2 = {r["key"]: r for r in rows("pass2.jsonl")}
    keys = sorted(set(p1) & set(p2))
    assert len(keys) >= 1000
    assert kappa([p1[k]["needs_reply"] for k in keys], [p2[k]["needs_reply"] for k in keys]) >= 0.6
    assert kappa([p1[k]["topic"] for k in keys], [p2[k]["topic"] for k in keys]) >= 0.6
    # every post the passes disagreed on was settled
    adj = {r["key"] for r in rows("adjudicated.jsonl")}
    differ = {k for k in keys if any(p1[k][h] != p2[k][h] for h in ("sentiment", "topic", "needs_reply", "priority"))}
    assert differ <= adj


def test_pointers_resolve_to_the_labelled_texts(shared_data: Path) -> None:
    from negmon.train.data import test_texts, text_key
    from negmon.train.real import load_real

    recs = load_real(data=shared_data)  # raises when a text does not have its recorded sha256
    assert len(recs) == len(rows("labels.jsonl"))
    tests = {text_key(t) for t in test_texts()}
    assert not [r["id"] for r in recs if text_key(r["text"]) in tests]  # never a text a benchmark reports on
