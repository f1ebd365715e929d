"""A small pure-Python reference evaluator: slow, obvious, and the oracle for the engine.

It reads the dataset's rows into plain dicts (:class:`ReferenceData`) and applies each
criterion's definition literally, one user (or enrolment) at a time, keeping the evidence
(dates, counts) that decided each criterion. How each kind of criterion is tested lives in
:mod:`threeml.engine.reference_criteria`, one handler per kind; a plugin's kind is tested by
its own ``reference`` function. Differential tests compare it with
:mod:`threeml.engine.evaluate`; :func:`threeml.engine.explain.explain` uses its evidence to
say in words why one person is in or out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from attrs import frozen

from threeml.definitions import CountingDefinition, Criterion
from threeml.definitions.kinds import CriterionKind
from threeml.engine.reference_criteria import MemberOfTest, reference_handler_for
from threeml.engine.reference_data import Outcome, ReferenceData
from threeml.records.codes import Unit
from threeml.records.periods import Period

__all__ = ["Outcome", "ReferenceData", "ReferenceResult", "reference_count"]


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


def _by_class(
    kinds: Mapping[str, CriterionKind] | None,
) -> dict[type[Criterion], CriterionKind]:
    return {kind.criterion: kind for kind in (kinds or {}).values()}


def user_outcome(
    criterion: Criterion,
    user_id: str,
    data: ReferenceData,
    period: Period,
    member_of: MemberOfTest | None = None,
    *,
    kinds: Mapping[str, CriterionKind] | None = None,
) -> Outcome:
    """Whether ``user_id`` passes ``criterion``, with the deciding evidence.

    ``kinds`` are the criterion kinds of plugins, by name (``registry.criterion_kinds()``).
    """
    handler = reference_handler_for(criterion, _by_class(kinds))
    return handler.user(criterion, user_id, data, period, member_of)


def reference_count(
    definition: CountingDefinition,
    data: ReferenceData,
    period: Period,
    resolve: Callable[[str], CountingDefinition] | None = None,
    *,
    kinds: Mapping[str, CriterionKind] | None = None,
) -> ReferenceResult:
    """Evaluate ``definition`` literally, unit by unit.

    ``resolve`` looks up the definitions ``member-of`` criteria name; ``kinds`` are the
    criterion kinds of plugins, by name (as ``registry.criterion_kinds()`` gives them), needed
    when the definition uses one.
    """
    by_class = _by_class(kinds)
    handlers = {c: reference_handler_for(c, by_class) for c in definition.criteria}
    cache: dict[str, set[str]] = {}

    def member_of(name: str, user_id: str) -> bool:
        if name not in cache:
            if resolve is None:
                raise ValueError(f"member-of {name} needs a registry")
            other = reference_count(resolve(name), data, period, resolve, kinds=kinds)
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
                handlers[c].user(c, user_id, data, period, member_of) for c in definition.criteria
            )
        members = {u for u, outs in outcomes.items() if all(o.passed for o in outs)}
        enrolment_criteria = [c for c in definition.criteria if c.about_enrolments]
        records = 0
        for user_id in members:
            for e in data.by_user.get(user_id, []):
                if not enrolment_criteria or any(
                    handlers[c].contributes(c, e, data, period) for c in enrolment_criteria
                ):
                    records += 1
        return ReferenceResult(definition, outcomes, records=records, users=len(members))
    for e in data.enrolments:
        outcomes[e["enrolment_id"]] = tuple(
            handlers[c].enrolment(c, e, data, period, member_of) for c in definition.criteria
        )
    members = {u for u, outs in outcomes.items() if all(o.passed for o in outs)}
    users = {e["user_id"] for e in data.enrolments if e["enrolment_id"] in members}
    return ReferenceResult(definition, outcomes, records=len(members), users=len(users))
