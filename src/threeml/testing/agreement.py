"""Step 3 of :mod:`threeml.testing.conformance`: one dataset and period evaluated on the engine
and by the reference evaluator, and every disagreement in words."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from threeml.definitions import CountingDefinition, MetricDefinition
    from threeml.engine.reference import ReferenceData, ReferenceResult
    from threeml.engine.results import CountResult
    from threeml.records.periods import Period

    Definition = CountingDefinition | MetricDefinition


__all__ = ["BY", "Resolver", "check_counting", "check_metric"]

#: The breakdowns compared between the engine and the reference evaluator.
BY = ("area",)


class Resolver:
    """Looks definitions up among those being checked, then the registry, then the default."""

    def __init__(self, definitions: Iterable[Definition], registry: Any) -> None:
        self._own = {d.name: d for d in definitions}
        self._registry = registry

    @property
    def registry(self) -> Any:
        if self._registry is None:
            from threeml.plugins.registry import default_registry

            self._registry = default_registry()
        return self._registry

    def counting(self, name: str) -> CountingDefinition:
        from threeml.definitions import CountingDefinition
        from threeml.plugins.registry import UnknownDefinition, default_registry

        own = self._own.get(name)
        if isinstance(own, CountingDefinition):
            return own
        try:
            return self.registry.counting(name)
        except UnknownDefinition:
            if self.registry is default_registry():
                raise
            return default_registry().counting(name)

    def measure_kind(self, name: str) -> Any:
        from threeml.plugins.registry import UnknownMeasureKind, default_registry

        try:
            return self.registry.measure_kind(name)
        except UnknownMeasureKind:
            if self.registry is default_registry():
                raise
            return default_registry().measure_kind(name)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.registry, name)


def _where(extract: Any, period: Period) -> str:
    code = extract.as_code() if hasattr(extract, "as_code") else repr(extract)
    return (
        f'on the period "{period}" ({period.start} to {period.end}) of this dataset, '
        f"as Hypothesis shrank it:\n{code}"
    )


def _ids(values: Iterable[str]) -> str:
    values = sorted(values)
    return ", ".join(values) if values else "none"


def _first_failed(result: CountResult) -> dict[str, int | None]:
    from threeml.records.codes import Unit

    key = "enrolment_id" if result.unit is Unit.ENROLMENTS else "user_id"
    return {row[key]: row["first_failed"] for row in result.membership().to_pylist()}


def _agreement(result: CountResult, ref: ReferenceResult, data: ReferenceData) -> list[str]:
    """How the engine's result differs from the reference evaluator's (empty when it does not)."""
    from threeml.records.codes import Unit

    problems = []
    engine, reference = result.members(), ref.members
    if engine != reference:
        problems.append(
            f"who counts differs: only the engine counts {_ids(engine - reference)}; "
            f"only the reference evaluator counts {_ids(reference - engine)}"
        )
        for unit in sorted(engine ^ reference):
            failed = ref.first_failed(unit)
            if failed is None:
                problems.append(f"the reference evaluator counts {unit}")
            else:
                problems.append(
                    f"the reference evaluator leaves {unit} out at criterion {failed} "
                    f"({result.definition.criteria[failed - 1].describe()}): "
                    f"{ref.outcomes[unit][failed - 1].evidence}"
                )
    engine_failed = _first_failed(result)
    for unit in sorted(set(engine_failed) | set(ref.outcomes)):
        mine = engine_failed.get(unit, "absent")
        theirs = ref.first_failed(unit) if unit in ref.outcomes else "absent"
        if mine != theirs:
            problems.append(
                f"first failed criterion of {unit}: engine {mine}, reference evaluator {theirs}"
            )
    for label, mine, theirs in (
        ("count", result.count, ref.count),
        ("units considered", result.considered, len(ref.outcomes)),
        ("people", result.users, ref.users),
        ("records", result.records, ref.records),
        ("sequential attrition", [s.remaining for s in result.attrition], ref.sequential()),
        (
            "leave-one-out attrition",
            [s.leave_one_out for s in result.attrition],
            ref.leave_one_out(),
        ),
    ):
        if mine != theirs:
            problems.append(f"{label}: engine {mine}, reference evaluator {theirs}")
    if "area" in result.breakdowns:
        if result.unit is Unit.USERS:
            areas = Counter(data.users[u]["area"] for u in ref.members)
        else:
            owner = {e["enrolment_id"]: e["user_id"] for e in data.enrolments}
            areas = Counter(data.users[owner[e]]["area"] for e in ref.members)
        mine_areas = {row.value: row.count for row in result.breakdowns["area"]}
        if mine_areas != dict(areas):
            problems.append(
                f"breakdown by area: engine {mine_areas}, reference evaluator {dict(areas)}"
            )
    return problems


def check_counting(
    definitions: Sequence[CountingDefinition],
    resolver: Resolver,
    extract: Any,
    dataset: Any,
    period: Period,
) -> None:
    from threeml.definitions.kinds import plugin_kinds
    from threeml.engine.evaluate import count, count_many
    from threeml.engine.reference import ReferenceData, reference_count

    try:
        results = count_many(definitions, dataset, period, by=BY, registry=resolver)
    except Exception:
        # Find the definition that raised, so the message names it.
        for definition in definitions:
            try:
                count(definition, dataset, period, by=BY, registry=resolver)
            except Exception as error:
                raise AssertionError(
                    f"{definition.name}: the engine raised {type(error).__name__}: {error}\n"
                    + _where(extract, period)
                ) from error
        raise
    data = ReferenceData.from_dataset(dataset)
    kinds = plugin_kinds(resolver)
    for definition in definitions:
        try:
            ref = reference_count(definition, data, period, resolver.counting, kinds=kinds)
        except Exception as error:
            raise AssertionError(
                f"{definition.name}: the reference evaluator raised "
                f"{type(error).__name__}: {error}\n" + _where(extract, period)
            ) from error
        problems = _agreement(results[definition.name], ref, data)
        if problems:
            body = "\n".join(f"  - {p}" for p in problems)
            raise AssertionError(
                f"{definition.name}: the engine and the reference evaluator disagree:\n{body}\n"
                + _where(extract, period)
            )


def _bad_number(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def check_metric(
    metric: MetricDefinition, resolver: Resolver, extract: Any, dataset: Any, period: Period
) -> None:
    from threeml.metrics.measures import evaluate_metric, metric_to_dict
    from threeml.publish.disclosure import DEFAULT_POLICY

    try:
        result = evaluate_metric(metric, dataset, period, resolver, by=BY)
        published = metric_to_dict(result, DEFAULT_POLICY)
    except Exception as error:
        raise AssertionError(
            f"{metric.name}: evaluating the metric raised {type(error).__name__}: {error}\n"
            + _where(extract, period)
        ) from error
    problems = []
    rows = [("the total", result.total)]
    rows += [
        (f"{name} {row.group!r}", row) for name, group in result.breakdowns.items() for row in group
    ]
    for label, row in rows:
        for figure in ("numerator", "denominator", "value", "ci_low", "ci_high"):
            if _bad_number(getattr(row, figure)):
                problems.append(f"{figure} of {label} is NaN (give None, and a reason)")
        if row.value is None and not row.reason:
            problems.append(f"the value of {label} is missing and no reason says why")
    if not isinstance(published, dict):
        problems.append("metric_to_dict did not give a dict")
    if problems:
        body = "\n".join(f"  - {p}" for p in problems)
        raise AssertionError(
            f"{metric.name}: its result is not sound:\n{body}\n" + _where(extract, period)
        )
