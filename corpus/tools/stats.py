"""Corpus statistics for the datasheet: ``python corpus/tools/stats.py [--json corpus/stats.json]``.

Counts per label and split, lengths, places, lexical diversity (distinct word 3-grams over all word
3-grams) and near-duplicates (pairs sharing an 8-word sequence, or with character 5-gram Jaccard > 0.6;
the share of posts that have one must stay under 1%).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check import near_duplicates

ROOT = Path(__file__).resolve().parents[1]
WORD = re.compile(r"\w+")


def load(folder: Path = ROOT / "posts") -> list[dict]:
    return [json.loads(x) for f in sorted(folder.glob("*.jsonl")) for x in f.read_text("utf-8").splitlines() if x.strip()]


def stats(posts: list[dict]) -> dict:
    lengths = [len(p["text"]) for p in posts]
    grams: list[tuple[str, ...]] = []
    for p in posts:
        w = [x.lower() for x in WORD.findall(p["text"])]
        grams += [tuple(w[i : i + 3]) for i in range(len(w) - 2)]
    nd = near_duplicates(posts)
    with_nd = {a for a, _, _ in nd} | {b for _, b, _ in nd}
    topics = Counter(p["topic"] for p in posts)
    per_topic = {t: {"needs_reply": sum(p["topic"] == t and p["needs_reply"] for p in posts),
                     "no_reply": sum(p["topic"] == t and not p["needs_reply"] for p in posts),
                     "urgent": sum(p["topic"] == t and p["priority"] == "urgent" for p in posts),
                     "dev": sum(p["topic"] == t and p["split"] == "dev" for p in posts)} for t in sorted(topics)}
    regions = Counter(loc["region"] for p in posts for loc in p["localities"])
    return {
        "posts": len(posts),
        "split": dict(Counter(p["split"] for p in posts)),
        "sentiment": dict(Counter(p["sentiment"] for p in posts)),
        "needs_reply": dict(Counter(str(p["needs_reply"]).lower() for p in posts)),
        "priority": dict(Counter(str(p["priority"]) for p in posts)),
        "per_topic": per_topic,
        "length": {"min": min(lengths), "median": statistics.median(lengths), "mean": round(statistics.mean(lengths), 1),
                   "max": max(lengths), "under_60": sum(x < 60 for x in lengths),
                   "60_250": sum(60 <= x <= 250 for x in lengths), "over_250": sum(x > 250 for x in lengths)},
        "word_3grams": len(grams), "distinct_word_3grams": len(set(grams)),
        "distinct_3gram_ratio": round(len(set(grams)) / len(grams), 4),
        "near_duplicate_pairs": len(nd), "posts_with_near_duplicate": len(with_nd),
        "near_duplicate_share": round(len(with_nd) / len(posts), 4),
        "posts_with_places": sum(bool(p["localities"]) for p in posts),
        "localities": sum(len(p["localities"]) for p in posts),
        "regions_covered": len(regions),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    s = stats(load())
    print(json.dumps(s, ensure_ascii=False, indent=1))
    if a.json:
        a.json.write_text(json.dumps(s, ensure_ascii=False, indent=1) + "\n", "utf-8")


if __name__ == "__main__":
    main()
