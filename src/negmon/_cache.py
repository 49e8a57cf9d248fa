"""negmon's folder for files it can rebuild (the report's Vega bundle, the Spark Java shim)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$NEGMON_CACHE``, else ``$XDG_CACHE_HOME/negmon``, else ``~/.cache/negmon`` (not created here)."""
    if os.environ.get("NEGMON_CACHE"):
        return Path(os.environ["NEGMON_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "negmon"
