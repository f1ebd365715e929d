"""A metric's cells and rows, and what a disclosure policy does to them.

A measure kind computes raw *cells* for the total and for each group of each
breakdown, and a pure ``derive(cells) -> MetricRow`` turns cells into figures.
Disclosure control is exact because a published row is ``derive`` applied to
the cells *after* the policy (:func:`publish_rows`): every count cell goes
through the policy across the groups of its breakdown (with secondary
suppression), amounts and statistics go with the row's gate count, and public
cells stay. This is the one place a metric's figures are published; every
output (command line, report, FHIR) is written from its rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
from attrs import field, frozen

from threeml.definitions.policies import DisclosurePolicy

__all__ = [
    "AMOUNT",
    "CELL_KINDS",
    "COUNT",
    "PUBLIC",
    "STATISTIC",
    "SUPPRESSED",
    "MetricRow",
    "publish_cells",
    "publish_rows",
]

#: Cell kinds (see :mod:`threeml.metrics.measures`).
COUNT = "count"
AMOUNT = "amount"
STATISTIC = "statistic"
PUBLIC = "public"
CELL_KINDS = (COUNT, AMOUNT, STATISTIC, PUBLIC)

#: The reason given for a figure that disclosure control left out.
SUPPRESSED = "suppressed by disclosure control"


@frozen
class MetricRow:
    """The figures of a metric for the total (``group`` is ``None``) or one group.

    ``value`` is ``None`` when it cannot be computed (an empty arm, a zero
    denominator, a suppressed input); ``reason`` then says why. ``details``
    holds the measure's other figures (per-arm proportions, the two windows of a
    before/after comparison, quartiles …) as JSON-ready data. ``cells`` are the
    raw inputs the figures were derived from; ``suppressed`` is true when
    disclosure control withheld any of them.
    """

    group: Any = None
    numerator: float | None = None
    denominator: float | None = None
    value: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    reason: str | None = None
    details: Mapping[str, Any] = field(factory=dict)
    cells: Mapping[str, Any] = field(factory=dict)
    suppressed: bool = False


def publish_cells(
    cells: Mapping[str, Any],
    kinds: Mapping[str, str],
    gate: str,
    policy: DisclosurePolicy,
    *,
    counts: Mapping[str, int | None] | None = None,
) -> tuple[dict[str, Any], bool]:
    """``cells`` under ``policy``, and whether anything was withheld.

    ``counts`` gives count cells already published for this group (after secondary
    suppression across a breakdown); the others go through the policy here.
    """
    counts = counts or {}

    def count(name: str, value: Any) -> int | None:
        return counts[name] if name in counts else policy.apply(int(value))

    raw_gate = cells.get(gate)
    gate_open = raw_gate is not None and count(gate, raw_gate) is not None
    out: dict[str, Any] = {}
    for name, value in cells.items():
        kind = kinds.get(name, COUNT)
        if value is None or kind == PUBLIC:
            out[name] = value
        elif kind == COUNT:
            out[name] = count(name, value)
        else:
            out[name] = value if gate_open else None
    withheld = any(out[name] is None and cells[name] is not None for name in cells)
    return out, withheld


def _group_order(row: MetricRow) -> tuple[bool, str]:
    return row.group is None, str(row.group)


def publish_rows(
    rows: Sequence[MetricRow],
    kinds: Mapping[str, str],
    gate: str,
    derive: Callable[[Mapping[str, Any]], MetricRow] | None,
    policy: DisclosurePolicy,
) -> tuple[MetricRow, ...]:
    """One breakdown's rows as they may be published under ``policy``, in group order.

    Each count cell (a cell of kind ``count``, or of no stated kind) is published
    across the groups with :meth:`DisclosurePolicy.apply_breakdown`, so no
    suppressed count can be recovered as the total minus the others; then each
    row's figures are derived again from its published cells, so a proportion
    comes from the rounded numerator and denominator and is ``None`` (with a
    reason) when either is withheld. A row without cells, or a result without
    ``derive``, is withheld whole.
    """
    rows = sorted(rows, key=_group_order)
    names = sorted({cell for row in rows for cell in row.cells})
    columns = {
        cell: policy.apply_breakdown([row.cells.get(cell) for row in rows])
        for cell in names
        if kinds.get(cell, COUNT) == COUNT
    }
    out = []
    for i, row in enumerate(rows):
        if derive is None or not row.cells:
            out.append(MetricRow(group=row.group, reason=SUPPRESSED, suppressed=True))
            continue
        counts = {cell: columns[cell][i] for cell in row.cells if cell in columns}
        cells, withheld = publish_cells(row.cells, kinds, gate, policy, counts=counts)
        derived = derive(cells)
        reason = SUPPRESSED if derived.value is None and withheld else derived.reason
        out.append(
            attrs.evolve(derived, group=row.group, cells=cells, suppressed=withheld, reason=reason)
        )
    return tuple(out)
