"""Checking an extract on the embedded DuckDB that threeml owns, through named relations.

Extracts loaded from files or Arrow live in an embedded DuckDB that threeml owns. There
every step is a named relation — ``raw_<table>`` (the file as read), ``typed_<table>``
(parsed; a table for CSV, a view over a Parquet file), ``_problems``, ``aside_<table>`` and
``kept_<table>`` — and the checks (:mod:`threeml.data.checks`) and the set-aside rule
(:mod:`threeml.data.rules`), written once as ibis expressions over those names, are
compiled to SQL once per process and reused, so loading a small extract costs
milliseconds of planning rather than seconds.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

import attrs
import ibis
import ibis.expr.types as ir
import pyarrow as pa

from threeml.data.cache import CachedValidation, KeptValidation, ValidationCache
from threeml.data.checks import (
    PROBLEM_SCHEMA,
    ROW,
    FlaggedChecks,
    cell_checks,
    checkable,
    plain_references,
    referenced_tables,
    references_together,
    relational_checks,
    typed_schema,
    typed_table,
)
from threeml.data.code_lists import clean_code_lists
from threeml.data.few_values import free_of_control_characters
from threeml.data.plausible import DateWindow
from threeml.data.report import Mode, Problem, ProblemKind
from threeml.data.rules import ASIDE_SCHEMA, event_dates, set_aside_parts
from threeml.data.sql import identifier, literal
from threeml.data.staging import drop_staged
from threeml.data.summary import Checked, build_report, refused, set_aside_counts, summarise
from threeml.records.periods import parse_date
from threeml.records.schema import TABLES

__all__ = ["build_owned"]

_PROBLEM_TYPES = {name: "BIGINT" if name == "row" else "VARCHAR" for name in PROBLEM_SCHEMA.names}


def build_owned(
    backend: Any,
    present: list[str],
    *,
    source: str,
    files: Mapping[str, str],
    staged: list[Problem],
    mode: Mode,
    extract_date: Any,
    materialise: set[str],
    text_tables: set[str] | frozenset[str] = frozenset(),
    malformed: Mapping[str, int] | None = None,
    cache: ValidationCache | None = None,
) -> Checked:
    """Type, check and (in lenient mode) filter the ``raw_<table>`` relations of ``backend``.

    ``staged`` holds the problems found before the engine saw any row (missing files,
    headers) and the first few malformed CSV lines; ``malformed`` the exact number of
    malformed lines per table. Tables in ``text_tables`` hold CSV text, whose cells are
    trimmed; those in ``materialise`` are parsed into tables, the others into views.

    With a ``cache`` entry (:mod:`threeml.data.cache`) that holds a result for these files and
    options, the rows are not checked again: the report, the rows set aside and the latest
    date come from it. Otherwise the result found is stored there.
    """
    con = backend.con
    malformed = dict(malformed or {})
    window = DateWindow.for_run(extract_date)
    order = [name for name in TABLES if name in present]
    cached = cache.load(source) if cache is not None else None
    if cached is not None:
        return _from_cache(
            backend, order, cache, cached, mode, extract_date, text_tables, materialise
        )
    columns = ", ".join(f"{identifier(n)} {_PROBLEM_TYPES[n]}" for n in PROBLEM_SCHEMA.names)
    con.execute(f"CREATE OR REPLACE TABLE _problems ({columns})")
    typed_names = frozenset(order)
    clean_lists: dict[str, frozenset[str]] = {}
    for name in order:
        raw_schema = backend.get_schema(f"raw_{name}")
        references = checkable(TABLES[name], typed_names)
        if name not in materialise:  # a view over a file: typed again on every read
            clean_lists[name] = clean_code_lists(con, TABLES[name], raw_schema, f"raw_{name}")
        clean = clean_lists.get(name, frozenset())
        searched = (
            frozenset()
            if name in text_tables
            else free_of_control_characters(con, TABLES[name], raw_schema, f"raw_{name}")
        )
        cells = _TableChecks(
            name, raw_schema, name in text_tables, window, references, clean, searched
        )
        kind = "TABLE" if name in materialise else "VIEW"
        con.execute(f"CREATE OR REPLACE {kind} typed_{name} AS {_typed_sql_of(cells)}")
        # The cell checks scan the table once and keep only the failing rows, which are
        # then spread into problem rows. A file (not CSV text) is first asked, in a scan
        # that tests plain comparisons as it reads, whether every row passes: then no row
        # is flagged and the filter is not run.
        if name in text_tables or not _every_row_passes(con, cells):
            spread = functools.partial(_cell_sql, cells)
            _run_flagged(con, f"_flagged_{name}", _cells(cells)[1], spread)
    small: list[str] = []  # checks over tables held in the engine: run as one statement
    large: list[str] = []  # checks that scan a file on disk: one statement each, streamed
    together = _shared_references(order, typed_names)
    apart = frozenset(ref for refs in together for ref in refs)
    for name in order:
        if checkable(TABLES[name], typed_names):  # (its row rules ran with its cell checks)
            touched = {name, *referenced_tables(TABLES[name])}
            checked_apart = frozenset(column for table, column in apart if table == name)
            sql = _relational_sql(name, typed_names, checked_apart)
            (small if touched <= materialise else large).extend(sql)
    for refs in together:
        touched = {table for table, _ in refs} | {
            TABLES[table].column(column).references[0] for table, column in refs
        }
        (small if touched <= materialise else large).append(_together_sql(refs, typed_names))
    if small:
        union = " UNION ALL ".join(f"SELECT * FROM ({sql})" for sql in small)
        con.execute(f"INSERT INTO _problems BY NAME {union}")
    for sql in large:
        con.execute(f"INSERT INTO _problems BY NAME {sql}")
    for name in set(order) & text_tables & materialise:
        drop_staged(con, name)
    row_counts = _count_rows(con, {name: f"typed_{name}" for name in order})
    for name, n in malformed.items():
        row_counts[name] = row_counts.get(name, 0) + n
    kept = {name: f"typed_{name}" for name in order}
    set_aside: dict[tuple[str, ProblemKind], int] = {}
    if mode is Mode.LENIENT:
        kept = _set_aside(con, order)
        rows_sql = " UNION ALL ".join(
            f'SELECT {literal(name)} AS "table", row, kind FROM aside_{name}' for name in order
        )
        set_aside = set_aside_counts(con, rows_sql or None, malformed)
    counts, examples = summarise(con, "_problems", files)
    report = build_report(source, row_counts, counts, examples, staged, malformed, set_aside)
    if refused(report, staged, mode):
        if cache is not None:
            cache.store(CachedValidation(report, refused=True))
        return Checked(backend, report)
    latest = None if extract_date is not None else _latest_date(con, {n: kept[n] for n in order})
    if cache is not None:
        aside_rows = {
            name: tuple(
                (int(row), str(kind))
                for row, kind in con.execute(
                    f"SELECT row, kind FROM aside_{name} ORDER BY row, kind"
                ).fetchall()
            )
            for name in order
            if kept[name] == f"kept_{name}"
        }
        clean = {name: tuple(sorted(columns)) for name, columns in clean_lists.items() if columns}
        result = CachedValidation(report, False, latest, aside_rows, clean)
        cache.store(result)
        return _accepted(backend, report, kept, extract_date, latest, KeptValidation(cache, result))
    return _accepted(backend, report, kept, extract_date, latest)


def _accepted(
    backend: Any,
    report: Any,
    kept: dict[str, str],
    extract_date: Any,
    latest: date | None,
    kept_validation: KeptValidation | None = None,
) -> Checked:
    """The checked extract: every table of the schema (empty when absent), and its date."""
    con = backend.con
    tables: dict[str, ir.Table] = {}
    for name, spec in TABLES.items():
        if name not in kept:
            columns = ", ".join(f"{identifier(c.name)} {c.sql_type}" for c in spec.columns)
            con.execute(f"CREATE OR REPLACE TABLE empty_{name} ({columns})")
            kept[name] = f"empty_{name}"
        table = backend.table(kept[name])
        tables[name] = table.select(*spec.kept_columns(table.columns))
    final_date = parse_date(extract_date) if extract_date is not None else latest
    return Checked(backend, report, tables, final_date, kept_validation)


def _from_cache(
    backend: Any,
    order: list[str],
    cache: ValidationCache,
    cached: CachedValidation,
    mode: Mode,
    extract_date: Any,
    text_tables: set[str] | frozenset[str],
    materialise: set[str],
) -> Checked:
    """The checked extract from a cached result: typed relations, no checks.

    The rows set aside are put back as ``aside_<table>`` from the cache (through Arrow, so
    nothing of the cache file becomes SQL text) and the kept tables are views without them.
    """
    con = backend.con
    if cached.refused:
        return Checked(backend, cached.report)
    kept: dict[str, str] = {}
    for name in order:
        raw_schema = backend.get_schema(f"raw_{name}")
        clean = (
            frozenset(cached.clean_lists.get(name, ())) if name not in materialise else frozenset()
        )
        typed_sql = _typed_sql(
            name, raw_schema, name in text_tables, DateWindow.for_run(extract_date), clean
        )
        kind = "TABLE" if name in materialise else "VIEW"
        con.execute(f"CREATE OR REPLACE {kind} typed_{name} AS {typed_sql}")
        kept[name] = f"typed_{name}"
        rows = cached.set_aside_rows.get(name) if mode is Mode.LENIENT else None
        if rows:
            aside = pa.table(
                {
                    "row": pa.array([row for row, _ in rows], pa.int64()),
                    "kind": pa.array([kind for _, kind in rows], pa.string()),
                }
            )
            con.register(f"_cached_aside_{name}", aside)
            con.execute(f"CREATE OR REPLACE TABLE aside_{name} AS FROM _cached_aside_{name}")
            con.unregister(f"_cached_aside_{name}")
            con.execute(
                f"CREATE OR REPLACE VIEW kept_{name} AS SELECT t.* FROM typed_{name} t "
                f"ANTI JOIN aside_{name} a ON t.{ROW} = a.row"
            )
            kept[name] = f"kept_{name}"
    for name in set(order) & set(text_tables) & materialise:
        drop_staged(con, name)
    return _accepted(
        backend,
        cached.report,
        kept,
        extract_date,
        cached.latest_date,
        KeptValidation(cache, cached),
    )


def _sql(expr: ir.Expr) -> str:
    return str(ibis.to_sql(expr, dialect="duckdb"))


@functools.lru_cache(maxsize=512)
def _typed_sql(
    name: str, raw_schema: ibis.Schema, trim: bool, window: DateWindow, clean: frozenset[str]
) -> str:
    """SQL for ``typed_<name>`` alone (a kept validation runs no check: none is compiled)."""
    raw = ibis.table(raw_schema, name=f"raw_{name}")
    return _sql(typed_table(TABLES[name], raw, trim=trim, clean_lists=clean))


@attrs.frozen
class _TableChecks:
    """What one table's typed relation and cell checks are compiled from, and so the key of
    the compiled SQL below: ``raw_<name>`` of this schema, its cells trimmed (CSV text) or
    not, the plausible dates' window, whether its references are checked (and its row rules
    with its cells), its list columns found clean (:mod:`threeml.data.code_lists`) and its
    columns found free of control characters (:mod:`threeml.data.few_values`)."""

    name: str
    raw_schema: ibis.Schema
    trim: bool
    window: DateWindow
    references: bool
    clean: frozenset[str]
    searched: frozenset[str]


@functools.lru_cache(maxsize=512)
def _cells(key: _TableChecks) -> tuple[ir.Table, FlaggedChecks | None]:
    """The typed table and cell checks of ``raw_<name>``."""
    return cell_checks(
        TABLES[key.name],
        ibis.table(key.raw_schema, name=f"raw_{key.name}"),
        trim=key.trim,
        window=key.window,
        references_checked=key.references,
        clean_lists=key.clean,
        rules=key.references,
        searched=key.searched,
    )


@functools.lru_cache(maxsize=512)
def _typed_sql_of(key: _TableChecks) -> str:
    """SQL for ``typed_<name>`` from ``raw_<name>``."""
    return _sql(_cells(key)[0])


@functools.lru_cache(maxsize=512)
def _cell_sql(key: _TableChecks, failing: frozenset[str] | None) -> str:
    """SQL for the cell checks of ``raw_<name>``: its failing rows, flagged (``failing`` is
    ``None``), or the problem rows of the checks ``failing`` names, read from the flagged
    rows kept as ``_flagged_<name>``."""
    checks = _cells(key)[1]
    assert checks is not None
    if failing is None:
        return _sql(checks.flagged)
    kept = ibis.table(checks.flagged.schema(), name=f"_flagged_{key.name}")
    return _sql(checks.problems(kept, failing))


@functools.lru_cache(maxsize=512)
def _passing_sql(key: _TableChecks) -> str | None:
    """SQL counting the rows of ``raw_<name>`` that pass every cell check's cheap test
    (:meth:`~threeml.data.checks.FlaggedChecks.passing_rows`; ``None``: not every check
    has one, or there is no check)."""
    checks = _cells(key)[1]
    if checks is None or not checks.cheaply_tested:
        return None
    return _sql(checks.passing_rows())


def _every_row_passes(con: Any, key: _TableChecks) -> bool:
    """Whether every row of ``raw_<name>`` passes every cell check's cheap test, so that
    no row can be flagged (``False`` when not every check has a cheap test: the checks'
    filter then decides)."""
    sql = _passing_sql(key)
    if sql is None:
        return False
    total, passing = con.execute(
        f"SELECT (SELECT count(*) FROM raw_{key.name}), ({sql})"
    ).fetchone()
    return bool(total == passing)


def _run_flagged(
    con: Any,
    relation: str,
    checks: FlaggedChecks | None,
    sql: Callable[[frozenset[str] | None], str],
) -> None:
    """Run flagged checks: keep the failing rows as ``relation`` (one scan of the table),
    then add the problem rows of the checks some row failed to ``_problems``.

    The problem rows are compiled only for the checks that failed: on a clean extract,
    nothing but the one filter per table is compiled and run.
    """
    if checks is None:
        return
    con.execute(f"CREATE OR REPLACE TEMP TABLE {relation} AS {sql(None)}")
    hits = ", ".join(f"bool_or({identifier(flag)})" for flag in checks.flag_names)
    found = con.execute(f"SELECT {hits} FROM {relation}").fetchone()
    failing = frozenset(flag for flag, hit in zip(checks.flag_names, found, strict=True) if hit)
    if failing:
        con.execute(f"INSERT INTO _problems BY NAME {sql(failing)}")
    con.execute(f"DROP TABLE {relation}")


@functools.lru_cache(maxsize=512)
def _relational_sql(
    name: str, present: frozenset[str], checked_apart: frozenset[str] = frozenset()
) -> tuple[str, ...]:
    """SQL for the relational problems of ``typed_<name>``, given the typed tables present,
    but for the plain references of the columns ``checked_apart`` (see
    :func:`_shared_references`)."""
    tables = {n: ibis.table(typed_schema(TABLES[n]), name=f"typed_{n}") for n in present}
    checks = relational_checks(TABLES[name], tables[name], tables, checked_apart=checked_apart)
    return tuple(_sql(e) for e in checks)


def _shared_references(
    order: list[str], present: frozenset[str]
) -> list[tuple[tuple[str, str], ...]]:
    """The plain references of the checked tables, grouped by the key they name, for the
    keys named by more than one (the users' ids, named by the enrolments, the outcomes
    and the allocations): each group is checked by one anti-join (:func:`_together_sql`),
    which reads and hashes the key's table once."""
    by_key: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for name in order:
        spec = TABLES[name]
        if not checkable(spec, present):
            continue
        for column in plain_references(spec):
            by_key.setdefault(spec.column(column).references, []).append((name, column))
    return [tuple(refs) for refs in by_key.values() if len(refs) > 1]


