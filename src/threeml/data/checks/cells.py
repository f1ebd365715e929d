"""Cell checks: each column of a raw table typed, and the cells that are missing or do not parse.

:func:`parse_table` turns a raw relation (text from CSV, or already typed from Parquet, Arrow
or a database) into typed columns and reports, as problem rows
(:mod:`threeml.data.checks.problems`), cells that are missing, do not parse, are out of range or
implausible (:mod:`threeml.data.plausible`). Nothing here loops over data rows in Python.
"""

from __future__ import annotations

import functools
import operator
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.operations as ops
import ibis.expr.types as ir

from threeml.data.checks.cheap_tests import cheap_pass, or_missing
from threeml.data.checks.flagged import Check, FlaggedChecks, flag_rows
from threeml.data.checks.problems import ROW
from threeml.data.checks.row_rules import folded_row_checks, row_rule_columns
from threeml.data.plausible import DateWindow, plausibility_checks
from threeml.data.report import ProblemKind
from threeml.data.text import is_padded, trim_space
from threeml.records.codes import CONDITION_SEPARATORS
from threeml.records.rows import INTEGER_TEXT, NUMBER_TEXT
from threeml.records.schema import Column, ColumnType, Table

__all__ = ["CellChecks", "cell_checks", "parse_table", "typed_schema", "typed_table"]

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


#: How text is parsed as each scalar type: (type, the pattern it must match, the kind of
#: problem when it does not, what was expected).
_SCALAR_TEXT: dict[ColumnType, tuple[str, str, ProblemKind, str]] = {
    ColumnType.DATE: (
        "date",
        _ISO_DATE,
        ProblemKind.NOT_A_DATE,
        "expected a real calendar date written YYYY-MM-DD (for example 2013-01-31)",
    ),
    ColumnType.INTEGER: ("int64", _INTEGER, ProblemKind.NOT_AN_INTEGER, "expected a whole number"),
    ColumnType.NUMBER: (
        "float64",
        _NUMBER,
        ProblemKind.NOT_A_NUMBER,
        "expected a number such as 0.25",
    ),
}


def _parse_text(
    col: Column, text: ir.StringValue
) -> tuple[ir.Value, ir.BooleanValue, ProblemKind, str]:
    """Parse cleaned text as ``col``: the typed value, whether it parsed, and how to report not."""
    scalar = _SCALAR_TEXT.get(col.type)
    if scalar is not None:
        target, pattern, kind, words = scalar
        if col.type is ColumnType.DATE:
            ok = _real_date(text)
            # Year 0 is a date to report as implausible, but PostgreSQL has none: it is
            # read as year 4 (a leap year too), as far outside any plausible window.
            year_zero = text.substr(0, 4) == "0000"
            usable = year_zero.ifelse(ibis.literal("0004") + text.substr(4), text)
            parsed = ok.ifelse(usable, ibis.null("string")).try_cast(target)
        else:
            # Only text of the right shape is cast: PostgreSQL's TRY_CAST is a CAST, which
            # fails the whole query on bad text (and it may evaluate either side of an AND).
            parsed = text.re_search(pattern).ifelse(text, ibis.null("string")).try_cast(target)
            ok = text.re_search(pattern) & parsed.notnull()
        return ok.ifelse(parsed, ibis.null(target)), ok, kind, words
    match col.type:
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


