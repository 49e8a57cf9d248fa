"""Streaming readers and writers for post archives: JSONL, CSV/TSV and Parquet, each optionally gzipped.

Readers never stop on a bad row: they yield a :class:`Row` with ``error`` set (broken JSON, a missing or
non-text field, undecodable bytes) and go on, so that every input row is accounted for.

>>> rows = list(read_rows("posts.jsonl"))          # doctest: +SKIP
>>> rows[0].line, rows[0].post["text"]            # doctest: +SKIP
(1, 'В Кстово нет воды')
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from negmon._faults import fault
from negmon.errors import InputError
from negmon.result import jsonable, scrub

__all__ = ["Row", "columns", "count_rows", "detect_format", "open_writer", "read_rows"]

FORMATS = ("jsonl", "csv", "tsv", "parquet")


@dataclass(frozen=True, slots=True)
class Row:
    """One input row: its 1-based line (JSONL), record (CSV/TSV, after the header) or row (Parquet) number,
    the post mapping when it could be read, else the reason it could not, and a short excerpt of the raw row."""

    file: str
    line: int
    post: dict[str, Any] | None
    error: str | None = None
    raw: str = ""


def detect_format(path: str | Path) -> str:
    """``jsonl``, ``csv``, ``tsv`` or ``parquet`` from the file name (a ``.gz`` suffix is looked through), or
    ``dataset`` for a folder written by Hugging Face ``Dataset.save_to_disk``."""
    if Path(path).is_dir():
        if (Path(path) / "state.json").is_file():
            return "dataset"
        raise InputError(f"{path} is a folder but not one saved by datasets (no state.json in it)")
    name = Path(path).name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    for ext, fmt in (
        (".jsonl", "jsonl"),
        (".ndjson", "jsonl"),
        (".json", "jsonl"),
        (".csv", "csv"),
        (".tsv", "tsv"),
        (".parquet", "parquet"),
        (".pq", "parquet"),
    ):
        if name.endswith(ext):
            return fmt
    raise InputError(
        f"cannot tell the format of {path}: expected .jsonl, .csv, .tsv or .parquet (optionally .gz)"
    )


def _open_binary(path: Path) -> IO[bytes]:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]  # a GzipFile closes the file it opened
    return open(path, "rb")


def _check(post: Any, text_field: str) -> str | None:
    if not isinstance(post, dict):
        return f"expected a JSON object, got {type(post).__name__}"
    if text_field not in post:
        return f"no {text_field!r} field"
    if not isinstance(post[text_field], str):
        return f"field {text_field!r} is {type(post[text_field]).__name__}, expected a string"
    return None


def _excerpt(raw: bytes | str) -> str:
    s = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return s[:200]


_DAMAGED = (EOFError, OSError, zlib.error)  # gzip.BadGzipFile is an OSError


def _damaged(path: Path, after: int, e: BaseException) -> Row:
    what = "ends early" if isinstance(e, EOFError) else f"is damaged ({type(e).__name__}: {e})"
    return Row(str(path), after + 1, None, f"the file {what} after row {after}; the rest cannot be read")


def _read_jsonl(path: Path, text_field: str) -> Iterator[Row]:
    n = 0
    with _open_binary(path) as f:
        try:
            for n, raw in enumerate(f, 1):
                if n == 1 and raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:]
                if not raw.strip():
                    continue
                yield _jsonl_row(path, n, raw, text_field)
        except _DAMAGED as e:
            yield _damaged(path, n, e)


def _jsonl_row(path: Path, n: int, raw: bytes, text_field: str) -> Row:
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return Row(str(path), n, None, f"undecodable bytes (not UTF-8) at byte {e.start}", _excerpt(raw))
    try:
        post = json.loads(line)
    except json.JSONDecodeError as e:
        return Row(str(path), n, None, f"broken JSON: {e.msg} at column {e.colno}", _excerpt(line))
    except RecursionError:
        return Row(str(path), n, None, "JSON nested too deeply", _excerpt(line))
    err = _check(post, text_field)
    return Row(str(path), n, None if err else post, err, "" if not err else _excerpt(line))


def _read_csv(path: Path, text_field: str, delimiter: str) -> Iterator[Row]:
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 30))  # long posts are rows, not errors
    n = 0
    with _open_binary(path) as fb:
        text = io.TextIOWrapper(fb, encoding="utf-8", errors="surrogateescape", newline="")
        reader = csv.reader(text, delimiter=delimiter)
        try:
            header = next(reader, None)
            if header is None:
                return
            if header and header[0].startswith("\ufeff"):
                header[0] = header[0][1:]
            while True:
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error as e:
                    n += 1
                    yield Row(str(path), n, None, f"unreadable CSV record: {e}")
                    continue
                if not cells:
                    continue
                n += 1
                yield _csv_row(path, n, header, cells, delimiter, text_field)
        except _DAMAGED as e:
            yield _damaged(path, n, e)


def _csv_row(path: Path, n: int, header: list[str], cells: list[str], delimiter: str, text_field: str) -> Row:
    raw = delimiter.join(cells)
    if any("\udc80" <= c <= "\udcff" for c in raw):
        return Row(str(path), n, None, "undecodable bytes (not UTF-8)", _excerpt(raw.encode("utf-8", "replace")))
    if len(cells) != len(header):
        return Row(str(path), n, None, f"{len(cells)} fields, the header has {len(header)}", _excerpt(raw))
    post = dict(zip(header, cells, strict=True))
    err = _check(post, text_field)
    return Row(str(path), n, None if err else post, err, "" if not err else _excerpt(raw))


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise InputError("Parquet needs pyarrow: pip install 'negmon[parquet]'") from None
    return pyarrow


def _arrow_rows(file: str, batches: Any, text_field: str, start: int) -> Iterator[Row]:
    """Rows of Arrow record batches, numbered from ``start + 1``."""
    n = start
    for batch in batches:
        for post in batch.to_pylist():
            n += 1
            err = _check(post, text_field)
            yield Row(file, n, None if err else post, err, "" if not err else _excerpt(str(post)))


def _broken(file: str, after: int, e: Exception, kind: str = "Parquet") -> Row:
    what = f"is not a {kind} file or is damaged" if after == 0 else f"is damaged after row {after}"
    return Row(file, after + 1, None, f"the file {what} ({type(e).__name__}: {str(e)[:200]})")


def _read_parquet(path: Path, text_field: str) -> Iterator[Row]:
    pa = _pyarrow()
    last = 0
    try:
        for row in _arrow_rows(str(path), pa.parquet.ParquetFile(path).iter_batches(batch_size=4096), text_field, 0):
            last = row.line
            yield row
    except (pa.ArrowException, OSError, ValueError) as e:
        yield _broken(str(path), last, e)


def dataset_files(folder: Path) -> list[Path]:
    """The Arrow files of a folder saved by ``Dataset.save_to_disk``, in order (from its ``state.json``)."""
    try:
        state = json.loads((folder / "state.json").read_text("utf-8"))
        return [folder / str(f["filename"]) for f in state["_data_files"]]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise InputError(f"cannot read {folder / 'state.json'} of the saved dataset: {e}") from None


def _read_dataset(folder: Path, text_field: str) -> Iterator[Row]:
    pa = _pyarrow()
    last = 0
    for f in dataset_files(folder):
        try:
            with pa.memory_map(str(f)) as source:
                for row in _arrow_rows(str(f), pa.ipc.open_stream(source), text_field, last):
                    last = row.line
                    yield row
        except (pa.ArrowException, OSError, ValueError) as e:
            yield _broken(str(f), last, e, "Arrow")


def read_rows(path: str | Path, *, text_field: str = "text") -> Iterator[Row]:
    """Every row of one archive, good or bad, in file order."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"input file {p} does not exist")
    fmt = detect_format(p)
    if fmt == "dataset":
        return _read_dataset(p, text_field)
    if fmt == "jsonl":
        return _read_jsonl(p, text_field)
    if fmt in ("csv", "tsv"):
        return _read_csv(p, text_field, "," if fmt == "csv" else "\t")
    return _read_parquet(p, text_field)


