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

__all__ = [
    "INTERVAL",
    "RUN_END",
    "RUN_START",
    "intervals_of_runs",
    "member_runs",
    "members_by_interval",
    "summarise_intervals",
    "summarise_runs",
]

#: The column holding an interval's position in the series.
INTERVAL = "_interval"
#: The columns of a run of intervals (:func:`member_runs`): its first interval's position,
#: and the position of the first interval after it.
RUN_START, RUN_END = "_i", "_t"

_COUNTER = itertools.count()

Cells = dict[str, Any]
Summary = tuple[Cells, dict[str, list[tuple[Any, Cells]]]]


def member_runs(
    contexts: Sequence[MetricContext], also: Mapping[str, Any] | None = None
) -> ir.Table | None:
    """The population's members over the whole series as runs of intervals, when it was
    counted so (:class:`~threeml.engine.membership.MemberRuns`) over exactly the contexts'
    intervals: ``user_id``, :data:`RUN_START`, :data:`RUN_END` (positions in ``contexts``)
    and the breakdown columns (``_by_<name>``); ``None`` otherwise.

    ``also`` maps column names to other counts of the same series (each interval's
    :class:`~threeml.engine.membership.Members`, say a numerator's): each becomes a boolean
    column saying whether that definition counts the member in the run too (``None`` when
    one was not counted in the same pass).
    """
    if not contexts:
        return None
    first = contexts[0]
    series = getattr(first.population, "series", None)
    periods = tuple(context.period for context in contexts)
    if series is None or series.periods != periods or set(series.by) != set(first.by):
        return None
    if any(getattr(context.population, "series", None) is not series for context in contexts):
        return None
    others = {}
    for name, counted in (also or {}).items():
        other = getattr(counted, "series", None)
        if other is None or other.periods != periods:
            return None
        others[name] = other
    return series.runs(others)


def intervals_of_runs(runs: ir.Table, contexts: Sequence[MetricContext]) -> ir.Table:
    """``runs`` (rows with :data:`RUN_START` and :data:`RUN_END`) once per interval they hold,
    with ``_interval`` and the interval's first and last day (``_start``, ``_end``).

    A join with the small table of the intervals (one row each), read as an expression: an
    aggregate over it reads each (run, interval) once and stores none of them.
    """
    import ibis
    import pyarrow as pa

    table = ibis.memtable(
        pa.table(
            {
                "_k": pa.array(range(len(contexts)), pa.int64()),
                "_ks": pa.array([c.period.start for c in contexts], pa.date32()),
                "_ke": pa.array([c.period.end for c in contexts], pa.date32()),
            }
        )
    )
    joined = runs.inner_join(table, [runs[RUN_START] <= table._k, runs[RUN_END] > table._k])
    kept = [c for c in runs.columns if c not in (RUN_START, RUN_END)]
    return joined.select(*kept, **{INTERVAL: joined._k}, _start=joined._ks, _end=joined._ke)


def members_by_interval(contexts: Sequence[MetricContext]) -> ir.Table:
    """Every interval's population members: ``user_id``, ``_interval``, the interval's first
    and last day (``_start``, ``_end``) and the breakdowns.

    The breakdown columns (``_by_<name>``) are each interval's own (an age band is taken at
    that interval's end), as :meth:`MetricContext.grouped
    <threeml.metrics.contract.MetricContext.grouped>` gives them for the interval alone.
    A population counted as runs (:func:`member_runs`) is read from its runs.
    """
    import ibis

    runs = member_runs(contexts)
    if runs is not None:
        found = intervals_of_runs(runs, contexts)
        return found.select("user_id", INTERVAL, "_start", "_end", *_by_columns(contexts))

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


def _by_columns(contexts: Sequence[MetricContext]) -> list[str]:
    return [f"_by_{b}" for b in (contexts[0].by if contexts else ())]


def summarise_runs(
    contexts: Sequence[MetricContext],
    facts: ir.Table,
    cells: Mapping[str, Callable[[ir.Table], ir.Value]],
    kinds: Mapping[str, str],
) -> list[Summary]:
    """:func:`summarise_intervals` of facts per run: ``facts`` has :data:`RUN_START`,
    :data:`RUN_END` and the breakdown columns, and its facts hold in every interval of the
    run. The runs are stored (one row per person and run) and every interval's cells
    aggregated over them as :func:`intervals_of_runs` (no row per person and interval is
    stored)."""
    backend = contexts[0].dataset.backend if contexts else None
    stored = None
    if getattr(backend, "name", None) == "duckdb":
        stored = f"_metric_series_runs_{next(_COUNTER)}"
        facts = backend.create_table(stored, facts, temp=True)
    try:
        return summarise_intervals(
            contexts, intervals_of_runs(facts, contexts), cells, kinds, False
        )
    finally:
        if stored is not None:
            backend.con.execute(f'DROP TABLE IF EXISTS "{stored}"')


def summarise_intervals(
    contexts: Sequence[MetricContext],
    facts: ir.Table,
    cells: Mapping[str, Callable[[ir.Table], ir.Value]],
    kinds: Mapping[str, str],
    store: bool = True,
) -> list[Summary]:
    """Each interval's total cells and breakdown cells, aggregated in the engine at once.

    ``facts`` has the ``_interval`` column and the breakdown columns of
    :func:`members_by_interval`. The result is in the order of ``contexts``; an interval
    (or a group) with no rows gets the cells :meth:`MetricContext.summarise
    <threeml.metrics.contract.MetricContext.summarise>` gives an empty table. With
    ``store`` (on DuckDB) the facts are stored first, as they are read once per grouping.
    """
    by = tuple(contexts[0].by) if contexts else ()
    backend = contexts[0].dataset.backend if contexts else None
    stored = None
    if store and getattr(backend, "name", None) == "duckdb":
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
