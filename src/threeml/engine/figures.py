"""Figures read off an evaluation's flags: the shared helpers below the engine's evaluators.

A per-unit table of boolean criterion columns (:mod:`threeml.engine.flags`) gives every
count and both attrition forms through one aggregate of sums (:func:`figure_sums`, named
by :func:`attrition_masks`, read back by :func:`read_figures`); :func:`all_of` is the
conjunction of a definition's columns; :func:`materialise` stores an intermediate table in
the engine. :mod:`threeml.engine.evaluate` (one period), the series and the members-only
passes all read their figures through these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import ibis.expr.types as ir

from threeml.data import Dataset
from threeml.data.intermediate import keep
from threeml.definitions import CountingDefinition
from threeml.engine.cellkeys import KeyRequest, as_cell_key, key_sums
from threeml.engine.results import AttritionStep, CellKeys

__all__ = [
    "aggregate",
    "all_of",
    "attrition_masks",
    "cell_keys",
    "figure_sums",
    "materialise",
    "read_figures",
]


def materialise(dataset: Dataset, expr: ir.Table, stem: str) -> ir.Table:
    """``expr`` stored in the engine (:func:`threeml.data.intermediate.keep`)."""
    return keep(dataset.backend, expr)


def all_of(flags: ir.Table, names: Sequence[str]) -> ir.BooleanValue:
    """True where every named criterion column is true (and on every row when none is named)."""
    expr = flags[names[0]] if names else flags[flags.columns[0]].notnull() | True
    for name in names[1:]:
        expr &= flags[name]
    return expr


def aggregate(
    table: ir.Table,
    metrics: Mapping[str, ir.Value],
    also: tuple[ir.Table, Mapping[str, ir.Value]] | None = None,
) -> dict[str, int]:
    """One aggregate query; NULL sums (no rows) read as 0.

    ``also`` (another table and its aggregates, named apart) is read in the same query: the
    two one-row aggregates side by side (a cross join of one row with one row).
    """
    found = table.aggregate(**metrics)
    if also is not None:
        other, more = also
        found = found.cross_join(other.aggregate(**more))
    row = found.to_pyarrow().to_pylist()[0]
    return {name: int(value or 0) for name, value in row.items()}


def figure_sums(
    flags: ir.Table,
    definitions: Sequence[CountingDefinition],
    names: Mapping[str, list[str]],
    keys: KeyRequest | None = None,
) -> dict[str, ir.Value]:
    """The sums over the flags that give every definition's count and both attrition forms
    (:func:`read_figures`; with the cell key of each figure when ``keys`` are asked for)."""
    wanted = {
        name: all_of(flags, mine) for name, mine in attrition_masks(definitions, names).items()
    }
    metrics: dict[str, ir.Value] = {"_considered": flags.count()}
    metrics.update({name: where.sum() for name, where in wanted.items()})
    metrics.update(key_sums(flags, {"_considered": all_of(flags, []), **wanted}, keys))
    return metrics


def attrition_masks(
    definitions: Sequence[CountingDefinition], names: Mapping[str, list[str]]
) -> dict[str, list[str]]:
    """The criterion columns each figure of :func:`read_figures` needs all true: per
    definition ``d<k>_n`` (the count), ``d<k>_s<i>`` (sequential) and ``d<k>_l<i>``
    (leave-one-out)."""
    wanted: dict[str, list[str]] = {}
    for k, definition in enumerate(definitions):
        mine = names[definition.name]
        wanted[f"d{k}_n"] = mine
        for i in range(len(mine)):
            wanted[f"d{k}_s{i}"] = mine[: i + 1]
            wanted[f"d{k}_l{i}"] = mine[:i] + mine[i + 1 :]
    return wanted


def read_figures(
    row: Mapping[str, int], definitions: Sequence[CountingDefinition], keys: KeyRequest | None
) -> dict[str, dict[str, Any]]:
    """Counts and attrition steps from the sums named by :func:`attrition_masks` (and
    ``_considered``; with ``keys``, each sum's ``<name>_key``)."""
    figures = {}
    for k, definition in enumerate(definitions):
        total = row[f"d{k}_n"]
        previous = row["_considered"]
        steps = []
        for i, criterion in enumerate(definition.criteria):
            remaining = row[f"d{k}_s{i}"]
            steps.append(
                AttritionStep(
                    index=i + 1,
                    criterion=criterion.describe(),
                    remaining=remaining,
                    excluded=previous - remaining,
                    leave_one_out=row[f"d{k}_l{i}"] - total,
                    key=as_cell_key(row.get(f"d{k}_s{i}_key"), keys),
                    leave_one_out_key=as_cell_key(row.get(f"d{k}_l{i}_key"), keys),
                )
            )
            previous = remaining
        figures[definition.name] = {
            "count": total,
            "considered": row["_considered"],
            "attrition": tuple(steps),
            "key": as_cell_key(row.get(f"d{k}_n_key"), keys),
            "considered_key": as_cell_key(row.get("_considered_key"), keys),
        }
    return figures


def cell_keys(
    figures: Mapping[str, Any], users: int | None, records: int | None, keys: KeyRequest | None
) -> CellKeys | None:
    if keys is None:
        return None
    return CellKeys(
        count=figures["key"],
        users=as_cell_key(users, keys),
        records=as_cell_key(records, keys),
        considered=figures["considered_key"],
    )
