"""Validation as set-based checks in the engine.

Each check is an ibis expression that selects the offending rows of a table
as *problem rows* with the columns of :data:`PROBLEM_SCHEMA`; nothing here
loops over data rows in Python. :func:`parse_table` turns a raw relation
(text from CSV, or already typed from Parquet, Arrow or a database) into typed
columns and reports cells that do not parse; :func:`relational_checks` then
reports duplicate ids, references that point nowhere and cross-column rules.
"""

from __future__ import annotations

from collections.abc import Mapping

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from threeml.data.report import ProblemKind
from threeml.records import DateOrder, MatchesReference, MinimumWhen
from threeml.schema import Column, ColumnType, Table
from threeml.schema import table as table_spec

__all__ = ["PROBLEM_SCHEMA", "ROW", "parse_table", "relational_checks"]

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
_INTEGER = r"^[+-]?[0-9]+$"
_NUMBER = r"^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$"

_NO_CODES = ibis.literal([], type="array<string>")

_TARGET_TYPES = {
    ColumnType.ID: dt.string,
    ColumnType.TEXT: dt.string,
    ColumnType.INTEGER: dt.int64,
    ColumnType.NUMBER: dt.float64,
    ColumnType.DATE: dt.date,
    ColumnType.CODE: dt.string,
    ColumnType.CODE_LIST: dt.Array(dt.string),
}


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
        value=value.cast("string"),
        kind=ibis.literal(kind.value, type="string"),
        message=ibis.literal(message, type="string") if isinstance(message, str) else message,
    )


def _clean(value: ir.Value) -> ir.StringValue:
    """Text with surrounding spaces removed and empty text as NULL."""
    text = value.cast("string").strip()
    return ibis.ifelse(text == "", ibis.null("string"), text)


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
            ok = text.isin(list(col.codes))
            return ok.ifelse(text, ibis.null("string")), ok, ProblemKind.UNKNOWN_CODE, ""
        case ColumnType.CODE_LIST:
            items = text.split(";").map(lambda item: item.strip()).filter(lambda item: item != "")
            return ibis.coalesce(items, _NO_CODES), ibis.literal(True), ProblemKind.UNKNOWN_CODE, ""
        case _:
            return text, ibis.literal(True), ProblemKind.MISSING_VALUE, ""


def _typed_value(
    col: Column, value: ir.Value
) -> tuple[ir.Value, ir.BooleanValue, ProblemKind, str]:
    """The typed value of a source column, parsing text and converting compatible types."""
    source = value.type()
    target = _TARGET_TYPES[col.type]
    if col.type is ColumnType.CODE_LIST and source.is_array():
        items = value.map(lambda item: item.cast("string").strip()).filter(lambda item: item != "")
        return ibis.coalesce(items, _NO_CODES), ibis.literal(True), ProblemKind.UNKNOWN_CODE, ""
    if col.type is ColumnType.DATE and (source.is_date() or source.is_timestamp()):
        return value.cast("date"), ibis.literal(True), ProblemKind.NOT_A_DATE, ""
    if col.type is ColumnType.INTEGER and source.is_integer():
        return value.cast("int64"), ibis.literal(True), ProblemKind.NOT_AN_INTEGER, ""
    if col.type is ColumnType.NUMBER and source.is_numeric():
        return value.cast("float64"), ibis.literal(True), ProblemKind.NOT_A_NUMBER, ""
    if target.is_string() and not source.is_string():
        value = value.cast("string")
    return _parse_text(col, _clean(value))


def _code_message(col: Column, text: ir.StringValue) -> ir.StringValue:
    allowed = ", ".join(col.codes)
    lowered = text.lower().strip()
    return ibis.ifelse(
        lowered.isin(list(col.codes)),
        ibis.literal("differs only in case from '")
        + lowered
        + ibis.literal(f"': codes are lower case (allowed: {allowed})"),
        ibis.literal(f"unknown code; expected one of {allowed}"),
    )


def parse_table(spec: Table, raw: ir.Table) -> tuple[ir.Table, list[ir.Table]]:
    """Typed columns for ``raw`` and the problem rows of cells that are missing or do not parse.

    ``raw`` holds ``_row`` and every column of ``spec`` (absent optional columns as NULL).
    """
    typed: dict[str, ir.Value] = {ROW: raw[ROW].cast("int64")}
    problems: list[ir.Table] = []
    for col in spec.columns:
        value = raw[col.name]
        parsed, ok, kind, expected = _typed_value(col, value)
        typed[col.name] = parsed.cast(_TARGET_TYPES[col.type]).name(col.name)
        present = _clean(value).notnull() if value.type().is_string() else value.notnull()
        if col.required:
            problems.append(
                _problems(
                    raw.filter(~present),
                    spec.name,
                    col.name,
                    value,
                    ProblemKind.MISSING_VALUE,
                    f"{col.name} is required and empty",
                )
            )
        if col.type in (ColumnType.CODE_LIST, ColumnType.ID, ColumnType.TEXT):
            continue
        bad = raw.filter(present & ~ok)
        message = (
            _code_message(col, _clean(bad[col.name])) if col.type is ColumnType.CODE else expected
        )
        problems.append(_problems(bad, spec.name, col.name, bad[col.name], kind, message))
        if col.minimum is not None or col.maximum is not None:
            checked = raw.mutate(_parsed=parsed)
            outside = ibis.literal(False)
            if col.minimum is not None:
                outside |= checked._parsed < col.minimum
            if col.maximum is not None:
                outside |= checked._parsed > col.maximum
            bounds = " to ".join(
                f"{bound:g}" for bound in (col.minimum, col.maximum) if bound is not None
            )
            words = (
                f"expected {bounds}"
                if col.minimum is not None and col.maximum is not None
                else f"expected at least {col.minimum:g}"
                if col.minimum is not None
                else f"expected at most {col.maximum:g}"
            )
            problems.append(
                _problems(
                    checked.filter(outside),
                    spec.name,
                    col.name,
                    checked[col.name],
                    ProblemKind.OUT_OF_RANGE,
                    words,
                )
            )
    return raw.select(**typed), problems


def relational_checks(
    spec: Table, typed: ir.Table, tables: Mapping[str, ir.Table]
) -> list[ir.Table]:
    """Problem rows for duplicate keys, dangling references and cross-column rules.

    ``tables`` maps table names to typed tables, for references.
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
    for col in spec.columns:
        if not col.references:
            continue
        other_name, other_col = col.references
        other = tables[other_name]
        dangling = typed.filter(typed[col.name].notnull()).anti_join(
            other, typed[col.name] == other[other_col]
        )
        problems.append(
            _problems(
                dangling,
                spec.name,
                col.name,
                dangling[col.name],
                ProblemKind.UNKNOWN_REFERENCE,
                f"no {other_name} row has this {other_col}; add it to {other_name} "
                f"or correct the id",
            )
        )
    for rule in spec.rules:
        problems.extend(_rule_problems(spec, rule, typed, tables))
    return problems


def _rule_problems(
    spec: Table, rule, typed: ir.Table, tables: Mapping[str, ir.Table]
) -> list[ir.Table]:
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
