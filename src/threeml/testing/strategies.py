"""Hypothesis strategies for threeml: records, small valid extracts, periods, criteria, definitions.

Needs Hypothesis (``pip install hypothesis``, or threeml's ``test`` extra).

The extracts are small (at most a dozen users) but dense in the cases that
matter to the counting rules: enrolments never installed, open-ended, ending or
starting on the edges of the period, overlapping enrolments of one person, and
contacts dated outside their enrolment's installed window (valid data that
simply does not count). Periods are drawn around the data's own dates, so that
their edges often coincide with an installation or an end.

- records: :func:`users`, :func:`services`, :func:`enrolments`,
  :func:`contacts`, :func:`outcomes`;
- extracts and datasets: :func:`extracts` (records, as an :class:`Extract`)
  and :func:`datasets` (validated :class:`~threeml.data.Dataset`);
- periods: :func:`periods`, optionally around an extract's dates;
- criteria and definitions: :func:`criteria`, :data:`criterion_strategies`,
  :func:`windows` and :func:`definitions`.

Criteria are drawn from the whole vocabulary of :data:`threeml.definitions.CRITERIA`
except the two that need something outside the dataset (``query`` needs a
function, ``member-of`` a registry); tests of those build them by hand. Given a
registry, :func:`criteria` and :func:`definitions` also draw the criterion kinds
of its plugins that offer a strategy (``CriterionKind.strategy``); a kind without
one is left out, since nothing says which of its values are worth drawing.

Building a dataset (validation included) costs most of an example, so tests
that build datasets run few examples: :func:`examples` scales a count by the
``THREEML_HYPOTHESIS_SCALE`` environment variable (``10`` for a thorough run).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import attrs

import threeml.records as records

try:
    from hypothesis import strategies as st
except ImportError as error:  # pragma: no cover - hypothesis is a test dependency
    raise ImportError(
        "threeml.testing.strategies needs Hypothesis: pip install hypothesis "
        "(or install threeml with its 'test' extra)"
    ) from error

from threeml import (
    Allocation,
    Arm,
    Contact,
    ContactKind,
    Enrolment,
    Outcome,
    OutcomeKind,
    Sector,
    Service,
    ServiceKind,
    Unit,
    User,
)
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
from threeml.definitions.kinds import registered_kinds
from threeml.records.codes import ADMISSION_KINDS
from threeml.records.periods import Period
from threeml.settings import positive_number

if TYPE_CHECKING:
    from threeml.plugins.registry import Registry

__all__ = [
    "AREAS",
    "BASE",
    "CONDITIONS",
    "NOT_GENERATED",
    "SCALE",
    "SPAN",
    "TRIAL",
    "Extract",
    "contacts",
    "criteria",
    "criterion_strategies",
    "datasets",
    "day",
    "definitions",
    "enrolments",
    "examples",
    "extracts",
    "outcomes",
    "periods",
    "services",
    "users",
    "windows",
]

#: Every example count of the tests that build datasets is multiplied by this. Building a
#: dataset (validation included) costs most of an example, so the counts are small by default;
#: set ``THREEML_HYPOTHESIS_SCALE=10`` in the environment for a thorough run.
SCALE = positive_number("THREEML_HYPOTHESIS_SCALE", 1.0, example="10")


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
#: The trial every generated allocation belongs to.
TRIAL = "trial"


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
    # records.Outcome, not Outcome: the docs would not know which Outcome a bare name meant.
    outcomes: tuple[records.Outcome, ...] = ()
    allocations: tuple[Allocation, ...] = ()

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

    def tables(self) -> dict[str, tuple[Any, ...]]:
        """The records by table name."""
        return {
            "users": self.users,
            "services": self.services,
            "enrolments": self.enrolments,
            "contacts": self.contacts,
            "outcomes": self.outcomes,
            "allocations": self.allocations,
        }

    def dataset(self) -> Dataset:
        """The validated dataset of these records (DuckDB)."""
        return Dataset.from_records(**self.tables())

    def as_code(self) -> str:
        """Python source that builds this extract with :func:`threeml.testing.make_dataset`."""
        from threeml.testing.tables import make_dataset_call

        return make_dataset_call(self.tables())


def _subset(values: Any, max_size: int = 2) -> st.SearchStrategy[frozenset]:
    return st.frozensets(st.sampled_from(list(values)), max_size=max_size)


# Strategies are built once and reused: Hypothesis validates every new strategy object,
# which would otherwise cost more than drawing from it.


@functools.lru_cache(maxsize=4096)
def _ints(low: int, high: int) -> st.SearchStrategy[int]:
    return st.integers(low, high)


@functools.lru_cache(maxsize=1024)
def _choice(values: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    return st.sampled_from(values)


_AREA = st.sampled_from(AREAS)
_BIRTH_YEAR = st.none() | st.integers(1920, 1990)
_SEX = st.sampled_from(SEXES)
_CONDITION_SET = _subset(CONDITIONS, 3)
_RISK = st.none() | st.sampled_from(RISK_SCORES)
_SERVICE_KIND = st.sampled_from(list(ServiceKind))
_SECTOR = st.sampled_from(list(Sector))
_CONTACT_KIND = st.sampled_from(list(ContactKind))
_REFERRED = st.none() | st.integers(0, SPAN - 40)
_INSTALL_DELAY = st.none() | st.integers(0, 40)
_DURATION = st.none() | st.integers(0, 60)
_END_REASON = st.sampled_from([None, "died", "declined"])
_STAY = st.none() | st.integers(0, 20).map(float)
_QOL = st.floats(-0.5, 1, allow_nan=False).map(lambda v: round(v, 2))
_COST = st.none() | st.integers(0, 5000).map(float)
_ARM = st.sampled_from(list(Arm))
_NOT_DEATH = st.sampled_from([k for k in OutcomeKind if k is not OutcomeKind.DEATH])


@st.composite
def users(draw: st.DrawFn, user_id: str = "u01") -> User:
    """A user: an area, perhaps a birth year and sex, some conditions, perhaps a risk score."""
    return User(
        user_id=user_id,
        area=draw(_AREA),
        birth_year=draw(_BIRTH_YEAR),
        sex=draw(_SEX),
        conditions=tuple(draw(_CONDITION_SET)),
        risk_score=draw(_RISK),
    )


@st.composite
def services(draw: st.DrawFn, service_id: str = "s1") -> Service:
    """A service of any kind and sector."""
    return Service(
        service_id=service_id,
        kind=draw(_SERVICE_KIND),
        sector=draw(_SECTOR),
        area=draw(_AREA),
    )


@st.composite
def enrolments(
    draw: st.DrawFn, enrolment_id: str, user_id: str, services: tuple[Service, ...]
) -> Enrolment:
    """An enrolment of ``user_id`` with one of ``services``: perhaps referred, installed, ended."""
    service = draw(_choice(tuple(services)))
    referred = draw(_REFERRED)
    # Installed on or after referral (up to 40 days later), or never.
    delay = draw(_INSTALL_DELAY)
    installed = None if delay is None else (referred or 0) + delay
    # Ended on or after installation (or referral), or still open. An enrolment may end
    # without ever being installed (declined), and may end on the day it was installed.
    earliest_end = installed if installed is not None else referred
    duration = draw(_DURATION)
    ended = None if duration is None else (earliest_end or 0) + duration
    return Enrolment(
        enrolment_id=enrolment_id,
        user_id=user_id,
        service_id=service.service_id,
        referred_on=None if referred is None else day(referred),
        installed_on=None if installed is None else day(installed),
        ended_on=None if ended is None else day(ended),
        end_reason=None if ended is None else draw(_END_REASON),
    )


@st.composite
def contacts(draw: st.DrawFn, enrolment: Enrolment) -> list[Contact]:
    """0-4 contacts on ``enrolment``, mostly in its installed window, some just outside it."""
    start = enrolment.installed_on or enrolment.referred_on or day(draw(_ints(0, SPAN)))
    end = max(enrolment.ended_on or start + timedelta(days=30), start)
    span = (end - start).days
    found = []
    for _ in range(draw(_ints(0, 4))):
        # Mostly inside the installed window, sometimes a few days either side of it
        # (a test call before installation, a late upload after the end).
        offset = draw(_ints(-3, span + 3))
        found.append(
            Contact(
                user_id=enrolment.user_id,
                enrolment_id=enrolment.enrolment_id,
                date=start + timedelta(days=offset),
                kind=draw(_CONTACT_KIND),
            )
        )
    return found


@st.composite
def outcomes(draw: st.DrawFn, user_id: str) -> list[records.Outcome]:
    """0-3 outcomes of ``user_id`` around the extract's dates (at most one death)."""
    found = []
    for _ in range(draw(_ints(0, 2))):
        kind = draw(_NOT_DEATH)
        if kind in ADMISSION_KINDS:
            value = draw(_STAY)
        elif kind is OutcomeKind.QOL:
            value = draw(_QOL)
        else:
            value = None
        found.append(
            Outcome(
                user_id=user_id,
                date=day(draw(_ints(-60, SPAN + 60))),
                kind=kind,
                value=value,
                cost=draw(_COST),
            )
        )
    if draw(_ints(0, 4)) == 0:
        found.append(Outcome(user_id=user_id, date=day(draw(_ints(0, SPAN + 60))), kind="death"))
    return found


