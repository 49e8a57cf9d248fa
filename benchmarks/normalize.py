"""Normalizer speed: posts per second on one core for ~200-character posts, with and without lemmas.

Run: python benchmarks/normalize.py [--repeat 3]

Posts are the project's own writing (corpus/posts, examples/posts.jsonl), joined into posts of about 200
characters. negmon caches razdel's tokens per whitespace chunk and pymorphy3's lemmas per word, so the
numbers depend on what the caches have seen. Two settings, each in a fresh process:

- cold: empty caches, every post seen once (a short job);
- warm: the caches first see the corpus train split, then the posts built from the dev split and the
  examples (texts the caches have not seen) are timed (a long-running service or archive job).

The peer, run side by side, is the plain library pipeline a user would write: razdel.tokenize and, for lemmas,
pymorphy3's parse()[0].normal_form per word (no cache, no normalization). Ratios are negmon / peer.
Writes benchmarks/results/normalize.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULT = ROOT / "benchmarks" / "results" / "normalize.json"
TARGET_CHARS = 200


def _texts(split: str | None) -> list[str]:
    out = []
    for path in sorted((ROOT / "corpus" / "posts").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if split is None or row["split"] == split:
                out.append(row["text"])
    return out


def _join(texts: list[str]) -> list[str]:
    """Consecutive texts joined with a space until each post has about 200 characters."""
    posts, cur = [], ""
    for t in texts:
        cur = f"{cur} {t}" if cur else t
        if len(cur) >= TARGET_CHARS - 20:
            posts.append(cur[: TARGET_CHARS + 40])
            cur = ""
    return posts


def _measured_posts() -> list[str]:
    examples = [json.loads(x)["text"] for x in (ROOT / "examples" / "posts.jsonl").read_text().splitlines() if x]
    return _join(_texts("dev") + examples)


def _child(mode: str, lemmas: bool, repeat: int) -> dict[str, Any]:
    posts = _measured_posts()
    if mode.startswith("peer"):
        import razdel

        morph = None
        if lemmas:
            import pymorphy3

            morph = pymorphy3.MorphAnalyzer()
            morph.parse("прогрев")  # loads the dictionaries before timing, as negmon's warm-up does

        def run(batch: list[str]) -> None:
            for p in batch:
                words = [t.text for t in razdel.tokenize(p)]
                if morph is not None:
                    _ = [morph.parse(w)[0].normal_form for w in words]

        warm = []
    else:
        from negmon.normalize import normalize

        normalize("прогрев словарей", lemmas=True)  # loads pymorphy3 once, as any first call does

        def run(batch: list[str]) -> None:
            for p in batch:
                normalize(p, lemmas=lemmas)

        warm = _join(_texts("train")) if mode == "warm" else []
    run(warm)
    if mode == "cold" or mode.startswith("peer"):
        t = time.perf_counter()
        run(posts)  # every post once: the caches see each text for the first time
        best = time.perf_counter() - t
        if mode.startswith("peer"):  # the peer has no cache: best of several runs
            for _ in range(repeat - 1):
                t = time.perf_counter()
                run(posts)
                best = min(best, time.perf_counter() - t)
    else:
        t = time.perf_counter()
        run(posts)
        best = time.perf_counter() - t
    return {"posts": len(posts), "mean_chars": sum(map(len, posts)) / len(posts), "seconds": best,
            "posts_per_s": len(posts) / best}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of the peer (best is kept)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, lemmas = args.child[0], args.child[1] == "1"
        print(json.dumps(_child(mode, lemmas, args.repeat)))
        return
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
    rows: dict[str, dict[str, Any]] = {}
    for lemmas in (False, True):
        for mode in ("cold", "warm", "peer"):
            cmd = [sys.executable, __file__, "--repeat", str(args.repeat), "--child", mode, "1" if lemmas else "0"]
            if hasattr(os, "sched_setaffinity"):
                cmd = ["taskset", "-c", "0", *cmd]  # one core
            out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
            rows[f"{mode} {'with' if lemmas else 'without'} lemmas"] = json.loads(out.splitlines()[-1])
    first = next(iter(rows.values()))
    print(f"{first['posts']} posts of {first['mean_chars']:.0f} characters on average, one core, "
          f"{platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print("| setting | negmon posts/s | razdel(+pymorphy3) posts/s | ratio |")
    print("|---|---|---|---|")
    table = []
    for lemmas in ("without", "with"):
        peer = rows[f"peer {lemmas} lemmas"]["posts_per_s"]
        for mode in ("cold", "warm"):
            ours = rows[f"{mode} {lemmas} lemmas"]["posts_per_s"]
            line = f"| {mode}, {lemmas} lemmas | {ours:,.0f} | {peer:,.0f} | {ours / peer:.2f} |"
            table.append(line)
            print(line)
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps({"machine": {"cores_used": 1, "cpu_count": os.cpu_count(),
                                              "python": platform.python_version(), "system": platform.platform()},
                                  "rows": rows, "table": "\n".join(table)}, indent=2) + "\n")
    print(f"wrote {RESULT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
