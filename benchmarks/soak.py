"""Soak: score a large archive of good and broken rows, kill the run (SIGKILL) at random moments, resume, and
check that every row is accounted for exactly once.

    python benchmarks/soak.py [--rows 1000000] [--kills 10] [--out-format jsonl] [--seed 7] [--work DIR]

The archive is written by this script: posts built from a few dozen of the project's own phrases with a row
number, and every 37th row broken in one of eight ways (broken JSON, no text, text not a string, a JSON
array, bytes that are not UTF-8, a lone surrogate escape, an unknown region, NaN in a carried field). Rows with
a lone surrogate or a NaN must come out scored (U+FFFD, null), and so must an unknown region when localities
are off (the hint is unused); the other kinds are errors. The run uses the
fast model. Each kill comes at a uniformly random moment within the next share of the expected remaining time
(the rate is measured as the run goes); after each kill the run is resumed, and after the last kill it finishes. Then: output ids = the ids of the rows expected to be scored,
each exactly once, in input order; error lines = the lines expected to fail, each once; rows in = rows
written. Writes benchmarks/results/soak-FORMAT.json (runs of fewer than 1,000,000 rows write into --work).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _machine import machine

ROOT = Path(__file__).resolve().parents[1]
PHRASES = [
    "В Кстово третий день нет горячей воды, управляющая компания молчит",
    "Спасибо врачам второй поликлиники за внимательное отношение",
    "На улице Ленина яма во всю полосу, машины бьют колёса",
    "Автобус 42 снова не пришёл утром, люди стоят на морозе",
    "Во дворе дома 5 неделю не вывозят мусор",
    "Отличный концерт вчера в парке, всем советую",
    "Когда включат отопление в школе № 3?",
    "У нас опять отключили свет без предупреждения",
    "Хорошая погода, гуляли с детьми весь день",
    "Бродячие собаки у детской площадки пугают детей",
]
BAD_KINDS = ["broken_json", "no_text", "text_not_str", "array", "bad_bytes", "surrogate", "unknown_region", "nan"]
SCORED_BAD = {"surrogate", "nan"}  # damaged but scoreable: they must come out scored, not as errors


def write_archive(path: Path, rows: int, seed: int, localities: bool) -> tuple[list[int], list[int]]:
    """Write the archive; return the line numbers expected in the output and in the errors file (a region hint
    is checked only where localities are extracted: without them an unknown region is scored)."""
    ok = SCORED_BAD | (set() if localities else {"unknown_region"})
    rng = random.Random(seed)
    scored, failed = [], []
    with open(path, "wb") as f:
        for i in range(rows):
            line = i + 1
            text = f"{rng.choice(PHRASES)} ({i})"
            kind = BAD_KINDS[(i // 37) % len(BAD_KINDS)] if i % 37 == 36 else None
            if kind is None:
                raw = json.dumps({"id": i, "text": text, "likes": i % 50}, ensure_ascii=False).encode()
            elif kind == "broken_json":
                raw = b'{"id": %d, "text": "unterminated' % i
            elif kind == "no_text":
                raw = b'{"id": %d, "body": "x"}' % i
            elif kind == "text_not_str":
                raw = b'{"id": %d, "text": 5}' % i
            elif kind == "array":
                raw = b"[%d]" % i
            elif kind == "bad_bytes":
                raw = b'{"id": %d, "text": "\xff\xfe"}' % i
            elif kind == "surrogate":
                raw = b'{"id": %d, "text": "half an emoji \\ud83d %d"}' % (i, i)
            elif kind == "unknown_region":
                raw = json.dumps({"id": i, "text": text, "region": "Марс"}, ensure_ascii=False).encode()
            else:
                raw = b'{"id": %d, "text": "nan here", "likes": NaN}' % i
            f.write(raw + b"\n")
            (scored if kind is None or kind in ok else failed).append(line)
    return scored, failed


def run(args: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "negmon.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def read_ids(path: Path) -> list[int]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:  # type: ignore[operator]
        return [int(json.loads(line)["id"]) for line in f if line.strip()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--kills", type=int, default=10)
    ap.add_argument("--out-format", default="jsonl", choices=["jsonl", "jsonl.gz", "csv", "parquet"])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--work", default=str(ROOT / ".cache" / "soak"))
    ap.add_argument("--localities", action="store_true", help="extract localities too (slower)")
    a = ap.parse_args()
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    src = work / "archive.jsonl"
    out = work / f"scored.{a.out_format}"
    errors = work / "errors.jsonl"
    t0 = time.time()
    want_scored, want_failed = write_archive(src, a.rows, a.seed, a.localities)
    print(f"archive: {a.rows} rows ({len(want_failed)} broken) in {time.time() - t0:.0f}s", flush=True)
    common = ["score", str(src), "-o", str(out), "--errors", str(errors), "--model", "fast", "--no-progress"]
    if not a.localities:
        common.append("--no-localities")
    rng = random.Random(a.seed)
    log: list[dict[str, Any]] = []
    rate = None
    start = time.time()
    p = run([*common, "--force"])
    for k in range(a.kills):
        state = out.with_name(out.name + ".negmon-state.json")
        done = json.loads(state.read_text())["rows_done"] if state.exists() else 0
        left = (a.rows - done) / rate if rate else 40.0
        wait = rng.uniform(1.0, max(2.0, 1.6 * left / (a.kills - k + 1)))
        t = time.time()
        try:
            p.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGKILL)
            p.wait()
        else:
            raise SystemExit(f"the run ended before kill {k + 1}: {p.stderr.read().decode()[-500:]}")  # type: ignore[union-attr]
        done_after = json.loads(state.read_text())["rows_done"] if state.exists() else 0
        if done_after > done:
            rate = done_after / max(time.time() - start, 1e-9)
        log.append({"kill": k + 1, "after_s": round(time.time() - t, 2), "rows_done_at_kill": done_after})
        print(f"kill {k + 1}: after {time.time() - t:.1f}s, {done_after} rows checkpointed", flush=True)
        p = run([*common, "--resume"])
    stdout, stderr = p.communicate()
    if p.returncode != 0:
        raise SystemExit(f"the last resume failed: {stderr.decode()[-1000:]}")
    wall = time.time() - start
    summary = stdout.decode().splitlines()[0]
    got_ids = read_ids(out) if a.out_format != "parquet" else _parquet_ids(out)
    got_failed = [json.loads(x)["line"] for x in errors.read_text("utf-8").split("\n") if x]
    want_ids = [line - 1 for line in want_scored]
    checks = {
        "output ids = expected, in order, each once": got_ids == want_ids,
        "error lines = expected, each once": sorted(got_failed) == want_failed and len(set(got_failed)) == len(got_failed),
        "summary rows in = rows written": f"rows in: {a.rows}  scored: {len(want_ids)}  errors: {len(want_failed)}" in summary,
    }
    result = {
        "rows": a.rows, "broken": len(want_failed), "scored_damaged": sum(1 for i in range(a.rows) if i % 37 == 36)
        - len(want_failed), "kills": log, "output_format": a.out_format, "localities": a.localities,
        "wall_s": round(wall, 1), "summary": summary, "checks": checks,
        "machine": machine(),
    }
    results = ROOT / "benchmarks" / "results" if a.rows >= 1_000_000 else work  # small trial runs stay local
    (results / f"soak-{a.out_format}.json").write_text(
        json.dumps(result, ensure_ascii=False, indent=2) + "\n", "utf-8")
    print(summary)
    for name, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'}  {name}")
    if not all(checks.values()):
        raise SystemExit(1)


def _parquet_ids(path: Path) -> list[int]:
    import pyarrow.parquet as pq

    return [int(x) for x in pq.read_table(path, columns=["id"]).column("id").to_pylist()]


if __name__ == "__main__":
    main()
