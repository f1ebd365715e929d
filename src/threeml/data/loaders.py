"""Loaders: how an extract is opened from what ``--data`` names.

A :class:`Loader` is a value: a name, a line saying what it opens, a test of whether it accepts a
target (a path or a URL, as written after ``--data``) and the function that opens it as a
:class:`~threeml.data.Dataset`. threeml's built-in loaders and those plugins supply through the
``threeml_loaders`` hook are tried in order; the first that accepts the target opens it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from attrs import frozen

__all__ = ["Loader"]


@frozen
class Loader:
    """A way to open an extract: ``accepts(target)`` says whether it can, ``load`` opens it.

    ``load(target, *, mode, extract_date)`` returns a :class:`~threeml.data.Dataset`
    (``mode`` is ``"strict"`` or ``"lenient"``, ``extract_date`` a date or ``None``).
    """

    name: str
    description: str
    accepts: Callable[[str], bool]
    load: Callable[..., Any]
