"""Training code end to end on tiny data and a tiny encoder: configs, the linear tier, the transformer tier
(caching, early stopping, calibration, ONNX export, int8), evaluation and loading the result."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")

from negmon import Classifier
from negmon.errors import InputError
from negmon.train.config import load_config

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 700-post sample of the corpus (train and dev kept), so that training takes seconds."""
    out = tmp_path_factory.mktemp("corpus")
    posts = [json.loads(x) for f in sorted((ROOT / "corpus" / "posts").glob("*.jsonl"))
             for x in f.read_text("utf-8").splitlines() if x.strip()]
    random.Random(0).shuffle(posts)
    (out / "sample.jsonl").write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in posts[:700]), "utf-8")
    return out


@pytest.fixture(scope="module")
def tiny_backbone(tmp_path_factory: pytest.TempPathFactory, small_corpus: Path) -> Path:
    from tiny import make_tiny_backbone

    texts = [json.loads(x)["text"] for x in (small_corpus / "sample.jsonl").read_text("utf-8").splitlines()]
    return make_tiny_backbone(tmp_path_factory.mktemp("tiny") / "backbone", texts)


def write_config(path: Path, body: str) -> Path:
    path.write_text(body, "utf-8")
    return path


def test_config_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="needs 'kind'"):
        load_config(write_config(tmp_path / "a.toml", "[model]\nid='x'\nout='y'\n"))
    with pytest.raises(InputError, match="unknown keys"):
        load_config(write_config(tmp_path / "b.toml", "[model]\nkind='linear'\nid='x'\nout='y'\n[linear]\nCC=1\n"))
    with pytest.raises(InputError, match="unknown sentiment sets"):
        load_config(write_config(tmp_path / "c.toml", "[model]\nkind='linear'\nid='x'\nout='y'\n[data]\nsentiment_sets=['imdb']\n"))
    with pytest.raises(InputError, match="not valid TOML"):
        load_config(write_config(tmp_path / "d.toml", "[model\n"))
    with pytest.raises(InputError, match="max_length"):
        load_config(write_config(tmp_path / "e.toml", "[model]\nkind='transformer'\nid='x'\nout='y'\n[transformer]\nmax_length=4\n"))


def test_linear_tier_on_corpus(tmp_path: Path, small_corpus: Path) -> None:
    from negmon.train.run import train

    cfg = write_config(tmp_path / "fast.toml", f"""
[model]
kind = "linear"
id = "test-fast"
out = "{tmp_path / 'model'}"
[data]
sentiment_sets = []
corpus_folder = "{small_corpus}"
other_from_sentiment = 0
[linear]
dim = 65536
C = [2.0]
""")
    out = train(cfg)
    meta = json.loads((out / "meta.json").read_text())
    assert set(meta["heads"]) == {"sentiment", "topic", "needs_reply", "priority"}
    assert 0 < meta["thresholds"]["needs_reply"] < 1
    assert (out / "README.md").read_text().startswith("# Model card: test-fast")
    clf = Classifier.load(out)
    r = clf.classify("В Кстово третий день нет горячей воды, управляющая компания молчит!")
    assert r.topic is not None and r.needs_reply is not None


