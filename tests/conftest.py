"""Shared fixtures: where ../shared/data is (tests that need it skip with a reason when it is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    from negmon.train.data import shared_data_dir

    d = shared_data_dir()
    if d is None:
        pytest.skip("../shared/data is not beside this checkout (it holds the third-party test data)")
    return d
