"""The interchange schema, derived from the record types.

:data:`TABLES` describes every table of an extract — its columns in order,
their logical types, which may be empty, the codes an enum column allows,
bounds, keys, references and cross-column rules — by reading the attrs fields
of the classes in :mod:`threeml.records`. Nothing here restates a column: the
Arrow schema, the validator, the docs and the generator all read these specs.
"""

from __future__ import annotations

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

__all__ = ["TABLES", "Column", "ColumnType", "Table", "table"]


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

    def arrow_schema(self) -> pa.Schema:
        """The Arrow schema of the table (no nullability: emptiness is checked by validation)."""
        return pa.schema([pa.field(col.name, col.arrow_type) for col in self.columns])


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
