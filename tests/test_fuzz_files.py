"""A file fuzzer: random archives, randomly damaged, through ``negmon score`` in-process.

Inputs: JSONL, CSV, TSV and Parquet, gzipped or not, with random texts (surrogates, controls, emoji, NUL),
carried-through fields whose type drifts from row to row, and damage on top: truncation, bad bytes, BOMs,
a huge field, NUL bytes, CRLF line ends, a wrong extension. For every example: the exit code is 0 or 1, there
is no traceback, a failure is one ``negmon: error:`` line, and on success every row is accounted for
(rows in = scored + errors, equal to the rows written when nothing was damaged) and the output parses in its
format. By default 2,000 examples from a fixed seed (CI replays the same ones); ``NEGMON_FUZZ_EXAMPLES=N`` runs N
examples from a random seed (a longer run that explores).
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from negmon.cli import main
from negmon.result import scrub

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

EXAMPLES = int(os.environ.get("NEGMON_FUZZ_EXAMPLES", "2000"))
FIXED = "NEGMON_FUZZ_EXAMPLES" not in os.environ  # CI replays the same 2,000 examples; a longer run explores
TEXTS = [
    "В Кстово третий день нет горячей воды!",
    "Спасибо врачам поликлиники № 2",
    "Когда отремонтируют дорогу на ул. Ленина, 5?",
    "😡😡😡",
    "",
    "   ",
    "\u200b\u200d",
    "v Kstovo net vody",
]
ANY_CHAR = st.characters(codec=None, exclude_categories=())  # surrogates and controls included
EXTRA = st.one_of(
    st.integers(-(2**70), 2**70), st.floats(allow_nan=True, allow_infinity=True), st.text(ANY_CHAR, max_size=8),
    st.none(), st.booleans(), st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(),
                                                                                 max_size=2),
)


@st.composite
def archives(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(0, 20))
    rows: list[dict[str, Any]] = []
    for i in range(n):
        row: dict[str, Any] = {"id": i, "text": draw(st.one_of(st.sampled_from(TEXTS), st.text(ANY_CHAR, max_size=50)))}
        if draw(st.integers(0, 9)) == 0:
            row["text"] = draw(st.one_of(st.integers(), st.none(), st.lists(st.integers(), max_size=2)))
        if draw(st.integers(0, 14)) == 0:
            del row["text"]
        for key in draw(st.lists(st.sampled_from(["likes", "region", "created_at", "source", "author"]), max_size=2)):
            row[key] = draw(EXTRA)
        rows.append(row)
    fmt = draw(st.sampled_from(["jsonl", "csv", "tsv", "parquet"]))
    gz = fmt != "parquet" and draw(st.booleans())
    damage = draw(st.lists(st.sampled_from(["truncate", "bad_bytes", "bom", "huge", "nul", "crlf", "wrong_ext"]),
                           max_size=2, unique=True))
    return {
        "rows": rows, "fmt": fmt, "gz": gz, "damage": damage,
        "cut": draw(st.floats(0, 1)), "pos": draw(st.floats(0, 1)), "junk": draw(st.binary(min_size=1, max_size=6)),
        "out": draw(st.sampled_from(["out.jsonl", "out.jsonl.gz", "out.csv", "out.tsv", "out.csv.gz", "out.parquet"])),
        "localities": draw(st.booleans()),
    }


def _cellstr(v: Any) -> str:
    return v if isinstance(v, str) else json.dumps(v, default=str)


def _parquet_cell(v: Any) -> str:
    return scrub(_cellstr(v))  # Parquet strings are UTF-8: a lone surrogate cannot be stored in one


def _serialize(rows: list[dict[str, Any]], fmt: str) -> bytes:
    if fmt == "jsonl":
        return b"".join(json.dumps(r, ensure_ascii=True).encode() + b"\n" for r in rows)
    if fmt == "parquet":
        if not rows:
            rows = [{"id": 0, "text": "x"}][:0]
        cols = sorted({k for r in rows for k in r})
        table = pa.table({k: pa.array([None if k not in r else _parquet_cell(r[k]) for r in rows], pa.string())
                          for k in cols}) if cols else pa.table({"text": pa.array([], pa.string())})
        buf = io.BytesIO()
        pq.write_table(table, buf)
        return buf.getvalue()
    cols = list(dict.fromkeys(k for r in rows for k in r)) or ["id", "text"]
    text = io.StringIO()
    w = csv.writer(text, delimiter="," if fmt == "csv" else "\t", lineterminator="\n")
    w.writerow(cols)
    for r in rows:
        w.writerow([_cellstr(r.get(k, "")) for k in cols])
    return text.getvalue().encode("utf-8", "surrogatepass")


def _damage(data: bytes, ex: dict[str, Any]) -> tuple[bytes, str]:
    name = f"in.{ex['fmt']}"
    for d in ex["damage"]:
        at = int(len(data) * ex["pos"])
        if d == "truncate":
            data = data[: int(len(data) * ex["cut"])]
        elif d == "bad_bytes":
            data = data[:at] + ex["junk"] + data[at:]
        elif d == "bom":
            data = b"\xef\xbb\xbf" + data
        elif d == "huge":
            big = "нет воды " * 17_000
            row = json.dumps({"id": "huge", "text": big}, ensure_ascii=False) + "\n" if ex["fmt"] == "jsonl" \
                else f"huge{',' if ex['fmt'] == 'csv' else chr(9)}{big}\n"
            data = data + row.encode()
        elif d == "nul":
            data = data[:at] + b"\x00" + data[at:]
        elif d == "crlf":
            data = data.replace(b"\n", b"\r\n")
        elif d == "wrong_ext":
            name = {"jsonl": "in.parquet", "csv": "in.jsonl", "tsv": "in.csv", "parquet": "in.jsonl"}[ex["fmt"]]
    return data, name


def _read_output(path: Path) -> list[dict[str, Any]]:
    """The output rows, parsed strictly in the output's format (fails the example when they do not parse)."""
    if path.suffix == ".parquet":
        return list(pq.read_table(path).to_pylist())
    raw = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
    text = raw.decode("utf-8")  # strict: the output must be valid UTF-8
    if ".jsonl" in path.name:
        def no_constants(c: str) -> None:
            raise AssertionError(f"{c} in JSONL output")

        return [json.loads(x, parse_constant=no_constants) for x in text.split("\n") if x]
    delim = "," if ".csv" in path.name else "\t"
    records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delim))
    if not records:
        return []
    header = records[0]
    assert all(len(r) == len(header) for r in records[1:]), "ragged CSV output"
    return [dict(zip(header, r, strict=True)) for r in records[1:]]


