"""Small datasets from readable tables, for tests and worked examples.

:func:`make_dataset` builds a validated :class:`~threeml.data.Dataset` from
tables written the way a person would write them in a test::

    dataset = make_dataset(
        users='''
            user_id area conditions    risk_score
            u1      A    copd;diabetes 0.7
            u2      B    -             -
        ''',
        enrolments='''
            enrolment_id user_id service_id installed_on ended_on
            e1           u1      th         2013-01-10   -
        ''',
    )

The text format
---------------

- The first non-blank line is the header: column names of the table (any
  subset of its columns, in any order; the others are empty). The columns of
  each table are listed in threeml's schema reference (``threeml.records.schema.TABLES``).
- Every following line is a row. Cells are separated by whitespace; quote a
  cell that holds spaces (``"North Kent"``). ``-`` (or ``""``) is an empty cell;
  a quoted ``"-"`` is a dash.
- Alternatively, separate cells with ``|`` (a Markdown table); then spaces
  inside a cell are kept, an empty cell is empty, and a line of ``-``, ``:``
  and ``|`` (the Markdown rule under the header) is skipped.
- Blank lines and lines starting with ``#`` are ignored; indentation is too.
- Values are written as in a CSV extract: ISO dates (``2013-01-31``), codes
  (``telehealth``, ``reading``), conditions separated by ``;``.

A table may also be given as a list of dicts (column to value), a list of
tuples whose first tuple is the header, a list of records
(:class:`threeml.User` …) or an Arrow table. Values may then be Python values:
``None`` is empty, dates and enums are written out, a list or tuple of
conditions is joined with ``;``.

Defaults, so a test only writes what it is about:

- ``services``: when not given, the four services every spec case uses
  (:data:`threeml.definitions.speccase.SPEC_SERVICES`): ``th`` telehealth (health), ``tc``
  telecare (social care), ``tch`` telecare (housing) and ``tco`` telecoaching
  (third sector);
- ``users``: when not given, one user in area ``A`` for every ``user_id`` the
  other tables mention, in the order they are first mentioned;
- every other table is empty when not given.

The dataset is validated like any extract (strict by default): a mistake in
a table raises :class:`~threeml.data.InvalidDataset` naming the table, the row
(row 1 is the first row under the header) and the column, with every problem
listed in the exception's notes.
"""

from __future__ import annotations

import enum
import shlex
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

    from threeml.data import Dataset

__all__ = [
    "DEFAULT_AREA",
    "EMPTY",
    "TableInput",
    "format_table",
    "make_dataset",
    "parse_table",
    "records_text",
]

#: The cell that stands for an empty value in the whitespace-separated format.
EMPTY = "-"
#: The area of users made up for ids that the users table does not list.
DEFAULT_AREA = "A"

#: What each keyword of :func:`make_dataset` accepts.
TableInput = Any

_TABLE_NAMES = (
    "users",
    "services",
    "enrolments",
    "contacts",
    "outcomes",
    "allocations",
    "targets",
    "populations",
)


class TableSyntaxError(ValueError):
    """A readable table could not be read (a row with too many cells, an empty header …)."""