def _real_date(text: ir.StringValue) -> ir.BooleanValue:
    """Whether ``text`` is a real calendar date written ``YYYY-MM-DD`` (year 0 included).

    Decided by arithmetic on the digits, not by a cast that may fail: PostgreSQL has no
    TRY_CAST, and ``2013-02-30`` would stop the query instead of being reported.
    """
    shape = text.re_search(_ISO_DATE)
    digits = shape.ifelse(text, ibis.literal("2000-01-01"))
    year = digits.substr(0, 4).cast("int64")
    month = digits.substr(5, 2).cast("int64")
    day = digits.substr(8, 2).cast("int64")
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    last = ibis.cases((month == 2, leap.ifelse(29, 28)), (month.isin([4, 6, 9, 11]), 30), else_=31)
    return shape & month.between(1, 12) & (day >= 1) & (day <= last)


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
    col: Column,
    value: ir.Value,
    *,
    trim: bool = True,
    text: ir.StringValue | None = None,
    clean: bool = False,
) -> tuple[ir.Value, ir.BooleanValue, ProblemKind, str]:
    """The typed value of a source column, parsing text and converting compatible types.

    ``text``: the column's cleaned text, when it is already a column of its own. ``clean``:
    a list column whose every list is known to hold distinct codes each in its one form
    (:mod:`threeml.data.code_lists`), which typing would only sort.
    """
    source = value.type()
    target = _TARGET_TYPES[col.type]
    if col.type is ColumnType.CODE_LIST and source.is_array():
        if clean:
            return (
                ibis.coalesce(value, _NO_CODES).sort(),
                ibis.literal(True),
                ProblemKind.UNKNOWN_CODE,
                "",
            )
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
    return _parse_text(col, _clean(value, trim=trim) if text is None else text)


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


#: The row-local checks of a table's cells (the name under which earlier releases knew it).
CellChecks = FlaggedChecks


def parse_table(
    spec: Table,
    raw: ir.Table,
    *,
    trim: bool = True,
    window: DateWindow | None = None,
    references_checked: bool = False,
) -> tuple[ir.Table, list[ir.Table]]:
    """Typed columns for ``raw`` and the problem rows of cells that are missing or do not parse.

    The same checks as :func:`cell_checks`, composed into one expression per table.
    """
    typed, checks = cell_checks(
        spec, raw, trim=trim, window=window, references_checked=references_checked
    )
    return typed, [] if checks is None else [checks.problems()]


