"""Putting a table's file in front of the engine, untouched, with row numbers.

CSV files are read by DuckDB as text (every column ``VARCHAR``) into a table,
so that parsing and its errors happen in :mod:`threeml.data.checks`, where each
bad cell can be named. Parquet files are not copied: a view scans them in place.
Arrow tables (given from Python, or copied from a database) are registered as they are.
Every staged relation carries ``_row``, the row number as the user sees it
(a CSV's header is row 1, its first record row 2; a Parquet file's first record
is row 1).
"""

from __future__ import annotations

import gzip
from typing import Any

import duckdb
import pyarrow as pa
from attrs import frozen

from threeml.data.files import SourceFile
from threeml.data.report import Problem, ProblemKind
from threeml.data.sql import identifier, literal
from threeml.records.schema import Table

__all__ = [
    "StagedTable",
    "drop_staged",
    "extra_fields",
    "register_arrow",
    "select_list",
    "stage_file",
]

ROW = "_row"


@frozen
class StagedTable:
    """A raw relation in the engine, named ``relation``, and what staging found."""

    relation: str
    rows: int
    problems: tuple[Problem, ...]
    malformed_rows: int = 0


def select_list(spec: Table, present: list[str]) -> str:
    """The schema's columns in order, absent (optional) ones as typed NULLs, then the extra
    columns the table keeps (:meth:`~threeml.records.schema.Table.extra_columns`)."""
    parts = []
    for col in spec.columns:
        if col.name in present:
            parts.append(identifier(col.name))
        else:
            parts.append(f"CAST(NULL AS VARCHAR) AS {identifier(col.name)}")
    parts += [identifier(name) for name in spec.extra_columns(present)]
    return ", ".join(parts)


def register_arrow(backend: Any, spec: Table, data: pa.Table) -> None:
    """Arrow table ``data`` as raw relation ``raw_<table>`` of ``backend``, rows numbered from 1."""
    relation = f"raw_{spec.name}"
    numbered = data.append_column(ROW, pa.array(range(1, data.num_rows + 1), pa.int64()))
    backend.con.register(f"{relation}_arrow", numbered)
    columns = select_list(spec, list(data.column_names))
    backend.con.execute(
        f"CREATE OR REPLACE VIEW {relation} AS SELECT {ROW}, {columns} FROM {relation}_arrow"
    )


def stage_file(
    con: duckdb.DuckDBPyConnection,
    source: SourceFile,
    spec: Table,
    header: list[str],
    *,
    examples: int = 20,
) -> StagedTable:
    """Stage ``source`` as relation ``raw_<table>`` with a ``_row`` column.

    Lines that cannot be read as CSV are counted in ``malformed_rows``; the first
    ``examples`` of them are described in ``problems``.
    """
    if source.format == "parquet":
        return _stage_parquet(con, source, spec, header)
    return _stage_csv(con, source, spec, header, examples)


def _stage_parquet(con, source: SourceFile, spec: Table, header: list[str]) -> StagedTable:
    relation = f"raw_{spec.name}"
    con.execute(
        f"CREATE OR REPLACE VIEW {relation} AS SELECT file_row_number + 1 AS {ROW}, "
        f"{select_list(spec, header)} "
        f"FROM read_parquet({literal(str(source.path))}, file_row_number = true)"
    )
    rows = con.execute(f"SELECT count(*) FROM {relation}").fetchone()[0]
    return StagedTable(relation, rows, ())


def _read_csv_sql(source: SourceFile, header: list[str], *, lenient: bool) -> str:
    # Positional names: the header is skipped, so duplicated or odd names cannot confuse the reader.
    columns = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(header)))
    options = [
        "header = true",
        "auto_detect = false",
        "delim = ','",
        "quote = '\"'",
        "escape = '\"'",
        f"columns = {{{columns}}}",
    ]
    if lenient:
        options += ["ignore_errors = true", "store_rejects = true"]
    return f"SELECT * FROM read_csv({literal(str(source.path))}, {', '.join(options)})"


