"""A team's own taxonomy: train from a folder saved by ``datasets`` with its own label names and columns, load
the model, classify with those labels, and see them in ``negmon info``, the model card and ``negmon evaluate``."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

pytest.importorskip("sklearn")
pytest.importorskip("datasets")

from negmon import Classifier
from negmon.cli import main
from negmon.errors import InputError
from negmon.train.config import load_config
from negmon.train.run import train

ROOT = Path(__file__).resolve().parents[1]

# a regional team's own categories (their names, in Russian), grouping the corpus's topics their way
TEAM = {
    "housing_utilities": "ЖКХ и отопление",
    "energy": "ЖКХ и отопление",
    "roads": "Дороги и транспорт",
    "public_transport": "Дороги и транспорт",
    "healthcare": "Здравоохранение",
    "education": "Образование",
    "waste": "Мусор и экология",
    "ecology": "Мусор и экология",
    "landscaping": "Благоустройство",
}
TEAM_LABELS = sorted(set(TEAM.values()))


def _posts() -> list[dict[str, object]]:
    posts = [json.loads(x) for f in sorted((ROOT / "corpus" / "posts").glob("*.jsonl"))
             for x in f.read_text("utf-8").splitlines() if x.strip()]
    posts = [p for p in posts if p["topic"] in TEAM]
    random.Random(1).shuffle(posts)
    return posts[:1500]


@pytest.fixture(scope="module")
def team_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,500 corpus posts under the team's column names and categories, saved by ``datasets``."""
    import datasets

    posts = _posts()
    ds = datasets.Dataset.from_dict({
        "message": [p["text"] for p in posts],
        "category": [TEAM[str(p["topic"])] for p in posts],
        "needs_reply": ["да" if p["needs_reply"] else "нет" for p in posts],
    })
    out = tmp_path_factory.mktemp("team") / "appeals"
    ds.save_to_disk(str(out))
    return out


def _config(folder: Path, data: str, linear: str = 'C = [1.0]\nheads = ["topic"]', model_id: str = "x") -> Path:
    """A linear config on the team's data alone, its model written to ``folder/m``."""
    cfg = folder / "c.toml"
    cfg.write_text(f"""
[model]
kind = "linear"
id = "{model_id}"
out = "{folder / 'm'}"
[data]
sentiment_sets = []
corpus = false
{data}
[linear]
{linear}
""", "utf-8")
    return cfg


@pytest.fixture(scope="module")
def team_model(tmp_path_factory: pytest.TempPathFactory, team_data: Path) -> Path:
    data = f'other_from_sentiment = 0\nfiles = ["{team_data}"]\ntext_field = "message"\nlabel_fields = {{topic = "category"}}'
    linear = 'dim = 131072\nC = [4.0]\nheads = ["topic", "needs_reply"]'
    return train(_config(tmp_path_factory.mktemp("team-model"), data, linear, model_id="team-topics-0.1"))


def test_a_custom_taxonomy_trains_loads_and_classifies(team_model: Path) -> None:
    meta = json.loads((team_model / "meta.json").read_text("utf-8"))
    assert meta["heads"]["topic"]["labels"] == TEAM_LABELS
    assert set(meta["heads"]) == {"topic", "needs_reply"}
    own = meta["metrics"]["own-dev"]["heads"]
    assert own["topic"]["n"] == 300  # 20% of 1,500 held out, stratified
    assert own["topic"]["macro_f1"] >= 0.7, own["topic"]["macro_f1"]
    clf = Classifier.load(team_model)
    cases = {
        "Третий день в квартире нет отопления, батареи ледяные, управляющая компания трубку не берёт.": "ЖКХ и отопление",
        "Автобус 12 опять не пришёл, люди мёрзнут на остановке по сорок минут.": "Дороги и транспорт",
        "В поликлинике нет записи к терапевту на две недели вперёд, талонов нет.": "Здравоохранение",
        "Контейнеры во дворе не вывозят неделю, мусор лежит горой.": "Мусор и экология",
    }
    got = {t: clf.classify(t).topic for t in cases}
    assert got == cases
    r = clf.classify("Опять нет горячей воды, сколько можно ждать ремонта?")
    assert r.sentiment is None and r.priority is None and r.needs_reply is not None
    assert set(r.topic_scores or {}) == set(TEAM_LABELS)
    assert clf.classify("   ").topic is None  # the team has no "other" label: an empty post gets none


