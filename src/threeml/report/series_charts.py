"""Charts of the report's series: the stock and flow, and target trajectories.

Drawn like every chart of :mod:`threeml.report.charts` (matplotlib, inline SVG, published
figures only; a suppressed figure is a gap, never a zero).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from threeml.engine.flow import END_REASONS
from threeml.report.charts import _BLUE, _GREY, _LIGHT, _ORANGE, _draw, _figure, _short

__all__ = ["stock_and_flow", "trajectories"]

#: One colour per end reason, from dark to light.
_REASON_COLOURS = (
    "#7f1d1d",
    "#b91c1c",
    "#dc2626",
    "#ef4444",
    "#f87171",
    "#fca5a5",
    "#fecaca",
    "#d1d5db",
)


def _nan(values: Sequence[float | None]) -> list[float]:
    return [float("nan") if v is None else float(v) for v in values]


def stock_and_flow(labels: Sequence[str], figures: Mapping[str, Sequence[int | None]]) -> str:
    """People in receipt at the end of each interval (a line, above) and the episodes
    starting (bars up) and ending by reason (bars down, stacked), below, on one time axis.

    ``figures`` are the flow's published figures over all areas (``closing``, ``starts``,
    ``ends:<reason>`` …), one value per interval."""
    n = len(labels)

    def build():
        figure = _figure(8.5, 3.6)
        top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=(1, 1.3))
        xs = list(range(n))
        top.plot(
            xs,
            _nan(figures.get("closing", [None] * n)),
            marker="o",
            markersize=2.5,
            linewidth=1.3,
            color=_BLUE,
            label="in receipt at the end",
        )
        top.set_ylim(bottom=0)
        top.set_title("people in receipt at the end of each interval", fontsize=7.5, loc="left")
        top.grid(axis="y", color="#e5e7eb")
        starts = [v or 0 for v in figures.get("starts", [None] * n)]
        bottom.bar(xs, starts, color=_LIGHT, width=0.8, label="starts")
        below = [0.0] * n
        for reason, colour in zip(END_REASONS, _REASON_COLOURS, strict=True):
            ends = [-(v or 0) for v in figures.get(f"ends:{reason}", [None] * n)]
            if not any(ends):
                continue
            bottom.bar(xs, ends, bottom=below, color=colour, width=0.8, label=f"ends: {reason}")
            below = [b + e for b, e in zip(below, ends, strict=True)]
        bottom.axhline(0, color=_GREY, linewidth=0.8)
        bottom.set_title(
            "episodes starting (up) and ending by reason (down)", fontsize=7.5, loc="left"
        )
        bottom.legend(loc="lower left", frameon=False, fontsize=6, ncol=4)
        ticks = [0, n - 1] if n > 1 else [0]
        bottom.set_xticks(ticks, [labels[t] for t in ticks])
        for axes in (top, bottom):
            axes.tick_params(labelsize=6.5)
        return figure

    return _draw(build)


#: The most trajectories drawn as panels (the rest are in the table).
TRAJECTORIES_DRAWN = 12


def trajectories(rows: Sequence[Mapping[str, Any]]) -> str:
    """Target trajectories as small multiples: per area, the published counts over time (a
    line), the projection to the due date (dashed) and the target (a dotted level)."""
    rows = list(rows)[:TRAJECTORIES_DRAWN]
    columns = max(1, min(len(rows), 3))
    panels = max(1, -(-len(rows) // columns))

    def build():
        figure = _figure(8.5, 0.4 + 1.55 * panels)
        grid = figure.subplots(panels, columns, squeeze=False)
        for index, axes in enumerate(grid.flat):
            if index >= len(rows):
                axes.set_visible(False)
                continue
            row = rows[index]
            labels = list(row.get("labels", ()))
            counted = _nan(row.get("counted", ()))
            axes.plot(
                range(len(counted)), counted, marker="o", markersize=2, linewidth=1.2, color=_BLUE
            )
            projection = row.get("projection") or []
            if projection:
                axes.plot(
                    range(len(projection)),
                    _nan(projection),
                    linestyle="--",
                    linewidth=1,
                    color=_ORANGE,
                )
            if row.get("target") is not None:
                axes.axhline(float(row["target"]), color=_GREY, linewidth=0.8, linestyle=":")
            state = {True: "on track", False: "behind"}.get(row.get("on_track"), "")
            title = f"{row.get('group', 'all')} {state}".strip()
            axes.set_title(_short(title, 30), fontsize=7.5, loc="left")
            axes.set_ylim(bottom=0)
            axes.tick_params(labelsize=6)
            if labels:
                ends = [0, len(labels) - 1] if len(labels) > 1 else [0]
                axes.set_xticks(ends, [labels[t] for t in ends])
        return figure

    return _draw(build)
