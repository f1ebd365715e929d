"""A fingerprint of an extract: per table where it came from, how many rows and a content hash.

The content hash is computed by the engine over the *validated* rows (the rows every figure
is computed from, set-aside rows excluded), never by pulling rows into Python: each row is
written as one canonical text (its columns in schema order, typed, ``NULL`` marked), hashed
with MD5 by DuckDB, and the two 64-bit halves of those row hashes are summed over the
table. The table's hash is the SHA-256 of its row count and the two sums.

Why this and not the SHA-256 of each file: the same figures come from the same rows
however they are stored, so one rule serves a folder of CSV or Parquet files, a DuckDB file
and a database alike; re-saving a file (another row order, CSV written as Parquet, other
line ends or quoting) keeps its fingerprint, while changing, adding or removing one row
changes it. A sum, unlike an exclusive-or, also sees a row that is doubled. MD5 serves only
to spread the row texts; the hash is a check against accidents and honest mistakes, not
against someone forging an extract to match.

The extract's source is stated as it was given, without any user name or password of a
database URL. A table on a backend other than DuckDB gets its row count and no hash (``sha256`` is
``None``), and says so.
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

from threeml.data.files import find_tables
from threeml.data.sql import identifier, literal
from threeml.records.schema import TABLES

if TYPE_CHECKING:
    from threeml.data.dataset import Dataset

__all__ = ["HASH_METHOD", "ExtractFingerprint", "TableFingerprint", "fingerprint"]

#: How :attr:`TableFingerprint.sha256` is computed, as outputs state it.
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

    Hashes are computed in the engine (DuckDB); on another backend the tables get their
    row counts only. A folder whose validation is kept (:mod:`threeml.data.cache`) keeps its
    fingerprint there too: the same, unchanged files give the same validated rows, so a
    second output from them reads it instead of hashing every row again. ``kept=False``
    always computes it (``threeml verify`` does).
    """
    stored = dataset.kept_validation
    if kept and stored is not None and stored.result.fingerprint is not None:
        found = [TableFingerprint.from_dict(t) for t in stored.result.fingerprint]
        return ExtractFingerprint(_public(dataset.source), dataset.extract_date, tuple(found))
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
    if stored is not None:
        stored.with_fingerprint(tuple(t.to_dict() for t in found))
    return ExtractFingerprint(_public(dataset.source), dataset.extract_date, tuple(found))