@st.composite
def extracts(draw: st.DrawFn, max_users: int = 12, with_outcomes: bool = False) -> Extract:
    """A small valid extract: users, services of several kinds and sectors, enrolments, contacts.

    With ``with_outcomes``, also outcomes (admissions, attendances, deaths, scores) and
    allocations of some users to the two arms of one trial (:data:`TRIAL`).
    """
    n_services = draw(_ints(1, 5))
    made_services = tuple(draw(services(f"s{i}")) for i in range(1, n_services + 1))
    n_users = draw(_ints(1, max_users))
    made_users = tuple(draw(users(f"u{i:02d}")) for i in range(1, n_users + 1))
    made_enrolments: list[Enrolment] = []
    for user in made_users:
        for _ in range(draw(_ints(0, 3))):
            enrolment_id = f"e{len(made_enrolments) + 1:02d}"
            made_enrolments.append(draw(enrolments(enrolment_id, user.user_id, made_services)))
    made_contacts = [c for e in made_enrolments for c in draw(contacts(e))]
    made_outcomes: list[records.Outcome] = []
    made_allocations: list[Allocation] = []
    if with_outcomes:
        for user in made_users:
            made_outcomes.extend(draw(outcomes(user.user_id)))
            if draw(st.booleans()):
                made_allocations.append(
                    Allocation(
                        user_id=user.user_id,
                        trial=TRIAL,
                        arm=draw(_ARM),
                        allocated_on=day(draw(_ints(0, SPAN))),
                    )
                )
    return Extract(
        users=made_users,
        services=made_services,
        enrolments=tuple(made_enrolments),
        contacts=tuple(made_contacts),
        outcomes=tuple(made_outcomes),
        allocations=tuple(made_allocations),
    )


