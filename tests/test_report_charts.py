"""The report's charts: over time as small multiples, progress to target with area names."""

from __future__ import annotations

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
