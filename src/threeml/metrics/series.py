"""Metrics over a series of intervals.

:func:`evaluate_metrics_series` evaluates every metric in every interval, each interval as its
own period, and gives per metric one :class:`~threeml.metrics.contract.MetricResult` per
interval (``None`` where the metric could not be evaluated in that interval; the reason is
recorded in ``errors`` under ``"<metric> <interval label>"``). Its figures are always those of
:func:`evaluate_metrics_series_per_interval` (one :func:`evaluate_metrics` per interval); it
is cheaper:

- every population (and every ``proportion`` numerator) of every interval is counted by one
  :func:`~threeml.engine.membership_series.count_members_series` (members and counts only);
- the intervals' sessions share one store, so a fact table is built once per interval at
  most, and dropped at the end;
- a measure kind with the optional capability ``evaluate_series(contexts)`` (one context per
  interval, in order; a list of results back) evaluates the whole series at once, for
  example from per-person facts computed once over the whole span; a kind without it is
  evaluated interval by interval. In place of an interval's result, ``evaluate_series`` may
  give the :class:`~threeml.errors.ThreemlError` saying why that interval has none (it is
  recorded as evaluating the interval alone would); when it raises, the kind is evaluated
  interval by interval, so each interval's error is recorded alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from threeml.definitions import MetricDefinition
from threeml.errors import ThreemlError
from threeml.metrics.contract import MeasureKind, MetricContext, MetricResult
from threeml.metrics.evaluate import evaluate_metrics, numerator_definitions, plan_metrics
from threeml.records.intervals import Interval
from threeml.records.periods import Period

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
    from threeml.engine.membership_series import count_members_series
    from threeml.metrics.session import MetricSession

    intervals = list(intervals)
    metrics = list(metrics)
    found: dict[str, list[MetricResult | None]] = {m.name: [None] * len(intervals) for m in metrics}
    if not intervals:
        return {name: () for name in found}
    mine: dict[str, str] | None = {} if errors is not None else None
    planned, definitions = plan_metrics(metrics, dataset, registry, by, measures, mine)
    for metric, _ in planned:
        for extra in numerator_definitions(metric, registry):
            definitions.setdefault(extra.name, extra)
    counted = count_members_series(
        list(definitions.values()), dataset, intervals, by=tuple(by), registry=registry
    )
    span = Period(min(i.start for i in intervals), max(i.end for i in intervals))
    with MetricSession(dataset, span, tuple(by)) as store:
        sessions = [
            store.for_period(i.period, {name: counted[name][k] for name in counted})
            for k, i in enumerate(intervals)
        ]
        for metric, kind in planned:
            contexts = [
                MetricContext(
                    metric,
                    dataset,
                    interval.period,
                    counted[metric.population][k],
                    registry,
                    tuple(by),
                    dict(metric.measure.options),
                    session=sessions[k],
                )
                for k, interval in enumerate(intervals)
            ]
            results = _series(kind, contexts)
            for k, context in enumerate(contexts):
                try:
                    if results is None:
                        found[metric.name][k] = kind.evaluate(context)
                    elif isinstance(results[k], ThreemlError):
                        raise results[k]
                    else:
                        found[metric.name][k] = results[k]
                except ThreemlError as error:
                    if mine is None:
                        raise
                    mine[f"{metric.name} {intervals[k].label}"] = str(error)
    if errors is not None and mine:
        errors.update(_by_interval(mine, metrics, intervals))
    return {name: tuple(results) for name, results in found.items()}


def _series(kind: MeasureKind, contexts: list[MetricContext]) -> list[MetricResult] | None:
    """The kind's results for every interval at once, or ``None`` to evaluate one by one."""
    series = getattr(kind, "evaluate_series", None)
    if series is None:
        return None
    try:
        results = list(series(contexts))
    except ThreemlError:
        return None
    return results if len(results) == len(contexts) else None


def _by_interval(
    found: Mapping[str, str], metrics: Sequence[MetricDefinition], intervals: Sequence[Interval]
) -> dict[str, str]:
    """Errors keyed as the per-interval way keys them: a metric that could not be planned
    fails in every interval."""
    names = {m.name for m in metrics}
    out: dict[str, str] = {}
    for key, why in found.items():
        if key in names:
            out.update({f"{key} {i.label}": why for i in intervals})
        else:
            out[key] = why
    return out