def _lines(text: str) -> list[tuple[int, str]]:
    """The meaningful lines of ``text`` with their line numbers (from 1)."""
    found = []
    for number, line in enumerate(textwrap.dedent(text).splitlines(), start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            found.append((number, stripped))
    return found


def _is_rule(line: str) -> bool:
    return set(line) <= set("|-:+ ") and "-" in line


def _split(line: str, piped: bool, where: str) -> list[str | None]:
    if piped:
        cells = [cell.strip() for cell in line.split("|")]
        if cells and cells[0] == "" and line.startswith("|"):
            cells = cells[1:]
        if cells and cells[-1] == "" and line.endswith("|"):
            cells = cells[:-1]
        return [cell or None for cell in cells]
    try:
        tokens = shlex.split(line, posix=False)
    except ValueError as error:
        raise TableSyntaxError(f"{where}: {error}") from None
    cells: list[str | None] = []
    for token in tokens:
        if len(token) >= 2 and token[0] == token[-1] and token[0] in "\"'":
            cells.append(token[1:-1] or None)  # quoted: the text itself, even "-"
        else:
            cells.append(None if token == EMPTY else token)
    return cells


def parse_table(text: str, name: str = "table") -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    """The header and rows of a readable table (see the module documentation).

    Empty cells are ``None``; every other cell is the text written.

    >>> parse_table('''
    ...     user_id area risk_score
    ...     u1      A    0.7
    ...     u2      B    -
    ... ''')
    (('user_id', 'area', 'risk_score'), [('u1', 'A', '0.7'), ('u2', 'B', None)])
    """
    lines = _lines(text)
    if not lines:
        raise TableSyntaxError(f"{name}: the table is empty; it needs at least a header line")
    first_number, header_line = lines[0]
    piped = "|" in header_line
    header = _split(header_line, piped, f"{name}, line {first_number}")
    if any(cell is None for cell in header):
        raise TableSyntaxError(f"{name}, line {first_number}: the header has an empty column name")
    columns = tuple(str(cell) for cell in header)
    duplicates = sorted({c for c in columns if columns.count(c) > 1})
    if duplicates:
        raise TableSyntaxError(
            f"{name}, line {first_number}: column {', '.join(duplicates)} appears twice"
        )
    rows = []
    for number, line in lines[1:]:
        if piped and _is_rule(line):
            continue
        cells = _split(line, piped, f"{name}, line {number}")
        if len(cells) != len(columns):
            raise TableSyntaxError(
                f"{name}, line {number}: {len(cells)} cell(s) for {len(columns)} column(s) "
                f"({' '.join(columns)}); write {EMPTY} for an empty cell"
                + ("" if piped else ' and quote a value with spaces ("North Kent")')
            )
        rows.append(tuple(cells))
    return columns, rows


def _text(value: Any) -> str | None:
    """A Python value as the text a CSV extract would hold (``None`` stays empty)."""
    if value is None:
        return None
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value) if isinstance(value, set | frozenset) else value
        return ";".join(str(_text(item)) for item in items)
    return str(value)


def _columns_and_rows(name: str, value: TableInput) -> tuple[tuple[str, ...], list[tuple]] | None:
    """A table input as (header, rows of values); ``None`` for an Arrow table or records."""
    if isinstance(value, str):
        return parse_table(value, name) if _lines(value) else ((), [])
    rows = list(value)
    if not rows:
        return (), []
    first = rows[0]
    if isinstance(first, Mapping):
        columns: list[str] = []
        for row in rows:
            columns.extend(key for key in row if key not in columns)
        return tuple(columns), [tuple(row.get(c) for c in columns) for row in rows]
    if isinstance(first, tuple | list) and all(isinstance(c, str) for c in first):
        columns_tuple = tuple(first)
        body = [tuple(row) for row in rows[1:]]
        for number, row in enumerate(body, start=1):
            if len(row) != len(columns_tuple):
                raise TableSyntaxError(
                    f"{name}, row {number}: {len(row)} value(s) for {len(columns_tuple)} "
                    f"column(s) ({' '.join(columns_tuple)})"
                )
        return columns_tuple, body
    raise TypeError(
        f"{name}: expected a readable table (text), a list of dicts, a list of tuples with a "
        f"header first, a list of records or an Arrow table; got a list of {type(first).__name__}"
    )


def _arrow(name: str, value: TableInput) -> pa.Table:
    import pyarrow as pa

    from threeml.data.dataset import records_to_arrow
    from threeml.records.schema import TABLES

    spec = TABLES[name]
    if isinstance(value, pa.Table):
        return _with_every_column(spec, value)
    if not isinstance(value, str):
        value = list(value)
        if value and isinstance(value[0], spec.record):
            return records_to_arrow(spec, value)
    columns, rows = _columns_and_rows(name, value)  # type: ignore[misc]
    if not columns:
        columns = tuple(c.name for c in spec.columns if c.required)
    table = pa.table(
        {
            column: pa.array([_text(row[i]) for row in rows], type=pa.string())
            for i, column in enumerate(columns)
        }
    )
    return _with_every_column(spec, table)


def _with_every_column(spec: Any, table: pa.Table) -> pa.Table:
    """``table`` with every column of ``spec`` it leaves out added, empty.

    An extract must name every column a file may not leave out; in the kit, as documented,
    a column left out of a table is empty.
    """
    import pyarrow as pa

    for col in spec.columns:
        if col.name not in table.column_names:
            table = table.append_column(col.name, pa.nulls(table.num_rows, pa.string()))
    return table


