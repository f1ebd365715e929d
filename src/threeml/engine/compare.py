"""Definitions side by side on one extract, and the people who differ between two of them.

This is the question threeml exists for: the same data, counted under
competing definitions, with the reasons for every difference.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from attrs import frozen

from threeml.data import Dataset
from threeml.definitions import CountingDefinition
from threeml.definitions.cellkey import CellKeyMethod
from threeml.definitions.contracts import DefinitionResolver
from threeml.engine.evaluate import count_many
from threeml.engine.results import CountResult
from threeml.records.codes import Unit
from threeml.records.periods import Period

__all__ = ["Comparison", "Diff", "compare", "diff"]


@frozen
class Comparison:
    """The results of several definitions on one dataset and period, in the order asked."""

    period: Period
    results: Mapping[str, CountResult]

    @property
    def loosest(self) -> CountResult:
        """The definition that counts the most people (ties: the first asked)."""
        return max(self.results.values(), key=lambda r: r.users)

    def share_of_loosest(self, name: str) -> float | None:
        """This definition's people as a share of the loosest definition's people."""
        top = self.loosest.users
        return self.results[name].users / top if top else None


@frozen
class Diff:
    """People counted by one definition and not the other, with why the other left them out."""

    first: CountResult
    second: CountResult
    only_first: int
    only_second: int
    both: int
    #: For people only in ``first``: (criterion number, text, people) of ``second`` they failed.
    first_not_second_reasons: tuple[tuple[int | None, str, int], ...]
    second_not_first_reasons: tuple[tuple[int | None, str, int], ...]


def compare(
    definitions: Sequence[CountingDefinition],
    dataset: Dataset,
    period: Period | str,
    *,
    by: Sequence[str] = (),
    registry: DefinitionResolver | None = None,
    cell_keys: CellKeyMethod | None = None,
) -> Comparison:
    """Evaluate ``definitions`` together (criteria shared) and return them side by side.

    ``cell_keys`` asks for every figure's cell key (see :func:`~threeml.engine.count_many`).
    """
    period = Period.parse(period) if isinstance(period, str) else period
    results = count_many(
        definitions, dataset, period, by=by, registry=registry, cell_keys=cell_keys
    )
    return Comparison(period, results)


def _people(result: CountResult) -> tuple[set[str], dict[str, int | None]]:
    """The people a result counts, and for each person not counted the criterion that stopped
    them (for enrolment units: the furthest any of their enrolments got)."""
    rows = result.membership().to_pylist()
    if result.unit is Unit.USERS:
        counted = {row["user_id"] for row in rows if row["counted"]}
        failed = {row["user_id"]: row["first_failed"] for row in rows if not row["counted"]}
        return counted, failed
    counted = {row["user_id"] for row in rows if row["counted"]}
    failed: dict[str, int | None] = {}
    for row in rows:
        user = row["user_id"]
        if user in counted or user is None:
            continue
        failed[user] = max(failed.get(user) or 0, row["first_failed"] or 0)
    return counted, failed


def _reasons(people: set[str], failed: Mapping[str, int | None], result: CountResult):
    tally = Counter(failed.get(person) for person in people)
    texts = {step.index: step.criterion for step in result.attrition}
    rows = []
    for index, n in tally.most_common():
        text = texts.get(index, "has no enrolment") if index else "has no enrolment"
        rows.append((index or None, text, n))
    return tuple(rows)


def diff(first: CountResult, second: CountResult) -> Diff:
    """Who ``first`` counts and ``second`` does not, and vice versa, with the reasons."""
    a, a_failed = _people(first)
    b, b_failed = _people(second)
    return Diff(
        first=first,
        second=second,
        only_first=len(a - b),
        only_second=len(b - a),
        both=len(a & b),
        first_not_second_reasons=_reasons(a - b, b_failed, second),
        second_not_first_reasons=_reasons(b - a, a_failed, first),
    )
