"""Settlements, districts and regions named in a post (work in progress: see the locality issue)."""

from __future__ import annotations

from negmon.result import Locality

__all__ = ["extract_localities"]


def extract_localities(text: str, *, region: str | None = None) -> tuple[Locality, ...]:
    """Every Russian settlement, municipal district and federal subject named in ``text``."""
    if not isinstance(text, str):
        raise TypeError(f"extract_localities() expects str, got {type(text).__name__}")
    return ()
