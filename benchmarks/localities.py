"""Locality extraction quality and speed: negmon against natasha's NER, on corpus/localities.jsonl.

Run: python benchmarks/localities.py [--data corpus/localities.jsonl] [--no-natasha] [--coverage SHARED]

Scoring: negmon.localities.evaluate.score (a name is correct when its span overlaps the gold span and
the names agree, case and ё/е ignored; region accuracy is over the correct names). natasha (the peer) tags LOC spans and normalizes them; it has no regions, so its region accuracy is
empty. A set whose gold marks no part of a city (the first two sets were written before parts of cities were
annotated) is scored on settlements, districts and regions only. Speed: posts per second on one core, the whole
set tokenized and tagged, best of 3 runs. ``--coverage ../shared/data`` adds the coverage tables of
tests/geo_coverage.py on data the project did not write: every hflabs city in sentences (capitalised and lower
case) and every rural settlement of OKTMO volumes 3 and 5 after its marker, with and without its district.
Writes benchmarks/results/localities.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from negmon.localities.evaluate import SETTLEMENT_KINDS, score

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]


def run_negmon(posts: list[dict[str, Any]]) -> tuple[list[list[dict[str, Any]]], float]:
    from negmon import extract_localities

    def once() -> list[list[dict[str, Any]]]:
        return [
            [loc.as_dict() for loc in extract_localities(p["text"], region=p.get("region_hint"))]
            for p in posts
        ]

    out = once()  # warm-up: loads the gazetteer
    best = min(_timed(once) for _ in range(3))
    return out, len(posts) / best


def _timed(fn: Any) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def run_natasha(posts: list[dict[str, Any]]) -> tuple[list[list[dict[str, Any]]], float]:
    from natasha import Doc, MorphVocab, NewsEmbedding, NewsMorphTagger, NewsNERTagger, Segmenter

    seg, emb = Segmenter(), NewsEmbedding()
    ner, morph_tagger, vocab = NewsNERTagger(emb), NewsMorphTagger(emb), MorphVocab()

    def once(normalize: bool) -> list[list[dict[str, Any]]]:
        out = []
        for p in posts:
            doc = Doc(p["text"])
            doc.segment(seg)
            doc.tag_ner(ner)
            locs = []
            if normalize:
                doc.tag_morph(morph_tagger)
            for s in doc.spans:
                if s.type != "LOC":
                    continue
                name = s.text
                if normalize:
                    s.normalize(vocab)
                    name = s.normal
                locs.append(
                    {"start": s.start, "end": s.stop, "surface": s.text, "name": name, "region": None}
                )
            out.append(locs)
        return out

    out = once(True)
    best = min(_timed(lambda: once(True)) for _ in range(3))
    return out, len(posts) / best


def long_posts() -> list[dict[str, Any]]:
    """The project corpus's posts joined into posts of about 200 characters (for the speed rows)."""
    posts, cur = [], ""
    for path in sorted((ROOT / "corpus" / "posts").glob("*.jsonl")):
        for line in path.read_text("utf-8").splitlines():
            cur = f"{cur} {json.loads(line)['text']}" if cur else json.loads(line)["text"]
            if len(cur) >= 180:
                posts.append({"text": cur[:240]})
                cur = ""
    return posts[:1000]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(ROOT / "corpus" / "localities.jsonl"))
    ap.add_argument("--no-natasha", action="store_true")
    ap.add_argument("--errors", action="store_true", help="print negmon's misses and false hits")
    ap.add_argument(
        "--coverage",
        type=Path,
        metavar="SHARED_DATA",
        help="../shared/data: add the hflabs and OKTMO coverage tables",
    )
    a = ap.parse_args()
    posts = [json.loads(x) for x in Path(a.data).read_text("utf-8").splitlines() if x.strip()]
    gold = [p["localities"] for p in posts]
    chars = sum(len(p["text"]) for p in posts) / len(posts)
    rows = {}
    parts = any(x["kind"] in ("city_district", "city_part") for g in gold for x in g)
    kinds = None if parts else SETTLEMENT_KINDS
    pred, speed = run_negmon(posts)
    rows["negmon"] = {**score(gold, pred, kinds=kinds), "posts_per_s": speed}
    if not a.no_natasha:
        try:
            npred, nspeed = run_natasha(posts)
            rows["natasha NER"] = {**score(gold, npred), "posts_per_s": nspeed}
        except ImportError:
            print("natasha is not installed: peer skipped", file=sys.stderr)
    print(f"{len(posts)} posts, {sum(map(len, gold))} gold localities, mean {chars:.0f} chars; one thread")
    print(f"{'system':14s} {'P':>6s} {'R':>6s} {'F1':>6s} {'region acc':>10s} {'posts/s':>9s}")
    for name, r in rows.items():
        print(
            f"{name:14s} {r['precision']:6.3f} {r['recall']:6.3f} {r['f1']:6.3f} "
            f"{r['region_accuracy'] if name == 'negmon' else float('nan'):10.3f} {r['posts_per_s']:9.0f}"
        )
    if "natasha NER" in rows:
        print(
            f"speed ratio negmon / natasha: {rows['negmon']['posts_per_s'] / rows['natasha NER']['posts_per_s']:.1f}x"
        )
    long = long_posts()
    long_chars = sum(len(p["text"]) for p in long) / len(long)
    speed_rows = {"negmon": run_negmon(long)[1]}
    if "natasha NER" in rows:
        speed_rows["natasha NER"] = run_natasha(long)[1]
    print(
        f"speed on {len(long)} corpus posts of {long_chars:.0f} chars: "
        + ", ".join(f"{k} {v:,.0f} posts/s" for k, v in speed_rows.items())
        + (f"; ratio {speed_rows['negmon'] / speed_rows['natasha NER']:.1f}x" if len(speed_rows) > 1 else "")
    )
    if a.errors:
        for e in rows["negmon"]["errors"]:
            print(*e, "|", posts[e[1]]["text"])
    cover = coverage(a.coverage) if a.coverage else {}
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "localities.json").write_text(
        json.dumps(
            {k: {kk: vv for kk, vv in v.items() if kk != "errors"} for k, v in rows.items()}
            | {
                "posts": len(posts),
                "mean_chars": chars,
                "scored_kinds": sorted(kinds) if kinds else "all",
                "speed_200_chars": {"posts": len(long), "mean_chars": long_chars, "posts_per_s": speed_rows},
            }
            | ({"coverage": cover} if cover else {}),
            indent=2,
        )
        + "\n",
        "utf-8",
    )


