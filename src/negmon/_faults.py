"""Fault injection for tests: ``NEGMON_FAULT=point:N`` kills the process (SIGKILL) at the Nth time ``point``
is reached, so that resume can be tested after a kill at every step of a run. Unset, it costs a dict lookup."""

from __future__ import annotations

import os
import signal

_seen: dict[str, int] = {}


def fault(point: str) -> None:
    """Kill this process here if ``NEGMON_FAULT`` names ``point`` and this is its Nth visit."""
    spec = os.environ.get("NEGMON_FAULT")
    if not spec:
        return
    name, _, nth = spec.partition(":")
    if name != point:
        return
    _seen[point] = _seen.get(point, 0) + 1
    if _seen[point] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
