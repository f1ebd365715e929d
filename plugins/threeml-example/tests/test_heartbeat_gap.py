"""The plugin's criterion kind, ``example.heartbeat-gap-at-most``: a template for testing one.

What every criterion kind a plugin adds should be checked for:

- the engine's compilation and the reference test agree on random data (a Hypothesis
  differential test, with heartbeats made common so that both verdicts occur often), alone
  and among threeml's own criteria, for definitions counting users and enrolments;
- it reads and writes as TOML and JSON, and a file naming it reads only where it is installed;
- it works in every command: ``count`` (by name and from a TOML file), ``explain`` and
  ``compare``; and threeml's strategies draw it when given the registry.

The worked examples (every edge of the semantics) are in ``spec_cases.py`` and run by
``test_example_plugin.py``.
"""

from __future__ import annotations

import functools
import json
from datetime import timedelta
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from threeml_example import plugin
from threeml_example.heartbeat import HEARTBEAT_GAP, HeartbeatGapAtMost, heartbeat_gaps

from threeml import Contact
from threeml.cli import main
from threeml.data.demo import demo_folder
from threeml.definitions import (
    CRITERIA,
    DefinitionFileError,
    EnrolmentOverlaps,
    from_json,
    from_toml,
    to_json,
    to_toml,
)
from threeml.definitions.kinds import CriterionKind, criterion_classes
from threeml.engine.errors import UnhandledCriterionKind
from threeml.engine.evaluate import count, count_many
from threeml.engine.reference import ReferenceData, reference_count
from threeml.records.codes import Unit
from threeml.records.periods import Period
from threeml.testing import isolated_registry, strategies

