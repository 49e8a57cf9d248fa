"""The decision rule (needs_reply and urgency from two scores) and the thresholds chosen on dev slices."""

from __future__ import annotations

import numpy as np

from negmon.model import decide
from negmon.train.calibrate import threshold_for_recall, thresholds_on_slices

T = {"needs_reply": 0.6, "urgent": 0.7}
NEW = {"decision": {"urgent_implies_reply": True}}


def test_urgent_score_flags_a_post_only_under_the_new_rule() -> None:
    reply = np.array([0.9, 0.2, 0.2, 0.9])
    urgent = np.array([0.8, 0.8, 0.1, 0.1])
    flagged, hot = decide(reply, urgent, T, {})
    assert flagged.tolist() == [True, False, False, True]
    assert hot.tolist() == [True, False, False, False]  # the old rule: urgency hangs on the reply head
    flagged, hot = decide(reply, urgent, T, NEW)
    assert flagged.tolist() == [True, True, False, True]
    assert hot.tolist() == [True, True, False, False]


def test_decide_without_a_priority_head() -> None:
    flagged, hot = decide(np.array([0.61, 0.59]), None, T, NEW)
    assert flagged.tolist() == [True, False] and not hot.any()


def test_thresholds_reach_the_recall_on_every_slice() -> None:
    # slice B's positives score lower than the rest: its recall decides the threshold
    p_reply = np.array([0.95, 0.9, 0.85, 0.8, 0.3, 0.2, 0.4, 0.35, 0.1, 0.05])
    y_reply = np.array([1, 1, 1, 1, 0, 0, 1, 1, 0, -1])
    b = np.array([False] * 6 + [True] * 4)
    p_urgent = np.array([0.9, 0.1, 0.2, 0.1, 0.0, 0.0, 0.6, 0.1, 0.0, 0.0])
    y_urgent = np.array([1, 0, 0, 0, -1, -1, 1, 0, -1, -1])
    t = thresholds_on_slices(p_reply, y_reply, p_urgent, y_urgent, [b], 1.0, 1.0)
    assert t["needs_reply"] == 0.35  # all 6 positives, slice B's two included
    assert t["urgent"] == 0.6
    t_all = thresholds_on_slices(p_reply, y_reply, p_urgent, y_urgent, [], 0.75, 1.0)
    # 5 of 6 positives reach 0.4
    assert t_all["needs_reply"] == threshold_for_recall(p_reply[y_reply >= 0], y_reply[y_reply >= 0], 0.75) == 0.4
    flagged, _ = decide(p_reply, p_urgent, t, NEW)
    assert flagged[y_reply == 1].all()


def test_a_slice_without_positives_does_not_decide() -> None:
    p = np.array([0.9, 0.8, 0.1])
    y = np.array([1, 1, 0])
    t = thresholds_on_slices(p, y, p, np.array([1, 0, -1]), [np.array([False, False, True])], 1.0, 1.0)
    assert t == {"needs_reply": 0.8, "urgent": 0.9}
