"""A metric's cells, the total's and every breakdown's, read in one aggregate query.

:meth:`MetricContext.summarise <threeml.metrics.contract.MetricContext.summarise>` needs the
cells of the total and of every group of every breakdown. Reading them as separate aggregates
reads the facts once each (or stores them first); here they are the branches of one ``UNION
ALL``, each branch tagged with the grouping it holds (``_summary_set``: 0 for the total, ``k``
for the k-th breakdown), so the engine evaluates the facts once — DuckDB materialises a
common table expression read more than once — and returns every cell in one result. It is
the portable form of ``GROUP BY GROUPING SETS``, which ibis cannot express, and it runs on
every ibis backend (DuckDB, PostgreSQL, Spark, Polars). Importing this module does not import
ibis.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from threeml.metrics.cells import AMOUNT, COUNT

if TYPE_CHECKING:
    import ibis.expr.types as ir

__all__ = ["cell_value", "summarise_facts"]

#: The column telling which grouping a row of the summary holds (0: the total).
SET = "_summary_set"

Cells = dict[str, Any]


def cell_value(value: Any, kind: str) -> Any:
    """A cell read from the engine: counts and amounts over no rows are 0."""
    if kind == COUNT:
        return int(value or 0)
    if kind == AMOUNT:
        return float(value or 0)
    return None if value is None else float(value)


def summarise_facts(
    facts: ir.Table,
    cells: Mapping[str, Callable[[ir.Table], ir.Value]],
    kinds: Mapping[str, str],
    by: Sequence[str],
) -> tuple[Cells, dict[str, list[tuple[Any, Cells]]]]:
    """The total's cells and, for each breakdown ``b`` (column ``_by_<b>`` of ``facts``),
    ``(group, cells)`` pairs in group order, from one query.

    A breakdown with no rows gets one group, ``None``, with the cells of no rows.
    """
    import ibis

    keys = {f"_by_{b}": facts[f"_by_{b}"].type() for b in by}
    aggregates = {name: build(facts) for name, build in cells.items()}
    branches = []
    for k, key in enumerate([None, *keys]):
        table = (
            facts.aggregate(**aggregates)
            if key is None
            else facts.group_by(key).aggregate(**aggregates)
        )
        branches.append(
            table.select(
                **{SET: ibis.literal(k, type="int64")},
                **{c: table[c] if c == key else ibis.null(t) for c, t in keys.items()},
                **{name: table[name] for name in cells},
            )
        )
    query = branches[0]
    for branch in branches[1:]:
        query = query.union(branch, distinct=False)
    found: dict[int, list[tuple[Any, Cells]]] = {}
    columns = [None, *keys]
    for row in query.to_pyarrow().to_pylist():
        k = row[SET]
        group = row[columns[k]] if columns[k] is not None else None
        values = {name: cell_value(row[name], kinds.get(name, COUNT)) for name in cells}
        found.setdefault(k, []).append((group, values))
    for items in found.values():
        items.sort(key=lambda item: (item[0] is None, str(item[0])))

    def rows(k: int) -> list[tuple[Any, Cells]]:
        empty = {name: cell_value(None, kinds.get(name, COUNT)) for name in cells}
        return found.get(k) or [(None, empty)]

    return rows(0)[0][1], {b: rows(k) for k, b in enumerate(by, start=1)}
