"""Copying a validated extract into a database schema (``threeml load``).

The target is a DuckDB database file (``duckdb:///path.db`` or a path ending in ``.duckdb`` or
``.db``; created when absent) or a database URL ibis connects to (``postgresql://…``). Each
table is created from its column list in :data:`threeml.records.schema.TABLES` (dates as
``DATE``, condition codes as a list of text, numbers typed), in ``schema`` when one is given,
and filled with the dataset's kept rows in batches that stream from the engine: nothing is
held in Python beyond one batch. An existing table is refused unless ``replace`` is true.
Afterwards ``--data`` with the same target and ``--schema`` reads the copy.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import attrs
import ibis
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from threeml.data import engine
from threeml.data.sql import identifier
from threeml.errors import DataError
from threeml.records.schema import TABLES

if TYPE_CHECKING:
    from threeml.data.dataset import Dataset

__all__ = ["BATCH_ROWS", "Target", "TargetExists", "copy_dataset", "parse_target"]

#: Rows per batch streamed from the dataset's engine to the target.
BATCH_ROWS = 100_000

_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DUCKDB_SUFFIXES = (".duckdb", ".db", ".ddb")


class TargetExists(DataError):
    """A table of the extract already exists in the target (and ``replace`` was not given)."""

    def __init__(self, target: str, tables: list[str]) -> None:
        self.target = target
        self.tables = tables
        super().__init__(str(self))

    def __str__(self) -> str:
        return (
            f"{self.target} already holds table(s) {', '.join(self.tables)}: pass --replace "
            "to overwrite them, or choose another --schema"
        )


@attrs.frozen
class Target:
    """Where ``threeml load`` writes: a DuckDB file (``path``) or a database ``url``, and the
    ``schema`` to hold the tables (``None``: the database's default schema)."""

    shown: str
    schema: str | None = None
    path: Path | None = None
    url: str | None = None

    def connect(self) -> Any:
        """An ibis connection to the target, with ``schema`` created when absent."""
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            backend = engine.connect(str(self.path))
        else:
            try:
                backend = ibis.connect(self.url)
            except Exception as error:
                raise DataError(
                    f"cannot connect to {self.shown}: {type(error).__name__}: {error}. Check "
                    "the URL and that the database's ibis backend is installed "
                    "(pip install 'threeml[postgres]')"
                ) from error
        if self.schema:
            backend.raw_sql(f"CREATE SCHEMA IF NOT EXISTS {identifier(self.schema)}")
        return backend


def _check_schema(schema: str | None) -> str | None:
    if schema is not None and not _SCHEMA_NAME.match(schema):
        raise DataError(
            f"--schema {schema!r} is not a plain schema name: use letters, digits and '_', "
            "starting with a letter (such as threeml or extract_2013)"
        )
    return schema or None


def parse_target(target: str, schema: str | None = None) -> Target:
    """The :class:`Target` named by ``target`` (a DuckDB file or URL, or a database URL).

    ``schema`` may also be given in the URL as ``?schema=NAME``; the option wins.
    """
    from threeml.data.loaders import _without_password, is_duckdb_file

    if "://" not in target:
        path = Path(target)
        if not (path.suffix.lower() in _DUCKDB_SUFFIXES or is_duckdb_file(target)):
            raise DataError(
                f"threeml load writes to a DuckDB file (ending in .duckdb or .db, or "
                f"duckdb:///path.db) or a database URL (postgresql://user@host/db); "
                f"{target} is neither"
            )
        return Target(shown=str(path), schema=_check_schema(schema), path=path)
    parts = urlsplit(target)
    in_url = dict(parse_qsl(parts.query)).get("schema")
    schema = _check_schema(schema or in_url)
    if parts.scheme.lower() == "duckdb":
        path = Path(parts.netloc + parts.path) if parts.netloc else Path(parts.path)
        return Target(shown=target, schema=schema, path=path)
    without = parts._replace(
        query="&".join(f"{k}={v}" for k, v in parse_qsl(parts.query) if k != "schema")
    ).geturl()
    return Target(shown=_without_password(target), schema=schema, url=without)


def _existing(backend: Any, schema: str | None) -> set[str]:
    return set(backend.list_tables(database=schema) if schema else backend.list_tables())


def copy_dataset(dataset: Dataset, target: Target, *, replace: bool = False) -> dict[str, int]:
    """Copy every table of ``dataset`` into ``target``; the rows written per table.

    Tables are created typed from :data:`~threeml.records.schema.TABLES`; optional tables
    the extract lacks are created empty, so the copy is a complete extract.
    :class:`TargetExists` when a table exists already and ``replace`` is false.
    """
    backend = target.connect()
    try:
        present = sorted(_existing(backend, target.schema) & set(TABLES))
        if present and not replace:
            raise TargetExists(target.shown, present)
        return {
            name: _copy_table(backend, name, dataset.table(name), target.schema) for name in TABLES
        }
    finally:
        disconnect = getattr(backend, "disconnect", None)
        if disconnect is not None:
            disconnect()


def _copy_table(backend: Any, name: str, table: Any, schema: str | None) -> int:
    """Create ``name`` from the schema's types and stream ``table``'s rows into it."""
    arrow_schema = TABLES[name].arrow_schema()
    backend.create_table(
        name,
        schema=ibis.Schema.from_pyarrow(arrow_schema),
        database=schema,
        overwrite=True,
    )
    write = _COPY.get(getattr(backend, "name", ""), _insert)
    written = 0
    for batch in table.select(*arrow_schema.names).to_pyarrow_batches(chunk_size=BATCH_ROWS):
        rows = pa.Table.from_batches([batch]).cast(arrow_schema)
        if rows.num_rows:
            write(backend, name, rows, schema)
            written += rows.num_rows
    return written


def _insert(backend: Any, name: str, rows: pa.Table, schema: str | None) -> None:
    """Rows added through ibis (DuckDB reads the Arrow batch directly)."""
    backend.insert(name, rows, database=schema)


def _copy_postgres(backend: Any, name: str, rows: pa.Table, schema: str | None) -> None:
    """Rows streamed with PostgreSQL's ``COPY … FROM STDIN`` as CSV (ibis inserts row by row).

    Lists of codes are written as PostgreSQL array literals (``{copd,diabetes}``): codes are
    lower-case letters, digits and ``_`` once validated, so they need no quoting.
    """
    columns = {}
    for column_name in rows.column_names:
        column = rows.column(column_name)
        if pa.types.is_list(column.type):
            joined = pc.binary_join(column, ",")
            column = pc.binary_join_element_wise("{", joined, "}", "")
        columns[column_name] = column
    buffer = io.BytesIO()
    pa_csv.write_csv(pa.table(columns), buffer, pa_csv.WriteOptions(include_header=False))
    target = f"{identifier(schema)}.{identifier(name)}" if schema else identifier(name)
    listed = ", ".join(identifier(c) for c in rows.column_names)
    statement = f"COPY {target} ({listed}) FROM STDIN WITH (FORMAT csv)"
    with (
        backend.con.cursor() as cursor,
        backend.con.transaction(),
        cursor.copy(statement) as copy,
    ):
        copy.write(buffer.getvalue())


#: How rows are written, by ibis backend name (default: :func:`_insert`).
_COPY = {"postgres": _copy_postgres}


def rows_in(target: Target) -> Mapping[str, int]:
    """Rows per table of the extract in ``target``, counted by its engine."""
    backend = target.connect()
    try:
        return {
            name: int(backend.table(name, database=target.schema).count().execute())
            for name in TABLES
        }
    finally:
        getattr(backend, "disconnect", lambda: None)()
