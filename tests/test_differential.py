"""The engine against the reference evaluator, and properties every count must have.

The engine (:func:`threeml.engine.evaluate.count_many`, ibis on DuckDB) and the
reference evaluator (:func:`threeml.engine.reference.reference_count`, plain Python,
one unit at a time) must agree on everything a result reports: who counts, the
first criterion each unit failed, the count, users and records, both attrition
forms and the breakdowns. Each generated extract is evaluated against several
random definitions at once, since building a dataset costs more than counting.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import attrs
import strategies
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from threeml import Unit
from threeml.definitions import (
    ContactsAtLeast,
    CountingDefinition,
    MemberOf,
    RiskAtLeast,
    RiskInTopPercent,
    SectorsAtLeast,
)
from threeml.engine.evaluate import count_many
from threeml.engine.reference import ReferenceData, ReferenceResult, reference_count
from threeml.engine.results import CountResult
from threeml.records.periods import Period

SLOW = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
BY = ("area", "sex")


class Registry:
    """The smallest stand-in for the definition registry: ``counting(name)``."""

    def __init__(self, *definitions: CountingDefinition) -> None:
        self.definitions = {d.name: d for d in definitions}

    def counting(self, name: str) -> CountingDefinition:
        return self.definitions[name]


@st.composite
def scenarios(
    draw: st.DrawFn, n_definitions: int = 6
) -> tuple[strategies.Extract, Period, list[CountingDefinition]]:
    extract = draw(strategies.extracts())
    period = draw(strategies.periods(extract))
    definitions = [draw(strategies.definitions(name=f"d{i}")) for i in range(n_definitions)]
    return extract, period, definitions


def _first_failed(result: CountResult) -> dict[str, Any]:
    """Each unit's first failed criterion (None when it counts), from one membership query."""
    key = "enrolment_id" if result.unit is Unit.ENROLMENTS else "user_id"
    rows = result.membership().to_pylist()
    for row in rows:
        assert row["counted"] == (row["first_failed"] is None)
    return {row[key]: row["first_failed"] for row in rows}


def assert_agrees(result: CountResult, ref: ReferenceResult, data: ReferenceData) -> None:
    """Everything the engine reports matches the reference evaluator."""
    assert result.members() == ref.members
    first_failed = _first_failed(result)
    assert first_failed == {unit: ref.first_failed(unit) for unit in ref.outcomes}
    assert result.count == ref.count
    assert result.considered == len(ref.outcomes)
    assert (result.users, result.records) == (ref.users, ref.records)
    assert [s.remaining for s in result.attrition] == ref.sequential()
    assert [s.leave_one_out for s in result.attrition] == ref.leave_one_out()
    previous = result.considered
    for step in result.attrition:
        assert step.excluded == previous - step.remaining
        previous = step.remaining
    if "area" in result.breakdowns:
        if result.unit is Unit.USERS:
            areas = Counter(data.users[u]["area"] for u in ref.members)
        else:
            owner = {e["enrolment_id"]: e["user_id"] for e in data.enrolments}
            areas = Counter(data.users[owner[e]]["area"] for e in ref.members)
        assert {row.value: row.count for row in result.breakdowns["area"]} == dict(areas)


def assert_invariants(result: CountResult) -> None:
    """Properties of any result, whatever the definition."""
    definition = result.definition
    remaining = [s.remaining for s in result.attrition]
    assert remaining == sorted(remaining, reverse=True), "sequential attrition increased"
    assert remaining[-1] == result.count
    assert all(s.leave_one_out >= 0 for s in result.attrition)
    if definition.unit is Unit.ENROLMENTS:
        assert result.users <= result.records == result.count
    else:
        assert result.users == result.count
        if any(c.about_enrolments for c in definition.criteria):
            assert result.users <= result.records
    for name in ("area", "sex"):
        if name in result.breakdowns:
            assert sum(row.count for row in result.breakdowns[name]) == result.count
    if "service_kind" in result.breakdowns:
        kinds = [row.count for row in result.breakdowns["service_kind"]]
        assert all(n <= result.count for n in kinds)
        if definition.unit is Unit.ENROLMENTS:
            # Each enrolment is with exactly one service, of one kind.
            assert sum(kinds) == result.count
        elif any(c.about_enrolments for c in definition.criteria):
            # Every counted user has at least one record, so appears under some kind.
            assert sum(kinds) >= result.count


