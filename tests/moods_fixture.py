"""Eleven scored posts over three weeks in two regions whose aggregates were computed by hand (tests/test_moods.py)."""

from __future__ import annotations

from typing import Any

NN = "Нижегородская область"
IRK = "Иркутская область"


def _loc(name: str, region: str, lat: float, lon: float, start: int = 0) -> dict[str, Any]:
    return {"name": name, "kind": "town", "region": region, "region_code": None, "start": start,
            "end": start + len(name), "surface": name, "lat": lat, "lon": lon, "population": None, "confidence": 1.0}


KSTOVO = _loc("Кстово", NN, 56.15, 44.2)
DZER = _loc("Дзержинск", NN, 56.24, 43.46)
BRATSK = _loc("Братск", IRK, 56.13, 101.61)


def _post(i: int, when: str | None, locs: list[dict[str, Any]], topic: str, sentiment: str, reply: bool,
          priority: str | None = None, region: str | None = None, text: str = "") -> dict[str, Any]:
    text = text or f"Пост {i}: в доме нет воды, управляющая компания молчит"
    return {"text": text, "id": f"p{i}", "sentiment": sentiment, "topic": topic, "needs_reply": reply,
            "reply_score": 0.9 if reply else 0.1, "priority": priority if reply else None,
            "localities": locs, "created_at": when, "region": region,
            "reasons": [{"text": text[9:20], "start": 9, "end": 20, "weight": 0.3, "head": "needs_reply"}]}


POSTS = [
    _post(1, "2026-03-02T10:00:00+03:00", [KSTOVO], "housing_utilities", "negative", True, "normal"),
    _post(2, "2026-03-03T09:00:00+03:00", [KSTOVO], "housing_utilities", "negative", True, "urgent"),
    _post(3, "2026-03-04T12:00:00+03:00", [KSTOVO], "housing_utilities", "neutral", False),
    _post(4, "2026-03-05T08:00:00+03:00", [DZER], "roads", "negative", True, "normal"),
    _post(5, "2026-03-10T18:00:00+03:00", [KSTOVO, DZER], "housing_utilities", "negative", True, "normal"),
    _post(6, "2026-03-11T11:00:00+03:00", [KSTOVO], "housing_utilities", "positive", False),
    _post(7, "2026-03-12T15:00:00+03:00", [], "roads", "negative", True, "normal", region=NN),
    _post(8, "2026-03-17T07:00:00+03:00", [DZER], "roads", "neutral", True, "urgent"),
    _post(9, "2026-03-18T23:30:00+03:00", [KSTOVO], "housing_utilities", "negative", True, "normal"),
    _post(10, None, [KSTOVO], "housing_utilities", "negative", True, "normal"),
    # Monday 01:00 in Nizhny Novgorod is Sunday in UTC: the author's week counts
    _post(11, "2026-03-09T01:00:00+03:00", [DZER], "roads", "negative", False),
    _post(12, "2026-03-16T10:00:00+08:00", [BRATSK], "public_transport", "negative", True, "normal"),
    _post(13, "2026-03-17T10:00:00+08:00", [BRATSK], "public_transport", "neutral", True, "normal"),
]

W1, W2, W3 = "2026-03-02", "2026-03-09", "2026-03-16"
# (period, region, settlement, topic): posts, negative, needs_reply, urgent, posts_prev, negative_share_change
BY_PLACE_TOPIC = {
    (W1, NN, "Кстово", "housing_utilities"): (3, 2, 2, 1, 0, None),
    (W1, NN, "Дзержинск", "roads"): (1, 1, 1, 0, 0, None),
    (W2, NN, "Кстово", "housing_utilities"): (2, 1, 1, 0, 3, 0.5 - 2 / 3),
    (W2, NN, "Дзержинск", "housing_utilities"): (1, 1, 1, 0, 0, None),
    (W2, NN, None, "roads"): (1, 1, 1, 0, 0, None),
    (W2, NN, "Дзержинск", "roads"): (1, 1, 0, 0, 1, 0.0),
    (W3, NN, "Дзержинск", "roads"): (1, 0, 1, 1, 1, -1.0),
    (W3, NN, "Кстово", "housing_utilities"): (1, 1, 1, 0, 2, 0.5),
    (W3, IRK, "Братск", "public_transport"): (2, 1, 2, 0, 0, None),
}
# by topic alone: post 5 names two towns but counts once
BY_TOPIC = {
    (W1, "housing_utilities"): 3, (W1, "roads"): 1,
    (W2, "housing_utilities"): 2, (W2, "roads"): 2,
    (W3, "roads"): 1, (W3, "housing_utilities"): 1, (W3, "public_transport"): 2,
}
