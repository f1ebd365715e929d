"""Evaluating a metric: its population counted, its measure kind found and run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from threeml.data import Dataset
from threeml.definitions import MetricDefinition
from threeml.engine.breakdowns import user_breakdowns
from threeml.engine.evaluate import count_many
from threeml.metrics.contract import MeasureKind, MetricContext, MetricError, MetricResult
from threeml.metrics.proportion import MEASURES
from threeml.records.periods import Period

if TYPE_CHECKING:
    from threeml.plugins.registry import Registry

__all__ = ["evaluate_metric"]


def _breakdown_columns() -> list[str]:
    return user_breakdowns()


def evaluate_metric(
    metric: MetricDefinition,
    dataset: Dataset,
    period: Period | str,
    registry: Registry,
    *,
    population: str | None = None,
    by: Sequence[str] = (),
    options: Mapping[str, Any] | None = None,
    measures: Mapping[str, MeasureKind] | None = None,
) -> MetricResult:
    """Evaluate ``metric`` (over another ``population`` when given).

    The measure kind comes from ``registry`` (threeml's built-in ``proportion``
    is always there); ``measures`` adds or replaces kinds for this call only.
    ``options`` override the measure's options (``{"outcome": "emergency_admission"}``).
    ``by`` names breakdowns: columns of the users table such as ``area``.
    """
    period = Period.parse(period) if isinstance(period, str) else period
    allowed = _breakdown_columns()
    for name in by:
        if name not in allowed:
            raise MetricError(
                f"metric {metric.name}: cannot break down by {name!r}; metrics break down by a "
                f"users column: {', '.join(allowed)}"
            )
    kind = (measures or {}).get(metric.measure.kind)
    if kind is None:
        lookup = getattr(registry, "measure_kind", None)
        if lookup is not None:
            kind = lookup(metric.measure.kind)
        else:
            kind = MEASURES.get(metric.measure.kind)
    if kind is None:
        raise MetricError(
            f"metric {metric.name}: no measure kind {metric.measure.kind!r} is installed "
            f"(known: {', '.join(sorted(MEASURES))})"
        )
    population_definition = registry.counting(population or metric.population)
    result = count_many([population_definition], dataset, period, by=by, registry=registry)
    context = MetricContext(
        metric,
        dataset,
        period,
        result[population_definition.name],
        registry,
        tuple(by),
        {**metric.measure.options, **(options or {})},
    )
    return kind.evaluate(context)
