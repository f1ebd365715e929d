"""Record types: conversion, validation and the schema derived from them."""

from __future__ import annotations

import math
from datetime import date, datetime

import attrs
import pytest

from threeml import (
    Allocation,
    Arm,
    Contact,
    ContactKind,
    EndReason,
    Enrolment,
    Outcome,
    OutcomeKind,
    PeriodError,
    Sector,
    Service,
    ServiceKind,
    Target,
    User,
)
from threeml.records.schema import TABLES, ColumnType

# --- ids -------------------------------------------------------------------------------------


@pytest.mark.parametrize("empty", ["", "   ", None])
def test_empty_id_is_rejected(empty) -> None:
    with pytest.raises(ValueError, match="non-empty"):
        User(empty, "Kent")


def test_ids_are_stripped_text() -> None:
    assert User(" U1 ", " Kent ").user_id == "U1"
    assert User(" U1 ", " Kent ").area == "Kent"
    assert User(42, "Kent").user_id == "42"


@pytest.mark.parametrize(
    "make",
    [
        lambda: Enrolment("E1", "", "S1"),
        lambda: Contact("U1", " ", "2013-01-01", "reading"),
        lambda: Outcome("", "2013-01-01", "death"),
        lambda: Service("", "telecare", "health", "Kent"),
        lambda: Allocation("U1", "", "control", "2013-01-01"),
        lambda: Target("", "Kent", 10, "2014-03-31"),
    ],
)
def test_every_record_refuses_an_empty_id(make) -> None:
    with pytest.raises(ValueError, match="non-empty"):
        make()


def test_optional_text_is_none_when_empty() -> None:
    assert User("U1", "Kent", sex="").sex is None
    assert User("U1", "Kent", sex="  ").sex is None
    assert Service("S1", "telecare", "health", "Kent", provider="").provider is None


# --- codes -----------------------------------------------------------------------------------


def test_codes_become_enum_members() -> None:
    service = Service("S1", "telecare", "social_care", "Kent")
    assert service.kind is ServiceKind.TELECARE
    assert service.sector is Sector.SOCIAL_CARE
    assert service.kind == "telecare"  # a StrEnum compares equal to its code
    assert Contact("U1", "E1", "2013-01-01", "heartbeat").kind is ContactKind.HEARTBEAT
    assert Outcome("U1", "2013-01-01", "qol").kind is OutcomeKind.QOL
    assert Allocation("U1", "wsd", "control", "2013-01-01").arm is Arm.CONTROL
    enrolment = Enrolment("E1", "U1", "S1", ended_on="2013-01-01", end_reason="moved")
    assert enrolment.end_reason is EndReason.MOVED


def test_bad_code_message_lists_the_allowed_codes() -> None:
    with pytest.raises(ValueError) as caught:
        Service("S1", "Telecare", "health", "Kent")
    message = str(caught.value)
    assert "'Telecare' is not a known ServiceKind code" in message
    assert "telehealth, telecare, telecoaching, telemedicine, self_care_app" in message


@pytest.mark.parametrize(
    ("make", "enum"),
    [
        (lambda: Service("S1", "telecare", "nhs", "Kent"), "Sector"),
        (lambda: Contact("U1", "E1", "2013-01-01", "call"), "ContactKind"),
        (lambda: Outcome("U1", "2013-01-01", "admission"), "OutcomeKind"),
        (lambda: Allocation("U1", "t", "placebo", "2013-01-01"), "Arm"),
        (lambda: Enrolment("E1", "U1", "S1", end_reason="bored"), "EndReason"),
    ],
)
def test_every_code_column_is_checked(make, enum: str) -> None:
    with pytest.raises(ValueError, match=f"not a known {enum} code"):
        make()


def test_optional_code_may_be_empty() -> None:
    assert Enrolment("E1", "U1", "S1", end_reason="").end_reason is None
    assert Enrolment("E1", "U1", "S1").end_reason is None


# --- numbers and bounds ----------------------------------------------------------------------


@pytest.mark.parametrize("score", [-0.01, 1.01, 5, "1.5", "-1"])
def test_risk_score_outside_zero_to_one_is_rejected(score) -> None:
    with pytest.raises(ValueError, match="risk_score must be at"):
        User("U1", "Kent", risk_score=score)


@pytest.mark.parametrize(("score", "expected"), [(0, 0.0), (1, 1.0), ("0.25", 0.25), ("", None)])
def test_risk_score_bounds_are_inclusive(score, expected) -> None:
    assert User("U1", "Kent", risk_score=score).risk_score == expected


@pytest.mark.parametrize("bad", ["high", "0,5"])
def test_risk_score_that_is_not_a_number(bad: str) -> None:
    with pytest.raises(ValueError):
        User("U1", "Kent", risk_score=bad)


