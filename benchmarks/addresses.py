"""Address extraction: negmon.extract_addresses against natasha's AddrExtractor on corpus/addresses.jsonl.

Run: python benchmarks/addresses.py [--data corpus/addresses.jsonl corpus/addresses_holdout.jsonl] [--no-natasha]
     [--errors]

Scoring, the same for both systems: a predicted span is correct when it overlaps a gold span not matched yet
(one to one); precision, recall and F1 over spans. natasha's AddrExtractor (a yargy grammar for postal
addresses) returns spans and parts but no normal form in negmon's convention, so "normalized" (the share of
negmon's correct spans whose normal form equals the gold one, and F1 counting only those) is negmon's alone.
Speed: posts per second on one core, best of 3 runs over the whole set. addresses.jsonl (420 posts, two writers)
was read while negmon's rules were written; addresses_holdout.jsonl (120 posts, a third writer who saw neither
the others nor the code) was measured after. Writes benchmarks/results/addresses.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]


def score(gold: Sequence[Sequence[dict[str, Any]]], pred: Sequence[Sequence[dict[str, Any]]]) -> dict[str, Any]:
    """Span P/R/F1 (overlap, one to one), the normalized-form agreement on matches, and the errors."""
    tp = fp = fn = same = 0
    errors: list[tuple[str, int, str, str]] = []
    for i, (g, p) in enumerate(zip(gold, pred, strict=True)):
        used: set[int] = set()
        for x in p:
            hit = next((j for j, y in enumerate(g) if j not in used and x["start"] < y["end"] and y["start"] < x["end"]),
                       None)
            if hit is None:
                fp += 1
                errors.append(("fp", i, x["surface"], str(x.get("normalized", ""))))
                continue
            used.add(hit)
            tp += 1
            if x.get("normalized") == g[hit]["normalized"]:
                same += 1
            elif "normalized" in x:
                errors.append(("norm", i, x["surface"], f"{x['normalized']} != {g[hit]['normalized']}"))
        for j, y in enumerate(g):
            if j not in used:
                fn += 1
                errors.append(("fn", i, y["surface"], y["normalized"]))
    p_ = tp / (tp + fp) if tp + fp else 0.0
    r_ = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * p_ * r_ / (p_ + r_) if p_ + r_ else 0.0
    pn, rn = (same / (tp + fp) if tp + fp else 0.0), (same / (tp + fn) if tp + fn else 0.0)
    return {"precision": p_, "recall": r_, "f1": f1, "tp": tp, "fp": fp, "fn": fn,
            "normalized_share": same / tp if tp else 0.0,
            "normalized_f1": 2 * pn * rn / (pn + rn) if pn + rn else 0.0, "errors": errors}


def timed(fn: Callable[[], list[list[dict[str, Any]]]], n: int) -> tuple[list[list[dict[str, Any]]], float]:
    out = fn()  # warm-up (dictionaries, grammars)
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return out, n / best


def run_negmon(posts: list[dict[str, Any]]) -> tuple[list[list[dict[str, Any]]], float]:
    from negmon import extract_addresses

    return timed(lambda: [[a.as_dict() for a in extract_addresses(p["text"])] for p in posts], len(posts))


def run_natasha(posts: list[dict[str, Any]]) -> tuple[list[list[dict[str, Any]]], float]:
    from natasha import AddrExtractor, MorphVocab

    extractor = AddrExtractor(MorphVocab())

    def once() -> list[list[dict[str, Any]]]:
        return [[{"start": m.start, "end": m.stop, "surface": p["text"][m.start : m.stop]}
                 for m in extractor(p["text"])] for p in posts]

    return timed(once, len(posts))


def measure(path: Path, natasha: bool, errors: bool) -> dict[str, Any]:
    """Both systems on one set: prints the table, returns the rows."""
    posts = [json.loads(x) for x in path.read_text("utf-8").splitlines() if x.strip()]
    gold = [p["addresses"] for p in posts]
    rows: dict[str, dict[str, Any]] = {}
    pred, speed = run_negmon(posts)
    rows["negmon"] = {**score(gold, pred), "posts_per_s": speed}
    if natasha:
        try:
            npred, nspeed = run_natasha(posts)
            rows["natasha AddrExtractor"] = {**score(gold, npred), "posts_per_s": nspeed}
        except ImportError:
            print("natasha is not installed (pip install natasha): peer skipped", file=sys.stderr)
    chars = sum(len(p["text"]) for p in posts) / len(posts)
    print(f"\n{path.name}: {len(posts)} posts, {sum(map(len, gold))} gold addresses, mean {chars:.0f} characters; "
          "one thread")
    print("| system | P | R | F1 | normalized (share / F1) | posts/s |\n| --- | --- | --- | --- | --- | --- |")
    for name, r in rows.items():
        norm = f"{r['normalized_share']:.3f} / {r['normalized_f1']:.3f}" if name == "negmon" else "-"
        print(f"| {name} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} | {norm} | {r['posts_per_s']:,.0f} |")
    if len(rows) > 1:
        peer = rows["natasha AddrExtractor"]
        print(f"negmon / natasha: F1 {rows['negmon']['f1'] - peer['f1']:+.3f}, "
              f"speed {rows['negmon']['posts_per_s'] / peer['posts_per_s']:.1f}x")
    if errors:
        for e in rows["negmon"]["errors"]:
            print(*e, "|", posts[e[1]]["text"].replace("\n", " ")[:160])
    return {k: {kk: vv for kk, vv in v.items() if kk != "errors"} for k, v in rows.items()} | {
        "posts": len(posts), "gold": sum(map(len, gold)), "mean_chars": chars}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", nargs="+", type=Path,
                    default=[ROOT / "corpus" / "addresses.jsonl", ROOT / "corpus" / "addresses_holdout.jsonl"])
    ap.add_argument("--no-natasha", action="store_true")
    ap.add_argument("--errors", action="store_true", help="print negmon's misses, false hits and form errors")
    a = ap.parse_args()
    results = {p.name: measure(p, not a.no_natasha, a.errors) for p in a.data}
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "addresses.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", "utf-8")


if __name__ == "__main__":
    main()