def _arrow_probe(p: Path, fmt: str, *, count: bool = True) -> tuple[int, list[str]] | None:
    """Rows (0 unless ``count``) and column names of a Parquet file or a saved dataset folder; None when it
    cannot be read. A dataset's rows are counted by reading its batches, so ``columns`` does not ask."""
    pa = _pyarrow()
    try:
        if fmt == "parquet":
            pf = pa.parquet.ParquetFile(p)
            return int(pf.metadata.num_rows), list(pf.schema_arrow.names)
        total, names = 0, None
        for part in dataset_files(p):
            with pa.memory_map(str(part)) as source:
                stream = pa.ipc.open_stream(source)
                names = names or list(stream.schema.names)
                if not count:
                    break
                total += sum(b.num_rows for b in stream)
        return (total, names) if names is not None else None
    except (pa.ArrowException, InputError, OSError):
        return None


def count_rows(path: str | Path) -> int | None:
    """Fast row count for the progress bar (newlines for JSONL; metadata for Parquet; None for CSV)."""
    p = Path(path)
    fmt = detect_format(p)
    try:
        if fmt in ("dataset", "parquet"):
            probe = _arrow_probe(p, fmt)
            return None if probe is None else probe[0]  # unreadable: the reader reports it as one bad row
        if fmt != "jsonl":
            return None
        n = 0
        last = b"\n"
        with _open_binary(p) as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                n += block.count(b"\n")
                last = block[-1:]
        return n + (last != b"\n")
    except _DAMAGED:
        return None