def test_info_card_and_evaluate_show_the_team_labels(team_model: Path, team_data: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", str(team_model)]) == 0
    out = capsys.readouterr().out
    assert f"head topic        {len(TEAM_LABELS)} labels: {', '.join(TEAM_LABELS)}" in out
    assert "head sentiment    absent" in out
    card = (team_model / "README.md").read_text("utf-8")
    assert "- `topic`: " + ", ".join(f"`{x}`" for x in TEAM_LABELS) in card
    assert "| own-dev | topic | 300 |" in card
    assert "non-commercial" not in card  # trained on the team's data only
    # the team's posts come from the corpus: corpus dev is measured without the ones it trained on
    corpus_dev = json.loads((team_model / "meta.json").read_text("utf-8"))["metrics"]["corpus-dev"]
    assert corpus_dev["removed_as_training"] > 0
    csv = tmp_path / "check.csv"
    csv.write_text("message,category\n\"Во дворе яма на дороге, машины бьют колёса\",Дороги и транспорт\n"
                   "\"Батареи холодные, управляющая компания молчит\",ЖКХ и отопление\n"
                   "Просто хороший день,Прочее\n", "utf-8")
    assert main(["evaluate", str(team_model), str(csv), "--text-field", "message", "--label-field",
                 "topic=category", "--out", str(tmp_path / "ev")]) == 0
    m = json.loads((tmp_path / "ev" / "metrics.json").read_text("utf-8"))
    assert m["heads"]["topic"]["n"] == 2 and m["heads"]["topic"]["rows_with_other_labels"] == 1
    assert main(["evaluate", str(team_model), str(team_data), "--text-field", "message",
                 "--label-field", "topic=category"]) == 0


def test_bad_rows_and_labels_are_named(tmp_path: Path) -> None:
    f = tmp_path / "posts.jsonl"
    rows = [{"text": f"пост {i} про дороги", "topic": "Дороги"} for i in range(6)]
    rows += [{"text": f"пост {i} про школу", "topic": "Школы"} for i in range(6)]
    f.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
                 + '{"text": "без закрывающей скобки"\n' + json.dumps({"topic": "Дороги"}) + "\n", "utf-8")
    with pytest.raises(InputError, match=r"2 row\(s\) of your data could not be used:\n  .*posts.jsonl:13: .*\n"
                                         r"  .*posts.jsonl:14: .*text"):
        train(_config(tmp_path, f'files = ["{f}"]'))
    f.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    with pytest.raises(InputError, match=r"labels outside \[data\] labels: topic 'Школы' x\d+ \(first at posts.jsonl"):
        train(_config(tmp_path, f'files = ["{f}"]\nlabels = {{topic = ["Дороги", "ЖКХ"]}}\ndev_share = 0.5'))
    with pytest.raises(InputError, match="needs_reply is a yes/no decision"):
        load_config(_config(tmp_path, 'labels = {needs_reply = ["нет", "да"]}'))
    with pytest.raises(InputError, match="unknown heads"):
        load_config(_config(tmp_path, 'label_fields = {department = "dept"}'))
    with pytest.raises(InputError, match="does not exist"):
        train(_config(tmp_path, f'files = ["{tmp_path / "absent.csv"}"]'))
    # declared labels fix the order of the outputs, and a label with no rows yet is kept
    out = train(_config(tmp_path, f'files = ["{f}"]\nlabels = {{topic = ["Школы", "Дороги", "ЖКХ"]}}'))
    assert json.loads((out / "meta.json").read_text("utf-8"))["heads"]["topic"]["labels"] == ["Школы", "Дороги", "ЖКХ"]


def test_the_card_lists_the_data_of_old_and_new_training_configs() -> None:
    from negmon.train.card import training_data

    # a model trained before own labels: its stored config has no "files" (recalibrating it used to fail here)
    old = training_data({"sentiment_sets": ["rusentiment"], "corpus": True, "real": True})
    assert [d["name"].split(" ")[:2] for d in old] == [["RuSentiment", "(Rogers"], ["negmon", "corpus:"],
                                                       ["negmon", "real"]]
    own = training_data({"files": ["/data/ours/train.jsonl"], "dev_files": ["dev.jsonl"]})
    assert own == [{"name": "the user's own labelled posts: train.jsonl, dev.jsonl", "licence": "as their owner sets"}]
