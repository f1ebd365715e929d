"""A :class:`Dataset`: the validated tables of one extract, held by an engine.

Files are read by DuckDB (through ibis) without building a Python object per
row; every table is validated on the way in (see :mod:`threeml.data.checks`).
In strict mode, the default, a dataset with errors is refused with
:class:`InvalidDataset`; in lenient mode the bad rows are set aside and the
dataset's report says how many rows of which table were left out and why.

This module holds the value and its constructors; the work is done beside it. A folder
is staged by :mod:`~threeml.data.folder` and Arrow tables by :mod:`~threeml.data.arrow`,
both then checked on the embedded DuckDB threeml owns (:mod:`~threeml.data.owned`); a
connection threeml does not own is checked in place (:mod:`~threeml.data.foreign`). Both
engines follow the rules of :mod:`~threeml.data.rules` and summarise what they found with
:mod:`~threeml.data.summary`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import attrs
import ibis
import ibis.expr.types as ir
import pyarrow as pa
from attrs import frozen

from threeml.data import engine
from threeml.data.arrow import check_arrow, records_to_arrow
from threeml.data.folder import check_folder
from threeml.data.foreign import check_connection
from threeml.data.report import (
    DEFAULT_MAX_SET_ASIDE,
    InvalidDataset,
    Mode,
    ValidationReport,
    check_set_aside_share,
)
from threeml.data.sql import identifier
from threeml.data.summary import EXAMPLES_PER_KIND, Checked
from threeml.errors import DataError
from threeml.records.schema import TABLES

__all__ = [
    "EXAMPLES_PER_KIND",
    "Dataset",
    "InvalidDataset",
    "Mode",
    "records_to_arrow",
    "validate_folder",
]


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
    #: Where this folder's validation is kept, and what was kept (``None``: not kept).
    kept_validation: Any = attrs.field(default=None, repr=False, eq=False, kw_only=True)
    #: The stamp of each table file of a folder, taken before a row was read
    #: (:class:`threeml.data.stamps.FileStamp`; ``None`` for other sources): the extract's
    #: fingerprint (:mod:`threeml.data.fingerprint`).
    file_stamps: tuple[Any, ...] | None = attrs.field(
        default=None, repr=False, eq=False, kw_only=True
    )

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
        follow_symlinks: bool = False,
        max_set_aside: float = DEFAULT_MAX_SET_ASIDE,
        cache: bool = True,
    ) -> Dataset:
        """Load and validate a folder of ``<table>.csv`` / ``<table>.parquet`` files.

        A table file that is a symbolic link to a file outside ``folder`` is refused unless
        ``follow_symlinks`` is true. In lenient mode, an extract that would have more than
        ``max_set_aside`` (a share, 0.01 = 1%) of a table's rows set aside is refused with
        :class:`~threeml.data.report.TooManySetAside`.
        Validation is done once per extract: with ``cache``
        (the default, unless ``THREEML_NO_CACHE=1``) what it found is kept against the
        files' stamps and reused while they are unchanged (:mod:`threeml.data.cache`;
        ``with threeml.data.cache.revalidating(): ...`` validates again).
        """
        checked = check_folder(
            Path(folder),
            mode=Mode(mode),
            extract_date=extract_date,
            follow_symlinks=follow_symlinks,
            cache=cache,
        )
        return _accepted(checked, max_set_aside)

    @classmethod
    def from_arrow(
        cls,
        tables: Mapping[str, pa.Table],
        *,
        extract_date: date | str | None = None,
        mode: Mode | str = Mode.STRICT,
        source: str = "arrow tables",
        max_set_aside: float = DEFAULT_MAX_SET_ASIDE,
    ) -> Dataset:
        """Load and validate in-memory Arrow tables, keyed by table name.

        A required table that is not given is an error, as is a table without one of its
        required columns; columns the schema does not know are ignored with a warning.
        """
        checked = check_arrow(tables, source=source, mode=Mode(mode), extract_date=extract_date)
        return _accepted(checked, max_set_aside)

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
        populations: Iterable[Any] = (),
        extract_date: date | str | None = None,
        mode: Mode | str = Mode.STRICT,
        max_set_aside: float = DEFAULT_MAX_SET_ASIDE,
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
            "populations": populations,
        }
        arrow = {name: records_to_arrow(TABLES[name], rows) for name, rows in given.items()}
        return cls.from_arrow(
            arrow,
            extract_date=extract_date,
            mode=mode,
            source="records",
            max_set_aside=max_set_aside,
        )

    @classmethod
    def from_connection(
        cls,
        backend: Any,
        *,
        names: Mapping[str, str] | None = None,
        extract_date: date | str | None = None,
        mode: Mode | str = Mode.STRICT,
        source: str | None = None,
        max_set_aside: float = DEFAULT_MAX_SET_ASIDE,
    ) -> Dataset:
        """Use the tables of an existing ibis connection (any backend ibis supports).

        ``names`` maps threeml table names to the connection's table names when they
        differ. Rows are numbered in the order the backend returns them. Validation runs
        on the connection; a backend that cannot run it (SQLite has no arrays, no
        ``TRY_CAST``) has its tables copied into an embedded DuckDB through Arrow instead.
        """
        checked = check_connection(
            backend,
            names=dict(names or {}),
            source=source or repr(backend.name),
            mode=Mode(mode),
            extract_date=extract_date,
        )
        return _accepted(checked, max_set_aside)

    @classmethod
    def from_spark(
        cls,
        session: Any,
        *,
        tables: Mapping[str, str],
        extract_date: date | str | None = None,
        mode: Mode | str = Mode.STRICT,
        source: str = "spark",
    ) -> Dataset:
        """Use tables on Spark: ``tables`` maps threeml's names to catalog tables or Parquet
        paths (:func:`threeml.data.spark.spark_views`); validation runs on Spark."""
        from threeml.data.spark import spark_views

        names = spark_views(session, tables)
        backend = ibis.pyspark.connect(session)
        return cls.from_connection(
            backend, names=names, extract_date=extract_date, mode=mode, source=source
        )

    @classmethod
    def from_duckdb(
        cls,
        path: str | Path,
        *,
        extract_date: date | str | None = None,
        mode: Mode | str = Mode.STRICT,
        max_set_aside: float = DEFAULT_MAX_SET_ASIDE,
        schema: str | None = None,
    ) -> Dataset:
        """Use the tables of a DuckDB database file (opened read-only), in ``schema`` when
        given (as ``threeml load FOLDER path.duckdb --schema NAME`` wrote them)."""
        path = Path(path)
        if not path.exists():
            raise DataError(f"no DuckDB database at {path}")
        backend = engine.connect(str(path), read_only=True)
        if schema:
            if schema not in backend.list_databases():
                raise DataError(
                    f"the DuckDB database {path} has no schema {schema!r}; its schemas are "
                    f"{', '.join(sorted(backend.list_databases()))}"
                )
            backend.raw_sql(f"USE {identifier(schema)}")
        return cls.from_connection(
            backend,
            extract_date=extract_date,
            mode=mode,
            source=str(path),
            max_set_aside=max_set_aside,
        )


def validate_folder(
    folder: str | Path, *, mode: Mode | str = Mode.STRICT, cache: bool = True
) -> ValidationReport:
    """Validate a dataset folder and return the report, whatever it finds (a result kept
    for the same, unchanged files is reused unless ``cache`` is false)."""
    return check_folder(Path(folder), mode=Mode(mode), extract_date=None, cache=cache).report


def _accepted(checked: Checked, max_set_aside: float = DEFAULT_MAX_SET_ASIDE) -> Dataset:
    """The dataset a check left, or :class:`InvalidDataset` when it refused the extract.

    :class:`~threeml.data.report.TooManySetAside` when lenient mode set aside more than
    ``max_set_aside`` of a table's rows.
    """
    if checked.tables is None:
        raise InvalidDataset(checked.report)
    check_set_aside_share(checked.report, max_set_aside)
    return Dataset(
        backend=checked.backend,
        tables=checked.tables,
        extract_date=checked.extract_date,
        report=checked.report,
        source=checked.report.source,
        kept_validation=checked.kept,
        file_stamps=checked.stamps,
    )
