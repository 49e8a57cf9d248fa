"""Assign the fixed train/dev split: ``python corpus/tools/split.py`` (rewrites corpus/posts/*.jsonl).

Stratified by (topic, needs_reply): inside each group posts are ordered by the sha1 of their id and the
first 18% (rounded up) go to dev. The split is fixed: a post that has a split keeps it (also when its labels
are corrected later); only posts without one are assigned, so that each group's dev share stays at 18%.
Counterfactual rewrites (``posts/cf_*.jsonl``) carry the split of the post they rewrite (``pair``), so that a pair
always falls on one side.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

POSTS = Path(__file__).resolve().parents[1] / "posts"
DEV_SHARE = 0.18


def main() -> None:
    files = sorted(POSTS.glob("*.jsonl"))
    records = {f: [json.loads(x) for x in f.read_text("utf-8").splitlines() if x.strip()] for f in files}
    changed = {f for f, recs in records.items() if any("split" not in r for r in recs)}
    groups: dict[tuple[str, bool], list[dict]] = {}
    for recs in records.values():
        for r in recs:
            groups.setdefault((r["topic"], r["needs_reply"]), []).append(r)
    for rows in groups.values():
        rows.sort(key=lambda r: hashlib.sha1(r["id"].encode()).hexdigest())
        want_dev = math.ceil(len(rows) * DEV_SHARE) - sum(r.get("split") == "dev" for r in rows)
        for r in rows:
            if "split" not in r:
                r["split"] = "dev" if want_dev > 0 else "train"
                want_dev -= r["split"] == "dev"
    for f, recs in records.items():
        if f in changed:  # only files where a post got its split: writers may still be appending to others
            f.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs), "utf-8")
    n = sum(len(v) for v in records.values())
    dev = sum(r["split"] == "dev" for v in records.values() for r in v)
    print(f"{n} posts: {n - dev} train, {dev} dev ({dev / n:.1%})")


if __name__ == "__main__":
    main()
