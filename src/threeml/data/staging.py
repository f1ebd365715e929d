"""Putting a table's file in front of the engine, untouched, with row numbers.

CSV files are read by DuckDB as text (every column ``VARCHAR``) into a table,
so that parsing and its errors happen in :mod:`threeml.data.checks`, where each
bad cell can be named. Parquet files are not copied: a view scans them in place.
Every staged relation carries ``_row``, the row number as the user sees it
(a CSV's header is row 1, its first record row 2; a Parquet file's first record
is row 1).
"""

from __future__ import annotations

import duckdb
from attrs import frozen

from threeml.data.files import SourceFile
from threeml.data.report import Problem, ProblemKind
from threeml.schema import Table

__all__ = ["StagedTable", "stage_file"]

ROW = "_row"


@frozen
class StagedTable:
    """A raw relation in the engine, named ``relation``, and what staging found."""

    relation: str
    rows: int
    problems: tuple[Problem, ...]
    malformed_rows: int = 0


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _select_list(spec: Table, present: list[str]) -> str:
    """The schema's columns in order; absent (optional) ones as typed NULLs."""
    parts = []
    for col in spec.columns:
        if col.name in present:
            parts.append(_quote(col.name))
        else:
            parts.append(f"CAST(NULL AS VARCHAR) AS {_quote(col.name)}")
    return ", ".join(parts)


def stage_file(
    con: duckdb.DuckDBPyConnection, source: SourceFile, spec: Table, header: list[str]
) -> StagedTable:
    """Stage ``source`` as relation ``raw_<table>`` with a ``_row`` column."""
    if source.format == "parquet":
        return _stage_parquet(con, source, spec, header)
    return _stage_csv(con, source, spec, header)


def _stage_parquet(con, source: SourceFile, spec: Table, header: list[str]) -> StagedTable:
    relation = f"raw_{spec.name}"
    con.execute(
        f"CREATE OR REPLACE VIEW {relation} AS SELECT file_row_number + 1 AS {ROW}, "
        f"{_select_list(spec, header)} "
        f"FROM read_parquet({_literal(str(source.path))}, file_row_number = true)"
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
    return f"SELECT * FROM read_csv({_literal(str(source.path))}, {', '.join(options)})"


def _stage_csv(con, source: SourceFile, spec: Table, header: list[str]) -> StagedTable:
    text = f"text_{spec.name}"
    relation = f"raw_{spec.name}"
    positions = {name: i for i, name in reversed(list(enumerate(header)))}
    renamed = ", ".join(
        f"c{positions[col.name]} AS {_quote(col.name)}"
        if col.name in positions
        else f"CAST(NULL AS VARCHAR) AS {_quote(col.name)}"
        for col in spec.columns
    )
    problems: list[Problem] = []
    malformed = 0
    try:
        con.execute(
            f"CREATE OR REPLACE TABLE {text} AS {_read_csv_sql(source, header, lenient=False)}"
        )
        con.execute(
            f"CREATE OR REPLACE VIEW {relation} AS SELECT rowid + 2 AS {ROW}, {renamed} FROM {text}"
        )
    except duckdb.Error:
        # Some records cannot be parsed as CSV at all. Read the rest, name the bad lines,
        # and number the good records by counting the bad lines before each of them.
        con.execute(
            f"CREATE OR REPLACE TABLE {text} AS {_read_csv_sql(source, header, lenient=True)}"
        )
        rejects = con.execute(
            "SELECT DISTINCT line, error_type, csv_line, error_message FROM reject_errors "
            "ORDER BY line"
        ).fetchall()
        con.execute("CREATE OR REPLACE TEMP TABLE _reject_lines (line BIGINT, k BIGINT)")
        lines = sorted({int(line) for line, *_ in rejects})
        if lines:
            con.executemany(
                "INSERT INTO _reject_lines VALUES (?, ?)",
                [(line, k) for k, line in enumerate(lines, start=1)],
            )
        # The k-th bad line L_k has L_k - 2 - (k - 1) good records before it; a good record at
        # index r lies after every bad line whose count of earlier good records is <= r.
        con.execute(
            f"CREATE OR REPLACE TABLE {text}_numbered AS "
            f"SELECT t.rowid + 2 + (SELECT count(*) FROM _reject_lines j "
            f"WHERE j.line - 2 - (j.k - 1) <= t.rowid) AS {ROW}, t.* FROM {text} t"
        )
        con.execute(
            f"CREATE OR REPLACE VIEW {relation} AS SELECT {ROW}, {renamed} FROM {text}_numbered"
        )
        malformed = len(lines)
        seen_lines: set[int] = set()
        for line, error_type, csv_line, message in rejects:
            if line in seen_lines:
                continue
            seen_lines.add(line)
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
    rows = con.execute(f"SELECT count(*) FROM {relation}").fetchone()[0]
    return StagedTable(relation, rows + malformed, tuple(problems), malformed)
