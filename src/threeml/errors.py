"""Exceptions whose messages are written for the person running threeml.

Every error a user can cause (bad data, a bad period, an unknown definition, a
broken plugin) is a :class:`ThreemlError`; the command line prints its message
on one line and exits non-zero instead of showing a traceback.
"""

from __future__ import annotations

__all__ = ["DataError", "PeriodError", "ThreemlError"]


class ThreemlError(Exception):
    """Base class for errors whose message is meant for the user."""


class PeriodError(ThreemlError, ValueError):
    """A period could not be understood."""


class DataError(ThreemlError):
    """A data folder, file or database could not be read as a threeml dataset."""
