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
    "publish_total",
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
    disclosure control withheld any of them, and ``withheld`` names those cells. A
    row can be ``suppressed`` and still show figures: those derived from the cells
    left published (a user-years row whose count of people without follow-up is
    withheld keeps its people and days).
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
    withheld: tuple[str, ...] = ()


def publish_cells(
    cells: Mapping[str, Any],
    kinds: Mapping[str, str],
    gate: str,
    policy: DisclosurePolicy,
    *,
    counts: Mapping[str, int | None] | None = None,
    exact: bool = False,
    parents: Mapping[str, str] | None = None,
) -> tuple[dict[str, Any], bool]:
    """``cells`` under ``policy``, and whether anything was withheld.

    ``counts`` gives count cells already published for this group (after secondary
    suppression across a breakdown); the others go through the policy here. When the
    gate is withheld, every count cell of the row is withheld with it (a numerator is
    never published without its denominator). Amounts are derived from the published
    gate (:meth:`DisclosurePolicy.apply_amount`); statistics are withheld with the gate
    and below the policy's minimum group size (:meth:`DisclosurePolicy.apply_statistic`).
    ``exact`` publishes counts and amounts as they are (a total over all areas with no
    suppressed cell beside it); statistics still need the minimum group size.
    ``parents`` maps a cell to the count it is part of (an arm's events to the arm's
    people): a cell is withheld whenever its parent is.
    """
    counts = counts or {}

    def count(name: str, value: Any) -> int | None:
        if exact:
            return int(value)
        return counts[name] if name in counts else policy.apply(int(value))

    raw_gate = cells.get(gate)
    published_gate = None if raw_gate is None else count(gate, raw_gate)
    gate_open = published_gate is not None
    out: dict[str, Any] = {}
    for name, value in cells.items():
        kind = kinds.get(name, COUNT)
        if value is None or kind == PUBLIC:
            out[name] = value
        elif not gate_open:
            out[name] = None
        elif kind == COUNT:
            out[name] = count(name, value)
        elif kind == AMOUNT:
            out[name] = value if exact else policy.apply_amount(value, raw_gate, published_gate)
        else:
            out[name] = policy.apply_statistic(value, raw_gate)
    for name, parent in (parents or {}).items():
        if name in out and out.get(parent) is None and cells.get(parent) is not None:
            out[name] = None
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
    parents: Mapping[str, str] | None = None,
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
        cells, _ = publish_cells(row.cells, kinds, gate, policy, counts=counts, parents=parents)
        out.append(_derived(row.group, cells, row.cells, derive))
    return tuple(out)


def _derived(
    group: Any,
    cells: Mapping[str, Any],
    raw: Mapping[str, Any],
    derive: Callable[[Mapping[str, Any]], MetricRow],
) -> MetricRow:
    """A row's figures derived from its published ``cells`` (``raw`` before the policy); no
    numerator without a denominator."""
    names = tuple(name for name in raw if raw[name] is not None and cells.get(name) is None)
    withheld = bool(names)
    derived = derive(cells)
    reason = SUPPRESSED if derived.value is None and withheld else derived.reason
    numerator = None if derived.denominator is None and withheld else derived.numerator
    return attrs.evolve(
        derived,
        group=group,
        numerator=numerator,
        cells=cells,
        suppressed=withheld,
        withheld=names,
        reason=reason,
    )


def publish_total(
    cells: Mapping[str, Any],
    kinds: Mapping[str, str],
    gate: str,
    derive: Callable[[Mapping[str, Any]], MetricRow] | None,
    policy: DisclosurePolicy,
    *,
    beside_suppressed: bool,
    raw: MetricRow,
    parents: Mapping[str, str] | None = None,
) -> MetricRow:
    """The total over all areas as it may be published under ``policy``.

    Its counts and amounts are published as they are, unless a breakdown published
    beside it has suppressed cells (``beside_suppressed``): then they go through the
    policy like any group's (see :meth:`DisclosurePolicy.apply_total`), so a lone
    suppressed group never equals the total and no suppressed cell is the total minus
    the published ones. Statistics need the minimum group size either way. ``raw`` is
    the unpublished total, returned as it is under a raw policy or without ``derive``.
    """
    if policy.is_raw or derive is None or not cells:
        return raw
    exact = not beside_suppressed
    published, _ = publish_cells(cells, kinds, gate, policy, exact=exact, parents=parents)
    return _derived(None, published, cells, derive)
