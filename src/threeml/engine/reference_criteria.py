"""How the reference evaluator tests each kind of criterion, literally, one unit at a time.

Each of threeml's kinds has one handler class below, registered in :data:`REFERENCE_HANDLERS`
by criterion class, with every role the reference evaluator needs: the outcome for a user
(``user``), for one enrolment of an enrolment-unit definition (``enrolment``, by default the
outcome for its user) and, for an enrolment criterion, whether an enrolment contributes to it
(``contributes``). A plugin's kind is tested by :class:`PluginKindReference` around the kind's
``reference`` function. :func:`reference_handler_for` picks the handler; a criterion no
handler knows raises :class:`~threeml.engine.errors.UnhandledCriterionKind`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any, ClassVar

from threeml.definitions import (
    ContactsAtLeast,
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
from threeml.definitions.kinds import CriterionKind
from threeml.engine.errors import EvaluationError, UnhandledCriterionKind
from threeml.engine.reference_data import ContactRows, Outcome, ReferenceData, weighted
from threeml.engine.reference_reasons import (
    contacts_left_out as _contacts_left_out,
)
from threeml.engine.reference_reasons import date_fails as _date_fails
from threeml.engine.reference_reasons import either as _either
from threeml.engine.reference_reasons import none_qualifies as _none_qualifies
from threeml.engine.reference_reasons import overlap_fails as _overlap_fails
from threeml.records.periods import Period

__all__ = [
    "REFERENCE_HANDLERS",
    "MemberOfTest",
    "PluginKindReference",
    "ReferenceHandler",
    "reference_handler_for",
]

#: How a ``member-of`` criterion asks whether a user is counted by a definition, by name.
MemberOfTest = Callable[[str, str], bool]

Row = Mapping[str, Any]


class ReferenceHandler:
    """How the reference evaluator tests one kind of criterion, in every role it needs."""

    def user(
        self,
        criterion: Any,
        user_id: str,
        data: ReferenceData,
        period: Period,
        member_of: MemberOfTest | None,
    ) -> Outcome:
        """Whether ``user_id`` passes ``criterion``, with the deciding evidence."""
        raise NotImplementedError

    def enrolment(
        self,
        criterion: Any,
        enrolment: Row,
        data: ReferenceData,
        period: Period,
        member_of: MemberOfTest | None,
    ) -> Outcome:
        """Whether one enrolment passes, for an enrolment unit: by default, as its user does."""
        return self.user(criterion, enrolment["user_id"], data, period, member_of)

    def contributes(
        self, criterion: Any, enrolment: Row, data: ReferenceData, period: Period
    ) -> bool:
        """Whether ``enrolment`` contributes to an enrolment criterion (is one of its records)."""
        return False


#: The reference evaluator's handler of each of threeml's criterion classes.
REFERENCE_HANDLERS: dict[type[Criterion], ReferenceHandler] = {}


def _handles(*classes: type[Criterion]) -> Callable[[type], type]:
    def register(handler: type[ReferenceHandler]) -> type[ReferenceHandler]:
        for cls in classes:
            REFERENCE_HANDLERS[cls] = handler()
        return handler

    return register


class PluginKindReference(ReferenceHandler):
    """A plugin's criterion kind: the outcome is what its ``reference`` function returns."""

    def __init__(self, kind: CriterionKind) -> None:
        self.kind = kind

    def user(
        self,
        criterion: Any,
        user_id: str,
        data: ReferenceData,
        period: Period,
        member_of: MemberOfTest | None,
    ) -> Outcome:
        try:
            passed, evidence = self.kind.reference(criterion, data, period, user_id)
        except Exception as error:
            raise EvaluationError(
                f"criterion kind {self.kind.name!r} (from {self.kind.criterion.__module__}) "
                f"failed to test {criterion.describe()!r} for user {user_id!r}: {error}"
            ) from error
        return Outcome(bool(passed), str(evidence))


