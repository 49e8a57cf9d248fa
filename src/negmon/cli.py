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

from negmon._faults import fault
from negmon.errors import InputError, NegmonError

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
        try:
            state = json.loads(self.path.read_text("utf-8"))
        except (OSError, ValueError):
            state = None
        keys = ("inputs", "output_format", "rows_done", "scored", "errors", "out_pos", "err_pos", "counts")
        if not isinstance(state, dict) or any(k not in state for k in keys):
            raise InputError(f"the run state {self.path} is damaged; rerun with --force to start over")
        return state

    def save(self, state: dict[str, Any]) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(json.dumps(state, ensure_ascii=False))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def _fingerprint(paths: Sequence[str]) -> list[dict[str, Any]]:
    """Each input's path, size and content hash: resume refuses an input that changed in any way."""
    import hashlib

    out = []
    for p in paths:
        h = hashlib.blake2b(digest_size=16)
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        out.append({"path": str(Path(p).resolve()), "size": Path(p).stat().st_size, "blake2b": h.hexdigest()})
    return out


def _truncate(path: Path, size: int) -> None:
    if path.exists():
        with open(path, "r+b") as f:
            f.truncate(size)


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def _check_paths(inputs: Sequence[str], out: Path, errors_path: Path) -> None:
    state = out.with_name(out.name + ".negmon-state.json")
    for p in inputs:
        for what, path in (("output", out), ("errors file", errors_path), ("run state", state)):
            if _same(Path(p), path):
                raise InputError(f"the {what} {path} is the input {p}; writing it would destroy the input")
    if _same(out, errors_path):
        raise InputError(f"the errors file and the output are the same file ({out}); give another --errors")


def _check_text_field(inputs: Sequence[str], text_field: str) -> None:
    from negmon.io import columns

    for p in inputs:
        cols = columns(p)
        if cols is not None and text_field not in cols:
            shown = ", ".join(repr(c) for c in cols[:12]) + (" ..." if len(cols) > 12 else "")
            raise InputError(
                f"{p} has no {text_field!r} field (its fields: {shown}); name the text field with --text-field"
            )


_CLASSIFIERS: dict[tuple[str, bool], Any] = {}


def _classifier(model: str, localities: bool) -> Any:
    """One loaded classifier per (model, localities) for the process (cheap repeated in-process runs)."""
    from negmon.classifier import Classifier

    key = (model, localities)
    if key not in _CLASSIFIERS:
        _CLASSIFIERS[key] = Classifier.load(model, localities=localities)
    return _CLASSIFIERS[key]


def _summary(state: dict[str, Any], out: Path, errors_path: Path) -> None:
    secs = max(float(state.get("seconds", 0.0)), 1e-9)
    print(
        f"rows in: {state['rows_done']}  scored: {state['scored']}  errors: {state['errors']}  "
        f"time: {secs:.1f}s  rate: {state['rows_done'] / secs:.0f} rows/s"
    )
    counts = {k: Counter(v) for k, v in state["counts"].items()}
    for key in ("sentiment", "topic", "needs_reply", "priority"):
        if key in counts:
            print(f"{key}: " + ", ".join(f"{k} {v}" for k, v in counts[key].most_common()))
    print(f"output: {out}" + (f"  errors: {errors_path}" if state["errors"] else ""))


def _cmd_score(a: argparse.Namespace) -> int:
    from tqdm import tqdm

    from negmon.classifier import to_post
    from negmon.io import count_rows, detect_format, open_writer, read_rows
    from negmon.result import jsonable

    out = Path(a.output)
    errors_path = Path(a.errors) if a.errors else out.with_name(out.name + ".errors.jsonl")
    for p in a.inputs:
        detect_format(p)
        if not Path(p).is_file():
            return _fail(f"input file {p} does not exist")
    out_fmt = detect_format(out)
    if detect_format(errors_path) != "jsonl":
        return _fail(f"the errors file {errors_path} must be JSONL (.jsonl)")
    _check_paths(a.inputs, out, errors_path)
    state_file = _State(out)
    state = state_file.load() if a.resume else None
    fp = _fingerprint(a.inputs)
    if a.resume:
        if state is None:
            return _fail(
                f"nothing to resume: {state_file.path} not found (the run finished, or {out} was not made by "
                "an interrupted `negmon score`); use --force to score again"
            )
        if state["inputs"] != fp or state["output_format"] != out_fmt:
            return _fail(
                "--resume: the inputs or the output format differ from the interrupted run "
                "(an input was changed, added or removed); use --force to score again"
            )
    elif (out.exists() or state_file.path.exists()) and not a.force:
        hint = " or --resume to continue the interrupted run" if state_file.path.exists() else ""
        return _fail(f"{out} exists; use --force to overwrite it{hint}")
    if state is None:
        _check_text_field(a.inputs, a.text_field)

    clf = _classifier(a.model, not a.no_localities)
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
        state_file.save(state)
        fault("start")
    elif state.get("finished"):  # killed after the output was complete: only the clean-up is left
        if out_fmt == "parquet":
            open_writer(out, append=True).cleanup()
        state_file.remove()
        if not state["errors"]:
            errors_path.unlink(missing_ok=True)
        _summary(state, out, errors_path)
        return 0
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
    pending_posts: list[tuple[Any, Any]] = []
    pending_errors: list[dict[str, Any]] = []
    rows_in_chunk = 0

    def classify(batch: list[tuple[Any, Any]]) -> tuple[list[Any], list[dict[str, Any]]]:
        posts = [p for _, p in batch]
        try:
            return list(clf.classify_batch(posts, batch_size=a.batch_size, reasons=a.reasons)), []
        except Exception:  # one bad post must not sink its chunk: retry one by one
            results, errors = [], []
            for row, post in batch:
                try:
                    results.append(clf.classify(post, reasons=a.reasons))
                except Exception as e:  # reported as the row's error, the run goes on
                    errors.append({"file": row.file, "line": row.line, "reason": f"internal error: {e!r}"})
            return results, errors

    def commit() -> None:
        nonlocal pending_posts, pending_errors, rows_in_chunk
        if pending_posts:
            results, failed = classify(pending_posts)
            pending_errors += failed
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
        pending_errors.sort(key=lambda e: (e["file"], e["line"]))
        for e in pending_errors:
            err_f.write((json.dumps(jsonable(e), ensure_ascii=False) + "\n").encode("utf-8"))
        fault("write")
        err_f.flush()
        os.fsync(err_f.fileno())
        state["errors"] += len(pending_errors)
        state["out_pos"] = writer.commit()
        state["err_pos"] = err_f.tell()
        fault("commit")
        state["rows_done"] += rows_in_chunk
        state["counts"] = {k: dict(v) for k, v in counts.items()}
        state["seconds"] = start_seconds + time.time() - t0
        state_file.save(state)
        fault("checkpoint")
        bar.update(rows_in_chunk)
        pending_posts, pending_errors, rows_in_chunk = [], [], 0

    try:
        for i, row in enumerate(rows()):
            if i < skip:
                continue
            rows_in_chunk += 1
            if row.error is None:
                try:
                    post = to_post(row.post, text_field=a.text_field, id_field=a.id_field)
                    pending_posts.append((row, clf.prepare(post)))
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
    fault("finish")
    state["finished"] = True
    state_file.save(state)
    fault("finished")
    writer.cleanup()
    if not state["errors"]:
        errors_path.unlink(missing_ok=True)
    fault("cleanup")
    state_file.remove()
    _summary(state, out, errors_path)
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
