"""Members-only counting over a series: each definition's members in every interval.

What :func:`~threeml.engine.membership.count_members` is to one period,
:func:`count_members_series` is to a series: the (user, interval) flags of the series' one
pass (:func:`~threeml.engine.series_facts.series_tables`, read once as an expression), of
which only each definition's final mask is kept, in one small table stored in the engine
(``user_id``, the interval, the breakdown columns of that interval, a boolean per
definition), filtered to the members of any definition in any interval. Counts in total and
by group are aggregates over it by interval; no attrition, records or cell keys. A
definition the one pass cannot evaluate (:func:`~threeml.engine.series.in_one_pass`: a
plugin's criterion kind, ``member-of``, ``query``) is counted members-only one interval at a
time (:func:`~threeml.engine.membership.count_members`); one counting enrolments, or every
definition when a breakdown is by service kind or sector, by
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
from threeml.engine.evaluate import (
    ENROLMENT_BREAKDOWNS,
    _all,
    _check_breakdowns,
    _distinct_criteria,
)
from threeml.engine.membership import Members, _chosen, count_members, full_count
from threeml.engine.results import BreakdownRow, CountResult
from threeml.engine.series import count_series, in_one_pass
from threeml.engine.series_facts import INTERVAL, SeriesCompiler, series_tables
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
    if alone:  # members-only, one interval at a time
        per_interval = [
            count_members(alone, dataset, i.period, by=by, registry=registry) for i in intervals
        ]
        results.update({d.name: tuple(found[d.name] for found in per_interval) for d in alone})
    if lean:
        results.update(_lean(compiler, lean, by, registry))
    return {d.name: results[d.name] for d in definitions}


def _lean(
    compiler: SeriesCompiler,
    definitions: Sequence[CountingDefinition],
    by: Sequence[str],
    registry: DefinitionResolver | None,
) -> dict[str, tuple[Members, ...]]:
    dataset = compiler.dataset
    columns = _distinct_criteria(definitions)
    # Rows per (user, interval): the members of each interval are read from them. (Streamed
    # tables may be runs of intervals, one row per run, which would need the runs' prefix sums.)
    stored: list[ir.Table] = []

    def store(expr: ir.Table, name: str) -> ir.Table:
        table = keep(dataset.backend, expr)
        if name == "series_flags":
            # The flags are all that is read from here on: the facts and the base they are
            # built from are dropped at once, not held beside them.
            for earlier in stored:
                release(earlier)
            stored.clear()
        stored.append(table)
        return table

    tables = series_tables(compiler, columns, list(by), None, store, ())
    flags = tables.flags
    masks = {
        f"d{k}": _all(flags, [columns[c] for c in d.criteria]) for k, d in enumerate(definitions)
    }
    selected = flags.select("user_id", INTERVAL, *by, **masks)
    members = keep(dataset.backend, selected.filter(ibis.or_(*[selected[m] for m in masks])))
    # The one pass's stored tables (millions of (enrolment, interval) rows at national
    # scale) are not read again: only the members are. Held until the evaluation ends,
    # they would stay in the engine's memory beside everything the metrics store next.
    for table in stored:
        release(table)
    n = len(compiler.intervals)
    totals = _sums(members, masks, None, n)
    groups = {name: _sums(members, masks, name, n) for name in by}
    in_interval = [members.filter(members[INTERVAL] == k) for k in range(n)]
    out = {}
    for j, definition in enumerate(definitions):
        column = f"d{j}"
        out[definition.name] = tuple(
            Members(
                definition,
                interval.period,
                totals[k].get((), {}).get(column, 0),
                {
                    name: tuple(
                        BreakdownRow(value=value[0], count=sums[column])
                        for value, sums in rows[k].items()
                        if sums[column]
                    )
                    for name, rows in groups.items()
                },
                _chosen(in_interval[k], column),
                full_count(definition, dataset, interval.period, by, registry),
                _chosen(in_interval[k], column, by),
            )
            for k, interval in enumerate(compiler.intervals)
        )
    return out


def _sums(
    members: ir.Table, masks: dict[str, Any], name: str | None, n: int
) -> list[dict[tuple[Any, ...], dict[str, int]]]:
    """Per interval, each mask's members in total (key ``()``) or per value of ``name``
    (in group order)."""
    metrics = {m: members[m].ifelse(1, 0).sum() for m in masks}
    keys = [INTERVAL] if name is None else [INTERVAL, name]
    rows = members.group_by(keys).aggregate(**metrics).to_pyarrow().to_pylist()
    if name is not None:
        rows.sort(key=lambda row: (row[name] is None, str(row[name])))
    out: list[dict[tuple[Any, ...], dict[str, int]]] = [{} for _ in range(n)]
    for row in rows:
        group = () if name is None else (row[name],)
        out[row[INTERVAL]][group] = {m: int(row[m] or 0) for m in masks}
    return out