@pytest.mark.parametrize("bad", [math.nan, math.inf, "nan"])
def test_numbers_must_be_finite(bad) -> None:
    with pytest.raises(ValueError):
        User("U1", "Kent", risk_score=bad)
    with pytest.raises(ValueError):
        Service("S1", "telecare", "health", "Kent", annual_cost=bad)


@pytest.mark.parametrize("bad", ["1_000", "0x10", "\u0661", "1e", "."])
def test_numbers_in_text_are_written_as_the_loader_reads_them(bad: str) -> None:
    with pytest.raises(ValueError, match="expected"):
        Service("S1", "telecare", "health", "Kent", annual_cost=bad)


@pytest.mark.parametrize(("text", "value"), [("1e3", 1000.0), (".5", 0.5), ("+2", 2.0), ("3.", 3)])
def test_numbers_in_text(text: str, value: float) -> None:
    assert Service("S1", "telecare", "health", "Kent", annual_cost=text).annual_cost == value


def test_birth_year_is_a_whole_number_in_range() -> None:
    assert User("U1", "Kent", birth_year="1940").birth_year == 1940
    assert User("U1", "Kent", birth_year=1940.0).birth_year == 1940
    with pytest.raises(ValueError, match="whole number"):
        User("U1", "Kent", birth_year=1940.5)
    with pytest.raises(ValueError, match="whole number"):
        User("U1", "Kent", birth_year="1940.5")
    with pytest.raises(ValueError, match="whole number"):
        User("U1", "Kent", birth_year="1_940")
    with pytest.raises(ValueError):
        User("U1", "Kent", birth_year=True)
    with pytest.raises(ValueError, match="at least 1880"):
        User("U1", "Kent", birth_year=1700)
    with pytest.raises(ValueError, match="at most 2100"):
        User("U1", "Kent", birth_year=2200)


def test_costs_and_targets_may_not_be_negative() -> None:
    with pytest.raises(ValueError, match="annual_cost must be at least 0"):
        Service("S1", "telecare", "health", "Kent", annual_cost=-1)
    with pytest.raises(ValueError, match="cost must be at least 0"):
        Outcome("U1", "2013-01-01", "ae_attendance", cost=-5)
    with pytest.raises(ValueError, match="value must be at least 0"):
        Target("telehealth", "Kent", -1, "2014-03-31")
    assert Target("telehealth", "Kent", "10", "2014-03-31").value == 10.0


@pytest.mark.parametrize(
    "kind", ["emergency_admission", "elective_admission", "care_home_admission"]
)
def test_negative_length_of_stay_is_rejected_for_admissions(kind: str) -> None:
    with pytest.raises(ValueError, match="length of stay cannot be negative"):
        Outcome("U1", "2013-01-01", kind, value=-1)
    assert Outcome("U1", "2013-01-01", kind, value=0).value == 0


@pytest.mark.parametrize("kind", ["qol", "ae_attendance", "death"])
def test_negative_value_is_allowed_for_other_kinds(kind: str) -> None:
    assert Outcome("U1", "2013-01-01", kind, value=-0.3).value == -0.3


# --- dates -----------------------------------------------------------------------------------


def test_dates_are_parsed_from_iso_text() -> None:
    contact = Contact("U1", "E1", "2013-01-31", "reading")
    assert contact.date == date(2013, 1, 31)
    assert type(contact.date) is date


@pytest.mark.parametrize("bad", ["13/01/2013", "2013-02-30", "2013-1-5", "", "yesterday"])
def test_bad_dates_are_rejected(bad: str) -> None:
    with pytest.raises(PeriodError):
        Contact("U1", "E1", bad, "reading")


def test_a_datetime_at_midnight_is_a_date_and_a_time_of_day_is_refused() -> None:
    contact = Contact("U1", "E1", datetime(2013, 1, 31), "reading")
    assert contact.date == date(2013, 1, 31)
    assert type(contact.date) is date
    with pytest.raises(PeriodError, match="time of day"):
        Contact("U1", "E1", datetime(2013, 1, 31, 14, 30), "reading")


def test_optional_dates_may_be_empty() -> None:
    enrolment = Enrolment("E1", "U1", "S1", referred_on="", installed_on=None)
    assert (enrolment.referred_on, enrolment.installed_on, enrolment.ended_on) == (None,) * 3


def test_installed_before_referred_is_rejected() -> None:
    with pytest.raises(ValueError, match="installed_on must not be before referred_on"):
        Enrolment("E1", "U1", "S1", referred_on="2013-02-01", installed_on="2013-01-31")