def test_transformer_tier_end_to_end(tmp_path: Path, small_corpus: Path, tiny_backbone: Path) -> None:
    import torch
    from transformers import BertModel

    from negmon.train.run import train
    from negmon.train.transformer import MultiHeadModel

    cfg = write_config(tmp_path / "tiny.toml", f"""
[model]
kind = "transformer"
id = "test-tiny"
out = "{tmp_path / 'model'}"
work = "{tmp_path / 'runs'}"
[data]
sentiment_sets = []
corpus_folder = "{small_corpus}"
other_from_sentiment = 0
[transformer]
backbone = "{tiny_backbone}"
max_length = 48
batch_size = 32
epochs = 2
lr = 1e-3
freeze_layers = 1
eval_every = 10
patience = 3
corpus_repeat = 1
threads = 1
""")
    out = train(cfg)
    meta = json.loads((out / "meta.json").read_text())
    assert meta["kind"] == "transformer" and set(meta["files"]) >= {"model.onnx", "tokenizer.json"}
    assert (tmp_path / "runs" / "test-tiny" / "torch" / "heads.safetensors").is_file()
    assert meta["training"]["history"] and meta["training"]["best_step"] >= 10
    for h in ("sentiment", "topic", "needs_reply", "priority"):
        assert meta["heads"][h]["temperature"] > 0
    clf = Classifier.load(out)
    posts = ["нет воды третий день!!!", "спасибо врачам", "", "Когда починят дорогу на Ленина?", "ок " * 400]
    single = [clf.classify(p) for p in posts]
    batch = list(clf.classify_batch(posts, batch_size=3))
    for a, b in zip(single, batch, strict=True):  # same labels; scores equal up to float rounding
        assert (a.sentiment, a.topic, a.needs_reply, a.priority) == (b.sentiment, b.topic, b.needs_reply, b.priority)
        if a.sentiment_scores:
            assert max(abs(a.sentiment_scores[k] - b.sentiment_scores[k]) for k in a.sentiment_scores) <= 2e-3
    assert single[2].empty and single[4].truncated and not single[0].truncated
    assert all(r.topic in meta["heads"]["topic"]["labels"] for r in single if not r.empty)

    # the int8 ONNX graph agrees with the trained torch weights it was exported from
    from negmon.model import load_model
    from negmon.normalize import normalize

    backend = load_model(out)
    ids, _ = backend.encode([normalize(p) for p in posts[:4]])
    onnx_logits = backend.logits_from_ids(ids)
    assert onnx_logits.shape == (4, 3 + 18 + 2 + 2)
    assert np.isfinite(onnx_logits).all()

    # the exported graph computes what the float32 torch weights compute (int8 rounding aside)
    from negmon.train.transformer import load_trained

    teacher = load_trained(tmp_path / "runs" / "test-tiny" / "torch")
    x = torch.tensor([ids[0]])
    with torch.no_grad():
        ref = teacher(x, torch.ones_like(x)).numpy()[0]
    import onnxruntime as ort

    fp32 = ort.InferenceSession(str(tmp_path / "runs" / "test-tiny" / "model.fp32.onnx"),
                                providers=["CPUExecutionProvider"])
    x1 = np.asarray([ids[0]], dtype=np.int64)
    exported = fp32.run(["logits"], {"input_ids": x1, "attention_mask": np.ones_like(x1)})[0][0]
    assert np.abs(ref - exported).max() < 1e-3 * (np.abs(ref).max() + 1)  # the export itself is exact
    # int8 weights and activations move the logits of this tiny, barely trained model by a bounded amount
    assert np.abs(ref - onnx_logits[0]).max() < 0.3 * (np.abs(ref).max() + 1)


    # distillation: a one-layer student of the tiny teacher
    body = (cfg.read_text().replace('id = "test-tiny"', 'id = "test-student"')
            .replace(str(tmp_path / "model"), str(tmp_path / "student")).replace("freeze_layers = 1", "freeze_layers = 0"))
    body += f'teacher = "{tmp_path / "runs" / "test-tiny" / "torch"}"\nstudent_layers = [1]\n'
    student_dir = train(write_config(tmp_path / "student.toml", body))
    smeta = json.loads((student_dir / "meta.json").read_text())
    assert smeta["training"]["transformer"]["student_layers"] == [1]
    assert Classifier.load(student_dir).classify("нет воды!").topic is not None
    del BertModel, MultiHeadModel


def test_evaluate_cli(tmp_path: Path, small_corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from negmon.cli import main

    data = tmp_path / "labelled.jsonl"
    rows = [json.loads(x) for x in (small_corpus / "sample.jsonl").read_text("utf-8").splitlines()][:80]
    data.write_text("".join(json.dumps({"text": r["text"], "sentiment": r["sentiment"]}, ensure_ascii=False) + "\n"
                            for r in rows), "utf-8")
    assert main(["evaluate", "fast", str(data), "--out", str(tmp_path / "report")]) == 0
    m = json.loads((tmp_path / "report" / "metrics.json").read_text())
    assert m["heads"]["sentiment"]["n"] == 80 and 0 <= m["heads"]["sentiment"]["ece"] <= 1
    assert (tmp_path / "report" / "confusion_sentiment.png").stat().st_size > 1000
    assert "macro-F1" in capsys.readouterr().out


def test_calibration_helpers() -> None:
    from negmon.train.calibrate import fit_temperature, threshold_for_recall

    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 2000)
    logits = rng.normal(size=(2000, 3))
    logits[np.arange(2000), y] += 2.0
    t1, t4 = fit_temperature(logits, y), fit_temperature(logits * 4, y)
    assert abs(t4 / t1 - 4) < 0.05  # logits inflated 4x need a 4x temperature
    scores = np.linspace(0, 1, 101)
    labels = scores > 0.5
    thr = threshold_for_recall(scores, labels, 0.9)
    assert (scores[labels] >= thr).mean() >= 0.9


