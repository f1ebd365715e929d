"""Validation as set-based checks in the engine.

Each check is an ibis expression that selects the offending rows of a table
as *problem rows* with the columns of :data:`PROBLEM_SCHEMA`; nothing here
loops over data rows in Python. :func:`parse_table` turns a raw relation
(text from CSV, or already typed from Parquet, Arrow or a database) into typed
columns and reports cells that do not parse; :func:`relational_checks` then
reports duplicate ids, references that point nowhere and cross-column rules.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Mapping
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.operations as ops
import ibis.expr.types as ir

from threeml.data.plausible import DateWindow, plausibility_checks
from threeml.data.report import ProblemKind
from threeml.data.text import is_padded, trim_space
from threeml.records.codes import CONDITION_SEPARATORS
from threeml.records.rows import (
    INTEGER_TEXT,
    NUMBER_TEXT,
    BothOrNeither,
    DateOrder,
    MatchesReference,
    MinimumWhen,
)
from threeml.records.schema import Column, ColumnType, Table
from threeml.records.schema import table as table_spec

__all__ = [
    "PROBLEM_SCHEMA",
    "ROW",
    "checkable",
    "parse_table",
    "referenced_tables",
    "relational_checks",
    "typed_schema",
]

ROW = "_row"

PROBLEM_SCHEMA = ibis.schema(
    {
        "table": "string",
        "row": "int64",
        "column": "string",
        "value": "string",
        "kind": "string",
        "message": "string",
    }
)

_ISO_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_INTEGER = INTEGER_TEXT
_NUMBER = NUMBER_TEXT

# Not ``ibis.literal([])``, which PostgreSQL cannot type (``ARRAY[]``): an empty list of text
# made from text, typed alike on every engine.
_NO_CODES = ibis.literal(";").split(";").filter(lambda item: item != "")

_TARGET_TYPES = {
    ColumnType.ID: dt.string,
    ColumnType.TEXT: dt.string,
    ColumnType.INTEGER: dt.int64,
    ColumnType.NUMBER: dt.float64,
    ColumnType.DATE: dt.date,
    ColumnType.CODE: dt.string,
    ColumnType.CODE_LIST: dt.Array(dt.string),
}


def typed_schema(spec: Table) -> ibis.Schema:
    """The schema of a typed table as :func:`parse_table` returns it: ``_row`` and the columns."""
    return ibis.schema({ROW: dt.int64, **{c.name: _TARGET_TYPES[c.type] for c in spec.columns}})


def _problems(
    rows: ir.Table,
    table: str,
    column: str,
    value: ir.Value,
    kind: ProblemKind,
    message: ir.StringValue | str,
) -> ir.Table:
    """Shape the rows of ``rows`` as problem rows."""
    return rows.select(
        table=ibis.literal(table, type="string"),
        row=rows[ROW].cast("int64"),
        column=ibis.literal(column, type="string"),
        value=_shortened(value.cast("string")),
        kind=ibis.literal(kind.value, type="string"),
        message=ibis.literal(message, type="string") if isinstance(message, str) else message,
    )


#: The longest value a problem quotes (characters); a longer one is cut, ending in "…".
VALUE_LIMIT = 200


def _shortened(text: ir.StringValue) -> ir.StringValue:
    return (text.length() > VALUE_LIMIT).ifelse(text.substr(0, VALUE_LIMIT) + "…", text)


def _clean(value: ir.Value, *, trim: bool = True) -> ir.StringValue:
    """Text with empty text as NULL and, when ``trim``, surrounding white space removed.

    Only text that begins or ends with white space goes through
    :func:`~threeml.data.text.trim_space` (never ibis's ``strip``, which Spark reads as also
    trimming the letters v and f): testing is cheaper than rewriting every value of a column.
    """
    text = value.cast("string")
    if trim:
        text = is_padded(text).ifelse(trim_space(text), text)
    return text.nullif("")


def _parse_text(
    col: Column, text: ir.StringValue
) -> tuple[ir.Value, ir.BooleanValue, ProblemKind, str]:
    """Parse cleaned text as ``col``: the typed value, whether it parsed, and how to report not."""
    match col.type:
        case ColumnType.DATE:
            parsed = text.try_cast("date")
            ok = text.re_search(_ISO_DATE) & parsed.notnull()
            return (
                ok.ifelse(parsed, ibis.null("date")),
                ok,
                ProblemKind.NOT_A_DATE,
                ("expected a real calendar date written YYYY-MM-DD (for example 2013-01-31)"),
            )
        case ColumnType.INTEGER:
            parsed = text.try_cast("int64")
            ok = text.re_search(_INTEGER) & parsed.notnull()
            return (
                ok.ifelse(parsed, ibis.null("int64")),
                ok,
                ProblemKind.NOT_AN_INTEGER,
                ("expected a whole number"),
            )
        case ColumnType.NUMBER:
            parsed = text.try_cast("float64")
            ok = text.re_search(_NUMBER) & parsed.notnull()
            return (
                ok.ifelse(parsed, ibis.null("float64")),
                ok,
                ProblemKind.NOT_A_NUMBER,
                ("expected a number such as 0.25"),
            )
        case ColumnType.CODE:
            # The typed value is the text as written: a row with an unknown code is reported
            # and never reaches a dataset, and a typed table scanned again and again (a view
            # over a Parquet file) is spared testing every code of every row.
            ok = text.isin(list(col.codes))
            return text, ok, ProblemKind.UNKNOWN_CODE, ""
        case ColumnType.CODE_LIST:
            return _code_list(text.split(";")), ibis.literal(True), ProblemKind.UNKNOWN_CODE, ""
        case _:
            return text, ibis.literal(True), ProblemKind.MISSING_VALUE, ""


def _code_list(items: ir.ArrayValue) -> ir.ArrayValue:
    """Codes without surrounding spaces, empty items, duplicates or order (as in the records)."""
    codes = items.map(
        lambda item: (
            item.cast("string")
            .lower()
            .re_replace(CONDITION_SEPARATORS, "_")
            .re_replace("^_+|_+$", "")
        )
    ).filter(lambda item: item != "")
    return ibis.coalesce(codes.unique().sort(), _NO_CODES)


def _typed_value(
    col: Column, value: ir.Value, *, trim: bool = True
) -> tuple[ir.Value, ir.BooleanValue, ProblemKind, str]:
    """The typed value of a source column, parsing text and converting compatible types."""
    source = value.type()
    target = _TARGET_TYPES[col.type]
    if col.type is ColumnType.CODE_LIST and source.is_array():
        return _code_list(value), ibis.literal(True), ProblemKind.UNKNOWN_CODE, ""
    if col.type is ColumnType.DATE and (source.is_date() or source.is_timestamp()):
        return value.cast("date"), ibis.literal(True), ProblemKind.NOT_A_DATE, ""
    if col.type is ColumnType.INTEGER and source.is_integer():
        return value.cast("int64"), ibis.literal(True), ProblemKind.NOT_AN_INTEGER, ""
    if col.type is ColumnType.INTEGER and source.is_floating():
        # Whole numbers stored as floats (pandas writes nullable integers so) are accepted.
        # (Compared as floats throughout: ibis's floor() is an integer, which would overflow.)
        ok = (value.abs() < 2.0**62) & ((value % 1.0) == 0.0)
        return (
            ok.ifelse(value, ibis.null("float64")).cast("int64"),
            ok,
            ProblemKind.NOT_AN_INTEGER,
            "expected a whole number",
        )
    if col.type is ColumnType.NUMBER and source.is_floating():
        # NaN and infinities are not numbers a file may hold (nor may a record).
        ok = ~value.isnan() & ~value.isinf()
        return (
            ok.ifelse(value.cast("float64"), ibis.null("float64")),
            ok,
            ProblemKind.NOT_A_NUMBER,
            "expected a finite number",
        )
    if col.type is ColumnType.NUMBER and source.is_numeric():
        return value.cast("float64"), ibis.literal(True), ProblemKind.NOT_A_NUMBER, ""
    if target.is_string() and not source.is_string():
        value = value.cast("string")
    return _parse_text(col, _clean(value, trim=trim))


def _code_message(col: Column, text: ir.StringValue) -> ir.StringValue:
    allowed = ", ".join(col.codes)
    lowered = trim_space(text.lower())
    return ibis.ifelse(
        lowered.isin(list(col.codes)),
        ibis.literal("differs only in case from '")
        + lowered
        + ibis.literal(f"': codes are lower case (allowed: {allowed})"),
        ibis.literal(f"unknown code; expected one of {allowed}"),
    )


def _bounds_words(col: Column) -> str:
    if col.minimum is not None and col.maximum is not None:
        return f"expected {col.minimum:g} to {col.maximum:g}"
    if col.minimum is not None:
        return f"expected at least {col.minimum:g}"
    return f"expected at most {col.maximum:g}"


def parse_table(
    spec: Table, raw: ir.Table, *, trim: bool = True, window: DateWindow | None = None
) -> tuple[ir.Table, list[ir.Table]]:
    """Typed columns for ``raw`` and the problem rows of cells that are missing or do not parse.

    ``raw`` holds ``_row`` and every column of ``spec`` (absent optional columns as NULL).
    ``trim`` strips white space around text values (CSV cells); values of typed sources
    (Parquet, Arrow, databases) are taken as written, empty text counting as empty.
    ``window`` bounds the dates (:class:`~threeml.data.plausible.DateWindow`); without it
    dates are only parsed. Text, condition codes and dates also go through the
    plausibility checks of :mod:`threeml.data.plausible`.

    Every cell check of the table is one boolean column of a single pass over ``raw``; only
    the rows failing some check are then spread into problem rows, so a large table is
    scanned once however many columns it has.
    """
    typed: dict[str, ir.Value] = {ROW: raw[ROW].cast("int64")}
    flags: dict[str, ir.BooleanValue] = {}
    # (flag, column, kind, message: text, or a function of the flagged rows)
    checks: list[tuple[str, str, ProblemKind, Any]] = []

    extras: dict[str, ir.Value] = {}  # columns a message is built from, on flagged rows

    def check(flag: ir.BooleanValue, column: str, kind: ProblemKind, message: Any) -> None:
        name = f"_check{len(checks)}"
        flags[name] = flag.fill_null(False)
        if isinstance(message, tuple):
            message, needed = message
            extras.update(needed)
        checks.append((name, column, kind, message))

    for col in spec.columns:
        value = raw[col.name]
        parsed, ok, kind, expected = _typed_value(col, value, trim=trim)
        typed[col.name] = parsed.cast(_TARGET_TYPES[col.type]).name(col.name)
        is_text = value.type().is_string()
        present = _clean(value, trim=trim).notnull() if is_text else value.notnull()
        if col.required:
            check(
                ~present, col.name, ProblemKind.MISSING_VALUE, f"{col.name} is required and empty"
            )
        text = _clean(value, trim=trim) if is_text else None
        for flag, column, problem_kind, words in plausibility_checks(
            spec, col, value, text, parsed, window
        ):
            check(flag, column, problem_kind, words)
        if col.type in (ColumnType.CODE_LIST, ColumnType.ID, ColumnType.TEXT):
            continue
        if col.type is ColumnType.CODE:
            name = col.name

            def message(rows: ir.Table, col: Column = col, name: str = name) -> ir.StringValue:
                return _code_message(col, _clean(rows[name], trim=trim))

            check(present & ~ok, col.name, kind, message)
        elif not (isinstance(ok, ir.BooleanScalar) and _is_true_literal(ok)):
            check(present & ~ok, col.name, kind, expected)
        if col.minimum is not None or col.maximum is not None:
            outside = ibis.literal(False)
            if col.minimum is not None:
                outside |= parsed < col.minimum
            if col.maximum is not None:
                outside |= parsed > col.maximum
            check(outside, col.name, ProblemKind.OUT_OF_RANGE, _bounds_words(col))
    for name in spec.extra_columns(raw.columns):  # kept as text, never checked
        typed[name] = _clean(raw[name], trim=trim).name(name)
    if not checks:
        return raw.select(**typed), []
    failing = functools.reduce(operator.or_, flags.values())
    flagged = raw.mutate(**flags, **extras).filter(failing)
    problems = []
    for name, column, kind, message in checks:
        rows = flagged.filter(flagged[name])
        text = message(rows) if callable(message) else message
        problems.append(_problems(rows, spec.name, column, rows[column], kind, text))
    return raw.select(**typed), [ibis.union(*problems, distinct=False)]


def _is_true_literal(value: ir.Value) -> bool:
    op = value.op()
    return isinstance(op, ops.Literal) and op.value is True


def referenced_tables(spec: Table) -> set[str]:
    """The tables whose rows the relational checks of ``spec`` read."""
    tables = {col.references[0] for col in spec.columns if col.references}
    return tables | {rule.table for rule in spec.rules if hasattr(rule, "table")}


def checkable(spec: Table, present: frozenset[str]) -> bool:
    """Whether the relational checks of ``spec`` can run: every table they read is present."""
    return referenced_tables(spec) <= present


def relational_checks(
    spec: Table, typed: ir.Table, tables: Mapping[str, ir.Table]
) -> list[ir.Table]:
    """Problem rows for duplicate keys, dangling references and cross-column rules.

    ``tables`` maps table names to typed tables, for references. Each returned expression
    is meant to run as one query.

    A :class:`~threeml.records.MatchesReference` rule (a contact's enrolment belongs to the
    contact's user) is checked with one anti-join of the table against the pairs it must
    match; only the rows that fail it — normally none — are then examined further. A row
    whose enrolment id is unknown is among them, so the reference check of ``via`` runs on
    them alone, and so does the reference check of a matched column that the other table
    references in the same way (a contact's user is its enrolment's user, whose own
    reference is checked on the enrolments). That keeps a large table such as the contacts
    to a single pass for all three checks; the only report lost is a contact-level
    "unknown user" when the contact's enrolment already names that unknown user (the
    enrolment is reported, and in lenient mode the contact goes with it).
    """
    problems: list[ir.Table] = []
    if spec.key:
        key = typed[spec.key]
        ranked = typed.filter(key.notnull()).mutate(
            _rank=ibis.row_number().over(group_by=spec.key, order_by=ROW),
            _first=typed[ROW].min().over(group_by=spec.key),
        )
        dupes = ranked.filter(ranked._rank > 0)
        problems.append(
            _problems(
                dupes,
                spec.name,
                spec.key,
                dupes[spec.key],
                ProblemKind.DUPLICATE_ID,
                ibis.literal(f"{spec.key} already used on row ")
                + dupes._first.cast("string")
                + ibis.literal("; ids must be unique"),
            )
        )
    suspects: dict[str, ir.Table] = {}  # column -> the only rows that may fail its reference
    matched: list[ir.Table] = []
    for rule in spec.rules:
        if not isinstance(rule, MatchesReference) or not spec.column(rule.via).references:
            continue
        rows, checks = _matching_rule(spec, rule, typed, tables)
        suspects[rule.via] = rows
        other = table_spec(rule.table)
        for c in rule.columns:
            if (
                spec.column(c).references
                and spec.column(c).references == other.column(c).references
            ):
                suspects[c] = rows
        matched.append(checks)
    for col in spec.columns:
        if not col.references:
            continue
        other_name, other_col = col.references
        other = tables[other_name]
        rows = suspects.get(col.name, typed)
        dangling = rows.filter(rows[col.name].notnull()).anti_join(
            other, rows[col.name] == other[other_col]
        )
        problem = _problems(
            dangling,
            spec.name,
            col.name,
            dangling[col.name],
            ProblemKind.UNKNOWN_REFERENCE,
            f"no {other_name} row has this {other_col}; add it to {other_name} or correct the id",
        )
        if col.name in suspects:
            matched.append(problem)
        else:
            problems.append(problem)
    if matched:
        problems.append(ibis.union(*matched, distinct=False))
    for rule in spec.rules:
        if not (isinstance(rule, MatchesReference) and rule.via in suspects):
            problems.extend(_rule_problems(spec, rule, typed, tables))
    return problems


def _matching_rule(
    spec: Table, rule: MatchesReference, typed: ir.Table, tables: Mapping[str, ir.Table]
) -> tuple[ir.Table, ir.Table]:
    """The rows failing ``rule`` or its reference (one anti-join), and the rule's problems."""
    other = tables[rule.table]
    other_key = next(c.name for c in table_spec(rule.table).columns if c.key)
    pairs = other.select(_ref=other[other_key], **{f"_other_{c}": other[c] for c in rule.columns})
    rows = typed.filter(typed[rule.via].notnull())
    rows = rows.anti_join(
        pairs,
        [rows[rule.via] == pairs._ref, *(rows[c] == pairs[f"_other_{c}"] for c in rule.columns)],
    )
    # The filter ends ibis's join chain, so the checks below share these few rows (one common
    # table expression) instead of each folding the anti-join into a join of its own.
    rows = rows.filter(ibis.literal(True)).select(*typed.columns)
    owners = pairs.view()
    joined = rows.inner_join(owners, rows[rule.via] == owners._ref)
    mismatch = ibis.literal(False)
    for c in rule.columns:
        mismatch |= joined[c] != joined[f"_other_{c}"]
    bad = joined.filter(mismatch)
    first = rule.columns[0]
    checks = _problems(
        bad,
        spec.name,
        first,
        bad[first],
        ProblemKind.INCONSISTENT_REFERENCE,
        ibis.literal(f"{rule.reason}: {rule.via} ")
        + bad[rule.via]
        + ibis.literal(f" belongs to {first} ")
        + bad[f"_other_{first}"],
    )
    return rows, checks


