"""pandas and Hugging Face datasets: classify_frame, to_frame, classify_dataset and `negmon score` on a folder
saved by datasets, each checked against classify_batch on the same posts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import negmon
from negmon.cli import main
from negmon.errors import InputError

pd = pytest.importorskip("pandas")
datasets = pytest.importorskip("datasets")

TEXTS = [
    "В Кстово третий день нет горячей воды, управляющая компания молчит!",
    "Спасибо врачам второй поликлиники",
    "Когда отремонтируют дорогу на улице Ленина? Яма на яме",
    "Хорошая погода сегодня",
]


def _expected() -> list[negmon.Result]:
    return list(negmon.classify_batch(TEXTS, model="fast"))


def test_classify_frame_matches_classify_batch_and_reports_bad_rows() -> None:
    df = pd.DataFrame({"text": [*TEXTS, None, 7, "нет света"],
                       "region": [None] * 6 + ["Марс"], "likes": range(7)}, index=[f"r{i}" for i in range(7)])
    out = negmon.classify_frame(df, model="fast")
    assert list(out.index) == list(df.index)
    want = _expected()
    assert list(out["needs_reply"][:4]) == [r.needs_reply for r in want]
    assert list(out["topic"][:4]) == [r.topic for r in want]
    assert list(out["reply_score"][:4]) == [r.reply_score for r in want]
    assert out["error"][:4].isna().all()
    assert "must be str, got NoneType" in out.loc["r4", "error"] and "got int" in out.loc["r5", "error"]
    assert "unknown region 'Марс'" in out.loc["r6", "error"] and out["needs_reply"][4:].isna().all()
    assert out.loc["r0", "localities"][0]["name"] == "Кстово"
    joined = df.join(out)
    assert len(joined) == 7


def test_classify_frame_arguments() -> None:
    df = pd.DataFrame({"message": TEXTS})
    with pytest.raises(InputError, match=r"no column 'text'.*'message'"):
        negmon.classify_frame(df, model="fast")
    out = negmon.classify_frame(df, "message", model="fast", fields=["sentiment", "topic_scores"])
    assert list(out.columns) == ["sentiment", "topic_scores", "error"]
    assert abs(sum(out["topic_scores"][0].values()) - 1) < 0.01
    with pytest.raises(InputError, match="unknown result field"):
        negmon.classify_frame(df, "message", model="fast", fields=["mood"])
    with pytest.raises(TypeError, match="DataFrame"):
        negmon.classify_frame(TEXTS, model="fast")  # type: ignore[arg-type]


def test_to_frame() -> None:
    frame = negmon.to_frame(_expected())
    assert list(frame["needs_reply"]) == [r.needs_reply for r in _expected()]
    assert {"text", "sentiment", "localities", "model"} <= set(frame.columns)
    with pytest.raises(TypeError, match=r"negmon\.Result"):
        negmon.to_frame([{"text": "x"}])  # type: ignore[list-item]


def test_classify_dataset_declares_types_and_matches() -> None:
    # the first map batch has only bad rows: its columns are all None, the declared types still hold
    ds = datasets.Dataset.from_dict({"text": [None, "нет воды", *TEXTS], "region": ["", "Марс", "", None, None, None]})
    out = negmon.classify_dataset(ds, model="fast", map_batch_size=2)
    assert out.features["needs_reply"] == datasets.Value("bool")
    assert out.features["reply_score"] == datasets.Value("float64")
    assert out["needs_reply"][2:] == [r.needs_reply for r in _expected()]
    assert out["error"][0].startswith("post field 'text'") and "unknown region" in out["error"][1]
    assert json.loads(out["localities"][2])[0]["name"] == "Кстово"
    with pytest.raises(InputError, match="already has result columns"):
        negmon.classify_dataset(out, model="fast")


def test_score_reads_a_saved_dataset_folder(tmp_path: Path) -> None:
    ds = datasets.Dataset.from_dict({"id": list(range(5)), "text": [*TEXTS, None]})
    ds.save_to_disk(str(tmp_path / "posts"))
    out = tmp_path / "out.jsonl"
    assert main(["score", str(tmp_path / "posts"), "-o", str(out), "--model", "fast", "--no-progress"]) == 0
    rows = [json.loads(x) for x in out.read_text("utf-8").split("\n") if x]
    assert [r["needs_reply"] for r in rows] == [r.needs_reply for r in _expected()]
    (err,) = [json.loads(x) for x in (tmp_path / "out.jsonl.errors.jsonl").read_text("utf-8").split("\n") if x]
    assert err["line"] == 5 and "NoneType" in err["reason"]
    assert main(["score", str(tmp_path), "-o", str(tmp_path / "o2.jsonl"), "--model", "fast"]) == 1