@functools.lru_cache(maxsize=512)
def _together_sql(refs: tuple[tuple[str, str], ...], present: frozenset[str]) -> str:
    """SQL for the problems of the plain references ``refs`` ((table, column) pairs naming
    one key), found by one anti-join (:func:`~threeml.data.checks.references_together`)."""
    tables = {n: ibis.table(typed_schema(TABLES[n]), name=f"typed_{n}") for n in present}
    parts = [(TABLES[table], column, tables[table]) for table, column in refs]
    return _sql(references_together(parts, tables))


@functools.lru_cache(maxsize=512)
def _set_aside_sql(name: str, gone: frozenset[str]) -> str:
    """SQL for the rows of ``typed_<name>`` to set aside, given the tables with rows set aside.

    The rule is :func:`threeml.data.rules.set_aside_parts`, over ``_problems``,
    ``typed_<table>``, ``aside_<table>`` and ``kept_<table>``.
    """
    typed = {n: ibis.table(typed_schema(TABLES[n]), name=f"typed_{n}") for n in {name, *gone}}
    aside = {n: ibis.table(ibis.Schema.from_pyarrow(ASIDE_SCHEMA), name=f"aside_{n}") for n in gone}
    kept = {n: ibis.table(typed_schema(TABLES[n]), name=f"kept_{n}") for n in gone}
    problems = ibis.table(PROBLEM_SCHEMA, name="_problems")
    parts = set_aside_parts(name, problems, typed, aside, kept)
    return " UNION ALL ".join(f"SELECT * FROM ({_sql(part)})" for part in parts)


