"""The report's charts: over time as small multiples, progress to target with area names."""

from __future__ import annotations

import gc
import os
import re

import pytest

from threeml.report import charts

pytestmark = pytest.mark.skipif(not charts.available(), reason="charts need matplotlib")

NAMES = [f"definition-{i:02d}" for i in range(15)]


def test_over_time_is_one_named_panel_per_definition_in_one_colour() -> None:
    labels = ["2013-Q2", "2013-Q3", "2013-Q4", "2014-Q1"]
    svg = charts.over_time(labels, {name: [i, i + 1, None, i + 3] for i, name in
                                    enumerate(NAMES)})  # fmt: skip
    for name in NAMES:
        assert f">{name}<" in svg or name in svg
    line_colours = set(re.findall(r"stroke: (#[0-9a-f]{6})", svg)) - {"#e5e7eb", "#000000"}
    # One colour for the data; never fifteen similar ones on one axis.
    assert len(line_colours) <= 3, line_colours


def test_progress_names_the_areas_furthest_behind_and_ahead() -> None:
    rows = [
        {"group": f"Area {i:03d}", "value": i / 100, "details": {"target": 100, "projection": i}}
        for i in range(1, 61)
    ]
    svg = charts.progress(rows)
    assert "Area 001" in svg and "Area 060" in svg  # furthest behind, furthest ahead
    assert "Area 030" not in svg  # the middle is counted, not named
    assert "of 60 areas" in svg


#: Enough charts for a page's charts to be drawn in worker processes.
MANY = charts.PARALLEL_FROM


def _page_of_charts() -> str:
    rows = [
        {"group": f"Area {i:03d}", "value": i / 100, "details": {"target": 100, "projection": i}}
        for i in range(1, 21)
    ]
    steps = [{"step": j, "criterion": f"criterion {j}", "remaining": 100 - 10 * j} for j in (1, 2)]
    return "\n".join(
        [charts.funnel(100 + i, steps, "users") for i in range(MANY)]
        + [charts.progress(rows), charts.over_time(["2013-Q1", "2013-Q2"], {"a": [1, 2]})]
    )


@pytest.mark.parametrize("parallel", [True, False])
def test_charts_drawn_together_equal_charts_drawn_one_by_one(monkeypatch, parallel) -> None:
    """A page's charts drawn at its end (in forked workers, or here when too few to be worth
    it) are the charts drawn at once, in their places, numbered in the same order."""
    charts.reset_ids()
    one_by_one = _page_of_charts()
    if not parallel:
        monkeypatch.setattr(charts, "PARALLEL_FROM", 10**6)
    charts.reset_ids()
    with charts.deferred() as fill:
        page = _page_of_charts()
    assert "<svg" not in page and "threeml-chart-" in page
    assert fill(page) == one_by_one
    assert one_by_one.count("<svg") == MANY + 2
    assert 'id="c1-' in one_by_one and f'id="c{MANY + 2}-' in one_by_one


def _crash_in_the_worker(index: int) -> str:
    """A forked worker that dies (as a crash in a C extension would)."""
    os._exit(70)


def test_charts_are_drawn_here_when_a_worker_dies(monkeypatch) -> None:
    """A worker dying does not lose the page: its charts are drawn in this process, the same
    byte for byte; and the garbage collector is back to normal after the workers."""
    charts.reset_ids()
    one_by_one = _page_of_charts()
    monkeypatch.setattr(charts, "_render_forked", _crash_in_the_worker)
    charts.reset_ids()
    with charts.deferred() as fill:
        page = _page_of_charts()
    assert fill(page) == one_by_one
    assert gc.get_freeze_count() == 0


def _freeze_count(index: int) -> str:
    """What a forked worker draws in place of a chart: how many objects it holds frozen."""
    return str(gc.get_freeze_count())


def test_objects_made_before_the_workers_are_not_collected_in_them(monkeypatch) -> None:
    """The workers are forked with everything this process holds frozen out of their garbage
    collector, and this process's collector is unfrozen when they are done."""
    monkeypatch.setattr(charts, "_render_forked", _freeze_count)
    charts.reset_ids()
    with charts.deferred() as fill:
        page = _page_of_charts()
    frozen = [int(n) for n in re.findall(r"^\d+$", fill(page), flags=re.M)]
    assert frozen and all(n > 0 for n in frozen)
    assert gc.get_freeze_count() == 0
