"""What the reference evaluator reads and says: a dataset's rows as plain values, and outcomes.

:class:`ReferenceData` holds the rows of a dataset as dicts, indexed by user, with each
contact marked as counting or not (dated inside its own enrolment's installed window).
:class:`Outcome` is one criterion's verdict for one unit with the evidence in words. Both are
what a criterion kind's ``reference`` function works with (see
:class:`threeml.definitions.kinds.CriterionKind`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date
from typing import Any

from attrs import frozen

from threeml.data import Dataset

__all__ = ["Outcome", "ReferenceData", "installed_contains"]


@frozen
class Outcome:
    """Whether a unit passed one criterion, and the evidence, in words."""

    passed: bool
    evidence: str


def installed_contains(enrolment: Mapping[str, Any], day: date) -> bool:
    """Whether ``day`` lies in the enrolment's installed window."""
    start, end = enrolment["installed_on"], enrolment["ended_on"]
    return start is not None and start <= day and (end is None or day <= end)


class ReferenceData:
    """The rows of a dataset as plain Python values, indexed for the reference evaluator.

    ``users`` maps each user id to its row; ``enrolments`` lists the enrolments with their
    service's ``service_kind`` and ``sector``, ``by_user`` the same by user id; ``contacts``
    maps each user id to their contacts, each with ``counts`` (dated inside its own
    enrolment's installed window) and its enrolment's ``service_kind``.
    """

    def __init__(self, tables: Mapping[str, list[dict[str, Any]]], full_tables: Any = None) -> None:
        self.users = {row["user_id"]: row for row in tables["users"]}
        services = {row["service_id"]: row for row in tables["services"]}
        self.enrolments = [
            {
                **row,
                "service_kind": services[row["service_id"]]["kind"],
                "sector": services[row["service_id"]]["sector"],
            }
            for row in tables["enrolments"]
            if row["service_id"] in services
        ]
        self.by_user: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in self.enrolments:
            self.by_user[row["user_id"]].append(row)
        by_id = {row["enrolment_id"]: row for row in self.enrolments}
        self.contacts: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for contact in tables["contacts"]:
            enrolment = by_id.get(contact["enrolment_id"])
            counts = enrolment is not None and installed_contains(enrolment, contact["date"])
            self.contacts[contact["user_id"]].append(
                {
                    **contact,
                    "counts": counts,
                    "service_kind": enrolment["service_kind"] if enrolment else None,
                }
            )
        self.full_tables = full_tables

    @classmethod
    def from_dataset(cls, dataset: Dataset, user_ids: list[str] | None = None) -> ReferenceData:
        """Read the dataset's rows (only those of ``user_ids`` when given)."""
        tables = {}
        for name in ("users", "services", "enrolments", "contacts"):
            table = dataset.table(name)
            if user_ids is not None and "user_id" in table.columns:
                table = table.filter(table.user_id.isin(user_ids))
            tables[name] = table.to_pyarrow().to_pylist()
        data = cls(tables, full_tables=dataset.tables)
        data.all_risk_scores = [
            row["risk_score"]
            for row in dataset.table("users").select("risk_score").to_pyarrow().to_pylist()
            if row["risk_score"] is not None
        ]
        return data

    all_risk_scores: list[float] = []
