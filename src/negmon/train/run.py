"""``negmon train CONFIG.toml``: dispatch a config to the trainer of its kind."""

from __future__ import annotations

import logging
from pathlib import Path

from negmon.train.config import load_config

__all__ = ["train"]


def train(config_path: str | Path, *, repack: bool = False, recalibrate: bool = False) -> Path:
    """Train the model a TOML config describes and return the written model folder.

    ``repack=True`` (transformer configs) skips training and rebuilds the model folder from the float32
    weights an earlier run of the same config kept. ``recalibrate=True`` only chooses the packed model's decision
    thresholds again on dev, as the config says (:mod:`negmon.train.decision`)."""
    cfg = load_config(config_path)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if recalibrate:
        from negmon.train.decision import recalibrate as _recalibrate

        return _recalibrate(cfg)
    if cfg.kind == "linear":
        from negmon.train.linear import train_linear

        return train_linear(cfg)
    from negmon.train.transformer import repack_transformer, train_transformer

    return repack_transformer(cfg) if repack else train_transformer(cfg)
