"""Choose a packed model's decision thresholds again on dev, without training: ``negmon train CONFIG --recalibrate``.

The model in ``cfg.out`` scores the config's dev set (calibrated probabilities, as the classifier sees them);
the thresholds become the highest whose recall reaches the config's ``reply_recall`` and ``urgent_recall`` on the
whole dev set and on each of its slices (:func:`negmon.train.calibrate.decision_slices`), with the rule that an
urgent score flags a post by itself; then the model is measured and carded again. Weights, temperatures and the
fusion partner stay as they are.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from negmon.train.calibrate import decision_meta, decision_slices, thresholds_on_slices
from negmon.train.config import TrainConfig
from negmon.train.own import gather

__all__ = ["recalibrate"]

log = logging.getLogger("negmon.train")


def recalibrate(cfg: TrainConfig) -> Path:
    """Rewrite the thresholds and ``decision`` of the packed model ``cfg.out``; returns its folder."""
    from negmon.model import load_model
    from negmon.model.artifact import read_meta
    from negmon.normalize import normalize
    from negmon.train.card import finish_model

    rc = cfg.transformer if cfg.kind == "transformer" else cfg.linear
    train, all_dev, _ = gather(cfg, rc.heads)  # the dev set training chose on, the user's own rows included
    dev = [r for r in all_dev if r.get("needs_reply") is not None]
    out = Path(cfg.out)
    model = load_model(out)
    if not {"needs_reply", "priority"} <= set(model.meta["heads"]):
        raise ValueError(f"{out} has no needs_reply and priority heads to recalibrate")
    reply, urgent = [], []
    for i in range(0, len(dev), 64):
        p = model.predict([normalize(r["text"][:20_000]) for r in dev[i : i + 64]])
        reply.append(p["needs_reply"][:, 1])
        urgent.append(p["priority"][:, 1])
    y_reply = np.array([int(r["needs_reply"]) for r in dev])
    y_urgent = np.array([int(r.get("priority") == "urgent") if r["needs_reply"] else -1 for r in dev])
    slices = decision_slices(dev)
    thresholds = thresholds_on_slices(np.concatenate(reply), y_reply, np.concatenate(urgent), y_urgent,
                                      list(slices.values()), rc.reply_recall, rc.urgent_recall)
    meta = read_meta(out)
    log.info("%s: thresholds %s -> %s", meta["id"], meta.get("thresholds"), thresholds)
    meta["thresholds"] = thresholds
    meta["decision"] = decision_meta(slices, any(r["source"].startswith("real/") for r in dev), rc.reply_recall,
                                     rc.urgent_recall)
    files = list(meta.pop("files"))
    for key in ("metrics", "format_version"):
        meta.pop(key, None)
    own = [r for r in all_dev if r["source"].startswith("own/")]
    finish_model(out, meta, files, own, [r for r in train if r["source"].startswith("own/")])
    return out
