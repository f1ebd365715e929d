"""The criteria vocabulary: small declarative tests a user (or enrolment) passes or fails.

A criterion is a frozen value. It says *what* is tested, never *how*: the
engine (:mod:`threeml.engine.evaluate`) compiles it to a query and the reference
evaluator (:mod:`threeml.engine.reference`) checks it row by row. Because criteria are
values they compare equal when they test the same thing, so a criterion shared
by several definitions is evaluated once, and they serialise to JSON and TOML
(:mod:`threeml.definitions.serialise`).

Windows are relative to the evaluation period P = [start, end]:
``Window()`` is P itself, ``Window(last_days=28)`` is ``[end-27, end]`` and
``Window(last_days=7)`` the census week.

An *enrolment criterion* (the has-enrolment family, first installation,
contacts, sectors) says which enrolments contribute to it; the others are about
the user alone. A definition's *records* are the enrolments of the counted users
that contribute to at least one of its enrolment criteria.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import attrs
from attrs import field, frozen

from threeml.records.codes import ContactKind, Sector, ServiceKind, normalise_condition
from threeml.records.periods import Period

__all__ = [
    "CRITERIA",
    "ContactsAtLeast",
    "Criterion",
    "EnrolmentOverlaps",
    "FirstInstalledIn",
    "HasCondition",
    "InstalledIn",
    "MemberOf",
    "Query",
    "ReferredIn",
    "RiskAtLeast",
    "RiskInTopPercent",
    "SectorsAtLeast",
    "Window",
]


def _codes(enum: type) -> Callable[[Any], frozenset]:
    def convert(values: Any) -> frozenset:
        if values is None:
            return frozenset()
        if isinstance(values, str):
            values = [values]
        try:
            return frozenset(enum(value) for value in values)
        except ValueError as error:
            allowed = ", ".join(member.value for member in enum)
            raise ValueError(f"{error}; expected any of {allowed}") from None

    return convert


def _names(values: Any) -> frozenset[str]:
    if isinstance(values, str):
        values = [values]
    return frozenset(str(value).strip() for value in values)


def _condition_names(values: Any) -> frozenset[str]:
    """Condition codes in their one written form (see ``normalise_condition``)."""
    return frozenset(normalise_condition(value) for value in _names(values))


def _positive(instance: Any, attribute: attrs.Attribute, value: int) -> None:
    if value < 1:
        raise ValueError(f"{attribute.name} must be at least 1, got {value}")


def _article(noun: str) -> str:
    return "an" if noun[:1] in "aeiou" else "a"


def _words(values: frozenset, noun: str) -> str:
    return " or ".join(sorted(str(v) for v in values)) + f" {noun}" if values else noun


@frozen
class Window:
    """A window of days relative to the evaluation period.

    ``last_days=None`` means the whole period; ``last_days=K`` means its last K
    days, ``[end-(K-1), end]`` (which may start before the period when K is
    larger than the period).
    """

    last_days: int | None = field(default=None)

    @last_days.validator
    def _check(self, attribute: attrs.Attribute, value: int | None) -> None:
        if value is not None and value < 1:
            raise ValueError(f"a window needs at least one day, got last_days={value}")

    def resolve(self, period: Period) -> Period:
        """The concrete days of the window for ``period``."""
        return period if self.last_days is None else period.last_days(self.last_days)

    def describe(self) -> str:
        if self.last_days is None:
            return "the period"
        return f"the last {self.last_days} days of the period"


class Criterion:
    """Base of every criterion. ``kind`` names it in serialised definitions."""

    kind: ClassVar[str]
    #: True when some enrolments contribute to it (see the module docs).
    about_enrolments: ClassVar[bool] = False

    def describe(self) -> str:  # pragma: no cover - every criterion overrides it
        raise NotImplementedError


@frozen
class EnrolmentOverlaps(Criterion):
    """Has an enrolment (of the given kinds / sectors) whose installed window overlaps the window.

    An installed window is ``[installed_on, ended_on]``, open-ended when
    ``ended_on`` is empty; an enrolment never installed has none.
    """

    kind: ClassVar[str] = "enrolment-overlaps"
    about_enrolments: ClassVar[bool] = True

    service_kinds: frozenset[ServiceKind] = field(
        default=frozenset(), converter=_codes(ServiceKind)
    )
    sectors: frozenset[Sector] = field(default=frozenset(), converter=_codes(Sector))
    window: Window = field(factory=Window)

    def describe(self) -> str:
        where = f" with a {_words(self.sectors, 'sector')} service" if self.sectors else ""
        noun = _words(self.service_kinds, "enrolment")
        return (
            f"has {_article(noun)} {noun}{where} whose installed window "
            f"overlaps {self.window.describe()}"
        )


@frozen
class ReferredIn(Criterion):
    """Has an enrolment (of the given kinds / sectors) referred within the window.

    Installed or not: a referral counts even when nothing was ever installed.
    """

    kind: ClassVar[str] = "referred-in"
    about_enrolments: ClassVar[bool] = True

    service_kinds: frozenset[ServiceKind] = field(
        default=frozenset(), converter=_codes(ServiceKind)
    )
    sectors: frozenset[Sector] = field(default=frozenset(), converter=_codes(Sector))
    window: Window = field(factory=Window)

    def describe(self) -> str:
        return (
            f"was referred to a {_words(self.service_kinds, 'service')} in {self.window.describe()}"
        )


@frozen
class InstalledIn(Criterion):
    """Has an enrolment (of the given kinds / sectors) with ``installed_on`` within the window."""

    kind: ClassVar[str] = "installed-in"
    about_enrolments: ClassVar[bool] = True

    service_kinds: frozenset[ServiceKind] = field(
        default=frozenset(), converter=_codes(ServiceKind)
    )
    sectors: frozenset[Sector] = field(default=frozenset(), converter=_codes(Sector))
    window: Window = field(factory=Window)

    def describe(self) -> str:
        return (
            f"had a {_words(self.service_kinds, 'service')} installed in {self.window.describe()}"
        )


@frozen
class FirstInstalledIn(Criterion):
    """The user's earliest ``installed_on`` (over enrolments of the given kinds) lies in the window.

    The test is about the user: for an enrolment-unit definition it still looks
    at all of that user's enrolments. The enrolments that contribute to it (its
    records) are those of the given kinds installed in the window.
    """

    kind: ClassVar[str] = "first-installed-in"
    about_enrolments: ClassVar[bool] = True

    service_kinds: frozenset[ServiceKind] = field(
        default=frozenset(), converter=_codes(ServiceKind)
    )
    window: Window = field(factory=Window)

    def describe(self) -> str:
        kinds = f" {_words(self.service_kinds, '')}".rstrip() if self.service_kinds else ""
        return f"first{kinds} installation of all their enrolments fell in {self.window.describe()}"


@frozen
class ContactsAtLeast(Criterion):
    """At least ``count`` counting contacts (of the given kinds, on enrolments of the given
    service kinds) dated within the window.

    A contact counts only when its date lies inside its own enrolment's
    installed window.
    """

    kind: ClassVar[str] = "contacts-at-least"
    about_enrolments: ClassVar[bool] = True

    count: int = field(default=1, validator=_positive)
    contact_kinds: frozenset[ContactKind] = field(
        default=frozenset(), converter=_codes(ContactKind)
    )
    service_kinds: frozenset[ServiceKind] = field(
        default=frozenset(), converter=_codes(ServiceKind)
    )
    window: Window = field(factory=Window)

    def describe(self) -> str:
        on = f" on {_words(self.service_kinds, 'enrolments')}" if self.service_kinds else ""
        noun = _words(self.contact_kinds, "contact" if self.count == 1 else "contacts")
        return f"at least {self.count} counting {noun}{on} in {self.window.describe()}"


@frozen
class SectorsAtLeast(Criterion):
    """Enrolments whose installed windows overlap the window are with services in at least
    ``count`` distinct sectors."""

    kind: ClassVar[str] = "sectors-at-least"
    about_enrolments: ClassVar[bool] = True

    count: int = field(default=2, validator=_positive)
    window: Window = field(factory=Window)

    def describe(self) -> str:
        return (
            f"enrolments whose installed windows overlap {self.window.describe()} are with "
            f"services in at least {self.count} sectors"
        )


@frozen
class HasCondition(Criterion):
    """Has at least one of the listed long-term conditions."""

    kind: ClassVar[str] = "has-condition"

    conditions: frozenset[str] = field(converter=_condition_names)

    @conditions.validator
    def _check(self, attribute: attrs.Attribute, value: frozenset[str]) -> None:
        if not value or "" in value:
            raise ValueError("has-condition needs at least one non-empty condition code")

    def describe(self) -> str:
        return "has " + " or ".join(sorted(self.conditions))


@frozen
class RiskAtLeast(Criterion):
    """Has a risk score of at least ``threshold`` (users without a score fail)."""

    kind: ClassVar[str] = "risk-at-least"

    threshold: float = field(converter=float)

    @threshold.validator
    def _check(self, attribute: attrs.Attribute, value: float) -> None:
        if not 0 <= value <= 1:
            raise ValueError(f"a risk threshold lies in 0..1, got {value}")

    def describe(self) -> str:
        return f"risk score at least {self.threshold:g}"


@frozen
class RiskInTopPercent(Criterion):
    """Risk score in the top ``percent`` % of all users with a score.

    Precisely: fewer than ``percent/100 × N`` users (N = users with a score)
    have a strictly higher score, so ties at the boundary are all included.
    """

    kind: ClassVar[str] = "risk-in-top-percent"

    percent: float = field(converter=float)

    @percent.validator
    def _check(self, attribute: attrs.Attribute, value: float) -> None:
        if not 0 < value <= 100:
            raise ValueError(f"a top percentage lies in (0, 100], got {value}")

    def describe(self) -> str:
        return f"risk score in the top {self.percent:g}% of users"


@frozen
class MemberOf(Criterion):
    """Is counted by another counting definition, named.

    For an enrolment-unit definition, a user is a member when any of their
    enrolments counts. Not an enrolment criterion: it contributes no records.
    """

    kind: ClassVar[str] = "member-of"

    definition: str = field(converter=str)

    def describe(self) -> str:
        return f"counted by {self.definition}"


@frozen
class Query(Criterion):
    """The Python-API escape hatch: a criterion given as a Python function.

    ``function`` is a callable (never an import path: definition files are data and
    name no code), called as ``function(tables, period)`` with the dataset's ibis tables
    (a mapping by table name) and the :class:`~threeml.records.periods.Period`; it returns
    an ibis table with a ``user_id`` column, the users who pass. A definition using it
    does not serialise: a criterion that must be written to a file is an installed
    plugin's criterion kind (:class:`threeml.definitions.kinds.CriterionKind`).
    """

    kind: ClassVar[str] = "query"

    function: Callable[..., Any] = field()
    description: str = field()

    @function.validator
    def _check(self, attribute: attrs.Attribute, value: Any) -> None:
        if not callable(value):
            raise ValueError(
                f"a query criterion takes a Python function, not {value!r}: definition "
                f"files name no code; a criterion that needs code is an installed "
                f"plugin's criterion kind"
            )

    @property
    def name(self) -> str:
        """The function's qualified name, for messages."""
        module = getattr(self.function, "__module__", None)
        qualname = getattr(self.function, "__qualname__", repr(self.function))
        return f"{module}:{qualname}" if module else str(qualname)

    def resolve(self) -> Callable[..., Any]:
        """The function."""
        return self.function

    def describe(self) -> str:
        return self.description


#: Every criterion class by its ``kind``, for serialisation.
CRITERIA: dict[str, type[Criterion]] = {
    cls.kind: cls
    for cls in (
        EnrolmentOverlaps,
        ReferredIn,
        InstalledIn,
        FirstInstalledIn,
        ContactsAtLeast,
        SectorsAtLeast,
        HasCondition,
        RiskAtLeast,
        RiskInTopPercent,
        MemberOf,
        Query,
    )
}
