"""Hypothesis strategies for threeml's tests: small valid extracts, periods and definitions.

The extracts are small (at most a dozen users) but dense in the cases that
matter to the counting rules: enrolments never installed, open-ended, ending or
starting on the edges of the period, overlapping enrolments of one person, and
contacts dated outside their enrolment's installed window (valid data that
simply does not count). Periods are drawn around the data's own dates, so that
their edges often coincide with an installation or an end.

Criteria are drawn from the whole vocabulary of :data:`threeml.definitions.CRITERIA`
except the two that need something outside the dataset (``query`` needs a
function, ``member-of`` a registry); tests of those build them by hand.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import attrs
from hypothesis import strategies as st

from threeml import Contact, ContactKind, Enrolment, Sector, Service, ServiceKind, Unit, User
from threeml.data import Dataset
from threeml.definitions import (
    CRITERIA,
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
from threeml.periods import Period

__all__ = [
    "AREAS",
    "BASE",
    "CONDITIONS",
    "Extract",
    "criteria",
    "criterion_strategies",
    "definitions",
    "examples",
    "extracts",
    "periods",
    "windows",
]

#: Every example count of the tests that build datasets is multiplied by this. Building a
#: dataset (validation included) costs most of an example, so the counts are small by default;
#: set ``THREEML_HYPOTHESIS_SCALE=10`` in the environment for a thorough run.
SCALE = float(os.environ.get("THREEML_HYPOTHESIS_SCALE", "1"))


def examples(count: int) -> int:
    """``count`` examples, scaled by :data:`SCALE`."""
    return max(1, round(count * SCALE))


#: Day 0 of every generated extract; all dates are a few months around it.
BASE = date(2013, 1, 1)
#: Generated dates are ``BASE + offset`` with the offset in ``0..SPAN``.
SPAN = 150

AREAS = ("north", "south", "east")
SEXES = (None, "female", "male")
CONDITIONS = ("copd", "diabetes", "heart_failure", "dementia")
#: Risk scores on a coarse grid, so that ties (and boundary cases) are common.
RISK_SCORES = (0.1, 0.2, 0.3, 0.5, 0.5, 0.7, 0.9, 1.0)


def day(offset: int) -> date:
    """``BASE`` plus ``offset`` days."""
    return BASE + timedelta(days=offset)


@attrs.frozen
class Extract:
    """The records of a generated extract, and the dates worth putting a period edge on."""

    users: tuple[User, ...]
    services: tuple[Service, ...]
    enrolments: tuple[Enrolment, ...]
    contacts: tuple[Contact, ...]

    @property
    def dates(self) -> list[date]:
        """Every date in the enrolments and contacts, sorted."""
        found = {
            d
            for e in self.enrolments
            for d in (e.referred_on, e.installed_on, e.ended_on)
            if d is not None
        }
        found.update(c.date for c in self.contacts)
        return sorted(found)

    def dataset(self) -> Dataset:
        """The validated dataset of these records (DuckDB)."""
        return Dataset.from_records(
            users=self.users,
            services=self.services,
            enrolments=self.enrolments,
            contacts=self.contacts,
        )


def _subset(values: Any, max_size: int = 2) -> st.SearchStrategy[frozenset]:
    return st.frozensets(st.sampled_from(list(values)), max_size=max_size)


@st.composite
def _user(draw: st.DrawFn, user_id: str) -> User:
    return User(
        user_id=user_id,
        area=draw(st.sampled_from(AREAS)),
        birth_year=draw(st.none() | st.integers(1920, 1990)),
        sex=draw(st.sampled_from(SEXES)),
        conditions=tuple(draw(_subset(CONDITIONS, 3))),
        risk_score=draw(st.none() | st.sampled_from(RISK_SCORES)),
    )


@st.composite
def _enrolment(
    draw: st.DrawFn, enrolment_id: str, user_id: str, services: tuple[Service, ...]
) -> Enrolment:
    service = draw(st.sampled_from(services))
    referred = draw(st.none() | st.integers(0, SPAN - 40))
    # Installed on or after referral, or never.
    installed = draw(st.none() | st.integers(referred or 0, (referred or 0) + 40))
    # Ended on or after installation (or referral), or still open. An enrolment may end
    # without ever being installed (declined), and may end on the day it was installed.
    earliest_end = installed if installed is not None else referred
    ended = draw(st.none() | st.integers(earliest_end or 0, (earliest_end or 0) + 60))
    return Enrolment(
        enrolment_id=enrolment_id,
        user_id=user_id,
        service_id=service.service_id,
        referred_on=None if referred is None else day(referred),
        installed_on=None if installed is None else day(installed),
        ended_on=None if ended is None else day(ended),
        end_reason=None if ended is None else draw(st.sampled_from([None, "died", "declined"])),
    )


@st.composite
def _contacts(draw: st.DrawFn, enrolment: Enrolment) -> list[Contact]:
    start = enrolment.installed_on or enrolment.referred_on or day(draw(st.integers(0, SPAN)))
    end = max(enrolment.ended_on or start + timedelta(days=30), start)
    span = (end - start).days
    contacts = []
    for _ in range(draw(st.integers(0, 4))):
        # Mostly inside the installed window, sometimes a few days either side of it
        # (a test call before installation, a late upload after the end).
        offset = draw(st.integers(-3, span + 3))
        contacts.append(
            Contact(
                user_id=enrolment.user_id,
                enrolment_id=enrolment.enrolment_id,
                date=start + timedelta(days=offset),
                kind=draw(st.sampled_from(list(ContactKind))),
            )
        )
    return contacts


@st.composite
def extracts(draw: st.DrawFn, max_users: int = 12) -> Extract:
    """A small valid extract: users, services of several kinds and sectors, enrolments, contacts."""
    n_services = draw(st.integers(1, 5))
    services = tuple(
        Service(
            service_id=f"s{i}",
            kind=draw(st.sampled_from(list(ServiceKind))),
            sector=draw(st.sampled_from(list(Sector))),
            area=draw(st.sampled_from(AREAS)),
        )
        for i in range(1, n_services + 1)
    )
    n_users = draw(st.integers(1, max_users))
    users = tuple(draw(_user(f"u{i:02d}")) for i in range(1, n_users + 1))
    enrolments: list[Enrolment] = []
    for user in users:
        for _ in range(draw(st.integers(0, 3))):
            enrolment_id = f"e{len(enrolments) + 1:02d}"
            enrolments.append(draw(_enrolment(enrolment_id, user.user_id, services)))
    contacts = [c for e in enrolments for c in draw(_contacts(e))]
    return Extract(
        users=users, services=services, enrolments=tuple(enrolments), contacts=tuple(contacts)
    )


@st.composite
def periods(draw: st.DrawFn, extract: Extract | None = None) -> Period:
    """A period around the extract's dates; its edges often fall on (or next to) one of them."""
    dates = extract.dates if extract is not None else []
    candidates = [d + timedelta(days=k) for d in dates for k in (-1, 0, 1)]

    def edge() -> date:
        if candidates and draw(st.booleans()):
            return draw(st.sampled_from(candidates))
        return day(draw(st.integers(-20, SPAN + 20)))

    first, second = edge(), edge()
    if draw(st.integers(0, 4)) == 0:  # sometimes a single day
        second = first
    return Period(min(first, second), max(first, second))


