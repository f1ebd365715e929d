"""The loading rules both engines apply, written once: lenient mode's set-aside, the extract date.

**Set aside.** In lenient mode a row with any error is left out whole; then, table by table
in the order of :data:`~threeml.records.schema.TABLES` (each table after those it refers
to), a row whose reference names a key that only rows set aside hold is left out too, as
*refers to a row set aside* (the first row of a duplicated id is kept, so a reference to
that id still finds it). :func:`set_aside_parts` writes that rule as ibis expressions over
four kinds of relation: the problem rows, the typed tables, the rows set aside so far and
the rows kept so far. The embedded engine threeml owns compiles them to SQL over its named
relations (:mod:`threeml.data.owned`); a connection threeml does not own runs them bound
to its own tables (:mod:`threeml.data.foreign`).

**Extract date.** When none is given, it is the latest date in the date columns of every
table but ``targets`` (a target's due date is a plan, not an event): :func:`event_dates`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from threeml.data.checks import ROW
from threeml.data.report import ProblemKind, Severity
from threeml.records.schema import TABLES, ColumnType

__all__ = ["ASIDE_SCHEMA", "ERROR_KINDS", "event_dates", "set_aside_parts"]

#: The problem kinds that set a row aside (errors; warnings never do).
ERROR_KINDS = tuple(kind.value for kind in ProblemKind if kind.severity is Severity.ERROR)

#: The columns of a table's rows set aside: its row number and the kind of problem.
ASIDE_SCHEMA = pa.schema([("row", pa.int64()), ("kind", pa.string())])


def set_aside_parts(
    name: str,
    problems: ir.Table,
    typed: Mapping[str, ir.Table],
    aside: Mapping[str, ir.Table],
    kept: Mapping[str, ir.Table],
) -> list[ir.Table]:
    """The rows of table ``name`` to set aside, as ``(row, kind)`` parts to stack.

    ``problems`` holds the problem rows of every table; ``typed`` the typed tables
    (``name`` and those it refers to). ``aside`` and ``kept`` hold, for each table already
    decided *that had rows set aside*, those rows (``row``, ``kind``) and the rows kept: a
    table with nothing set aside can leave no reference without its row.

    The first part is the rows of ``name`` with an error; then one part per reference to a
    table in ``aside``: the rows naming a key that only rows set aside hold.
    """
    table = typed[name]
    mine = problems.filter((problems.table == name) & problems.kind.isin(ERROR_KINDS))
    parts = [mine.select(row=mine.row, kind=mine.kind)]
    cascade = ibis.literal(ProblemKind.REFERS_TO_SET_ASIDE.value, type="string")
    for col in TABLES[name].columns:
        if not col.references or col.references[0] not in aside:
            continue
        other_name, key = col.references
        other, gone, still = typed[other_name], aside[other_name], kept[other_name].view()
        # Membership tests, not semi/anti joins: PostgreSQL cannot read the anti join ibis
        # writes after a semi join ("LEFT ANTI JOIN"); NULL keys are left out of NOT IN.
        gone_keys = other.filter(other[ROW].isin(gone.row)).select(_key=other[key])
        still_keys = still.filter(still[key].notnull())[key]
        gone_keys = gone_keys.filter(~gone_keys._key.isin(still_keys))
        orphans = table.filter(table[col.name].notnull() & table[col.name].isin(gone_keys._key))
        parts.append(orphans.select(row=orphans[ROW].cast("int64"), kind=cascade))
    return parts


def event_dates(names: Iterable[str]) -> dict[str, list[str]]:
    """The date columns that set the extract date, for each of the tables ``names``."""
    found = {
        name: [col.name for col in TABLES[name].columns if col.type is ColumnType.DATE]
        for name in names
        if name != "targets"
    }
    return {name: columns for name, columns in found.items() if columns}
