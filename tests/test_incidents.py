"""Incidents: grouping that is idempotent, the same after a restart and nearly the same in any order; a store
that survives kill -9 and two writers at once; routing, deadlines and statuses; the CLI."""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from negmon.cli import main
from negmon.errors import InputError
from negmon.incidents import IncidentTracker, Routing, problems

ROOT = Path(__file__).resolve().parents[1]


def posts(prefix: str = "C") -> list[dict[str, Any]]:
    """Posts of corpus/incidents.jsonl as scored posts, with the gold topic and priority (no model here)."""
    keep = ("id", "text", "created_at", "source", "city", "region", "topic", "needs_reply", "priority")
    rows = [json.loads(x) for x in (ROOT / "corpus" / "incidents.jsonl").read_text("utf-8").splitlines()]
    return [{k: r[k] for k in keep} for r in rows if r["id"].startswith(prefix)]


def bcubed_f1(a: dict[str, str], b: dict[str, str]) -> float:
    """B-cubed F1 of clustering ``b`` against ``a`` (post id -> cluster)."""
    ga: dict[str, set[str]] = defaultdict(set)
    gb: dict[str, set[str]] = defaultdict(set)
    for k in a:
        ga[a[k]].add(k)
        gb[b[k]].add(k)
    p = sum(len(ga[a[k]] & gb[b[k]]) / len(gb[b[k]]) for k in a) / len(a)
    r = sum(len(ga[a[k]] & gb[b[k]]) / len(ga[a[k]]) for k in a) / len(a)
    return 2 * p * r / (p + r)


def grouping(db: Path) -> dict[str, str]:
    con = sqlite3.connect(db)
    try:
        return dict(con.execute("SELECT id, incident FROM posts"))
    finally:
        con.close()


@pytest.fixture(scope="module")
def one_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    db = tmp_path_factory.mktemp("one") / "incidents.db"
    IncidentTracker(db).add(posts())
    return db, grouping(db)


def test_incidents_group_reply_posts_and_summarise_them(one_run: tuple[Path, dict[str, str]]) -> None:
    db, groups = one_run
    reply = [p for p in posts() if p["needs_reply"]]
    assert set(groups) == {p["id"] for p in reply}  # posts that need no reply are not tracked
    tracker = IncidentTracker(db)
    assert tracker.store.check() == []  # type: ignore[attr-defined]
    incidents = tracker.incidents()
    assert sum(i.post_count for i in incidents) == len(reply)
    big = max(incidents, key=lambda i: i.post_count)
    assert big.post_count >= 4 and big.locality in ("Тверь", "Конаково", "Ржев") and big.bodies
    assert big.representative in big.posts and big.first_seen <= big.last_seen
    gold = {p["id"]: json.loads(x)["incident"] for p in reply
            for x in [next(y for y in (ROOT / "corpus" / "incidents.jsonl").read_text("utf-8").splitlines()
                           if f'"id": "{p["id"]}"' in y)]}
    assert bcubed_f1(gold, groups) >= 0.75  # with the gold topics; benchmarks/incidents.py has the full table