def test_ended_before_installed_is_rejected() -> None:
    with pytest.raises(ValueError, match="ended_on must not be before installed_on"):
        Enrolment("E1", "U1", "S1", installed_on="2013-02-01", ended_on="2013-01-31")


def test_ended_before_referred_is_rejected_even_when_never_installed() -> None:
    with pytest.raises(ValueError, match="ended_on must not be before referred_on"):
        Enrolment("E1", "U1", "S1", referred_on="2013-02-01", ended_on="2013-01-31")


def test_same_day_referral_installation_and_end_is_fine() -> None:
    day = "2013-02-01"
    enrolment = Enrolment("E1", "U1", "S1", referred_on=day, installed_on=day, ended_on=day)
    assert enrolment.installed_on == enrolment.ended_on == date(2013, 2, 1)


def test_date_order_ignores_missing_dates() -> None:
    assert Enrolment("E1", "U1", "S1", referred_on="2013-05-01", ended_on=None).ended_on is None
    assert Enrolment("E1", "U1", "S1", installed_on="2013-05-01", referred_on=None)


# --- conditions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("copd;diabetes;heart_failure", ("copd", "diabetes", "heart_failure")),
        ("heart_failure;copd", ("copd", "heart_failure")),
        (" copd ; diabetes ", ("copd", "diabetes")),
        ("copd;;copd;", ("copd",)),
        ("", ()),
        (";", ()),
        (None, ()),
    ],
)
def test_conditions_parse_from_semicolon_text(text, expected) -> None:
    assert User("U1", "Kent", conditions=text).conditions == expected


def test_conditions_from_a_list() -> None:
    assert User("U1", "Kent", conditions=["diabetes", " copd", ""]).conditions == (
        "copd",
        "diabetes",
    )
    assert User("U1", "Kent").conditions == ()


# --- records are values ----------------------------------------------------------------------


def test_records_are_frozen_and_comparable() -> None:
    user = User("U1", "Kent", conditions="copd")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        user.area = "Cornwall"  # type: ignore[misc]
    assert user == User("U1", "Kent", conditions=["copd"])
    assert len({user, User("U1", "Kent", conditions="copd")}) == 1


# --- the schema derived from the records ---------------------------------------------------

DESIGN_COLUMNS = {
    "users": ("user_id", "area", "birth_year", "sex", "conditions", "risk_score"),
    "services": ("service_id", "kind", "sector", "area", "provider", "annual_cost"),
    "enrolments": (
        "enrolment_id",
        "user_id",
        "service_id",
        "referred_on",
        "installed_on",
        "ended_on",
        "end_reason",
    ),
    "contacts": ("user_id", "enrolment_id", "date", "kind"),
    "outcomes": ("user_id", "date", "kind", "value", "cost"),
    "allocations": ("user_id", "trial", "arm", "allocated_on"),
    "targets": ("definition", "area", "value", "due"),
    "populations": ("area", "year", "age_band", "sex", "population", "group"),
}


def test_schema_columns_match_the_interchange_schema() -> None:
    assert {name: spec.column_names for name, spec in TABLES.items()} == DESIGN_COLUMNS


def test_required_tables_and_columns() -> None:
    required = {name for name, spec in TABLES.items() if spec.required}
    assert required == {"users", "services", "enrolments", "contacts"}
    optional = {
        (name, col.name)
        for name, spec in TABLES.items()
        for col in spec.columns
        if not col.required
    }
    assert optional == {
        ("users", "birth_year"),
        ("users", "sex"),
        ("users", "conditions"),
        ("users", "risk_score"),
        ("services", "provider"),
        ("services", "annual_cost"),
        ("enrolments", "referred_on"),
        ("enrolments", "installed_on"),
        ("enrolments", "ended_on"),
        ("enrolments", "end_reason"),
        ("outcomes", "value"),
        ("outcomes", "cost"),
        ("populations", "sex"),
        ("populations", "group"),
    }


def test_schema_types_keys_and_references() -> None:
    users, contacts = TABLES["users"], TABLES["contacts"]
    assert users.key == "user_id"
    assert contacts.key is None
    assert users.column("conditions").type is ColumnType.CODE_LIST
    assert users.column("risk_score").type is ColumnType.NUMBER
    assert (users.column("risk_score").minimum, users.column("risk_score").maximum) == (0, 1)
    assert users.column("birth_year").type is ColumnType.INTEGER
    assert contacts.column("date").type is ColumnType.DATE
    assert contacts.column("enrolment_id").references == ("enrolments", "enrolment_id")
    assert TABLES["services"].column("kind").codes == tuple(k.value for k in ServiceKind)
    schema = users.arrow_schema()
    assert schema.names == list(users.column_names)
    assert str(schema.field("conditions").type) == "list<item: string>"
