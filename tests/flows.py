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


def moves(intervals: int) -> Any:
    """A Hypothesis strategy: one group's ``(starts, ends by reason)`` in each interval."""
    from hypothesis import strategies as st

    return st.lists(
        st.tuples(
            st.integers(0, 14),
            st.dictionaries(st.sampled_from(END_REASONS[:3]), st.integers(0, 6), max_size=2),
        ),
        min_size=intervals,
        max_size=intervals,
    )


def drawn_flow(data: Any, intervals: Sequence[Any], openings: Sequence[int]) -> FlowResult:
    """A flow drawn with Hypothesis's ``data``: one group per opening stock, its moves from
    :func:`moves` (ends cut so that no group goes below nobody)."""
    groups = {}
    for g, opening in enumerate(openings):
        level, fixed = opening, []
        for starts, ends in data.draw(moves(len(intervals))):
            room = level + starts
            kept: dict[str, int] = {}
            for reason, n in ends.items():
                n = min(n, room)
                room -= n
                kept[reason] = n
            fixed.append((starts, kept))
            level = room
        groups[f"G{g}"] = trajectory(opening, fixed)
    return flow_from(intervals, groups)
