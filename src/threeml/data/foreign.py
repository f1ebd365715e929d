"""Checking the tables of a database connection threeml does not own, in place.

Nothing is written to the connection's tables: the checks (:mod:`threeml.data.checks`) and
the set-aside rule (:mod:`threeml.data.rules`) run as ibis expressions bound to its tables, the
problem rows (few) are fetched as Arrow and summarised in a local DuckDB, and the kept
tables are expressions over the connection's tables. On PostgreSQL and Spark the numbered
source tables are stored once (a temporary table; a cached temporary view), so that the
checks and every later query do not read and number the source again. A backend that cannot
run the checks (SQLite has no arrays, no ``TRY_CAST``) has its tables copied into an embedded
DuckDB through Arrow instead, and checked there (:mod:`threeml.data.owned`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import ibis
import ibis.common.exceptions as com
import ibis.expr.types as ir
import pyarrow as pa

from threeml.data import engine
from threeml.data.checks import (
    PROBLEM_SCHEMA,
    ROW,
    checkable,
    parse_table,
    relational_checks,
    row_checks,
)
from threeml.data.files import SourceFile, check_header, time_zone_problems
from threeml.data.intermediate import keep
from threeml.data.numbering import number_rows
from threeml.data.owned import build_owned
from threeml.data.plausible import DateWindow
from threeml.data.report import Mode, Problem, ProblemKind
from threeml.data.rules import ASIDE_SCHEMA, event_dates, set_aside_parts
from threeml.data.staging import register_arrow
from threeml.data.summary import Checked, build_report, refused, set_aside_counts, summarise
from threeml.records.periods import parse_date
from threeml.records.schema import TABLES, Table

__all__ = ["check_connection"]

#: What ibis raises when a backend cannot compile an operation the checks use.
_UNSUPPORTED = (
    com.OperationNotDefinedError,
    com.UnsupportedBackendType,
    com.UnsupportedOperationError,
)


def check_connection(
    backend: Any,
    *,
    names: Mapping[str, str],
    source: str,
    mode: Mode,
    extract_date: Any,
) -> Checked:
    """Check the tables of ``backend`` (``names`` maps threeml's table names to its own).

    Rows are numbered by :func:`~threeml.data.numbering.number_rows` (a database table has
    no row order, and a window over a whole table cannot run in parallel).
    """
    available = set(backend.list_tables())
    found: dict[str, ir.Table] = {}
    staged: list[Problem] = []
    for name, spec in TABLES.items():
        actual = names.get(name, name)
        if actual not in available:
            if spec.required:
                staged.append(
                    Problem(
                        name,
                        ProblemKind.MISSING_TABLE,
                        message=f"required table {actual} is not in the database",
                    )
                )
            continue
        table = backend.table(actual)
        given = SourceFile(name, Path(actual), "database")
        staged.extend(check_header(given, spec, table.columns))
        staged.extend(time_zone_problems(given, spec, _arrow_schema(table)))
        found[name] = table
    raw = {
        name: _kept(backend, _complete(TABLES[name], number_rows(TABLES[name], table, ROW)))
        for name, table in found.items()
    }
    common = {"source": source, "staged": staged, "mode": mode, "extract_date": extract_date}
    try:
        return _build_foreign(backend, raw, **common)
    except _UNSUPPORTED:
        pass
    local = engine.connect()
    for name, table in found.items():
        register_arrow(local, TABLES[name], table.to_pyarrow())
    return build_owned(local, list(found), files={}, materialise=set(found), **common)


#: The backends whose numbered tables are stored once (:func:`_kept`), by ibis name.
KEEP_NUMBERED = frozenset({"postgres", "pyspark"})


def _kept(backend: Any, table: ir.Table) -> ir.Table:
    """``table`` (a numbered source table) stored in the engine on :data:`KEEP_NUMBERED`.

    Every check, the set-aside rule and every later query read the numbered tables; without
    this each of them would read the source and number its rows again (a shuffle per table
    on Spark). DuckDB reads its own files fast enough and is left as it is.
    """
    if getattr(backend, "name", None) not in KEEP_NUMBERED:
        return table
    return keep(backend, table)


def _arrow_schema(table: ir.Table) -> pa.Schema:
    """The Arrow form of ``table``'s schema, leaving out columns Arrow has no type for."""
    fields = []
    for name, kind in table.schema().items():
        try:
            fields.append(pa.field(name, kind.to_pyarrow()))
        except (com.IbisError, NotImplementedError, TypeError, ValueError):
            continue
    return pa.schema(fields)


def _complete(spec: Table, raw: ir.Table) -> ir.Table:
    """``raw`` with ``_row`` and every schema column, absent optional columns as NULL, then
    the extra columns the table keeps."""
    present = set(raw.columns)
    return raw.select(
        raw[ROW],
        *[
            raw[col.name] if col.name in present else ibis.null("string").name(col.name)
            for col in spec.columns
        ],
        *[raw[name] for name in spec.extra_columns(raw.columns)],
    )


def _build_foreign(
    backend: Any,
    raw: Mapping[str, ir.Table],
    *,
    source: str,
    staged: list[Problem],
    mode: Mode,
    extract_date: Any,
) -> Checked:
    """Type, check and (in lenient mode) filter the tables ``raw`` of ``backend``, in place."""
    typed: dict[str, ir.Table] = {}
    queries: list[ir.Table] = []
    window = DateWindow.for_run(extract_date)
    present = frozenset(raw)
    for name, spec in TABLES.items():
        if name in raw:
            typed[name], problems = parse_table(
                spec,
                raw[name],
                trim=False,
                window=window,
                references_checked=checkable(spec, present),
            )
            queries.extend(problems)
    for name, spec in TABLES.items():
        if name in typed and checkable(spec, present):
            queries.extend(relational_checks(spec, typed[name], typed))
            rules = row_checks(spec, typed[name])
            if rules is not None:
                queries.append(rules.problems())
    found = _problems(queries)
    local = duckdb.connect()
    local.register("_problems", found)
    row_counts = _row_counts(typed)
    kept = dict(typed)
    set_aside: dict[tuple[str, ProblemKind], int] = {}
    if mode is Mode.LENIENT:
        kept, rows = _set_aside(typed, ibis.memtable(found))
        local.register("_aside", rows)
        set_aside = set_aside_counts(local, "SELECT * FROM _aside", {})
    counts, examples = summarise(local, "_problems", {})
    report = build_report(source, row_counts, counts, examples, staged, {}, set_aside)
    if refused(report, staged, mode):
        return Checked(backend, report)
    tables = {}
    for name, spec in TABLES.items():
        table = kept.get(name)
        if table is None:
            table = ibis.memtable(spec.arrow_schema().empty_table())
        tables[name] = table.select(*spec.kept_columns(table.columns))
    final_date = parse_date(extract_date) if extract_date is not None else _latest_date(tables)
    return Checked(backend, report, tables, final_date)


def _problems(queries: list[ir.Table]) -> pa.Table:
    """The problem rows of every check, fetched by one query (a union of the checks)."""
    empty = pa.table({n: pa.array([], t.to_pyarrow()) for n, t in PROBLEM_SCHEMA.items()})
    if not queries:
        return empty
    same = [q.select(**{n: q[n].cast(t) for n, t in PROBLEM_SCHEMA.items()}) for q in queries]
    return ibis.union(*same, distinct=False).to_pyarrow().cast(empty.schema)


def _row_counts(typed: Mapping[str, ir.Table]) -> dict[str, int]:
    """Every table's number of rows, by one query."""
    if not typed:
        return {}
    parts = [t.aggregate(_table=ibis.literal(name), _n=t.count()) for name, t in typed.items()]
    rows = ibis.union(*parts, distinct=False).to_pyarrow().to_pylist()
    found = {row["_table"]: int(row["_n"]) for row in rows}
    return {name: found[name] for name in typed}


#: The rows set aside, of every table: ``row``, ``kind`` and ``table``.
_ASIDE_ROWS = ASIDE_SCHEMA.append(pa.field("table", pa.string()))


def _set_aside(
    typed: Mapping[str, ir.Table], problems: ir.Table
) -> tuple[dict[str, ir.Table], pa.Table]:
    """Set aside the rows the rule names, table by table; the kept tables and the rows aside.

    The rows set aside are fetched table by table (they are few), so that each kept table
    is its typed table without a short list of rows, not a chain of joins to recompute.
    """
    kept: dict[str, ir.Table] = dict(typed)
    aside: dict[str, ir.Table] = {}
    parts = [_ASIDE_ROWS.empty_table()]
    for name in TABLES:
        if name not in typed:
            continue
        rules = set_aside_parts(name, problems, typed, aside, kept)
        fetched = pa.concat_tables([part.to_pyarrow().cast(ASIDE_SCHEMA) for part in rules])
        parts.append(
            fetched.append_column("table", pa.array([name] * fetched.num_rows, pa.string()))
        )
        if fetched.num_rows:
            table = typed[name]
            aside[name] = ibis.memtable(fetched)
            kept[name] = table.filter(~table[ROW].isin(aside[name].row))
    return kept, pa.concat_tables(parts)


def _latest_date(tables: Mapping[str, ir.Table]) -> date | None:
    """The latest event date (:func:`threeml.data.rules.event_dates`) in ``tables``."""
    latest: list[date] = []
    for name, columns in event_dates(tables).items():
        table = tables[name]
        maxima = table.aggregate(**{c: table[c].max() for c in columns}).to_pyarrow()
        latest.extend(v for v in maxima.to_pylist()[0].values() if v is not None)
    return max(latest) if latest else None
