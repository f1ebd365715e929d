"""Aggregates over a whole table and over each of several groupings, read in one query.

A count or a metric needs the same aggregates in total and for every group of every
breakdown. Read as separate aggregates, the table is read once each (or must be stored
first); here they are the branches of one ``UNION ALL``, each tagged with the grouping it
holds (``_grouping``: 0 for the whole table, ``k`` for the k-th key), so the engine reads
the table once — DuckDB materialises a common table expression read more than once — and
returns every figure in one result. It is the portable form of ``GROUP BY GROUPING SETS``,
which ibis cannot express, and it runs on every ibis backend (DuckDB, PostgreSQL, Spark,
Polars).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ibis
import ibis.expr.types as ir

__all__ = ["GROUPING", "aggregate_groupings"]

#: The column telling which grouping a row of the result holds (0: the whole table).
GROUPING = "_grouping"

Row = dict[str, Any]


def aggregate_groupings(
    table: ir.Table,
    aggregates: Mapping[str, Callable[[ir.Table], ir.Value]],
    keys: Sequence[str],
) -> tuple[Row, dict[str, list[Row]]]:
    """The aggregates over the whole ``table`` and, for each column of ``keys``, one row per
    group (the key's value under its name), in the engine's order.

    ``aggregates`` maps each output name to a function building its aggregate over a table
    like ``table``. Over no rows the whole table's aggregates are those of SQL (a count of
    0, a sum of ``None``) and each key has no group.
    """
    types = {key: table[key].type() for key in keys}
    built = {name: build(table) for name, build in aggregates.items()}
    branches = []
    for k, key in enumerate([None, *keys]):
        grouped = (
            table.aggregate(**built) if key is None else table.group_by(key).aggregate(**built)
        )
        branches.append(
            grouped.select(
                **{GROUPING: ibis.literal(k, type="int64")},
                **{c: grouped[c] if c == key else ibis.null(t) for c, t in types.items()},
                **{name: grouped[name] for name in aggregates},
            )
        )
    query = branches[0]
    for branch in branches[1:]:
        query = query.union(branch, distinct=False)
    total: Row = dict.fromkeys(aggregates)
    groups: dict[str, list[Row]] = {key: [] for key in keys}
    names = [None, *keys]
    for row in query.to_pyarrow().to_pylist():
        key = names[row.pop(GROUPING)]
        values = {name: row[name] for name in aggregates}
        if key is None:
            total = values
        else:
            groups[key].append({key: row[key], **values})
    return total, groups
