"""Stock and flow over a series of intervals (DESIGN.md, "Series, stock and flow").

Per interval (and per group of a breakdown): *opening* (users in receipt on the day before the
interval), *starts* (episodes whose first day is in the interval), *ends* by end reason
(episodes whose last day is in ``[s-1, e-1]``), *closing* (users in receipt on its last day);
``opening + starts - ends == closing`` holds exactly. Distinct users starting and ending are
given beside the episode counts.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from threeml.records.intervals import Interval

__all__ = ["END_REASONS", "FlowCell", "FlowResult"]

#: The end reasons of the flow, in the order DESIGN.md gives precedence to them, then unknown.
END_REASONS = (
    "died",
    "care_home",
    "hospital",
    "moved",
    "declined",
    "abandoned",
    "other",
    "unknown",
)


@attrs.frozen
class FlowCell:
    """The stock and flow of one interval, for everyone (``group`` None) or one group."""

    interval: Interval
    group: str | None
    opening: int
    starts: int
    ends: Mapping[str, int]
    closing: int
    users_starting: int
    users_ending: int

    @property
    def ended(self) -> int:
        """Episodes ending, all reasons together."""
        return sum(self.ends.values())

    @property
    def net_change(self) -> int:
        return self.starts - self.ended


@attrs.frozen
class FlowResult:
    """Stock and flow of one in-receipt sense over a series: cells by interval (and group)."""

    name: str
    intervals: tuple[Interval, ...]
    by: str | None
    cells: tuple[FlowCell, ...]