def test_adding_the_same_posts_again_changes_nothing(one_run: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    db = tmp_path / "again.db"
    tracker = IncidentTracker(db)
    tracker.add(posts())
    summary = [i.as_dict() for i in tracker.incidents()]
    now = grouping(db)
    # the second time each post is answered with the incident it is in now (a later post may have merged it)
    assert tracker.add(posts()) == [now.get(p["id"]) for p in posts()]
    assert [i.as_dict() for i in tracker.incidents()] == summary
    assert grouping(db) == one_run[1]


def test_a_restart_between_batches_gives_the_same_incidents(one_run: tuple[Path, dict[str, str]],
                                                           tmp_path: Path) -> None:
    db = tmp_path / "restart.db"
    rows = posts()
    IncidentTracker(db).add(rows[:90])
    IncidentTracker(db).add(rows[90:])  # a new process would open the file the same way
    assert grouping(db) == one_run[1]


def test_the_input_order_moves_little(one_run: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    for seed in (1, 2):
        rows = posts()
        random.Random(seed).shuffle(rows)
        db = tmp_path / f"shuffled{seed}.db"
        IncidentTracker(db).add(rows, batch_size=37)
        assert bcubed_f1(one_run[1], grouping(db)) >= 0.98


def test_routing_deadlines_overdue_and_statuses(tmp_path: Path) -> None:
    own = tmp_path / "routing.toml"
    own.write_text('[deadlines]\nnormal = 48\n[regions."Тверская область".topics]\n'
                   'housing_utilities = ["ГЖИ Тверской области", "УК дома"]\n', "utf-8")
    tracker = IncidentTracker(tmp_path / "r.db", routing=own)
    t0 = datetime(2026, 11, 3, 7, 0)
    base = {"source": "Подслушано Тверь", "city": "Тверь", "region": "Тверская область", "needs_reply": True}
    tracker.add([
        {**base, "id": "1", "text": "На Склизкова 92 нет отопления, батареи ледяные", "topic": "housing_utilities",
         "priority": "urgent", "created_at": t0.isoformat() + "+03:00"},
        {**base, "id": "2", "text": "Склизкова 92 — батареи холодные вторые сутки", "topic": "housing_utilities",
         "priority": "normal", "created_at": (t0 + timedelta(hours=5)).isoformat() + "+03:00"},
        {**base, "id": "3", "text": "На Советской яма посреди дороги, машины бьют диски", "topic": "roads",
         "priority": "normal", "created_at": (t0 + timedelta(hours=1)).isoformat() + "+03:00"},
    ])
    heat, road = sorted(tracker.incidents(), key=lambda i: i.topic or "")
    assert heat.posts == ("1", "2") and heat.max_priority == "urgent" and heat.address == "улица Склизкова, 92"
    assert heat.bodies == ("ГЖИ Тверской области", "УК дома")  # the region's own table wins
    assert heat.first_seen == "2026-11-03T04:00:00+00:00" and heat.deadline == "2026-11-03T06:00:00+00:00"
    assert road.bodies[0] == "муниципальная дорожная служба (Тверь)"
    at = datetime.fromisoformat("2026-11-03T12:00:00+03:00").timestamp()
    assert [i.id for i in tracker.incidents(overdue=True, now=at)] == [heat.id]  # road: 48 h, not yet
    tracker.set_status(heat.id, "answered", at=at)
    assert tracker.incidents(overdue=True, now=at) == []
    tracker.set_status(heat.id, "closed", at=at)
    # the same problem after the incident was closed is a new incident: it came back
    later = (t0 + timedelta(hours=30)).isoformat() + "+03:00"
    new = tracker.add([{**base, "id": "4", "text": "Склизкова 92 снова нет отопления, батареи холодные",
                        "topic": "housing_utilities", "priority": "normal", "created_at": later}])
    assert new[0] != heat.id and tracker.get(heat.id).status == "closed"
    with pytest.raises(InputError, match="created_at"):
        tracker.add([{**base, "id": "5", "text": "нет воды", "topic": "housing_utilities"}])
    with pytest.raises(InputError, match="status"):
        tracker.set_status(heat.id, "done")
    assert Routing().bodies("nonexistent", None, "Кстово") == ["администрация (Кстово)"]


def test_a_post_that_bridges_two_incidents_merges_them(tmp_path: Path) -> None:
    tracker = IncidentTracker(tmp_path / "m.db")
    base = {"source": "Подслушано Ржев", "city": "Ржев", "region": "Тверская область", "needs_reply": True,
            "topic": "energy", "priority": "normal"}
    a = tracker.add([{**base, "id": "a", "text": "На Урицкого 12 нет света с утра, трансформатор сгорел",
                      "created_at": "2026-11-05T09:00:00+03:00"}])[0]
    b = tracker.add([{**base, "id": "b", "text": "Чайковского 3 без света, трансформатор на углу дымил",
                      "created_at": "2026-11-05T09:30:00+03:00"}])[0]
    bridge = {**base, "id": "c", "text": "Весь район без света: Урицкого 12, Чайковского 3, трансформатор сгорел",
              "created_at": "2026-11-05T10:00:00+03:00"}
    c = tracker.add([bridge])[0]
    if a != b:  # when the first two were not linked, the third post must join them into the older one
        assert c == a and tracker.get(b).status == "merged" and tracker.get(b).merged_into == a
        assert tracker.store.merges()[0]["absorbed"] == b  # type: ignore[attr-defined]
    assert tracker.get(c).post_count == 3 and tracker.store.check() == []  # type: ignore[attr-defined]


def test_one_building_two_troubles_stay_two_incidents(tmp_path: Path) -> None:
    tracker = IncidentTracker(tmp_path / "b.db")
    base = {"source": "Подслушано Тверь", "city": "Тверь", "region": "Тверская область", "needs_reply": True,
            "topic": "housing_utilities", "priority": "normal"}
    ids = tracker.add([
        {**base, "id": "roof1", "text": "Пионерская 17, течёт крыша, в подъезде на пятом этаже лужи",
         "created_at": "2026-11-05T09:00:00+03:00"},
        {**base, "id": "roof2", "text": "У нас на Пионерской 17 опять протекает кровля, потолок в пятнах",
         "created_at": "2026-11-05T18:00:00+03:00"},
        {**base, "id": "sewer", "text": "Пионерская 17 — это не про крышу, у нас в подвале стоят стоки, вонь до "
                                        "третьего этажа", "created_at": "2026-11-05T19:00:00+03:00"},
        {**base, "id": "next", "text": "Пионерская 19: течёт крыша над последним этажом",
         "created_at": "2026-11-05T20:00:00+03:00"},
    ])
    assert ids[0] == ids[1]  # one roof, told twice in other words
    assert ids[2] != ids[0] and ids[3] != ids[0]  # another trouble in the building; the roof of the next house


@pytest.mark.parametrize(("text", "expected"), [
    ("собаки бегают стаей у остановки", ["animals", "transport"]),  # not "баки": no waste
    ("автобус пришёл битком", ["transport"]),  # not "тко"
    ("в связи с ремонтом перекрыли проезд", []),  # not a phone line
    ("в деревне нет газа, газон перекопали", ["gas"]),  # not trees; "газон" is no gas
    ("записываю номера машин, классно придумали", []),  # not a doctor's appointment, not a school
    ("не могу записаться к терапевту, в классе холодно", ["healthcare", "school"]),
])
def test_the_troubles_a_post_names(text: str, expected: list[str]) -> None:
    assert problems(text) == expected


def test_one_house_named_with_and_without_its_street_type() -> None:
    from negmon.incidents import PAIR_FEATURES, pair_features

    tracker = IncidentTracker(":memory:")
    base = {"city": "Рыбинск", "needs_reply": True, "topic": "housing_utilities", "created_at": "2026-11-05T09:00:00"}
    a, b, c = (tracker.prepare({**base, "id": i, "text": t}) for i, t in (
        ("a", "Проспект Серова 7, лифт в первом подъезде стоит с 27 октября"),
        ("b", "подтверждаю, первый подъезд Серова 7, лифт стоит"),
        ("c", "Серова 9, лифт стоит")))
    assert a is not None and b is not None and c is not None
    assert a.features["houses"] == ["проспект Серова, 7"] and b.features["houses"] == ["улица Серова, 7"]

    def feature(x: Any, y: Any, name: str) -> float:
        return pair_features(x.features | {"created_at": x.created_at}, y.features | {"created_at": y.created_at})[
            PAIR_FEATURES.index(name)]

    assert feature(a, b, "same_house") == 1.0 and feature(a, b, "other_house") == 0.0
    assert feature(a, c, "same_house") == 0.0 and feature(a, c, "other_house") == 1.0


def test_the_city_field_places_a_post_whose_text_names_no_town(tmp_path: Path) -> None:
    # a bare "Муром" or "Ковров" reads as a common word or a surname to the locality extractor; the field says
    # it is a town, so posts from a review site and from a town's group land in one place
    tracker = IncidentTracker(tmp_path / "c.db")
    base = {"region": "Владимирская область", "needs_reply": True, "topic": "housing_utilities",
            "priority": "normal", "created_at": "2026-11-05T09:00:00+03:00"}
    for city in ("Муром", "Ковров"):
        p = tracker.prepare({**base, "city": city, "source": "Яндекс Карты: отзывы", "text": "Третий день нет "
                             "горячей воды на Лакина 12, управляющая не отвечает"})
        assert p is not None and p.place == f"Владимирская область|{city.lower()}"


def _write_many(path: Path, copies: int) -> int:
    """The reply posts of set C copied ``copies`` times, each copy a month later with new ids."""
    rows = [p for p in posts() if p["needs_reply"]]
    n = 0
    with path.open("w", encoding="utf-8") as f:
        for k in range(copies):
            for p in rows:
                t = datetime.fromisoformat(p["created_at"]) + timedelta(days=31 * k)
                f.write(json.dumps({**p, "id": f"{p['id']}-{k}", "created_at": t.isoformat()},
                                   ensure_ascii=False) + "\n")
                n += 1
    return n


def _add(db: Path, src: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "negmon.cli", "incidents", "add", str(src), "--db", str(db)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_the_store_survives_kill_9_and_a_rerun_finishes_the_job(tmp_path: Path) -> None:
    src = tmp_path / "many.jsonl"
    total = _write_many(src, 8)
    clean = tmp_path / "clean.db"
    assert main(["incidents", "add", str(src), "--db", str(clean)]) == 0
    db = tmp_path / "killed.db"
    proc = _add(db, src)
    deadline = time.time() + 120
    stored = 0
    while time.time() < deadline and proc.poll() is None:
        if db.exists():
            try:
                stored = len(grouping(db))
            except sqlite3.OperationalError:
                stored = 0
            if stored >= 500:
                break
        time.sleep(0.05)
    if proc.poll() is not None:
        proc.communicate()
        pytest.fail("the add finished before it could be killed: give it more rows")
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    half = IncidentTracker(db)
    assert half.store.check() == []  # type: ignore[attr-defined]  # no half-written incident
    assert 0 < len(grouping(db)) < total  # whole batches only
    assert main(["incidents", "add", str(src), "--db", str(db)]) == 0  # the rerun adds the rest
    assert grouping(db) == grouping(clean)


def test_two_writers_at_once(tmp_path: Path) -> None:
    src = tmp_path / "many.jsonl"
    _write_many(src, 4)
    lines = src.read_text("utf-8").splitlines(keepends=True)
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first.write_text("".join(lines[0::2]), "utf-8")
    second.write_text("".join(lines[1::2]), "utf-8")
    db = tmp_path / "shared.db"
    procs = [_add(db, first), _add(db, second)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()
    clean = tmp_path / "clean.db"
    assert main(["incidents", "add", str(src), "--db", str(clean)]) == 0
    tracker = IncidentTracker(db)
    assert tracker.store.check() == []  # type: ignore[attr-defined]
    assert set(grouping(db)) == set(grouping(clean))  # no post lost
    assert bcubed_f1(grouping(clean), grouping(db)) >= 0.98


def test_cli_add_list_show_close(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "scored.jsonl"
    rows = posts("D")
    bad = [json.dumps({"text": "нет воды", "needs_reply": True, "topic": "housing_utilities"}, ensure_ascii=False),
           "{broken"]
    src.write_text("\n".join([*(json.dumps(r, ensure_ascii=False) for r in rows[:60]), *bad]) + "\n", "utf-8")
    db = tmp_path / "cli.db"
    assert main(["incidents", "add", str(src), "--db", str(db)]) == 0
    out, err = capsys.readouterr()
    reply = sum(1 for r in rows[:60] if r["needs_reply"])
    assert f"62 rows: {reply} in incidents, {60 - reply} need no reply, 2 bad rows" in out
    assert f"{src}:61: created_at is required" in err and f"{src}:62:" in err
    assert main(["incidents", "list", "--db", str(db), "--format", "json", "--region", "Республика Татарстан"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed and all(i["region"] == "Республика Татарстан" and i["posts"] for i in listed)
    assert sum(i["post_count"] for i in listed) == reply
    first = listed[0]["id"]
    assert main(["incidents", "show", first, "--db", str(db), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == first
    assert main(["incidents", "close", first, "--db", str(db)]) == 0
    assert capsys.readouterr().out.strip() == f"{first}: closed"
    assert main(["incidents", "list", "--db", str(db), "--format", "csv", "--status", "closed"]) == 0
    csv_out = capsys.readouterr().out.splitlines()
    assert csv_out[0].startswith("id,status,overdue") and csv_out[1].startswith(f"{first},closed")
    assert main(["incidents", "list", "--db", str(db), "--overdue", "--now", "2027-01-01T00:00:00+03:00"]) == 0
    assert "incidents" in capsys.readouterr().out
    assert main(["incidents", "show", "INC-NOPE", "--db", str(db)]) == 1
    assert "no incident 'INC-NOPE'" in capsys.readouterr().err
    assert main(["incidents", "list", "--db", str(tmp_path / "missing.db")]) == 1


def test_score_then_incidents_in_one_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "posts.jsonl"
    keep = ("id", "text", "created_at", "source", "city", "region")
    src.write_text("".join(json.dumps({k: p[k] for k in keep}, ensure_ascii=False) + "\n" for p in posts("A")[:40]),
                   "utf-8")
    db = tmp_path / "one.db"
    assert main(["score", str(src), "-o", str(tmp_path / "scored.jsonl"), "--model", "fast", "--no-progress",
                 "--incidents", str(db)]) == 0
    out = capsys.readouterr().out
    flagged = sum(1 for x in (tmp_path / "scored.jsonl").read_text("utf-8").splitlines() if json.loads(x)["needs_reply"])
    assert f"40 rows: {flagged} in incidents, {40 - flagged} need no reply, 0 bad rows" in out
    assert sum(i.post_count for i in IncidentTracker(db).incidents()) == flagged > 10
