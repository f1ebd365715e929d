"""What evaluating a counting definition returns: counts, attrition, breakdowns, membership.

Results hold raw, unrounded figures for use inside a secure environment;
anything published goes through :mod:`threeml.disclosure` first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pyarrow as pa
from attrs import field, frozen

from threeml.codes import Unit
from threeml.definitions import CountingDefinition
from threeml.periods import Period

__all__ = ["AttritionStep", "BreakdownRow", "CountResult"]


@frozen
class AttritionStep:
    """One criterion's line in the attrition table.

    ``remaining`` is how many units pass this criterion and every one before it
    (sequential form); ``excluded`` how many the criterion removed from those
    that passed the ones before; ``leave_one_out`` how many more would count
    if this criterion alone were dropped.
    """

    index: int
    criterion: str
    remaining: int
    excluded: int
    leave_one_out: int


@frozen
class BreakdownRow:
    """The count for one value of a breakdown (an area, a service kind …)."""

    value: Any
    count: int


@frozen
class CountResult:
    """The result of one counting definition over one period of one dataset.

    ``count`` is in the definition's unit (people for ``users``, enrolments for
    ``enrolments``); ``users`` is always the distinct people and ``records``
    the enrolments behind the count (see :mod:`threeml.definitions.criteria`).
    ``considered`` is how many units were examined (every user, or every
    enrolment). Breakdowns by service kind or sector count a person once per
    kind, so they need not sum to the total; those by area or another user
    column do.
    """

    definition: CountingDefinition
    period: Period
    count: int
    users: int
    records: int
    considered: int
    attrition: tuple[AttritionStep, ...]
    breakdowns: Mapping[str, tuple[BreakdownRow, ...]] = field(factory=dict)
    _membership: Callable[[], pa.Table] | None = field(
        default=None, repr=False, eq=False, alias="membership"
    )

    @property
    def unit(self) -> Unit:
        return self.definition.unit

    def membership(self) -> pa.Table:
        """Every unit considered, whether it counted, and the first criterion it failed.

        Columns: the unit's id (``user_id``, or ``enrolment_id`` and ``user_id``),
        ``counted`` and ``first_failed`` (1-based criterion number, null when counted).
        """
        if self._membership is None:
            raise ValueError("this result carries no membership")
        return self._membership()

    def members(self) -> set[str]:
        """The ids of the units that count."""
        table = self.membership()
        key = "enrolment_id" if self.unit is Unit.ENROLMENTS else "user_id"
        return {row[key] for row in table.to_pylist() if row["counted"]}
