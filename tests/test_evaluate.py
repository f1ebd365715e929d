"""The engine on tiny, readable extracts: one case per rule of DESIGN.md, edges included.

The evaluation period is April 2013 throughout, ``P = [2013-04-01, 2013-04-30]``;
its last 28 days are ``[04-03, 04-30]`` and its census week ``[04-24, 04-30]``.
Each user id says what the user illustrates.
"""

from __future__ import annotations

import re
import sys
from datetime import date
from pathlib import Path
from typing import Any

import attrs
import ibis
import pytest

from threeml import Contact, Enrolment, Period, Service, User
from threeml.data import Dataset
from threeml.definitions import (
    ContactsAtLeast,
    CountingDefinition,
    Criterion,
    EnrolmentOverlaps,
    FirstInstalledIn,
    HasCondition,
    InstalledIn,
    MemberOf,
    Query,
    ReferredIn,
    RiskAtLeast,
    RiskInTopPercent,
    SectorsAtLeast,
    Window,
)
from threeml.engine.evaluate import EvaluationError, count, count_many
from threeml.engine.reference import ReferenceData, reference_count
from threeml.engine.results import CountResult

# Query criteria name their function by import path; make ``tests.test_evaluate`` importable
# however pytest was started (``pytest`` does not put the repository root on sys.path).
ROOT = str(Path(__file__).resolve().parents[1])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

P = Period.parse("2013-04")
TELEHEALTH = Service(service_id="th", kind="telehealth", sector="health", area="north")
TELECARE = Service(service_id="tc", kind="telecare", sector="social_care", area="north")
HOUSING = Service(service_id="hs", kind="telecare", sector="housing", area="south")
SERVICES = (TELEHEALTH, TELECARE, HOUSING)


def definition(*criteria: Criterion, unit: str = "users", name: str = "spec") -> CountingDefinition:
    return CountingDefinition(
        name=name,
        version="1",
        title=name,
        description="A test definition.",
        criteria=criteria,
        unit=unit,
    )


def enrolment(
    enrolment_id: str,
    user_id: str,
    service: Service,
    *,
    referred: str | None = None,
    installed: str | None = None,
    ended: str | None = None,
) -> Enrolment:
    return Enrolment(
        enrolment_id=enrolment_id,
        user_id=user_id,
        service_id=service.service_id,
        referred_on=referred,
        installed_on=installed,
        ended_on=ended,
    )


def evaluate(dataset: Dataset, definitions: dict[str, CountingDefinition], **kwargs: Any) -> Any:
    """Every definition, named by its key, in one run."""
    named = [attrs.evolve(d, name=name) for name, d in definitions.items()]
    return count_many(named, dataset, P, **kwargs)


def agrees_with_reference(dataset: Dataset, results: dict[str, CountResult], **kw: Any) -> None:
    data = ReferenceData.from_dataset(dataset)
    for result in results.values():
        ref = reference_count(result.definition, data, P, **kw)
        assert result.members() == ref.members, result.definition.name
        assert (result.count, result.users, result.records) == (ref.count, ref.users, ref.records)
        assert [s.remaining for s in result.attrition] == ref.sequential()
        assert [s.leave_one_out for s in result.attrition] == ref.leave_one_out()


# --- installed windows: overlap, census week, installation, referral, first installation ----

