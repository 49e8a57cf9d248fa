"""``negmon report`` on 100,000 scored posts: time and size of the page, against a plain Altair page.

    python benchmarks/report.py [--posts 100000] [--weeks 26]

The scored posts: every post of the project's corpus (our own writing) scored once by the fast model with
reasons (``negmon score``), then drawn at random into ``--posts`` rows with a random date over ``--weeks``
weeks and an id each (a region's half-year of posts; places and topics as the corpus names them), and one
planted problem (one reply post about a town, 12 times more in the last week) that the page must list. Timed:
the command a user runs, ``negmon report scored.jsonl -o report.html`` (reading included): the first run on a
machine (vl-convert bundles Vega's JavaScript, then it is cached), a later run, and one with ``--images``. The peer, run on the same rows: the Altair heat map of place x topic saved by Altair itself as a
self-contained page (``chart.save(inline=True)``) with every row as data. Writes benchmarks/results/report.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from _machine import machine

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "results" / "tmp" / "report"
SPIKE = 12


def scored_corpus() -> Path:
    """The corpus scored once by the fast model with reasons (cached)."""
    out = WORK / "corpus-scored.jsonl"
    if out.is_file():
        return out
    WORK.mkdir(parents=True, exist_ok=True)
    src = WORK / "corpus.jsonl"
    with open(src, "w", encoding="utf-8") as f:
        for p in sorted((ROOT / "corpus" / "posts").glob("*.jsonl")):
            for line in p.read_text("utf-8").splitlines():
                if line.strip():
                    r = json.loads(line)
                    f.write(json.dumps({"id": r["id"], "text": r["text"]}, ensure_ascii=False) + "\n")
    subprocess.run([sys.executable, "-m", "negmon.cli", "score", str(src), "-o", str(out), "--model", "fast",
                    "--reasons", "--no-progress", "--force"], check=True)
    return out


def archive(n: int, weeks: int, seed: int = 7) -> Path:
    out = WORK / f"scored-{n}.jsonl"
    if out.is_file():
        return out
    rows = [json.loads(x) for x in scored_corpus().read_text("utf-8").splitlines() if x.strip()]
    rng = random.Random(seed)
    start = datetime(2026, 6, 1)
    # one planted problem: a reply post about a named town, 12 more times in the last week
    spike = next(r for r in rows if r["needs_reply"] and any(x["kind"] in ("city", "town") for x in r["localities"]))
    last = start + timedelta(weeks=weeks - 1)
    with open(out, "w", encoding="utf-8") as f:
        for i in range(n):
            r = dict(rng.choice(rows) if i < n - SPIKE else spike)
            r["id"] = f"b{i:07d}"
            when = start + timedelta(seconds=rng.randrange(weeks * 7 * 86400)) if i < n - SPIKE else (
                last + timedelta(seconds=rng.randrange(7 * 86400)))
            r["created_at"] = when.isoformat() + "+03:00"
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return out


def timed(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, check=True, env={**os.environ, **(env or {})})
    return {"seconds": round(time.perf_counter() - t0, 2), "stdout": p.stdout.strip()}


PEER = """
import sys, time, altair as alt
from negmon.moods import posts_frame
t0 = time.perf_counter()
df = posts_frame(sys.argv[1])[["settlement", "topic", "sentiment"]].fillna("-")
chart = alt.Chart(df).mark_rect().encode(x="topic:N", y="settlement:N", color="count():Q")
alt.data_transformers.disable_max_rows()
chart.save(sys.argv[2], inline=True)
print(round(time.perf_counter() - t0, 2))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--posts", type=int, default=100_000)
    ap.add_argument("--weeks", type=int, default=26)
    a = ap.parse_args()
    data = archive(a.posts, a.weeks)
    page = WORK / "report.html"
    negmon = [sys.executable, "-m", "negmon.cli", "report", str(data), "-o", str(page)]
    cold = tempfile.mkdtemp(prefix="negmon-cache-")
    runs = {
        "negmon report, first run (builds the Vega bundle)": timed(negmon, {"NEGMON_CACHE": cold}),
        "negmon report": timed(negmon, {"NEGMON_CACHE": cold}),
        "negmon report --images": timed([*negmon, "--images", str(WORK / "img")], {"NEGMON_CACHE": cold}),
        "peer: Altair inline page, heat map of every row": timed([sys.executable, "-c", PEER, str(data),
                                                                  str(WORK / "peer.html")]),
    }
    for name in runs:
        if name.startswith("negmon"):
            runs[name]["bytes"] = page.stat().st_size
    runs["peer: Altair inline page, heat map of every row"]["bytes"] = (WORK / "peer.html").stat().st_size
    base = runs["negmon report"]
    print(f"{a.posts:,} scored posts over {a.weeks} weeks ({data.stat().st_size / 1e6:.0f} MB of JSONL)\n")
    print("| run | seconds | page MB | time vs negmon report | size vs negmon report |")
    print("| --- | --- | --- | --- | --- |")
    for name, r in runs.items():
        print(f"| {name} | {r['seconds']:.1f} | {r['bytes'] / 1e6:.1f} | "
              f"{r['seconds'] / base['seconds']:.2f} | {r['bytes'] / base['bytes']:.2f} |")
    print("\n" + base["stdout"])
    out = ROOT / "benchmarks" / "results" / "report.json"
    out.write_text(json.dumps({"machine": machine(), "posts": a.posts, "weeks": a.weeks,
                               "input_bytes": data.stat().st_size, "runs": runs}, ensure_ascii=False, indent=1)
                   + "\n", "utf-8")


if __name__ == "__main__":
    main()