def reference_handler_for(
    criterion: Criterion, kinds: Mapping[type[Criterion], CriterionKind]
) -> ReferenceHandler:
    """The handler of ``criterion``: threeml's own, else the plugin kind among ``kinds``."""
    handler = REFERENCE_HANDLERS.get(type(criterion))
    if handler is not None:
        return handler
    kind = kinds.get(type(criterion))
    if kind is not None:
        return PluginKindReference(kind)
    installed = {cls.kind for cls in REFERENCE_HANDLERS} | {k.name for k in kinds.values()}
    raise UnhandledCriterionKind.of(criterion, installed)


# Enrolments of given kinds and sectors, tested on their dates in a window.


def _kind_ok(criterion: Any, enrolment: Row) -> bool:
    kinds = getattr(criterion, "service_kinds", frozenset())
    sectors = getattr(criterion, "sectors", frozenset())
    return (not kinds or enrolment["service_kind"] in kinds) and (
        not sectors or enrolment["sector"] in sectors
    )


def _in(day: date | None, window: Period) -> bool:
    return day is not None and window.contains(day)


def _overlapping(enrolment: Row, window: Period) -> bool:
    return window.overlaps(enrolment["installed_on"], enrolment["ended_on"])


def _referred(enrolment: Row, window: Period) -> bool:
    return _in(enrolment["referred_on"], window)


def _installed(enrolment: Row, window: Period) -> bool:
    return _in(enrolment["installed_on"], window)


class _DatedEnrolments(ReferenceHandler):
    """Criteria matching enrolments of the given kinds and sectors by their dates in a window."""

    dates: ClassVar[Callable[[Row, Period], bool]]
    #: Why an enrolment's dates fail, in words (the has-enrolment family).
    dates_fail: ClassVar[Callable[[Row, Period], str]]

    def matches(self, criterion: Any, enrolment: Row, period: Period) -> bool:
        """Whether the enrolment is of the kinds and sectors, with its date in the window."""
        window = criterion.window.resolve(period)
        return _kind_ok(criterion, enrolment) and type(self).dates(enrolment, window)

    def contributes(
        self, criterion: Any, enrolment: Row, data: ReferenceData, period: Period
    ) -> bool:
        return self.matches(criterion, enrolment, period)


class _HasEnrolment(_DatedEnrolments):
    """The has-enrolment family: passes with one matching enrolment; an enrolment on its own."""

    def user(
        self,
        criterion: Any,
        user_id: str,
        data: ReferenceData,
        period: Period,
        member_of: MemberOfTest | None,
    ) -> Outcome:
        enrolments = data.by_user.get(user_id, [])
        hits = [e for e in enrolments if self.matches(criterion, e, period)]
        if hits:
            e = hits[0]
            return Outcome(
                True,
                f"enrolment {e['enrolment_id']} ({e['service_kind']}, "
                f"referred {e['referred_on']}, installed {e['installed_on']}, "
                f"ended {e['ended_on'] or 'open'})",
            )
        window = criterion.window.resolve(period)
        return Outcome(False, _none_qualifies(self, criterion, enrolments, window))

    def why_not(self, criterion: Any, enrolment: Row, window: Period) -> str:
        """Why ``enrolment`` does not match: its kind or sector, else its dates."""
        kinds = getattr(criterion, "service_kinds", frozenset())
        sectors = getattr(criterion, "sectors", frozenset())
        if kinds and enrolment["service_kind"] not in kinds:
            return f"a {enrolment['service_kind']} service, not {_either(kinds)}"
        if sectors and enrolment["sector"] not in sectors:
            return f"in the {enrolment['sector']} sector, not {_either(sectors)}"
        return type(self).dates_fail(enrolment, window)

    def enrolment(
        self,
        criterion: Any,
        enrolment: Row,
        data: ReferenceData,
        period: Period,
        member_of: MemberOfTest | None,
    ) -> Outcome:
        passed = self.matches(criterion, enrolment, period)
        if passed:
            return Outcome(True, f"enrolment {enrolment['enrolment_id']}")
        why = self.why_not(criterion, enrolment, criterion.window.resolve(period))
        return Outcome(False, f"enrolment {enrolment['enrolment_id']}: {why}")