WINDOW_USERS = [
    "ends-first-day",
    "ends-day-before",
    "starts-last-day",
    "starts-day-after",
    "never-installed",
    "open-ended",
    "two-at-once",
    "census-edge",
    "census-before",
    "first-before",
    "first-in",
    "sectors-ended",
]
WINDOW_ENROLMENTS = [
    enrolment("e01", "ends-first-day", TELECARE, installed="2013-01-10", ended="2013-04-01"),
    enrolment("e02", "ends-day-before", TELECARE, installed="2013-01-10", ended="2013-03-31"),
    enrolment("e03", "starts-last-day", TELEHEALTH, referred="2013-04-20", installed="2013-04-30"),
    enrolment("e04", "starts-day-after", TELEHEALTH, referred="2013-04-25", installed="2013-05-01"),
    enrolment("e05", "never-installed", TELECARE, referred="2013-04-05", ended="2013-04-10"),
    enrolment("e06", "open-ended", TELECARE, installed="2012-06-01"),
    enrolment("e07", "two-at-once", TELEHEALTH, installed="2013-03-01"),
    enrolment("e08", "two-at-once", TELECARE, installed="2013-04-10", ended="2013-04-20"),
    enrolment("e09", "census-edge", HOUSING, installed="2013-02-01", ended="2013-04-24"),
    enrolment("e10", "census-before", TELECARE, installed="2013-02-01", ended="2013-04-23"),
    enrolment("e11", "first-before", TELECARE, installed="2013-01-15", ended="2013-02-01"),
    enrolment("e12", "first-before", TELEHEALTH, installed="2013-04-05"),
    enrolment("e13", "first-in", TELEHEALTH, installed="2013-04-02"),
    enrolment("e14", "sectors-ended", TELEHEALTH, installed="2013-03-01"),
    enrolment("e15", "sectors-ended", HOUSING, installed="2013-01-01", ended="2013-03-15"),
]
WINDOW_DEFINITIONS = {
    "in-receipt": definition(EnrolmentOverlaps()),
    "census": definition(EnrolmentOverlaps(window=Window(last_days=7))),
    "telehealth": definition(EnrolmentOverlaps(service_kinds=["telehealth"])),
    "housing": definition(EnrolmentOverlaps(sectors=["housing"])),
    "referred": definition(ReferredIn()),
    "installed": definition(InstalledIn()),
    "new-users": definition(FirstInstalledIn()),
    "new-telehealth": definition(FirstInstalledIn(service_kinds=["telehealth"])),
    "multi-sector": definition(SectorsAtLeast(count=2)),
    "multi-sector-in-receipt": definition(EnrolmentOverlaps(), SectorsAtLeast(count=2)),
    "connections": definition(InstalledIn(), unit="enrolments"),
    "in-receipt-enrolments": definition(EnrolmentOverlaps(), unit="enrolments"),
}


@pytest.fixture(scope="module")
def windows_data() -> Dataset:
    return Dataset.from_records(
        users=[
            User(user_id=u, area="north" if i % 2 else "south") for i, u in enumerate(WINDOW_USERS)
        ],
        services=SERVICES,
        enrolments=WINDOW_ENROLMENTS,
    )


@pytest.fixture(scope="module")
def windows(windows_data: Dataset) -> dict[str, CountResult]:
    return evaluate(windows_data, WINDOW_DEFINITIONS, by=("area", "service_kind", "sector"))


def test_an_enrolment_ending_on_the_first_day_of_the_period_overlaps_it(windows) -> None:
    assert "ends-first-day" in windows["in-receipt"].members()
    assert "ends-day-before" not in windows["in-receipt"].members()


def test_an_enrolment_installed_on_the_last_day_of_the_period_overlaps_it(windows) -> None:
    assert "starts-last-day" in windows["in-receipt"].members()
    assert "starts-day-after" not in windows["in-receipt"].members()


def test_an_enrolment_never_installed_overlaps_nothing(windows) -> None:
    assert "never-installed" not in windows["in-receipt"].members()
    assert "never-installed" not in windows["census"].members()
    assert "never-installed" in windows["referred"].members()


def test_an_open_ended_enrolment_overlaps_any_later_period(windows) -> None:
    assert "open-ended" in windows["in-receipt"].members()
    assert "open-ended" in windows["census"].members()


def test_in_receipt_counts_people_and_records(windows) -> None:
    result = windows["in-receipt"]
    assert result.members() == {
        "ends-first-day",
        "starts-last-day",
        "open-ended",
        "two-at-once",
        "census-edge",
        "census-before",
        "first-before",
        "first-in",
        "sectors-ended",
    }
    # two-at-once has two overlapping enrolments: one person, two records. first-before's
    # and sectors-ended's enrolments that ended before April are not records of this count.
    assert (result.count, result.users, result.records) == (9, 9, 10)
    assert result.considered == len(WINDOW_USERS)


