"""The stock and flow of a series as published: every figure through the policy on its own.

:func:`publish_flow` puts each figure of a :class:`~threeml.engine.flow.FlowResult` (per
interval, over all groups and per group) through the disclosure policy; the series holds
the result (:class:`PublishedFlow`) and writes it into its long table
(:mod:`threeml.publish.series`), and the series' audit adds the suppression the identities
between the figures call for (:mod:`threeml.publish.series_audit`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from attrs import frozen

from threeml.definitions.policies import DisclosurePolicy
from threeml.engine.flow import END_REASONS, FlowCell, FlowResult

__all__ = ["FLOW_FIGURES", "PublishedFlow", "flow_figures", "flow_key", "publish_flow"]

#: The stock and flow figures each published through the policy, in the table's order
#: (``net_change``, derived from published figures, follows them).
FLOW_FIGURES = (
    "opening",
    "starts",
    "users_starting",
    "ends",
    *(f"ends:{reason}" for reason in END_REASONS),
    "users_ending",
    "closing",
)


def flow_key(index: int, group: int | None, figure: str) -> tuple[Any, ...]:
    """The audit key of one flow figure: interval index, group index (``None``: all), figure."""
    return ("series", index, "flow", group, figure)


@frozen
class PublishedFlow:
    """The stock and flow as published: each figure's published value by :func:`flow_key`.

    ``groups`` are the breakdown's groups in order; ``withheld`` is true when the audit
    left the breakdown out. A key absent from ``values`` was not published.
    """

    result: FlowResult
    groups: tuple[Any, ...]
    values: Mapping[tuple[Any, ...], int | None]
    withheld: bool = False


def flow_figures(cell: FlowCell) -> dict[str, int]:
    """The true figures of one flow cell by name (:data:`FLOW_FIGURES`)."""
    figures = {
        "opening": cell.opening,
        "starts": cell.starts,
        "users_starting": cell.users_starting,
        "ends": cell.ended,
        "users_ending": cell.users_ending,
        "closing": cell.closing,
    }
    for reason in END_REASONS:
        figures[f"ends:{reason}"] = int(cell.ends.get(reason, 0))
    return figures


def publish_flow(
    flow: FlowResult, policy: DisclosurePolicy, *, reasons_by_group: bool = False
) -> PublishedFlow:
    """Every figure of ``flow`` through ``policy`` on its own (the audit adds secondary
    suppression where the identities between figures would give one back).

    The ends by reason are published over all groups; per group only with
    ``reasons_by_group`` (in a small group, several reasons suppressed, each known to be at
    least 1, pin the ends through the stock identity, and the audit then has to suppress far
    more: see ``docs/explanation/disclosure.rst``)."""
    where = {interval: i for i, interval in enumerate(flow.intervals)}
    groups = tuple(sorted({c.group for c in flow.cells if c.group is not None}, key=str))
    index = {group: g for g, group in enumerate(groups)}
    values = {}
    for cell in flow.cells:
        g = None if cell.group is None else index[cell.group]
        for figure, raw in flow_figures(cell).items():
            if g is not None and figure.startswith("ends:") and not reasons_by_group:
                continue
            values[flow_key(where[cell.interval], g, figure)] = policy.apply(int(raw))
    return PublishedFlow(flow, groups, values)
