"""A series' cells read from its population's runs of intervals, with no row per member.

When a series' population was counted as runs of intervals
(:func:`~threeml.metrics.interval_cells.member_runs`: one row per person and run of
consecutive intervals), a kind whose cells are the population's people and sums of facts
dated or spread over each interval reads them without a row per (member, interval):

- the people of each interval, in total and per group, are the population's own counts
  (:func:`people_cells`), already read by the count;
- the facts are joined to the runs holding their interval and summed per (interval, group)
  in the engine (a few rows per interval come back: :func:`sums_by_interval`);
- :func:`tallies` puts them together, interval by interval, as
  :meth:`MetricContext.summarise <threeml.metrics.contract.MetricContext.summarise>` gives
  them for the interval alone: groups in group order, a group missing from the sums has
  sums of 0, an interval with no one has one group ``None``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import ibis
import ibis.expr.types as ir

from threeml.metrics.interval_cells import INTERVAL, RUN_END, RUN_START
from threeml.metrics.measures import COUNT, MetricContext
from threeml.metrics.summaries import cell_value
from threeml_integrated_care.skeleton import Tally

__all__ = ["dated_in_intervals", "in_runs", "run_counts", "sums_by_interval", "tallies"]

#: Per interval, per breakdown group (or ``None`` for the total): raw sums by name.
Sums = list[dict[tuple[str, Any] | None, dict[str, Any]]]


def dated_in_intervals(
    contexts: Sequence[MetricContext], rows: ir.Table, day: str, *, follow_up: bool = True
) -> ir.Table:
    """``rows`` whose ``day`` lies in an interval, with that interval's position
    (``_interval``): its days up to the extract date (with ``follow_up`` false, every day of
    the interval). A ``CASE`` over the intervals' first and last days, not a join with a
    table of days: a join there lets the engine join that table to the runs first (a row
    per run and day, tens of millions at national scale)."""
    when = []
    for k, context in enumerate(contexts):
        first, last = context.period.start, context.period.end
        if follow_up:
            last = min(last, context.extract_date)
        if first <= last:
            within = (rows[day] >= ibis.literal(first, "date")) & (
                rows[day] <= ibis.literal(last, "date")
            )
            when.append((within, ibis.literal(k, "int64")))
    if not when:
        return rows.filter(ibis.literal(False)).mutate(**{INTERVAL: ibis.literal(0, "int64")})
    found = rows.mutate(**{INTERVAL: ibis.cases(*when, else_=ibis.null("int64"))})
    return found.filter(found[INTERVAL].notnull())


def in_runs(rows: ir.Table, runs: ir.Table, user: str = "user_id") -> ir.Table:
    """``rows`` (with ``user`` and ``_interval``) kept where a run of ``runs`` holds their
    user in their interval, with the run's breakdown columns (``_by_<name>``)."""
    groups = [c for c in runs.columns if c.startswith("_by_")]
    r = runs.select(*groups, _ru="user_id", _ri=RUN_START, _rt=RUN_END)
    joined = rows.inner_join(
        r, [rows[user] == r._ru, rows[INTERVAL] >= r._ri, rows[INTERVAL] < r._rt]
    )
    return joined.drop("_ru", "_ri", "_rt")


def run_counts(
    contexts: Sequence[MetricContext], runs: ir.Table, flags: Mapping[str, ir.BooleanValue]
) -> Sums:
    """Per interval and group, how many members of ``runs`` (the population's runs, or rows
    with their columns) have each of ``flags`` true: the runs are counted per (run, group)
    in one group-by, and those few rows spread over the intervals each run holds
    (:func:`~threeml.metrics.interval_cells.intervals_of_runs`), with no row per member."""
    from threeml.metrics.interval_cells import intervals_of_runs

    by = [f"_by_{b}" for b in contexts[0].by]
    counted = {name: flag.ifelse(1, 0).sum() for name, flag in flags.items()}
    per_run = runs.group_by([RUN_START, RUN_END, *by]).aggregate(**counted)
    spread = intervals_of_runs(per_run, contexts)
    return sums_by_interval(contexts, spread, {name: spread[name].sum() for name in flags})


def sums_by_interval(
    contexts: Sequence[MetricContext], rows: ir.Table, sums: Mapping[str, ir.Value]
) -> Sums:
    """The aggregates ``sums`` (over ``rows``) per interval, in total and per group of each
    breakdown, from one group-by by (interval, every breakdown column): the totals and each
    breakdown's groups are added up from its rows in Python (raw sums: exact for counts)."""
    by = [f"_by_{b}" for b in contexts[0].by]
    found = rows.group_by([INTERVAL, *by]).aggregate(**sums).to_pyarrow().to_pylist()
    out: Sums = [{} for _ in contexts]
    for row in found:
        k = row[INTERVAL]
        for key in [None, *((b, row[b]) for b in by)]:
            mine = out[k].setdefault(key, {})
            for name in sums:
                value = row[name]
                if value is not None:
                    mine[name] = mine.get(name, 0) + value
    return out


def tallies(
    contexts: Sequence[MetricContext],
    sums: Sums,
    kinds: Mapping[str, str],
    people: str = "people",
    derived: Mapping[str, Any] | None = None,
) -> list[Tally]:
    """Each interval's :class:`~threeml_integrated_care.skeleton.Tally`: the cell ``people``
    from the population's counts, the other cells of ``kinds`` from ``sums`` (0 where a group
    has none), then each of ``derived`` (``cells -> value``, reading the raw sums and the
    cells before it) in order."""
    derived = dict(derived or {})
    out = []
    for k, context in enumerate(contexts):
        population = context.population

        def cells(count: int, raw: Mapping[str, Any]) -> dict[str, Any]:
            found: dict[str, Any] = {**raw, people: count}
            for name, make in derived.items():
                found[name] = make(found)
            return {name: cell_value(found.get(name), kinds.get(name, COUNT)) for name in kinds}

        total = cells(population.count, sums[k].get(None, {}))
        groups: dict[str, list[tuple[Any, dict[str, Any]]]] = {}
        for b in context.by:
            rows = [
                (row.value, cells(row.count, sums[k].get((f"_by_{b}", row.value), {})))
                for row in population.breakdowns.get(b, ())
            ]
            rows.sort(key=lambda item: (item[0] is None, str(item[0])))
            groups[b] = rows or [(None, cells(0, {}))]
        out.append(Tally(total, groups))
    return out