def test_two_overlapping_enrolments_of_one_user_are_one_person_and_two_records(windows) -> None:
    result = windows["multi-sector-in-receipt"]
    assert result.members() == {"two-at-once"}
    assert (result.count, result.users, result.records) == (1, 1, 2)
    connections = windows["in-receipt-enrolments"]
    assert {"e07", "e08"} <= connections.members()
    assert (connections.count, connections.users, connections.records) == (10, 9, 10)


def test_census_week_is_the_last_seven_days_of_the_period(windows) -> None:
    assert Window(last_days=7).resolve(P) == Period(date(2013, 4, 24), date(2013, 4, 30))
    assert windows["census"].members() == {
        "starts-last-day",
        "open-ended",
        "two-at-once",
        "census-edge",  # ended on the census week's first day
        "first-before",
        "first-in",
        "sectors-ended",
    }
    assert "census-before" not in windows["census"].members()  # ended the day before it


def test_service_kind_and_sector_filters(windows) -> None:
    assert windows["telehealth"].members() == {
        "starts-last-day",
        "two-at-once",
        "first-before",
        "first-in",
        "sectors-ended",
    }
    # sectors-ended's housing enrolment ended in March, so only census-edge's counts.
    assert windows["housing"].members() == {"census-edge"}


def test_referred_counts_referrals_in_the_period_installed_or_not(windows) -> None:
    assert windows["referred"].members() == {
        "starts-last-day",
        "starts-day-after",
        "never-installed",
    }


def test_installed_in_looks_at_installation_dates_only(windows) -> None:
    assert windows["installed"].members() == {
        "starts-last-day",
        "two-at-once",
        "first-before",
        "first-in",
    }


def test_first_installed_in_fails_with_an_earlier_installation_before_the_period(windows) -> None:
    assert windows["new-users"].members() == {"starts-last-day", "first-in"}
    # first-before's first telehealth installation is in April, its first of any kind is not.
    assert windows["new-telehealth"].members() == {"starts-last-day", "first-before", "first-in"}
    assert "two-at-once" not in windows["new-telehealth"].members()  # telehealth since March


def test_sectors_count_only_enrolments_overlapping_the_window(windows) -> None:
    assert windows["multi-sector"].members() == {"two-at-once"}


def test_connections_count_enrolments_not_people(windows) -> None:
    result = windows["connections"]
    assert result.members() == {"e03", "e08", "e12", "e13"}
    assert (result.count, result.users, result.records) == (4, 4, 4)
    assert result.considered == len(WINDOW_ENROLMENTS)


def test_breakdown_by_service_kind_and_sector_counts_people_per_kind(windows) -> None:
    result = windows["in-receipt"]
    kinds = {row.value: row.count for row in result.breakdowns["service_kind"]}
    sectors = {row.value: row.count for row in result.breakdowns["sector"]}
    # two-at-once is counted under both telecare and telehealth, so the kinds sum to 10, not 9.
    assert kinds == {"telecare": 5, "telehealth": 5}
    assert sectors == {"health": 5, "housing": 1, "social_care": 4}
    assert sum(row.count for row in result.breakdowns["area"]) == result.count


def test_breakdown_of_an_enrolment_count_counts_enrolments(windows) -> None:
    result = windows["in-receipt-enrolments"]
    assert {row.value: row.count for row in result.breakdowns["sector"]} == {
        "health": 5,
        "housing": 1,
        "social_care": 4,
    }
    assert {row.value: row.count for row in result.breakdowns["service_kind"]} == {
        "telecare": 5,
        "telehealth": 5,
    }


def test_window_cases_agree_with_the_reference_evaluator(windows_data, windows) -> None:
    agrees_with_reference(windows_data, windows)


# --- contacts: counting only inside their own enrolment's installed window -----------------

CONTACT_USERS = ["reader", "late-only", "active-edge", "active-before", "kind-filter", "never"]
CONTACT_ENROLMENTS = [
    enrolment("c1", "reader", TELEHEALTH, installed="2013-03-01", ended="2013-04-20"),
    enrolment("c2", "late-only", TELECARE, installed="2013-03-01", ended="2013-03-31"),
    enrolment("c3", "active-edge", TELECARE, installed="2013-01-01"),
    enrolment("c4", "active-before", TELECARE, installed="2013-01-01"),
    enrolment("c5", "kind-filter", TELECARE, installed="2013-01-01"),
    enrolment("c6", "never", TELECARE, referred="2013-03-01"),
]


