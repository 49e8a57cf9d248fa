"""Incident grouping: negmon's IncidentTracker against two peers on corpus/incidents.jsonl.

Run: python benchmarks/incidents.py [--data corpus/incidents.jsonl] [--labels model|gold] [--model default]
     [--threshold 0.3] [--sweep]

The posts that need a reply (gold) are grouped; each system sees the same scored posts: with ``--labels model``
(default) their topic, priority, localities and addresses come from ``negmon.classify`` with ``--model``; with
``--labels gold`` the topic and priority are the gold ones. Peers, each with the best setting it can have on this
very set (an advantage negmon does not get: its threshold is fixed beforehand, or chosen with ``--sweep`` on the
dev part only):
  (a) same topic and settlement within W hours, single link (W swept over 6..72);
  (b) TF-IDF cosine (scikit-learn, word unigrams and bigrams, fitted on the set) single link within 72 hours,
      threshold swept over 0.05..0.95.
Measures: B-cubed precision, recall and F1 and pairwise F1 over the posts, and grouping speed (posts per
second, scored posts in, incidents out; negmon writes to a real SQLite file in a temporary folder). The dev part
is the posts marked ``"split": "dev"`` (writers A, B, E, F, G, H, on which the link model is fitted); the test part
those marked ``test`` (writers C and D, other regions and settlements, never read by the fitting).
Writes benchmarks/results/incidents.json.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
WINDOW = 72 * 3600


def single_link(n: int, linked: Callable[[int, int], bool], order: Sequence[int]) -> list[str]:
    """Connected components of the pairs ``linked`` accepts, among posts within 72 hours (``order``: by time)."""
    from negmon.train.incidents import components

    pairs = []
    for a_pos, i in enumerate(order):
        for j in order[a_pos + 1 :]:
            if TIMES[j] - TIMES[i] > WINDOW:
                break
            if linked(i, j):
                pairs.append((i, j))
    return components(range(n), pairs)


TIMES: list[float] = []


def load(path: Path) -> list[dict[str, Any]]:
    posts = [json.loads(x) for x in path.read_text("utf-8").splitlines() if x.strip()]
    return [p for p in posts if p["needs_reply"]]


def places(rows: list[dict[str, Any]]) -> list[str]:
    from negmon.incidents import IncidentTracker

    tracker = IncidentTracker(":memory:")
    return [p.place if (p := tracker.prepare(r)) else "?" for r in rows]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(ROOT / "corpus" / "incidents.jsonl"))
    ap.add_argument("--labels", choices=("model", "gold"), default="model")
    ap.add_argument("--model", default="default")
    ap.add_argument("--threshold", type=float, help="the link threshold (default: the fitted model's)")
    ap.add_argument("--sweep", action="store_true", help="print negmon's scores over thresholds, dev part only")
    ap.add_argument("--errors", action="store_true")
    a = ap.parse_args()
    posts = load(Path(a.data))
    from negmon.train.incidents import bcubed, group, scored_posts

    rows = scored_posts(posts, a.model, gold_topics=a.labels == "gold")
    gold = [p["incident"] for p in posts]
    global TIMES
    TIMES = [datetime.fromisoformat(p["created_at"]).timestamp() for p in posts]
    order = sorted(range(len(posts)), key=lambda i: TIMES[i])
    parts = {"all": list(range(len(posts))), "dev": [i for i, p in enumerate(posts) if p.get("split") == "dev"],
             "test": [i for i, p in enumerate(posts) if p.get("split") == "test"]}

    def on(part: str, pred: Sequence[str]) -> dict[str, float]:
        idx = parts[part]
        return bcubed([gold[i] for i in idx], [pred[i] for i in idx])

    if a.sweep:
        dev = parts["dev"]
        sub = [rows[i] for i in dev]
        for thr in (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5):
            pred, _ = group(sub, thr)
            print(f"threshold {thr:.2f}: dev B-cubed F1 {bcubed([gold[i] for i in dev], pred)['bcubed_f1']:.3f}")
        return
    table: dict[str, dict[str, Any]] = {}
    pred, speed = group(rows, a.threshold)
    from negmon.incidents import IncidentTracker

    threshold = a.threshold if a.threshold is not None else IncidentTracker(":memory:").threshold
    table["negmon"] = {p: on(p, pred) for p in parts} | {"posts_per_s": speed, "setting": f"link p >= {threshold}"}
    import random

    shuffled = list(range(len(rows)))
    random.Random(7).shuffle(shuffled)
    again, _ = group(rows, a.threshold, shuffled)
    table["negmon"]["shuffled_vs_in_order_bcubed_f1"] = bcubed(pred, again)["bcubed_f1"]

    where = places(rows)
    topic = [r["topic"] for r in rows]
    best: dict[str, Any] = {}
    t = time.perf_counter()
    for hours in (6, 12, 24, 48, 72):
        p = single_link(len(rows), lambda i, j, h=hours: topic[i] == topic[j] and where[i] == where[j]
                        and abs(TIMES[i] - TIMES[j]) <= h * 3600, order)
        r = on("all", p)
        if not best or r["bcubed_f1"] > best["all"]["bcubed_f1"]:
            best = {q: on(q, p) for q in parts} | {"setting": f"window {hours} h"}
    best["posts_per_s"] = 5 * len(rows) / (time.perf_counter() - t)
    table["peer (a): topic + settlement"] = best

    from sklearn.feature_extraction.text import TfidfVectorizer

    t = time.perf_counter()
    x = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit_transform([r["text"] for r in rows])
    sims = (x @ x.T).toarray()
    fit = time.perf_counter() - t
    best = {}
    t = time.perf_counter()
    steps = [round(0.05 * k, 2) for k in range(1, 20)]
    for thr in steps:
        p = single_link(len(rows), lambda i, j, c=thr: sims[i, j] >= c, order)
        r = on("all", p)
        if not best or r["bcubed_f1"] > best["all"]["bcubed_f1"]:
            best = {q: on(q, p) for q in parts} | {"setting": f"cosine >= {thr}"}
    best["posts_per_s"] = len(rows) / (fit + (time.perf_counter() - t) / len(steps))
    table["peer (b): TF-IDF single link"] = best

    print(f"{len(rows)} posts that need a reply in {len(set(gold))} gold incidents "
          f"({sum(1 for g in set(gold) if gold.count(g) == 1)} singletons); labels: {a.labels} ({a.model})")
    print("| system | setting | B-cubed P / R / F1 (all) | pairwise F1 (all) | B-cubed F1 dev | B-cubed F1 test "
          "| posts/s |\n| --- | --- | --- | --- | --- | --- | --- |")
    for name, r in table.items():
        al = r["all"]
        print(f"| {name} | {r['setting']} | {al['bcubed_precision']:.3f} / {al['bcubed_recall']:.3f} / "
              f"{al['bcubed_f1']:.3f} | {al['pairwise_f1']:.3f} | {r['dev']['bcubed_f1']:.3f} | "
              f"{r['test']['bcubed_f1']:.3f} | {r['posts_per_s']:,.0f} |")
    peer = max(v["all"]["bcubed_f1"] for k, v in table.items() if k != "negmon")
    print(f"negmon - better peer: {table['negmon']['all']['bcubed_f1'] - peer:+.3f} B-cubed F1; "
          f"shuffled input vs in order: B-cubed F1 {table['negmon']['shuffled_vs_in_order_bcubed_f1']:.3f}")
    if a.errors:
        members: dict[str, list[int]] = defaultdict(list)
        for i, p in enumerate(pred):
            members[p].append(i)
        for g in sorted(set(gold)):
            idx = [i for i in range(len(gold)) if gold[i] == g]
            if len({pred[i] for i in idx}) > 1 or any(gold[j] != g for i in idx for j in members[pred[i]]):
                print(f"== gold {g}:", [(posts[i]["id"], pred[i][-4:], rows[i]["topic"]) for i in idx])
                for i in idx:
                    print("   ", posts[i]["id"], pred[i][-4:], where[i], posts[i]["text"][:120].replace("\n", " "))
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "incidents.json").write_text(json.dumps(
        {"posts": len(rows), "incidents": len(set(gold)), "labels": a.labels, "model": a.model} | table,
        indent=2, ensure_ascii=False) + "\n", "utf-8")


if __name__ == "__main__":
    main()