def _set_aside(con: Any, order: list[str]) -> dict[str, str]:
    """Set aside the rows the rule names, table by table; the relation holding each kept table.

    Stores the rows set aside (they are few) as ``aside_<table>`` (``row``, ``kind``); a
    kept table is a view of the typed table without them, so that large files stay on
    disk, or the typed table itself when nothing was set aside.
    """
    kept: dict[str, str] = {}
    gone: set[str] = set()
    for name in order:
        referenced = {c.references[0] for c in TABLES[name].columns if c.references}
        sql = _set_aside_sql(name, frozenset(gone & referenced))
        con.execute(f"CREATE OR REPLACE TABLE aside_{name} AS {sql}")
        if con.execute(f"SELECT count(*) FROM aside_{name}").fetchone()[0] == 0:
            kept[name] = f"typed_{name}"
            continue
        con.execute(
            f"CREATE OR REPLACE VIEW kept_{name} AS SELECT t.* FROM typed_{name} t "
            f"ANTI JOIN aside_{name} a ON t.{ROW} = a.row"
        )
        kept[name] = f"kept_{name}"
        gone.add(name)
    return kept


def _count_rows(con: Any, relations: Mapping[str, str]) -> dict[str, int]:
    if not relations:
        return {}
    sql = ", ".join(
        f"(SELECT count(*) FROM {rel}) AS {identifier(name)}" for name, rel in relations.items()
    )
    values = con.execute(f"SELECT {sql}").fetchone()
    return {name: int(n) for name, n in zip(relations, values, strict=True)}


def _latest_date(con: Any, relations: Mapping[str, str]) -> date | None:
    """The latest event date (:func:`threeml.data.rules.event_dates`) in the kept relations."""
    maxima = [
        f"(SELECT max({identifier(column)}) FROM {relations[name]})"
        for name, columns in event_dates(relations).items()
        for column in columns
    ]
    if not maxima:
        return None
    return con.execute(f"SELECT greatest({', '.join(maxima)})").fetchone()[0]
