"""Spec cases: tiny per-user tables with the members a definition must count.

A :class:`SpecCase` is written so a reader sees the case at a glance — a few
users, enrolments and contacts, the period, and who is expected to count — and
is used three ways: as a test (engine and reference evaluator must both give
the expected members), as a worked example in the docs, and as a check plugin
authors can run on their own definitions. Services are the fixed set in
:data:`SPEC_SERVICES` unless a case gives its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from attrs import field, frozen

from threeml.records.rows import Contact, Enrolment, Service, User

if TYPE_CHECKING:  # loading the engine waits until a case's data is asked for
    from threeml.data.dataset import Dataset

__all__ = ["SPEC_SERVICES", "SpecCase"]

#: The services every spec case can use: (service_id, kind, sector).
SPEC_SERVICES: tuple[tuple[str, str, str], ...] = (
    ("th", "telehealth", "health"),
    ("tc", "telecare", "social_care"),
    ("tch", "telecare", "housing"),
    ("tco", "telecoaching", "third_sector"),
)

USER_COLUMNS = ("user_id", "area", "conditions", "risk_score")
ENROLMENT_COLUMNS = (
    "enrolment_id",
    "user_id",
    "service_id",
    "referred_on",
    "installed_on",
    "ended_on",
)
CONTACT_COLUMNS = ("user_id", "enrolment_id", "date", "kind")
SERVICE_COLUMNS = ("service_id", "kind", "sector")


def _rows(value: Any) -> tuple[tuple[Any, ...], ...]:
    return tuple(tuple(row) for row in value)


@frozen
class SpecCase:
    """One worked example: the data, the period, and the ids expected to count.

    Rows are tuples in the column order of ``USER_COLUMNS``, ``ENROLMENT_COLUMNS``
    and ``CONTACT_COLUMNS``; ``None`` is an empty cell. ``expected`` holds user
    ids, or enrolment ids for an enrolment-unit definition.
    """

    definition: str
    title: str
    period: str
    users: tuple[tuple[Any, ...], ...] = field(converter=_rows)
    enrolments: tuple[tuple[Any, ...], ...] = field(converter=_rows)
    expected: frozenset[str] = field(converter=frozenset)
    contacts: tuple[tuple[Any, ...], ...] = field(default=(), converter=_rows)
    services: tuple[tuple[Any, ...], ...] = field(default=SPEC_SERVICES, converter=_rows)
    notes: Sequence[str] = field(default=(), converter=tuple)

    def dataset(self) -> Dataset:
        """The case's tables as a validated dataset."""
        from threeml.data.dataset import Dataset

        return Dataset.from_records(
            users=[
                User(*row[:2], conditions=row[2] or (), risk_score=row[3]) for row in self.users
            ],
            services=[
                Service(service_id=s, kind=k, sector=sector, area="spec")
                for s, k, sector in self.services
            ],
            enrolments=[Enrolment(*row) for row in self.enrolments],
            contacts=[Contact(*row) for row in self.contacts],
        )

    def tables(self) -> dict[str, tuple[tuple[str, ...], tuple[tuple[Any, ...], ...]]]:
        """The case's tables as (header, rows), for rendering."""
        shown = {
            "users": (USER_COLUMNS, self.users),
            "enrolments": (ENROLMENT_COLUMNS, self.enrolments),
        }
        if self.contacts:
            shown["contacts"] = (CONTACT_COLUMNS, self.contacts)
        return shown