def cell_checks(
    spec: Table,
    raw: ir.Table,
    *,
    trim: bool = True,
    window: DateWindow | None = None,
    references_checked: bool = False,
    clean_lists: frozenset[str] = frozenset(),
    rules: bool = False,
    searched: frozenset[str] = frozenset(),
) -> tuple[ir.Table, FlaggedChecks | None]:
    """Typed columns for ``raw`` and its cell checks (``None`` when the table has none).

    ``raw`` holds ``_row`` and every column of ``spec`` (absent optional columns as NULL).
    ``trim`` strips white space around text values (CSV cells); values of typed sources
    (Parquet, Arrow, databases) are taken as written, empty text counting as empty.
    ``window`` bounds the dates (:class:`~threeml.data.plausible.DateWindow`); without it
    dates are only parsed. Text, condition codes and dates also go through the
    plausibility checks of :mod:`threeml.data.plausible`. ``clean_lists`` names the list
    columns known to be clean (:func:`typed_table`).

    With ``references_checked`` (the table's references are checked by
    :func:`~threeml.data.checks.relational_checks`), a column that refers to another
    table is not searched for control characters here: a value found in the other table
    equals a key checked there, so only the values *not* found need the search, and the
    reference check does it on those rows alone. That spares a regular expression on
    every id of the largest tables (contacts, outcomes).

    Every cell check of the table is one boolean term of a single filter over ``raw``
    (:func:`~threeml.data.checks.flagged.flag_rows`); only the rows failing some check get
    their flags and message columns, so a large table is scanned once however many
    columns it has, and nothing is kept of the rows that pass. With ``rules``, the table's
    row rules (:func:`~threeml.data.checks.row_checks`, which would otherwise scan the
    typed table again) are terms of the same filter, reading the typed values
    (:func:`~threeml.data.checks.row_rules.folded_row_checks`). ``searched`` names the
    text columns of a typed source (not ``trim``) whose distinct values were found free of
    control characters (:mod:`threeml.data.few_values`): their rows are not searched again.
    """
    checks: list[Check] = []

    def check(
        flag: ir.BooleanValue,
        column: str,
        kind: ProblemKind,
        message: Any,
        passes: ir.BooleanValue | None = None,
    ) -> None:
        extras: dict[str, ir.Value] = {}
        if isinstance(message, tuple):
            message, extras = message
        checks.append(Check(flag, column, kind, message, extras=extras, passes=passes))

    staged, columns = _staged(spec, raw, trim=trim, clean_lists=clean_lists)
    for col in spec.columns:
        value = staged[col.name]
        parsed, ok, kind, expected = columns[col.name]
        is_text = value.type().is_string()
        text = _text_of(staged, col.name, trim=trim) if is_text else None
        present = _present(value, text, trim=trim)
        if col.required:
            check(
                ~present,
                col.name,
                ProblemKind.MISSING_VALUE,
                f"{col.name} is required and empty",
                passes=present,
            )
        for flag, column, problem_kind, words in plausibility_checks(
            spec, col, value, text, parsed, window
        ):
            if (
                references_checked
                and col.references
                and problem_kind is ProblemKind.CONTROL_CHARACTER
            ):
                continue  # searched on the rows whose reference is not found
            if not trim and col.name in searched and problem_kind is ProblemKind.CONTROL_CHARACTER:
                continue  # no distinct value of the column holds one
            cheap = cheap_pass(spec, col, problem_kind, text, parsed, window) if not trim else None
            check(flag, column, problem_kind, words, cheap)
        if col.type in (ColumnType.CODE_LIST, ColumnType.ID, ColumnType.TEXT):
            continue
        if col.type is ColumnType.CODE:
            name = col.name

            def message(rows: ir.Table, col: Column = col, name: str = name) -> ir.StringValue:
                return _code_message(col, _clean(rows[name], trim=trim))

            cheap = None
            if is_text and not trim:
                ok = value.isin(list(col.codes))  # the value as written, when present
                cheap = or_missing(col, value, ok)
            check(present & ~ok, col.name, kind, message, cheap)
        elif not (isinstance(ok, ir.BooleanScalar) and _is_true_literal(ok)):
            check(present & ~ok, col.name, kind, expected)
        if col.minimum is not None or col.maximum is not None:
            outside = ibis.literal(False)
            inside = []
            if col.minimum is not None:
                outside |= parsed < col.minimum
                inside.append(parsed >= col.minimum)
            if col.maximum is not None:
                outside |= parsed > col.maximum
                inside.append(parsed <= col.maximum)
            within = functools.reduce(operator.and_, inside)
            cheap = None if trim else or_missing(col, parsed, within)
            check(outside, col.name, ProblemKind.OUT_OF_RANGE, _bounds_words(col), cheap)
    if rules:
        typed = {
            name: columns[name][0].cast(_TARGET_TYPES[spec.column(name).type])
            for name in row_rule_columns(spec)
        }
        checks.extend(folded_row_checks(spec, staged, typed))
    return _typed_from(spec, raw, staged, columns, trim=trim), flag_rows(spec.name, staged, checks)


#: Prefixes of the columns :func:`_staged` adds: each text column's cleaned text, each
#: column's typed value and whether it parsed.
_TEXT, _TYPED, _PARSES = "__text_", "__typed_", "__parses_"

_Parsed = tuple[ir.Value, ir.BooleanValue, ProblemKind, str]


