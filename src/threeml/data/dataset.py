"""A :class:`Dataset`: the validated tables of one extract, held by an engine.

Files are read by DuckDB (through ibis) without building a Python object per
row; every table is validated on the way in (see :mod:`threeml.data.checks`).
In strict mode, the default, a dataset with errors is refused with
:class:`InvalidDataset`; in lenient mode the bad rows are set aside and the
dataset's report says how many rows of which table were left out and why.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

import attrs
import duckdb
import ibis
import ibis.expr.types as ir
import pyarrow as pa
from attrs import frozen

from threeml.data.checks import PROBLEM_SCHEMA, ROW, parse_table, relational_checks
from threeml.data.files import SourceFile, check_header, find_tables, read_header
from threeml.data.report import Problem, ProblemKind, Severity, ValidationReport
from threeml.data.staging import stage_file
from threeml.errors import DataError
from threeml.periods import parse_date
from threeml.schema import TABLES, ColumnType, Table

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

    ``tables`` maps every table name of :data:`threeml.schema.TABLES` to an ibis
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
        return {name: int(t.count().execute()) for name, t in self.tables.items()}

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
        """Load and validate in-memory Arrow tables, keyed by table name."""
        _check_names(tables)
        backend = ibis.duckdb.connect()
        raw = {}
        for name, data in tables.items():
            relation = f"raw_{name}"
            numbered = data.append_column(ROW, pa.array(range(1, data.num_rows + 1), pa.int64()))
            backend.con.register(f"{relation}_arrow", numbered)
            backend.con.execute(
                f"CREATE OR REPLACE VIEW {relation} AS SELECT * FROM {relation}_arrow"
            )
            raw[name] = _complete(backend, TABLES[name], backend.table(relation))
        return _build(
            backend,
            raw,
            source=source,
            files={},
            staged=[],
            mode=Mode(mode),
            extract_date=extract_date,
            materialise=True,
            raise_on_error=True,
        )

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
        differ. Rows are numbered in the order the backend returns them.
        """
        names = dict(names or {})
        available = set(backend.list_tables())
        raw: dict[str, ir.Table] = {}
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
            table = table.mutate(**{ROW: ibis.row_number() + 1})
            raw[name] = _complete(backend, spec, table)
        return _build(
            backend,
            raw,
            source=source or repr(backend.name),
            files={},
            staged=staged,
            mode=Mode(mode),
            extract_date=extract_date,
            materialise=False,
            raise_on_error=True,
        )

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
        backend = ibis.duckdb.connect(str(path), read_only=True)
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


def _check_names(tables: Mapping[str, Any]) -> None:
    unknown = sorted(set(tables) - set(TABLES))
    if unknown:
        raise DataError(f"unknown table(s) {', '.join(unknown)}; tables are {', '.join(TABLES)}")


def _complete(backend: Any, spec: Table, raw: ir.Table) -> ir.Table:
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
    backend = ibis.duckdb.connect()
    raw: dict[str, ir.Table] = {}
    files: dict[str, str] = {}
    materialise: set[str] = set()
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
        try:
            result = stage_file(backend.con, source, spec, header)
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
        if source.format == "csv":
            materialise.add(name)
        raw[name] = backend.table(result.relation)
    return _build_with_report(
        backend,
        raw,
        source=str(folder),
        files=files,
        staged=staged,
        mode=mode,
        extract_date=extract_date,
        materialise=materialise,
        raise_on_error=raise_on_error,
    )


def _build(backend: Any, raw: Mapping[str, ir.Table], **kwargs: Any) -> Dataset:
    dataset, _ = _build_with_report(backend, raw, **kwargs)
    assert dataset is not None
    return dataset