def contact(user_id: str, enrolment_id: str, day: str, kind: str) -> Contact:
    return Contact(user_id=user_id, enrolment_id=enrolment_id, date=day, kind=kind)


CONTACTS = [
    contact("reader", "c1", "2013-02-28", "reading"),  # before installation: does not count
    contact("reader", "c1", "2013-04-10", "reading"),
    contact("reader", "c1", "2013-04-20", "reading"),  # on ended_on: counts
    contact("reader", "c1", "2013-04-21", "reading"),  # the day after ended_on: does not count
    contact("late-only", "c2", "2013-04-02", "alarm_call"),  # after the end: does not count
    contact("active-edge", "c3", "2013-04-03", "heartbeat"),  # first of the last 28 days
    contact("active-before", "c4", "2013-04-02", "heartbeat"),  # the day before them
    *[contact("kind-filter", "c5", f"2013-04-0{d}", "reading") for d in range(5, 9)],
    contact("never", "c6", "2013-04-05", "test_call"),  # never installed: does not count
]
CONTACT_DEFINITIONS = {
    "any": definition(ContactsAtLeast()),
    "active": definition(ContactsAtLeast(window=Window(last_days=28))),
    "two-readings": definition(ContactsAtLeast(count=2, contact_kinds=["reading"])),
    "three-readings": definition(ContactsAtLeast(count=3, contact_kinds=["reading"])),
    "active-telehealth": definition(
        EnrolmentOverlaps(service_kinds=["telehealth"]),
        ContactsAtLeast(count=2, contact_kinds=["reading"], service_kinds=["telehealth"]),
    ),
    "telecare-readings": definition(
        ContactsAtLeast(count=4, contact_kinds=["reading"], service_kinds=["telecare"])
    ),
    "telehealth-readings": definition(
        ContactsAtLeast(count=4, contact_kinds=["reading"], service_kinds=["telehealth"])
    ),
    "used-enrolments": definition(ContactsAtLeast(), unit="enrolments"),
}


def heartbeat_users(tables: Any, period: Period) -> Any:
    """A query criterion: users with a heartbeat dated in the period, counting or not."""
    contacts = tables["contacts"]
    return contacts.filter(
        contacts.kind == "heartbeat", contacts.date >= period.start, contacts.date <= period.end
    ).select("user_id")


def heartbeat_users_one_unknown(tables: Any, period: Period) -> Any:
    """Like :func:`heartbeat_users`, but one of the ids comes back empty (NULL)."""
    users = heartbeat_users(tables, period)
    return users.select(
        user_id=ibis.ifelse(users.user_id == "active-before", ibis.null("string"), users.user_id)
    )


def broken_query(tables: Any, period: Period) -> Any:
    raise RuntimeError("the data platform is down")


@pytest.fixture(scope="module")
def contacts_data() -> Dataset:
    return Dataset.from_records(
        users=[User(user_id=u, area="north") for u in CONTACT_USERS],
        services=SERVICES,
        enrolments=CONTACT_ENROLMENTS,
        contacts=CONTACTS,
    )


@pytest.fixture(scope="module")
def contacts(contacts_data: Dataset) -> dict[str, CountResult]:
    return evaluate(contacts_data, CONTACT_DEFINITIONS)


def test_a_contact_counts_only_inside_its_enrolments_installed_window(contacts) -> None:
    assert contacts["any"].members() == {"reader", "active-edge", "active-before", "kind-filter"}
    # reader has four readings but only two counting ones in April: 04-10 and 04-20 (its
    # ended_on); 02-28 precedes its installation and 04-21 is the day after it ended.
    assert "reader" in contacts["two-readings"].members()
    assert "reader" not in contacts["three-readings"].members()
    assert "late-only" not in contacts["any"].members()
    assert "never" not in contacts["any"].members()


def test_active_looks_at_the_last_28_days(contacts) -> None:
    assert contacts["active"].members() == {"reader", "active-edge", "kind-filter"}


def test_contacts_filtered_by_the_kind_of_service(contacts) -> None:
    assert contacts["telecare-readings"].members() == {"kind-filter"}
    assert contacts["telehealth-readings"].members() == set()
    assert contacts["active-telehealth"].members() == {"reader"}


