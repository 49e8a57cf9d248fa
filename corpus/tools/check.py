"""Validate corpus files; optionally fill locality offsets; report near-duplicates.

Usage:
    python corpus/tools/check.py corpus/posts/roads.jsonl [more files] [--fix] [--against corpus/posts/*.jsonl]

--fix rewrites each file in place, filling ``start``/``end`` of every locality from its ``surface``
(occurrences are taken left to right, so a place named twice gets two entries with different offsets).
Near-duplicates: two posts that share an 8-word sequence, or whose character 5-gram Jaccard is > 0.6.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from negmon.train.data import SENTIMENTS, TOPICS  # the one list (TAXONOMY.md)

PRIORITIES = {"urgent", "normal", None}
SUBJECTS = {
    s["name"]
    for s in json.loads(
        (Path(__file__).resolve().parents[2] / "src/negmon/localities/data/subjects.json").read_text("utf-8")
    )
}
WORD = re.compile(r"\w+")


def check_post(p: dict) -> list[str]:
    errs = []
    for key in ("id", "text", "sentiment", "topic", "needs_reply", "priority", "localities"):
        if key not in p:
            errs.append(f"missing {key}")
    if errs:
        return errs
    if not isinstance(p["text"], str) or not p["text"].strip():
        errs.append("empty text")
    if p["sentiment"] not in SENTIMENTS:
        errs.append(f"bad sentiment {p['sentiment']!r}")
    if p["topic"] not in TOPICS:
        errs.append(f"bad topic {p['topic']!r}")
    if not isinstance(p["needs_reply"], bool):
        errs.append("needs_reply must be true/false")
    if p["priority"] not in PRIORITIES:
        errs.append(f"bad priority {p['priority']!r}")
    if p["needs_reply"] and p["priority"] is None:
        errs.append("needs_reply true requires priority urgent|normal")
    if not p["needs_reply"] and p["priority"] is not None:
        errs.append("priority must be null when needs_reply is false")
    if p["topic"] == "other" and p["needs_reply"]:
        errs.append("topic other never needs a reply")
    for loc in p["localities"]:
        for key in ("surface", "start", "end", "name", "region"):
            if key not in loc:
                errs.append(f"locality missing {key}")
        if "start" in loc and "end" in loc and p["text"][loc["start"] : loc["end"]] != loc.get("surface"):
            errs.append(f"offsets of {loc.get('surface')!r} do not match the text")
        if loc.get("region") not in SUBJECTS:
            errs.append(f"region {loc.get('region')!r} is not a canonical subject name")
    return errs


def _whole_word(text: str, i: int, j: int) -> bool:
    return (i == 0 or not text[i - 1].isalnum()) and (j >= len(text) or not text[j].isalnum())


def fill_offsets(p: dict) -> None:
    """Offsets of each locality's surface, left to right, preferring whole-word occurrences."""
    pos: dict[str, int] = {}
    text = p["text"]
    for loc in p["localities"]:
        s = loc["surface"]
        start = pos.get(s, 0)
        i = text.find(s, start)
        j = i
        while j >= 0 and not _whole_word(text, j, j + len(s)):
            j = text.find(s, j + 1)
        i = j if j >= 0 else i
        if i >= 0:
            loc["start"], loc["end"] = i, i + len(s)
            pos[s] = i + len(s)


def shingles(text: str) -> tuple[set, set]:
    words = [w.lower() for w in WORD.findall(text)]
    w8 = {tuple(words[i : i + 8]) for i in range(len(words) - 7)}
    t = " ".join(words)
    c5 = {t[i : i + 5] for i in range(len(t) - 4)}
    return w8, c5


def near_duplicates(posts: list[dict], focus: set[str] | None = None) -> list[tuple[str, str, str]]:
    """Pairs of near-duplicate posts; with ``focus`` (ids), only the pairs that involve one of those posts."""
    sh = [(p["id"], *shingles(p["text"])) for p in posts]
    mine = [focus is None or s[0] in focus for s in sh]
    by8: dict[tuple, list[int]] = {}
    for i, (_, w8, _) in enumerate(sh):
        for g in w8:
            by8.setdefault(g, []).append(i)
    pairs: dict[tuple[int, int], str] = {}
    for idx in by8.values():
        for a in range(len(idx)):
            for b in range(a + 1, len(idx)):
                if idx[a] != idx[b] and (mine[idx[a]] or mine[idx[b]]):
                    pairs[(min(idx[a], idx[b]), max(idx[a], idx[b]))] = "8-word"
    by5: dict[str, list[int]] = {}
    for i, (_, _, c5) in enumerate(sh):
        for g in c5:
            by5.setdefault(g, []).append(i)
    for i, (_, _, c5) in enumerate(sh):
        if not mine[i]:
            continue
        counts: dict[int, int] = {}
        for g in c5:
            lst = by5[g]
            if len(lst) > 300:
                continue
            for j in lst:
                if j > i or (j < i and not mine[j]):
                    counts[j] = counts.get(j, 0) + 1
        for j, inter in counts.items():
            other = sh[j][2]
            union = len(c5) + len(other) - inter
            if union and inter / union > 0.6:
                pairs.setdefault((min(i, j), max(i, j)), f"jaccard {inter / union:.2f}")
    return [(sh[a][0], sh[b][0], why) for (a, b), why in sorted(pairs.items())]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--fix", action="store_true")
    ap.add_argument("--against", nargs="*", type=Path, default=[])
    a = ap.parse_args()
    bad = 0
    posts = []
    for f in a.files:
        lines = f.read_text("utf-8").splitlines()
        out = []
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                p = json.loads(line)
            except json.JSONDecodeError as e:
                print(f"{f}:{n}: broken JSON: {e}")
                bad += 1
                continue
            if a.fix and isinstance(p.get("localities"), list):
                fill_offsets(p)
            for e in check_post(p):
                print(f"{f}:{n}: {p.get('id')}: {e}")
                bad += 1
            out.append(p)
        if a.fix:
            f.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in out), "utf-8")
        posts += out
    ids = [p["id"] for p in posts]
    dup_ids = {i for i in ids if ids.count(i) > 1}
    if dup_ids:
        print("duplicate ids:", sorted(dup_ids))
        bad += len(dup_ids)
    pool = list(posts)
    own = {p["id"] for p in posts}
    for f in a.against:
        if f in a.files:
            continue
        pool += [json.loads(x) for x in f.read_text("utf-8").splitlines() if x.strip()]
    nd = near_duplicates(pool, focus=own)
    for x, y, why in nd:
        print(f"near-duplicate: {x} ~ {y} ({why})")
    print(f"{len(posts)} posts, {bad} problems, {len(nd)} near-duplicate pairs")
    return 1 if bad or nd else 0


if __name__ == "__main__":
    sys.exit(main())
