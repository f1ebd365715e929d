"""Checking a folder of ``<table>.csv`` / ``<table>.parquet`` files.

Each file is found (:mod:`threeml.data.files`), its header checked, and staged in a fresh
embedded DuckDB as ``raw_<table>`` (:mod:`threeml.data.staging`); what cannot be staged (an
unreadable or empty file, a header without a required column) is a problem for the report.
The staged tables are then checked there (:mod:`threeml.data.owned`): CSV text is parsed
once into a table, Parquet files stay on disk behind views.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from threeml.data import engine
from threeml.data.cache import ValidationCache, cache_enabled
from threeml.data.files import check_header, find_tables, read_header, time_zone_problems
from threeml.data.owned import build_owned
from threeml.data.report import Mode, Problem, ProblemKind, Severity
from threeml.data.staging import extra_fields, stage_file
from threeml.data.stamps import FileStamp, stamp_files
from threeml.data.summary import EXAMPLES_PER_KIND, Checked
from threeml.errors import DataError
from threeml.records.schema import TABLES

__all__ = ["check_folder"]


def check_folder(
    folder: Path,
    *,
    mode: Mode,
    extract_date: Any,
    follow_symlinks: bool = False,
    cache: bool = True,
) -> Checked:
    """Stage and check the tables of ``folder``; a :class:`DataError` when it is no folder.

    Table files that are symbolic links out of ``folder`` are refused unless
    ``follow_symlinks`` is true (:func:`threeml.data.files.find_tables`). With ``cache``
    (and ``THREEML_NO_CACHE`` not set) a result kept for the same files and options is used
    instead of checking the rows again (:mod:`threeml.data.cache`).
    """
    if not folder.exists():
        raise DataError(f"no data folder at {folder}")
    if not folder.is_dir():
        raise DataError(
            f"{folder} is not a folder; point threeml at the folder holding users.csv …"
        )
    sources, staged = find_tables(folder, follow_symlinks=follow_symlinks)
    # Taken once, before a row is read: the cache's key and the extract's fingerprint.
    stamps = _stamps(sources.values())
    entry = None
    if cache and stamps is not None and cache_enabled():
        options = {
            "mode": mode.value,
            "extract_date": None if extract_date is None else str(extract_date),
            "follow_symlinks": follow_symlinks,
        }
        entry = ValidationCache.for_folder(folder, stamps, options=options)
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
            staged.append(_unreadable(name, source.name, error))
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
        if source.format == "parquet":
            header_problems += time_zone_problems(source, spec, pq.read_schema(source.path))
        staged.extend(header_problems)
        if any(p.severity is Severity.ERROR for p in header_problems):
            continue
        try:
            misaligned = extra_fields(backend.con, source, spec, header)
            if misaligned is not None:
                staged.append(misaligned)
                continue
            result = stage_file(backend.con, source, spec, header, examples=EXAMPLES_PER_KIND)
        except duckdb.Error as error:
            staged.append(_unreadable(name, source.name, error))
            continue
        staged.extend(result.problems)
        if result.malformed_rows:
            malformed[name] = result.malformed_rows
        if source.format == "csv":
            text_tables.add(name)
        present.append(name)
    checked = build_owned(
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
        cache=entry,
    )
    return attrs.evolve(checked, stamps=stamps)


def _stamps(sources: Any) -> tuple[FileStamp, ...] | None:
    """The stamp of every table file, or ``None`` when one cannot be read (validation then
    reports the file)."""
    try:
        return stamp_files(sorted(sources, key=lambda s: s.table))
    except DataError:
        return None


def _unreadable(table: str, file: str, error: Exception) -> Problem:
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if "state machine" in first:
        first = (
            "the CSV reader cannot follow its layout: lines end in a mix of LF and a "
            "carriage return alone, or quotes are not written as in standard CSV; save it "
            "again as CSV UTF-8 with one kind of line ending"
        )
    return Problem(
        table, ProblemKind.UNREADABLE_FILE, file=file, message=f"cannot read {file}: {first}"
    )
