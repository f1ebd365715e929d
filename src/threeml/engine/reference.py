"""A small pure-Python reference evaluator: slow, obvious, and the oracle for the engine.

It reads the dataset's rows into plain dicts and applies each criterion's
definition literally, one user (or enrolment) at a time, keeping the evidence
(dates, counts) that decided each criterion. Differential tests compare it with
:mod:`threeml.engine.evaluate`; :func:`threeml.engine.explain.explain` uses its evidence to
say in words why one person is in or out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from attrs import frozen

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
)
from threeml.records.codes import Unit
from threeml.records.periods import Period

__all__ = ["Outcome", "ReferenceData", "ReferenceResult", "reference_count"]


@frozen
class Outcome:
    """Whether a unit passed one criterion, and the evidence, in words."""

    passed: bool
    evidence: str


@frozen
class ReferenceResult:
    """Per-unit outcomes of every criterion, and the figures derived from them."""

    definition: CountingDefinition
    outcomes: Mapping[str, tuple[Outcome, ...]]  # unit id -> one outcome per criterion
    records: int
    users: int

    @property
    def members(self) -> set[str]:
        return {unit for unit, outs in self.outcomes.items() if all(o.passed for o in outs)}

    @property
    def count(self) -> int:
        return len(self.members)

    def first_failed(self, unit: str) -> int | None:
        for i, outcome in enumerate(self.outcomes[unit], start=1):
            if not outcome.passed:
                return i
        return None

    def sequential(self) -> list[int]:
        return [
            sum(all(o.passed for o in outs[: i + 1]) for outs in self.outcomes.values())
            for i in range(len(self.definition.criteria))
        ]

    def leave_one_out(self) -> list[int]:
        total = self.count
        return [
            sum(
                all(o.passed for j, o in enumerate(outs) if j != i)
                for outs in self.outcomes.values()
            )
            - total
            for i in range(len(self.definition.criteria))
        ]


class ReferenceData:
    """The rows of a dataset as plain Python values, indexed for the reference evaluator."""

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
            counts = enrolment is not None and _installed_contains(enrolment, contact["date"])
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


def _installed_contains(enrolment: Mapping[str, Any], day: date) -> bool:
    start, end = enrolment["installed_on"], enrolment["ended_on"]
    return start is not None and start <= day and (end is None or day <= end)


def _overlaps(enrolment: Mapping[str, Any], window: Period) -> bool:
    return window.overlaps(enrolment["installed_on"], enrolment["ended_on"])


def _kind_ok(criterion: Any, enrolment: Mapping[str, Any]) -> bool:
    kinds = getattr(criterion, "service_kinds", frozenset())
    sectors = getattr(criterion, "sectors", frozenset())
    return (not kinds or enrolment["service_kind"] in kinds) and (
        not sectors or enrolment["sector"] in sectors
    )


def _in(day: date | None, window: Period) -> bool:
    return day is not None and window.contains(day)


def _enrolment_matches(criterion: Criterion, enrolment: Mapping[str, Any], period: Period) -> bool:
    if not _kind_ok(criterion, enrolment):
        return False
    window = criterion.window.resolve(period)  # type: ignore[attr-defined]
    match criterion:
        case EnrolmentOverlaps() | SectorsAtLeast():
            return _overlaps(enrolment, window)
        case ReferredIn():
            return _in(enrolment["referred_on"], window)
        case InstalledIn() | FirstInstalledIn():
            return _in(enrolment["installed_on"], window)
    return False


def _counted_contacts(
    criterion: ContactsAtLeast, contacts: list[dict], period: Period
) -> list[dict]:
    window = criterion.window.resolve(period)
    return [
        c
        for c in contacts
        if c["counts"]
        and window.contains(c["date"])
        and (not criterion.contact_kinds or c["kind"] in criterion.contact_kinds)
        and (not criterion.service_kinds or c["service_kind"] in criterion.service_kinds)
    ]


def user_outcome(
    criterion: Criterion,
    user_id: str,
    data: ReferenceData,
    period: Period,
    member_of: Callable[[str, str], bool] | None = None,
) -> Outcome:
    """Whether ``user_id`` passes ``criterion``, with the deciding evidence."""
    user = data.users[user_id]
    enrolments = data.by_user.get(user_id, [])
    match criterion:
        case EnrolmentOverlaps() | ReferredIn() | InstalledIn():
            hits = [e for e in enrolments if _enrolment_matches(criterion, e, period)]
            if hits:
                e = hits[0]
                return Outcome(
                    True,
                    f"enrolment {e['enrolment_id']} ({e['service_kind']}, "
                    f"referred {e['referred_on']}, installed {e['installed_on']}, "
                    f"ended {e['ended_on'] or 'open'})",
                )
            return Outcome(False, f"none of {len(enrolments)} enrolment(s) qualifies")
        case FirstInstalledIn():
            installed = [
                e["installed_on"]
                for e in enrolments
                if e["installed_on"] is not None and _kind_ok(criterion, e)
            ]
            if not installed:
                return Outcome(False, "never installed")
            first = min(installed)
            window = criterion.window.resolve(period)
            return Outcome(window.contains(first), f"first installed on {first}")
        case ContactsAtLeast():
            counted = _counted_contacts(criterion, data.contacts.get(user_id, []), period)
            last = max((c["date"] for c in counted), default=None)
            tail = f", the last on {last}" if last else ""
            return Outcome(
                len(counted) >= criterion.count,
                f"{len(counted)} counting contact(s) (needs {criterion.count}){tail}",
            )
        case SectorsAtLeast():
            window = criterion.window.resolve(period)
            sectors = sorted({e["sector"] for e in enrolments if _overlaps(e, window)})
            return Outcome(
                len(sectors) >= criterion.count,
                f"sectors: {', '.join(sectors) or 'none'} (needs {criterion.count})",
            )
        case HasCondition():
            have = sorted(set(user["conditions"] or ()) & criterion.conditions)
            listed = ", ".join(user["conditions"] or ()) or "none"
            return Outcome(bool(have), f"conditions recorded: {listed}")
        case RiskAtLeast():
            score = user["risk_score"]
            return Outcome(
                score is not None and score >= criterion.threshold,
                f"risk score {score if score is not None else 'missing'}",
            )
        case RiskInTopPercent():
            score = user["risk_score"]
            if score is None:
                return Outcome(False, "risk score missing")
            scores = data.all_risk_scores
            higher = sum(s > score for s in scores)
            return Outcome(
                higher * 100 < criterion.percent * len(scores),
                f"risk score {score}; {higher} of {len(scores)} users score higher",
            )
        case MemberOf():
            if member_of is None:
                raise ValueError("member-of needs a resolver")
            passed = member_of(criterion.definition, user_id)
            return Outcome(
                passed, f"{'counted' if passed else 'not counted'} by {criterion.definition}"
            )
        case Query():
            result = criterion.resolve()(data.full_tables, period)
            ids = {row["user_id"] for row in result.select("user_id").to_pyarrow().to_pylist()}
            return Outcome(
                user_id in ids, f"{'returned' if user_id in ids else 'not returned'} by the query"
            )
    raise TypeError(criterion)  # pragma: no cover


def reference_count(
    definition: CountingDefinition,
    data: ReferenceData,
    period: Period,
    resolve: Callable[[str], CountingDefinition] | None = None,
) -> ReferenceResult:
    """Evaluate ``definition`` literally, unit by unit."""
    cache: dict[str, set[str]] = {}

    def member_of(name: str, user_id: str) -> bool:
        if name not in cache:
            if resolve is None:
                raise ValueError(f"member-of {name} needs a registry")
            other = reference_count(resolve(name), data, period, resolve)
            cache[name] = (
                other.members
                if other.definition.unit is Unit.USERS
                else {e["user_id"] for e in data.enrolments if e["enrolment_id"] in other.members}
            )
        return user_id in cache[name]

    outcomes: dict[str, tuple[Outcome, ...]] = {}
    if definition.unit is Unit.USERS:
        for user_id in data.users:
            outcomes[user_id] = tuple(
                user_outcome(c, user_id, data, period, member_of) for c in definition.criteria
            )
        members = {u for u, outs in outcomes.items() if all(o.passed for o in outs)}
        enrolment_criteria = [c for c in definition.criteria if c.about_enrolments]
        records = 0
        for user_id in members:
            for e in data.by_user.get(user_id, []):
                if not enrolment_criteria or any(
                    _contributes(c, e, data, period) for c in enrolment_criteria
                ):
                    records += 1
        return ReferenceResult(definition, outcomes, records=records, users=len(members))
    for e in data.enrolments:
        outcomes[e["enrolment_id"]] = tuple(
            _enrolment_outcome(c, e, data, period, member_of) for c in definition.criteria
        )
    members = {u for u, outs in outcomes.items() if all(o.passed for o in outs)}
    users = {e["user_id"] for e in data.enrolments if e["enrolment_id"] in members}
    return ReferenceResult(definition, outcomes, records=len(members), users=len(users))


def _contributes(
    criterion: Criterion, enrolment: dict, data: ReferenceData, period: Period
) -> bool:
    if isinstance(criterion, ContactsAtLeast):
        own = [
            c
            for c in data.contacts.get(enrolment["user_id"], [])
            if c["enrolment_id"] == enrolment["enrolment_id"]
        ]
        return bool(_counted_contacts(criterion, own, period))
    return _enrolment_matches(criterion, enrolment, period)


def _enrolment_outcome(
    criterion: Criterion,
    enrolment: dict,
    data: ReferenceData,
    period: Period,
    member_of: Callable[[str, str], bool],
) -> Outcome:
    match criterion:
        case EnrolmentOverlaps() | ReferredIn() | InstalledIn():
            passed = _enrolment_matches(criterion, enrolment, period)
            return Outcome(passed, f"enrolment {enrolment['enrolment_id']}")
        case ContactsAtLeast():
            own = [
                c
                for c in data.contacts.get(enrolment["user_id"], [])
                if c["enrolment_id"] == enrolment["enrolment_id"]
            ]
            counted = _counted_contacts(criterion, own, period)
            return Outcome(
                len(counted) >= criterion.count,
                f"{len(counted)} counting contact(s) (needs {criterion.count})",
            )
    return user_outcome(criterion, enrolment["user_id"], data, period, member_of)