@_handles(EnrolmentOverlaps)
class EnrolmentOverlapsReference(_HasEnrolment):
    """``enrolment-overlaps``: an installed window overlapping the window."""

    dates = staticmethod(_overlapping)
    dates_fail = staticmethod(_overlap_fails)


@_handles(ReferredIn)
class ReferredInReference(_HasEnrolment):
    """``referred-in``: ``referred_on`` in the window."""

    dates = staticmethod(_referred)
    dates_fail = staticmethod(_date_fails("referred_on", "referred"))


@_handles(InstalledIn)
class InstalledInReference(_HasEnrolment):
    """``installed-in``: ``installed_on`` in the window."""

    dates = staticmethod(_installed)
    dates_fail = staticmethod(_date_fails("installed_on", "installed"))


@_handles(FirstInstalledIn)
class FirstInstalledInReference(_DatedEnrolments):
    """``first-installed-in``: the earliest installation of the kinds lies in the window."""

    dates = staticmethod(_installed)

    def user(
        self,
        criterion: FirstInstalledIn,
        user_id: str,
        data: ReferenceData,
        period: Period,
        member_of: MemberOfTest | None,
    ) -> Outcome:
        installed = [
            e["installed_on"]
            for e in data.by_user.get(user_id, [])
            if e["installed_on"] is not None and _kind_ok(criterion, e)
        ]
        if not installed:
            return Outcome(False, "never installed")
        first = min(installed)
        window = criterion.window.resolve(period)
        return Outcome(window.contains(first), f"first installed on {first}")


@_handles(SectorsAtLeast)
class SectorsAtLeastReference(_DatedEnrolments):
    """``sectors-at-least``: distinct sectors of the enrolments overlapping the window."""

    dates = staticmethod(_overlapping)

    def user(
        self,
        criterion: SectorsAtLeast,
        user_id: str,
        data: ReferenceData,
        period: Period,
        member_of: MemberOfTest | None,
    ) -> Outcome:
        window = criterion.window.resolve(period)
        enrolments = data.by_user.get(user_id, [])
        sectors = sorted({e["sector"] for e in enrolments if _overlapping(e, window)})
        return Outcome(
            len(sectors) >= criterion.count,
            f"sectors: {', '.join(sectors) or 'none'} (needs {criterion.count})",
        )


@_handles(ContactsAtLeast)
class ContactsAtLeastReference(ReferenceHandler):
    """``contacts-at-least``: counting contacts of the kinds in the window."""

    def counted(
        self, criterion: ContactsAtLeast, contacts: Sequence[dict], period: Period
    ) -> list[tuple[dict, int]]:
        """The contacts that count towards the criterion, as ``(row, number)`` pairs."""
        window = criterion.window.resolve(period)
        return [
            (c, n)
            for c, n in weighted(contacts)
            if c["counts"]
            and window.contains(c["date"])
            and (not criterion.contact_kinds or c["kind"] in criterion.contact_kinds)
            and (not criterion.service_kinds or c["service_kind"] in criterion.service_kinds)
        ]

    def own(
        self, criterion: ContactsAtLeast, enrolment: Row, data: ReferenceData, period: Period
    ) -> list[tuple[dict, int]]:
        """The contacts of one enrolment that count towards the criterion."""
        mine = ContactRows()
        for c, n in weighted(data.contacts.get(enrolment["user_id"], [])):
            if c["enrolment_id"] == enrolment["enrolment_id"]:
                mine.add(c, n)
        return self.counted(criterion, mine, period)

    def user(
        self,
        criterion: ContactsAtLeast,
        user_id: str,
        data: ReferenceData,
        period: Period,
        member_of: MemberOfTest | None,
    ) -> Outcome:
        contacts = data.contacts.get(user_id, [])
        counted = self.counted(criterion, contacts, period)
        total = sum(n for _, n in counted)
        last = max((c["date"] for c, _ in counted), default=None)
        tail = f", the last on {last}" if last else ""
        passed = total >= criterion.count
        why = "" if passed else _contacts_left_out(criterion, contacts, period)
        return Outcome(passed, f"{total} counting contact(s) (needs {criterion.count}){tail}{why}")

    def enrolment(
        self,
        criterion: ContactsAtLeast,
        enrolment: Row,
        data: ReferenceData,
        period: Period,
        member_of: MemberOfTest | None,
    ) -> Outcome:
        total = sum(n for _, n in self.own(criterion, enrolment, data, period))
        return Outcome(
            total >= criterion.count,
            f"{total} counting contact(s) (needs {criterion.count})",
        )

    def contributes(
        self, criterion: ContactsAtLeast, enrolment: Row, data: ReferenceData, period: Period
    ) -> bool:
        return bool(self.own(criterion, enrolment, data, period))