def _build_with_report(
    backend: Any,
    raw: Mapping[str, ir.Table],
    *,
    source: str,
    files: Mapping[str, str],
    staged: list[Problem],
    mode: Mode,
    extract_date: Any,
    materialise: bool | set[str],
    raise_on_error: bool,
) -> tuple[Dataset | None, ValidationReport]:
    owned = materialise is not False
    typed: dict[str, ir.Table] = {}
    problem_exprs: list[ir.Table] = []
    for name, spec in TABLES.items():
        if name not in raw:
            continue
        expr, problems = parse_table(spec, raw[name])
        if materialise is True or (isinstance(materialise, set) and name in materialise):
            expr = backend.create_table(f"typed_{name}", expr, overwrite=True)
        typed[name] = expr
        problem_exprs.extend(problems)
    for name, spec in TABLES.items():
        if name in typed and all(_refs_present(spec, typed)):
            problem_exprs.extend(relational_checks(spec, typed[name], typed))
    problems = _union(problem_exprs)
    if owned:
        problems = backend.create_table("_problems", problems, overwrite=True)
    row_counts = {name: int(t.count().execute()) for name, t in typed.items()}
    for problem in staged:
        if problem.kind is ProblemKind.MALFORMED_ROW:
            row_counts[problem.table] = row_counts.get(problem.table, 0) + 1
    kept = dict(typed)
    set_aside_rows = problems.filter(ibis.literal(False))
    if mode is Mode.LENIENT:
        kept, set_aside_rows = _set_aside(backend, typed, problems, owned)
    counts, examples = _summarise(problems, files)
    for problem in staged:
        counts[(problem.table, problem.kind)] = counts.get((problem.table, problem.kind), 0) + 1
    staged_examples = [
        p
        for _, group in itertools.groupby(
            sorted(staged, key=lambda p: (p.table, _KIND_ORDER.index(p.kind))),
            key=lambda p: (p.table, p.kind),
        )
        for p in list(group)[:EXAMPLES_PER_KIND]
    ]
    set_aside: dict[tuple[str, ProblemKind], int] = {}
    if mode is Mode.LENIENT:
        set_aside = _set_aside_counts(set_aside_rows, staged)
    report = ValidationReport(
        source=source,
        rows=row_counts,
        counts=counts,
        examples=tuple(sorted(staged_examples + examples, key=_example_order)),
        set_aside=set_aside,
    )
    structural = any(
        p.severity is Severity.ERROR for p in staged if p.kind is not ProblemKind.MALFORMED_ROW
    )
    if structural or (mode is Mode.STRICT and not report.ok):
        if raise_on_error:
            raise InvalidDataset(report)
        return None, report
    tables = {name: kept.get(name) for name in TABLES}
    for name, spec in TABLES.items():
        if tables[name] is None:
            tables[name] = _empty(backend, spec, owned)
        else:
            tables[name] = tables[name].select(*spec.column_names)
    final_date = parse_date(extract_date) if extract_date is not None else _latest_date(tables)
    return Dataset(
        backend=backend, tables=tables, extract_date=final_date, report=report, source=source
    ), report


def _refs_present(spec: Table, typed: Mapping[str, ir.Table]) -> Iterable[bool]:
    for col in spec.columns:
        if col.references:
            yield col.references[0] in typed
    for rule in spec.rules:
        if hasattr(rule, "table"):
            yield rule.table in typed


def _union(exprs: list[ir.Table]) -> ir.Table:
    if not exprs:
        return ibis.memtable(
            pa.table({n: pa.array([], t.to_pyarrow()) for n, t in PROBLEM_SCHEMA.items()})
        )
    return ibis.union(*exprs, distinct=False)


def _summarise(
    problems: ir.Table, files: Mapping[str, str]
) -> tuple[dict[tuple[str, ProblemKind], int], list[Problem]]:
    grouped = problems.group_by(["table", "kind"]).agg(n=problems.count()).to_pyarrow().to_pylist()
    counts = {(row["table"], ProblemKind(row["kind"])): int(row["n"]) for row in grouped}
    ranked = problems.mutate(
        _rank=ibis.row_number().over(group_by=["table", "kind"], order_by=["row", "column"])
    )
    sample = ranked.filter(ranked._rank < EXAMPLES_PER_KIND).order_by(
        ["table", "kind", "row", "column"]
    )
    examples = [
        Problem(
            table=row["table"],
            kind=ProblemKind(row["kind"]),
            message=row["message"],
            file=files.get(row["table"]),
            row=row["row"],
            column=row["column"],
            value=row["value"],
        )
        for row in sample.drop("_rank").to_pyarrow().to_pylist()
    ]
    return counts, examples