def test_records_of_a_contact_criterion_are_the_enrolments_used(contacts) -> None:
    result = contacts["any"]
    assert (result.users, result.records) == (4, 4)
    used = contacts["used-enrolments"]
    assert used.members() == {"c1", "c3", "c4", "c5"}


def test_attrition_of_active_telehealth(contacts) -> None:
    steps = contacts["active-telehealth"].attrition
    assert [(s.remaining, s.excluded, s.leave_one_out) for s in steps] == [(1, 5, 0), (1, 0, 0)]
    assert steps[0].criterion.startswith("has a telehealth enrolment")


def test_contact_cases_agree_with_the_reference_evaluator(contacts_data, contacts) -> None:
    agrees_with_reference(contacts_data, contacts)


def test_a_query_criterion_is_imported_and_run(contacts_data) -> None:
    query = Query(function=heartbeat_users, description="has a heartbeat in P")
    result = count(definition(query), contacts_data, P)
    assert result.members() == {"active-edge", "active-before"}
    both = count(definition(query, ContactsAtLeast(window=Window(last_days=28))), contacts_data, P)
    assert both.members() == {"active-edge"}
    assert [s.remaining for s in both.attrition] == [2, 1]
    agrees_with_reference(contacts_data, {"q": result, "both": both})


def test_an_empty_id_from_a_query_does_not_make_the_other_users_unknown(contacts_data) -> None:
    query = Query(function=heartbeat_users_one_unknown, description="heartbeat")
    result = count(definition(query, ContactsAtLeast()), contacts_data, P)
    assert result.members() == {"active-edge"}
    rows = {row["user_id"]: row for row in result.membership().to_pylist()}
    assert rows["reader"] == {"user_id": "reader", "counted": False, "first_failed": 1}
    assert [s.remaining for s in result.attrition] == [1, 1]
    agrees_with_reference(contacts_data, {"q": result})


def test_a_failing_query_criterion_raises_an_evaluation_error(contacts_data) -> None:
    query = Query(function=broken_query, description="broken")
    with pytest.raises(EvaluationError, match=re.escape("test_evaluate:broken_query")):
        count(definition(query), contacts_data, P)


def test_a_query_criterion_takes_a_function_never_an_import_path() -> None:
    with pytest.raises(ValueError, match="takes a Python function, not 'os:system'"):
        Query(function="os:system", description="imports nothing")


# --- about the user alone: conditions, risk ------------------------------------------------

RISK_USERS = [
    User(user_id="r1", area="north", sex="female", risk_score=0.9, conditions=["copd"]),
    User(user_id="r2", area="north", sex="male", risk_score=0.7, conditions=["diabetes"]),
    User(user_id="r3", area="south", sex="female", risk_score=0.7),
    User(user_id="r4", area="south", sex="male", risk_score=0.5, conditions=["heart_failure"]),
    User(user_id="r5", area="south", risk_score=0.1),
    User(user_id="r6", area="east", sex="female", conditions=["dementia", "copd"]),  # no score
]
RISK_DEFINITIONS = {
    "ltc": definition(HasCondition(conditions=["copd", "heart_failure"])),
    "asthma": definition(HasCondition(conditions=["asthma"])),
    "high-risk": definition(RiskAtLeast(threshold=0.5)),
    "top-10": definition(RiskInTopPercent(percent=10)),
    "top-20": definition(RiskInTopPercent(percent=20)),
    "top-30": definition(RiskInTopPercent(percent=30)),
    "top-40": definition(RiskInTopPercent(percent=40)),
    "top-60": definition(RiskInTopPercent(percent=60)),
    "top-100": definition(RiskInTopPercent(percent=100)),
    "top-third": definition(RiskInTopPercent(percent=100 / 3)),
}


@pytest.fixture(scope="module")
def risk_data() -> Dataset:
    return Dataset.from_records(users=RISK_USERS, services=SERVICES)


@pytest.fixture(scope="module")
def risk(risk_data: Dataset) -> dict[str, CountResult]:
    return evaluate(risk_data, RISK_DEFINITIONS, by=("area", "sex"))


