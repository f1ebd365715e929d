"""Small hand-made extracts for worked examples and tests, written as tuples.

``extract(...)`` builds a validated :class:`~threeml.data.Dataset` from rows
short enough to read at a glance::

    extract(
        users=[("u1", "A"), ("u2", "B")],
        enrolments=[("e1", "u1", "th", None, "2013-01-01", None, None)],
        outcomes=[("u1", "2013-03-31", "death")],
        extract_date="2013-12-31",
    )

Services are :data:`SERVICES` unless given: ``th`` telehealth (health, 900 a
year), ``tc`` telecare (social care, 120 a year), ``tch`` telecare (housing, no
cost recorded) and ``tco`` telecoaching (third sector, 300 a year).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from threeml.data import Dataset
from threeml.records.rows import (
    Allocation,
    Enrolment,
    Outcome,
    Population,
    Service,
    Target,
    User,
)

__all__ = ["SERVICES", "extract"]

#: The fields of a populations row, in the order ``extract`` takes them.
_POPULATION = ("area", "year", "age_band", "population", "group")

#: (service_id, kind, sector, annual_cost)
SERVICES: tuple[tuple[str, str, str, float | None], ...] = (
    ("th", "telehealth", "health", 900.0),
    ("tc", "telecare", "social_care", 120.0),
    ("tch", "telecare", "housing", None),
    ("tco", "telecoaching", "third_sector", 300.0),
)


def extract(
    *,
    users: Iterable[Sequence[Any]],
    enrolments: Iterable[Sequence[Any]] = (),
    outcomes: Iterable[Sequence[Any]] = (),
    allocations: Iterable[Sequence[Any]] = (),
    targets: Iterable[Sequence[Any]] = (),
    populations: Iterable[Sequence[Any]] = (),
    services: Iterable[Sequence[Any]] = SERVICES,
    extract_date: date | str | None = None,
) -> Dataset:
    """A dataset from rows.

    users: ``(user_id, area)``; enrolments: ``(enrolment_id, user_id, service_id,
    referred_on, installed_on, ended_on, end_reason)`` (trailing items may be
    left out); outcomes: ``(user_id, date, kind[, value])``; allocations:
    ``(user_id, trial, arm, allocated_on)``; targets: ``(definition, area,
    value, due)``; populations: ``(area, year, age_band, population[, group])``.
    """
    return Dataset.from_records(
        users=[User(*row) for row in users],
        services=[
            Service(service_id=s, kind=k, sector=sector, area="example", annual_cost=cost)
            for s, k, sector, cost in services
        ],
        enrolments=[Enrolment(*row) for row in enrolments],
        outcomes=[Outcome(*row) for row in outcomes],
        allocations=[Allocation(*row) for row in allocations],
        targets=[Target(*row) for row in targets],
        populations=[Population(**dict(zip(_POPULATION, r, strict=False))) for r in populations],
        extract_date=extract_date,
    )