def _rule_problems(
    spec: Table, rule, typed: ir.Table, tables: Mapping[str, ir.Table]
) -> list[ir.Table]:
    if isinstance(rule, BothOrNeither):
        first, second = typed[rule.first], typed[rule.second]
        bad = typed.filter(first.isnull() != second.isnull())
        given = bad[rule.first].isnull().ifelse(rule.second, rule.first)
        missing = bad[rule.first].isnull().ifelse(rule.first, rule.second)
        return [
            _problems(
                bad,
                spec.name,
                rule.second,
                ibis.coalesce(bad[rule.first].cast("string"), bad[rule.second].cast("string")),
                ProblemKind.INCONSISTENT_END,
                given
                + ibis.literal(" is given but ")
                + missing
                + ibis.literal(
                    " is empty; the row is kept (an enrolment ends on its ended_on, whatever"
                    " its end_reason): fill in both or neither"
                ),
            )
        ]
    if isinstance(rule, DateOrder):
        bad = typed.filter(typed[rule.later] < typed[rule.earlier])
        return [
            _problems(
                bad,
                spec.name,
                rule.later,
                bad[rule.later],
                ProblemKind.DATE_ORDER,
                ibis.literal(f"{rule.later} is before {rule.earlier} (")
                + bad[rule.earlier].cast("string")
                + ibis.literal(")"),
            )
        ]
    if isinstance(rule, MinimumWhen):
        bad = typed.filter(
            typed[rule.when_column].isin(sorted(rule.when_in)) & (typed[rule.column] < rule.minimum)
        )
        return [
            _problems(
                bad,
                spec.name,
                rule.column,
                bad[rule.column],
                ProblemKind.OUT_OF_RANGE,
                f"{rule.reason}: expected at least {rule.minimum:g} for "
                f"{', '.join(sorted(rule.when_in))}",
            )
        ]
    if isinstance(rule, MatchesReference):
        other = tables[rule.table]
        other_key = next(c.name for c in table_spec(rule.table).columns if c.key)
        renamed = other.select(
            _ref=other[other_key], **{f"_other_{c}": other[c] for c in rule.columns}
        )
        joined = typed.inner_join(renamed, typed[rule.via] == renamed._ref)
        mismatch = ibis.literal(False)
        for c in rule.columns:
            mismatch |= joined[c] != joined[f"_other_{c}"]
        bad = joined.filter(mismatch)
        first = rule.columns[0]
        return [
            _problems(
                bad,
                spec.name,
                first,
                bad[first],
                ProblemKind.INCONSISTENT_REFERENCE,
                ibis.literal(f"{rule.reason}: {rule.via} ")
                + bad[rule.via]
                + ibis.literal(f" belongs to {first} ")
                + bad[f"_other_{first}"],
            )
        ]
    raise TypeError(f"no check for rule {rule!r}")  # pragma: no cover
