"""Checking in-memory Arrow tables, given from Python or built from record objects.

The tables are registered as they are in a fresh embedded DuckDB as ``raw_<table>``
(:func:`threeml.data.staging.register_arrow`) and checked there
(:mod:`threeml.data.owned`), parsed into tables since they are in memory already.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa

from threeml.data import engine
from threeml.data.files import SourceFile, check_header, time_zone_problems
from threeml.data.owned import build_owned
from threeml.data.report import Mode, Problem, ProblemKind
from threeml.data.staging import register_arrow
from threeml.data.summary import Checked
from threeml.errors import DataError
from threeml.records.schema import TABLES, ColumnType, Table

__all__ = ["check_arrow", "records_to_arrow"]


def check_arrow(
    tables: Mapping[str, pa.Table], *, source: str, mode: Mode, extract_date: Any
) -> Checked:
    """Check the Arrow ``tables``, keyed by table name; an unknown name is a :class:`DataError`."""
    unknown = sorted(set(tables) - set(TABLES))
    if unknown:
        raise DataError(f"unknown table(s) {', '.join(unknown)}; tables are {', '.join(TABLES)}")
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
        given = SourceFile(name, Path(name), "arrow")
        staged.extend(check_header(given, spec, data.column_names))
        zoned = time_zone_problems(given, spec, data.schema)
        staged.extend(zoned)
        if zoned:
            continue
        register_arrow(backend, spec, data)
        present.append(name)
    return build_owned(
        backend,
        present,
        source=source,
        files={},
        staged=staged,
        mode=mode,
        extract_date=extract_date,
        materialise=set(present),
    )


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
