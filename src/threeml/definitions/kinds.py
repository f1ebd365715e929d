"""Criterion kinds: a kind of criterion together with how each evaluator tests it.

threeml's own criteria (:mod:`threeml.definitions.criteria`) are criterion kinds like any other;
a plugin adds one through the ``threeml_criterion_kinds`` hook (see
:mod:`threeml.plugins.hookspecs`). A kind is data plus two functions:

- ``criterion``: a frozen attrs subclass of :class:`~threeml.definitions.Criterion` with a
  ``kind`` class variable (its name in TOML and JSON files) and a ``describe()`` method; its
  fields are what a definition file may set (strings, numbers, booleans, sets of
  :mod:`threeml.records.codes` values and a :class:`~threeml.definitions.Window` serialise
  without help);
- ``compile``: how the engine tests it, ``compile(criterion, compiler)`` returning an ibis table
  with a ``user_id`` column (the users who pass); ``compiler`` is a
  :class:`threeml.engine.compiler.Compiler`, which gives the dataset's tables (``users``,
  ``enrolments`` with ``service_kind`` and ``sector``, ``counting_contacts``), the ``period``
  and ``window(criterion.window)``;
- ``reference``: how the pure-Python reference evaluator tests it,
  ``reference(criterion, data, period, user_id)`` returning ``(passed, evidence)``, the evidence
  being a few words for ``threeml explain``; ``data`` is a
  :class:`threeml.engine.reference.ReferenceData`;
- ``strategy`` (optional): a function of no arguments returning a Hypothesis strategy that
  draws criteria of the kind, so that :func:`threeml.testing.strategies.criteria` and the
  conformance check draw it too;
- ``series`` (optional): how the engine tests it in every interval of a series at once,
  ``series(criterion, compiler)`` returning an ibis table with ``user_id`` and ``interval``
  columns (the users who pass in each interval, by the interval's position); ``compiler`` is a
  :class:`threeml.engine.series_facts.SeriesCompiler`, whose ``window_table(window)`` gives
  each interval's window days. It must give, in each interval, exactly the users ``compile``
  gives with that interval as the period. Without it, a series calls ``compile`` once per
  interval (one user set per interval) and still evaluates the rest of the definition in its
  one pass.

A plugin's kind is about the user: its class keeps ``about_enrolments`` false, so the records
behind a count come from the definition's other (enrolment) criteria. For an enrolment-unit
definition an enrolment passes a plugin criterion when its user does.

This module holds only the value: it imports no engine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs
from attrs import field, frozen

from threeml.definitions.criteria import CRITERIA, Criterion

__all__ = ["CriterionKind", "criterion_classes", "plugin_kinds", "registered_kinds"]


def _criterion_class(instance: Any, attribute: Any, value: Any) -> None:
    if not (isinstance(value, type) and issubclass(value, Criterion)):
        raise TypeError(f"a criterion kind's criterion must be a Criterion subclass, got {value!r}")
    if not isinstance(getattr(value, "kind", None), str):
        raise TypeError(f"{value.__name__} needs a 'kind' class variable naming it in files")
    if not attrs.has(value) or value.__hash__ is None:
        raise TypeError(
            f"{value.__name__} must be a frozen attrs class (@attrs.frozen), so that it "
            f"serialises and equal criteria are evaluated once"
        )
    if value.about_enrolments and CRITERIA.get(value.kind) is not value:
        raise TypeError(
            f"{value.__name__} sets about_enrolments: only threeml's own criteria are "
            f"enrolment criteria; a plugin's criterion kind is about the user"
        )


@frozen
class CriterionKind:
    """A kind of criterion: its class, its compilation to the engine and its reference test."""

    criterion: type[Criterion] = field(validator=_criterion_class)
    compile: Callable[..., Any] = field(validator=attrs.validators.is_callable())
    reference: Callable[..., tuple[bool, str]] = field(validator=attrs.validators.is_callable())
    #: A function of no arguments returning a Hypothesis strategy of criteria of this kind.
    strategy: Callable[[], Any] | None = field(
        default=None,
        kw_only=True,
        validator=attrs.validators.optional(attrs.validators.is_callable()),
    )
    #: How the engine tests the kind in every interval of a series at once (see the module).
    series: Callable[..., Any] | None = field(
        default=None,
        kw_only=True,
        validator=attrs.validators.optional(attrs.validators.is_callable()),
    )

    @property
    def name(self) -> str:
        """The kind's name, as written in definition files (``kind = "..."``)."""
        return self.criterion.kind

    def describe(self) -> str:
        """The first line of the criterion class's docstring."""
        doc = (self.criterion.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else self.name


def registered_kinds(registry: object) -> dict[str, CriterionKind]:
    """The criterion kinds ``registry`` offers, by name (none when it offers none).

    A registry offers them through a ``criterion_kinds()`` method returning the kinds by name;
    anything without one (``None``, a stand-in resolving only definitions) offers none.
    """
    offer = getattr(registry, "criterion_kinds", None)
    if offer is None:
        return {}
    kinds: Mapping[str, CriterionKind] = offer() if callable(offer) else offer
    return dict(kinds)


def plugin_kinds(registry: object) -> dict[str, CriterionKind]:
    """The criterion kinds ``registry`` offers beyond threeml's own, by name.

    What the evaluators need to be given: they handle threeml's own kinds themselves.
    """
    return {
        name: kind
        for name, kind in registered_kinds(registry).items()
        if CRITERIA.get(name) is not kind.criterion
    }


def criterion_classes(registry: object) -> dict[str, type[Criterion]]:
    """Every criterion class a definition file may use, by kind: threeml's and ``registry``'s.

    What :func:`threeml.definitions.load_definition` and the other readers take as
    ``criteria`` to read files that use the kinds of installed plugins.
    """
    return {
        **CRITERIA,
        **{name: kind.criterion for name, kind in registered_kinds(registry).items()},
    }
