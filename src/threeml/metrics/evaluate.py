"""Evaluating a metric: its population counted, its measure kind found and run."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from threeml.data import Dataset
from threeml.definitions import MetricDefinition
from threeml.engine.breakdowns import user_breakdowns
from threeml.engine.membership import count_members, count_members_periods
from threeml.engine.results import CountResult
from threeml.metrics.contract import (
    MeasureKind,
    MetricContext,
    MetricError,
    MetricResult,
    PopulationNeeds,
)
from threeml.metrics.proportion import MEASURES
from threeml.records.periods import Period

if TYPE_CHECKING:
    from threeml.plugins.registry import Registry

__all__ = [
    "evaluate_metric",
    "evaluate_metrics",
    "numerator_definitions",
    "plan_metrics",
    "population_needs",
]


def _check_by(metric: MetricDefinition, by: Sequence[str], dataset: Dataset) -> None:
    allowed = user_breakdowns(dataset.table("users"))
    for name in by:
        if name not in allowed:
            raise MetricError(
                f"metric {metric.name}: cannot break down by {name!r}; metrics break down by a "
                f"users column: {', '.join(allowed)}"
            )


def _measure_kind(
    metric: MetricDefinition, registry: Registry, measures: Mapping[str, MeasureKind] | None
) -> MeasureKind:
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
    return kind


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
    _check_by(metric, by, dataset)
    kind = _measure_kind(metric, registry, measures)
    population_definition = registry.counting(population or metric.population)
    result = count_members([population_definition], dataset, period, by=by, registry=registry)
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


def _reusable(found: CountResult, definition: Any, period: Period, by: Sequence[str]) -> bool:
    """Whether a result counted elsewhere is the population a metric would count."""
    return (
        found.definition == definition
        and found.period == period
        and set(found.breakdowns) == set(by)
        and found.members_expr() is not None
    )


def plan_metrics(
    metrics: Iterable[MetricDefinition],
    dataset: Dataset,
    registry: Registry,
    by: Sequence[str],
    measures: Mapping[str, MeasureKind] | None,
    errors: dict[str, str] | None,
) -> tuple[list[tuple[MetricDefinition, MeasureKind]], dict[str, Any]]:
    """Each metric with its measure kind, and the counting definitions of their populations.

    A metric whose breakdown or kind is wrong raises, or with ``errors`` (a dict) is
    recorded there by name and left out.
    """
    from threeml.errors import ThreemlError

    planned: list[tuple[MetricDefinition, MeasureKind]] = []
    definitions: dict[str, Any] = {}
    for metric in metrics:
        try:
            _check_by(metric, by, dataset)
            kind = _measure_kind(metric, registry, measures)
            definitions.setdefault(metric.population, registry.counting(metric.population))
            planned.append((metric, kind))
        except ThreemlError as error:
            if errors is None:
                raise
            errors[metric.name] = str(error)
    return planned, definitions


def population_needs(
    planned: Sequence[tuple[MetricDefinition, MeasureKind]], dataset: Dataset, period: Period
) -> tuple[dict[str, list[Period]], tuple[str, ...]]:
    """What the planned metrics' kinds will read of their populations
    (:class:`~threeml.metrics.contract.PopulationNeeds`): per population, the other periods
    to count it over, and the users columns to keep with every stored population. A kind
    whose options cannot be read says nothing here (its evaluation reports the error)."""
    from threeml.errors import ThreemlError

    periods: dict[str, list[Period]] = {}
    columns: dict[str, None] = {}
    for metric, kind in planned:
        ask = getattr(kind, "population_needs", None)
        if ask is None:
            continue
        try:
            needs: PopulationNeeds = ask(metric, dataset, period, dict(metric.measure.options))
        except ThreemlError:
            continue
        mine = periods.setdefault(metric.population, [])
        mine.extend(p for p in needs.periods if p != period and p not in mine)
        columns.update(dict.fromkeys(needs.columns))
    return {name: found for name, found in periods.items() if found}, tuple(columns)


def numerator_definitions(metric: MetricDefinition, registry: Registry) -> list[Any]:
    """Counting definitions a ``proportion`` metric names as its numerator, counted up front
    with the populations (in the same pass) rather than by the metric on its own."""
    from threeml.errors import ThreemlError

    name = metric.measure.options.get("numerator") if metric.measure.kind == "proportion" else None
    if not name:
        return []
    try:
        return [registry.counting(name)]
    except ThreemlError:
        return []  # evaluating the metric reports it


def evaluate_metrics(
    metrics: Iterable[MetricDefinition],
    dataset: Dataset,
    period: Period | str,
    registry: Registry,
    *,
    by: Sequence[str] = (),
    measures: Mapping[str, MeasureKind] | None = None,
    errors: dict[str, str] | None = None,
    counted: Mapping[str, CountResult] | None = None,
) -> dict[str, MetricResult]:
    """Evaluate several metrics together on the shared engine (results by metric name).

    Every population, and every proportion's numerator, is counted in one
    :func:`~threeml.engine.membership.count_members` (one flags table for all of them, and
    only the members kept: no attrition or records); every
    measure kind runs with a :class:`~threeml.metrics.session.MetricSession`, so per-person
    facts that several metrics need (installed windows, merged person-time …) are computed
    and stored once, and dropped at the end. Figures are those of :func:`evaluate_metric`
    for each metric. With ``errors`` (a dict), a metric that fails with a
    :class:`~threeml.errors.ThreemlError` is recorded there by name and left out; without it
    the error is raised.

    A kind with the optional capability ``population_needs`` (see
    :class:`~threeml.metrics.contract.PopulationNeeds`) has its population counted over the
    other periods it reads, and the users columns it reads kept with the members, in that
    same pass (:func:`~threeml.engine.membership.count_members_periods`).

    ``counted`` gives results the caller already has on the same dataset (a report counts
    every definition anyway): a population found there, counted by the engine for the same
    period and breakdowns, is not counted again. Counting a population is most of the time
    of a metric family whose own queries are small.
    """
    from threeml.errors import ThreemlError
    from threeml.metrics.session import MetricSession

    period = Period.parse(period) if isinstance(period, str) else period
    planned, definitions = plan_metrics(metrics, dataset, registry, by, measures, errors)
    for metric, _ in planned:
        for extra in numerator_definitions(metric, registry):
            definitions.setdefault(extra.name, extra)
    populations = {
        name: found
        for name, found in (counted or {}).items()
        if name in definitions and _reusable(found, definitions[name], period, by)
    }
    periods, carry = population_needs(planned, dataset, period)
    wanted = [(d, period) for name, d in definitions.items() if name not in populations]
    wanted += [(definitions[name], p) for name, found in periods.items() for p in found]
    counted_too: dict[tuple[str, Period], Any] = {}
    if wanted:
        found = count_members_periods(wanted, dataset, by=by, registry=registry, carry=carry)
        for (name, p), result in found.items():
            if p == period:
                populations[name] = result
            else:
                counted_too[name, p] = result
    results: dict[str, MetricResult] = {}
    with MetricSession(
        dataset, period, tuple(by), dict(populations), counted=counted_too
    ) as session:
        for metric, kind in planned:
            context = MetricContext(
                metric,
                dataset,
                period,
                populations[metric.population],
                registry,
                tuple(by),
                dict(metric.measure.options),
                session=session,
            )
            try:
                results[metric.name] = kind.evaluate(context)
            except ThreemlError as error:
                if errors is None:
                    raise
                errors[metric.name] = str(error)
    return results
