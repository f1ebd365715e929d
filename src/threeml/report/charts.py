"""Charts for the HTML report, drawn with matplotlib as inline SVG.

Every chart is drawn from published figures only (suppressed cells are left
out and said so), on a ``Figure`` of its own (no pyplot state), with a fixed
hash salt and no date in the SVG, so the same figures give the same file.
Without matplotlib (``pip install 'threeml[report]'``) :func:`available` is
false and the report is written without charts.
"""

from __future__ import annotations

import contextlib
import gc
import io
import os
import re
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

__all__ = [
    "available",
    "caterpillar",
    "deferred",
    "definitions_bar",
    "funnel",
    "over_time",
    "progress",
]

_BLUE = "#1f5f99"
_LIGHT = "#9ec3e6"
_GREY = "#6b7280"
_ORANGE = "#d9822b"
_RC = {
    "svg.hashsalt": "threeml",
    # Text from data or plugins is drawn literally: no mathtext (`$\\frac$`), no TeX.
    "text.parse_math": False,
    "text.usetex": False,
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
}


def available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _svg(figure) -> str:
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context(_RC):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]


_COUNTER = [0]


def _unique_ids(svg: str, prefix: str) -> str:
    svg = re.sub(r'id="([^"]+)"', lambda m: f'id="{prefix}{m.group(1)}"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}{m.group(1)})", svg)
    return re.sub(r'xlink:href="#([^"]+)"', lambda m: f'xlink:href="#{prefix}{m.group(1)}"', svg)


def reset_ids() -> None:
    """Start chart ids again (each report numbers its charts from 1)."""
    _COUNTER[0] = 0


def _render(build: Callable[[], Any], prefix: str) -> str:
    import matplotlib

    with matplotlib.rc_context(_RC):
        figure = build()
        # Ids must be unique within one HTML page: prefix them per chart.
        return _unique_ids(_svg(figure), prefix)


def _draw(build: Callable[[], Any]) -> str:
    """The chart ``build`` draws, as SVG; inside :func:`deferred`, a placeholder for it."""
    _COUNTER[0] += 1
    prefix = f"c{_COUNTER[0]}-"
    if _PENDING:
        pending = _PENDING[-1]
        pending.append((build, prefix))
        return _placeholder(len(pending) - 1)
    return _render(build, prefix)


# Charts asked for inside :func:`deferred`, drawn together when it ends (innermost last).
_PENDING: list[list[tuple[Callable[[], Any], str]]] = []


def _placeholder(index: int) -> str:
    return f"<!--threeml-chart-{index}-->"


@contextlib.contextmanager
def deferred() -> Iterator[Callable[[str], str]]:
    """Draw the charts asked for inside the block together when it ends, on every core.

    Inside the block each chart function returns a placeholder; the block gives a function
    that replaces the placeholders of a text with the charts (call it after the block).
    Each chart is drawn by the same code either way, and numbered in the order it was asked
    for, so the page is the same byte for byte as when every chart is drawn at once.
    """
    pending: list[tuple[Callable[[], Any], str]] = []
    _PENDING.append(pending)
    drawn: list[str] = []

    def fill(text: str) -> str:
        return re.sub(r"<!--threeml-chart-(\d+)-->", lambda m: drawn[int(m.group(1))], text)

    try:
        yield fill
    finally:
        _PENDING.remove(pending)
    drawn.extend(_render_all(pending))


#: Fewer charts than this are drawn in this process alone (starting workers costs more).
PARALLEL_FROM = 8


def _render_all(pending: Sequence[tuple[Callable[[], Any], str]]) -> list[str]:
    """Every pending chart, in order: in worker processes forked from this one when the
    platform forks and there are enough charts and cores; else one after the other here.

    The workers inherit the charts to draw (closures over the published figures, which
    need not be picklable) and send back their SVG text only."""
    import multiprocessing

    workers = min(os.cpu_count() or 1, 4)
    if (
        workers < 2
        or len(pending) < PARALLEL_FROM
        or "fork" not in multiprocessing.get_all_start_methods()
    ):
        return [_render(build, prefix) for build, prefix in pending]
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    _FORKED[:] = pending
    # The objects inherited at the fork (the engine's connections among them, whose threads
    # the workers do not have) are kept from the workers' garbage collector: collecting one
    # there crashed a worker. Only what a worker makes itself is collected there.
    gc.freeze()
    try:
        with (
            warnings.catch_warnings(),
            ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool,
        ):
            # Python 3.12 warns on forking a process with threads (the engine's): the workers
            # only draw charts and never touch the engine.
            warnings.simplefilter("ignore", DeprecationWarning)
            return list(pool.map(_render_forked, range(len(pending))))
    except BrokenProcessPool:
        # A worker died: the same charts, drawn here one after the other.
        return [_render(build, prefix) for build, prefix in pending]
    finally:
        gc.unfreeze()
        _FORKED.clear()


# The charts a forked worker draws, by index (set before the workers are forked).
_FORKED: list[tuple[Callable[[], Any], str]] = []


def _render_forked(index: int) -> str:
    build, prefix = _FORKED[index]
    return _render(build, prefix)


def _short(text: str, width: int = 42) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _label(value: int | None) -> str:
    """A bar's figure: ``suppressed`` for a figure disclosure control withheld."""
    return "suppressed" if value is None else f"{value:,}"


def funnel(considered: int | None, steps: Sequence[Mapping[str, Any]], unit: str) -> str:
    """Attrition as a funnel: units considered, then remaining after each criterion
    (a suppressed figure is drawn as an empty bar labelled ``suppressed``)."""

    def build():
        labels = ["considered"] + [f"{s['step']}. {_short(s['criterion'])}" for s in steps]
        figures = [considered] + [s["remaining"] for s in steps]
        values = [value or 0 for value in figures]
        figure = _figure(6.2, 0.45 + 0.34 * len(values))
        axes = figure.add_subplot()
        positions = list(range(len(values)))[::-1]
        top = max(values) or 1
        lefts = [(top - v) / 2 for v in values]
        colours = [_LIGHT] + [_BLUE] * (len(values) - 1)
        axes.barh(positions, values, left=lefts, color=colours, height=0.72)
        for y, value, left, figure_ in zip(positions, values, lefts, figures, strict=True):
            share = (
                f" ({value / considered:.0%})"
                if considered and figure_ is not None and y != positions[0]
                else ""
            )
            axes.text(
                left + value + top * 0.015, y, f"{_label(figure_)}{share}", va="center", fontsize=8
            )
        axes.set_yticks(positions, labels)
        axes.set_xticks([])
        axes.spines["bottom"].set_visible(False)
        axes.spines["left"].set_visible(False)
        axes.tick_params(axis="y", length=0)
        axes.set_xlim(0, top * 1.22)
        axes.set_xlabel(unit, color=_GREY)
        return figure

    return _draw(build)


def definitions_bar(
    names: Sequence[str], counts: Sequence[int | None], units: Sequence[str]
) -> str:
    """The definitions side by side: each one's count over all areas (``None``: suppressed)."""
    figures = list(counts)
    counts = [count or 0 for count in figures]

    def build():
        figure = _figure(7.5, 0.5 + 0.28 * len(names))
        axes = figure.add_subplot()
        positions = list(range(len(names)))[::-1]
        colours = [_ORANGE if unit != "users" else _BLUE for unit in units]
        axes.barh(positions, counts, color=colours, height=0.7)
        top = max(counts) if counts else 1
        for y, value, unit, figure_ in zip(positions, counts, units, figures, strict=True):
            suffix = "" if unit == "users" else f" {unit}"
            text = f"{_label(figure_)}{suffix}"
            axes.text(value + top * 0.01, y, text, va="center", fontsize=8)
        axes.set_yticks(positions, names)
        axes.set_xlim(0, top * 1.18 or 1)
        axes.set_xlabel("count over all areas (people unless marked)", color=_GREY)
        axes.tick_params(axis="y", length=0)
        return figure

    return _draw(build)


def over_time(labels: Sequence[str], series: Mapping[str, Sequence[int | None]]) -> str:
    """Counts per quarter (or month) of the period as small multiples: one small panel per
    definition, each on its own scale and named in its title, in one colour (a suppressed
    count is a gap in its line). Fifteen lines on one axis in fifteen similar colours could
    not be told apart."""
    series = {
        name: [float("nan") if value is None else value for value in values]
        for name, values in series.items()
    }
    columns = 4 if len(series) > 6 else max(1, min(len(series), 3))
    rows = max(1, -(-len(series) // columns))

    def build():
        figure = _figure(8.5, 0.4 + 1.55 * rows)
        axes_grid = figure.subplots(rows, columns, squeeze=False, sharex=True)
        ticks = [0, len(labels) - 1] if len(labels) > 1 else [0]
        for index, axes in enumerate(axes_grid.flat):
            if index >= len(series):
                axes.set_visible(False)
                continue
            name, counts = list(series.items())[index]
            axes.plot(range(len(labels)), counts, marker="o", markersize=2.5, linewidth=1.3,
                      color=_BLUE)  # fmt: skip
            axes.set_title(_short(name, 30), fontsize=7.5, loc="left")
            axes.set_ylim(bottom=0)
            axes.tick_params(labelsize=6.5)
            axes.grid(axis="y", color="#e5e7eb")
            axes.set_xticks(ticks, [labels[t] for t in ticks])
        figure.supylabel("count over all areas", fontsize=8)
        return figure

    return _draw(build)


def caterpillar(
    title: str,
    rows: Sequence[Mapping[str, Any]],
    total: float | None,
    total_low: float | None,
    total_high: float | None,
) -> str:
    """A metric's value for each group with its interval, groups ranked; the total as a band."""

    def build():
        shown = sorted(
            (r for r in rows if r.get("value") is not None),
            key=lambda r: r["value"],
        )
        figure = _figure(8.5, 2.8)
        axes = figure.add_subplot()
        xs = list(range(len(shown)))
        values = [r["value"] for r in shown]
        has_ci = [r.get("ci_low") is not None and r.get("ci_high") is not None for r in shown]
        if any(has_ci):
            low = [r["value"] - r["ci_low"] if ok else 0 for r, ok in zip(shown, has_ci,
                   strict=True)]  # fmt: skip
            high = [r["ci_high"] - r["value"] if ok else 0 for r, ok in zip(shown, has_ci,
                    strict=True)]  # fmt: skip
            axes.errorbar(xs, values, yerr=[low, high], fmt="none", ecolor=_LIGHT, linewidth=0.8)
        axes.scatter(xs, values, s=6, color=_BLUE, zorder=3)
        # A total that is a sum over groups (user-years) is off their scale: leave it out.
        if total is not None and values and min(values) <= total <= max(values):
            axes.axhline(total, color=_ORANGE, linewidth=1, label="all areas")
            if total_low is not None and total_high is not None:
                axes.axhspan(total_low, total_high, color=_ORANGE, alpha=0.15, linewidth=0)
            axes.legend(loc="upper left", frameon=False, fontsize=7)
        axes.set_xticks([])
        axes.set_xlabel(
            f"{len(shown)} groups, ranked"
            + (
                f"; {len(rows) - len(shown)} without a value (suppressed or none)"
                if len(rows) > len(shown)
                else ""
            ),
            color=_GREY,
        )
        axes.set_title(title, loc="left")
        axes.grid(axis="y", color="#e5e7eb")
        return figure

    return _draw(build)


#: The most areas the progress chart names one by one (the furthest behind and ahead).
PROGRESS_NAMED = 30


def progress(rows: Sequence[Mapping[str, Any]]) -> str:
    """Each area's share of its target reached (bar) and projected by the due date (dot),
    one labelled row per area, ranked; with many areas, the :data:`PROGRESS_NAMED` furthest
    behind and ahead are shown by name and the rest counted in the caption."""

    def build():
        ranked = sorted((r for r in rows if r.get("value") is not None), key=lambda r: r["value"])
        shown = ranked
        if len(ranked) > PROGRESS_NAMED:
            half = PROGRESS_NAMED // 2
            shown = ranked[:half] + ranked[-half:]
        figure = _figure(8.5, 0.9 + 0.16 * max(len(shown), 4))
        axes = figure.add_subplot()
        ys = list(range(len(shown)))
        reached = [r["value"] * 100 for r in shown]
        projected = []
        for r in shown:
            projection, target = r["details"].get("projection"), r["details"].get("target")
            projected.append(projection / target * 100 if projection is not None and target
                             else float("nan"))  # fmt: skip
        axes.barh(ys, reached, color=_BLUE, height=0.7, label="reached")
        axes.scatter(projected, ys, s=9, color=_ORANGE, zorder=3, label="projected by due date")
        axes.axvline(100, color=_GREY, linewidth=1, linestyle="--")
        axes.set_yticks(ys, [_short(str(r["group"]), 24) for r in shown], fontsize=6.5)
        axes.set_xlabel("% of target", fontsize=8)
        notes = []
        if len(ranked) > len(shown):
            notes.append(f"the {len(shown) // 2} furthest behind and ahead of {len(ranked)} areas")
        if len(rows) > len(ranked):
            notes.append(f"{len(rows) - len(ranked)} without a value (suppressed or no target)")
        axes.set_title("; ".join(notes) or f"{len(ranked)} areas, ranked by share reached",
                       fontsize=7.5, loc="left", color=_GREY)  # fmt: skip
        axes.legend(loc="lower right", frameon=False, fontsize=7)
        axes.grid(axis="x", color="#e5e7eb")
        return figure

    return _draw(build)
