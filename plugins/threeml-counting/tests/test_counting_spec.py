"""Every standard definition against its worked examples, on the engine and the reference."""

from __future__ import annotations

import pytest
from threeml_counting import STANDARD
from threeml_counting.spec_cases import SPEC_CASES

from threeml.data import InvalidDataset
from threeml.definitions.speccase import SpecCase
from threeml.engine.evaluate import count
from threeml.engine.reference import ReferenceData, reference_count
from threeml.plugins.registry import default_registry
from threeml.records.codes import Unit
from threeml.records.periods import Period

CASES = {f"{case.definition}: {case.title}": case for case in SPEC_CASES}


def test_every_standard_definition_is_registered_from_the_installed_plugin() -> None:
    registry = default_registry()
    for definition in STANDARD:
        registered = registry.counting(definition.name)
        assert registered == definition
        assert registered.source.distribution == "threeml-counting"


def test_every_standard_definition_has_a_spec_case() -> None:
    assert {d.name for d in STANDARD} == {case.definition for case in SPEC_CASES}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_engine_counts_the_expected_members(case: SpecCase) -> None:
    definition = default_registry().counting(case.definition)
    result = count(definition, case.dataset(), case.period)
    assert result.members() == case.expected
    assert result.count == len(case.expected)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_reference_counts_the_expected_members(case: SpecCase) -> None:
    definition = default_registry().counting(case.definition)
    data = ReferenceData.from_dataset(case.dataset())
    assert reference_count(definition, data, Period.parse(case.period)).members == case.expected


def test_connections_count_more_records_than_people() -> None:
    case = next(c for c in SPEC_CASES if c.definition == "connections")
    result = count(default_registry().counting("connections"), case.dataset(), case.period)
    assert result.unit is Unit.ENROLMENTS
    assert (result.count, result.users) == (3, 2)


def test_two_overlapping_enrolments_are_one_person_and_two_records() -> None:
    case = next(c for c in SPEC_CASES if c.definition == "in-receipt")
    result = count(default_registry().counting("in-receipt"), case.dataset(), case.period)
    assert result.users == 4
    assert result.records == 5  # u6 holds two of them


def test_a_contact_on_another_users_enrolment_is_rejected_by_validation() -> None:
    with pytest.raises(InvalidDataset, match="inconsistent reference"):
        SpecCase(
            definition="active",
            title="",
            period="2013",
            users=[("u1", "A", None, None), ("u2", "A", None, None)],
            enrolments=[("e1", "u1", "tc", None, "2013-01-01", None)],
            contacts=[("u2", "e1", "2013-12-20", "alarm_call")],
            expected=set(),
        ).dataset()


def test_short_periods_take_the_census_week_and_active_window_literally() -> None:
    """DESIGN.md defines both windows from the end date alone, so for a period shorter than the
    window they reach back before the period: someone whose service ended the day before a
    one-day period is in the census but not in receipt."""
    registry = default_registry()
    case = SpecCase(
        definition="census",
        title="",
        period="2013-12-31",
        users=[("u1", "A", None, None)],
        enrolments=[("e1", "u1", "tc", None, "2013-01-01", "2013-12-30")],
        contacts=[("u1", "e1", "2013-12-29", "alarm_call")],
        expected={"u1"},
    )
    dataset = case.dataset()
    assert count(registry.counting("census"), dataset, case.period).members() == {"u1"}
    assert count(registry.counting("active"), dataset, case.period).members() == {"u1"}
    assert count(registry.counting("in-receipt"), dataset, case.period).members() == set()


def test_parameters_are_visible_and_variants_need_no_copying() -> None:
    registry = default_registry()
    active_telehealth = registry.counting("active-telehealth")
    assert active_telehealth.parameters["readings"] == 4
    stricter = active_telehealth.variant(name="active-telehealth-8", count=8)
    assert [c.describe() for c in stricter.criteria][1].startswith("at least 8")
    assert stricter.criteria[0] == active_telehealth.criteria[0]
    high_risk = registry.counting("high-risk").variant(name="very-high-risk", threshold=0.8)
    case = next(c for c in SPEC_CASES if c.definition == "high-risk")
    assert count(high_risk, case.dataset(), case.period).members() == set()


def test_spec_case_records_build_from_plain_rows() -> None:
    case = SPEC_CASES[0]
    rows = case.dataset().count_rows()
    assert rows["enrolments"] == len(case.enrolments)
    assert rows["users"] == len(case.users)
