"""Row rules: the cross-column rules one row keeps on its own (dates in order, both or neither).

Each record rule that reads only its own row (:class:`~threeml.records.rows.DateOrder`,
:class:`~threeml.records.rows.BothOrNeither`, :class:`~threeml.records.rows.MinimumWhen`) is
one boolean term of a single filter over the typed table
(:func:`~threeml.data.checks.flagged.flag_rows`), so a table with four rules is scanned once,
not four times. A rule that reads another table
(:class:`~threeml.records.rows.MatchesReference`) is a relational check
(:mod:`threeml.data.checks.relational`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ibis
import ibis.expr.types as ir

from threeml.data.checks.flagged import Check, FlaggedChecks, flag_rows
from threeml.data.report import ProblemKind
from threeml.records.rows import BothOrNeither, DateOrder, MinimumWhen
from threeml.records.schema import Table

__all__ = ["row_checks", "row_rules"]


def _both_or_neither(rule: BothOrNeither, typed: ir.Table) -> Check:
    first, second = rule.first, rule.second

    def given(rows: ir.Table) -> ir.StringValue:
        return rows[first].isnull().ifelse(second, first)

    def message(rows: ir.Table) -> ir.StringValue:
        missing = rows[first].isnull().ifelse(first, second)
        return (
            given(rows)
            + ibis.literal(" is given but ")
            + missing
            + ibis.literal(
                " is empty; the row is kept (an enrolment ends on its ended_on, whatever"
                " its end_reason): fill in both or neither"
            )
        )

    return Check(
        typed[first].isnull() != typed[second].isnull(),
        second,
        ProblemKind.INCONSISTENT_END,
        message,
        value=lambda rows: ibis.coalesce(rows[first].cast("string"), rows[second].cast("string")),
    )


def _date_order(rule: DateOrder, typed: ir.Table) -> Check:
    def message(rows: ir.Table) -> ir.StringValue:
        return (
            ibis.literal(f"{rule.later} is before {rule.earlier} (")
            + rows[rule.earlier].cast("string")
            + ibis.literal(")")
        )

    return Check(
        typed[rule.later] < typed[rule.earlier], rule.later, ProblemKind.DATE_ORDER, message
    )


def _minimum_when(rule: MinimumWhen, typed: ir.Table) -> Check:
    return Check(
        typed[rule.when_column].isin(sorted(rule.when_in)) & (typed[rule.column] < rule.minimum),
        rule.column,
        ProblemKind.OUT_OF_RANGE,
        f"{rule.reason}: expected at least {rule.minimum:g} for {', '.join(sorted(rule.when_in))}",
    )


#: How each kind of row rule is checked: a handler per rule type.
_HANDLERS: dict[type, Callable[[Any, ir.Table], Check]] = {
    BothOrNeither: _both_or_neither,
    DateOrder: _date_order,
    MinimumWhen: _minimum_when,
}


def row_rules(spec: Table) -> list[Any]:
    """The rules of ``spec`` that read only their own row (checked by :func:`row_checks`)."""
    return [rule for rule in spec.rules if type(rule) in _HANDLERS]


def row_checks(spec: Table, typed: ir.Table) -> FlaggedChecks | None:
    """The row rules of ``spec`` over the typed table, as one filter (``None``: no rules)."""
    checks = [_HANDLERS[type(rule)](rule, typed) for rule in row_rules(spec)]
    return flag_rows(spec.name, typed, checks)
