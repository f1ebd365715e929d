"""Checks that close the silent paths: values that parse but cannot be meant.

:mod:`threeml.data.checks` asks whether a cell *parses* as its column's type; the checks here
ask whether a parsed value is one a careful extract could hold, and add each as one more
boolean column of the same single pass over the table:

- text (ids, areas, labels) holding a control character (a NUL byte, an embedded line break,
  an ANSI escape) or longer than :data:`TEXT_LIMIT` characters — errors;
- dates outside the plausible window of :class:`DateWindow` — before 1900, after the date of
  the run plus a margin, or (a warning) after an extract date the user gave plus the margin;
- condition codes outside the known vocabulary (:data:`~threeml.records.codes.CONDITIONS`)
  — warnings naming the codes, with close matches added when the report is summarised
  (:func:`condition_hint`).

The pairing of ``end_reason`` and ``ended_on`` is a record rule
(:class:`~threeml.records.rows.BothOrNeither`) checked with the other cross-column rules.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir
from attrs import field, frozen

from threeml.data.report import ProblemKind
from threeml.records.codes import CONDITIONS, close_conditions
from threeml.records.periods import parse_date
from threeml.records.rows import TEXT_LIMIT
from threeml.records.schema import Column, ColumnType, Table

__all__ = [
    "EARLIEST_DATE",
    "MARGIN",
    "TEXT_LIMIT",
    "DateWindow",
    "condition_hint",
    "control_character_check",
    "plausibility_checks",
]


#: No event of an extract is dated before this day.
EARLIEST_DATE = date(1900, 1, 1)

#: How far after the date of the run (or an extract date given) a date may lie.
MARGIN = timedelta(days=31)

#: Control characters: C0 (NUL, line breaks, ESC …) and DEL.
_CONTROL = "[\\x00-\\x1f\\x7f]"

#: (flag, column, kind, message: text or a function of the flagged rows)
Check = tuple[ir.BooleanValue, str, ProblemKind, Any]


def _today() -> date:
    return datetime.now(UTC).date()


@frozen
class DateWindow:
    """The dates a file may hold: from :data:`EARLIEST_DATE` to ``latest``.

    ``latest`` is the date of the run plus :data:`MARGIN` (no extract holds events later
    than that). ``given`` is the extract date the user gave, if any: a date more than
    :data:`MARGIN` after it is a warning (kept, outside every follow-up period). A target's
    ``due`` date is a plan, so only the lower bound applies to it.
    """

    latest: date
    given: date | None = field(default=None)

    @classmethod
    def for_run(cls, extract_date: Any = None) -> DateWindow:
        """The window of a run today, for the extract date given (or ``None``)."""
        given = parse_date(extract_date) if extract_date is not None else None
        return cls(latest=_today() + MARGIN, given=given)


@frozen
class _Cells:
    """One column's cells as the checks see them (see :func:`plausibility_checks`)."""

    spec: Table
    col: Column
    value: ir.Value
    text: ir.StringValue | None
    parsed: ir.Value
    window: DateWindow | None


def plausibility_checks(
    spec: Table,
    col: Column,
    value: ir.Value,
    text: ir.StringValue | None,
    parsed: ir.Value,
    window: DateWindow | None,
) -> list[Check]:
    """The plausibility checks of one column: ``value`` as read, ``text`` its cleaned text
    (``None`` for a typed source that is not text), ``parsed`` the typed value."""
    handler = _HANDLERS.get(col.type)
    return handler(_Cells(spec, col, value, text, parsed, window)) if handler else []


def control_character_check(column: str, text: ir.StringValue) -> Check:
    """Whether ``text`` (a value of ``column``) holds a control character, and what to say."""
    return (
        text.re_search(_CONTROL),
        column,
        ProblemKind.CONTROL_CHARACTER,
        f"{column} holds a control character (a NUL byte, a line break, a tab or an "
        "escape sequence); remove it from the source system or the export",
    )


