"""The project's labelled corpus: schema, labels, offsets, split, counts, and no copies of third-party texts."""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "corpus" / "tools"))

from check import check_post, near_duplicates  # noqa: E402

TOPICS = json.loads(json.dumps([
    "housing_utilities", "roads", "public_transport", "healthcare", "education", "waste", "landscaping",
    "social_support", "energy", "ecology", "animals", "safety", "construction", "communications",
    "culture_sport", "economy_trade", "government", "other",
]))


def load(folder: Path) -> list[dict]:
    return [json.loads(x) for f in sorted(folder.glob("*.jsonl")) for x in f.read_text("utf-8").splitlines() if x.strip()]


@pytest.fixture(scope="module")
def posts() -> list[dict]:
    return load(ROOT / "corpus" / "posts")


def test_schema_labels_offsets(posts: list[dict]) -> None:
    problems = [(p.get("id"), e) for p in posts for e in check_post(p)]
    assert problems == []
    ids = [p["id"] for p in posts]
    assert len(ids) == len(set(ids))
    for p in posts:
        for loc in p["localities"]:
            assert p["text"][loc["start"] : loc["end"]] == loc["surface"]


def test_counts(posts: list[dict]) -> None:
    assert len(posts) >= 3000
    for t in TOPICS:
        reply = sum(p["topic"] == t and p["needs_reply"] for p in posts)
        no_reply = sum(p["topic"] == t and not p["needs_reply"] for p in posts)
        if t == "other":
            assert no_reply >= 400 and reply == 0
        else:
            assert reply >= 120 and no_reply >= 30, t
    assert sum(p["priority"] == "urgent" for p in posts) >= 300


def test_split(posts: list[dict]) -> None:
    assert {p["split"] for p in posts} == {"train", "dev"}
    dev = Counter((p["topic"], p["needs_reply"]) for p in posts if p["split"] == "dev")
    allc = Counter((p["topic"], p["needs_reply"]) for p in posts)
    for group, n in allc.items():
        assert dev[group] >= 0.15 * n, group  # stratified: every group has its dev share
    dev_keys = {re.sub(r"\W+", " ", p["text"].lower()).strip() for p in posts if p["split"] == "dev"}
    train_keys = {re.sub(r"\W+", " ", p["text"].lower()).strip() for p in posts if p["split"] == "train"}
    assert not dev_keys & train_keys


def test_no_near_duplicates(posts: list[dict]) -> None:
    nd = near_duplicates(posts)
    with_nd = {a for a, _, _ in nd} | {b for _, b, _ in nd}
    assert len(with_nd) < 0.01 * len(posts)


def test_examples_are_not_corpus_posts(posts: list[dict]) -> None:
    examples = load(ROOT / "examples")
    assert len(examples) >= 100
    assert {p["topic"] for p in examples} == set(TOPICS)
    assert {p["priority"] for p in examples} == {"urgent", "normal", None}
    assert near_duplicates(examples + posts) == [] or all(
        not (a.startswith("ex-") ^ b.startswith("ex-")) for a, b, _ in near_duplicates(examples + posts))


def _shared_texts(shared: Path) -> list[str]:
    import csv

    from negmon.train import data as D

    texts = [r["text"] for r in D.sentiment_pool(["rusentiment", "rusentitweet", "sentirueval", "open_sentiment"])]
    texts += [r["text"] for r in D.load_rusentiment("test") + D.load_rusentitweet("test") + D.load_sentirueval("test")]
    for name in ("cedr-main-train.csv", "cedr-main-test.csv"):
        with open(shared / "emotion" / "cedr" / name, encoding="utf-8", newline="") as f:
            texts += [r.get("text") or r.get("sentence") or "" for r in csv.DictReader(f)]
    for name in ("val.csv", "test.csv"):
        with open(shared / "toxicity" / "skoltech-inappropriate-v1" / name, encoding="utf-8", newline="") as f:
            texts += [r.get("text") or "" for r in csv.DictReader(f)]
    return texts


def test_no_copy_of_shared_texts(posts: list[dict], shared_data: Path) -> None:
    word = re.compile(r"\w+")

    def grams(t: str) -> set[tuple[str, ...]]:
        w = [x.lower() for x in word.findall(t)]
        return {tuple(w[i : i + 8]) for i in range(len(w) - 7)}

    shared = _shared_texts(shared_data)
    index: set[tuple[str, ...]] = set()
    short: set[str] = set()
    for t in shared:
        g = grams(t)
        index |= g
        if not g:
            short.add(" ".join(word.findall(t.lower())))
    own = load(ROOT / "examples") + posts
    copies = [p["id"] for p in own if grams(p["text"]) & index or (not grams(p["text"]) and
              " ".join(word.findall(p["text"].lower())) in short and len(p["text"]) > 25)]
    assert copies == []
