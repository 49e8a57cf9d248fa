"""Fault injection: ``negmon score`` killed (SIGKILL) at every step of a run, then ``--resume``d, gives exactly
the output of an uninterrupted run, for every output format.

The steps (``NEGMON_FAULT=point:N``, see ``negmon._faults``): after the run state is first saved (``start``),
after a chunk's rows are written but not synced (``write``), after a Parquet part is written but not renamed
(``part``), after the data is synced but before the state is saved (``commit``), after the state is saved
(``checkpoint``), while joining the Parquet parts (``join``), after the join (``finish``), after the run is
marked finished (``finished``) and after the clean-up, just before the state is removed (``cleanup``).
Every occurrence of every per-chunk step is tried.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from negmon.cli import main

ROWS, EVERY = 23, 6
CHUNKS = -(-ROWS // EVERY)
FORMATS = ["out.jsonl", "out.jsonl.gz", "out.csv", "out.csv.gz", "out.tsv", "out.parquet"]


def _faults(out: str) -> list[str]:
    per_chunk = ["write", "commit", "checkpoint"] + (["part"] if out.endswith(".parquet") else [])
    once = ["start", "finish", "finished", "cleanup"] + (["join"] if out.endswith(".parquet") else [])
    return [f"{p}:{n}" for p in per_chunk for n in range(1, CHUNKS + 1)] + [f"{p}:1" for p in once]


def _input(path: Path) -> Path:
    words = ["нет воды", "спасибо", "яма на дороге", "автобус опоздал", "мусор", "свет отключили", "ура"]
    lines = [json.dumps({"id": i, "text": f"В Кстово {words[i % 7]} {i}", "n": i}, ensure_ascii=False)
             for i in range(ROWS)]
    lines[4], lines[15] = "{broken", '{"id": 15, "region": "Марс", "text": "нет света"}'
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def _content(path: Path) -> object:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    data = path.read_bytes()
    return gzip.decompress(data) if path.name.endswith(".gz") else data


@pytest.mark.parametrize("out_name", FORMATS)
def test_kill_at_every_step_then_resume_equals_an_uninterrupted_run(tmp_path: Path, out_name: str) -> None:
    if out_name.endswith(".parquet"):
        pytest.importorskip("pyarrow")
    src = _input(tmp_path / "in.jsonl")
    common = ["--model", "fast", "--no-progress", "--checkpoint-every", str(EVERY)]
    ref = tmp_path / f"ref.{out_name}"
    assert main(["score", str(src), "-o", str(ref), *common]) == 0
    want = _content(ref)
    want_errors = (tmp_path / f"ref.{out_name}.errors.jsonl").read_bytes()
    out = tmp_path / out_name
    state = tmp_path / f"{out_name}.negmon-state.json"
    for spec in _faults(out_name):
        args = ["score", str(src), "-o", str(out), *common, "--force"]
        p = subprocess.run([sys.executable, "-m", "negmon.cli", *args], capture_output=True, timeout=120,
                           env={**os.environ, "NEGMON_FAULT": spec})
        assert p.returncode == -9, f"{spec}: the run was not killed ({p.stderr.decode()[-300:]})"
        assert state.exists(), f"{spec}: killed, but no run state to resume from"
        assert main(["score", str(src), "-o", str(out), *common, "--resume"]) == 0, spec
        assert _content(out) == want, f"{spec}: the resumed output differs from an uninterrupted run"
        assert (tmp_path / f"{out_name}.errors.jsonl").read_bytes() == want_errors, spec
        assert not state.exists() and not (tmp_path / f"{out_name}.parts").exists(), spec