def _staged(
    spec: Table, raw: ir.Table, *, trim: bool, clean_lists: frozenset[str] = frozenset()
) -> tuple[ir.Table, dict[str, _Parsed]]:
    """``raw`` with each column's cleaned text, then its typed value and whether it parsed,
    as columns of their own; and per column what :func:`_typed_value` gives, read from them.

    A check names the typed value and the text as columns. Written inline, every check
    would repeat the whole parse (a date's parse names its text some twenty times, each a
    regular expression when the text is trimmed): 800 KB of SQL for the enrolments, which
    an engine parses and plans for a second or more however few the rows.
    """
    cleaned = {
        f"{_TEXT}{col.name}": _clean(raw[col.name], trim=True)
        for col in spec.columns
        if trim and raw[col.name].type().is_string()
    }
    first = raw.mutate(**cleaned) if cleaned else raw
    found: dict[str, _Parsed] = {}
    derived: dict[str, ir.Value] = {}
    for col in spec.columns:
        text = first[f"{_TEXT}{col.name}"] if f"{_TEXT}{col.name}" in cleaned else None
        parsed, ok, kind, expected = _typed_value(
            col, first[col.name], trim=trim, text=text, clean=col.name in clean_lists
        )
        found[col.name] = (parsed, ok, kind, expected)
        if not (trim or _parses_text(col, raw[col.name])):
            continue  # a typed value, converted in place: nothing worth a column of its own
        for prefix, value in ((_TYPED, parsed), (_PARSES, ok)):
            if not isinstance(value.op(), ops.Field | ops.Literal):
                derived[f"{prefix}{col.name}"] = value
    if not derived:
        return first, found
    second = first.mutate(**derived)

    def column(prefix: str, name: str, value: ir.Value) -> ir.Value:
        key = f"{prefix}{name}"
        if key in derived:
            return second[key]
        if isinstance(value.op(), ops.Field):
            return second[value.get_name()]
        return value

    return second, {
        name: (column(_TYPED, name, parsed), column(_PARSES, name, ok), kind, expected)
        for name, (parsed, ok, kind, expected) in found.items()
    }


def _parses_text(col: Column, value: ir.Value) -> bool:
    """Whether ``value`` is text typed by parsing it (a date, number or code list written as
    text), rather than a value of its own type or text kept as text."""
    return value.type().is_string() and not _TARGET_TYPES[col.type].is_string()


def _text_of(staged: ir.Table, name: str, *, trim: bool) -> ir.StringValue:
    """The text a text column's checks read: cleaned when ``trim`` (CSV cells), otherwise
    the value as written (Parquet, Arrow, a database)."""
    return staged[f"{_TEXT}{name}"] if trim else staged[name]


def _present(value: ir.Value, text: ir.StringValue | None, *, trim: bool) -> ir.BooleanValue:
    """Whether a cell is present.

    Text of a typed source (Parquet, Arrow, a database) is taken as written, so its checks
    read the value itself: ``x IS NOT NULL AND x <> ''`` rather than a ``NULLIF`` per check,
    which the engine works out as a ``CASE`` for every value of the column (empty text
    passes every check on the text but the one for a missing value, alike either way).
    """
    if text is None:
        return value.notnull()
    if trim:
        return text.notnull()
    return value.notnull() & (value != "")


def _typed_from(
    spec: Table, raw: ir.Table, staged: ir.Table, columns: dict[str, _Parsed], *, trim: bool
) -> ir.Table:
    typed: dict[str, ir.Value] = {ROW: staged[ROW].cast("int64")}
    for col in spec.columns:
        typed[col.name] = columns[col.name][0].cast(_TARGET_TYPES[col.type]).name(col.name)
    for name in spec.extra_columns(raw.columns):  # kept as text, never checked
        typed[name] = _clean(staged[name], trim=trim).name(name)
    return staged.select(**typed)


def typed_table(
    spec: Table, raw: ir.Table, *, trim: bool = True, clean_lists: frozenset[str] = frozenset()
) -> ir.Table:
    """Typed columns for ``raw``, as :func:`cell_checks` gives them, without its checks (for
    an extract whose validation was kept: nothing of the checks needs building).

    ``clean_lists`` names the list columns of ``raw`` whose every list is ``NULL`` or holds
    distinct codes each already in its one form (:func:`threeml.data.code_lists.clean_code_lists`
    found so): those are only sorted, which gives the same lists as typing them in full.
    """
    staged, columns = _staged(spec, raw, trim=trim, clean_lists=clean_lists)
    return _typed_from(spec, raw, staged, columns, trim=trim)


def _is_true_literal(value: ir.Value) -> bool:
    op = value.op()
    return isinstance(op, ops.Literal) and op.value is True