def test_retrain_notebook_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nbclient = pytest.importorskip("nbclient")
    import nbformat

    monkeypatch.setenv("NEGMON_NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("NEGMON_NOTEBOOK_DATA", str(tmp_path / "absent.csv"))
    nb = nbformat.read(ROOT / "notebooks" / "retrain.ipynb", as_version=4)
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "your model is in" in outputs
    assert "head topic        7 labels: Благоустройство, Дороги, ЖКХ, Здравоохранение, Мусор и экология" in outputs
    f1 = float(re.search(r"topic macro-F1 ([0-9.]+)", outputs).group(1))  # type: ignore[union-attr]
    assert f1 >= 0.6, f1


@pytest.mark.slow
def test_recover_the_shipped_default_model(tmp_path: Path) -> None:
    """The float32 weights recovered from the packed default graph give its labels (a stage can start from it)."""
    import torch

    from negmon.model import load_model
    from negmon.normalize import normalize
    from negmon.train.recover import recover
    from negmon.train.transformer import load_trained

    rec = recover(ROOT / "models" / "default", tmp_path / "rec")
    assert rec["max_abs_logit_diff"] < 1.5  # int8 weights and activations against float32
    packed = load_model(ROOT / "models" / "default")
    model = load_trained(tmp_path / "rec" / "torch")
    texts = [json.loads(x)["text"] for x in (ROOT / "examples" / "posts.jsonl").read_text("utf-8").splitlines()][:40]
    ids, _ = packed.encode([normalize(t) for t in texts])  # type: ignore[attr-defined]
    z_packed = packed.logits_from_ids(ids)  # type: ignore[attr-defined]
    with torch.no_grad():
        z = np.stack([model(torch.tensor([i]), torch.ones((1, len(i)), dtype=torch.long))[0].numpy() for i in ids])
    col = 0
    for labels in (3, 18, 2, 2):  # sentiment, topic, needs_reply, priority
        agree = (z[:, col : col + labels].argmax(1) == z_packed[:, col : col + labels].argmax(1)).mean()
        assert agree >= 0.9, (col, agree)
        col += labels
    assert (tmp_path / "rec" / "backbone" / "tokenizer.json").is_file()


def test_transformer_with_a_teams_own_labels(tmp_path: Path, small_corpus: Path, tiny_backbone: Path) -> None:
    """The transformer path fine-tunes on a team's own file and label names; a second run starts from the first
    one's weights with a changed taxonomy (kept heads keep their weights, changed ones start afresh)."""
    from negmon.train.run import train
    from negmon.train.transformer import load_trained

    team = {"housing_utilities": "ЖКХ", "energy": "ЖКХ", "roads": "Дороги", "public_transport": "Транспорт",
            "healthcare": "Медицина", "education": "Школы", "waste": "Мусор"}
    posts = [json.loads(x) for x in (small_corpus / "sample.jsonl").read_text("utf-8").splitlines()]
    rows = [{"body": p["text"], "rubric": team[p["topic"]], "needs_reply": p["needs_reply"]} for p in posts
            if p["topic"] in team]
    data = tmp_path / "team.jsonl"
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")

    def config(name: str, extra: str = "", labels: str = "") -> Path:
        return write_config(tmp_path / f"{name}.toml", f"""
[model]
kind = "transformer"
id = "{name}"
out = "{tmp_path / name}"
work = "{tmp_path / 'runs'}"
[data]
sentiment_sets = []
corpus = false
other_from_sentiment = 0
files = ["{data}"]
text_field = "body"
label_fields = {{topic = "rubric"}}
{labels}
[transformer]
backbone = "{tiny_backbone}"
max_length = 48
batch_size = 32
epochs = 1
lr = 1e-3
eval_every = 20
threads = 1
heads = ["topic", "needs_reply"]
{extra}
""")

    first = train(config("team-a"))
    meta = json.loads((first / "meta.json").read_text("utf-8"))
    names = sorted(set(team.values()))
    assert meta["heads"]["topic"]["labels"] == names and list(meta["heads"]) == ["topic", "needs_reply"]
    assert abs(meta["metrics"]["own-dev"]["heads"]["topic"]["n"] - 0.2 * len(rows)) <= len(team)  # stratified
    r = Classifier.load(first).classify("Третий день нет горячей воды, управляющая компания молчит")
    assert r.topic in names and r.sentiment is None and set(r.topic_scores or {}) == set(names)

    # a second stage from the first run's weights, with one more (as yet unused) topic label
    more = [*names, "Прочее"]
    second = train(config("team-b", f'init = "{tmp_path / "runs" / "team-a" / "torch"}"',
                          f"labels = {{topic = {json.dumps(more, ensure_ascii=False)}}}"))
    assert json.loads((second / "meta.json").read_text("utf-8"))["heads"]["topic"]["labels"] == more
    start = load_trained(tmp_path / "runs" / "team-a" / "torch")
    after = load_trained(tmp_path / "runs" / "team-b" / "torch")
    assert after.labels == {"topic": more, "needs_reply": ["no", "yes"]}
    assert after.heads["topic"].weight.shape[0] == len(more) and start.heads["topic"].weight.shape[0] == len(names)
    import torch

    from negmon.train.transformer import _with_heads

    moved = _with_heads(start, {"topic": more, "needs_reply": ["no", "yes"]})
    assert torch.equal(moved.heads["needs_reply"].weight, start.heads["needs_reply"].weight)
    assert moved.heads["topic"].weight.shape[0] == len(more) and moved.encoder is start.encoder
