"""The interchange schema, derived from the record types.

:data:`TABLES` describes every table of an extract — its columns in order,
their logical types, which may be empty, the codes an enum column allows,
bounds, keys, references and cross-column rules — by reading the attrs fields
of the classes in :mod:`threeml.records`. Nothing here restates a column: the
Arrow schema, the validator, the docs and the generator all read these specs.
"""

from __future__ import annotations

import difflib
import types
import typing
from datetime import date
from enum import Enum, StrEnum
from typing import Any

import attrs
import pyarrow as pa
from attrs import frozen

from threeml.records import rows as records
from threeml.records.rows import column_info

__all__ = [
    "RESERVED_EXTRA_NAMES",
    "TABLES",
    "Column",
    "ColumnType",
    "Table",
    "extra_column_refusal",
    "table",
]


class ColumnType(StrEnum):
    """The logical type of a column."""

    ID = "id"
    TEXT = "text"
    INTEGER = "integer"
    NUMBER = "number"
    DATE = "date"
    CODE = "code"
    CODE_LIST = "code list"


_ARROW = {
    ColumnType.ID: pa.string(),
    ColumnType.TEXT: pa.string(),
    ColumnType.INTEGER: pa.int64(),
    ColumnType.NUMBER: pa.float64(),
    ColumnType.DATE: pa.date32(),
    ColumnType.CODE: pa.string(),
    ColumnType.CODE_LIST: pa.list_(pa.string()),
}

#: The engine (SQL) type used for each logical type.
SQL_TYPES = {
    ColumnType.ID: "VARCHAR",
    ColumnType.TEXT: "VARCHAR",
    ColumnType.INTEGER: "BIGINT",
    ColumnType.NUMBER: "DOUBLE",
    ColumnType.DATE: "DATE",
    ColumnType.CODE: "VARCHAR",
    ColumnType.CODE_LIST: "VARCHAR[]",
}


@frozen
class Column:
    """One column of one table."""

    name: str
    type: ColumnType
    required: bool
    doc: str
    codes: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    key: bool = False
    references: tuple[str, str] | None = None
    #: Whether a file may leave the column out altogether (then read as empty).
    may_be_absent: bool = False

    @property
    def arrow_type(self) -> pa.DataType:
        return _ARROW[self.type]

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.type]

    def describe_type(self) -> str:
        """The type in words, as the docs and error messages show it."""
        if self.type is ColumnType.DATE:
            return "date (YYYY-MM-DD)"
        if self.type is ColumnType.CODE:
            return "one of " + ", ".join(self.codes)
        if self.type is ColumnType.CODE_LIST:
            return "codes separated by ';'"
        return self.type.value


@frozen
class Table:
    """One table of an extract: its name, columns, key and rules."""

    name: str
    record: type
    required: bool
    columns: tuple[Column, ...]
    rules: tuple[Any, ...]
    doc: str
    #: Whether columns the schema does not name are kept, as text (the users table's extra
    #: attributes: GP practice, locality, deprivation decile …), rather than ignored.
    keeps_extra_columns: bool = False

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(col.name for col in self.columns)

    @property
    def key(self) -> str | None:
        return next((col.name for col in self.columns if col.key), None)

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"table {self.name} has no column {name!r}")

    def extra_columns(self, header: typing.Iterable[str]) -> tuple[str, ...]:
        """The columns of ``header`` kept beside the schema's own, in header order.

        Only a table that :attr:`keeps_extra_columns` keeps any; it keeps a column the
        schema does not name unless that name is reserved (:func:`extra_column_refusal`).
        """
        if not self.keeps_extra_columns:
            return ()
        header = list(header)
        known = set(self.column_names)
        return tuple(
            n for n in header if n not in known and extra_column_refusal(self, n, header) is None
        )

    def kept_columns(self, present: typing.Iterable[str]) -> tuple[str, ...]:
        """The schema's columns, then the extra columns of ``present`` it keeps."""
        return (*self.column_names, *self.extra_columns(present))

    def arrow_schema(self) -> pa.Schema:
        """The Arrow schema of the table (no nullability: emptiness is checked by validation)."""
        return pa.schema([pa.field(col.name, col.arrow_type) for col in self.columns])


