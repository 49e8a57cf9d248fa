"""Merge the two blind annotation passes of the real slice into ``corpus/real/labels.jsonl``.

    python corpus/tools/real_labels.py agreement   # kappa of pass 1 vs pass 2, and the disagreements to settle
    python corpus/tools/real_labels.py merge       # write labels.jsonl (adjudication wins where given)

Inputs, all label-only (no texts: those stay in ../shared/data): ``corpus/real/candidates.jsonl`` (key, file,
row, sha256 of each candidate), ``corpus/real/pass1.jsonl`` and ``pass2.jsonl`` (key and four labels, written
blind by two annotators), ``corpus/real/adjudicated.jsonl`` (key and the settled labels where the passes
differ). A post keeps the labels both passes agree on; the split puts 40% of each (topic, needs_reply) group in
dev, ordered by the sha1 of the post id.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
REAL = Path(__file__).resolve().parents[1] / "real"
LABELS = ("sentiment", "topic", "needs_reply", "priority")
DEV_SHARE = 0.4


def _read(name: str) -> dict[str, dict]:
    p = REAL / name
    if not p.is_file():
        return {}
    return {r["key"]: r for r in (json.loads(x) for x in p.read_text("utf-8").splitlines() if x.strip())}


def _read_list(name: str) -> list[dict]:
    p = REAL / name
    return [json.loads(x) for x in p.read_text("utf-8").splitlines() if x.strip()] if p.is_file() else []


def _key(c: dict) -> str:
    from negmon.train.data import text_key
    from negmon.train.real import read_row

    return text_key(read_row(c["file"], c["row"]))


def _test_keys() -> set[str]:
    """Keys of every text of the test sets negmon reports on (empty without ../shared/data)."""
    from negmon.train.data import shared_data_dir, test_texts, text_key

    return {text_key(t) for t in test_texts()} if shared_data_dir() else set()


def kappa(a: list, b: list) -> float:
    """Cohen's kappa of two label lists."""
    n = len(a)
    if not n:
        return float("nan")
    po = sum(x == y for x, y in zip(a, b, strict=True)) / n
    cats = set(a) | set(b)
    pe = sum((a.count(c) / n) * (b.count(c) / n) for c in cats)
    return (po - pe) / (1 - pe) if pe < 1 else 1.0


def agreement() -> list[str]:
    """Print kappa per label; return the keys where the passes differ on any label."""
    p1, p2 = _read("pass1.jsonl"), _read("pass2.jsonl")
    keys = sorted(set(p1) & set(p2))
    print("| label | posts | raw agreement | Cohen's kappa |\n| --- | --- | --- | --- |")
    for lab in LABELS:
        ks = keys if lab != "priority" else [k for k in keys if p1[k]["needs_reply"] and p2[k]["needs_reply"]]
        a, b = [str(p1[k][lab]) for k in ks], [str(p2[k][lab]) for k in ks]
        raw = sum(x == y for x, y in zip(a, b, strict=True)) / max(1, len(ks))
        print(f"| {lab} | {len(ks)} | {raw:.3f} | {kappa(a, b):.3f} |")
    return [k for k in keys if any(p1[k][lab] != p2[k][lab] for lab in LABELS)]


def merge() -> int:
    cands, p1, p2, adj = _read("candidates.jsonl"), _read("pass1.jsonl"), _read("pass2.jsonl"), _read("adjudicated.jsonl")
    kept = {r["id"]: r["split"] for r in _read_list("labels.jsonl")}  # a post keeps the split it has
    tests = _test_keys()
    out = []
    unsettled = []
    dropped = []
    for key, c in cands.items():
        if key not in p1 or key not in p2:
            continue
        if tests and _key(c) in tests:  # a text that a benchmark reports on never enters the slice
            dropped.append(key)
            continue
        same = all(p1[key][lab] == p2[key][lab] for lab in LABELS)
        if not same and key not in adj:
            unsettled.append(key)
            continue
        lab = p1[key] if same else adj[key]
        rec = {"id": f"real-{key}", "file": c["file"], "row": c["row"], "sha256": c["sha256"],
               **{k: lab[k] for k in LABELS}, "adjudicated": not same}
        if (rec["topic"] == "other" and rec["needs_reply"]) or bool(rec["needs_reply"]) != (rec["priority"] is not None):
            raise ValueError(f"{key}: inconsistent labels {rec}")
        out.append(rec)
    groups: dict[tuple, list[dict]] = {}
    for r in out:
        groups.setdefault((r["topic"], r["needs_reply"]), []).append(r)
    for rows in groups.values():
        rows.sort(key=lambda r: hashlib.sha1(r["id"].encode()).hexdigest())
        want = (math.ceil(len(rows) * DEV_SHARE) if len(rows) > 1 else 0) - sum(kept.get(r["id"]) == "dev" for r in rows)
        for r in rows:
            if r["id"] in kept:
                r["split"] = kept[r["id"]]
            else:
                r["split"] = "dev" if want > 0 else "train"
                want -= r["split"] == "dev"
    out.sort(key=lambda r: r["id"])
    (REAL / "labels.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in out), "utf-8")
    dev = [r for r in out if r["split"] == "dev"]
    print(f"{len(out)} labelled ({sum(r['needs_reply'] for r in out)} need a reply); dev {len(dev)} "
          f"({sum(r['needs_reply'] for r in dev)} need a reply); {len(unsettled)} disagreements not settled; "
          f"dropped as texts of a test set: {dropped}")
    return 1 if unsettled else 0


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else "agreement"
    if cmd == "merge":
        sys.exit(merge())
    diff = agreement()
    print(f"{len(diff)} posts differ")
    sys.exit(0)
