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

from collections.abc import Callable, Mapping
from typing import Any

import attrs
import ibis
import ibis.expr.types as ir
from attrs import frozen

from threeml.data.checks.flagged import Check, FlaggedChecks, flag_rows
from threeml.data.report import ProblemKind
from threeml.records.rows import BothOrNeither, DateOrder, MinimumWhen
from threeml.records.schema import Table

__all__ = ["folded_row_checks", "row_checks", "row_rule_columns", "row_rules"]


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


def row_rule_columns(spec: Table) -> list[str]:
    """The columns of ``spec`` its row rules (:func:`row_rules`) read, in the table's order."""
    named = {
        value
        for rule in row_rules(spec)
        for value in attrs.astuple(rule, recurse=False)
        if isinstance(value, str)
    }
    return [col.name for col in spec.columns if col.name in named]


def row_checks(spec: Table, typed: ir.Table) -> FlaggedChecks | None:
    """The row rules of ``spec`` over the typed table, as one filter (``None``: no rules)."""
    checks = [_HANDLERS[type(rule)](rule, typed) for rule in row_rules(spec)]
    return flag_rows(spec.name, typed, checks)


#: Prefix of the typed values a folded row rule's flagged rows carry (:func:`folded_row_checks`).
_RULE = "__rule_"


@frozen(eq=False)
class _Typed:
    """Columns by name: the typed value of each named column, the column itself otherwise."""

    columns: Any
    typed: Mapping[str, ir.Value]

    def __getitem__(self, name: str) -> ir.Value:
        return self.typed[name] if name in self.typed else self.columns[name]


def folded_row_checks(spec: Table, source: ir.Table, typed: Mapping[str, ir.Value]) -> list[Check]:
    """The row rules of ``spec`` as checks over ``source``, a table holding the raw columns,
    reading each column's typed value from ``typed`` (expressions over ``source``).

    They are the checks :func:`row_checks` builds over the typed table, so they can be
    terms of the cell checks' one filter (one scan of the table fewer): each flag reads the
    typed values, and each message and value reads them on the flagged rows, where they are
    carried as extra columns.
    """
    checks = []
    carried = {f"{_RULE}{name}": value for name, value in typed.items()}
    on_rows = {name: f"{_RULE}{name}" for name in typed}

    def typed_rows(rows: ir.Table) -> _Typed:
        return _Typed(rows, {name: rows[column] for name, column in on_rows.items()})

    for rule in row_rules(spec):
        check = _HANDLERS[type(rule)](rule, _Typed(source, typed))
        message = check.message
        if callable(message):
            message = _on_typed(message, typed_rows)
        value = check.value or (lambda rows, column=check.column: rows[column])
        checks.append(
            Check(
                check.flag,
                check.column,
                check.kind,
                message,
                value=_on_typed(value, typed_rows),
                extras={**check.extras, **carried},
                passes=check.passes,
            )
        )
    return checks


def _on_typed(
    build: Callable[[Any], ir.Value], typed_rows: Callable[[ir.Table], _Typed]
) -> Callable[[ir.Table], ir.Value]:
    return lambda rows: build(typed_rows(rows))
