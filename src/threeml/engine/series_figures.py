"""The figures of a series read from its long tables, shared by both units' one pass.

:func:`interval_sums` sums each figure's mask per interval (per run and prefix-summed when the
tables are per run: :mod:`threeml.engine.series_runs`); :func:`series_results` assembles one
:class:`~threeml.engine.results.CountResult` per definition per interval.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import ibis.expr.types as ir

from threeml.definitions import CountingDefinition
from threeml.engine.cellkeys import KeyRequest, key_sums
from threeml.engine.evaluate import (
    _members,
    _membership,
    _result,
    attrition_masks,
    breakdowns_within,
)
from threeml.engine.figures import aggregate, all_of, cell_keys
from threeml.engine.results import BreakdownRow, CountResult
from threeml.engine.series_aggregates import count_where
from threeml.engine.series_facts import INTERVAL
from threeml.engine.series_runs import RUN_END, run_sums
from threeml.engine.series_tables import SeriesTables

__all__ = [
    "Figures",
    "counts_by_interval",
    "criterion_names",
    "figure_masks",
    "interval_sums",
    "series_breakdowns",
    "series_results",
]


def criterion_names(
    tables: SeriesTables, definitions: Sequence[CountingDefinition]
) -> dict[str, list[str]]:
    return {d.name: [tables.columns[c] for c in d.criteria] for d in definitions}


def interval_sums(
    long: ir.Table,
    everywhere_table: ir.Table,
    masks: Mapping[str, list[str]],
    in_rows: set[str],
    keys: KeyRequest | None,
    n: int,
    extra: Mapping[str, ir.Value] | None = None,
    within: Sequence[str] = (),
    materialise: Callable[[ir.Table, str], ir.Table] | None = None,
) -> tuple[list[dict[str, int]], list[dict[str, Any]]]:
    """Per interval, how many units have every column of each mask true (and the key sums).

    When ``long`` is per (unit, run) (:mod:`threeml.engine.series_runs`), each interval's
    sums are those of the runs covering it (``materialise`` stores the sums per run).

    A mask naming a column only the long table's rows can make true is summed over those
    rows by interval; any other mask (criteria about the user alone, or none) holds the same
    in every interval and is summed once over ``everywhere_table``. ``extra`` aggregates of
    the long table are read in the same group-by. Grouped ``within`` columns as well (which
    partition the units), the rows per (interval, group) are returned beside the totals.
    """
    local = {name: m for name, m in masks.items() if in_rows.intersection(m)}
    everywhere = {name: m for name, m in masks.items() if name not in local}
    wanted = {name: all_of(long, m) for name, m in local.items()}
    metrics = {name: count_where(long, where) for name, where in wanted.items()}
    metrics.update(key_sums(long, wanted, keys))
    metrics.update(extra or {})
    out: list[dict[str, int]] = [dict.fromkeys(metrics, 0) for _ in range(n)]
    groups: list[dict[str, Any]] = []
    if metrics and RUN_END in long.columns:
        assert materialise is not None
        out, groups = run_sums(long, metrics, within, INTERVAL, n, materialise)
    elif metrics:
        for row in long.group_by([INTERVAL, *within]).agg(**metrics).to_pyarrow().to_pylist():
            sums = out[row[INTERVAL]]
            for name in metrics:
                sums[name] += int(row[name] or 0)
            groups.append(row)
    if everywhere:
        wanted = {name: all_of(everywhere_table, m) for name, m in everywhere.items()}
        metrics = {name: where.sum() for name, where in wanted.items()}
        metrics.update(key_sums(everywhere_table, wanted, keys))
        row = aggregate(everywhere_table, metrics)
        for sums in out:
            sums.update(row)
    return out, groups


def figure_masks(definitions: Sequence[CountingDefinition], names: Mapping[str, list[str]]) -> dict:
    return {"_considered": [], **attrition_masks(definitions, names)}


@attrs.frozen
class Figures:
    """Per interval (by index): each definition's figures (:func:`read_figures`), people
    (``u<j>``) and records (``r<j>``) with their key sums; per breakdown, the rows by
    interval."""

    figures: Sequence[Mapping[str, Mapping[str, Any]]]
    people: Sequence[Mapping[str, Any]]
    records: Sequence[Mapping[str, Any]]
    breakdowns: Mapping[str, Mapping[tuple[Any, ...], Mapping[str, tuple[BreakdownRow, ...]]]]


def series_results(
    tables: SeriesTables,
    definitions: Sequence[CountingDefinition],
    found: Figures,
    by: Sequence[str],
    key: str,
    complete: Callable[[int], ir.Table],
) -> dict[str, tuple[CountResult, ...]]:
    """Each definition's results, one per interval; a membership reads ``complete(k)``, the
    long tables filtered to interval ``k``, only when asked for."""
    keys, names = tables.keys, criterion_names(tables, definitions)
    out = {}
    for j, d in enumerate(definitions):
        results = []
        for k, interval in enumerate(tables.compiler.intervals):
            mine = found.figures[k][d.name]
            people, records = found.people[k], found.records[k]
            rows = {name: found.breakdowns[name].get((k,), {}).get(d.name, ()) for name in by}
            table = functools.partial(complete, k)
            results.append(
                _result(
                    interval.period,
                    d,
                    mine,
                    people[f"u{j}"],
                    records[f"r{j}"],
                    rows,
                    _lazy(_membership, table, names[d.name], key),
                    _lazy(_members, table, names[d.name], key),
                    cell_keys(mine, people.get(f"u{j}_key"), records.get(f"r{j}_key"), keys),
                )
            )
        out[d.name] = tuple(results)
    return out


def _lazy(
    make: Callable[[ir.Table, list[str], str], Callable[[], Any]],
    table: Callable[[], ir.Table],
    names: list[str],
    key: str,
) -> Callable[[], Any]:
    """``make(table(), names, key)()``, built only when called."""
    return lambda: make(table(), names, key)()


def series_breakdowns(
    tables: SeriesTables,
    flags: ir.Table,
    records: ir.Table,
    contributes: Mapping[str, ir.BooleanValue],
    definitions: Sequence[CountingDefinition],
    names: Mapping[str, list[str]],
    by: Sequence[str],
    key: str,
) -> dict[str, dict[tuple[Any, ...], dict[str, tuple[BreakdownRow, ...]]]]:
    """Per breakdown, per interval, every definition's rows: one group-by each."""
    return {
        name: breakdowns_within(
            flags, records, contributes, definitions, names, name, key, tables.keys, (INTERVAL,)
        )
        for name in by
    }


def counts_by_interval(
    figures: Sequence[Mapping[str, Mapping[str, Any]]],
    definitions: Sequence[CountingDefinition],
    prefix: str,
) -> list[dict[str, Any]]:
    """Per interval, each definition's count as ``<prefix><j>`` and its cell key as
    ``<prefix><j>_key`` (the people of a definition counting people, say)."""
    return [
        {f"{prefix}{j}": mine[d.name]["count"] for j, d in enumerate(definitions)}
        | {f"{prefix}{j}_key": mine[d.name]["key"] for j, d in enumerate(definitions)}
        for mine in figures
    ]
