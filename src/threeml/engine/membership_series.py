"""Members-only counting over a series: each definition's members in every interval.

What :func:`~threeml.engine.membership.count_members` is to one period,
:func:`count_members_series` is to a series: the (user, interval) flags of the series' one
pass (:func:`~threeml.engine.series_tables.series_tables`, read once as an expression), of
which only each definition's final mask is kept, in one small table stored in the engine
(``user_id``, the interval, the breakdown columns of that interval, a boolean per
definition), filtered to the members of any definition in any interval. When the intervals
follow one another, no breakdown is an age band and no criterion reads contacts, the rows are
per (user, *run* of intervals) instead (:class:`~threeml.engine.membership.MemberRuns`): a
person in receipt for five years is one row, not one per quarter, and each interval's counts
are prefix sums over the runs starting and ending. Counts in total and
by group are aggregates over it by interval; no attrition, records or cell keys. A
definition the one pass cannot evaluate (:func:`~threeml.engine.series.in_one_pass`: a
plugin's criterion kind, ``member-of``, ``query``) is counted members-only in all the
intervals at once by :func:`~threeml.engine.membership.count_members_periods` (a flag per
criterion and interval, one pass for up to 24 intervals, not one per interval); one counting
enrolments, or every definition when a breakdown is by service kind or sector, by
:func:`~threeml.engine.series.count_series`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import ibis
import ibis.expr.types as ir

from threeml.data import Dataset
from threeml.data.intermediate import keep, release
from threeml.definitions import CountingDefinition
from threeml.definitions.contracts import DefinitionResolver
from threeml.definitions.kinds import registered_kinds
from threeml.engine.breakdowns import check_cardinality
from threeml.engine.criteria import handler_for
from threeml.engine.evaluate import (
    ENROLMENT_BREAKDOWNS,
    _check_breakdowns,
    _distinct_criteria,
)
from threeml.engine.figures import all_of
from threeml.engine.membership import (
    FLAGGED_PERIODS,
    MemberRuns,
    Members,
    _chosen,
    count_members_periods,
    full_count,
)
from threeml.engine.results import BreakdownRow, CountResult
from threeml.engine.series import count_series, in_one_pass
from threeml.engine.series_facts import AGE_BREAKDOWNS, INTERVAL, SeriesCompiler
from threeml.engine.series_runs import RUN_END, ordered, run_sums
from threeml.engine.series_tables import series_tables
from threeml.records.codes import Unit
from threeml.records.intervals import Interval

__all__ = ["count_members_series"]


def count_members_series(
    definitions: Iterable[CountingDefinition],
    dataset: Dataset,
    intervals: Sequence[Interval],
    *,
    by: Sequence[str] = (),
    registry: DefinitionResolver | None = None,
) -> dict[str, tuple[Members | CountResult, ...]]:
    """Per definition, its members and counts in each interval (in order), by name.

    Figures equal :func:`~threeml.engine.series.count_series`'s counts and breakdowns.
    """
    definitions = list(definitions)
    intervals = tuple(intervals)
    if not intervals:
        return {d.name: () for d in definitions}
    users = dataset.table("users")
    _check_breakdowns(by, users)
    check_cardinality(users, by)
    resolve = registry.counting if registry is not None else None
    compiler = SeriesCompiler(dataset, intervals, resolve, registered_kinds(registry))
    full_way = any(b in ENROLMENT_BREAKDOWNS for b in by)
    users_unit = [d for d in definitions if not full_way and d.unit is Unit.USERS]
    lean = [d for d in users_unit if in_one_pass(d, compiler)]
    alone = [d for d in users_unit if d not in lean]
    rest = [d for d in definitions if d not in users_unit]
    results: dict[str, tuple[Members | CountResult, ...]] = {}
    if rest:
        results.update(count_series(rest, dataset, intervals, by=by, registry=registry))
    if alone:  # members-only, up to FLAGGED_PERIODS intervals a pass (a flag per criterion
        # and interval), not one count per interval
        found: dict[tuple[str, Any], Members | CountResult] = {}
        for first in range(0, len(intervals), FLAGGED_PERIODS):
            chosen = intervals[first : first + FLAGGED_PERIODS]
            wanted = [(d, i.period) for d in alone for i in chosen]
            found.update(count_members_periods(wanted, dataset, by=by, registry=registry))
        results.update({d.name: tuple(found[d.name, i.period] for i in intervals) for d in alone})
    if lean:
        results.update(_lean(compiler, lean, by, registry))
    return {d.name: results[d.name] for d in definitions}


def _lean(
    compiler: SeriesCompiler,
    definitions: Sequence[CountingDefinition],
    by: Sequence[str],
    registry: DefinitionResolver | None,
) -> dict[str, tuple[Members, ...]]:
    results: dict[str, tuple[Members, ...]] = {}
    runs = [d for d in definitions if _by_runs(compiler, d, by)]
    rest = [d for d in definitions if d not in runs]
    if runs:
        results.update(_members(compiler, runs, by, registry, stream=True))
    if rest:
        results.update(_members(compiler, rest, by, registry, stream=False))
    return results


def _by_runs(compiler: SeriesCompiler, definition: CountingDefinition, by: Sequence[str]) -> bool:
    """Whether the definition's members are stored as runs of intervals: the intervals follow
    one another, no breakdown changes with the interval (an age band), and no criterion is
    read from contacts (kept apart from the runs, they would need the contact months)."""
    if not ordered(compiler.intervals) or any(b in AGE_BREAKDOWNS for b in by):
        return False
    return all(
        handler_for(c, compiler).contact_span(c, compiler) is None for c in definition.criteria
    )


def _members(
    compiler: SeriesCompiler,
    definitions: Sequence[CountingDefinition],
    by: Sequence[str],
    registry: DefinitionResolver | None,
    *,
    stream: bool,
) -> dict[str, tuple[Members, ...]]:
    """The members of ``definitions``, stored once: one row per (user, interval), or with
    ``stream`` per (user, run of intervals) (:mod:`~threeml.engine.series_runs`), the first
    interval ``_i`` and the first after the run ``_t``."""
    dataset = compiler.dataset
    columns = _distinct_criteria(definitions)
    stored: list[tuple[str, ir.Table]] = []

    def store(expr: ir.Table, name: str) -> ir.Table:
        table = keep(dataset.backend, expr)
        if name == "series_flags":
            # The flags are all that is read from here on (with the base, for the text ids
            # of numbered people): the facts are dropped at once, not held beside them.
            for earlier, held in stored:
                if earlier != "series_base":
                    release(held)
            stored[:] = [(n, t) for n, t in stored if n == "series_base"]
        stored.append((name, table))
        return table

    tables = series_tables(compiler, columns, list(by), None, store, (), stream=stream)
    flags = tables.flags
    if tables.person != "user_id":
        # Per run, the flags' user_id is the person's number (:mod:`.series_keys`): the
        # members hold the text ids.
        people = tables.base.select(_bu="user_id", _bp=tables.base[tables.person])
        named = flags.inner_join(people, flags.user_id == people._bp)
        flags = named.select(
            user_id=named._bu, **{c: named[c] for c in flags.columns if c != "user_id"}
        )
    masks = {
        f"d{k}": all_of(flags, [columns[c] for c in d.criteria]) for k, d in enumerate(definitions)
    }
    end = flags[RUN_END] if RUN_END in flags.columns else flags[INTERVAL] + 1
    selected = flags.select("user_id", INTERVAL, *by, **{RUN_END: end.cast("int64")}, **masks)
    members = keep(dataset.backend, selected.filter(ibis.or_(*[selected[m] for m in masks])))
    # The one pass's stored tables (millions of (enrolment, interval) rows at national
    # scale) are not read again: only the members are. Held until the evaluation ends,
    # they would stay in the engine's memory beside everything the metrics store next.
    for _, table in stored:
        release(table)
    n = len(compiler.intervals)
    totals, groups = _run_counts(members, masks, by, n)
    periods = tuple(i.period for i in compiler.intervals)
    out = {}
    for j, definition in enumerate(definitions):
        column = f"d{j}"
        series = MemberRuns(periods, members, column, tuple(by))
        out[definition.name] = tuple(
            Members(
                definition,
                interval.period,
                totals[k][column],
                {
                    name: tuple(
                        BreakdownRow(value=value, count=sums[column])
                        for value, sums in rows[k]
                        if sums[column]
                    )
                    for name, rows in groups.items()
                },
                _chosen(_within(members, k), column),
                full_count(definition, dataset, interval.period, by, registry),
                _chosen(_within(members, k), column, by),
                series=series,
            )
            for k, interval in enumerate(compiler.intervals)
        )
    return out


def _within(members: ir.Table, k: int) -> ir.Table:
    """The rows of ``members`` whose runs hold interval ``k``."""
    return members.filter(members[INTERVAL] <= k, members[RUN_END] > k)


def _run_counts(
    members: ir.Table, masks: dict[str, Any], by: Sequence[str], n: int
) -> tuple[list[dict[str, int]], dict[str, list[list[tuple[Any, dict[str, int]]]]]]:
    """Per interval, each mask's members in total, and per value of each ``by`` column (in
    group order): sums over the runs holding the interval, as prefix sums of the runs
    starting and ending (:func:`~threeml.engine.series_runs.run_sums`)."""
    metrics = {m: members[m].ifelse(1, 0).sum() for m in masks}

    def as_is(table: ir.Table, name: str) -> ir.Table:
        return table

    totals: list[dict[str, int]] | None = None
    groups: dict[str, list[list[tuple[Any, dict[str, int]]]]] = {}
    for name in by:
        found, rows = run_sums(members, metrics, [name], INTERVAL, n, as_is)
        totals = totals if totals is not None else found
        per: list[list[tuple[Any, dict[str, int]]]] = [[] for _ in range(n)]
        for row in rows:
            per[row[INTERVAL]].append((row[name], {m: int(row[m] or 0) for m in masks}))
        for items in per:
            items.sort(key=lambda item: (item[0] is None, str(item[0])))
        groups[name] = per
    if totals is None:
        totals, _ = run_sums(members, metrics, [], INTERVAL, n, as_is)
    return [{m: int(t.get(m) or 0) for m in masks} for t in totals], groups