def test_has_condition_needs_one_of_the_listed_conditions(risk) -> None:
    assert risk["ltc"].members() == {"r1", "r4", "r6"}
    assert risk["asthma"].members() == set()


def test_risk_at_least_includes_the_threshold_and_excludes_missing_scores(risk) -> None:
    assert risk["high-risk"].members() == {"r1", "r2", "r3", "r4"}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("top-10", {"r1"}),  # fewer than 0.5 of the 5 scored users above: none above
        ("top-20", {"r1"}),  # fewer than 1 above
        ("top-30", {"r1", "r2", "r3"}),  # fewer than 1.5 above: the tied 0.7s both count
        ("top-40", {"r1", "r2", "r3"}),  # fewer than 2 above: three users, ties included
        ("top-third", {"r1", "r2", "r3"}),  # fewer than 1.67 above
        ("top-60", {"r1", "r2", "r3"}),  # fewer than 3 above: r4 has exactly 3 above it
        ("top-100", {"r1", "r2", "r3", "r4", "r5"}),  # every user with a score
    ],
)
def test_risk_in_top_percent_includes_ties_at_the_boundary(risk, name, expected) -> None:
    assert risk[name].members() == expected


def test_breakdowns_by_user_columns_sum_to_the_total(risk) -> None:
    result = risk["high-risk"]
    assert {row.value: row.count for row in result.breakdowns["area"]} == {"north": 2, "south": 2}
    assert {row.value: row.count for row in result.breakdowns["sex"]} == {"female": 2, "male": 2}
    ltc = risk["ltc"]
    assert {row.value: row.count for row in ltc.breakdowns["sex"]} == {"female": 2, "male": 1}


def test_risk_cases_agree_with_the_reference_evaluator(risk_data, risk) -> None:
    agrees_with_reference(risk_data, risk)


def test_top_percent_of_three_uses_the_same_arithmetic_as_the_reference() -> None:
    # 100/3 % of 3 users: 33.333333333333336 × 3 rounds to exactly 100 in floating point,
    # so one user above is not "fewer than" it. Read as an exact decimal it would be.
    users = [User(user_id=f"u{i}", area="a", risk_score=s) for i, s in enumerate([0.9, 0.5, 0.1])]
    dataset = Dataset.from_records(users=users, services=SERVICES)
    result = count(definition(RiskInTopPercent(percent=100 / 3)), dataset, P)
    assert result.members() == {"u0"}
    agrees_with_reference(dataset, {"top": result})


# --- member-of, errors ---------------------------------------------------------------------


class Registry:
    """The smallest stand-in for the definition registry: ``counting(name)``."""

    def __init__(self, *definitions: CountingDefinition) -> None:
        self.definitions = {d.name: d for d in definitions}

    def counting(self, name: str) -> CountingDefinition:
        return self.definitions[name]


def test_member_of_counts_the_members_of_another_definition(contacts_data) -> None:
    active = definition(ContactsAtLeast(window=Window(last_days=28)), name="active")
    used = definition(ContactsAtLeast(contact_kinds=["reading"]), unit="enrolments", name="used")
    registry = Registry(active, used)
    readers = definition(MemberOf("active"), ContactsAtLeast(count=2, contact_kinds=["reading"]))
    result = count(readers, contacts_data, P, registry=registry)
    assert result.members() == {"reader", "kind-filter"}
    # Member of an enrolment count: the people owning an enrolment it counts.
    owners = count(definition(MemberOf("used")), contacts_data, P, registry=registry)
    assert owners.members() == {"reader", "kind-filter"}
    agrees_with_reference(
        contacts_data, {"readers": result, "owners": owners}, resolve=registry.counting
    )