def columns(path: str | Path, *, sample: int = 100) -> list[str] | None:
    """The fields of an archive's rows: the CSV/TSV header, the Parquet schema, or the keys seen in the first
    ``sample`` JSON objects of a JSONL file; None when the file cannot tell (empty, unreadable)."""
    p = Path(path)
    fmt = detect_format(p)
    try:
        if fmt in ("dataset", "parquet"):
            probe = _arrow_probe(p, fmt, count=False)
            return None if probe is None else probe[1]
        with _open_binary(p) as fb:
            text = io.TextIOWrapper(fb, encoding="utf-8", errors="replace", newline="")
            if fmt in ("csv", "tsv"):
                header = next(csv.reader(text, delimiter="," if fmt == "csv" else "\t"), None)
                return [header[0].lstrip("\ufeff"), *header[1:]] if header else None
            keys: dict[str, None] = {}
            seen = 0
            for line in text:
                if seen >= sample:
                    break
                try:
                    obj = json.loads(line.lstrip("\ufeff"))
                except (ValueError, RecursionError):
                    continue
                if isinstance(obj, dict):
                    seen += 1
                    keys.update(dict.fromkeys(obj))
            return list(keys) if seen else None
    except (*_DAMAGED, csv.Error):
        return None


# ---------------------------------------------------------------- writers

OVERFLOW = "extra_fields"


def _cell(v: Any) -> Any:
    if isinstance(v, dict | list | tuple):
        return json.dumps(v, ensure_ascii=False)
    return v


def _fsync(f: IO[bytes]) -> None:
    f.flush()
    os.fsync(f.fileno())


class _TextWriter:
    """Appends JSONL or CSV rows to a (possibly gzipped) file; ``commit()`` gives a resumable byte offset.

    CSV columns are fixed by the first rows written, plus a last column ``extra_fields`` holding, as a JSON
    object, any carried-through field that a later row brings: nothing is dropped.
    """

    def __init__(self, path: Path, fmt: str, append: bool) -> None:
        self.path, self.fmt = path, fmt
        self.gz = path.name.lower().endswith(".gz")
        self.delimiter = "," if fmt == "csv" else "\t"
        self.raw = open(path, "ab" if append else "wb")  # noqa: SIM115 - closed in close()
        self.columns: list[str] | None = None
        if append and fmt in ("csv", "tsv") and path.stat().st_size:
            self.columns = self._existing_header()

    def _existing_header(self) -> list[str]:
        with _open_binary(self.path) as f:
            first = io.TextIOWrapper(f, encoding="utf-8", newline="")
            return next(csv.reader(first, delimiter=self.delimiter))

    def write(self, rows: list[dict[str, Any]]) -> None:
        buf = io.StringIO()
        if self.fmt == "jsonl":
            for r in rows:
                buf.write(json.dumps(r, ensure_ascii=False, allow_nan=False))
                buf.write("\n")
        elif rows:
            w = csv.writer(buf, delimiter=self.delimiter, lineterminator="\r\n")  # RFC 4180; quotes a lone \r
            if self.columns is None:
                names = list(rows[0])
                overflow = OVERFLOW
                while overflow in names:
                    overflow = "_" + overflow
                self.columns = [*names, overflow]
                w.writerow(self.columns)
            known = self.columns[:-1]
            for r in rows:
                more = {k: v for k, v in r.items() if k not in known}
                cells = [_cell(r.get(k)) for k in known]
                w.writerow([*cells, json.dumps(more, ensure_ascii=False, allow_nan=False) if more else ""])
        data = scrub(buf.getvalue()).encode("utf-8")  # rows come scrubbed; this only guards the file
        # each flush is a complete gzip member, so a file cut at a flushed offset is still valid gzip
        self.raw.write(gzip.compress(data, mtime=0) if self.gz and data else data)

    def commit(self) -> int:
        _fsync(self.raw)
        return self.raw.tell()

    def close(self) -> None:
        self.raw.close()

    def finish(self) -> None:
        self.close()

    def cleanup(self) -> None:
        """Nothing to remove: the output file is complete after each commit."""


