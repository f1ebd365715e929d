"""``explain``: one person's rows read by pushdown, and evidence when they fail."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from threeml import Contact, Enrolment, Service, User
from threeml.data import Dataset
from threeml.definitions import CountingDefinition
from threeml.definitions.criteria import ContactsAtLeast, EnrolmentOverlaps, RiskInTopPercent
from threeml.definitions.kinds import plugin_kinds
from threeml.engine.explain import explain
from threeml.engine.reference import ReferenceData, reference_count
from threeml.engine.reference_data import ContactRows
from threeml.plugins.registry import default_registry
from threeml.records.codes import Unit
from threeml.records.periods import Period

PERIOD = Period.parse("2013")


def _definition(*criteria) -> CountingDefinition:
    return CountingDefinition(
        name="spec",
        version="1",
        title="spec",
        description="A definition for the explain spec.",
        criteria=criteria,
    )


@pytest.fixture(scope="module")
def failing() -> Dataset:
    """U1 fails ``telehealth`` with four enrolments, each for another reason."""
    return Dataset.from_records(
        users=[User("U1", "Kent", risk_score=0.3), User("U2", "Kent", risk_score=0.9)],
        services=[
            Service("S1", "telecare", "social_care", "Kent"),
            Service("S2", "telehealth", "health", "Kent"),
        ],
        enrolments=[
            Enrolment("E1", "U1", "S1", installed_on="2013-02-01"),
            Enrolment("E2", "U1", "S2", installed_on="2012-01-10", ended_on="2012-12-31"),
            Enrolment("E3", "U1", "S2", referred_on="2013-05-01"),
            Enrolment("E4", "U1", "S2", referred_on="2013-11-01", installed_on="2014-01-05"),
            Enrolment("E5", "U2", "S2", installed_on="2013-01-01"),
        ],
        contacts=[
            Contact("U1", "E1", "2013-03-01", "reading"),
            Contact("U1", "E1", "2013-03-02", "reading"),
            Contact("U1", "E1", "2013-03-03", "alarm_call"),
            Contact("U1", "E2", "2013-03-01", "reading"),
            Contact("U1", "E2", "2012-03-01", "reading"),
        ],
    )


def test_a_failing_enrolment_criterion_names_each_enrolment_and_why(failing: Dataset) -> None:
    definition = _definition(EnrolmentOverlaps(service_kinds={"telehealth"}))
    text = explain(definition, "U1", failing, PERIOD).text()
    assert text.splitlines()[1] == (
        "  1. [FAIL] has a telehealth enrolment whose installed window overlaps the period: "
        "none of 4 enrolment(s) qualifies: "
        "E1 (telecare, referred never, installed 2013-02-01, ended open): "
        "a telecare service, not telehealth; "
        "E2 (telehealth, referred never, installed 2012-01-10, ended 2012-12-31): "
        "ended 2012-12-31, before 2013-01-01; "
        "E3 (telehealth, referred 2013-05-01, installed never, ended open): never installed; "
        "E4 (telehealth, referred 2013-11-01, installed 2014-01-05, ended open): "
        "installed 2014-01-05, after 2013-12-31"
    )


def test_a_failing_contacts_criterion_says_why_each_contact_does_not_count(
    failing: Dataset,
) -> None:
    definition = _definition(
        ContactsAtLeast(count=4, contact_kinds={"reading"}, service_kinds={"telehealth"})
    )
    (line,) = explain(definition, "U1", failing, PERIOD).text().splitlines()[1:]
    assert line.endswith(
        ": 0 counting contact(s) (needs 4); of 5 contact(s): 1 not reading, "
        "2 not on telehealth enrolments, 1 dated outside 2013-01-01 to 2013-12-31, "
        "1 dated outside their enrolment's installed window"
    )


def test_a_user_without_enrolments_or_contacts_says_so(failing: Dataset) -> None:
    extra = Dataset.from_records(
        users=[User("U9", "Kent")], services=[Service("S1", "telecare", "social_care", "Kent")]
    )
    definition = _definition(EnrolmentOverlaps(), ContactsAtLeast(count=1))
    lines = explain(definition, "U9", extra, PERIOD).text().splitlines()
    assert lines[1].endswith("none of 0 enrolment(s) qualifies (this user has no enrolment)")
    assert lines[2].startswith("  2. [FAIL]")
    assert "0 counting contact(s) (needs 1); this user has no contacts" in lines[2]


def test_an_enrolment_unit_names_why_each_enrolment_fails(failing: Dataset) -> None:
    definition = CountingDefinition(
        name="spec-connections",
        version="1",
        title="spec",
        description="Enrolments installed in the period.",
        unit=Unit.ENROLMENTS,
        criteria=(EnrolmentOverlaps(service_kinds={"telehealth"}),),
    )
    text = explain(definition, "U1", failing, PERIOD).text()
    assert (
        "  1. [FAIL] has a telehealth enrolment whose installed window overlaps the period: "
        "enrolment E2: ended 2012-12-31, before 2013-01-01" in text
    )


def test_the_risk_rank_is_counted_in_the_engine(failing: Dataset) -> None:
    data = ReferenceData.from_dataset(failing, user_ids=["U1"])
    assert data.all_risk_scores == []  # nobody else's score came into Python
    assert data.risk_rank(0.3) == (1, 2)
    assert data.risk_rank(0.9) == (0, 2)
    definition = _definition(RiskInTopPercent(percent=50))
    line = explain(definition, "U1", failing, PERIOD).text().splitlines()[1]
    assert line == (
        "  1. [FAIL] risk score in the top 50% of users: risk score 0.3; 1 of 2 users score higher"
    )


# --- pushdown gives what reading every row gives ----------------------------------------------


@pytest.fixture(scope="module")
def heavy() -> Dataset:
    """A small extract with one heavy person: thousands of contacts, many identical."""
    users = [User(f"U{i}", "Kent" if i % 2 else "Leeds", risk_score=i / 20) for i in range(12)]
    services = [
        Service("S1", "telehealth", "health", "Kent"),
        Service("S2", "telecare", "social_care", "Kent"),
        Service("S3", "telecare", "housing", "Leeds"),
    ]
    enrolments = [
        Enrolment(f"E{i}", f"U{i}", f"S{1 + i % 3}", installed_on=date(2012, 1 + i % 12, 1))
        for i in range(12)
    ]
    enrolments += [
        Enrolment("H1", "U0", "S2", installed_on="2012-06-01", ended_on="2013-03-31"),
        Enrolment("H2", "U0", "S3", referred_on="2013-02-01"),
    ]
    contacts = []
    start = date(2012, 12, 1)
    for day in range(400):  # U0: 12 contacts a day for 400 days, on two enrolments
        when = start + timedelta(days=day)
        for kind in ("reading", "reading", "reading", "heartbeat", "heartbeat", "alert"):
            contacts.append(Contact("U0", "E0", when, kind))
            contacts.append(Contact("U0", "H1", when, kind))
    contacts += [Contact(f"U{i}", f"E{i}", "2013-06-01", "reading") for i in range(1, 12)]
    return Dataset.from_records(
        users=users, services=services, enrolments=enrolments, contacts=contacts
    )


def _full_outcomes(definition, dataset, registry, kinds):
    data = ReferenceData.from_dataset(dataset)
    return reference_count(definition, data, PERIOD, registry.counting, kinds=kinds).outcomes


@pytest.mark.parametrize("user_id", ["U0", "U3", "U7"])
def test_explain_by_pushdown_equals_reading_every_row(heavy: Dataset, user_id: str) -> None:
    registry = default_registry()
    kinds = plugin_kinds(registry)
    definitions = [*registry.counting_definitions(), _definition(RiskInTopPercent(percent=25))]
    for definition in definitions:
        explained = explain(
            definition, user_id, heavy, PERIOD, resolve=registry.counting, kinds=kinds
        )
        full = _full_outcomes(definition, heavy, registry, kinds)
        for unit, outcomes in explained.units:
            assert outcomes == full[unit], (definition.name, unit)


def test_a_heavy_persons_contacts_arrive_once_per_distinct_row(heavy: Dataset) -> None:
    data = ReferenceData.from_dataset(heavy, user_ids=["U0"])
    contacts = data.contacts["U0"]
    assert isinstance(contacts, ContactRows)
    assert len(contacts) == 400 * 12
    assert sum(1 for _ in contacts.groups()) == 400 * 2 * 3  # days × enrolments × kinds
    assert sum(n for _, n in contacts.groups()) == len(contacts) == len(list(contacts))
    assert contacts[len(contacts) - 1] in list(contacts)
