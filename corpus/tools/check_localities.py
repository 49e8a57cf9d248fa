"""Validate the locality evaluation set; optionally fill locality offsets.

Usage:
    python corpus/tools/check_localities.py corpus/localities.jsonl [--fix]

--fix rewrites the file in place, filling ``start``/``end`` of every locality from its ``surface``
(occurrences are taken left to right, whole words first, so a repeated surface gets successive occurrences).
Checks: JSON valid, ids unique, ``text[start:end] == surface``, ``region`` and ``region_hint`` canonical
subject names (or null), ``kind`` valid, tags known. Prints the number of posts, the number of distinct
regions covered, the posts per tag, and which of the 89 subjects are named fewer than twice.
Standard library only.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SUBJECTS = [
    s["name"] for s in json.loads((ROOT / "src/negmon/localities/data/subjects.json").read_text("utf-8"))
]
SUBJECT_SET = set(SUBJECTS)
FEDERAL_CITIES = {"Москва", "Санкт-Петербург", "Севастополь"}
KINDS = {"region", "district", "city", "town", "village"}
TAGS = {
    "case_nom",
    "case_gen",
    "case_dat",
    "case_acc",
    "case_ins",
    "case_prep",
    "lower",
    "abbreviation",
    "nickname",
    "multiword",
    "hyphen",
    "district",
    "village",
    "ambiguous",
    "trap_street",
    "trap_surname",
    "trap_org",
    "trap_word",
    "no_place",
    "several",
}
ID = re.compile(r"^[a-z]+-\d{4}$")


def is_word_char(c: str) -> bool:
    return c.isalnum() or c == "_"


def at_boundary(text: str, i: int, j: int) -> bool:
    return (i == 0 or not is_word_char(text[i - 1])) and (j >= len(text) or not is_word_char(text[j]))


def fill_offsets(p: dict) -> None:
    """Successive occurrences of each surface, left to right, preferring whole-word ones."""
    used: dict[str, int] = {}
    for loc in p["localities"]:
        s = loc.get("surface") or ""
        text = p["text"]
        start = used.get(s, 0)
        i = text.find(s, start)
        while i >= 0 and not at_boundary(text, i, i + len(s)):
            i = text.find(s, i + 1)
        if i < 0:
            i = text.find(s, start)
        if i >= 0 and s:
            loc["start"], loc["end"] = i, i + len(s)
            used[s] = i + len(s)


def check_post(p: dict) -> list[str]:
    errs = []
    for key in ("id", "text", "region_hint", "localities", "tags"):
        if key not in p:
            errs.append(f"missing {key}")
    if errs:
        return errs
    if not isinstance(p["id"], str) or not ID.match(p["id"]):
        errs.append(f"bad id {p['id']!r}")
    text = p["text"]
    if not isinstance(text, str) or not text.strip():
        return [*errs, "empty text"]
    if not 20 <= len(text) <= 400:
        errs.append(f"text length {len(text)} outside 20-400")
    if p["region_hint"] is not None and p["region_hint"] not in SUBJECT_SET:
        errs.append(f"region_hint {p['region_hint']!r} is not a canonical subject name")
    if not isinstance(p["tags"], list) or not p["tags"]:
        errs.append("tags must be a non-empty list")
    else:
        for t in p["tags"]:
            if t not in TAGS:
                errs.append(f"unknown tag {t!r}")
    if not isinstance(p["localities"], list):
        return [*errs, "localities must be a list"]
    spans = []
    for loc in p["localities"]:
        for key in ("surface", "start", "end", "name", "kind", "region"):
            if key not in loc:
                errs.append(f"locality missing {key}")
        if "start" in loc and "end" in loc:
            if text[loc["start"] : loc["end"]] != loc.get("surface"):
                errs.append(f"offsets of {loc.get('surface')!r} do not match the text")
            elif not at_boundary(text, loc["start"], loc["end"]):
                errs.append(f"{loc.get('surface')!r} is part of a longer word")
            spans.append((loc["start"], loc["end"]))
        if loc.get("region") not in SUBJECT_SET:
            errs.append(f"region {loc.get('region')!r} is not a canonical subject name")
        if loc.get("kind") not in KINDS:
            errs.append(f"bad kind {loc.get('kind')!r}")
        if loc.get("kind") == "region" and loc.get("name") != loc.get("region"):
            errs.append(f"region {loc.get('surface')!r}: name must equal the canonical region")
        if loc.get("name") in FEDERAL_CITIES and (
            loc.get("kind") != "city" or loc.get("region") != loc.get("name")
        ):
            errs.append(f"federal city {loc.get('name')!r} must be kind city with region = itself")
    spans.sort()
    for (_a, b), (c, _d) in itertools.pairwise(spans):
        if c < b:
            errs.append("overlapping locality spans")
    if p["region_hint"] is not None:
        if not p["localities"]:
            errs.append("region_hint set but no localities")
        for loc in p["localities"]:
            if loc.get("region") != p["region_hint"]:
                errs.append(f"{loc.get('surface')!r}: region differs from region_hint")
    tags = set(p["tags"]) if isinstance(p["tags"], list) else set()
    if not p["localities"] and not tags & {
        "no_place",
        "trap_street",
        "trap_surname",
        "trap_org",
        "trap_word",
    }:
        errs.append("empty localities but neither no_place nor a trap tag")
    if p["localities"] and "no_place" in tags:
        errs.append("no_place but localities given")
    if len(p["localities"]) >= 2 and "several" not in tags:
        errs.append("two or more localities but no 'several' tag")
    return errs


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("file", type=Path)
    ap.add_argument("--fix", action="store_true")
    a = ap.parse_args()
    bad = 0
    posts = []
    for n, line in enumerate(a.file.read_text("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            p = json.loads(line)
        except json.JSONDecodeError as e:
            print(f"{a.file}:{n}: broken JSON: {e}")
            bad += 1
            continue
        if a.fix and isinstance(p.get("localities"), list):
            fill_offsets(p)
        for e in check_post(p):
            print(f"{a.file}:{n}: {p.get('id')}: {e}")
            bad += 1
        posts.append(p)
    if a.fix:
        a.file.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in posts), "utf-8")
    ids = Counter(p.get("id") for p in posts)
    for i, c in ids.items():
        if c > 1:
            print(f"duplicate id {i} ({c} times)")
            bad += 1
    texts = Counter(p.get("text") for p in posts)
    for t, c in texts.items():
        if c > 1:
            print(f"duplicate text ({c} times): {t[:60]!r}")
            bad += 1

    tag_count = Counter(t for p in posts for t in p.get("tags", []))
    kind_count = Counter(loc.get("kind") for p in posts for loc in p.get("localities", []))
    covered = {loc.get("region") for p in posts for loc in p.get("localities", [])} & SUBJECT_SET
    named: dict[str, list[str]] = defaultdict(list)
    for p in posts:
        for loc in p.get("localities", []):
            if loc.get("kind") == "region" or (
                loc.get("kind") == "city" and loc.get("name") in FEDERAL_CITIES
            ):
                named[loc.get("name")].append(loc.get("surface"))
    hints = sum(1 for p in posts if p.get("region_hint"))
    print(f"{len(posts)} posts, {bad} problems")
    print(
        f"localities: {sum(kind_count.values())} ({', '.join(f'{k} {v}' for k, v in sorted(kind_count.items()))}); "
        f"posts with region_hint: {hints}; posts with no locality: {sum(1 for p in posts if not p.get('localities'))}"
    )
    print(f"distinct regions covered: {len(covered)} of {len(SUBJECTS)}")
    print("posts per tag: " + ", ".join(f"{t} {tag_count[t]}" for t in sorted(TAGS)))
    few = [s for s in SUBJECTS if len(named[s]) < 2]
    print(
        f"subjects named fewer than twice ({len(few)}): "
        + ("; ".join(f"{s} ({len(named[s])})" for s in few) or "none")
    )
    one_form = [s for s in SUBJECTS if len(named[s]) >= 2 and len({f.lower() for f in named[s]}) < 2]
    if one_form:
        print(f"subjects named by one form only ({len(one_form)}): " + "; ".join(one_form))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
