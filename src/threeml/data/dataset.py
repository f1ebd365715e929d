"""A :class:`Dataset`: the validated tables of one extract, held by an engine.

Files are read by DuckDB (through ibis) without building a Python object per
row; every table is validated on the way in (see :mod:`threeml.data.checks`).
In strict mode, the default, a dataset with errors is refused with
:class:`InvalidDataset`; in lenient mode the bad rows are set aside and the
dataset's report says how many rows of which table were left out and why.

Extracts loaded from files or Arrow live in an embedded DuckDB that threeml owns.
There every step is a named relation — ``raw_<table>`` (the file as read),
``typed_<table>`` (parsed; a table for CSV, a view over a Parquet file), ``_problems``,
``aside_<table>`` and ``kept_<table>`` — and the checks, written once as ibis
expressions over those names, are compiled to SQL once per process and reused, so
loading a small extract costs milliseconds of planning rather than seconds. A
connection threeml does not own is checked with the same expressions bound to it.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Mapping
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

import attrs
import duckdb
import ibis
import ibis.common.exceptions as com
import ibis.expr.types as ir
import pyarrow as pa
from attrs import frozen

from threeml.data import engine
from threeml.data.checks import (
    PROBLEM_SCHEMA,
    ROW,
    parse_table,
    relational_checks,
    typed_schema,
)
from threeml.data.files import SourceFile, check_header, find_tables, read_header
from threeml.data.report import Problem, ProblemKind, Severity, ValidationReport
from threeml.data.staging import drop_staged, extra_fields, select_list, stage_file
from threeml.errors import DataError
from threeml.records.periods import parse_date
from threeml.records.schema import TABLES, ColumnType, Table

__all__ = ["Dataset", "InvalidDataset", "Mode", "validate_folder"]

#: How many example problems of each kind and table a report keeps.
EXAMPLES_PER_KIND = 20

_KIND_ORDER = list(ProblemKind)


class Mode(StrEnum):
    """What to do with rows that fail validation."""

    STRICT = "strict"
    LENIENT = "lenient"


class InvalidDataset(DataError):
    """Raised in strict mode when an extract has errors; holds the full report."""

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        kinds = sorted(
            {
                kind.value
                for (_, kind), n in report.counts.items()
                if n and kind.severity is Severity.ERROR
            }
        )
        first = next((p for p in report.examples if p.severity is Severity.ERROR), None)
        example = f" First: {first.location()}: {first.message}." if first else ""
        super().__init__(
            f"{report.source} has {report.errors} error(s) ({', '.join(kinds)}).{example} "
            f"Run `threeml validate {report.source}` for the full list, or load it in lenient "
            "mode to set the bad rows aside."
        )


@frozen
class Dataset:
    """The validated tables of one extract, as ibis tables on one engine.

    ``tables`` maps every table name of :data:`threeml.records.schema.TABLES` to an ibis
    table with exactly the schema's columns (optional tables may be empty).
    ``extract_date`` is the last day the data covers: given by the user, else
    the latest event date present. ``report`` is the validation report.
    """

    backend: Any = attrs.field(repr=False)
    tables: Mapping[str, ir.Table] = attrs.field(repr=False)
    extract_date: date | None
    report: ValidationReport = attrs.field(repr=False)
    source: str

    def table(self, name: str) -> ir.Table:
        """The ibis table called ``name``."""
        try:
            return self.tables[name]
        except KeyError:
            raise KeyError(f"no table {name!r}; tables are {', '.join(self.tables)}") from None

    def count_rows(self) -> dict[str, int]:
        """Rows per table, after validation (set-aside rows excluded)."""
        counts = [
            table.aggregate(n=table.count()).mutate(name=ibis.literal(name, type="string"))
            for name, table in self.tables.items()
        ]
        rows = ibis.union(*counts, distinct=False).to_pyarrow().to_pylist()
        found = {row["name"]: int(row["n"]) for row in rows}
        return {name: found[name] for name in self.tables}

    @classmethod
    def from_folder(
        cls,
        folder: str | Path,
        *,
        extract_date: date | str | None = None,
        mode: Mode | str = Mode.STRICT,
    ) -> Dataset:
        """Load and validate a folder of ``<table>.csv`` / ``<table>.parquet`` files."""
        return _load_folder(Path(folder), extract_date, Mode(mode), raise_on_error=True)[0]

    @classmethod
    def from_arrow(
        cls,
        tables: Mapping[str, pa.Table],
        *,
        extract_date: date | str | None = None,
        mode: Mode | str = Mode.STRICT,
        source: str = "arrow tables",
    ) -> Dataset:
        """Load and validate in-memory Arrow tables, keyed by table name.

        A required table that is not given is an error, as is a table without one of its
        required columns; columns the schema does not know are ignored with a warning.
        """
        _check_names(tables)
        backend = engine.connect()
        present: list[str] = []
        staged: list[Problem] = []
        for name, spec in TABLES.items():
            if name not in tables:
                if spec.required:
                    staged.append(
                        Problem(
                            name,
                            ProblemKind.MISSING_TABLE,
                            message=f"required table {name} was not given",
                        )
                    )
                continue
            data = tables[name]
            staged.extend(
                check_header(SourceFile(name, Path(name), "arrow"), spec, data.column_names)
            )
            _register_arrow(backend, spec, data)
            present.append(name)
        return _build_owned(
            backend,
            present,
            source=source,
            files={},
            staged=staged,
            mode=Mode(mode),
            extract_date=extract_date,
            materialise=set(present),
            raise_on_error=True,
        )[0]

    @classmethod
    def from_records(
        cls,
        *,
        users: Iterable[Any] = (),
        services: Iterable[Any] = (),
        enrolments: Iterable[Any] = (),
        contacts: Iterable[Any] = (),
        outcomes: Iterable[Any] = (),
        allocations: Iterable[Any] = (),
        targets: Iterable[Any] = (),
        extract_date: date | str | None = None,
        mode: Mode | str = Mode.STRICT,
    ) -> Dataset:
        """Build a dataset from record objects (:class:`threeml.User` and friends)."""
        given = {
            "users": users,
            "services": services,
            "enrolments": enrolments,
            "contacts": contacts,
            "outcomes": outcomes,
            "allocations": allocations,
            "targets": targets,
        }
        arrow = {name: records_to_arrow(TABLES[name], rows) for name, rows in given.items()}
        return cls.from_arrow(arrow, extract_date=extract_date, mode=mode, source="records")

    @classmethod
    def from_connection(
        cls,
        backend: Any,
        *,
        names: Mapping[str, str] | None = None,
        extract_date: date | str | None = None,
        mode: Mode | str = Mode.STRICT,
        source: str | None = None,
    ) -> Dataset:
        """Use the tables of an existing ibis connection (any backend ibis supports).

        ``names`` maps threeml table names to the connection's table names when they
        differ. Rows are numbered in the order the backend returns them. Validation runs
        on the connection; a backend that cannot run it (SQLite has no arrays, no
        ``TRY_CAST``) has its tables copied into an embedded DuckDB through Arrow instead.
        """
        names = dict(names or {})
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
            staged.extend(
                check_header(SourceFile(name, Path(actual), "database"), spec, table.columns)
            )
            found[name] = table
        common = {
            "source": source or repr(backend.name),
            "staged": staged,
            "mode": Mode(mode),
            "extract_date": extract_date,
        }
        raw = {
            name: _complete(TABLES[name], table.mutate(**{ROW: ibis.row_number() + 1}))
            for name, table in found.items()
        }
        try:
            return _build_foreign(backend, raw, **common)
        except _UNSUPPORTED:
            pass
        local = engine.connect()
        for name, table in found.items():
            _register_arrow(local, TABLES[name], table.to_pyarrow())
        return _build_owned(
            local,
            list(found),
            files={},
            materialise=set(found),
            raise_on_error=True,
            **common,
        )[0]

    @classmethod
    def from_duckdb(
        cls,
        path: str | Path,
        *,
        extract_date: date | str | None = None,
        mode: Mode | str = Mode.STRICT,
    ) -> Dataset:
        """Use the tables of a DuckDB database file (opened read-only)."""
        path = Path(path)
        if not path.exists():
            raise DataError(f"no DuckDB database at {path}")
        backend = engine.connect(str(path), read_only=True)
        return cls.from_connection(backend, extract_date=extract_date, mode=mode, source=str(path))


def validate_folder(folder: str | Path, *, mode: Mode | str = Mode.STRICT) -> ValidationReport:
    """Validate a dataset folder and return the report, whatever it finds."""
    return _load_folder(Path(folder), None, Mode(mode), raise_on_error=False)[1]


def records_to_arrow(spec: Table, rows: Iterable[Any]) -> pa.Table:
    """Arrow columns for a table from its records (attribute values, enums as codes)."""
    rows = list(rows)
    for row in rows:
        if not isinstance(row, spec.record):
            raise TypeError(
                f"table {spec.name} takes {spec.record.__name__} records, got {type(row).__name__}"
            )
    columns = {}
    for col in spec.columns:
        values = [getattr(row, col.name) for row in rows]
        if col.type is ColumnType.CODE:
            values = [
                None if v is None else str(v.value if hasattr(v, "value") else v) for v in values
            ]
        elif col.type is ColumnType.CODE_LIST:
            values = [list(v) for v in values]
        columns[col.name] = pa.array(values, type=col.arrow_type)
    return pa.table(columns, schema=spec.arrow_schema())


#: What ibis raises when a backend cannot compile an operation the checks use.
_UNSUPPORTED = (
    com.OperationNotDefinedError,
    com.UnsupportedBackendType,
    com.UnsupportedOperationError,
)


def _register_arrow(backend: Any, spec: Table, data: pa.Table) -> None:
    """``data`` as raw relation ``raw_<table>`` of ``backend``, rows numbered from 1."""
    relation = f"raw_{spec.name}"
    numbered = data.append_column(ROW, pa.array(range(1, data.num_rows + 1), pa.int64()))
    backend.con.register(f"{relation}_arrow", numbered)
    columns = select_list(spec, list(data.column_names))
    backend.con.execute(
        f"CREATE OR REPLACE VIEW {relation} AS SELECT {ROW}, {columns} FROM {relation}_arrow"
    )


def _check_names(tables: Mapping[str, Any]) -> None:
    unknown = sorted(set(tables) - set(TABLES))
    if unknown:
        raise DataError(f"unknown table(s) {', '.join(unknown)}; tables are {', '.join(TABLES)}")


def _complete(spec: Table, raw: ir.Table) -> ir.Table:
    """``raw`` with ``_row`` and every schema column, absent optional columns as NULL."""
    present = set(raw.columns)
    return raw.select(
        raw[ROW],
        *[
            raw[col.name] if col.name in present else ibis.null("string").name(col.name)
            for col in spec.columns
        ],
    )


def _load_folder(
    folder: Path, extract_date: Any, mode: Mode, *, raise_on_error: bool
) -> tuple[Dataset | None, ValidationReport]:
    if not folder.exists():
        raise DataError(f"no data folder at {folder}")
    if not folder.is_dir():
        raise DataError(
            f"{folder} is not a folder; point threeml at the folder holding users.csv …"
        )
    sources, staged = find_tables(folder)
    backend = engine.connect()
    present: list[str] = []
    files: dict[str, str] = {}
    text_tables: set[str] = set()
    malformed: dict[str, int] = {}
    for name, source in sources.items():
        spec = TABLES[name]
        files[name] = source.name
        try:
            header = read_header(source)
        except (OSError, pa.ArrowException) as error:
            staged.append(
                Problem(
                    name,
                    ProblemKind.UNREADABLE_FILE,
                    file=source.name,
                    message=f"cannot read {source.name}: {error}",
                )
            )
            continue
        if header is None:
            columns = ", ".join(spec.column_names)
            staged.append(
                Problem(
                    name,
                    ProblemKind.EMPTY_FILE,
                    file=source.name,
                    row=1,
                    message=f"{source.name} is empty; it needs at least a header row: {columns}",
                )
            )
            continue
        header_problems = check_header(source, spec, header)
        staged.extend(header_problems)
        if any(p.severity is Severity.ERROR for p in header_problems):
            continue
        misaligned = extra_fields(backend.con, source, spec, header)
        if misaligned is not None:
            staged.append(misaligned)
            continue
        try:
            result = stage_file(backend.con, source, spec, header, examples=EXAMPLES_PER_KIND)
        except duckdb.Error as error:
            staged.append(
                Problem(
                    name,
                    ProblemKind.UNREADABLE_FILE,
                    file=source.name,
                    message=f"cannot read {source.name}: {error}",
                )
            )
            continue
        staged.extend(result.problems)
        if result.malformed_rows:
            malformed[name] = result.malformed_rows
        if source.format == "csv":
            text_tables.add(name)
        present.append(name)
    return _build_owned(
        backend,
        present,
        source=str(folder),
        files=files,
        staged=staged,
        mode=mode,
        extract_date=extract_date,
        # CSV text is parsed once into a table; Parquet files stay on disk behind views.
        materialise=text_tables,
        text_tables=text_tables,
        malformed=malformed,
        raise_on_error=raise_on_error,
    )


# --- the owned engine: named relations and cached SQL -------------------------------------


def _sql(expr: ir.Expr) -> str:
    return str(ibis.to_sql(expr, dialect="duckdb"))


@functools.lru_cache(maxsize=512)
def _parse_sql(name: str, raw_schema: ibis.Schema, trim: bool) -> tuple[str, tuple[str, ...]]:
    """SQL for ``typed_<name>`` and for its cell problems, from ``raw_<name>`` of this schema."""
    typed, problems = parse_table(
        TABLES[name], ibis.table(raw_schema, name=f"raw_{name}"), trim=trim
    )
    return _sql(typed), tuple(_sql(problem) for problem in problems)


@functools.lru_cache(maxsize=512)
def _relational_sql(name: str, present: frozenset[str]) -> tuple[str, ...]:
    """SQL for the relational problems of ``typed_<name>``, given the typed tables present."""
    tables = {n: ibis.table(typed_schema(TABLES[n]), name=f"typed_{n}") for n in present}
    return tuple(_sql(e) for e in relational_checks(TABLES[name], tables[name], tables))


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


_PROBLEM_TYPES = {name: "BIGINT" if name == "row" else "VARCHAR" for name in PROBLEM_SCHEMA.names}
_ERROR_KINDS = ", ".join(_text(k.value) for k in ProblemKind if k.severity is Severity.ERROR)


def _build_owned(
    backend: Any,
    present: list[str],
    *,
    source: str,
    files: Mapping[str, str],
    staged: list[Problem],
    mode: Mode,
    extract_date: Any,
    materialise: set[str],
    raise_on_error: bool,
    text_tables: set[str] | frozenset[str] = frozenset(),
    malformed: Mapping[str, int] | None = None,
) -> tuple[Dataset | None, ValidationReport]:
    """Type, check and (in lenient mode) filter the ``raw_<table>`` relations of ``backend``.

    ``staged`` holds the problems found before the engine saw any row (missing files,
    headers) and the first few malformed CSV lines; ``malformed`` the exact number of
    malformed lines per table. Tables in ``text_tables`` hold CSV text, whose cells are
    trimmed; those in ``materialise`` are parsed into tables, the others into views.
    """
    con = backend.con
    malformed = dict(malformed or {})
    order = [name for name in TABLES if name in present]
    columns = ", ".join(f"{_q(n)} {_PROBLEM_TYPES[n]}" for n in PROBLEM_SCHEMA.names)
    con.execute(f"CREATE OR REPLACE TABLE _problems ({columns})")
    small: list[str] = []  # checks over tables held in the engine: run as one statement
    large: list[str] = []  # checks that scan a file on disk: one statement each, streamed
    for name in order:
        raw_schema = backend.get_schema(f"raw_{name}")
        typed_sql, problems_sql = _parse_sql(name, raw_schema, name in text_tables)
        kind = "TABLE" if name in materialise else "VIEW"
        con.execute(f"CREATE OR REPLACE {kind} typed_{name} AS {typed_sql}")
        # A cell check scans its table once and keeps only the failing rows.
        (small if name in materialise else large).extend(problems_sql)
    typed_names = frozenset(order)
    for name in order:
        if all(_refs_present(TABLES[name], typed_names)):
            touched = {name, *_referenced_tables(TABLES[name])}
            (small if touched <= materialise else large).extend(_relational_sql(name, typed_names))
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
        kept = _set_aside_sql(con, order)
        set_aside = _set_aside_counts(
            con,
            " UNION ALL ".join(
                f'SELECT {_text(name)} AS "table", row, kind FROM aside_{name}' for name in order
            )
            or None,
            malformed,
        )
    counts, examples = _summarise(con, "_problems", files)
    report = _report(source, row_counts, counts, examples, staged, malformed, set_aside)
    if _refused(report, staged, mode):
        if raise_on_error:
            raise InvalidDataset(report)
        return None, report
    tables: dict[str, ir.Table] = {}
    for name, spec in TABLES.items():
        if name not in kept:
            columns = ", ".join(f"{_q(c.name)} {c.sql_type}" for c in spec.columns)
            con.execute(f"CREATE OR REPLACE TABLE empty_{name} ({columns})")
            kept[name] = f"empty_{name}"
        tables[name] = backend.table(kept[name]).select(*spec.column_names)
    if extract_date is not None:
        final_date = parse_date(extract_date)
    else:
        final_date = _latest_date_sql(con, {name: kept[name] for name in order})
    dataset = Dataset(
        backend=backend, tables=tables, extract_date=final_date, report=report, source=source
    )
    return dataset, report


def _set_aside_sql(con: Any, order: list[str]) -> dict[str, str]:
    """Leave out the rows with errors, then the rows that refer to a row left out, table by table.

    Stores the rows set aside (they are few) as ``aside_<table>`` (``row``, ``kind``) and
    returns the relation holding each kept table: a view of the typed table without them,
    so that large files stay on disk. A row refers to a row set aside when its reference
    names a key that only rows set aside hold (the first row of a duplicated id is kept).
    """
    cascade = _text(ProblemKind.REFERS_TO_SET_ASIDE.value)
    kept: dict[str, str] = {}
    for name in order:
        parts = [
            f'SELECT row, kind FROM _problems WHERE "table" = {_text(name)} '
            f"AND kind IN ({_ERROR_KINDS})"
        ]
        for col in TABLES[name].columns:
            if not col.references or col.references[0] not in kept:
                continue
            other, key = col.references
            parts.append(
                f"SELECT t.{ROW} AS row, {cascade} AS kind FROM typed_{name} t SEMI JOIN ("
                f"SELECT g._key FROM (SELECT o.{_q(key)} AS _key FROM typed_{other} o "
                f"SEMI JOIN aside_{other} a ON o.{ROW} = a.row) g "
                f"ANTI JOIN {kept[other]} k ON g._key = k.{_q(key)}"
                f") gone ON t.{_q(col.name)} = gone._key"
            )
        con.execute(f"CREATE OR REPLACE TABLE aside_{name} AS {' UNION ALL '.join(parts)}")
        if con.execute(f"SELECT count(*) FROM aside_{name}").fetchone()[0] == 0:
            kept[name] = f"typed_{name}"
            continue
        con.execute(
            f"CREATE OR REPLACE VIEW kept_{name} AS SELECT t.* FROM typed_{name} t "
            f"ANTI JOIN aside_{name} a ON t.{ROW} = a.row"
        )
        kept[name] = f"kept_{name}"
    return kept


def _count_rows(con: Any, relations: Mapping[str, str]) -> dict[str, int]:
    if not relations:
        return {}
    sql = ", ".join(
        f"(SELECT count(*) FROM {rel}) AS {_q(name)}" for name, rel in relations.items()
    )
    values = con.execute(f"SELECT {sql}").fetchone()
    return {name: int(n) for name, n in zip(relations, values, strict=True)}


def _latest_date_sql(con: Any, relations: Mapping[str, str]) -> date | None:
    """The latest event date in the data (targets' due dates are plans, not events)."""
    maxima = [
        f"(SELECT max({_q(col.name)}) FROM {rel})"
        for name, rel in relations.items()
        if name != "targets"
        for col in TABLES[name].columns
        if col.type is ColumnType.DATE
    ]
    if not maxima:
        return None
    return con.execute(f"SELECT greatest({', '.join(maxima)})").fetchone()[0]


# --- a connection threeml does not own ----------------------------------------------------


def _build_foreign(
    backend: Any,
    raw: Mapping[str, ir.Table],
    *,
    source: str,
    staged: list[Problem],
    mode: Mode,
    extract_date: Any,
) -> Dataset:
    """Check the tables of a connection threeml does not own, with expressions bound to it.

    Nothing is written to the connection: the problem rows (few) are fetched as Arrow and
    summarised locally, and the kept tables are expressions over the connection's tables.
    """
    typed: dict[str, ir.Table] = {}
    queries: list[ir.Table] = []
    for name, spec in TABLES.items():
        if name in raw:
            typed[name], problems = parse_table(spec, raw[name], trim=False)
            queries.extend(problems)
    for name, spec in TABLES.items():
        if name in typed and all(_refs_present(spec, frozenset(typed))):
            queries.extend(relational_checks(spec, typed[name], typed))
    empty = pa.table({n: pa.array([], t.to_pyarrow()) for n, t in PROBLEM_SCHEMA.items()})
    found = pa.concat_tables([empty, *(q.to_pyarrow().cast(empty.schema) for q in queries)])
    local = duckdb.connect()
    local.register("_problems", found)
    row_counts = {name: int(t.count().execute()) for name, t in typed.items()}
    kept = dict(typed)
    set_aside: dict[tuple[str, ProblemKind], int] = {}
    if mode is Mode.LENIENT:
        kept, rows = _set_aside_foreign(typed, ibis.memtable(found))
        local.register("_aside", rows)
        set_aside = _set_aside_counts(local, "SELECT * FROM _aside", {})
    counts, examples = _summarise(local, "_problems", {})
    report = _report(source, row_counts, counts, examples, staged, {}, set_aside)
    if _refused(report, staged, mode):
        raise InvalidDataset(report)
    tables = {}
    for name, spec in TABLES.items():
        table = kept.get(name)
        if table is None:
            table = ibis.memtable(spec.arrow_schema().empty_table())
        tables[name] = table.select(*spec.column_names)
    final_date = parse_date(extract_date) if extract_date is not None else _latest_date(tables)
    return Dataset(
        backend=backend, tables=tables, extract_date=final_date, report=report, source=source
    )


def _set_aside_foreign(
    typed: Mapping[str, ir.Table], problems: ir.Table
) -> tuple[dict[str, ir.Table], pa.Table]:
    """:func:`_set_aside_sql` as ibis expressions over a connection threeml does not own.

    The rows set aside are fetched table by table (they are few), so that each kept table
    is its typed table without a short list of rows, not a chain of joins to recompute.
    """
    errors = [k.value for k in ProblemKind if k.severity is Severity.ERROR]
    bad = problems.filter(problems.kind.isin(errors))
    cascade = ibis.literal(ProblemKind.REFERS_TO_SET_ASIDE.value, type="string")
    kept: dict[str, ir.Table] = {}
    aside: dict[str, ir.Table] = {}
    parts: list[pa.Table] = []
    for name, spec in TABLES.items():
        if name not in typed:
            continue
        table = typed[name]
        mine = bad.filter(bad.table == name)
        rows = [mine.select(row=mine.row, kind=mine.kind)]
        for col in spec.columns:
            if not col.references or col.references[0] not in kept:
                continue
            other_name, other_key = col.references
            other, gone = typed[other_name], aside[other_name]
            gone_keys = other.semi_join(gone, other[ROW] == gone.row).select(_key=other[other_key])
            still = kept[other_name].view()
            gone_keys = gone_keys.anti_join(still, gone_keys._key == still[other_key])
            orphans = table.filter(table[col.name].notnull()).semi_join(
                gone_keys, table[col.name] == gone_keys._key
            )
            rows.append(orphans.select(row=orphans[ROW].cast("int64"), kind=cascade))
        fetched = pa.concat_tables(
            [
                part.to_pyarrow().cast(pa.schema([("row", pa.int64()), ("kind", pa.string())]))
                for part in rows
            ]
        )
        aside[name] = ibis.memtable(fetched)
        kept[name] = table.anti_join(aside[name], table[ROW] == aside[name].row)
        parts.append(
            fetched.append_column("table", pa.array([name] * fetched.num_rows, pa.string()))
        )
    return kept, pa.concat_tables(parts) if parts else pa.table(
        {
            "row": pa.array([], pa.int64()),
            "kind": pa.array([], pa.string()),
            "table": pa.array([], pa.string()),
        }
    )


def _latest_date(tables: Mapping[str, ir.Table]) -> date | None:
    """:func:`_latest_date_sql` for tables on a connection threeml does not own."""
    latest: list[date] = []
    for name, table in tables.items():
        if name == "targets":
            continue
        columns = [col.name for col in TABLES[name].columns if col.type is ColumnType.DATE]
        if not columns:
            continue
        maxima = table.aggregate(**{c: table[c].max() for c in columns}).to_pyarrow()
        latest.extend(v for v in maxima.to_pylist()[0].values() if v is not None)
    return max(latest) if latest else None


# --- the report -------------------------------------------------------------------------------


def _referenced_tables(spec: Table) -> set[str]:
    tables = {col.references[0] for col in spec.columns if col.references}
    return tables | {rule.table for rule in spec.rules if hasattr(rule, "table")}


def _refs_present(spec: Table, present: frozenset[str]) -> Iterable[bool]:
    for col in spec.columns:
        if col.references:
            yield col.references[0] in present
    for rule in spec.rules:
        if hasattr(rule, "table"):
            yield rule.table in present


def _summarise(
    con: Any, relation: str, files: Mapping[str, str]
) -> tuple[dict[tuple[str, ProblemKind], int], list[Problem]]:
    """Problem counts per table and kind, and the first few problems of each as examples."""
    grouped = con.execute(f'SELECT "table", kind, count(*) FROM {relation} GROUP BY ALL').fetchall()
    counts = {(table, ProblemKind(kind)): int(n) for table, kind, n in grouped}
    sample = con.execute(
        f'SELECT "table", kind, message, row, "column", value FROM ('
        f'SELECT *, row_number() OVER (PARTITION BY "table", kind ORDER BY row, "column") AS _rank '
        f"FROM {relation}) WHERE _rank <= {EXAMPLES_PER_KIND} "
        'ORDER BY "table", kind, row, "column"'
    ).fetchall()
    examples = [
        Problem(
            table=table,
            kind=ProblemKind(kind),
            message=message,
            file=files.get(table),
            row=row,
            column=column,
            value=value,
        )
        for table, kind, message, row, column, value in sample
    ]
    return counts, examples


def _set_aside_counts(
    con: Any, rows_sql: str | None, malformed: Mapping[str, int]
) -> dict[tuple[str, ProblemKind], int]:
    """Rows set aside per table, each counted once under the first kind of problem it has.

    ``rows_sql`` selects the rows set aside as ``(table, row, kind)``.
    """
    result: dict[tuple[str, ProblemKind], int] = {}
    if rows_sql:
        order = " ".join(f"WHEN {_text(k.value)} THEN {i}" for i, k in enumerate(_KIND_ORDER))
        counted = con.execute(
            f'SELECT "table", first, count(*) FROM (SELECT "table", row, '
            f"min(CASE kind {order} ELSE 999 END) AS first FROM ({rows_sql}) GROUP BY ALL) "
            "GROUP BY ALL"
        ).fetchall()
        result = {(table, _KIND_ORDER[first]): int(n) for table, first, n in counted}
    for name, n in malformed.items():
        result[(name, ProblemKind.MALFORMED_ROW)] = n
    return result


def _report(
    source: str,
    row_counts: dict[str, int],
    counts: dict[tuple[str, ProblemKind], int],
    examples: list[Problem],
    staged: list[Problem],
    malformed: Mapping[str, int],
    set_aside: dict[tuple[str, ProblemKind], int],
) -> ValidationReport:
    for problem in staged:
        if problem.kind is not ProblemKind.MALFORMED_ROW:
            key = (problem.table, problem.kind)
            counts[key] = counts.get(key, 0) + 1
    for name, n in malformed.items():
        counts[(name, ProblemKind.MALFORMED_ROW)] = n
    staged_examples = [
        p
        for _, group in itertools.groupby(
            sorted(staged, key=lambda p: (p.table, _KIND_ORDER.index(p.kind))),
            key=lambda p: (p.table, p.kind),
        )
        for p in list(group)[:EXAMPLES_PER_KIND]
    ]
    return ValidationReport(
        source=source,
        rows=row_counts,
        counts=counts,
        examples=tuple(sorted(staged_examples + examples, key=_example_order)),
        set_aside=set_aside,
    )


def _refused(report: ValidationReport, staged: list[Problem], mode: Mode) -> bool:
    """Whether the dataset cannot be used: a structural error, or any error in strict mode."""
    structural = any(
        p.severity is Severity.ERROR for p in staged if p.kind is not ProblemKind.MALFORMED_ROW
    )
    return structural or (mode is Mode.STRICT and not report.ok)


def _example_order(problem: Problem) -> tuple[Any, ...]:
    table_order = list(TABLES).index(problem.table) if problem.table in TABLES else -1
    return (table_order, problem.row or 0, problem.column or "", _KIND_ORDER.index(problem.kind))
