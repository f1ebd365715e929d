"""The options of the plugin's measure kinds: each with its default and how it is read and checked.

An :class:`Option` is read from a :class:`~threeml.metrics.measures.MetricContext`
(the metric's options, with any overrides given for one evaluation) by a
*reader*: a function of the context, the option's name and its default that
returns the value, or raises :class:`~threeml.metrics.measures.MetricError`
naming the metric and the option.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from attrs import frozen

from threeml.metrics.measures import MetricContext, MetricError
from threeml.records.codes import OutcomeKind

__all__ = [
    "INDEX_KINDS",
    "PER",
    "SERVICE_KINDS",
    "Option",
    "as_given",
    "code_list",
    "days",
    "one_of",
    "outcome_kind",
    "outcome_kinds",
    "whole_number",
]

#: A reader: ``(context, name, default) -> value``.
Reader = Callable[[MetricContext, str, Any], Any]


def as_given(context: MetricContext, name: str, default: Any) -> Any:
    """The option as the metric gives it, unchecked."""
    return context.option(name, default)


def whole_number(context: MetricContext, name: str, default: int, minimum: int = 1) -> int:
    """A whole number of at least ``minimum`` (a number of days, a multiplier)."""
    value = context.option(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise MetricError(
            f"metric {context.metric.name}: option {name} must be a whole number, not {value!r}"
        )
    if value < minimum:
        raise MetricError(
            f"metric {context.metric.name}: option {name} must be at least {minimum}, not {value}"
        )
    return int(value)


def outcome_kind(context: MetricContext, name: str, default: str | None) -> str:
    """One outcome kind (``death``, ``emergency_admission`` …)."""
    value = context.option(name, default)
    known = [k.value for k in OutcomeKind]
    if value not in known:
        raise MetricError(
            f"metric {context.metric.name}: option {name} must be an outcome kind "
            f"({', '.join(known)}), not {value!r}"
        )
    return str(value)


def code_list(context: MetricContext, name: str, default: Any) -> list[str] | None:
    """A list of codes in sorted order (a single code is a list of one); ``None`` when empty."""
    value = context.option(name, default)
    if value is None or value == [] or value == "":
        return None
    if isinstance(value, str):
        value = [value]
    return sorted(str(v) for v in value)


def outcome_kinds(context: MetricContext, name: str, default: Any) -> list[str]:
    """A list of outcome kinds, each checked."""
    wanted = code_list(context, name, default)
    assert wanted is not None
    known = {k.value for k in OutcomeKind}
    for kind in wanted:
        if kind not in known:
            raise MetricError(f"metric {context.metric.name}: unknown outcome kind {kind!r}")
    return wanted


def one_of(*choices: str) -> Reader:
    """A reader accepting only ``choices``."""

    def read(context: MetricContext, name: str, default: Any) -> Any:
        value = context.option(name, default)
        if value not in choices:
            allowed = " or ".join(repr(c) for c in choices)
            raise MetricError(
                f"metric {context.metric.name}: option {name} must be {allowed}, not {value!r}"
            )
        return value

    return read


@frozen
class Option:
    """A measure option: its name, its default, and the reader that reads and checks it."""

    name: str
    default: Any = None
    read: Reader = as_given

    def value(self, context: MetricContext) -> Any:
        """The option's value for this evaluation."""
        return self.read(context, self.name, self.default)


def days(default: int, minimum: int = 1) -> Option:
    """The ``days`` option: a window length (or a limit) in whole days."""
    return Option("days", default, partial(whole_number, minimum=minimum))


#: A rate's multiplier: events per ``per`` person-years.
PER = Option("per", 1000, whole_number)

#: Only windows (or enrolments) of these service kinds; default all.
SERVICE_KINDS = Option("service_kinds", None, code_list)

#: The service kinds whose earliest installation is a person's index; default telehealth.
INDEX_KINDS = Option("index_kinds", ("telehealth",), code_list)