class _ParquetWriter:
    """Writes each committed chunk as a part file in ``<output>.parts/``; ``finish()`` joins them into the
    output atomically (a temporary file renamed over it), ``cleanup()`` then removes the parts.

    A carried-through field whose type changes between rows or chunks (a number here, a string there) is
    written as strings in every part, so the parts always join.
    """

    def __init__(self, path: Path, append: bool) -> None:
        self.pa = _pyarrow()
        self.path = path
        self.parts = path.with_name(path.name + ".parts")
        self.parts.mkdir(exist_ok=True)
        self.pending: list[dict[str, Any]] = []
        self.n = len(list(self.parts.glob("part-*.parquet"))) if append else 0

    def write(self, rows: list[dict[str, Any]]) -> None:
        self.pending += [{k: _cell(v) for k, v in jsonable(r).items()} for r in rows]

    def _table(self, rows: list[dict[str, Any]]) -> Any:
        pa = self.pa
        try:
            return pa.Table.from_pylist(rows)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            names = list(dict.fromkeys(k for r in rows for k in r))
            cols = {}
            for k in names:
                vals = [r.get(k) for r in rows]
                try:
                    cols[k] = pa.array(vals)
                except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
                    cols[k] = pa.array([None if v is None else _text(v) for v in vals], pa.string())
            return pa.table(cols)

    def commit(self) -> int:
        if self.pending:
            table = self._table(self.pending)
            tmp = self.parts / f".part-{self.n:06d}.tmp"
            self.pa.parquet.write_table(table, tmp)
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            fault("part")
            os.replace(tmp, self.parts / f"part-{self.n:06d}.parquet")
            self.n += 1
            self.pending = []
        return self.n

    def truncate_parts(self, keep: int) -> None:
        for p in self.parts.glob("part-*.parquet"):
            if int(p.stem.split("-")[1]) >= keep:
                p.unlink()
        self.n = keep

    def close(self) -> None:
        pass

    def _join(self, tables: list[Any]) -> Any:
        pa = self.pa
        try:
            return pa.concat_tables(tables, promote_options="permissive")
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            types: dict[str, set[Any]] = {}
            for t in tables:
                for f in t.schema:
                    if not pa.types.is_null(f.type):
                        types.setdefault(f.name, set()).add(f.type)
            drift = {k for k, v in types.items() if len(v) > 1}
            fixed = []
            for t in tables:
                for k in drift & set(t.column_names):
                    i = t.column_names.index(k)
                    vals = [None if v is None else _text(v) for v in t.column(k).to_pylist()]
                    t = t.set_column(i, k, pa.array(vals, pa.string()))
                fixed.append(t)
            return pa.concat_tables(fixed, promote_options="permissive")

    def finish(self) -> None:
        files = sorted(self.parts.glob("part-*.parquet"))
        table = self._join([self.pa.parquet.read_table(f) for f in files]) if files else self.pa.table({})
        tmp = self.path.with_name(self.path.name + ".tmp")
        self.pa.parquet.write_table(table, tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        fault("join")
        os.replace(tmp, self.path)

    def cleanup(self) -> None:
        """Remove the part files once the joined output is in place."""
        import shutil

        shutil.rmtree(self.parts, ignore_errors=True)


def _text(v: Any) -> str:
    return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)


def open_writer(path: str | Path, *, append: bool = False) -> _TextWriter | _ParquetWriter:
    """A writer for ``path`` by its extension; ``append`` continues an interrupted run."""
    p = Path(path)
    if p.is_dir():
        raise InputError(f"the output {p} is a folder; name an output file (.jsonl, .csv, .tsv, .parquet)")
    fmt = detect_format(p)
    if fmt == "parquet":
        return _ParquetWriter(p, append)
    return _TextWriter(p, fmt, append)
