"""Counting definitions over a series of intervals.

:func:`count_series` evaluates every definition in every interval, each interval as its own
period with the semantics of a single period, and gives per definition one
:class:`~threeml.engine.results.CountResult` per interval (in the order of ``intervals``).
:func:`count_series_per_interval` is the plain way — one :func:`~threeml.engine.evaluate.count_many`
per interval — kept as the reference the differential tests and the benchmark compare with.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from threeml.data import Dataset
from threeml.definitions import CountingDefinition
from threeml.definitions.cellkey import CellKeyMethod
from threeml.definitions.contracts import DefinitionResolver
from threeml.engine.evaluate import count_many
from threeml.engine.results import CountResult
from threeml.records.intervals import Interval

__all__ = ["count_series", "count_series_per_interval"]


def count_series_per_interval(
    definitions: Iterable[CountingDefinition],
    dataset: Dataset,
    intervals: Sequence[Interval],
    *,
    by: Sequence[str] = ("area",),
    registry: DefinitionResolver | None = None,
    cell_keys: CellKeyMethod | None = None,
) -> dict[str, tuple[CountResult, ...]]:
    """One :func:`count_many` per interval (N intervals cost N evaluations)."""
    definitions = list(definitions)
    per_interval = [
        count_many(definitions, dataset, i.period, by=by, registry=registry, cell_keys=cell_keys)
        for i in intervals
    ]
    return {d.name: tuple(found[d.name] for found in per_interval) for d in definitions}


def count_series(
    definitions: Iterable[CountingDefinition],
    dataset: Dataset,
    intervals: Sequence[Interval],
    *,
    by: Sequence[str] = ("area",),
    registry: DefinitionResolver | None = None,
    cell_keys: CellKeyMethod | None = None,
) -> dict[str, tuple[CountResult, ...]]:
    """Every definition in every interval: per definition, one result per interval.

    Figures equal :func:`count_series_per_interval`'s.
    """
    return count_series_per_interval(
        definitions, dataset, intervals, by=by, registry=registry, cell_keys=cell_keys
    )
