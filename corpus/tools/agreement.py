"""Inter-annotator agreement: ``python corpus/tools/agreement.py [--disagreements]``.

Compares corpus/annotation/second_pass.jsonl (a blind second annotation of dev posts) with the first
labels frozen in corpus/annotation/first_pass.jsonl (taken before adjudication changed any corpus label)
and prints Cohen's kappa and raw agreement per label. Priority is compared on the posts both annotators
flagged as needing a reply.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LABELS = ("sentiment", "topic", "needs_reply", "priority")


def load(path: Path) -> dict[str, dict]:
    return {r["id"]: r for r in (json.loads(x) for x in path.read_text("utf-8").splitlines() if x.strip())}


def agreement(first: dict[str, dict], second: dict[str, dict]) -> dict[str, dict]:
    """Cohen's kappa, raw agreement and n per label."""
    from sklearn.metrics import cohen_kappa_score

    out = {}
    ids = [i for i in second if i in first]
    for label in LABELS:
        use = [i for i in ids if label != "priority" or (first[i]["needs_reply"] and second[i]["needs_reply"])]
        a = [str(first[i][label]) for i in use]
        b = [str(second[i][label]) for i in use]
        out[label] = {"n": len(use), "kappa": float(cohen_kappa_score(a, b)),
                      "agreement": sum(x == y for x, y in zip(a, b, strict=True)) / len(use)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--disagreements", action="store_true")
    a = ap.parse_args()
    first = load(ROOT / "annotation" / "first_pass.jsonl")
    second = load(ROOT / "annotation" / "second_pass.jsonl")
    res = agreement(first, second)
    print("| label | posts | raw agreement | Cohen's kappa |\n| --- | --- | --- | --- |")
    for label, r in res.items():
        print(f"| {label} | {r['n']} | {r['agreement']:.3f} | {r['kappa']:.3f} |")
    if a.disagreements:
        for i, s in second.items():
            diff = [f"{k}: {first[i][k]} / {s[k]}" for k in LABELS if first[i][k] != s[k]]
            if diff:
                print(i, "|", "; ".join(diff), "|", first[i]["text"][:160].replace("\n", " "))


if __name__ == "__main__":
    main()
