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

import math
import re
from datetime import date
from typing import Any, ClassVar

import attrs
from attrs import field, frozen

from threeml.records.codes import (
    ADMISSION_KINDS,
    AgeBand,
    Arm,
    ContactKind,
    EndReason,
    OutcomeKind,
    Sector,
    ServiceKind,
    normalise_condition,
)
from threeml.records.periods import parse_date

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

_META = "threeml"

#: How whole numbers and numbers are written in text (files and strings given to records):
#: ASCII digits, an optional sign, a decimal point and exponent for numbers; nothing else
#: (no ``1_000``, ``nan`` or ``infinity``). The engine's checks use the same patterns.
INTEGER_TEXT = r"^[+-]?[0-9]+$"
NUMBER_TEXT = r"^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$"


@frozen
class ColumnInfo:
    """What the type annotation cannot say about a column."""

    doc: str
    key: bool = False
    references: str | None = None  # "table.column"
    minimum: float | None = None
    maximum: float | None = None
    #: Whether a file may leave the column out of its header altogether (then read as empty).
    #: Every other column must be in the header, even when its values may be empty.
    may_be_absent: bool = False


# Cross-column rules, declared once and checked both on Python records and in the engine.


@frozen
class DateOrder:
    """``later`` may not be before ``earlier`` when both are present."""

    earlier: str
    later: str

    def describe(self) -> str:
        return f"{self.later} must not be before {self.earlier}"

    def holds(self, record: Any) -> bool:
        first, second = getattr(record, self.earlier), getattr(record, self.later)
        return first is None or second is None or second >= first


@frozen
class BothOrNeither:
    """``first`` and ``second`` are both given or both empty; otherwise a *warning*.

    A record holding only one of them is accepted (a reason may be unknown), so this rule
    has no ``holds``: validation reports it as *inconsistent end* and keeps the row.
    """

    first: str
    second: str

    def describe(self) -> str:
        return f"{self.first} and {self.second} are given together"


@frozen
class MinimumWhen:
    """``column`` must be at least ``minimum`` on rows whose ``when_column`` is in ``when_in``."""

    column: str
    minimum: float
    when_column: str
    when_in: frozenset[str]
    reason: str

    def describe(self) -> str:
        return f"{self.column} must be at least {self.minimum:g} ({self.reason})"

    def holds(self, record: Any) -> bool:
        value = getattr(record, self.column)
        return (
            value is None
            or getattr(record, self.when_column) not in self.when_in
            or (value >= self.minimum)
        )


@frozen
class MatchesReference:
    """The row's ``columns`` must equal those of the row it references in ``table``.

    Used for a contact whose enrolment must belong to the same user.
    """

    table: str
    columns: tuple[str, ...]
    via: str  # the column holding the reference, e.g. "enrolment_id"
    reason: str

    def describe(self) -> str:
        return self.reason


def column(
    doc: str,
    *,
    default: Any = attrs.NOTHING,
    key: bool = False,
    references: str | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    converter: Any = None,
    factory: Any = None,
    may_be_absent: bool = False,
) -> Any:
    """Declare a column: an attrs field carrying :class:`ColumnInfo` metadata.

    Validation of the value itself (non-empty ids, bounds) is attached here so
    that Python records obey the same constraints as loaded files.
    """
    info = ColumnInfo(
        doc=doc,
        key=key,
        references=references,
        minimum=minimum,
        maximum=maximum,
        may_be_absent=may_be_absent,
    )
    validators = [_bounds(minimum, maximum)] if minimum is not None or maximum is not None else []
    kwargs: dict[str, Any] = {"metadata": {_META: info}, "validator": validators}
    if converter is not None:
        kwargs["converter"] = converter
    if factory is not None:
        kwargs["factory"] = factory
    elif default is not attrs.NOTHING:
        kwargs["default"] = default
    return field(**kwargs)


def column_info(attribute: attrs.Attribute) -> ColumnInfo:
    """The :class:`ColumnInfo` of a record field."""
    return attribute.metadata[_META]


def _bounds(minimum: float | None, maximum: float | None) -> Any:
    def check(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
        if value is None:
            return
        if minimum is not None and value < minimum:
            raise ValueError(f"{attribute.name} must be at least {minimum:g}, got {value!r}")
        if maximum is not None and value > maximum:
            raise ValueError(f"{attribute.name} must be at most {maximum:g}, got {value!r}")

    return check


#: The longest text value (id, area, label) a record or a file may hold, in characters.
TEXT_LIMIT = 200

#: Control characters (C0 and DEL), which no text value may hold.
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f]")


def _plain_text(text: str) -> str:
    """``text`` when it is text a file may hold: no control characters, not over-long."""
    if CONTROL_CHARACTERS.search(text):
        raise ValueError(f"text must not hold control characters, got {text!r}")
    if len(text) > TEXT_LIMIT:
        raise ValueError(f"text must be at most {TEXT_LIMIT} characters, got {len(text)}")
    return text


def _identifier(value: Any) -> str:
    text = str(value).strip() if value is not None else ""
    if not text:
        raise ValueError("an id must be a non-empty string")
    return _plain_text(text)


def _optional_identifier(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _plain_text(str(value).strip())


def _date(value: Any) -> date:
    return parse_date(value)


def _optional_date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    return parse_date(value)


def _code(enum: type) -> Any:
    def convert(value: Any) -> Any:
        try:
            return enum(value)
        except ValueError:
            allowed = ", ".join(member.value for member in enum)
            raise ValueError(
                f"{value!r} is not a known {enum.__name__} code; expected one of {allowed}"
            ) from None

    return convert


def _optional_code(enum: type) -> Any:
    convert = _code(enum)
    return lambda value: None if value is None or value == "" else convert(value)


def _optional_number(kind: type) -> Any:
    """A converter to ``kind`` (int or float) that keeps ``None`` and empty text as ``None``.

    Like the loader, it refuses numbers that are not finite and, for whole-number
    columns, numbers with a fractional part (rather than silently truncating them).
    """

    def convert(value: Any) -> Any:
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise ValueError(f"expected a number, got {value!r}")
        if isinstance(value, str):
            value = value.strip()
            pattern = INTEGER_TEXT if kind is int else NUMBER_TEXT
            if not re.fullmatch(pattern, value):
                expected = "a whole number" if kind is int else "a number such as 0.25"
                raise ValueError(f"expected {expected}, got {value!r}")
        if kind is int:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(f"expected a whole number, got {value!r}")
            return int(value)
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"expected a finite number, got {value!r}")
        return number

    return convert


def _conditions(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = value.split(";")
    codes = {normalise_condition(str(item)) for item in value}
    return tuple(sorted(code for code in codes if code))


def _check_rules(record: Any) -> None:
    for rule in type(record).rules:
        if hasattr(rule, "holds") and not rule.holds(record):
            raise ValueError(f"{type(record).__name__}: {rule.describe()}")


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
