"""The evaluation contract for metric definitions, and the built-in ``proportion`` measure.

A metric is a :class:`~threeml.definitions.MetricDefinition`: a population (a
counting definition, by name) and a :class:`~threeml.definitions.Measure`.
A *measure kind* is an object with a ``kind`` name and an ``evaluate`` method
that turns a :class:`MetricContext` into a :class:`MetricResult`: numerator,
denominator and value (and an interval where one applies) — never a bare
number. The integrated-care metrics plugin supplies most kinds; threeml ships
``proportion`` so the contract is exercised end to end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from attrs import field, frozen

from threeml.data import Dataset
from threeml.definitions import MetricDefinition
from threeml.errors import ThreemlError
from threeml.evaluate import count_many
from threeml.periods import Period
from threeml.results import CountResult

__all__ = [
    "MEASURES",
    "MeasureKind",
    "MetricContext",
    "MetricResult",
    "Proportion",
    "evaluate_metric",
]


@frozen
class MetricContext:
    """Everything a measure needs: the data, the period, the population's result, a registry."""

    metric: MetricDefinition
    dataset: Dataset
    period: Period
    population: CountResult
    registry: Any
    by: Sequence[str] = ()


@frozen
class MetricResult:
    """A metric's figures: value = numerator / denominator (or as the measure defines)."""

    metric: MetricDefinition
    period: Period
    population: str
    numerator: float | None
    denominator: float | None
    value: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    breakdowns: Mapping[str, tuple[Mapping[str, Any], ...]] = field(factory=dict)
    details: Mapping[str, Any] = field(factory=dict)


class MeasureKind(Protocol):
    """What a measure kind provides."""

    kind: str

    def evaluate(self, context: MetricContext) -> MetricResult:
        """Compute the metric for ``context``."""
        ...


class Proportion:
    """The share of the population also counted by the ``numerator`` definition.

    Options: ``numerator`` (a counting definition name). Breakdowns by area
    give each area's numerator and denominator, which sum to the total.
    """

    kind = "proportion"

    def evaluate(self, context: MetricContext) -> MetricResult:
        name = context.metric.measure.options.get("numerator")
        if not name:
            raise ThreemlError(f"metric {context.metric.name}: proportion needs a 'numerator'")
        numerator_definition = context.registry.counting(name)
        population = context.population
        numerator = count_many(
            [numerator_definition],
            context.dataset,
            context.period,
            by=context.by,
            registry=context.registry,
        )[name]
        both = population.members() & numerator.members()
        denominator = population.count
        value = len(both) / denominator if denominator else None
        return MetricResult(
            metric=context.metric,
            period=context.period,
            population=population.definition.name,
            numerator=len(both),
            denominator=denominator,
            value=value,
        )


#: Built-in measure kinds by name.
MEASURES: dict[str, MeasureKind] = {Proportion.kind: Proportion()}


def evaluate_metric(
    metric: MetricDefinition,
    dataset: Dataset,
    period: Period | str,
    registry: Any,
    *,
    population: str | None = None,
    by: Sequence[str] = (),
    measures: Mapping[str, MeasureKind] | None = None,
) -> MetricResult:
    """Evaluate ``metric`` (over another ``population`` when given)."""
    period = Period.parse(period) if isinstance(period, str) else period
    kinds = {**MEASURES, **(measures or {})}
    kind = kinds.get(metric.measure.kind)
    if kind is None:
        raise ThreemlError(
            f"metric {metric.name}: no measure kind {metric.measure.kind!r} is installed "
            f"(known: {', '.join(sorted(kinds))})"
        )
    population_definition = registry.counting(population or metric.population)
    result = count_many([population_definition], dataset, period, by=by, registry=registry)
    context = MetricContext(
        metric, dataset, period, result[population_definition.name], registry, by
    )
    return kind.evaluate(context)
