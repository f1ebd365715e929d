"""Criterion kinds: a kind of criterion together with how each evaluator tests it.

threeml's own criteria (:mod:`threeml.definitions.criteria`) are criterion kinds like any other;
a plugin adds one through the ``threeml_criterion_kinds`` hook (see
:mod:`threeml.plugins.hookspecs`). A kind is data plus two functions:

- ``criterion``: a frozen attrs subclass of :class:`~threeml.definitions.Criterion` with a
  ``kind`` class variable (its name in TOML and JSON files) and a ``describe()`` method; its
  fields are what a definition file may set;
- ``compile``: how the engine tests it, ``compile(criterion, compiler)`` returning an ibis table
  with a ``user_id`` column (the users who pass); ``compiler`` gives the dataset's tables and the
  period (see :mod:`threeml.engine`);
- ``reference``: how the pure-Python reference evaluator tests it,
  ``reference(criterion, data, period, user_id)`` returning ``(passed, evidence)``, the evidence
  being a few words for ``threeml explain``.

This module holds only the value: it imports no engine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from attrs import field, frozen

from threeml.definitions.criteria import Criterion

__all__ = ["CriterionKind"]


def _criterion_class(instance: Any, attribute: Any, value: Any) -> None:
    if not (isinstance(value, type) and issubclass(value, Criterion)):
        raise TypeError(f"a criterion kind's criterion must be a Criterion subclass, got {value!r}")
    if not isinstance(getattr(value, "kind", None), str):
        raise TypeError(f"{value.__name__} needs a 'kind' class variable naming it in files")


@frozen
class CriterionKind:
    """A kind of criterion: its class, its compilation to the engine and its reference test."""

    criterion: type[Criterion] = field(validator=_criterion_class)
    compile: Callable[..., Any] = field()
    reference: Callable[..., tuple[bool, str]] = field()

    @property
    def name(self) -> str:
        """The kind's name, as written in definition files (``kind = "..."``)."""
        return self.criterion.kind

    def describe(self) -> str:
        """The first line of the criterion class's docstring."""
        doc = (self.criterion.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else self.name
