"""The record types of the interchange schema: the single source of its columns.

Each class below is one table of an extract. Its attrs fields are the table's
columns, in file order; the annotation gives the column's type and whether it
may be empty (``X | None``); :func:`column` metadata gives the rest (a
description, references to other tables, numeric bounds, whether it is the
table's key). Cross-column rules are class-level ``rules``. Everything else —
the Arrow schemas, the validator, the docs' column reference, the synthetic
generator — is derived from these classes by :mod:`threeml.records.schema`.
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar

from attrs import frozen

from threeml.records.codes import (
    ADMISSION_KINDS,
    AgeBand,
    Arm,
    ContactKind,
    EndReason,
    OutcomeKind,
    Sector,
    ServiceKind,
)

# Re-exported: these names were first defined here, and other modules import them from here.
from threeml.records.fields import (
    CONTROL_CHARACTERS as CONTROL_CHARACTERS,
)
from threeml.records.fields import (
    INTEGER_TEXT as INTEGER_TEXT,
)
from threeml.records.fields import (
    NUMBER_TEXT as NUMBER_TEXT,
)
from threeml.records.fields import (
    TEXT_LIMIT as TEXT_LIMIT,
)
from threeml.records.fields import (
    ColumnInfo,
    _check_rules,
    _code,
    _conditions,
    _date,
    _identifier,
    _optional_code,
    _optional_date,
    _optional_identifier,
    _optional_number,
    column,
)
from threeml.records.fields import (
    column_info as column_info,
)
from threeml.records.rules import BothOrNeither, DateOrder, MatchesReference, MinimumWhen

__all__ = [
    "Allocation",
    "BothOrNeither",
    "ColumnInfo",
    "Contact",
    "DateOrder",
    "Enrolment",
    "MatchesReference",
    "MinimumWhen",
    "Outcome",
    "Population",
    "Service",
    "Target",
    "User",
    "column",
]


@frozen
class User:
    """A person who may receive technology-enabled care."""

    table: ClassVar[str] = "users"
    rules: ClassVar[tuple[Any, ...]] = ()
    #: An extract's other users columns are kept as text breakdown columns (see
    #: :attr:`threeml.records.schema.Table.keeps_extra_columns`).
    keeps_extra_columns: ClassVar[bool] = True

    user_id: str = column("Pseudonymous id of the person.", key=True, converter=_identifier)
    area: str = column(
        "The area (for example a local authority) the person lives in.", converter=_identifier
    )
    birth_year: int | None = column(
        "Year of birth.",
        default=None,
        minimum=1880,
        maximum=2100,
        converter=_optional_number(int),
        may_be_absent=True,
    )
    sex: str | None = column(
        "Sex as recorded by the source system.",
        default=None,
        converter=_optional_identifier,
        may_be_absent=True,
    )
    conditions: tuple[str, ...] = column(
        "Long-term condition codes (for example copd, diabetes, heart_failure); "
        "`;`-separated in CSV, a list in Parquet.",
        factory=tuple,
        converter=_conditions,
    )
    risk_score: float | None = column(
        "Risk of an adverse outcome from a stratification tool, 0 to 1.",
        default=None,
        minimum=0,
        maximum=1,
        converter=_optional_number(float),
        may_be_absent=True,
    )


@frozen
class Service:
    """A technology-enabled care service offered by a provider in an area."""

    table: ClassVar[str] = "services"
    rules: ClassVar[tuple[Any, ...]] = ()

    service_id: str = column("Id of the service.", key=True, converter=_identifier)
    kind: ServiceKind = column(
        "What kind of care the service delivers.", converter=_code(ServiceKind)
    )
    sector: Sector = column("Which sector provides the service.", converter=_code(Sector))
    area: str = column("The area the service covers.", converter=_identifier)
    provider: str | None = column(
        "Who provides the service.",
        default=None,
        converter=_optional_identifier,
        may_be_absent=True,
    )
    annual_cost: float | None = column(
        "Cost of the service per user per year.",
        default=None,
        minimum=0,
        converter=_optional_number(float),
        may_be_absent=True,
    )


@frozen
class Enrolment:
    """One user's referral to, installation of and exit from one service."""

    table: ClassVar[str] = "enrolments"
    rules: ClassVar[tuple[Any, ...]] = (
        DateOrder("referred_on", "installed_on"),
        DateOrder("installed_on", "ended_on"),
        DateOrder("referred_on", "ended_on"),
        BothOrNeither("ended_on", "end_reason"),
    )

    enrolment_id: str = column("Id of the enrolment.", key=True, converter=_identifier)
    user_id: str = column("The enrolled user.", references="users.user_id", converter=_identifier)
    service_id: str = column(
        "The service enrolled in.", references="services.service_id", converter=_identifier
    )
    referred_on: date | None = column(
        "Day of referral.", default=None, converter=_optional_date, may_be_absent=True
    )
    installed_on: date | None = column(
        "Day the service was installed; empty when it never was.",
        default=None,
        converter=_optional_date,
    )
    ended_on: date | None = column(
        "Last day of service, inclusive; empty while the enrolment is open.",
        default=None,
        converter=_optional_date,
    )
    end_reason: EndReason | None = column(
        "Why the enrolment ended.", default=None, converter=_optional_code(EndReason)
    )

    def __attrs_post_init__(self) -> None:
        _check_rules(self)


