"""A metric's cells in every interval of a series, from one facts table.

A measure kind that can evaluate a whole series at once (see
:func:`threeml.metrics.series.evaluate_metrics_series`) builds one per-unit facts table for
all the intervals, with an ``_interval`` column (the interval's position in the series) and
the breakdown columns of each interval's population (:func:`members_by_interval`), and
:func:`summarise_intervals` aggregates it into each interval's cells: the same cells, in the
same group order, as :meth:`MetricContext.summarise
<threeml.metrics.contract.MetricContext.summarise>` gives for the interval alone.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from threeml.metrics.cells import COUNT
from threeml.metrics.summaries import cell_value as _cell

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from threeml.metrics.contract import MetricContext

__all__ = ["INTERVAL", "members_by_interval", "summarise_intervals"]

#: The column holding an interval's position in the series.
INTERVAL = "_interval"

_COUNTER = itertools.count()

Cells = dict[str, Any]
Summary = tuple[Cells, dict[str, list[tuple[Any, Cells]]]]


def members_by_interval(contexts: Sequence[MetricContext]) -> ir.Table:
    """Every interval's population members: ``user_id``, ``_interval``, the interval's first
    and last day (``_start``, ``_end``) and the breakdowns.

    The breakdown columns (``_by_<name>``) are each interval's own (an age band is taken at
    that interval's end), as :meth:`MetricContext.grouped
    <threeml.metrics.contract.MetricContext.grouped>` gives them for the interval alone.
    """
    import ibis

    parts = [
        context.grouped_members().mutate(
            **{INTERVAL: ibis.literal(i, type="int64")},
            _start=ibis.literal(context.period.start, type="date"),
            _end=ibis.literal(context.period.end, type="date"),
        )
        for i, context in enumerate(contexts)
    ]
    table = parts[0]
    for part in parts[1:]:
        table = table.union(part, distinct=False)
    return table


def summarise_intervals(
    contexts: Sequence[MetricContext],
    facts: ir.Table,
    cells: Mapping[str, Callable[[ir.Table], ir.Value]],
    kinds: Mapping[str, str],
) -> list[Summary]:
    """Each interval's total cells and breakdown cells, aggregated in the engine at once.

    ``facts`` has the ``_interval`` column and the breakdown columns of
    :func:`members_by_interval`. The result is in the order of ``contexts``; an interval
    (or a group) with no rows gets the cells :meth:`MetricContext.summarise
    <threeml.metrics.contract.MetricContext.summarise>` gives an empty table.
    """
    by = tuple(contexts[0].by) if contexts else ()
    backend = contexts[0].dataset.backend if contexts else None
    stored = None
    if getattr(backend, "name", None) == "duckdb":
        stored = f"_metric_series_facts_{next(_COUNTER)}"
        facts = backend.create_table(stored, facts, temp=True)
    try:
        totals = _grouped(facts, cells, kinds, [INTERVAL])
        groups = {b: _grouped(facts, cells, kinds, [INTERVAL, f"_by_{b}"]) for b in by}
    finally:
        if stored is not None:
            backend.con.execute(f'DROP TABLE IF EXISTS "{stored}"')
    empty = {name: _cell(None, kinds.get(name, COUNT)) for name in cells}
    out: list[Summary] = []
    for i in range(len(contexts)):
        total = totals.get(i, [(None, empty)])[0][1]
        breakdowns = {b: groups[b].get(i) or [(None, dict(empty))] for b in by}
        out.append((total, breakdowns))
    return out


def _grouped(
    facts: ir.Table,
    cells: Mapping[str, Callable[[ir.Table], ir.Value]],
    kinds: Mapping[str, str],
    keys: list[str],
) -> dict[int, list[tuple[Any, Cells]]]:
    aggregates = {name: build(facts) for name, build in cells.items()}
    rows = facts.group_by(keys).aggregate(**aggregates).to_pyarrow().to_pylist()
    found: dict[int, list[tuple[Any, Cells]]] = {}
    for row in rows:
        interval = row.pop(INTERVAL)
        group = row.pop(keys[1]) if len(keys) > 1 else None
        values = {name: _cell(row[name], kinds.get(name, COUNT)) for name in cells}
        found.setdefault(interval, []).append((group, values))
    for items in found.values():
        items.sort(key=lambda item: (item[0] is None, str(item[0])))
    return found
