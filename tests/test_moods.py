"""Aggregates of moods by place, topic and week against a table computed by hand, the Wilson interval, the
spike test for emerging problems, and the same numbers from every kind of input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

pd = pytest.importorskip("pandas")

from moods_fixture import BY_PLACE_TOPIC, BY_TOPIC, POSTS  # noqa: E402

import negmon  # noqa: E402
from negmon.errors import InputError  # noqa: E402
from negmon.moods import aggregate, emerging, posts_frame, wilson  # noqa: E402
from negmon.result import Locality, Reason, Result  # noqa: E402


def _key(v: object) -> object:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


def test_aggregate_matches_the_hand_computed_table() -> None:
    t = aggregate(POSTS, by=("region", "settlement", "topic"), freq="W")
    assert t.attrs["undated"] == 1
    got = {(r.period.strftime("%Y-%m-%d"), _key(r.region), _key(r.settlement), r.topic): r for r in t.itertuples()}
    assert set(got) == set(BY_PLACE_TOPIC)
    for key, (posts, neg, reply, urgent, prev, change) in BY_PLACE_TOPIC.items():
        r = got[key]
        assert (r.posts, r.negative, r.needs_reply, r.urgent, r.posts_prev) == (posts, neg, reply, urgent, prev), key
        assert r.posts_change == posts - prev
        assert r.negative_share == pytest.approx(neg / posts)
        if change is None:
            assert math.isnan(r.negative_share_change), key
        else:
            assert r.negative_share_change == pytest.approx(change), key
    # Wilson 95% of 2 negative out of 3, by hand: centre 0.57309, half-width 0.36543
    kstovo = got[("2026-03-02", "Нижегородская область", "Кстово", "housing_utilities")]
    assert (kstovo.negative_low, kstovo.negative_high) == (pytest.approx(0.20766, abs=1e-5), pytest.approx(0.93851, abs=1e-5))
    # within a week, rows are ranked by the lower bound: one negative post of one is not first
    w1 = t[t["period"] == pd.Timestamp("2026-03-02")]
    assert list(w1["settlement"]) == ["Кстово", "Дзержинск"]  # 0.208 > 0.207 (1 of 1)


def test_aggregate_counts_a_post_once_per_group() -> None:
    t = aggregate(POSTS, by=("topic",), freq="W")
    got = {(r.period.strftime("%Y-%m-%d"), r.topic): r.posts for r in t.itertuples()}
    assert got == BY_TOPIC
    whole = aggregate(POSTS, by=("region",), freq=None)
    assert dict(zip(whole["region"], whole["posts"], strict=True)) == {"Нижегородская область": 11, "Иркутская область": 2}


def test_wilson() -> None:
    assert wilson(0, 10)[0] == 0.0
    low, high = wilson(50, 100)
    assert low == pytest.approx(0.4038, abs=1e-4) and high == pytest.approx(0.5962, abs=1e-4)
    assert wilson(3, 3)[0] == pytest.approx(0.4385, abs=1e-4)


def test_every_input_gives_the_same_table(tmp_path: Path) -> None:
    f = tmp_path / "scored.jsonl"
    f.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in POSTS), "utf-8")
    results = [Result(text=p["text"], id=p["id"], sentiment=p["sentiment"], topic=p["topic"],
                      needs_reply=p["needs_reply"], priority=p["priority"], reply_score=p["reply_score"],
                      region=p["region"], created_at=p["created_at"],
                      localities=tuple(Locality(**x) for x in p["localities"]),
                      reasons=tuple(Reason(**x) for x in p["reasons"])) for p in POSTS]
    frame = pd.DataFrame(POSTS)
    csv = tmp_path / "scored.csv"
    frame.assign(localities=frame["localities"].map(lambda v: json.dumps(v, ensure_ascii=False)),
                 reasons=frame["reasons"].map(json.dumps)).to_csv(csv, index=False)
    base = aggregate(POSTS)
    for data in (str(f), [f], results, frame, str(csv), negmon.aggregate(POSTS)):
        t = data if isinstance(data, pd.DataFrame) and "negative_low" in data.columns else negmon.aggregate(data)
        pd.testing.assert_frame_equal(t.reset_index(drop=True), base.reset_index(drop=True), check_dtype=False)


def test_bad_arguments_are_named() -> None:
    with pytest.raises(InputError, match="takes some of"):
        aggregate(POSTS, by=("city",))
    with pytest.raises(InputError, match="freq must be a pandas period"):
        aggregate(POSTS, freq="fortnight")
    with pytest.raises(TypeError, match=r"expected negmon\.Result objects"):
        aggregate([1, 2])
    assert posts_frame(POSTS).attrs["posts"] == len(POSTS)


def _reply_posts(place: str, week: str, n: int) -> list[dict[str, object]]:
    loc = {"name": place, "kind": "town", "region": "Тверская область", "lat": 56.8, "lon": 35.9}
    day = pd.Timestamp(week)
    return [{"text": f"{place} {week} {i}", "sentiment": "negative", "topic": "roads", "needs_reply": True,
             "priority": "normal", "localities": [loc], "created_at": (day + pd.Timedelta(hours=i)).isoformat()}
            for i in range(n)]


def test_emerging_finds_a_spike_against_its_own_history() -> None:
    weeks = [d.strftime("%Y-%m-%d") for d in pd.date_range("2026-01-05", periods=9, freq="7D")]
    posts = []
    for w in weeks[:-1]:
        posts += _reply_posts("Торжок", w, 1) + _reply_posts("Ржев", w, 3)
    posts += _reply_posts("Торжок", weeks[-1], 6)   # 1 a week, then 6: a spike
    posts += _reply_posts("Ржев", weeks[-1], 4)     # 3 a week, then 4: no spike
    posts += _reply_posts("Кимры", weeks[-1], 2)    # silent, then 2: under min_posts
    posts += _reply_posts("Бежецк", weeks[-1], 4)   # silent, then 4: a new problem
    e = emerging(posts, by=("settlement", "topic"))
    assert list(e["settlement"]) == ["Бежецк", "Торжок"]
    torzhok = e[e["settlement"] == "Торжок"].iloc[0]
    # by hand: 6 posts now, 8 in the 8 weeks before; if the rate held, the 6 of 14 are Binomial(14, 1/9)
    expected = sum(math.comb(14, k) * (1 / 9) ** k * (8 / 9) ** (14 - k) for k in range(6, 15))
    assert torzhok["p_value"] == pytest.approx(expected) and torzhok["baseline"] == 1.0
    bezhetsk = e[e["settlement"] == "Бежецк"].iloc[0]
    assert bezhetsk["p_value"] == pytest.approx((1 / 9) ** 4)
    # Benjamini-Hochberg over the three groups with 3+ posts (Кимры has 2): q of the first = p x 3 / 1
    assert bezhetsk["q_value"] == pytest.approx(3 * (1 / 9) ** 4)
    assert len(torzhok["posts"]) == 6
    assert emerging(posts[:8], by=("settlement",)).empty  # one week of data: no history to test against


def test_a_part_of_a_city_counts_for_its_city() -> None:
    import negmon
    from negmon.moods import posts_frame

    def row(text: str) -> dict:
        return {"text": text, "created_at": "2026-11-03T10:00:00+03:00", "needs_reply": True, "topic": "energy",
                "localities": [x.as_dict() for x in negmon.extract_localities(text)]}

    f = posts_frame([row("Сормово без света"), row("Нижний Новгород, Сормово: без света")])
    assert list(f["settlement"]) == ["Нижний Новгород", "Нижний Новгород"]  # once per post, not twice
    assert f["lat"].iloc[1] > 56  # the city's own mention brings its coordinates