def _example_order(problem: Problem) -> tuple[Any, ...]:
    table_order = list(TABLES).index(problem.table) if problem.table in TABLES else -1
    return (table_order, problem.row or 0, problem.column or "", _KIND_ORDER.index(problem.kind))


def _set_aside(
    backend: Any, typed: Mapping[str, ir.Table], problems: ir.Table, owned: bool
) -> tuple[dict[str, ir.Table], ir.Table]:
    """Drop the rows with errors, then rows that refer to a dropped row, table by table."""
    errors = [k.value for k in ProblemKind if k.severity is Severity.ERROR]
    bad = problems.filter(problems.kind.isin(errors)).select("table", "row", "kind")
    cascaded: list[ir.Table] = []
    kept: dict[str, ir.Table] = {}
    for name, spec in TABLES.items():
        if name not in typed:
            continue
        mine = bad.filter(bad.table == name)
        table = typed[name].anti_join(mine, typed[name][ROW] == mine.row)
        for col in spec.columns:
            if not col.references or col.references[0] not in kept:
                continue
            other = kept[col.references[0]]
            orphans = table.filter(table[col.name].notnull()).anti_join(
                other, table[col.name] == other[col.references[1]]
            )
            cascaded.append(
                orphans.select(
                    table=ibis.literal(name),
                    row=orphans[ROW],
                    kind=ibis.literal(ProblemKind.REFERS_TO_SET_ASIDE.value),
                )
            )
            orphan_rows = orphans.select(_orphan=orphans[ROW])
            table = table.anti_join(orphan_rows, table[ROW] == orphan_rows._orphan)
        if owned:
            table = backend.create_table(f"kept_{name}", table, overwrite=True)
        kept[name] = table
    rows = ibis.union(bad, *cascaded, distinct=False) if cascaded else bad
    return kept, rows


def _set_aside_counts(rows: ir.Table, staged: list[Problem]) -> dict[tuple[str, ProblemKind], int]:
    """Rows set aside per table, each counted once under the first kind of problem it has."""
    order = ibis.cases(*[(rows.kind == k.value, i) for i, k in enumerate(_KIND_ORDER)], else_=999)
    first = rows.mutate(_order=order).group_by(["table", "row"]).agg(_first=ibis._["_order"].min())
    counted = first.group_by(["table", "_first"]).agg(n=first.count()).to_pyarrow().to_pylist()
    result = {(row["table"], _KIND_ORDER[row["_first"]]): int(row["n"]) for row in counted}
    for problem in staged:
        if problem.kind is ProblemKind.MALFORMED_ROW:
            key = (problem.table, problem.kind)
            result[key] = result.get(key, 0) + 1
    return result


def _empty(backend: Any, spec: Table, owned: bool) -> ir.Table:
    empty = spec.arrow_schema().empty_table()
    if owned:
        return backend.create_table(f"empty_{spec.name}", empty, overwrite=True)
    return ibis.memtable(empty)


def _latest_date(tables: Mapping[str, ir.Table]) -> date | None:
    """The latest event date in the data (targets' due dates are plans, not events)."""
    latest: list[date] = []
    for name, table in tables.items():
        if name == "targets":
            continue
        for col in TABLES[name].columns:
            if col.type is ColumnType.DATE:
                value = table[col.name].max().execute()
                if value is not None and value == value:  # NaT is not equal to itself
                    latest.append(value.date() if hasattr(value, "date") else value)
    return max(latest) if latest else None
