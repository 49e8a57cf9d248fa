"""Errors raised by negmon.

Every error negmon raises on purpose derives from :class:`NegmonError`, so a service can catch them all in
one place. Bad argument types raise the built-in :class:`TypeError` (with the type that came and the type
that was expected), as Python code is expected to.
"""

from __future__ import annotations

__all__ = ["InputError", "ModelError", "ModelIntegrityError", "NegmonError"]


class NegmonError(Exception):
    """Base class of all negmon errors."""


class InputError(NegmonError, ValueError):
    """A post, a file or an argument has the right type but an unusable value.

    Example: a mapping without a ``text`` key, an unknown file format.
    """


class ModelError(NegmonError):
    """A model cannot be found or loaded: missing folder, unknown format version, unreadable files."""


class ModelIntegrityError(ModelError):
    """A model file does not match the sha256 recorded in its ``meta.json`` (changed or damaged)."""
