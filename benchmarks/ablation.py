"""What each new data source adds: the fast tier retrained without it, measured on the realistic sets.

    python benchmarks/ablation.py [--config configs/fast.toml] [--C 4.0]

Rows (the topic, needs_reply and priority heads; sentiment does not use these sources): the config as it is; without the realistic batch (``corpus/posts/real_*``); without the counterfactual
rewrites (``cf_*``); without the real slice; without all three (the data of negmon 0.2). Each row is a fresh
``negmon train`` of the linear tier (one C for every row, so that only the data differs), with its own thresholds
chosen on its own dev set, measured on the blind realistic set, the real slice's dev half and corpus dev's
realistic part (a row that drops a source also drops it from dev, so its corpus-dev-realistic row is measured on
fewer posts: read the blind and real-dev columns to compare). Writes benchmarks/results/ablation.json.
"""

from __future__ import annotations

import argparse
import copy
import json
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = {
    "all sources": {},
    "- realistic batch": {"corpus_exclude": ["real_"]},
    "- counterfactual pairs": {"corpus_exclude": ["cf_"]},
    "- real slice": {"real": False},
    "- all three (0.2 data)": {"corpus_exclude": ["real_", "cf_"], "real": False},
}
QUICK = {  # --quick: one row per source
    "all sources": {},
    "- realistic batch": {"corpus_exclude": ["real_"]},
    "- counterfactual pairs": {"corpus_exclude": ["cf_"]},
    "- real slice": {"real": False},
}
SETS = ["blind", "real-dev", "corpus-dev-realistic"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default=str(ROOT / "configs" / "fast.toml"))
    ap.add_argument("--C", type=float, default=4.0)
    ap.add_argument("--quick", action="store_true", help="leave out the row without all three")
    a = ap.parse_args()

    from negmon.model import load_model
    from negmon.train.config import load_config
    from negmon.train.evaluate import evaluate, load_eval_set
    from negmon.train.linear import train_linear

    base = load_config(a.config)
    sets = {s: load_eval_set(s) for s in SETS}
    results: dict[str, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, change in (QUICK if a.quick else VARIANTS).items():
            cfg = copy.deepcopy(base)
            for k, v in change.items():
                setattr(cfg.data, k, v)
            cfg.linear.C = [a.C]
            cfg.linear.heads = ["topic", "needs_reply", "priority"]  # sentiment does not depend on these sources
            cfg.out = str(Path(tmp) / "model")
            t0 = time.time()
            model = load_model(train_linear(cfg))
            row = {}
            for s, recs in sets.items():
                h = evaluate(model, recs)["heads"]
                row[s] = {"needs_reply_f1": h["needs_reply"]["f1"], "needs_reply_recall": h["needs_reply"]["recall"],
                          "urgent_recall": h["priority"]["recall"], "topic_reply_f1": h["topic_reply"]["macro_f1"],
                          "n": len(recs)}
            results[name] = row
            print(f"{name}: trained and measured in {time.time() - t0:.0f}s", flush=True)
    print(f"\nfast tier ({base.id} recipe, C={a.C}); needs_reply F1 / recall, urgent recall, topic macro-F1 on reply posts")
    print("| data | " + " | ".join(f"{s} (n {sets[s] and len(sets[s])})" for s in SETS) + " |")
    print("| --- |" + " --- |" * len(SETS))
    for name, row in results.items():
        cells = [f"{r['needs_reply_f1']:.3f} / {r['needs_reply_recall']:.3f}, {r['urgent_recall']:.3f}, "
                 f"{r['topic_reply_f1']:.3f}" for r in (row[s] for s in SETS)]
        print(f"| {name} | " + " | ".join(cells) + " |")
    out = ROOT / "benchmarks" / "results" / "ablation.json"
    out.write_text(json.dumps({"config": a.config, "C": a.C, "results": results}, indent=1) + "\n", "utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