def _text_checks(cells: _Cells) -> list[Check]:
    text, col = cells.text, cells.col
    if text is None:
        return []
    return [
        control_character_check(col.name, text),
        (
            text.length() > TEXT_LIMIT,
            col.name,
            ProblemKind.TEXT_TOO_LONG,
            f"{col.name} is longer than {TEXT_LIMIT} characters; an id, area or label is "
            "never that long: check that the file's columns and quotes are as meant",
        ),
    ]


def _date_checks(cells: _Cells) -> list[Check]:
    col, parsed, window = cells.col, cells.parsed, cells.window
    if window is None:
        return []
    plan = cells.spec.name == "targets"
    early = parsed < ibis.literal(EARLIEST_DATE)
    outside = early
    if not plan:
        outside |= parsed > ibis.literal(window.latest)
    before = f"{col.name} is before {EARLIEST_DATE.isoformat()}"
    late = (
        f"{col.name} is after {window.latest.isoformat()} "
        f"(the day of the run plus {MARGIN.days} days)"
    )
    advice = (
        ", which no extract holds: correct the date (left as it is, a typing error such as "
        "9999-12-31 or 0000-01-01 would end every follow-up period there)"
    )
    flag_name = f"_early_{col.name}"

    def message(rows: ir.Table) -> ir.StringValue:
        return rows[flag_name].ifelse(before + advice, late + advice)

    checks: list[Check] = [
        (outside, col.name, ProblemKind.IMPLAUSIBLE_DATE, (message, {flag_name: early}))
    ]
    if window.given is not None and not plan:
        after = window.given + MARGIN
        checks.append(
            (
                (parsed > ibis.literal(after)) & (parsed <= ibis.literal(window.latest)),
                col.name,
                ProblemKind.AFTER_EXTRACT_DATE,
                f"{col.name} is after {after.isoformat()}, more than {MARGIN.days} days "
                f"after the extract date given ({window.given.isoformat()}); the row is kept "
                "but lies outside every period: check the extract date",
            )
        )
    return checks


def _condition_checks(cells: _Cells) -> list[Check]:
    col = cells.col
    known = list(CONDITIONS)
    unknown = cells.parsed.filter(lambda code: ~code.isin(known))
    # A code written exactly as a known one stays known once normalised, so only a row with
    # some other code as written can hold an unknown one: that cheap test comes first, and
    # the normalised codes are only worked out for the rows it lets through.
    value = cells.value
    written = value if value.type().is_array() else value.cast("string").split(";")
    maybe = written.filter(lambda code: ~code.isin(known)).length() > 0
    checks: list[Check] = []
    if cells.text is not None:
        checks.extend(_text_checks(cells)[:1])

    def message(rows: ir.Table) -> ir.StringValue:
        codes = rows[col.name + "_unknown"]
        return ibis.literal("unknown condition code(s): ") + codes.join(", ")

    checks.append(
        (
            # (A CASE, which works out its branch for the rows it selects only; an AND
            # would work out both sides for every row.)
            maybe.ifelse(unknown.length() > 0, False),
            col.name,
            ProblemKind.UNKNOWN_CONDITION,
            (message, {col.name + "_unknown": unknown}),
        )
    )
    return checks


_HANDLERS: dict[ColumnType, Callable[..., list[Check]]] = {
    ColumnType.ID: _text_checks,
    ColumnType.TEXT: _text_checks,
    ColumnType.DATE: _date_checks,
    ColumnType.CODE_LIST: _condition_checks,
}


def condition_hint(message: str) -> str:
    """An *unknown condition* message with the known codes close to each unknown one."""
    _, _, listed = message.partition(": ")
    hints = []
    for code in (c.strip() for c in listed.split(",") if c.strip()):
        close = close_conditions(code)
        if close:
            hints.append(f"{code!r}: did you mean {' or '.join(close)}?")
    known = ", ".join(CONDITIONS)
    advice = (
        "; kept as written, but no standard definition counts them "
        f"(known codes: {known}; case, spaces and hyphens are normalised, so COPD reads as copd)"
    )
    return message + ("; " + " ".join(hints) if hints else "") + advice