def windows() -> st.SearchStrategy[Window]:
    """The whole period, the census week, the last 28 days or some other number of days."""
    return st.builds(
        Window, st.none() | st.sampled_from([1, 7, 28]) | st.integers(1, 120)
    ) | st.just(Window())


_KINDS = _subset(ServiceKind)
_SECTORS = _subset(Sector, 3)

#: A strategy for each criterion class the generated definitions use.
criterion_strategies: dict[type[Criterion], st.SearchStrategy[Criterion]] = {
    EnrolmentOverlaps: st.builds(
        EnrolmentOverlaps, service_kinds=_KINDS, sectors=_SECTORS, window=windows()
    ),
    ReferredIn: st.builds(ReferredIn, service_kinds=_KINDS, sectors=_SECTORS, window=windows()),
    InstalledIn: st.builds(InstalledIn, service_kinds=_KINDS, sectors=_SECTORS, window=windows()),
    FirstInstalledIn: st.builds(FirstInstalledIn, service_kinds=_KINDS, window=windows()),
    ContactsAtLeast: st.builds(
        ContactsAtLeast,
        count=st.integers(1, 4),
        contact_kinds=_subset(ContactKind, 3),
        service_kinds=_KINDS,
        window=windows(),
    ),
    SectorsAtLeast: st.builds(SectorsAtLeast, count=st.integers(1, 3), window=windows()),
    HasCondition: st.builds(
        HasCondition,
        conditions=st.frozensets(st.sampled_from([*CONDITIONS, "asthma"]), min_size=1, max_size=3),
    ),
    RiskAtLeast: st.builds(
        RiskAtLeast,
        threshold=st.sampled_from(RISK_SCORES) | st.floats(0, 1, allow_nan=False),
    ),
    RiskInTopPercent: st.builds(
        RiskInTopPercent,
        percent=st.sampled_from([10, 12.5, 20, 25, 50, 100])
        | st.floats(0, 100, exclude_min=True, allow_nan=False),
    ),
}

#: The classes the strategies leave out on purpose: they need a function or a registry.
NOT_GENERATED = (MemberOf, Query)

assert set(criterion_strategies) | set(NOT_GENERATED) == set(CRITERIA.values()), (
    "a criterion class has no strategy in tests/strategies.py"
)


def criteria() -> st.SearchStrategy[Criterion]:
    """Any generated criterion."""
    return st.one_of(*criterion_strategies.values())


@st.composite
def definitions(
    draw: st.DrawFn,
    name: str = "d",
    unit: Unit | None = None,
    min_criteria: int = 1,
    max_criteria: int = 4,
    extra: Callable[[], st.SearchStrategy[Criterion]] | None = None,
) -> CountingDefinition:
    """A counting definition of 1-4 random criteria, counting users or enrolments."""
    chosen = draw(st.lists(criteria(), min_size=min_criteria, max_size=max_criteria))
    if extra is not None:
        position = draw(st.integers(0, len(chosen)))
        chosen.insert(position, draw(extra()))
    return CountingDefinition(
        name=name,
        version="1",
        title=f"generated definition {name}",
        description="Drawn by Hypothesis.",
        criteria=tuple(chosen),
        unit=unit if unit is not None else draw(st.sampled_from(list(Unit))),
    )
