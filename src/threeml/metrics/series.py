"""Metrics over a series of intervals.

:func:`evaluate_metrics_series` evaluates every metric in every interval, each interval as its
own period, and gives per metric one :class:`~threeml.metrics.contract.MetricResult` per
interval (``None`` where the metric could not be evaluated in that interval; the reason is
recorded in ``errors`` under ``"<metric> <interval label>"``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from threeml.definitions import MetricDefinition
from threeml.metrics.contract import MeasureKind, MetricResult
from threeml.metrics.evaluate import evaluate_metrics
from threeml.records.intervals import Interval

if TYPE_CHECKING:
    from threeml.data import Dataset
    from threeml.plugins.registry import Registry

__all__ = ["evaluate_metrics_series", "evaluate_metrics_series_per_interval"]


def evaluate_metrics_series_per_interval(
    metrics: Iterable[MetricDefinition],
    dataset: Dataset,
    intervals: Sequence[Interval],
    registry: Registry,
    *,
    by: Sequence[str] = (),
    measures: Mapping[str, MeasureKind] | None = None,
    errors: dict[str, str] | None = None,
) -> dict[str, tuple[MetricResult | None, ...]]:
    """One :func:`evaluate_metrics` per interval (the plain way, kept as the reference)."""
    metrics = list(metrics)
    per_interval = []
    for interval in intervals:
        mine: dict[str, str] | None = {} if errors is not None else None
        per_interval.append(
            evaluate_metrics(
                metrics, dataset, interval.period, registry, by=by, measures=measures, errors=mine
            )
        )
        if errors is not None and mine:
            errors.update({f"{name} {interval.label}": why for name, why in mine.items()})
    return {m.name: tuple(found.get(m.name) for found in per_interval) for m in metrics}


def evaluate_metrics_series(
    metrics: Iterable[MetricDefinition],
    dataset: Dataset,
    intervals: Sequence[Interval],
    registry: Registry,
    *,
    by: Sequence[str] = (),
    measures: Mapping[str, MeasureKind] | None = None,
    errors: dict[str, str] | None = None,
) -> dict[str, tuple[MetricResult | None, ...]]:
    """Every metric in every interval: per metric, one result per interval."""
    return evaluate_metrics_series_per_interval(
        metrics, dataset, intervals, registry, by=by, measures=measures, errors=errors
    )