def _stage_csv(
    con, source: SourceFile, spec: Table, header: list[str], examples: int
) -> StagedTable:
    text = f"text_{spec.name}"
    relation = f"raw_{spec.name}"
    positions = {name: i for i, name in reversed(list(enumerate(header)))}
    renamed = ", ".join(
        f"c{positions[col.name]} AS {identifier(col.name)}"
        if col.name in positions
        else f"CAST(NULL AS VARCHAR) AS {identifier(col.name)}"
        for col in spec.columns
    )
    for name in spec.extra_columns(header):
        renamed += f", c{positions[name]} AS {identifier(name)}"
    problems: list[Problem] = []
    malformed = 0
    # The reader skips blank lines without a trace; their line numbers come from a scan of
    # the bytes (:func:`blank_lines`), so that row numbers stay those of the file.
    blank = blank_lines(source)
    con.execute("CREATE OR REPLACE TEMP TABLE _skipped_lines (line BIGINT)")
    if blank:
        con.executemany("INSERT INTO _skipped_lines VALUES (?)", [(n,) for n in blank])
    try:
        con.execute(
            f"CREATE OR REPLACE TABLE {text} AS {_read_csv_sql(source, header, lenient=False)}"
        )
        rejected = False
    except duckdb.Error:
        # Some records cannot be parsed as CSV at all. Read the rest and name the bad lines.
        con.execute(
            f"CREATE OR REPLACE TABLE {text} AS {_read_csv_sql(source, header, lenient=True)}"
        )
        con.execute("INSERT INTO _skipped_lines SELECT DISTINCT line FROM reject_errors")
        rejected = True
    if not blank and not rejected:
        con.execute(
            f"CREATE OR REPLACE VIEW {relation} AS SELECT rowid + 2 AS {ROW}, {renamed} FROM {text}"
        )
    else:
        # Number the good records by counting the skipped lines (bad or blank) before each.
        # The k-th skipped line L_k has g_k = L_k - 2 - (k - 1) good records before it, so the
        # good record at index r (0-based) follows every skipped line with g_k <= r: its row
        # number is r + 2 + (the largest such k). All in the engine, however many lines.
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _reject_lines AS "
            "SELECT line, row_number() OVER (ORDER BY line) AS k "
            "FROM (SELECT DISTINCT line FROM _skipped_lines)"
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _reject_steps AS "
            "SELECT line - 2 - (k - 1) AS good_before, max(k) AS bad_before "
            "FROM _reject_lines GROUP BY 1"
        )
        con.execute(
            f"CREATE OR REPLACE TABLE {text}_numbered AS "
            f"SELECT t.rowid + 2 + coalesce(s.bad_before, 0) AS {ROW}, t.* "
            f"FROM (SELECT rowid, * FROM {text}) t "
            f"ASOF LEFT JOIN _reject_steps s ON t.rowid >= s.good_before ORDER BY t.rowid"
        )
        con.execute(
            f"CREATE OR REPLACE VIEW {relation} AS SELECT {ROW}, {renamed} FROM {text}_numbered"
        )
    con.execute("DROP TABLE IF EXISTS _skipped_lines")
    if rejected:
        malformed = con.execute("SELECT count(DISTINCT line) FROM reject_errors").fetchone()[0]
        # Only the first few bad lines become examples; the count above is exact.
        rejects = con.execute(
            "SELECT line, arg_min(error_type, byte_position), arg_min(csv_line, byte_position), "
            "arg_min(error_message, byte_position) FROM reject_errors "
            f"GROUP BY line ORDER BY line LIMIT {int(examples)}"
        ).fetchall()
        for line, error_type, csv_line, message in rejects:
            problems.append(
                Problem(
                    table=spec.name,
                    kind=ProblemKind.MALFORMED_ROW,
                    file=source.name,
                    row=int(line),
                    value=(csv_line or "")[:200],
                    message=f"cannot read this line as CSV ({str(error_type).lower()}: "
                    f"{message}); the header has {len(header)} columns — check quotes, "
                    "separators and that the file is saved as UTF-8",
                )
            )
        con.execute("DROP TABLE IF EXISTS reject_errors")
        con.execute("DROP TABLE IF EXISTS reject_scans")
    con.execute("DROP TABLE IF EXISTS _reject_lines")
    con.execute("DROP TABLE IF EXISTS _reject_steps")
    rows = con.execute(f"SELECT count(*) FROM {relation}").fetchone()[0]
    return StagedTable(relation, rows + malformed, tuple(problems), malformed)


