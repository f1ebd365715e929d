"""Finding the tables of an extract in a folder and reading their headers.

A folder is a dataset when it holds one file per table, named after the table:
``users.csv`` (or ``users.csv.gz``, ``users.parquet``) and so on. Required
tables must be present; optional ones may be missing (they are then empty).
Nothing here reads data rows: that is the engine's job.
"""

from __future__ import annotations

import csv
import difflib
import gzip
import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from attrs import frozen

from threeml.data.report import Problem, ProblemKind
from threeml.errors import DataError
from threeml.records.schema import TABLES, ColumnType, Table, extra_column_refusal

__all__ = ["SourceFile", "find_tables", "read_header", "time_zone_problems"]

_SUFFIXES = {".csv": "csv", ".csv.gz": "csv", ".parquet": "parquet", ".pq": "parquet"}


@frozen
class SourceFile:
    """One table's file in a dataset folder."""

    table: str
    path: Path
    format: str  # "csv" or "parquet"

    @property
    def name(self) -> str:
        return self.path.name


def _split_suffix(path: Path) -> tuple[str, str | None]:
    name = path.name
    for suffix in sorted(_SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)], _SUFFIXES[suffix]
    return name, None


def _outside(path: Path, folder: Path) -> bool:
    """Whether ``path`` is a symbolic link whose target lies outside ``folder``."""
    if not path.is_symlink():
        return False
    return not path.resolve().is_relative_to(folder.resolve())


def find_tables(
    folder: Path, *, follow_symlinks: bool = False
) -> tuple[dict[str, SourceFile], list[Problem]]:
    """Match the files of ``folder`` to tables; report missing, doubled and unknown files.

    A table file that is a symbolic link to somewhere outside ``folder`` is refused with a
    :class:`DataError` (nothing of its target is read) unless ``follow_symlinks`` is true.
    """
    found: dict[str, list[SourceFile]] = {}
    problems: list[Problem] = []
    for path in sorted(folder.iterdir()):
        stem, fmt = _split_suffix(path)
        if fmt is None:
            continue
        if not follow_symlinks and _outside(path, folder):
            raise DataError(
                f"{path.name} in {folder} is a symbolic link to a file outside the extract "
                "folder, which threeml does not follow: copy the file into the folder instead "
                "of linking it (from Python, Dataset.from_folder(..., follow_symlinks=True) "
                "follows such links)"
            )
        if not path.is_file():
            continue
        if stem in TABLES:
            found.setdefault(stem, []).append(SourceFile(stem, path, fmt))
            continue
        close = difflib.get_close_matches(stem.lower(), list(TABLES), n=1, cutoff=0.75)
        hint = f"; did you mean {close[0]}{path.name[len(stem) :]}?" if close else ""
        problems.append(
            Problem(
                table=stem,
                kind=ProblemKind.UNKNOWN_FILE,
                file=path.name,
                message=f"{path.name} is not a threeml table and was ignored{hint} "
                f"(tables are {', '.join(TABLES)})",
            )
        )
    sources: dict[str, SourceFile] = {}
    for name, spec in TABLES.items():
        files = found.get(name, [])
        if len(files) > 1:
            names = " and ".join(f.name for f in files)
            problems.append(
                Problem(
                    table=name,
                    kind=ProblemKind.AMBIGUOUS_TABLE,
                    file=files[0].name,
                    message=f"{names} both hold table {name}; keep only one of them",
                )
            )
        elif files:
            sources[name] = files[0]
        elif spec.required:
            problems.append(
                Problem(
                    table=name,
                    kind=ProblemKind.MISSING_TABLE,
                    message=f"required table {name} is missing: add {name}.csv or "
                    f"{name}.parquet to {folder}",
                )
            )
    return sources, problems


#: The longest header line threeml reads (bytes); a longer first line is refused, unread.
HEADER_LIMIT = 1 << 20

_UTF16_32 = {
    b"\xff\xfe\x00\x00": "UTF-32",
    b"\x00\x00\xfe\xff": "UTF-32",
    b"\xff\xfe": "UTF-16",
    b"\xfe\xff": "UTF-16",
}


