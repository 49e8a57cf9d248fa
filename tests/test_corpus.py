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


# ---------------------------------------------------------------- posts written the way residents write

from shape import ASK, EMOJI, FIRST, quantiles, sentences  # noqa: E402

REAL_LENGTHS = (114, 186, 295, 444, 569)  # p10 p25 p50 p75 p90 of real resident posts (REAL_POSTS.md)


def load_glob(folder: Path, pattern: str) -> list[dict]:
    return [json.loads(x) for f in sorted(folder.glob(pattern)) for x in f.read_text("utf-8").splitlines() if x.strip()]


def _assert_real_shape(posts: list[dict]) -> None:
    q = quantiles([len(p["text"]) for p in posts])[:5]
    assert all(abs(a - b) <= 0.15 * b for a, b in zip(q, REAL_LENGTHS, strict=True)), q
    rep = [p["text"] for p in posts if p["needs_reply"]]
    nor = [p["text"] for p in posts if not p["needs_reply"]]
    assert sum("?" in t for t in rep) <= 0.35 * len(rep)
    assert sum(sentences(t) >= 3 for t in rep) >= 0.65 * len(rep)
    assert sum(sentences(t) >= 3 for t in nor) >= 0.65 * len(nor)
    assert sum(bool(FIRST.search(t)) for t in nor) >= 0.45 * len(nor)
    assert sum(bool(EMOJI.search(t)) for t in nor) <= 0.05 * len(nor)
    assert sum("\n" in t for t in rep) >= 0.10 * len(rep) and sum("\n" in t for t in nor) >= 0.15 * len(nor)


def test_realistic_batch_has_the_shape_of_real_posts() -> None:
    batch = load_glob(ROOT / "corpus" / "posts", "real_*.jsonl")
    assert len(batch) >= 2000
    _assert_real_shape(batch)
    assert {p["topic"] for p in batch if p["needs_reply"]} == set(TOPICS) - {"other"}
    assert sum(p["priority"] == "urgent" for p in batch) >= 100


def test_counterfactual_pairs_break_the_cues(posts: list[dict]) -> None:
    by_id = {p["id"]: p for p in posts}
    cf = load_glob(ROOT / "corpus" / "posts", "cf_*.jsonl")
    reply = [p for p in cf if p["needs_reply"]]
    assert len(reply) >= 1000 and len(cf) - len(reply) >= 500
    for p in cf:
        src = by_id[p["pair"]]
        assert p["id"] == src["id"] + "-cf" and p["split"] == src["split"], p["id"]  # same side of the split
        assert (p["topic"], p["needs_reply"], p["priority"]) == (src["topic"], src["needs_reply"], src["priority"])
    # a reply post's rewrite tells the problem without a question or an explicit ask; its source asked
    assert all("?" not in p["text"] for p in reply)
    assert sum(bool(ASK.search(p["text"])) for p in reply) <= 0.1 * len(reply)
    assert all("?" in by_id[p["pair"]]["text"] or ASK.search(by_id[p["pair"]]["text"]) for p in reply)


def test_blind_set_is_apart_and_realistic(posts: list[dict]) -> None:
    blind = load_glob(ROOT / "corpus" / "blind", "blind_*.jsonl")
    assert len(blind) >= 500
    assert [(p["id"], e) for p in blind for e in check_post(p)] == []
    assert not {p["id"] for p in blind} & {p["id"] for p in posts}
    assert all("split" not in p for p in blind)  # never in a training or dev split
    _assert_real_shape(blind)
    nd = [t for t in near_duplicates(blind + posts) if (t[0] in {b["id"] for b in blind}) != (t[1] in {b["id"] for b in blind})]
    assert nd == []