#: Names an extra column may not have: the breakdowns threeml derives from other columns.
RESERVED_EXTRA_NAMES = ("age_band", "risk_band")


def extra_column_refusal(spec: Table, name: str, header: typing.Iterable[str]) -> str | None:
    """Why column ``name`` of ``header`` is not kept as an extra column of ``spec`` (``None``:
    it is kept, or it is one of the schema's own columns)."""
    known = set(spec.column_names)
    if name in known:
        return None
    if not spec.keeps_extra_columns:
        return f"it is not part of table {spec.name}"
    lowered = name.lower()
    if not name.strip():
        return "it has no name"
    if name.startswith("_"):
        return "names beginning with '_' are threeml's own"
    if lowered in {c.lower() for c in known}:
        return "it differs from a column of the schema only in case"
    if lowered in RESERVED_EXTRA_NAMES:
        return f"{lowered!r} is the name of a breakdown threeml derives"
    spelt = difflib.get_close_matches(
        "_".join(lowered.split()), [c.lower() for c in known], n=1, cutoff=0.8
    )
    if spelt:
        return (
            f"it looks like a misspelling of {spelt[0]} (rename it to load its values as "
            f"{spelt[0]}; an extra column needs a name unlike the schema's)"
        )
    if sum(1 for other in header if other.lower() == lowered) > 1:
        return "another column has the same name but for case"
    return None


def _column_from(attribute: attrs.Attribute, hint: Any) -> Column:
    info = column_info(attribute)
    required = True
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        members = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        required = len(members) == len(typing.get_args(hint))
        hint = members[0]
    codes: tuple[str, ...] = ()
    if isinstance(hint, type) and issubclass(hint, Enum):
        kind = ColumnType.CODE
        codes = tuple(member.value for member in hint)
    elif typing.get_origin(hint) is tuple:
        kind = ColumnType.CODE_LIST
        required = False
    elif hint is date:
        kind = ColumnType.DATE
    elif hint is int:
        kind = ColumnType.INTEGER
    elif hint is float:
        kind = ColumnType.NUMBER
    elif hint is str:
        kind = ColumnType.ID if (info.key or info.references or required) else ColumnType.TEXT
    else:  # pragma: no cover - a new annotation in records.py needs a mapping here
        raise TypeError(f"no column type for {attribute.name}: {hint!r}")
    references = tuple(info.references.split(".", 1)) if info.references else None
    return Column(
        name=attribute.name,
        type=kind,
        required=required,
        doc=info.doc,
        codes=codes,
        minimum=info.minimum,
        maximum=info.maximum,
        key=info.key,
        references=references,  # type: ignore[arg-type]
        may_be_absent=info.may_be_absent,
    )


def _table(record: type, *, required: bool) -> Table:
    hints = typing.get_type_hints(record)
    columns = tuple(_column_from(a, hints[a.name]) for a in attrs.fields(record))
    doc = (record.__doc__ or "").strip().splitlines()[0]
    return Table(
        name=record.table,
        record=record,
        required=required,
        columns=columns,
        rules=tuple(record.rules),
        doc=doc,
        keeps_extra_columns=getattr(record, "keeps_extra_columns", False),
    )


#: Every table of an extract, in dependency order (referenced tables first).
TABLES: dict[str, Table] = {
    spec.name: spec
    for spec in (
        _table(records.User, required=True),
        _table(records.Service, required=True),
        _table(records.Enrolment, required=True),
        _table(records.Contact, required=True),
        _table(records.Outcome, required=False),
        _table(records.Allocation, required=False),
        _table(records.Target, required=False),
        _table(records.Population, required=False),
    )
}


def table(name: str) -> Table:
    """The spec of the table called ``name``."""
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(f"no table {name!r}; tables are {', '.join(TABLES)}") from None