def _check_text_form(source: SourceFile, first: bytes) -> None:
    """Refuse a CSV file whose encoding or line endings threeml cannot read, naming them."""
    name = source.path
    marked = [encoding for mark, encoding in _UTF16_32.items() if first.startswith(mark)]
    encoding = marked[0] if marked else ("UTF-16" if b"\x00" in first[:200] else "")
    if encoding:
        raise DataError(
            f"{name} is encoded as {encoding}; threeml reads CSV files in UTF-8: save it again "
            "as UTF-8 (e.g. 'CSV UTF-8' in a spreadsheet, or iconv -f UTF-16 -t UTF-8)"
        )
    if b"\n" not in first and b"\r" in first.rstrip(b"\r"):
        raise DataError(
            f"{name} has carriage-return-only line endings (old Mac style); threeml reads "
            "lines ending in LF or CR LF: save it again with Windows or Unix line endings "
            "(e.g. tr '\\r' '\\n')"
        )
    if len(first) > HEADER_LIMIT:
        raise DataError(
            f"the first line of {name} is longer than {HEADER_LIMIT} bytes, which is no header "
            "threeml can read: check that the file is a CSV file with one header row"
        )


def read_header(source: SourceFile) -> list[str] | None:
    """The column names of a file as written, or ``None`` when the file has no header at all."""
    if source.format == "parquet":
        return list(pq.read_schema(source.path).names)
    opener = gzip.open if source.path.name.lower().endswith(".gz") else open
    with opener(source.path, "rb") as handle:
        first = handle.readline(HEADER_LIMIT + 1)
    _check_text_form(source, first)
    text = first.decode("utf-8-sig", errors="replace")
    if not text.strip():
        return None
    try:
        # strict: a quote left open (which a CSV reader would close only on a later line,
        # taking the rows between into the header) is an error, not a name.
        return [name.strip() for name in next(csv.reader(io.StringIO(text), strict=True))]
    except csv.Error as error:
        raise DataError(
            f"the header line of {source.path} cannot be read as CSV ({error}); a stray "
            "carriage return or quote sits inside it: save the file again as CSV with one "
            "header row of column names"
        ) from None


def check_header(source: SourceFile, spec: Table, header: list[str]) -> list[Problem]:
    """Problems with a header: duplicated, missing or unknown columns (with case hints)."""
    problems: list[Problem] = []
    seen: set[str] = set()
    for name in header:
        if name in seen:
            problems.append(
                Problem(
                    spec.name,
                    ProblemKind.DUPLICATE_COLUMN,
                    file=source.name,
                    row=1,
                    column=name,
                    message=f"column {name} appears more than once",
                )
            )
        seen.add(name)
    lowered = {name.lower(): name for name in header}
    for col in spec.columns:
        if col.name in seen or col.may_be_absent:
            continue
        written = lowered.get(col.name.lower())
        hint = (
            f"; the file has {written!r}, which differs only in case"
            if written
            else f"; the header is {', '.join(header) or '(empty)'}"
        )
        what = (
            f"required column {col.name} is missing"
            if col.required
            else f"column {col.name} is missing (its values may be empty, but the column "
            "must be there: leaving it out would silently read every value as empty)"
        )
        problems.append(
            Problem(
                spec.name,
                ProblemKind.MISSING_COLUMN,
                file=source.name,
                row=1,
                column=col.name,
                message=f"{what}{hint}",
            )
        )
    for name in header:
        why = extra_column_refusal(spec, name, header)
        if why is not None:
            problems.append(
                Problem(
                    spec.name,
                    ProblemKind.UNKNOWN_COLUMN,
                    file=source.name,
                    row=1,
                    column=name,
                    message=f"column {name!r} was ignored: {why} (columns are "
                    f"{', '.join(spec.column_names)})",
                )
            )
    return problems


def time_zone_problems(source: SourceFile, spec: Table, schema: pa.Schema) -> list[Problem]:
    """An error for each date column stored as timestamps *with* a time zone.

    Such a timestamp names an instant, not a day: which day it falls on depends on the time
    zone it is read in, so threeml does not guess. Timestamps without a time zone are read
    as their date (the time of day is dropped).
    """
    problems = []
    for col in spec.columns:
        if col.type is not ColumnType.DATE or col.name not in schema.names:
            continue
        kind = schema.field(col.name).type
        if pa.types.is_timestamp(kind) and kind.tz is not None:
            problems.append(
                Problem(
                    spec.name,
                    ProblemKind.TIME_ZONE,
                    file=source.name,
                    column=col.name,
                    message=f"column {col.name} holds timestamps with time zone {kind.tz}, "
                    "which name an instant, not a day; threeml does not guess the day: write "
                    "the column as dates (e.g. in pandas, .dt.tz_convert('Europe/London')"
                    ".dt.date, or in SQL, CAST(... AT TIME ZONE 'Europe/London' AS DATE))",
                )
            )
    return problems