def datasets(max_users: int = 12, with_outcomes: bool = False) -> st.SearchStrategy[Dataset]:
    """Validated datasets of :func:`extracts` (each example builds one: keep examples few)."""
    return extracts(max_users=max_users, with_outcomes=with_outcomes).map(Extract.dataset)


@st.composite
def periods(draw: st.DrawFn, extract: Extract | None = None) -> Period:
    """A period around the extract's dates; its edges often fall on (or next to) one of them."""
    dates = extract.dates if extract is not None else []
    candidates = [d + timedelta(days=k) for d in dates for k in (-1, 0, 1)]

    def edge() -> date:
        if candidates and draw(st.booleans()):
            return candidates[draw(_ints(0, len(candidates) - 1))]
        return day(draw(_ints(-20, SPAN + 20)))

    first, second = edge(), edge()
    if draw(_ints(0, 4)) == 0:  # sometimes a single day
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

_BUILT_IN = st.one_of(*criterion_strategies.values())

#: The classes the strategies leave out on purpose: they need a function or a registry.
NOT_GENERATED = (MemberOf, Query)

assert set(criterion_strategies) | set(NOT_GENERATED) == set(CRITERIA.values()), (
    "a criterion class has no strategy in threeml.testing.strategies"
)


def criteria(registry: Registry | None = None) -> st.SearchStrategy[Criterion]:
    """Any generated criterion; with ``registry``, of its plugins' kinds too.

    A plugin's kind is drawn when it offers a strategy (``CriterionKind.strategy``).
    Evaluate the criteria drawn with the same registry, which supplies the kinds.
    """
    if registry is None:
        return _BUILT_IN
    plugin = [
        kind.strategy()
        for kind in registered_kinds(registry).values()
        if kind.strategy is not None and kind.criterion not in criterion_strategies
    ]
    return st.one_of(*criterion_strategies.values(), *plugin) if plugin else _BUILT_IN


@st.composite
def definitions(
    draw: st.DrawFn,
    name: str = "d",
    unit: Unit | None = None,
    min_criteria: int = 1,
    max_criteria: int = 4,
    extra: Callable[[], st.SearchStrategy[Criterion]] | None = None,
    registry: Registry | None = None,
) -> CountingDefinition:
    """A counting definition of 1-4 random criteria, counting users or enrolments.

    ``extra``, when given, makes a strategy for one more criterion (a ``member-of``
    or ``query`` the test builds) inserted at a random position. With ``registry``,
    the criteria may be of its plugins' kinds too (see :func:`criteria`).
    """
    chosen = draw(st.lists(criteria(registry), min_size=min_criteria, max_size=max_criteria))
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
