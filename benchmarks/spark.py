"""The Spark engine against ``negmon score``: the same posts scored by the local engine (one process) and by
``negmon score --engine spark`` on local[1] and local[2], in one run.

    python benchmarks/spark.py [--posts 20000] [--model fast|default] [--work DIR]

The posts are the texts of the project's corpus (corpus/posts/*.jsonl), repeated until there are enough, each
repeat with its number appended (so that no two posts are the same), written as one JSONL file with an id.
Each engine runs in a fresh Python process, one after the other, and writes JSONL. For Spark the start-up (the
JVM and the session) is timed apart from the scoring (schema inference, row count, the part's job, the tally of
the output; the Python workers' model load is inside it). Both engines extract localities. The 1-minute load
average before and after each run is recorded: the machine should be otherwise idle. Writes
benchmarks/results/spark-MODEL.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _machine import machine

ROOT = Path(__file__).resolve().parents[1]


def write_posts(path: Path, n: int) -> None:
    texts = [json.loads(line)["text"] for f in sorted((ROOT / "corpus" / "posts").glob("*.jsonl"))
             for line in f.read_text("utf-8").splitlines() if line.strip()]
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            rep, k = divmod(i, len(texts))
            text = texts[k] if rep == 0 else f"{texts[k]} ({rep})"
            f.write(json.dumps({"id": i, "text": text}, ensure_ascii=False) + "\n")


def child(engine: str, src: str, out: str, model: str) -> dict[str, Any]:
    """One measured run, in this (fresh) process."""
    t0 = time.perf_counter()
    if engine == "local":
        from negmon.batch import score

        summary: Any = score([src], out, model=model, progress=False, force=True)
        return {"startup_s": 0.0, "score_s": time.perf_counter() - t0, "rows": summary.rows_in,
                "errors": summary.errors}
    from negmon import spark

    spark.session(engine, conf={"spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false"})
    t1 = time.perf_counter()
    summary = spark.score([src], out, model=model, force=True, progress=False)
    return {"startup_s": t1 - t0, "score_s": time.perf_counter() - t1, "rows": summary.rows_in,
            "errors": summary.errors, "parts": summary.parts}


def measure(engine: str, src: Path, work: Path, model: str) -> dict[str, Any]:
    out = work / (f"local-{model}.jsonl" if engine == "local" else f"spark-{engine[6:-1]}-{model}.jsonl")
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, __file__, "--child", engine, "--input", str(src), "--out", str(out),
                        "--model", model], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"{engine} failed: {p.stderr[-2000:]}")
    r = json.loads(p.stdout.strip().splitlines()[-1])
    r["process_s"] = wall
    r["load_average_after"] = os.getloadavg()[0]  # 1-minute load, this run's own share included
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--posts", type=int, default=20_000)
    ap.add_argument("--model", default="fast", help="fast (default) or default (the ONNX transformer: slow)")
    ap.add_argument("--work", help="folder for the posts and outputs (default: a temporary one)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--input", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(a.child, a.input, a.out, a.model)))
        return
    work = Path(a.work or tempfile.mkdtemp(prefix="negmon-spark-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    src = work / "posts.jsonl"
    write_posts(src, a.posts)
    load_before = os.getloadavg()
    runs: dict[str, dict[str, Any]] = {}
    for engine in ("local", "local[1]", "local[2]"):
        runs[engine] = measure(engine, src, work, a.model)
        assert runs[engine]["rows"] == a.posts and runs[engine]["errors"] == 0, runs[engine]
        shown = {k: round(v, 2) if isinstance(v, float) else v for k, v in runs[engine].items()}
        print(f"{engine}: {json.dumps(shown)}", flush=True)
    load_after = os.getloadavg()
    base = a.posts / runs["local"]["score_s"]
    rows = []
    for engine, r in runs.items():
        rate = a.posts / r["score_s"]
        overall = a.posts / (r["startup_s"] + r["score_s"])
        name = "`negmon score` (local engine)" if engine == "local" else f"`--engine spark`, {engine}"
        rows.append({"engine": name, "startup_s": round(r["startup_s"], 1), "score_s": round(r["score_s"], 1),
                     "posts_per_s": round(rate, 1), "posts_per_s_with_startup": round(overall, 1),
                     "vs_negmon_score": round(rate / base, 2),
                     "vs_negmon_score_with_startup": round(overall / base, 2),
                     "load_average_after": round(r["load_average_after"], 2)})
    print(f"\n{a.posts} posts, model {a.model}, load average before {load_before[0]:.2f}, "
          f"after {load_after[0]:.2f}\n")
    print("| engine | start-up s | scoring s | posts/s | posts/s with start-up | vs `negmon score` | load after |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        start = "—" if r["startup_s"] == 0 else f"{r['startup_s']:.1f}"
        print(f"| {r['engine']} | {start} | {r['score_s']:.1f} | {r['posts_per_s']:.0f} | "
              f"{r['posts_per_s_with_startup']:.0f} | {r['vs_negmon_score']:.2f}x "
              f"({r['vs_negmon_score_with_startup']:.2f}x with start-up) | {r['load_average_after']:.1f} |")
    result = {"posts": a.posts, "model": a.model, "output": "jsonl", "localities": True, "rows": rows,
              "runs": runs, "load_average_before": load_before, "load_average_after": load_after,
              "machine": machine()}
    out = ROOT / "benchmarks" / "results" / f"spark-{a.model}.json"
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", "utf-8")
    print(f"\nwritten to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