def test_member_of_a_users_count_is_read_off_the_shared_flags(contacts_data, monkeypatch) -> None:
    """Within one evaluation, member-of a definition counting users is the conjunction of
    that definition's criteria among the shared columns: the definition is not compiled
    again on its own (its contacts not read again), and the figures are those of the
    handler's way (the same definitions evaluated one at a time) and the reference's."""
    from threeml.engine.criteria_users import MemberOfHandler

    active = definition(ContactsAtLeast(window=Window(last_days=28)), name="active")
    readers = definition(
        ContactsAtLeast(contact_kinds=["reading"]),
        ContactsAtLeast(window=Window(last_days=28)),
        name="readers",
    )
    nested = definition(MemberOf("readers"), name="nested")
    used = definition(ContactsAtLeast(contact_kinds=["reading"]), unit="enrolments", name="used")
    outer = definition(
        MemberOf("active"),
        MemberOf("nested"),
        ContactsAtLeast(count=2, contact_kinds=["reading"]),
        name="outer",
    )
    owners = definition(MemberOf("active"), unit="enrolments", name="owners")
    registry = Registry(active, readers, nested, used, outer, owners)
    alone = {
        name: count(
            registry.counting(name), contacts_data, P, by=("area", "sector"), registry=registry
        )
        for name in ("outer", "owners", "nested")
    }

    def refused(self, criterion, compiler):
        raise AssertionError(f"{criterion.describe()} was compiled on its own")

    monkeypatch.setattr(MemberOfHandler, "user_pass", refused)
    found = count_many(
        [registry.counting(name) for name in ("outer", "owners", "nested")],
        contacts_data,
        P,
        by=("area", "sector"),
        registry=registry,
    )
    for name, result in alone.items():
        assert found[name] == result, name
        assert found[name].membership() == result.membership(), name
    assert found["outer"].members() == {"reader", "kind-filter"}
    agrees_with_reference(contacts_data, found, resolve=registry.counting)
    # A member of an enrolment count is still its handler's (owning a counted enrolment).
    monkeypatch.undo()
    both = count_many([outer, definition(MemberOf("used"), name="o")], contacts_data, P,
                      registry=registry)  # fmt: skip
    assert both["o"].members() == {"reader", "kind-filter"}


def test_a_count_with_no_enrolment_criterion_stores_no_enrolment_facts(risk_data) -> None:
    """The enrolments are stored in the engine only when some criterion reads them as facts
    (a definition such as trial-participants has none), and the records only when a
    breakdown by service kind or sector reads them again."""
    import threeml.engine.evaluate as evaluate_module

    stored: list[str] = []
    real = evaluate_module.materialise

    def spy(dataset, expr, stem):
        stored.append(stem)
        return real(dataset, expr, stem)

    mine = definition(RiskAtLeast(threshold=0.5))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(evaluate_module, "materialise", spy)
        lean = count(mine, risk_data, P, by=("area",))
        assert stored == ["users"]
        stored.clear()
        full = count(mine, risk_data, P, by=("area", "sector"))
        assert stored == ["users", "records"]
    assert lean.count == full.count == 4
    assert lean.records == full.records
    agrees_with_reference(risk_data, {"lean": lean, "full": full})


def test_a_member_of_cycle_raises_an_evaluation_error_naming_it(risk_data) -> None:
    registry = Registry(
        definition(MemberOf("beta"), name="alpha"), definition(MemberOf("alpha"), name="beta")
    )
    with pytest.raises(EvaluationError, match="cycle") as caught:
        count(registry.counting("alpha"), risk_data, P, registry=registry)
    message = str(caught.value)
    assert re.search(r"(alpha -> beta -> alpha|beta -> alpha -> beta)", message), message


def test_a_definition_that_is_a_member_of_itself_is_a_cycle(risk_data) -> None:
    me = definition(RiskAtLeast(threshold=0.5), MemberOf("me"), name="me")
    with pytest.raises(EvaluationError, match="me -> me"):
        count(me, risk_data, P, registry=Registry(me))


def test_member_of_without_a_registry_raises_an_evaluation_error(risk_data) -> None:
    with pytest.raises(EvaluationError, match="registry"):
        count(definition(MemberOf("active")), risk_data, P)


def test_an_unknown_breakdown_raises_an_evaluation_error(risk_data) -> None:
    with pytest.raises(EvaluationError, match="colour") as caught:
        count(definition(RiskAtLeast(threshold=0.5)), risk_data, P, by=("area", "colour"))
    assert "service_kind" in str(caught.value)  # the message lists the choices


def test_a_period_may_be_written_as_text(risk_data) -> None:
    result = count(definition(RiskAtLeast(threshold=0.5)), risk_data, "2013-04")
    assert result.period == P
    assert result.count == 4
