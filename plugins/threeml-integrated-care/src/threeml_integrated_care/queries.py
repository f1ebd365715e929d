"""The plugin's criterion kind: allocated to a trial arm in the period.

A criterion kind (:class:`threeml.definitions.kinds.CriterionKind`), not a ``query``
criterion, so that definitions using it serialise and files may name it
(``kind = "allocated-in-period"``) once the plugin is installed.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from threeml.definitions import Criterion
from threeml.definitions.kinds import CriterionKind
from threeml.records.periods import Period

__all__ = ["ALLOCATED_IN_PERIOD", "AllocatedInPeriod", "compile_allocated", "reference_allocated"]


@attrs.frozen
class AllocatedInPeriod(Criterion):
    """Has an allocation to a trial arm dated in the period."""

    kind: ClassVar[str] = "allocated-in-period"

    def describe(self) -> str:
        return "has an allocation to a trial arm dated in the period"


def compile_allocated(criterion: AllocatedInPeriod, compiler: Any) -> Any:
    """Users with an allocation to a trial arm dated in the period (an ibis table)."""
    import ibis

    a = compiler.dataset.tables["allocations"]
    period = compiler.period
    start = ibis.literal(period.start, type="date")
    end = ibis.literal(period.end, type="date")
    passed = a.filter(a.allocated_on >= start, a.allocated_on <= end).select("user_id")
    return passed.filter(passed.user_id.notnull()).distinct()


def reference_allocated(
    criterion: AllocatedInPeriod, data: Any, period: Period, user_id: str
) -> tuple[bool, str]:
    """Whether ``user_id`` has an allocation dated in the period, and why."""
    table = data.full_tables["allocations"]
    rows = table.filter(table.user_id == user_id).select("allocated_on").to_pyarrow().to_pylist()
    dates = sorted(row["allocated_on"] for row in rows if row["allocated_on"] is not None)
    inside = [d for d in dates if period.start <= d <= period.end]
    if inside:
        return True, f"allocated on {inside[0]}"
    return False, f"no allocation from {period.start} to {period.end}"


#: The kind, as the plugin's ``threeml_criterion_kinds`` hook returns it.
ALLOCATED_IN_PERIOD = CriterionKind(
    criterion=AllocatedInPeriod, compile=compile_allocated, reference=reference_allocated
)