STEADY = "example.heartbeat-steady"
SLOW = settings(
    deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


@functools.cache
def registry() -> Any:
    """The example plugin on its own, as threeml loads it (its criterion kind included)."""
    return isolated_registry(plugin)


# The engine agrees with the reference evaluator.


@st.composite
def heartbeat_extracts(draw: st.DrawFn) -> strategies.Extract:
    """Extracts rich in heartbeats: most contacts turned into heartbeats, and on some
    installed enrolments a pendant reporting every few days (so both verdicts are common)."""
    extract = draw(strategies.extracts())
    contacts = [
        attrs.evolve(c, kind="heartbeat") if draw(st.integers(0, 3)) else c
        for c in extract.contacts
    ]
    for e in extract.enrolments:
        step = draw(st.none() | st.integers(3, 12))
        if e.installed_on is None or step is None:
            continue
        last = e.ended_on or strategies.day(strategies.SPAN + 10)
        day = e.installed_on + timedelta(days=draw(st.integers(0, step)))
        while day <= last:
            contacts.append(Contact(e.user_id, e.enrolment_id, day, "heartbeat"))
            day += timedelta(days=step + draw(st.integers(-2, 2)))
    return attrs.evolve(extract, contacts=tuple(contacts))


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[strategies.Extract, Period, list]:
    extract = draw(heartbeat_extracts())
    period = draw(strategies.periods(extract))
    definitions = [
        draw(
            strategies.definitions(
                name=f"d{i}", max_criteria=2, min_criteria=0, extra=heartbeat_gaps
            )
        )
        for i in range(4)
    ]
    return extract, period, definitions


def _first_failed(result: Any) -> dict[str, int | None]:
    key = "enrolment_id" if result.unit is Unit.ENROLMENTS else "user_id"
    return {row[key]: row["first_failed"] for row in result.membership().to_pylist()}


@settings(SLOW, max_examples=strategies.examples(25))
@given(scenarios())
def test_the_engine_agrees_with_the_reference_evaluator(scenario: Any) -> None:
    extract, period, definitions = scenario
    dataset = extract.dataset()
    results = count_many(definitions, dataset, period, by=("area",), registry=registry())
    data = ReferenceData.from_dataset(dataset)
    kinds = registry().criterion_kinds()
    for definition in definitions:
        result = results[definition.name]
        ref = reference_count(definition, data, period, kinds=kinds)
        assert result.members() == ref.members
        assert _first_failed(result) == {unit: ref.first_failed(unit) for unit in ref.outcomes}
        assert (result.count, result.users, result.records) == (ref.count, ref.users, ref.records)
        assert [s.remaining for s in result.attrition] == ref.sequential()
        assert [s.leave_one_out for s in result.attrition] == ref.leave_one_out()


def test_strategies_draw_the_kind_when_given_the_registry() -> None:
    from hypothesis import find

    found = find(strategies.criteria(registry()), lambda c: isinstance(c, HeartbeatGapAtMost))
    assert found.kind == HEARTBEAT_GAP.name
    assert not isinstance(
        find(strategies.criteria(), lambda c: True), HeartbeatGapAtMost
    )  # threeml's own kinds only, without a registry


# The value, and the evaluators without the plugin.


def test_the_kind_is_supplied_with_its_strategy() -> None:
    (kind,) = plugin.threeml_criterion_kinds()
    assert isinstance(kind, CriterionKind)
    assert kind.name == f"{STEADY.partition('.')[0]}.heartbeat-gap-at-most"
    assert kind.strategy is heartbeat_gaps
    assert registry().criterion_kinds()[kind.name] is kind


def test_the_criterion_checks_its_fields() -> None:
    assert HeartbeatGapAtMost(days=7, service_kinds="telecare").service_kinds == {"telecare"}
    with pytest.raises(ValueError, match="days must be at least 1"):
        HeartbeatGapAtMost(days=0)
    with pytest.raises(ValueError, match="expected any of"):
        HeartbeatGapAtMost(days=7, service_kinds=["pendant"])
    assert HeartbeatGapAtMost(days=1).describe() == (
        "no gap of more than 1 day between counting heartbeats in the period, "
        "counting from its first day to its last"
    )


def test_without_the_plugin_the_evaluators_say_which_plugin_supplies_it() -> None:
    case = next(c for c in plugin.SPEC_CASES if c.definition == STEADY)
    definition = registry().counting(STEADY)
    dataset = case.dataset()
    with pytest.raises(UnhandledCriterionKind) as engine:
        count(definition, dataset, case.period)
    with pytest.raises(UnhandledCriterionKind) as reference:
        reference_count(definition, ReferenceData.from_dataset(dataset), Period.parse(case.period))
    for caught in (engine, reference):
        message = str(caught.value)
        assert f"'{HEARTBEAT_GAP.name}'" in message
        assert HeartbeatGapAtMost.__module__.partition(".")[0] in message
        assert "contacts-at-least" in message


# Files.


def test_a_definition_using_it_round_trips_where_it_is_installed() -> None:
    definition = registry().counting(STEADY)
    installed = criterion_classes(registry())
    text = to_toml(definition)
    assert f'kind = "{HEARTBEAT_GAP.name}"' in text
    assert from_toml(text, criteria=installed) == definition
    assert from_json(to_json(definition), criteria=installed) == definition


def test_a_file_naming_it_without_the_plugin_lists_the_installed_kinds() -> None:
    definition = registry().counting(STEADY)
    with pytest.raises(DefinitionFileError) as caught:
        from_toml(to_toml(definition), "steady.toml", criteria=CRITERIA)
    message = str(caught.value)
    assert "steady.toml" in message and "criterion 2" in message
    assert f"'{HEARTBEAT_GAP.name}'" in message
    assert "contacts-at-least" in message
    assert "plugin" in message


# The commands.


@pytest.fixture()
def steady_file(tmp_path):
    """A user's own TOML file using the plugin's kind: a 14-day gap, any service."""
    definition = attrs.evolve(
        registry().counting(STEADY),
        name="local.heartbeat-fortnightly",
        title="Alarms never silent for more than 14 days",
        criteria=(EnrolmentOverlaps(service_kinds={"telecare"}), HeartbeatGapAtMost(days=14)),
        source=None,
    )
    path = tmp_path / "fortnightly.toml"
    path.write_text(to_toml(definition))
    return path, definition


def _json(capsys: Any, *args: str) -> dict:
    assert main(list(args)) == 0
    return json.loads(capsys.readouterr().out)


DATA = ("--data", str(demo_folder()), "--period", "2013-Q4")


def test_count_by_name_and_from_a_toml_file(capsys, steady_file) -> None:
    path, definition = steady_file
    by_name = _json(capsys, "count", STEADY, *DATA, "--format", "json")
    from_file = _json(capsys, "count", "--definition", str(path), *DATA, "--format", "json")
    assert by_name["definition"] == STEADY
    assert from_file["definition"] == definition.name
    # A longer gap allowed on any service's heartbeats never counts fewer people.
    assert from_file["count"] >= by_name["count"] > 0


def test_explain_gives_the_longest_gap(capsys) -> None:
    # On the demo extract: someone counted and someone not, each with the gap in words.
    result = count(registry().counting(STEADY), _demo(), "2013-Q4", registry=registry())
    rows = result.membership()
    counted = [r["user_id"] for r in rows.to_pylist() if r["counted"]]
    failed = [r["user_id"] for r in rows.to_pylist() if r["first_failed"] == 2]
    for user, verdict in ((counted[0], "is counted"), (failed[0], "is not counted")):
        assert main(["explain", STEADY, user, *DATA]) == 0
        text = capsys.readouterr().out
        assert f"{user} {verdict} by {STEADY}" in text
        assert "longest gap" in text or "no counting heartbeat" in text


def test_compare_puts_it_beside_the_other_heartbeat_definition(capsys) -> None:
    assert main(["compare", STEADY, "example.pendant-heartbeat-7d", *DATA]) == 0
    text = capsys.readouterr().out
    assert STEADY in text and "example.pendant-heartbeat-7d" in text


@functools.cache
def _demo() -> Any:
    from threeml.data import Dataset

    return Dataset.from_folder(demo_folder())


# In a series: the kind's ``series`` gives, in every interval, what ``compile`` gives with the
# interval as the period, and a series with definitions using it equals each interval alone.


@st.composite
def series_scenarios(draw: st.DrawFn) -> tuple[strategies.Extract, list, list]:
    from threeml.records.intervals import split

    extract = draw(heartbeat_extracts())
    start = strategies.day(draw(st.integers(-30, strategies.SPAN)))
    span = Period(start, start + timedelta(days=draw(st.integers(0, 200))))
    intervals = split(span, draw(st.sampled_from(["month", "quarter"])))
    definitions = [
        draw(
            strategies.definitions(
                name=f"d{i}",
                unit=Unit.USERS,
                max_criteria=2,
                min_criteria=0,
                extra=heartbeat_gaps,
            )
        )
        for i in range(3)
    ]
    return extract, intervals, definitions


@settings(SLOW, max_examples=strategies.examples(8))
@given(series_scenarios())
def test_the_series_hook_gives_each_interval_alone(case) -> None:
    from threeml.engine.compiler import Compiler
    from threeml.engine.series import count_series, count_series_per_interval
    from threeml.engine.series_facts import SeriesCompiler

    extract, intervals, definitions = case
    dataset = extract.dataset()
    kinds = registry().criterion_kinds()
    compiler = SeriesCompiler(dataset, intervals, None, kinds)
    for criterion in {c for d in definitions for c in d.criteria}:
        if not isinstance(criterion, HeartbeatGapAtMost):
            continue
        found = HEARTBEAT_GAP.series(criterion, compiler).to_pyarrow().to_pylist()
        for k, interval in enumerate(intervals):
            alone = Compiler(dataset, interval.period, None, kinds)
            want = set(HEARTBEAT_GAP.compile(criterion, alone).to_pyarrow()["user_id"].to_pylist())
            assert {row["user_id"] for row in found if row["interval"] == k} == want
    one_pass = count_series(definitions, dataset, intervals, registry=registry())
    alone = count_series_per_interval(definitions, dataset, intervals, registry=registry())
    for d in definitions:
        for got, want in zip(one_pass[d.name], alone[d.name], strict=True):
            assert got == want, d.name
            assert got.members() == want.members()
