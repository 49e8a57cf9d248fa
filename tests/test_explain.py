"""Reasons are faithful: removing them lowers the score more than removing random phrases of equal length."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np

from negmon import Classifier
from negmon.explain import phrases
from negmon.normalize import normalize

ROOT = Path(__file__).resolve().parents[1]


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return float(np.log(p / (1 - p)))


def test_phrases_cover_words() -> None:
    n = normalize("Третий день нет воды, управляющая компания молчит. Когда это кончится?")
    spans = phrases(n)
    assert [n.text[a:b] for a, b in spans] == ["Третий день нет воды", "управляющая компания молчит",
                                               "Когда это кончится"]


def test_reasons_point_into_the_original_text() -> None:
    clf = Classifier.load("fast")
    text = "ЗДРАВСТВУЙТЕ!!! В Кстово третий день нет горячей воды, управляющая компания не отвечает 😡"
    r = clf.classify(text, reasons=True)
    assert r.needs_reply and r.reasons
    for reason in r.reasons:
        assert text[reason.start : reason.end] == reason.text and reason.head in ("needs_reply", "topic")
    assert clf.classify(text).reasons == ()  # off unless asked for
    assert clf.classify("Спасибо врачам!", reasons=True).reasons == ()  # nothing to explain when no reply is needed


def test_reasons_are_faithful() -> None:
    clf = Classifier.load("fast")
    posts = [json.loads(x) for f in sorted((ROOT / "corpus" / "posts").glob("*.jsonl"))
             for x in f.read_text("utf-8").splitlines() if x.strip()]
    dev = [p for p in posts if p["split"] == "dev" and p["needs_reply"] and len(p["text"]) > 80]
    random.Random(1).shuffle(dev)
    rng = random.Random(2)
    reason_drops, random_drops = [], []
    for p in dev[:80]:
        r = clf.classify(p["text"], reasons=True)
        spans = [(x.start, x.end) for x in r.reasons if x.head == "needs_reply"]
        if not r.needs_reply or not spans:
            continue
        text = p["text"]
        base = _logit(r.reply_score)

        def without(cut: list[tuple[int, int]], text: str = text) -> float:
            kept, pos = [], 0
            for a, b in sorted(cut):
                kept.append(text[pos:a])
                pos = max(pos, b)
            kept.append(text[pos:])
            return _logit(clf.classify(" ".join(kept)).reply_score)

        reason_drops.append(base - without(spans))
        # random phrases of the same total length
        n = normalize(text)
        cand = [n.source_span(a, b) for a, b in phrases(n)]
        target = sum(b - a for a, b in spans)
        rng.shuffle(cand)
        picked, total = [], 0
        for a, b in cand:
            if total >= target:
                break
            picked.append((a, b))
            total += b - a
        random_drops.append(base - without(picked))
    assert len(reason_drops) >= 30
    assert np.mean(reason_drops) > 2 * np.mean(random_drops)
    assert np.mean(np.array(reason_drops) > np.array(random_drops)) > 0.7
