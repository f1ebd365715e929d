"""Stock-and-flow results built by hand, for tests of how they are published.

:func:`trajectory` gives a group's figures interval by interval from its opening stock and its
starts and ends (the closing follows the identity); :func:`flow_from` puts groups together,
with the cells over all groups their sums, as :class:`~threeml.engine.flow.FlowResult`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from threeml.engine.flow import END_REASONS, FlowCell, FlowResult

_SUMMED = ("opening", "starts", "closing", "users_starting", "users_ending")


def trajectory(opening: int, moves: Sequence[tuple[int, Mapping[str, int]]]) -> list[dict]:
    """Per interval: ``(starts, ends by reason)``; each episode one person."""
    out = []
    for starts, ends in moves:
        ended = sum(ends.values())
        closing = opening + starts - ended
        assert closing >= 0
        out.append(
            {
                "opening": opening,
                "starts": starts,
                "ends": dict(ends),
                "closing": closing,
                "users_starting": starts,
                "users_ending": ended,
            }
        )
        opening = closing
    return out


def _cell(interval: Any, group: str | None, f: Mapping[str, Any]) -> FlowCell:
    return FlowCell(
        interval,
        group,
        f["opening"],
        f["starts"],
        f["ends"],
        f["closing"],
        f["users_starting"],
        f["users_ending"],
    )


def flow_from(intervals: Sequence[Any], groups: Mapping[str, Sequence[Mapping]]) -> FlowResult:
    """The flow of ``groups`` (by area) over ``intervals``, with the all-areas cells."""
    cells = []
    for i, interval in enumerate(intervals):
        total: dict[str, Any] = {**dict.fromkeys(_SUMMED, 0), "ends": dict.fromkeys(END_REASONS, 0)}
        for group, figures in groups.items():
            cells.append(_cell(interval, group, figures[i]))
            for key in _SUMMED:
                total[key] += figures[i][key]
            for reason, n in figures[i]["ends"].items():
                total["ends"][reason] += n
        cells.append(_cell(interval, None, total))
    return FlowResult("in-receipt", tuple(intervals), "area", tuple(cells))
