"""What ``reasons=True`` costs per post length, against one classify and against unbounded occlusion.

    python benchmarks/reasons.py [--lengths 100,300,1000,4000,20000] [--reps 3]

Posts of each length are made by joining the project's corpus dev posts that need a reply (our own writing)
and cutting at the length. For the default and the fast model, in one process each: the median time of
``classify`` without and with reasons, their ratio, and the number of variants scored. Beside it, the peer:
the unbounded occlusion negmon used before (every phrase of the whole post removed in turn), run only where
it finishes in reasonable time, so the gain is measured side by side on the same posts. Last, the command a
user runs, ``negmon classify - `` on the 20,000-character post with reasons on (the default model): wall time
and peak memory of the process. Writes benchmarks/results/reasons.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _machine import machine

ROOT = Path(__file__).resolve().parents[1]


def posts_of_length(lengths: list[int]) -> dict[int, str]:
    texts = []
    for f in sorted((ROOT / "corpus" / "posts").glob("*.jsonl")):
        for line in f.read_text("utf-8").splitlines():
            p = json.loads(line)
            if p.get("split") == "dev" and p.get("needs_reply"):
                texts.append(p["text"])
    joined = "\n".join(texts)
    return {n: joined[:n] for n in lengths}


def unbounded(model: Any, n: Any, probs: dict[str, Any]) -> int:
    """The occlusion of negmon 0.3: every phrase of the whole post, each variant re-normalized in full."""
    from negmon.explain import phrases
    from negmon.normalize import normalize

    spans = phrases(n)
    variants = [normalize(n.text[:a] + " " + n.text[b:]) for a, b in spans]
    if len(variants) >= 2:
        model.predict(variants)
    return len(variants)


def measure(model_name: str, posts: dict[int, str], reps: int, peer_max: int) -> list[dict[str, Any]]:
    from negmon import Classifier
    from negmon.normalize import normalize

    clf = Classifier.load(model_name)
    clf.classify("прогрев модели: нет воды")
    counted: list[int] = []
    predict = clf.model.predict

    def counting(batch: list[Any]) -> Any:
        counted.append(len(batch))
        return predict(batch)

    rows = []
    for length, text in posts.items():
        plain = statistics.median(_time(lambda t=text: clf.classify(t)) for _ in range(reps))
        clf.model.predict = counting
        counted.clear()
        r = clf.classify(text, reasons=True)
        variants = sum(counted[1:])
        del clf.model.predict
        with_reasons = statistics.median(_time(lambda t=text: clf.classify(t, reasons=True)) for _ in range(reps))
        row = {"model": model_name, "chars": length, "classify_s": round(plain, 4),
               "with_reasons_s": round(with_reasons, 4), "ratio": round(with_reasons / plain, 1),
               "variants": variants, "reasons": len(r.reasons), "needs_reply": r.needs_reply}
        if length <= peer_max:
            n = normalize(text[: clf.max_chars])
            probs = clf.model.predict([n])
            t0 = time.perf_counter()
            k = unbounded(clf.model, n, {h: v[0] for h, v in probs.items()})
            row["peer_unbounded_s"] = round(plain + time.perf_counter() - t0, 3)
            row["peer_variants"] = k
        rows.append(row)
        print(json.dumps(row, ensure_ascii=False), flush=True)
    return rows


def _time(fn: Any) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def cli_run(text: str) -> dict[str, Any]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "negmon.cli", "classify", "-", "--compact"], input=text.encode(),
                       capture_output=True, check=True)
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out = json.loads(p.stdout)
    return {"chars": len(text), "wall_s": round(wall, 2), "peak_rss_mb": round(max(peak, before) / 1024),
            "reasons": [x["text"] for x in out["reasons"]]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lengths", default="100,300,1000,4000,20000")
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    lengths = [int(x) for x in a.lengths.split(",")]
    posts = posts_of_length(lengths)
    rows = measure("fast", posts, a.reps, peer_max=4000) + measure("default", posts, a.reps, peer_max=1000)
    cli = [cli_run(posts[max(lengths)]) for _ in range(3)]
    result = {"rows": rows, "cli_default_with_reasons": cli, "machine": machine()}
    (ROOT / "benchmarks" / "results" / "reasons.json").write_text(
        json.dumps(result, ensure_ascii=False, indent=2) + "\n", "utf-8")
    print(f"\n{'model':8s} {'chars':>6s} {'classify':>9s} {'+reasons':>9s} {'ratio':>6s} {'variants':>8s} "
          f"{'peer (unbounded)':>17s} {'peer variants':>13s}")
    for r in rows:
        peer = f"{r['peer_unbounded_s']:.3f}s" if "peer_unbounded_s" in r else "-"
        print(f"{r['model']:8s} {r['chars']:6d} {r['classify_s']:8.3f}s {r['with_reasons_s']:8.3f}s "
              f"{r['ratio']:6.1f} {r['variants']:8d} {peer:>17s} {r.get('peer_variants', '-')!s:>13s}")
    for c in cli:
        print(f"negmon classify - (default, reasons on), {c['chars']} chars: {c['wall_s']:.2f}s, "
              f"peak RSS {c['peak_rss_mb']} MB")


if __name__ == "__main__":
    main()
