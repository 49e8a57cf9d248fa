"""The ``negmon`` command: classify, score, info, train, evaluate.

Exit codes: 0 success, 1 a user error (one line on stderr, no traceback), 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from negmon.errors import InputError, NegmonError

__all__ = ["main"]


def _fail(msg: str) -> int:
    print(f"negmon: error: {msg}", file=sys.stderr)
    return 1


# ---------------------------------------------------------------- classify / info


def _cmd_classify(a: argparse.Namespace) -> int:
    from negmon.classifier import Classifier

    text = sys.stdin.read() if a.text == "-" else a.text
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
            f"present, {len(heads[h]['labels'])} labels" if h in heads else "absent (Result field is None)"
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


class _State:
    """Progress of a ``score`` run, written atomically next to the output after every committed chunk."""

    def __init__(self, output: Path) -> None:
        self.path = output.with_name(output.name + ".negmon-state.json")

    def load(self) -> dict[str, Any] | None:
        if not self.path.is_file():
            return None
        return dict(json.loads(self.path.read_text("utf-8")))

    def save(self, state: dict[str, Any]) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(state, ensure_ascii=False), "utf-8")
        os.replace(tmp, self.path)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def _fingerprint(paths: Sequence[str]) -> list[dict[str, Any]]:
    return [{"path": str(Path(p).resolve()), "size": Path(p).stat().st_size} for p in paths]


def _truncate(path: Path, size: int) -> None:
    if path.exists():
        with open(path, "r+b") as f:
            f.truncate(size)


def _cmd_score(a: argparse.Namespace) -> int:
    from tqdm import tqdm

    from negmon.classifier import Classifier, to_post
    from negmon.io import count_rows, detect_format, open_writer, read_rows

    out = Path(a.output)
    errors_path = Path(a.errors) if a.errors else out.with_name(out.name + ".errors.jsonl")
    for p in a.inputs:
        detect_format(p)
        if not Path(p).is_file():
            return _fail(f"input file {p} does not exist")
    out_fmt = detect_format(out)
    state_file = _State(out)
    fp = _fingerprint(a.inputs)
    state = state_file.load() if a.resume else None
    if a.resume:
        if state is None:
            return _fail(
                f"nothing to resume: {state_file.path} not found (the run finished or never started)"
            )
        if state["inputs"] != fp or state["output_format"] != out_fmt:
            return _fail("--resume: the inputs or the output format differ from the interrupted run")
    elif (out.exists() or state_file.path.exists()) and not a.force:
        return _fail(f"{out} exists; use --force to overwrite it or --resume to continue an interrupted run")

    clf = Classifier.load(a.model, localities=not a.no_localities)
    if state is None:
        state = {
            "inputs": fp,
            "output_format": out_fmt,
            "rows_done": 0,
            "scored": 0,
            "errors": 0,
            "out_pos": 0,
            "err_pos": 0,
            "counts": {},
            "seconds": 0.0,
        }
        for p in (out, errors_path):
            p.unlink(missing_ok=True)
        parts = out.with_name(out.name + ".parts")
        if parts.exists():
            import shutil

            shutil.rmtree(parts)
    else:
        if out_fmt != "parquet":
            _truncate(out, state["out_pos"])
        _truncate(errors_path, state["err_pos"])
    writer = open_writer(out, append=state["rows_done"] > 0)
    if out_fmt == "parquet":
        writer.truncate_parts(state["out_pos"])  # type: ignore[union-attr]
    err_f = open(errors_path, "ab")  # noqa: SIM115 - closed below
    counts: dict[str, Counter[str]] = {k: Counter(v) for k, v in state["counts"].items()}

    def rows() -> Iterator[Any]:
        for p in a.inputs:
            yield from read_rows(p, text_field=a.text_field)

    totals = [count_rows(p) for p in a.inputs]
    total = sum(t for t in totals if t is not None) if all(t is not None for t in totals) else None
    bar = tqdm(
        total=total,
        initial=state["rows_done"],
        unit=" rows",
        dynamic_ncols=True,
        disable=a.no_progress or None,
        file=sys.stderr,
    )
    skip = state["rows_done"]
    t0 = time.time()
    start_seconds = state["seconds"]
    pending_posts: list[Any] = []
    pending_errors: list[dict[str, Any]] = []
    rows_in_chunk = 0

    def commit() -> None:
        nonlocal pending_posts, pending_errors, rows_in_chunk
        if pending_posts:
            results = clf.classify_batch(pending_posts, batch_size=a.batch_size, reasons=a.reasons)
            out_rows = []
            for r in results:
                d = r.as_dict()
                if a.drop_text:
                    d.pop("text", None)
                out_rows.append(d)
                for key in ("sentiment", "topic", "needs_reply", "priority"):
                    v = d.get(key)
                    if v is not None:
                        counts.setdefault(key, Counter())[str(v)] += 1
            writer.write(out_rows)
            state["scored"] += len(out_rows)
        for e in pending_errors:
            err_f.write((json.dumps(e, ensure_ascii=False) + "\n").encode("utf-8"))
        err_f.flush()
        os.fsync(err_f.fileno())
        state["errors"] += len(pending_errors)
        state["out_pos"] = writer.commit()
        state["err_pos"] = err_f.tell()
        state["rows_done"] += rows_in_chunk
        state["counts"] = {k: dict(v) for k, v in counts.items()}
        state["seconds"] = start_seconds + time.time() - t0
        state_file.save(state)
        bar.update(rows_in_chunk)
        pending_posts, pending_errors, rows_in_chunk = [], [], 0

    try:
        for i, row in enumerate(rows()):
            if i < skip:
                continue
            rows_in_chunk += 1
            if row.error is None:
                try:
                    post = dict(row.post)
                    if a.id_field != "id" and a.id_field in post:
                        post["id"] = post.pop(a.id_field)
                    if a.text_field != "text":
                        post["text"] = post.pop(a.text_field)
                    pending_posts.append(to_post(post))
                except (TypeError, InputError) as e:
                    pending_errors.append({"file": row.file, "line": row.line, "reason": str(e)})
            else:
                pending_errors.append(
                    {"file": row.file, "line": row.line, "reason": row.error, "raw": row.raw}
                )
            if rows_in_chunk >= a.checkpoint_every:
                commit()
        commit()
    finally:
        bar.close()
        err_f.close()
        writer.close()
    writer.finish()
    state_file.remove()
    if not state["errors"]:
        errors_path.unlink(missing_ok=True)
    secs = max(state["seconds"], 1e-9)
    print(
        f"rows in: {state['rows_done']}  scored: {state['scored']}  errors: {state['errors']}  "
        f"time: {secs:.1f}s  rate: {state['rows_done'] / secs:.0f} rows/s"
    )
    for key in ("sentiment", "topic", "needs_reply", "priority"):
        if key in counts:
            print(f"{key}: " + ", ".join(f"{k} {v}" for k, v in counts[key].most_common()))
    print(f"output: {out}" + (f"  errors: {errors_path}" if state["errors"] else ""))
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
    evaluate(a.model, a.data, a.out, a.batch_size)
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
    s.add_argument("-o", "--output", required=True, help="output file; its extension picks the format")
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
    s.set_defaults(fn=_cmd_score)

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
        "data", help="rusentiment-test, rusentitweet-test, sentirueval-test, corpus-dev, or a file"
    )
    e.add_argument("--out", help="folder for metrics.json and PNG plots")
    e.add_argument("--batch-size", type=int, default=64)
    e.set_defaults(fn=_cmd_evaluate)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 user error, 2 usage)."""
    a = _parser().parse_args(argv)
    if getattr(a, "batch_size", 1) < 1 or getattr(a, "checkpoint_every", 1) < 1:
        print("negmon: error: --batch-size and --checkpoint-every must be >= 1", file=sys.stderr)
        return 2
    try:
        return int(a.fn(a))
    except (NegmonError, OSError) as e:
        return _fail(str(e))
    except KeyboardInterrupt:
        return _fail("interrupted; rerun `negmon score` with --resume to continue")


if __name__ == "__main__":
    sys.exit(main())
