"""The ``negmon`` command end to end: formats, bad rows, exit codes, resume after a kill."""

from __future__ import annotations

import csv
import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from negmon.cli import main

GOOD = [
    {"id": 1, "text": "В Кстово третий день нет горячей воды!", "likes": 4},
    {"id": 2, "text": "Спасибо за ремонт дороги на Ленина"},
    {"id": 3, "text": "   "},
    {"id": 4, "text": "Когда уберут снег во дворе?"},
]


def write_jsonl_with_bad_rows(path: Path) -> None:
    lines = [json.dumps(GOOD[0], ensure_ascii=False).encode(), json.dumps(GOOD[1], ensure_ascii=False).encode(),
             b"{not json", b'{"id": 9}', b'{"id": 10, "text": 5}', b"\xff\xfe broken bytes", b"[1, 2]",
             json.dumps(GOOD[2]).encode(), json.dumps(GOOD[3], ensure_ascii=False).encode()]
    data = b"\n".join(lines) + b"\n"
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)


def read_jsonl(path: Path) -> list[dict]:
    raw = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
    return [json.loads(x) for x in raw.decode().splitlines() if x.strip()]


@pytest.mark.parametrize("name", ["in.jsonl", "in.jsonl.gz"])
def test_score_jsonl_with_bad_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:
    src = tmp_path / name
    write_jsonl_with_bad_rows(src)
    out = tmp_path / "out.jsonl"
    assert main(["score", str(src), "-o", str(out), "--model", "fast", "--no-progress"]) == 0
    rows = read_jsonl(out)
    assert [r["id"] for r in rows] == ["1", "2", "3", "4"]
    assert rows[0]["likes"] == 4 and rows[2]["empty"] is True
    errors = read_jsonl(tmp_path / "out.jsonl.errors.jsonl")
    assert [(e["line"], e["reason"].split()[0]) for e in errors] == [
        (3, "broken"), (4, "no"), (5, "field"), (6, "undecodable"), (7, "expected")]
    summary = capsys.readouterr().out
    assert "rows in: 9  scored: 4  errors: 5" in summary
    assert "sentiment:" in summary


def test_score_csv_in_parquet_out(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow.parquet")
    src = tmp_path / "in.csv"
    with open(src, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["post_id", "body", "source"])
        w.writerow(["a", "Нет света на Садовой", "vk"])
        w.writerow(["b", "Спасибо!", "ok"])
        w.writerow(["c", "лишняя", "колонка", "здесь"])
    out = tmp_path / "out.parquet"
    rc = main(["score", str(src), "-o", str(out), "--text-field", "body", "--id-field", "post_id",
               "--model", "fast", "--no-progress"])
    assert rc == 0
    table = pa.read_table(out).to_pylist()
    assert [(r["id"], r["source"]) for r in table] == [("a", "vk"), ("b", "ok")]
    errors = read_jsonl(tmp_path / "out.parquet.errors.jsonl")
    assert errors[0]["line"] == 3 and "fields" in errors[0]["reason"]


def test_score_csv_gz_output(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in GOOD), "utf-8")
    out = tmp_path / "out.csv.gz"
    assert main(["score", str(src), "-o", str(out), "--model", "fast", "--no-progress"]) == 0
    with gzip.open(out, "rt", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["id"] for r in rows] == ["1", "2", "3", "4"]
    assert json.loads(rows[0]["sentiment_scores"])


def test_user_errors_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", str(tmp_path / "missing.jsonl"), "-o", str(tmp_path / "o.jsonl")]) == 1
    assert "does not exist" in capsys.readouterr().err
    src = tmp_path / "in.txt"
    src.write_text("x")
    assert main(["score", str(src), "-o", str(tmp_path / "o.jsonl")]) == 1
    assert "cannot tell the format" in capsys.readouterr().err
    good = tmp_path / "in.jsonl"
    good.write_text(json.dumps(GOOD[0]) + "\n")
    out = tmp_path / "o.jsonl"
    out.write_text("existing")
    assert main(["score", str(good), "-o", str(out), "--model", "fast"]) == 1
    assert "--force" in capsys.readouterr().err
    assert main(["score", str(good), "-o", str(out), "--model", "fast", "--resume"]) == 1
    assert "nothing to resume" in capsys.readouterr().err
    assert main(["classify", "x", "--model", "no-such-model"]) == 1
    assert "no model folder" in capsys.readouterr().err


def test_usage_errors_exit_2() -> None:
    with pytest.raises(SystemExit) as e:
        main(["frobnicate"])
    assert e.value.code == 2
    assert main(["score", "a.jsonl", "-o", "b.jsonl", "--batch-size", "0"]) == 2


def test_classify_and_info(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["classify", "Спасибо врачам!", "--model", "fast", "--compact"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["sentiment"] == "positive"
    assert main(["info", "fast"]) == 0
    out = capsys.readouterr().out
    assert "head sentiment" in out and "metrics rusentiment-test" in out


def _posts(n: int) -> list[dict]:
    words = ["нет воды", "спасибо", "яма на дороге", "автобус опоздал", "мусор", "свет отключили", "ура"]
    return [{"id": i, "text": f"{words[i % 7]} {i} в доме {i % 13}"} for i in range(n)]


def _run(args: list[str], capture: bool = True) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    pipe = subprocess.PIPE if capture else subprocess.DEVNULL
    return subprocess.Popen([sys.executable, "-m", "negmon.cli", *args], env=env, stdout=pipe, stderr=pipe)


@pytest.mark.parametrize("out_name", ["out.jsonl", "out.parquet"])
def test_kill_and_resume_matches_uninterrupted_run(tmp_path: Path, out_name: str) -> None:
    if out_name.endswith(".parquet"):
        pytest.importorskip("pyarrow")
    src = tmp_path / "in.jsonl"
    lines = [json.dumps(p, ensure_ascii=False) for p in _posts(6000)]
    lines[1234] = "{broken"
    src.write_text("\n".join(lines) + "\n", "utf-8")
    common = ["--model", "fast", "--no-progress", "--no-localities", "--checkpoint-every", "300"]

    ref = tmp_path / ("ref." + out_name.split(".", 1)[1])
    p = _run(["score", str(src), "-o", str(ref), *common])
    _, err = p.communicate(timeout=300)
    assert p.returncode == 0, err.decode()

    out = tmp_path / out_name
    state = tmp_path / (out_name + ".negmon-state.json")
    p = _run(["score", str(src), "-o", str(out), *common], capture=False)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if json.loads(state.read_text()).get("rows_done", 0) >= 900:
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.02)
    p.send_signal(signal.SIGKILL)
    p.wait(30)
    assert state.exists(), "the run finished before it could be killed"
    p = _run(["score", str(src), "-o", str(out), *common, "--resume"])
    stdout, stderr = p.communicate(timeout=300)
    assert p.returncode == 0, stderr.decode()
    assert "rows in: 6000  scored: 5999  errors: 1" in stdout.decode()

    def rows(path: Path) -> list[dict]:
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            return pq.read_table(path).to_pylist()
        return read_jsonl(path)

    got, want = rows(out), rows(ref)
    assert [r["id"] for r in got] == [str(i) for i in range(6000) if i != 1234]
    assert got == want
    assert len(read_jsonl(tmp_path / (out_name + ".errors.jsonl"))) == 1
    assert not state.exists()
