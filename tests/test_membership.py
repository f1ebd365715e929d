"""Members-only counting (:func:`threeml.engine.membership.count_members`) against the full count.

A metric's population needs only its members (and, for progress to target, counts by group):
the lean count must give exactly the members, the count and every breakdown of
:func:`~threeml.engine.evaluate.count_many`, for every standard definition, on random
synthetic extracts, and must not build the records table or attrition.
"""

from __future__ import annotations

import pytest

from threeml.data import Dataset
from threeml.data.synth import synthesise
from threeml.engine.evaluate import count_many
from threeml.engine.membership import Members, count_members
from threeml.engine.results import CountResult
from threeml.plugins.registry import default_registry
from threeml.records.codes import Unit
from threeml.records.periods import Period

PERIOD = Period.parse("FY2013/14")


@pytest.mark.parametrize(("seed", "by"), [(5, ("area",)), (29, ("area", "age_band", "sex"))])
def test_members_and_counts_equal_the_full_count(tmp_path, seed, by) -> None:
    synthesise(tmp_path, users=300, seed=seed, areas=3)
    dataset = Dataset.from_folder(tmp_path)
    registry = default_registry()
    definitions = list(registry.counting_definitions())
    full = count_many(definitions, dataset, PERIOD, by=by, registry=registry)
    lean = count_members(definitions, dataset, PERIOD, by=by, registry=registry)
    assert any(d.unit is Unit.USERS for d in definitions)
    for definition in definitions:
        expected, found = full[definition.name], lean[definition.name]
        if definition.unit is Unit.USERS:
            assert isinstance(found, Members), definition.name
        else:  # counted the full way: enrolment counts need the enrolments
            assert isinstance(found, CountResult), definition.name
        assert found.count == expected.count, definition.name
        assert found.users == expected.users, definition.name
        assert dict(found.breakdowns) == {
            name: tuple(rows) for name, rows in expected.breakdowns.items()
        }, definition.name
        members = set(found.members_expr().to_pyarrow()["user_id"].to_pylist())
        assert members == set(expected.members_expr().to_pyarrow()["user_id"].to_pylist())


def test_an_enrolment_breakdown_is_counted_the_full_way(tmp_path) -> None:
    synthesise(tmp_path, users=100, seed=3, areas=2)
    dataset = Dataset.from_folder(tmp_path)
    registry = default_registry()
    definition = registry.counting("in-receipt")
    found = count_members([definition], dataset, PERIOD, by=("sector",), registry=registry)
    expected = count_many([definition], dataset, PERIOD, by=("sector",), registry=registry)
    assert isinstance(found["in-receipt"], CountResult)
    assert found["in-receipt"].breakdowns == expected["in-receipt"].breakdowns


def test_a_lean_count_builds_no_records_or_attrition(tmp_path, monkeypatch) -> None:
    import threeml.engine.evaluate as evaluate_module

    synthesise(tmp_path, users=100, seed=7, areas=2)
    dataset = Dataset.from_folder(tmp_path)
    registry = default_registry()

    def refused(*args, **kwargs):
        raise AssertionError("the members-only count built records or attrition")

    monkeypatch.setattr(evaluate_module, "_user_records", refused)
    monkeypatch.setattr(evaluate_module, "_figures", refused)
    found = count_members(
        [registry.counting("in-receipt")], dataset, PERIOD, by=("area",), registry=registry
    )
    assert found["in-receipt"].count > 0


@pytest.mark.parametrize(
    ("every", "by"),
    # One user breakdown over months in order is where the one pass goes by runs of months.
    [("quarter", ("area", "age_band")), ("month", ("area",))],
)
def test_series_members_and_counts_equal_the_full_series(tmp_path, every, by) -> None:
    from threeml.engine.membership_series import count_members_series
    from threeml.engine.series import count_series
    from threeml.records.intervals import split

    synthesise(tmp_path, users=300, seed=41, areas=3)
    dataset = Dataset.from_folder(tmp_path)
    registry = default_registry()
    definitions = list(registry.counting_definitions())
    intervals = split(Period.parse("2013-01-01:2013-12-31"), every)
    full = count_series(definitions, dataset, intervals, by=by, registry=registry)
    lean = count_members_series(definitions, dataset, intervals, by=by, registry=registry)
    assert any(isinstance(r[0], Members) for r in lean.values())
    for definition in definitions:
        for expected, found in zip(full[definition.name], lean[definition.name], strict=True):
            assert found.period == expected.period
            assert found.count == expected.count, definition.name
            assert dict(found.breakdowns) == dict(expected.breakdowns), definition.name
            members = set(found.members_expr().to_pyarrow()["user_id"].to_pylist())
            assert members == set(expected.members_expr().to_pyarrow()["user_id"].to_pylist())


def test_a_members_only_count_still_answers_what_a_full_count_has(tmp_path) -> None:
    """A measure kind written against CountResult may read attrition and records from its
    population: the definition is then counted the full way, once, with the full figures."""
    synthesise(tmp_path, users=150, seed=11, areas=2)
    dataset = Dataset.from_folder(tmp_path)
    registry = default_registry()
    definition = registry.counting("telehealth")
    members = count_members([definition], dataset, PERIOD, registry=registry)[definition.name]
    full = count_many([definition], dataset, PERIOD, registry=registry)[definition.name]
    assert isinstance(members, Members)
    assert members.attrition == full.attrition
    assert members.records == full.records
    assert members.considered == full.considered
    with pytest.raises(AttributeError):
        members.no_such_figure  # noqa: B018