def _user_ids(table: pa.Table) -> list[str]:
    if "user_id" not in table.column_names:
        return []
    return [value for value in table.column("user_id").to_pylist() if value is not None]


def make_dataset(
    *,
    users: TableInput | None = None,
    services: TableInput | None = None,
    enrolments: TableInput | None = None,
    contacts: TableInput | None = None,
    outcomes: TableInput | None = None,
    allocations: TableInput | None = None,
    targets: TableInput | None = None,
    populations: TableInput | None = None,
    extract_date: date | str | None = None,
    mode: str = "strict",
) -> Dataset:
    """A validated dataset built from readable tables (see the module documentation).

    >>> dataset = make_dataset(enrolments='''
    ...     enrolment_id user_id service_id installed_on
    ...     e1           u1      th         2013-01-10
    ... ''')
    >>> dataset.count_rows()["users"]
    1
    """
    from threeml.data import Dataset, InvalidDataset
    from threeml.definitions.speccase import SPEC_SERVICES

    given: dict[str, TableInput] = {
        "users": users,
        "services": services,
        "enrolments": enrolments,
        "contacts": contacts,
        "outcomes": outcomes,
        "allocations": allocations,
        "targets": targets,
        "populations": populations,
    }
    if services is None:
        given["services"] = [
            ("service_id", "kind", "sector", "area"),
            *((sid, kind, sector, "spec") for sid, kind, sector in SPEC_SERVICES),
        ]
    arrow = {name: _arrow(name, value) for name, value in given.items() if value is not None}
    for name in ("enrolments", "contacts"):
        arrow.setdefault(name, _arrow(name, ""))
    if users is None:
        seen: list[str] = []
        for name in ("enrolments", "contacts", "outcomes", "allocations"):
            if name in arrow:
                seen.extend(u for u in _user_ids(arrow[name]) if u not in seen)
        arrow["users"] = _arrow("users", [("user_id", "area"), *((u, DEFAULT_AREA) for u in seen)])
    try:
        # Spec tables are a handful of rows, where one bad row is a large share: lenient mode
        # sets aside what it must, with no cap.
        return Dataset.from_arrow(
            arrow, extract_date=extract_date, mode=mode, source="make_dataset", max_set_aside=1.0
        )
    except InvalidDataset as error:
        for problem in error.report.examples:
            value = f" (value {problem.value!r})" if problem.value is not None else ""
            error.add_note(f"  {problem.location()}: {problem.message}{value}")
        raise


# Writing tables out, for messages a person can paste back into a test.


def _cell(value: Any) -> str:
    text = _text(value)
    if text is None or text == "":
        return EMPTY
    if any(ch.isspace() for ch in text) or text == EMPTY or text[0] in "\"'#":
        return f"'{text}'" if '"' in text else f'"{text}"'
    return text


def format_table(columns: Sequence[str], rows: Iterable[Sequence[Any]], indent: str = "") -> str:
    """A table in the whitespace-separated format :func:`parse_table` reads, columns aligned."""
    cells = [list(columns)] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = [
        indent + " ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip()
        for row in cells
    ]
    return "\n".join(lines)


def records_text(records: Iterable[Any], indent: str = "") -> str:
    """Records of one table as a readable table, leaving out optional columns no row fills."""
    from threeml.records.schema import TABLES

    records = list(records)
    if not records:
        return ""
    spec = TABLES[records[0].table]
    columns = [
        col.name
        for col in spec.columns
        if col.required or any(getattr(r, col.name) not in (None, (), "") for r in records)
    ]
    rows = [[getattr(r, name) for name in columns] for r in records]
    return format_table(columns, rows, indent)


def make_dataset_call(tables: Mapping[str, Iterable[Any]]) -> str:
    """Python source calling :func:`make_dataset` with these records, to reproduce a dataset."""
    parts = []
    for name in _TABLE_NAMES:
        records = list(tables.get(name, ()))
        if not records:
            continue
        body = records_text(records, indent="        ")
        parts.append(f'    {name}="""\n{body}\n    """,')
    return "make_dataset(\n" + "\n".join(parts) + "\n)"