def coverage(shared: Path) -> dict[str, Any]:
    """The coverage tables of tests/geo_coverage.py, printed and returned."""
    sys.path.insert(0, str(ROOT / "tests"))
    import geo_coverage as gc

    out: dict[str, Any] = {}
    cities, _ = gc.load(shared)
    print(f"\nhflabs cities (n {len(cities)}), found with the right region, no region hint:")
    print(f"{'sentence':12s} {'capitalised':>11s} {'lower case':>10s}")
    for (case, cap), (_, low) in zip(
        gc.coverage(cities).items(), gc.coverage(cities, lower=True).items(), strict=True
    ):
        print(f"{case:12s} {cap['share']:11.3f} {low['share']:10.3f}")
        out[f"hflabs {case}"] = {"capitalised": cap["share"], "lower": low["share"], "n": cap["n"]}
    rows = gc.load_oktmo(shared)
    print(
        f"\nOKTMO rural settlements in municipal districts (n {len(rows)}): found / found with the right region"
    )
    print(f"{'sentence':34s} {'capitalised':>13s} {'lower case':>13s}")
    for label, kw in (
        ("with the district", {"district": True}),
        ("without it", {"district": False}),
        ("without it, region hint passed", {"district": False, "hint": True}),
    ):
        both = {lower: gc.rural_coverage(rows, lower=lower, **kw) for lower in (False, True)}
        for case in ("loct", "gent"):
            cells = [both[False][case], both[True][case]]
            for lower, r in zip((False, True), cells, strict=True):
                out[f"oktmo {label} {case}{' lower' if lower else ''}"] = {
                    "found": r["found"],
                    "right_region": r["right_region"],
                    "n": r["n"],
                }
            print(
                f"{label + ' (' + case + ')':34s} "
                + " ".join(f"{r['found']:6.3f}/{r['right_region']:.3f}" for r in cells)
            )
    return out


if __name__ == "__main__":
    main()
