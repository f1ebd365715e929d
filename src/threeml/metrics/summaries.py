"""A metric's cells, the total's and every breakdown's, read in one aggregate query.

:meth:`MetricContext.summarise <threeml.metrics.contract.MetricContext.summarise>` needs the
cells of the total and of every group of every breakdown: they are read in one query that
evaluates the facts once (:func:`threeml.engine.groupings.aggregate_groupings`), not as
separate aggregates over a stored copy of the facts. Importing this module does not import
ibis.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from threeml.metrics.cells import AMOUNT, COUNT

if TYPE_CHECKING:
    import ibis.expr.types as ir

__all__ = ["cell_value", "summarise_facts"]

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
    ``(group, cells)`` pairs in group order, from one query
    (:func:`~threeml.engine.groupings.aggregate_groupings`).

    A breakdown with no rows gets one group, ``None``, with the cells of no rows.
    """
    from threeml.engine.groupings import aggregate_groupings  # loads ibis: only when used

    def values(row: Mapping[str, Any]) -> Cells:
        return {name: cell_value(row.get(name), kinds.get(name, COUNT)) for name in cells}

    total, groups = aggregate_groupings(facts, cells, [f"_by_{b}" for b in by])
    breakdowns = {}
    for b in by:
        rows = [(row[f"_by_{b}"], values(row)) for row in groups[f"_by_{b}"]]
        rows.sort(key=lambda item: (item[0] is None, str(item[0])))
        breakdowns[b] = rows or [(None, values({}))]
    return values(total), breakdowns
