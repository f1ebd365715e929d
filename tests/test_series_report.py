"""The report's over-time section: the stock and flow and target trajectories (issue 15, part 5).

The stock and flow is drawn from the published series (every figure through the policy,
audited with the report), with a note that its identity need not hold after rounding; target
trajectories, which a plugin may add to the published data under ``target_trajectories``,
are drawn and tabled when present.
"""

from __future__ import annotations

import csv
import io

import attrs
import pytest
from flows import flow_from, trajectory

from threeml.data import Dataset
from threeml.data.demo import demo_folder
from threeml.engine.flow import FlowResult
from threeml.publish.audited import audited
from threeml.publish.disclosure import DEFAULT_POLICY
from threeml.report import build_report, publish_report
from threeml.report.html import to_html
from threeml.report.over_time import TRAJECTORIES
from threeml.report.tables import to_csv


def _flow(intervals) -> FlowResult:
    """Kent: a large stock with starts and deaths; Newham: a small one."""
    kent = trajectory(100, [(30, {"died": 12, "moved": 6})] * len(intervals))
    newham = trajectory(5, [(3, {"died": 1})] * len(intervals))
    return flow_from(intervals, {"Kent": kent, "Newham": newham})


@pytest.fixture(scope="module")
def published():
    dataset = Dataset.from_folder(demo_folder())
    report = build_report(dataset, "2013", definitions=None, metrics=[], every="quarter")
    report = attrs.evolve(report, flow=_flow(report.intervals))
    return audited(publish_report(report, DEFAULT_POLICY))


def test_the_stock_and_flow_is_published_under_the_policy(published) -> None:
    flow = published.data["over_time"]["flow"]
    assert flow["name"] == "in-receipt" and flow["by"] == "area"
    assert flow["all"]["opening"][0] == 105  # 105: a multiple of 5 stays
    assert flow["groups"]["Kent"]["ends"] == [20, 20, 20, 20]  # 18, rounded
    assert flow["all"]["ends:died"] == [15, 15, 15, 15]  # 13: by reason over all areas only
    assert "ends:died" not in flow["groups"]["Kent"]
    assert all(v is None for v in flow["groups"]["Newham"]["starts"])  # 3: suppressed
    assert any("need not hold" in note for note in published.data["over_time"]["notes"])


def test_the_html_draws_the_stock_and_flow_and_says_the_identity_may_not_hold(published) -> None:
    html = to_html(published.data)
    section = html[html.index('id="stock-and-flow"') :]
    assert "<svg" in section[:200000]
    assert "need not hold" in section
    assert "Newham" in section


def test_the_csv_has_the_series_by_area_and_the_flow(published) -> None:
    rows = list(csv.DictReader(io.StringIO(to_csv(published.data))))
    by_area = [r for r in rows if r["section"] == "over-time" and r["breakdown"] == "area"]
    assert {r["group"] for r in by_area} == {"Cornwall", "Kent", "Newham"}
    flow = [r for r in rows if r["section"] == "over-time-flow"]
    assert {"2013-Q1: opening", "2013-Q4: ends:died"} <= {r["item"] for r in flow}
    assert all(r["disclosure"].startswith("default") for r in by_area + flow)


def test_target_trajectories_render_when_present(published) -> None:
    data = dict(published.data)
    assert "Target trajectories" not in to_html(data)
    data[TRAJECTORIES] = [
        {
            "definition": "telehealth",
            "group": "Kent",
            "labels": ["2013-Q1", "2013-Q2"],
            "counted": [40, 55],
            "projection": [40, 55, 70, 85],
            "target": 100,
            "due": "2014-03-31",
            "on_track": False,
        },
    ]
    html = to_html(data)
    section = html[html.index('id="trajectories"') :]
    assert "<svg" in section and "Kent" in section and "2014-03-31" in section