SUMMARY = re.compile(r"rows in: (\d+)  scored: (\d+)  errors: (\d+)")


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None,
          derandomize=FIXED)
@given(ex=archives())
def test_score_accounts_for_every_row_of_any_file(ex: dict[str, Any]) -> None:
    data = _serialize(ex["rows"], ex["fmt"])
    data, name = _damage(data, ex)
    if ex["gz"]:
        name += ".gz"
        data = gzip.compress(data, mtime=0)
    with tempfile.TemporaryDirectory() as d:
        src, out = Path(d) / name, Path(d) / ex["out"]
        src.write_bytes(data)
        stdout, stderr = io.StringIO(), io.StringIO()
        args = ["score", str(src), "-o", str(out), "--model", "fast", "--no-progress", "--checkpoint-every", "7"]
        if not ex["localities"]:
            args.append("--no-localities")
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            code = main(args)
        err = stderr.getvalue()
        assert code in (0, 1), err
        assert "Traceback" not in err
        if code == 1:
            assert err.startswith("negmon: error: ") and err.count("\n") == 1, err
            return
        m = SUMMARY.search(stdout.getvalue())
        assert m, stdout.getvalue()
        rows_in, scored, errors = map(int, m.groups())
        assert rows_in == scored + errors
        got = _read_output(out)
        assert len(got) == scored
        errfile = Path(d) / (ex["out"] + ".errors.jsonl")
        err_rows = [json.loads(x) for x in errfile.read_text("utf-8").split("\n") if x] if errfile.exists() else []
        assert len(err_rows) == errors
        if not ex["damage"] and ex["fmt"] in ("jsonl", "parquet"):
            assert rows_in == len(ex["rows"])
        ids = [r["id"] for r in got if r.get("id") not in (None, "")]
        assert len(ids) == len(set(ids)), "a row was written twice"