#: How much of a file :func:`blank_lines` reads at a time (bytes).
_CHUNK = 1 << 22


def blank_lines(source: SourceFile) -> list[int]:
    """The line numbers (the header is line 1) of the empty lines of a CSV file.

    A scan of the bytes in chunks, at the speed of ``bytes.find``, counting line breaks
    only up to an empty line it finds. A line holding only ``\\r`` (in a CR LF file) is
    empty too. (An empty line inside a quoted value is counted as well; a file with quoted
    line breaks has row numbers that differ from its lines anyway.)
    """
    opener = gzip.open if source.path.name.lower().endswith(".gz") else open
    found: set[int] = set()
    breaks = 0  # line breaks in the file before ``data``
    carried = b""  # the last bytes of the previous chunk, for a pattern across chunks
    with opener(source.path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            data = carried + chunk
            for pattern in (b"\n\n", b"\n\r\n"):
                at = data.find(pattern)
                while at != -1:
                    # New unless it lay wholly in the carried bytes (seen with the last chunk).
                    if at + len(pattern) > len(carried):
                        found.add(breaks + data.count(b"\n", 0, at + 1) + 1)
                    at = data.find(pattern, at + 1)
            carried = data[-2:]
            breaks += data.count(b"\n") - carried.count(b"\n")
    return sorted(found)


def drop_staged(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Free what staging held for table ``name`` once its typed table has been built.

    The text of a CSV file is parsed into its typed table; keeping the text as well would
    hold the file in memory twice.
    """
    con.execute(f"DROP VIEW IF EXISTS raw_{name}")
    con.execute(f"DROP TABLE IF EXISTS text_{name}_numbered")
    con.execute(f"DROP TABLE IF EXISTS text_{name}")


#: A null marker no CSV cell holds, so that an empty cell reads as '' and not as NULL.
_NO_NULL = "\x1e\x1f"


def extra_fields(
    con: duckdb.DuckDBPyConnection,
    source: SourceFile,
    spec: Table,
    header: list[str],
    *,
    sample: int = 1000,
) -> Problem | None:
    """A problem when most of the first rows of a CSV file have more fields than its header.

    DuckDB reads a row with extra *empty* fields at its end as if they were not there. That
    is harmless for a stray separator, but when the header lacks a column name and the last
    column is empty, every column after the gap would silently be read under the wrong
    name. The first ``sample`` rows are read with one column more than the header; when
    most of them have an empty field there, the file's layout cannot be trusted.
    """
    if source.format != "csv":
        return None
    columns = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(header) + 1))
    options = [
        "header = true",
        "auto_detect = false",
        "delim = ','",
        "quote = '\"'",
        "escape = '\"'",
        f"columns = {{{columns}}}",
        "null_padding = true",
        "parallel = false",  # null padding with quoted line breaks needs the serial reader
        "ignore_errors = true",
        f"nullstr = {literal(_NO_NULL)}",
    ]
    extra = f"c{len(header)}"
    # An extra field with data in it is reported row by row when the file is read; only
    # empty ones go unseen. A stray empty one is harmless; most rows having one is not.
    found = con.execute(
        f"SELECT count(*) FILTER (WHERE {extra} = ''), count(*), "
        f"min(_index) FILTER (WHERE {extra} = '') FROM ("
        f"SELECT row_number() OVER () AS _index, {extra} FROM ("
        f"SELECT * FROM read_csv({literal(str(source.path))}, {', '.join(options)}) "
        f"LIMIT {int(sample)}))"
    ).fetchone()
    if not found or not found[0] or 2 * found[0] <= found[1]:
        return None
    return Problem(
        table=spec.name,
        kind=ProblemKind.MISSING_COLUMN,
        file=source.name,
        row=1,
        message=f"the header names {len(header)} columns but rows have more fields (the "
        f"first, about row {int(found[1]) + 1}, has at least {len(header) + 1}): a column "
        "name is missing from the header, or every row ends with an extra ','; the columns "
        "cannot be matched to their names",
    )
