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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from negmon.errors import InputError

__all__ = ["Row", "count_rows", "detect_format", "open_writer", "read_rows"]

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
    """``jsonl``, ``csv``, ``tsv`` or ``parquet`` from the file name (a ``.gz`` suffix is looked through)."""
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


def _read_jsonl(path: Path, text_field: str) -> Iterator[Row]:
    with _open_binary(path) as f:
        for n, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                yield Row(
                    str(path), n, None, f"undecodable bytes (not UTF-8) at byte {e.start}", _excerpt(raw)
                )
                continue
            try:
                post = json.loads(line)
            except json.JSONDecodeError as e:
                yield Row(str(path), n, None, f"broken JSON: {e.msg} at column {e.colno}", _excerpt(line))
                continue
            err = _check(post, text_field)
            yield Row(str(path), n, None if err else post, err, "" if not err else _excerpt(line))


def _read_csv(path: Path, text_field: str, delimiter: str) -> Iterator[Row]:
    with _open_binary(path) as fb:
        text = io.TextIOWrapper(fb, encoding="utf-8", errors="surrogateescape", newline="")
        reader = csv.reader(text, delimiter=delimiter)
        try:
            header = next(reader)
        except StopIteration:
            return
        if header and header[0].startswith("\ufeff"):
            header[0] = header[0][1:]
        for n, cells in enumerate(reader, 1):
            if not cells:
                continue
            raw = delimiter.join(cells)
            if any("\udc80" <= c <= "\udcff" for c in raw):
                yield Row(
                    str(path),
                    n,
                    None,
                    "undecodable bytes (not UTF-8)",
                    _excerpt(raw.encode("utf-8", "replace")),
                )
                continue
            if len(cells) != len(header):
                yield Row(
                    str(path), n, None, f"{len(cells)} fields, the header has {len(header)}", _excerpt(raw)
                )
                continue
            post = dict(zip(header, cells, strict=True))
            err = _check(post, text_field)
            yield Row(str(path), n, None if err else post, err, "" if not err else _excerpt(raw))


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise InputError("Parquet needs pyarrow: pip install 'negmon[parquet]'") from None
    return pyarrow


def _read_parquet(path: Path, text_field: str) -> Iterator[Row]:
    pa = _pyarrow()
    pf = pa.parquet.ParquetFile(path)
    n = 0
    for batch in pf.iter_batches(batch_size=4096):
        for post in batch.to_pylist():
            n += 1
            err = _check(post, text_field)
            yield Row(str(path), n, None if err else post, err, "" if not err else _excerpt(str(post)))


def read_rows(path: str | Path, *, text_field: str = "text") -> Iterator[Row]:
    """Every row of one archive, good or bad, in file order."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"input file {p} does not exist")
    fmt = detect_format(p)
    if fmt == "jsonl":
        return _read_jsonl(p, text_field)
    if fmt in ("csv", "tsv"):
        return _read_csv(p, text_field, "," if fmt == "csv" else "\t")
    return _read_parquet(p, text_field)


def count_rows(path: str | Path) -> int | None:
    """Fast row count for the progress bar (newlines for JSONL; metadata for Parquet; None for CSV)."""
    p = Path(path)
    fmt = detect_format(p)
    if fmt == "parquet":
        return int(_pyarrow().parquet.ParquetFile(p).metadata.num_rows)
    if fmt != "jsonl":
        return None
    n = 0
    last = b"\n"
    with _open_binary(p) as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            n += block.count(b"\n")
            last = block[-1:]
    return n + (last != b"\n")


# ---------------------------------------------------------------- writers


def _cell(v: Any) -> Any:
    if isinstance(v, dict | list | tuple):
        return json.dumps(v, ensure_ascii=False)
    return v


class _TextWriter:
    """Appends JSONL or CSV rows to a (possibly gzipped) file; ``tell()`` gives a resumable byte offset."""

    def __init__(self, path: Path, fmt: str, append: bool) -> None:
        self.path, self.fmt = path, fmt
        self.gz = path.name.lower().endswith(".gz")
        self.raw = open(path, "ab" if append else "wb")  # noqa: SIM115 - closed in close()
        self.columns: list[str] | None = None
        if append and fmt in ("csv", "tsv") and path.stat().st_size:
            self.columns = self._existing_header()

    def _existing_header(self) -> list[str]:
        with _open_binary(self.path) as f:
            first = io.TextIOWrapper(f, encoding="utf-8", newline="").readline()
        return next(csv.reader([first], delimiter="," if self.fmt == "csv" else "\t"))

    def write(self, rows: list[dict[str, Any]]) -> None:
        buf = io.StringIO()
        if self.fmt == "jsonl":
            for r in rows:
                buf.write(json.dumps(r, ensure_ascii=False))
                buf.write("\n")
        else:
            if self.columns is None and rows:
                self.columns = list(rows[0])
                header = csv.writer(buf, delimiter="," if self.fmt == "csv" else "\t", lineterminator="\n")
                header.writerow(self.columns)
            w = csv.DictWriter(
                buf,
                fieldnames=self.columns or [],
                delimiter="," if self.fmt == "csv" else "\t",
                lineterminator="\n",
                extrasaction="ignore",
            )
            for r in rows:
                w.writerow({k: _cell(v) for k, v in r.items()})
        data = buf.getvalue().encode("utf-8")
        # each flush is a complete gzip member, so a file cut at a flushed offset is still valid gzip
        self.raw.write(gzip.compress(data, mtime=0) if self.gz and data else data)

    def commit(self) -> int:
        import os

        self.raw.flush()
        os.fsync(self.raw.fileno())
        return self.raw.tell()

    def close(self) -> None:
        self.raw.close()

    def finish(self) -> None:
        self.close()


class _ParquetWriter:
    """Writes each committed chunk as a part file in ``<output>.parts/``; ``finish()`` joins them."""

    def __init__(self, path: Path, append: bool) -> None:
        self.pa = _pyarrow()
        self.path = path
        self.parts = path.with_name(path.name + ".parts")
        self.parts.mkdir(exist_ok=True)
        self.pending: list[dict[str, Any]] = []
        self.n = len(list(self.parts.glob("part-*.parquet"))) if append else 0

    def write(self, rows: list[dict[str, Any]]) -> None:
        self.pending += [{k: _cell(v) for k, v in r.items()} for r in rows]

    def commit(self) -> int:
        if self.pending:
            table = self.pa.Table.from_pylist(self.pending)
            self.pa.parquet.write_table(table, self.parts / f"part-{self.n:06d}.parquet")
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

    def finish(self) -> None:
        import shutil

        files = sorted(self.parts.glob("part-*.parquet"))
        if files:
            tables = [self.pa.parquet.read_table(f) for f in files]
            table = self.pa.concat_tables(tables, promote_options="permissive")
            self.pa.parquet.write_table(table, self.path)
        else:
            self.pa.parquet.write_table(self.pa.table({}), self.path)
        shutil.rmtree(self.parts)


def open_writer(path: str | Path, *, append: bool = False) -> _TextWriter | _ParquetWriter:
    """A writer for ``path`` by its extension; ``append`` continues an interrupted run."""
    p = Path(path)
    fmt = detect_format(p)
    if fmt == "parquet":
        return _ParquetWriter(p, append)
    return _TextWriter(p, fmt, append)
