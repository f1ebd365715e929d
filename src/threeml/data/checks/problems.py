"""Problem rows: the shape every check reports in, and the row-number column.

A check selects the offending rows of a table as *problem rows* with the columns of
:data:`PROBLEM_SCHEMA` (table, row, column, value, kind, message); :func:`problem_rows`
shapes any selection so.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from threeml.data.report import ProblemKind

__all__ = ["PROBLEM_SCHEMA", "ROW", "VALUE_LIMIT", "problem_rows"]

ROW = "_row"

PROBLEM_SCHEMA = ibis.schema(
    {
        "table": "string",
        "row": "int64",
        "column": "string",
        "value": "string",
        "kind": "string",
        "message": "string",
    }
)

#: The longest value a problem quotes (characters); a longer one is cut, ending in "…".
VALUE_LIMIT = 200


def problem_rows(
    rows: ir.Table,
    table: str,
    column: str,
    value: ir.Value,
    kind: ProblemKind,
    message: ir.StringValue | str,
) -> ir.Table:
    """Shape the rows of ``rows`` as problem rows."""
    return rows.select(
        table=ibis.literal(table, type="string"),
        row=rows[ROW].cast("int64"),
        column=ibis.literal(column, type="string"),
        value=_shortened(value.cast("string")),
        kind=ibis.literal(kind.value, type="string"),
        message=ibis.literal(message, type="string") if isinstance(message, str) else message,
    )


def _shortened(text: ir.StringValue) -> ir.StringValue:
    return (text.length() > VALUE_LIMIT).ifelse(text.substr(0, VALUE_LIMIT) + "…", text)
