"""The batch run behind ``negmon score``: read archives, classify in chunks, write the output and the errors
file, keep a run state, resume after a kill.

Every input row ends in the output or in the errors file (with its file, line and reason). After each chunk of
``checkpoint_every`` rows the output and the errors file are synced, then the run state that points at them is
saved atomically (``OUTPUT.negmon-state.json``); a resumed run cuts both files back to the state and goes on.
Parquet output is written as part files joined at the end into the output atomically. The inputs are
recognised on resume by their content hash.

>>> from negmon.batch import score
>>> summary = score(["posts.jsonl"], "scored.jsonl", model="fast")   # doctest: +SKIP
>>> print(summary)                                                    # doctest: +SKIP
rows in: 3  scored: 2  errors: 1  ...
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from negmon._faults import fault
from negmon.errors import InputError

__all__ = ["Summary", "score"]


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

    from negmon.io import dataset_files

    out = []
    for p in paths:
        h = hashlib.blake2b(digest_size=16)
        files = [Path(p) / "state.json", *dataset_files(Path(p))] if Path(p).is_dir() else [Path(p)]
        for name in files:
            with open(name, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
        out.append({"path": str(Path(p).resolve()), "size": sum(x.stat().st_size for x in files),
                    "blake2b": h.hexdigest()})
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


def _resumable(
    state: dict[str, Any] | None, missing: str, what: str, same: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """The state of the interrupted run to resume; InputError when there is none (``missing`` says why) or
    when ``same`` finds the inputs or ``what`` changed (also used by the Spark engine)."""
    if state is None:
        raise InputError(f"nothing to resume: {missing}; use --force to score again")
    if not same(state):
        raise InputError(
            f"--resume: the inputs or {what} differ from the interrupted run (an input was changed, added or "
            "removed); use --force to score again"
        )
    return state


@dataclass(frozen=True)
class Summary:
    """What a finished :func:`score` run did: rows in = scored + errors, label counts, where it wrote."""

    rows_in: int
    scored: int
    errors: int
    seconds: float
    counts: dict[str, dict[str, int]]
    output: Path
    errors_file: Path | None

    def __str__(self) -> str:
        secs = max(self.seconds, 1e-9)
        lines = [
            f"rows in: {self.rows_in}  scored: {self.scored}  errors: {self.errors}  "
            f"time: {secs:.1f}s  rate: {self.rows_in / secs:.0f} rows/s"
        ]
        for key in ("sentiment", "topic", "needs_reply", "priority"):
            if key in self.counts:
                ranked = Counter(self.counts[key]).most_common()
                lines.append(f"{key}: " + ", ".join(f"{k} {v}" for k, v in ranked))
        lines.append(f"output: {self.output}" + (f"  errors: {self.errors_file}" if self.errors_file else ""))
        return "\n".join(lines)


def _summary(state: dict[str, Any], out: Path, errors_path: Path) -> Summary:
    return Summary(
        rows_in=int(state["rows_done"]),
        scored=int(state["scored"]),
        errors=int(state["errors"]),
        seconds=float(state.get("seconds", 0.0)),
        counts={k: dict(v) for k, v in state["counts"].items()},
        output=out,
        errors_file=errors_path if state["errors"] else None,
    )


def score(
    inputs: Sequence[str | Path],
    output: str | Path,
    *,
    errors: str | Path | None = None,
    model: str | Path = "default",
    text_field: str = "text",
    id_field: str = "id",
    batch_size: int = 64,
    checkpoint_every: int = 1024,
    resume: bool = False,
    force: bool = False,
    drop_text: bool = False,
    localities: bool = True,
    reasons: bool = False,
    progress: bool = True,
) -> Summary:
    """Score archives into ``output`` (its extension picks the format), every row ending in the output or in
    the errors file (``OUTPUT.errors.jsonl`` unless given), resumable after a kill at any moment.

    Raises :class:`~negmon.errors.InputError` for a run that cannot start (an output over an input, an
    existing output without ``force`` or ``resume``, nothing to resume, changed inputs, no text field).

    >>> s = score(["posts.jsonl"], "scored.parquet", model="fast")   # doctest: +SKIP
    >>> s.rows_in == s.scored + s.errors                               # doctest: +SKIP
    True
    """
    from tqdm import tqdm

    from negmon.classifier import _get, to_post
    from negmon.io import count_rows, detect_format, open_writer, read_rows
    from negmon.result import jsonable

    paths = [str(p) for p in inputs]
    if not paths:
        raise InputError("no input files given")
    if (
        not isinstance(batch_size, int)
        or batch_size < 1
        or not isinstance(checkpoint_every, int)
        or checkpoint_every < 1
    ):
        raise InputError(
            f"batch_size and checkpoint_every must be positive ints, got {batch_size!r}, {checkpoint_every!r}"
        )
    out = Path(output)
    errors_path = Path(errors) if errors else out.with_name(out.name + ".errors.jsonl")
    for p in paths:
        if not Path(p).exists():
            raise InputError(f"input file {p} does not exist")
        detect_format(p)
    out_fmt = detect_format(out)
    if detect_format(errors_path) != "jsonl":
        raise InputError(f"the errors file {errors_path} must be JSONL (.jsonl)")
    _check_paths(paths, out, errors_path)
    state_file = _State(out)
    state = state_file.load() if resume else None
    fp = _fingerprint(paths)
    if resume:
        state = _resumable(state, f"{state_file.path} not found (the run finished, or {out} was not made by an "
                          "interrupted `negmon score`)", "the output format",
                          lambda s: s["inputs"] == fp and s["output_format"] == out_fmt)
    elif (out.exists() or state_file.path.exists()) and not force:
        hint = " or --resume to continue the interrupted run" if state_file.path.exists() else ""
        raise InputError(f"{out} exists; use --force to overwrite it{hint}")
    if state is None:
        _check_text_field(paths, text_field)

    clf = _get(model, localities)
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
        for stale in (out, errors_path):
            stale.unlink(missing_ok=True)
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
        return _summary(state, out, errors_path)
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
        for p in paths:
            yield from read_rows(p, text_field=text_field)

    totals = [count_rows(p) for p in paths]
    total = sum(t for t in totals if t is not None) if all(t is not None for t in totals) else None
    bar = tqdm(
        total=total,
        initial=state["rows_done"],
        unit=" rows",
        dynamic_ncols=True,
        disable=not progress or None,
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
            return list(clf.classify_batch(posts, batch_size=batch_size, reasons=reasons)), []
        except Exception:  # one bad post must not sink its chunk: retry one by one
            results, errors = [], []
            for row, post in batch:
                try:
                    results.append(clf.classify(post, reasons=reasons))
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
                if drop_text:
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
                    post = to_post(row.post, text_field=text_field, id_field=id_field)
                    pending_posts.append((row, clf.prepare(post)))
                except (TypeError, InputError) as e:
                    pending_errors.append({"file": row.file, "line": row.line, "reason": str(e)})
            else:
                pending_errors.append(
                    {"file": row.file, "line": row.line, "reason": row.error, "raw": row.raw}
                )
            if rows_in_chunk >= checkpoint_every:
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
    return _summary(state, out, errors_path)
