"""``negmon train CONFIG.toml``: dispatch a config to the trainer of its kind."""

from __future__ import annotations

import logging
from pathlib import Path

from negmon.train.config import load_config

__all__ = ["train"]


def train(config_path: str | Path, *, repack: bool = False) -> Path:
    """Train the model a TOML config describes and return the written model folder.

    ``repack=True`` (transformer configs) skips training and rebuilds the model folder from the float32
    weights an earlier run of the same config kept."""
    cfg = load_config(config_path)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if cfg.kind == "linear":
        from negmon.train.linear import train_linear

        return train_linear(cfg)
    from negmon.train.transformer import repack_transformer, train_transformer

    return repack_transformer(cfg) if repack else train_transformer(cfg)