@frozen
class Contact:
    """One recorded use of a service (a reading, an alarm call, a heartbeat …)."""

    table: ClassVar[str] = "contacts"
    rules: ClassVar[tuple[Any, ...]] = (
        MatchesReference(
            table="enrolments",
            columns=("user_id",),
            via="enrolment_id",
            reason="a contact's enrolment must belong to the same user",
        ),
    )

    user_id: str = column(
        "The user the contact is about.", references="users.user_id", converter=_identifier
    )
    enrolment_id: str = column(
        "The enrolment the contact was made under.",
        references="enrolments.enrolment_id",
        converter=_identifier,
    )
    date: date = column("Day of the contact.", converter=_date)
    kind: ContactKind = column("What kind of contact it was.", converter=_code(ContactKind))


@frozen
class Outcome:
    """An event or measurement for a user: an admission, an attendance, a death, a score."""

    table: ClassVar[str] = "outcomes"
    rules: ClassVar[tuple[Any, ...]] = (
        MinimumWhen(
            column="value",
            minimum=0,
            when_column="kind",
            when_in=frozenset(kind.value for kind in ADMISSION_KINDS),
            reason="a length of stay cannot be negative",
        ),
    )

    user_id: str = column("The user.", references="users.user_id", converter=_identifier)
    date: date = column("Day of the event.", converter=_date)
    kind: OutcomeKind = column("What happened.", converter=_code(OutcomeKind))
    value: float | None = column(
        "Length of stay in days for admissions; the score for qol.",
        default=None,
        converter=_optional_number(float),
        may_be_absent=True,
    )
    cost: float | None = column(
        "Cost of the event.",
        default=None,
        minimum=0,
        converter=_optional_number(float),
        may_be_absent=True,
    )

    def __attrs_post_init__(self) -> None:
        _check_rules(self)


@frozen
class Allocation:
    """A user's allocation to an arm of a trial."""

    table: ClassVar[str] = "allocations"
    rules: ClassVar[tuple[Any, ...]] = ()

    user_id: str = column("The allocated user.", references="users.user_id", converter=_identifier)
    trial: str = column("Name of the trial.", converter=_identifier)
    arm: Arm = column("The arm the user was allocated to.", converter=_code(Arm))
    allocated_on: date = column("Day of allocation.", converter=_date)


@frozen
class Target:
    """An area's target count under a named definition, due on a date."""

    table: ClassVar[str] = "targets"
    rules: ClassVar[tuple[Any, ...]] = ()

    definition: str = column(
        "Name of the counting definition the target is set in.", converter=_identifier
    )
    area: str = column("The area, or `all` for the whole extract.", converter=_identifier)
    value: float = column("The target count.", minimum=0, converter=float)
    due: date = column("Day by which the target should be met.", converter=_date)


@frozen(kw_only=True)  # keyword-only: the optional sex comes before the population, as in files
class Population:
    """The population of an area, by year, age band and sex: the denominators of coverage rates.

    A row with an empty ``group`` counts everyone; a named ``group`` (``ltc``, ``social_care``,
    ``eligible`` …) counts a sub-population, such as the people who could benefit. A row with an
    empty ``sex`` counts both sexes.
    """

    table: ClassVar[str] = "populations"
    rules: ClassVar[tuple[Any, ...]] = ()

    area: str = column("The area, as the users table names it.", converter=_identifier)
    year: int = column(
        "Calendar year of the (mid-year) estimate.",
        minimum=1880,
        maximum=2100,
        converter=_optional_number(int),
    )
    age_band: AgeBand = column(
        "5-year age band of the 2013 European Standard Population (`0-4` … `85-89`, `90+`).",
        converter=_code(AgeBand),
    )
    sex: str | None = column(
        "Sex, coded as the users table codes it; empty for both sexes together.",
        default=None,
        converter=_optional_identifier,
    )
    population: int = column(
        "Number of people (a mid-year estimate).", minimum=0, converter=_optional_number(int)
    )
    group: str | None = column(
        "A sub-population (for example `ltc`, `social_care`, `eligible`); empty for everyone.",
        default=None,
        converter=_optional_identifier,
    )
