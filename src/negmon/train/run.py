"""``negmon train CONFIG.toml``: dispatch a config to the trainer of its kind."""

from __future__ import annotations

import logging
from pathlib import Path

from negmon.train.config import load_config

__all__ = ["train"]


def train(config_path: str | Path) -> Path:
    """Train the model a TOML config describes and return the written model folder."""
    cfg = load_config(config_path)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if cfg.kind == "linear":
        from negmon.train.linear import train_linear

        return train_linear(cfg)
    from negmon.train.transformer import train_transformer

    return train_transformer(cfg)