@settings(SLOW, max_examples=strategies.examples(25))
@given(scenarios())
def test_engine_agrees_with_the_reference_evaluator(scenario: Any) -> None:
    extract, period, definitions = scenario
    dataset = extract.dataset()
    results = count_many(definitions, dataset, period, by=BY)
    data = ReferenceData.from_dataset(dataset)
    for definition in definitions:
        result = results[definition.name]
        assert_agrees(result, reference_count(definition, data, period), data)
        assert_invariants(result)


def _stricter(definition: CountingDefinition) -> list[CountingDefinition]:
    """Variants whose parameters are at least as strict for every criterion."""
    variants = []
    counts = [
        c.count for c in definition.criteria if isinstance(c, ContactsAtLeast | SectorsAtLeast)
    ]
    if counts:
        variants.append(definition.variant(name=f"{definition.name}-count", count=max(counts) + 1))
    thresholds = [c.threshold for c in definition.criteria if isinstance(c, RiskAtLeast)]
    if thresholds:
        higher = min(1.0, max(thresholds) + 0.2)
        variants.append(definition.variant(name=f"{definition.name}-threshold", threshold=higher))
    percents = [c.percent for c in definition.criteria if isinstance(c, RiskInTopPercent)]
    if percents and min(percents) / 2 > 0:  # half of the smallest float is no percentage
        variants.append(
            definition.variant(name=f"{definition.name}-percent", percent=min(percents) / 2)
        )
    return variants


@settings(SLOW, max_examples=strategies.examples(12))
@given(st.data())
def test_more_or_stricter_criteria_never_count_more(data: st.DataObject) -> None:
    extract = data.draw(strategies.extracts(), "extract")
    period = data.draw(strategies.periods(extract), "period")
    pairs: list[tuple[CountingDefinition, CountingDefinition]] = []
    for i in range(2):
        base = data.draw(strategies.definitions(name=f"d{i}", max_criteria=3), f"definition {i}")
        extra = data.draw(strategies.criteria(), f"extra criterion {i}")
        position = data.draw(st.integers(0, len(base.criteria)), f"position {i}")
        criteria = list(base.criteria)
        criteria.insert(position, extra)
        pairs.append((base, attrs.evolve(base, name=f"{base.name}-more", criteria=criteria)))
        pairs += [(base, variant) for variant in _stricter(base)]
    definitions = list({d.name: d for pair in pairs for d in pair}.values())
    results = count_many(definitions, extract.dataset(), period, by=())
    members = {name: result.members() for name, result in results.items()}
    for looser, stricter in pairs:
        loose, strict = results[looser.name], results[stricter.name]
        assert members[stricter.name] <= members[looser.name], stricter.describe()
        assert strict.count <= loose.count
        assert strict.users <= loose.users


@settings(SLOW, max_examples=strategies.examples(12))
@given(st.data())
def test_member_of_agrees_with_the_reference_evaluator(data: st.DataObject) -> None:
    extract = data.draw(strategies.extracts(), "extract")
    period = data.draw(strategies.periods(extract), "period")
    inner = data.draw(strategies.definitions(name="inner", max_criteria=2), "inner")
    outer = data.draw(
        strategies.definitions(
            name="outer", max_criteria=2, extra=lambda: st.just(MemberOf("inner"))
        ),
        "outer",
    )
    registry = Registry(inner, outer)
    dataset = extract.dataset()
    results = count_many(
        [outer, inner], dataset, period, by=("area", "service_kind"), registry=registry
    )
    reference = ReferenceData.from_dataset(dataset)
    for definition in (outer, inner):
        ref = reference_count(definition, reference, period, registry.counting)
        assert_agrees(results[definition.name], ref, reference)
        assert_invariants(results[definition.name])
    # Being counted by "inner" means: a user counted by it, or owning an enrolment it counts;
    # whatever "outer" counts belongs to such a user.
    assert _counted_users(results["outer"]) <= _counted_users(results["inner"])


def _counted_users(result: CountResult) -> set[str]:
    return {row["user_id"] for row in result.membership().to_pylist() if row["counted"]}
