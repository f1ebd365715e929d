"""Arm comparison over a series: every interval's allocations and outcomes at once.

:func:`series_arms` (the kind's ``series_prepare``) builds one facts table for all the
intervals — each interval's members' first allocation per trial dated in it, with its
outcomes within ``days`` — and reads in one group-by per breakdown every interval's cells for
every trial, in total and by group; each interval's tally then reads them
(:func:`series_values`) instead of querying. The cells are counts of allocations, so the
cells of all trials together (no trial chosen) are the sums over the trials.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import ibis
import ibis.expr.types as ir
from attrs import frozen

from threeml.metrics.interval_cells import INTERVAL
from threeml.metrics.measures import MetricContext
from threeml.records.codes import Arm
from threeml_integrated_care.facts import lit, outcomes, shift
from threeml_integrated_care.series_facts import series_members, shared_series
from threeml_integrated_care.skeleton import Cell, Cells, Plan

__all__ = ["ArmCells", "of_outcome", "outcome_facts", "series_arms", "series_values"]


def outcome_facts(
    context: MetricContext,
    allocations: ir.Table,
    plan: Plan,
    keep: Sequence[str] = (),
    kinds: Sequence[str] | None = None,
) -> ir.Table:
    """Per allocation, its arm and its outcomes within ``days`` of allocation.

    An allocation is told apart by ``trial``, ``user_id`` and the ``keep`` columns (the
    interval of a series); every column of ``allocations`` but ``arm`` and ``allocated_on``
    (the breakdowns, say) is carried through. The outcomes are ``events`` and ``had`` of the
    plan's outcome or, with ``kinds``, the events of each of those outcome kinds
    (``events_<kind>``, from one read of the outcomes; :func:`of_outcome` chooses one).
    """
    chosen = [plan["outcome"]] if kinds is None else list(kinds)
    o = outcomes(context, chosen).select(_ou="user_id", _on="date", _ok="kind")
    a = allocations.mutate(_to=shift(allocations.allocated_on, plan["days"] - 1))
    hits = a.inner_join(o, [a.user_id == o._ou, o._on >= a.allocated_on, o._on <= a._to])
    units = [*keep, "trial", "user_id"]
    counts = {f"events_{k}": (hits._ok == k).ifelse(1, 0).sum() for k in chosen}
    events = hits.group_by(units).agg(**counts)
    events = events.rename(**{f"_e{i}": unit for i, unit in enumerate(units)})
    facts = a.left_join(events, [a[unit] == events[f"_e{i}"] for i, unit in enumerate(units)])
    carried = [c for c in allocations.columns if c not in ("arm", "allocated_on")]
    facts = facts.select(
        *carried,
        intervention=facts.arm == Arm.INTERVENTION.value,
        control=facts.arm == Arm.CONTROL.value,
        short=facts._to > lit(context.extract_date),
        **{name: ibis.coalesce(facts[name], 0) for name in counts},
    )
    return facts if kinds is not None else of_outcome(facts, plan["outcome"])


def of_outcome(facts: ir.Table, outcome: str) -> ir.Table:
    """:func:`outcome_facts` with ``kinds``, for one ``outcome``: its ``events`` and ``had``."""
    others = [c for c in facts.columns if not c.startswith("events_")]
    chosen = facts.select(*others, events=facts[f"events_{outcome}"])
    return chosen.mutate(had=chosen.events > 0)


@frozen
class ArmCells:
    """One interval's cells: per trial in total, and per breakdown per trial by group."""

    totals: Mapping[str, Cells]
    groups: Mapping[str, Mapping[str, Sequence[tuple[Any, Cells]]]]
    names: Sequence[str]

    def cells(
        self, trial: str | None, by: Sequence[str]
    ) -> tuple[Cells, dict[str, list[tuple[Any, Cells]]]]:
        """The total and the groups of ``trial`` (all trials added up when ``None``), as
        :meth:`MetricContext.summarise` gives them (zeros, and one empty group, for no rows)."""
        trials = list(self.totals) if trial is None else [trial]
        zero = dict.fromkeys(self.names, 0)
        total = _added([self.totals[t] for t in trials if t in self.totals], zero)
        groups = {}
        for name in by:
            rows: dict[Any, list[Cells]] = {}
            for t in trials:
                for group, cells in self.groups.get(name, {}).get(t, ()):
                    rows.setdefault(group, []).append(cells)
            ordered = sorted(rows, key=lambda g: (g is None, str(g)))
            groups[name] = [(g, _added(rows[g], zero)) for g in ordered] or [(None, dict(zero))]
        return total, groups


def _added(parts: Sequence[Cells], zero: Cells) -> dict[str, int]:
    return {name: sum(int(p[name]) for p in parts) for name in zero}


def _key(context: MetricContext, plan: Plan) -> tuple[Any, ...]:
    return (
        "arms",
        context.population.definition.name,
        context.period,
        plan["outcome"],
        plan["days"],
    )


def series_values(context: MetricContext, plan: Plan) -> ArmCells | None:
    """The interval's cells :func:`series_arms` computed, if it did."""
    session = context.session
    return None if session is None else session.values.get(_key(context, plan))


def series_arms(
    contexts: Sequence[MetricContext], options: Sequence[Plan], cells: Mapping[str, Cell]
) -> None:
    """Every interval's cells for every trial, in total and by group, kept on the session."""
    session, first, plan = contexts[0].session, contexts[0], options[0]
    assert session is not None
    by = [f"_by_{name}" for name in first.by]
    m = series_members(contexts)
    a = first.table("allocations").select("trial", "arm", "allocated_on", _au="user_id")
    j = m.inner_join(a, [m.user_id == a._au, a.allocated_on >= m._start, a.allocated_on <= m._end])
    allocations = j.group_by([INTERVAL, *by, "trial", "user_id"]).agg(
        arm=j.arm.argmin(j.allocated_on), allocated_on=j.allocated_on.min()
    )
    key = ("arm-facts", plan["outcome"], plan["days"])
    facts = shared_series(
        contexts, key, lambda: outcome_facts(first, allocations, plan, [INTERVAL])
    )
    aggregates = {name: cell.aggregate(facts) for name, cell in cells.items() if cell.aggregate}
    names = list(aggregates)

    def read(keys: list[str]) -> list[dict[str, Any]]:
        return facts.group_by(keys).aggregate(**aggregates).to_pyarrow().to_pylist()

    totals: list[dict[str, Cells]] = [{} for _ in contexts]
    for row in read([INTERVAL, "trial"]):
        totals[row[INTERVAL]][row["trial"]] = {n: int(row[n] or 0) for n in names}
    groups: list[dict[str, dict[str, list[tuple[Any, Cells]]]]] = [{} for _ in contexts]
    for name, column in zip(first.by, by, strict=True):
        for row in read([INTERVAL, "trial", column]):
            mine = groups[row[INTERVAL]].setdefault(name, {}).setdefault(row["trial"], [])
            mine.append((row[column], {n: int(row[n] or 0) for n in names}))
    for k, context in enumerate(contexts):
        session.values[_key(context, options[k])] = ArmCells(totals[k], groups[k], names)