# Criteria about the user alone.


@_handles(HasCondition)
class HasConditionReference(ReferenceHandler):
    """``has-condition``: one of the codes among the user's conditions."""

    def user(
        self,
        criterion: HasCondition,
        user_id: str,
        data: ReferenceData,
        period: Period,
        member_of: MemberOfTest | None,
    ) -> Outcome:
        user = data.users[user_id]
        have = sorted(set(user["conditions"] or ()) & criterion.conditions)
        listed = ", ".join(user["conditions"] or ()) or "none"
        return Outcome(bool(have), f"conditions recorded: {listed}")


@_handles(RiskAtLeast)
class RiskAtLeastReference(ReferenceHandler):
    """``risk-at-least``: a risk score at or above the threshold (no score: fails)."""

    def user(
        self,
        criterion: RiskAtLeast,
        user_id: str,
        data: ReferenceData,
        period: Period,
        member_of: MemberOfTest | None,
    ) -> Outcome:
        score = data.users[user_id]["risk_score"]
        return Outcome(
            score is not None and score >= criterion.threshold,
            f"risk score {score if score is not None else 'missing'}",
        )


@_handles(RiskInTopPercent)
class RiskInTopPercentReference(ReferenceHandler):
    """``risk-in-top-percent``: fewer than ``percent/100 × N`` scored users strictly above."""

    def user(
        self,
        criterion: RiskInTopPercent,
        user_id: str,
        data: ReferenceData,
        period: Period,
        member_of: MemberOfTest | None,
    ) -> Outcome:
        score = data.users[user_id]["risk_score"]
        if score is None:
            return Outcome(False, "risk score missing")
        higher, scored = data.risk_rank(score)
        return Outcome(
            higher * 100 < criterion.percent * scored,
            f"risk score {score}; {higher} of {scored} users score higher",
        )


@_handles(MemberOf)
class MemberOfReference(ReferenceHandler):
    """``member-of``: counted by another definition, by name."""

    def user(
        self,
        criterion: MemberOf,
        user_id: str,
        data: ReferenceData,
        period: Period,
        member_of: MemberOfTest | None,
    ) -> Outcome:
        if member_of is None:
            raise ValueError("member-of needs a resolver")
        passed = member_of(criterion.definition, user_id)
        return Outcome(
            passed, f"{'counted' if passed else 'not counted'} by {criterion.definition}"
        )


@_handles(Query)
class QueryReference(ReferenceHandler):
    """``query``: returned by the imported function's query."""

    def user(
        self,
        criterion: Query,
        user_id: str,
        data: ReferenceData,
        period: Period,
        member_of: MemberOfTest | None,
    ) -> Outcome:
        result = criterion.resolve()(data.full_tables, period)
        if data.focus is not None:  # one person (explain): the engine filters to them
            result = result.filter(result.user_id.isin(sorted(data.focus)))
        ids = {row["user_id"] for row in result.select("user_id").to_pyarrow().to_pylist()}
        return Outcome(
            user_id in ids, f"{'returned' if user_id in ids else 'not returned'} by the query"
        )
