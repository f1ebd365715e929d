"""Why one person is in or out: each criterion in order, with the evidence that decided it."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from attrs import frozen

from threeml.data import Dataset
from threeml.definitions import CountingDefinition
from threeml.definitions.kinds import CriterionKind
from threeml.engine.reference import Outcome, ReferenceData, reference_count
from threeml.errors import ThreemlError
from threeml.records.codes import Unit
from threeml.records.periods import Period

__all__ = ["Explanation", "explain"]


@frozen
class Explanation:
    """The verdict for one user and, per unit examined, each criterion's outcome."""

    definition: CountingDefinition
    period: Period
    user_id: str
    counted: bool
    units: tuple[tuple[str, tuple[Outcome, ...]], ...]  # (unit id, outcomes per criterion)

    def text(self) -> str:
        """The explanation in words, one line per criterion."""
        verdict = "is counted" if self.counted else "is not counted"
        head = (
            f"{self.user_id} {verdict} by {self.definition.name} (version "
            f"{self.definition.version}) for {self.period}."
        )
        lines = [head]
        for unit, outcomes in self.units:
            if self.definition.unit is Unit.ENROLMENTS:
                passed = all(o.passed for o in outcomes)
                lines.append(f"enrolment {unit}: {'counted' if passed else 'not counted'}")
            failed = False
            for i, (criterion, outcome) in enumerate(
                zip(self.definition.criteria, outcomes, strict=True), start=1
            ):
                mark = "pass" if outcome.passed else "FAIL"
                note = " (after an earlier failure)" if failed else ""
                lines.append(f"  {i}. [{mark}] {criterion.describe()}: {outcome.evidence}{note}")
                failed = failed or not outcome.passed
        if not self.units:
            lines.append("  this user has no enrolments, so no enrolment can count")
        return "\n".join(lines)


def explain(
    definition: CountingDefinition,
    user_id: str,
    dataset: Dataset,
    period: Period | str,
    *,
    resolve: Callable[[str], CountingDefinition] | None = None,
    kinds: Mapping[str, CriterionKind] | None = None,
) -> Explanation:
    """Explain, criterion by criterion, whether ``user_id`` counts under ``definition``.

    ``resolve`` looks up the definitions ``member-of`` criteria name; ``kinds`` are the
    criterion kinds of plugins, by name (``registry.criterion_kinds()``).
    """
    period = Period.parse(period) if isinstance(period, str) else period
    data = ReferenceData.from_dataset(dataset, user_ids=[user_id])
    if user_id not in data.users:
        raise ThreemlError(f"no user {user_id!r} in {dataset.source}")
    result = reference_count(definition, data, period, resolve, kinds=kinds)
    if definition.unit is Unit.USERS:
        units = ((user_id, result.outcomes[user_id]),)
        counted = user_id in result.members
    else:
        mine = [e["enrolment_id"] for e in data.by_user.get(user_id, [])]
        units = tuple((e, result.outcomes[e]) for e in sorted(mine))
        counted = any(e in result.members for e in mine)
    return Explanation(definition, period, user_id, counted, units)
