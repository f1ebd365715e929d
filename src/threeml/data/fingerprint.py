"""A fingerprint of an extract: per table where it came from, how many rows and a content hash.

**A folder of files** (CSV or Parquet): each table's content hash is the content hash of its
file's stamp (:mod:`threeml.data.stamps`): the SHA-256 of every byte of a CSV file, or of a
Parquet file's footer (its metadata: schema, row groups with their sizes, offsets and column
statistics). The stamps are taken once, before a row is read, and are also the validation
cache's key (:mod:`threeml.data.cache`), so the fingerprint costs nothing beyond them: no row
is read or hashed for it. Its row counts are those validation kept (rows read less rows set
aside), from the validation report. The same, unchanged files give the same fingerprint, a
copy elsewhere too (neither the folder nor the files' modification times take part); any
changed byte of a CSV file, or any change to a Parquet file's rows that changes its footer,
changes the table's hash. The same rows saved as CSV and as Parquet have different hashes.

**Other sources** (Arrow tables, records, a database connection) have no files: there the hash
is computed by the engine over the *validated* rows, never by pulling rows into Python: each
row is written as one canonical text (its columns in schema order, typed, ``NULL`` marked),
hashed with MD5 by DuckDB, and the two 64-bit halves of those row hashes are summed over the
table; the table's hash is the SHA-256 of its row count and the two sums (any row order gives
the same hash; a changed, added, removed or doubled row changes it). A table on a backend other
than DuckDB gets its row count and no hash (``sha256`` is ``None``), and says so.

Either hash is a check against accidents and honest mistakes, not against someone forging an
extract to match. The extract's source is stated as it was given, without any user name or
password of a database URL.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis
from attrs import field, frozen

from threeml.data.files import SourceFile, find_tables
from threeml.data.sql import identifier, literal
from threeml.data.stamps import FILE_HASH_METHOD, FileStamp, stamp_files
from threeml.records.schema import TABLES

if TYPE_CHECKING:
    from threeml.data.dataset import Dataset

__all__ = [
    "FILE_HASH_METHOD",
    "HASH_METHOD",
    "ExtractFingerprint",
    "TableFingerprint",
    "fingerprint",
]

#: How :attr:`TableFingerprint.sha256` is computed for a source without files, as outputs
#: state it (:data:`FILE_HASH_METHOD` for a folder of files).
HASH_METHOD = "sha256 of (rows, sums of md5 row hashes) over the validated rows, any order"


@frozen
class TableFingerprint:
    """One table of an extract: its file (or table) name, rows used and a content hash."""

    table: str
    source: str
    rows: int
    sha256: str | None

    def to_dict(self) -> dict[str, Any]:
        """The fingerprint as plain JSON-ready data."""
        return {
            "table": self.table,
            "source": self.source,
            "rows": self.rows,
            "sha256": self.sha256,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TableFingerprint:
        """Read back what :meth:`to_dict` wrote."""
        return cls(data["table"], data["source"], int(data["rows"]), data.get("sha256"))


@frozen
class ExtractFingerprint:
    """Every table's fingerprint, with the extract's source and extract date."""

    source: str
    extract_date: date | None
    tables: tuple[TableFingerprint, ...] = field(converter=tuple)
    method: str = HASH_METHOD

    @property
    def digest(self) -> str:
        """One SHA-256 over every table's name, rows and hash: the whole extract's content
        (the same for the same rows in a folder or a database)."""
        text = "|".join(f"{t.table}:{t.rows}:{t.sha256}" for t in self.tables)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def table(self, name: str) -> TableFingerprint | None:
        """The fingerprint of the table ``name`` (``None`` when the extract has none)."""
        return next((t for t in self.tables if t.table == name), None)

    def to_dict(self) -> dict[str, Any]:
        """The fingerprint as plain JSON-ready data."""
        return {
            "source": self.source,
            "extract_date": self.extract_date.isoformat() if self.extract_date else None,
            "method": self.method,
            "sha256": self.digest,
            "tables": [t.to_dict() for t in self.tables],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExtractFingerprint:
        """Read back what :meth:`to_dict` wrote."""
        found = data.get("extract_date")
        return cls(
            data["source"],
            date.fromisoformat(found) if found else None,
            tuple(TableFingerprint.from_dict(t) for t in data.get("tables", ())),
            data.get("method", HASH_METHOD),
        )


def _row_text(columns: list[tuple[str, str]]) -> str:
    """SQL for one row as canonical text: every column as text, ``NULL`` as a control byte."""
    parts = [f"coalesce(CAST({identifier(name)} AS VARCHAR), chr(0))" for name, _ in columns]
    return f"concat_ws(chr(31), {', '.join(parts)})" if parts else "''"


def _public(source: str) -> str:
    """``source`` without a password or user name (``postgres://user:secret@host/db``)."""
    return re.sub(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^@/]*@", r"\1", source)


def _files(source: str) -> dict[str, str]:
    """The file name of each table when ``source`` is a folder (``(no file)`` when absent);
    else the table names themselves."""
    folder = Path(source)
    if not folder.is_dir():
        return {name: name for name in TABLES}
    sources, _ = find_tables(folder, follow_symlinks=True)
    return {name: sources[name].name if name in sources else "(no file)" for name in TABLES}


def _duckdb_sums(dataset: Dataset) -> dict[str, tuple[int, int, int]]:
    """Per table: rows and the two sums of MD5 row-hash halves, in one query on DuckDB."""
    parts = []
    for name, table in dataset.tables.items():
        columns = [(c.name, c.sql_type) for c in TABLES[name].columns]
        text = _row_text(columns)
        inner = ibis.to_sql(table, dialect="duckdb")
        parts.append(
            f"SELECT {literal(name)} AS name, count(*) AS n, "
            f"coalesce(sum(md5_number_upper({text})), 0) AS hi, "
            f"coalesce(sum(md5_number_lower({text})), 0) AS lo FROM ({inner}) AS t"
        )
    rows = dataset.backend.con.execute(" UNION ALL ".join(parts)).fetchall()
    return {name: (int(n), int(hi), int(lo)) for name, n, hi, lo in rows}


def _counts(dataset: Dataset) -> dict[str, tuple[int, None]]:
    return {name: (n, None) for name, n in dataset.count_rows().items()}


def fingerprint(dataset: Dataset, *, kept: bool = True) -> ExtractFingerprint:
    """The fingerprint of ``dataset``: each table's source, rows and content hash.

    A folder's is read from the stamps its files were given when it was loaded: nothing is
    read or hashed again, whether or not its validation was kept. ``kept=False`` (``threeml
    verify``) hashes the files again now, so that a file changed since the load is seen.
    For other sources the hashes are computed in the engine (DuckDB); on another backend
    the tables get their row counts only.
    """
    stamps = getattr(dataset, "file_stamps", None)
    if stamps is not None:
        return _from_stamps(dataset, stamps, rehash=not kept)
    files = _files(dataset.source)
    found = []
    if getattr(dataset.backend, "name", None) == "duckdb":
        for name, (n, hi, lo) in _duckdb_sums(dataset).items():
            digest = hashlib.sha256(f"{name}:{n}:{hi}:{lo}".encode()).hexdigest()
            found.append(TableFingerprint(name, files.get(name, name), n, digest))
    else:
        for name, (n, _) in _counts(dataset).items():
            found.append(TableFingerprint(name, files.get(name, name), n, None))
    order = list(TABLES)
    found.sort(key=lambda t: order.index(t.table) if t.table in order else len(order))
    return ExtractFingerprint(_public(dataset.source), dataset.extract_date, tuple(found))


#: The source a table without a file is stated with.
NO_FILE = "(no file)"


def _from_stamps(
    dataset: Dataset, stamps: tuple[FileStamp, ...], *, rehash: bool
) -> ExtractFingerprint:
    """A folder's fingerprint from its files' stamps and the rows validation kept."""
    by_table = {stamp.table: stamp for stamp in stamps}
    report = dataset.report
    found = []
    for name in TABLES:
        stamp = by_table.get(name)
        if stamp is None:
            found.append(TableFingerprint(name, NO_FILE, 0, None))
            continue
        path = Path(stamp.path)
        if rehash:
            stamp = stamp_files([SourceFile(name, path, _format(path))])[0]
        aside = sum(n for (table, _), n in report.set_aside.items() if table == name)
        rows = report.rows.get(name, 0) - aside
        found.append(TableFingerprint(name, path.name, rows, stamp.sha256))
    return ExtractFingerprint(
        _public(dataset.source), dataset.extract_date, tuple(found), FILE_HASH_METHOD
    )


def _format(path: Path) -> str:
    return "parquet" if path.name.lower().endswith(".parquet") else "csv"
