"""The ``negmon`` command: classify, score, incidents, report, info, train, evaluate.

Exit codes: 0 success, 1 a user error (one line on stderr, no traceback), 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from negmon.errors import NegmonError

__all__ = ["main"]


def _fail(msg: str) -> int:
    print(f"negmon: error: {msg}", file=sys.stderr)
    return 1


# ---------------------------------------------------------------- classify / info


def _cmd_classify(a: argparse.Namespace) -> int:
    from negmon.classifier import Classifier

    # stdin is read as bytes: invalid UTF-8 becomes U+FFFD instead of surrogates that cannot be printed
    text = sys.stdin.buffer.read().decode("utf-8", "replace") if a.text == "-" else a.text
    clf = Classifier.load(a.model)
    r = clf.classify({"text": text, "region": a.region} if a.region else text, reasons=not a.no_reasons)
    print(json.dumps(r.as_dict(), ensure_ascii=False, indent=None if a.compact else 2))
    return 0


def _cmd_info(a: argparse.Namespace) -> int:
    from negmon.model.artifact import bundled_models, read_meta, resolve

    folder = resolve(a.model)
    meta = read_meta(folder)
    heads = meta["heads"]
    print(f"model:      {meta['id']} ({meta['kind']})  {folder}")
    print(f"aliases:    {', '.join(meta.get('aliases', [])) or '-'}")
    for h in ("sentiment", "topic", "needs_reply", "priority"):
        state = (
            f"{len(heads[h]['labels'])} labels: {', '.join(heads[h]['labels'])}" if h in heads
            else "absent (its Result fields are None)"
        )
        print(f"head {h:12s} {state}")
    print(f"thresholds: {meta.get('thresholds') or '-'}")
    for name, m in meta.get("metrics", {}).items():
        figures = ", ".join(f"{h} macro-F1 {hm['macro_f1']:.3f}" for h, hm in m["heads"].items())
        print(f"metrics {name}: {figures}")
    for d in meta.get("training_data", []):
        print(f"data:       {d['name']} [{d['licence']}]")
    others = sorted({str(p) for p in bundled_models().values()})
    print(f"bundled:    {', '.join(Path(p).name for p in others)}")
    return 0


# ---------------------------------------------------------------- score


def _cmd_score(a: argparse.Namespace) -> int:
    common = {"model": a.model, "text_field": a.text_field, "batch_size": a.batch_size, "resume": a.resume,
              "force": a.force, "drop_text": a.drop_text, "localities": not a.no_localities, "reasons": a.reasons,
              "progress": not a.no_progress}
    if a.engine == "spark":
        if a.errors:
            print("negmon: error: --errors goes with --engine local; the Spark engine keeps a row it cannot score "
                  "in the output, with its reason in the `error` column", file=sys.stderr)
            return 2
        from negmon.spark import score as spark_score

        print(spark_score(a.inputs, a.output, master=a.master, fmt=a.format, parts=a.parts, **common))
        return 0
    spark_only = [f for f, v in (("--master", a.master), ("--format", a.format), ("--parts", a.parts)) if v]
    if spark_only:
        print(f"negmon: error: {', '.join(spark_only)}: Spark options, for --engine spark", file=sys.stderr)
        return 2
    from negmon.batch import score

    print(score(a.inputs, a.output, errors=a.errors, id_field=a.id_field, checkpoint_every=a.checkpoint_every,
                **common))
    if a.incidents:
        return _add_incidents([a.output], a.incidents, None, 72.0, None)
    return 0


# ---------------------------------------------------------------- incidents


def _tracker(db: str, routing: str | None = None, window: float = 72.0, threshold: float | None = None) -> Any:
    from negmon.incidents import IncidentTracker

    return IncidentTracker(db, routing=routing, window_hours=window,
                           **({"threshold": threshold} if threshold is not None else {}))


def _add_incidents(inputs: Sequence[str], db: str, routing: str | None, window: float,
                   threshold: float | None) -> int:
    from negmon.errors import InputError
    from negmon.io import read_rows

    tracker = _tracker(db, routing, window, threshold)
    rows = added = skipped = bad = 0
    batch: list[tuple[str, int, dict[str, Any]]] = []

    def flush() -> None:
        nonlocal added, skipped, bad
        try:
            ids = tracker.add([post for _, _, post in batch])
        except InputError:  # find the bad rows one by one; the good ones are added
            ids = []
            for f, line, post in batch:
                try:
                    ids.extend(tracker.add([post]))
                except (InputError, TypeError) as e:
                    print(f"{f}:{line}: {str(e).removeprefix('post #0: ')}", file=sys.stderr)
                    ids.append("")
                    bad += 1
        added += sum(1 for x in ids if x)
        skipped += sum(1 for x in ids if x is None)
        batch.clear()

    for path in inputs:
        for row in read_rows(path):
            rows += 1
            if row.post is None:
                print(f"{row.file}:{row.line}: {row.error}", file=sys.stderr)
                bad += 1
                continue
            batch.append((row.file, row.line, _decoded(row.post)))
            if len(batch) == 500:
                flush()
    flush()
    open_ = tracker.incidents(status="open", posts=False)
    print(f"{rows} rows: {added} in incidents, {skipped} need no reply, {bad} bad rows; "
          f"{len(open_)} open incidents in {db} ({sum(1 for i in open_ if i.overdue)} overdue)")
    return 0 if rows == added + skipped + bad else 1


def _decoded(post: dict[str, Any]) -> dict[str, Any]:
    """A row of a scored CSV: JSON columns decoded, a needs_reply written as text read as a boolean."""
    out = dict(post)
    for key in ("localities", "addresses"):
        if isinstance(out.get(key), str):
            try:
                out[key] = json.loads(out[key])
            except ValueError:
                out[key] = None
    if isinstance(out.get("needs_reply"), str):
        out["needs_reply"] = out["needs_reply"].strip().lower() in ("true", "1", "yes")
    return out


def _cmd_incidents(a: argparse.Namespace) -> int:
    if a.action == "add":
        return _add_incidents(a.inputs, a.db, a.routing, a.window_hours, a.threshold)
    if not Path(a.db).is_file():
        return _fail(f"no incident database at {a.db}: create it with `negmon incidents add SCORED --db {a.db}`")
    tracker = _tracker(a.db)
    if a.action in ("close", "answer", "reopen"):
        status = {"close": "closed", "answer": "answered", "reopen": "open"}[a.action]
        i = tracker.set_status(a.id, status)
        print(f"{i.id}: {i.status}")
        return 0
    if a.action == "show":
        i = tracker.get(a.id)
        if a.format == "json":
            print(json.dumps(i.as_dict(), ensure_ascii=False, indent=2))
        else:
            for k, v in i.as_dict().items():
                print(f"{k:15s} {', '.join(map(str, v)) if isinstance(v, list) else v}")
        return 0
    now = _parse_now(a.now)
    statuses = tuple(a.status.split(",")) if a.status else ("open", "answered")
    found = tracker.incidents(status=statuses, region=a.region, topic=a.topic, overdue=a.overdue, now=now)
    if a.format == "json":
        print(json.dumps([i.as_dict() for i in found], ensure_ascii=False, indent=2))
    elif a.format == "csv":
        import csv

        w = csv.writer(sys.stdout)
        w.writerow(["id", "status", "overdue", "topic", "region", "locality", "address", "post_count",
                    "max_priority", "first_seen", "last_seen", "deadline", "bodies", "posts"])
        for i in found:
            w.writerow([i.id, i.status, i.overdue, i.topic, i.region, i.locality, i.address, i.post_count,
                        i.max_priority, i.first_seen, i.last_seen, i.deadline, "; ".join(i.bodies),
                        " ".join(i.posts)])
    else:
        print(f"{'id':14s} {'status':9s} {'due (UTC)':17s} {'posts':>5s} {'prio':6s} {'topic':17s} {'place'}")
        for i in found:
            due = ("OVERDUE " if i.overdue else "") + (i.deadline or "-")[5:16].replace("T", " ")
            place = ", ".join(x for x in (i.locality, i.address) if x) or i.region or "-"
            print(f"{i.id:14s} {i.status:9s} {due:17s} {i.post_count:5d} {i.max_priority or '-':6s} "
                  f"{i.topic or '-':17s} {place}")
        print(f"{len(found)} incidents")
    return 0


def _parse_now(value: str | None) -> float | None:
    if value is None:
        return None
    from datetime import UTC, datetime

    from negmon.errors import InputError

    try:
        d = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(f"--now expects an ISO time such as 2026-11-05T12:00:00+03:00, got {value!r}") from None
    return (d if d.tzinfo else d.replace(tzinfo=UTC)).timestamp()


# ---------------------------------------------------------------- report


def _cmd_report(a: argparse.Namespace) -> int:
    from negmon.report import build_report

    print(build_report(a.inputs, a.output, start=a.start, end=a.end, region=a.region, images=a.images,
                       csv=a.csv, title=a.title, incidents=a.incidents))
    return 0


# ---------------------------------------------------------------- train / evaluate


def _cmd_train(a: argparse.Namespace) -> int:
    try:
        from negmon.train.run import train
    except ImportError as e:
        return _fail(f"training needs the [train] extra ({e.name} is missing): pip install 'negmon[train]'")
    print(f"model written to {train(a.config, repack=a.repack, recalibrate=a.recalibrate)}")
    return 0


def _cmd_evaluate(a: argparse.Namespace) -> int:
    try:
        from negmon.train.evaluate import main as evaluate
    except ImportError as e:
        return _fail(f"evaluation needs the [train] extra ({e.name} is missing): pip install 'negmon[train]'")
    fields = {}
    for item in a.label_field:
        head, sep, column = item.partition("=")
        if not sep or head not in ("sentiment", "topic", "needs_reply", "priority") or not column:
            return _fail(f"--label-field expects HEAD=COLUMN with a head of sentiment, topic, needs_reply, "
                         f"priority; got {item!r}")
        fields[head] = column
    evaluate(a.model, a.data, a.out, a.batch_size, text_field=a.text_field, label_fields=fields)
    return 0


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="negmon", description="Find the Russian posts that need a reply.")
    sub = ap.add_subparsers(dest="cmd", required=True)

    c = sub.add_parser("classify", help="classify one text (or - for stdin); prints JSON")
    c.add_argument("text")
    c.add_argument("--model", default="default")
    c.add_argument("--region", help="region hint for ambiguous place names")
    c.add_argument("--compact", action="store_true", help="one-line JSON")
    c.add_argument("--no-reasons", action="store_true", help="skip the phrases that explain a flagged post")
    c.set_defaults(fn=_cmd_classify)

    s = sub.add_parser("score", help="score archives (JSONL, CSV, TSV, Parquet; .gz too)")
    s.add_argument("inputs", nargs="+", metavar="INPUT")
    s.add_argument("-o", "--output", required=True,
                   help="output file (a folder with --engine spark); its extension picks the format")
    s.add_argument("--errors", help="errors file (default: OUTPUT.errors.jsonl)")
    s.add_argument("--text-field", default="text")
    s.add_argument("--id-field", default="id")
    s.add_argument("--batch-size", type=int, default=64)
    s.add_argument("--checkpoint-every", type=int, default=1024, help="rows between resumable checkpoints")
    s.add_argument("--model", default="default")
    s.add_argument("--resume", action="store_true", help="continue an interrupted run")
    s.add_argument("--force", action="store_true", help="overwrite an existing output")
    s.add_argument("--drop-text", action="store_true", help="leave the post text out of the output")
    s.add_argument("--no-localities", action="store_true", help="skip locality extraction")
    s.add_argument("--reasons", action="store_true", help="explain flagged posts (one extra model batch each)")
    s.add_argument("--no-progress", action="store_true")
    s.add_argument("--engine", choices=("local", "spark"), default="local",
                   help="local: this process, resumable by checkpoints (default); spark: Apache Spark "
                   "([spark] extra), JSONL or Parquet files, folders or globs into a folder of parts")
    s.add_argument("--master", help="Spark master URL (default: $SPARK_MASTER, else local[*])")
    s.add_argument("--format", choices=("parquet", "jsonl"),
                   help="Spark output format (default: from the output's name)")
    s.add_argument("--parts", type=int, help="Spark: resumable parts (default: one per 100,000 rows)")
    s.add_argument("--incidents", metavar="DB", help="then group the scored posts into incidents in this SQLite file")
    s.set_defaults(fn=_cmd_score)

    inc = sub.add_parser("incidents", help="group scored posts into incidents (an SQLite file): add, list, show, "
                         "answer, close")
    isub = inc.add_subparsers(dest="action", required=True)
    ia = isub.add_parser("add", help="add scored posts (files written by negmon score, with created_at)")
    ia.add_argument("inputs", nargs="+", metavar="SCORED")
    ia.add_argument("--routing", help="a routing TOML laid over the default table")
    ia.add_argument("--window-hours", type=float, default=72.0, help="how far apart two linked posts may be")
    ia.add_argument("--threshold", type=float, help="how alike two posts must be to be linked (default 0.3)")
    il = isub.add_parser("list", help="list incidents")
    il.add_argument("--overdue", action="store_true", help="only open incidents past their deadline")
    il.add_argument("--region")
    il.add_argument("--topic")
    il.add_argument("--status", help="comma-separated statuses (default: open,answered)")
    il.add_argument("--format", choices=("table", "json", "csv"), default="table")
    il.add_argument("--now", help="the time to judge deadlines at (default: now), ISO 8601")
    ish = isub.add_parser("show", help="one incident with its posts")
    ish.add_argument("id")
    ish.add_argument("--format", choices=("table", "json"), default="table")
    for name, text in (("answer", "mark answered"), ("close", "mark closed"), ("reopen", "open again")):
        x = isub.add_parser(name, help=text)
        x.add_argument("id")
    for x in (ia, il, ish, *(isub.choices[n] for n in ("answer", "close", "reopen"))):
        x.add_argument("--db", required=True, help="the SQLite file of incidents")
    inc.set_defaults(fn=_cmd_incidents)

    r = sub.add_parser("report", help="one HTML page of moods by place and topic from scored files "
                       "([report] extra)")
    r.add_argument("inputs", nargs="+", metavar="SCORED", help="files written by negmon score (JSONL, CSV, Parquet)")
    r.add_argument("-o", "--output", required=True, help="the HTML file to write")
    r.add_argument("--from", dest="start", metavar="DATE", help="first day (YYYY-MM-DD)")
    r.add_argument("--to", dest="end", metavar="DATE", help="last day (YYYY-MM-DD)")
    r.add_argument("--region", help="only the posts of this federal subject")
    r.add_argument("--images", metavar="DIR", help="also write an SVG and a PNG of each chart and aggregate.csv")
    r.add_argument("--csv", help="also write the aggregate (region x settlement x topic x week) as CSV here")
    r.add_argument("--title", default="Настроения жителей по местам и темам")
    r.add_argument("--incidents", metavar="DB", help="also list the open incidents of this store (negmon incidents)")
    r.set_defaults(fn=_cmd_report)

    i = sub.add_parser("info", help="show a model's heads, thresholds, metrics and data licences")
    i.add_argument("model", nargs="?", default="default")
    i.set_defaults(fn=_cmd_info)

    t = sub.add_parser("train", help="train a model from a TOML config (needs the [train] extra)")
    t.add_argument("config")
    t.add_argument("--repack", action="store_true",
                   help="no training: rebuild the model folder from the float32 weights a finished run kept")
    t.add_argument("--recalibrate", action="store_true",
                   help="no training: choose the packed model's decision thresholds again on dev, as the config says")
    t.set_defaults(fn=_cmd_train)

    e = sub.add_parser("evaluate", help="evaluate a model on a labelled set; writes JSON and plots")
    e.add_argument("model")
    e.add_argument(
        "data", help="a named set (rusentiment-test, rusentitweet-test, sentirueval-test, corpus-dev, "
        "corpus-dev-realistic, real-dev, blind), a CSV/TSV/JSONL/Parquet file or a folder saved by datasets"
    )
    e.add_argument("--out", help="folder for metrics.json and PNG plots")
    e.add_argument("--text-field", default="text", help="the text column of a file (default: text)")
    e.add_argument("--label-field", action="append", default=[], metavar="HEAD=COLUMN",
                   help="the column that labels a head, where it is not the head's name (topic=category)")
    e.add_argument("--batch-size", type=int, default=64)
    e.set_defaults(fn=_cmd_evaluate)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 user error, 2 usage)."""
    a = _parser().parse_args(argv)
    parts = getattr(a, "parts", None)
    if getattr(a, "batch_size", 1) < 1 or getattr(a, "checkpoint_every", 1) < 1 or (parts is not None and parts < 1):
        print("negmon: error: --batch-size, --checkpoint-every and --parts must be >= 1", file=sys.stderr)
        return 2
    try:
        return int(a.fn(a))
    except BrokenPipeError:  # `negmon ... | head`: the reader left, which is not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except (NegmonError, OSError) as e:
        return _fail(str(e))
    except KeyboardInterrupt:
        return _fail("interrupted; rerun `negmon score` with --resume to continue")


if __name__ == "__main__":
    sys.exit(main())
