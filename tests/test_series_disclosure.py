"""A series' long table under disclosure control (issue 15, part 5).

- In each format (CSV, JSON, Parquet, pandas) the long table has its documented columns,
  every figure went through the policy and the policy is stated.
- Differencing a series against totals over the span (the worked example below): when a
  series published an interval's total exactly, as a single period's count without a
  breakdown does, a reader holding two counts by area over the span pins a suppressed area
  to 7; under the series' rule (every figure through the policy) no cell can be pinned.
- Stock and flow: a hostile reader (:mod:`attacker`, written apart from the audit) who
  knows every identity of the flow (opening + starts - ends = closing, closing = next
  opening, ends by reason add up, groups add up) narrows no published or suppressed figure
  to one value, on random flows.
"""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from attacker import lp_solve, narrowed, prior
from flows import drawn_flow, flow_from, trajectory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from threeml.data import Dataset
from threeml.definitions.policies import DEFAULT_POLICY
from threeml.engine.evaluate import count
from threeml.engine.flow import END_REASONS, FlowResult
from threeml.engine.series import count_series
from threeml.plugins.registry import default_registry
from threeml.publish.audited import audited
from threeml.publish.counts import publish_count
from threeml.publish.formats import write
from threeml.publish.series import FLOW_FIGURES, SERIES_COLUMNS, flow_figures, publish_series
from threeml.records.intervals import split
from threeml.records.periods import Period

POLICY = DEFAULT_POLICY
JAN_NOV = Period(date(2013, 1, 1), date(2013, 11, 30))
YEAR = Period(date(2013, 1, 1), date(2013, 12, 31))


def _folder(folder: Path, people: list[tuple[str, str, str]]) -> Dataset:
    """Telehealth users, each with one enrolment: (user id, area, installed_on)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "users.csv").write_text(
        "user_id,area,birth_year,sex,conditions,risk_score\n"
        + "".join(f"{uid},{area},1940,F,,0.5\n" for uid, area, _ in people)
    )
    (folder / "services.csv").write_text(
        "service_id,kind,sector,area,provider,annual_cost\nth,telehealth,health,A,,\n"
    )
    (folder / "enrolments.csv").write_text(
        "enrolment_id,user_id,service_id,referred_on,installed_on,ended_on,end_reason\n"
        + "".join(f"E{uid},{uid},th,,{day},,\n" for uid, _, day in people)
    )
    (folder / "contacts.csv").write_text("user_id,enrolment_id,date,kind\n")
    return Dataset.from_folder(folder)


@pytest.fixture(scope="module")
def december(tmp_path_factory) -> Dataset:
    """Area A: 7 connections in February and 1 in December; B: 20 and C: 31 in February."""
    people = [(f"a{i}", "A", "2013-02-01") for i in range(7)] + [("a7", "A", "2013-12-05")]
    people += [(f"b{i}", "B", "2013-02-01") for i in range(20)]
    people += [(f"c{i}", "C", "2013-02-01") for i in range(31)]
    return _folder(tmp_path_factory.mktemp("december"), people)


def _count(dataset: Dataset, period: Period) -> dict[str, Any]:
    registry = default_registry()
    result = count(
        registry.counting("connections"), dataset, period, by=("area",), registry=registry
    )
    return audited(publish_count(result, POLICY)).data()


def _december_total(dataset: Dataset) -> tuple[int | None, int]:
    """December's connections over all areas as the monthly series publishes it, and the
    true figure."""
    registry = default_registry()
    intervals = split(YEAR, "month")
    found = count_series(
        [registry.counting("connections")], dataset, intervals, by=(), registry=registry
    )
    data = audited(publish_series(intervals, POLICY, counts=found)).data()
    (row,) = [r for r in data["rows"] if r["interval"] == "2013-12"]
    return row["value"], found["connections"][-1].count


def _attack(jan_nov: dict, year: dict, december: tuple[float, float]) -> tuple[float, float]:
    """A's range in January to November, from both counts by area and December's total."""
    bounds: dict[Any, tuple[float, float]] = {}
    rows: list[tuple[dict[Any, float], float, float]] = []
    for name, published in (("jan_nov", jan_nov), ("year", year)):
        bounds[(name, "total")] = prior(POLICY, published["count"], False)
        for cell in published["breakdown"]["area"]:
            primary = cell["count"] is None and name == "jan_nov" and cell["group"] == "A"
            bounds[(name, cell["group"])] = prior(POLICY, cell["count"], primary)
        groups = {(name, c["group"]): 1.0 for c in published["breakdown"]["area"]}
        rows.append(({**groups, (name, "total"): -1.0}, 0.0, 0.0))
    bounds[("december", "total")] = december
    for area in ("A", "B", "C"):
        bounds[("december", area)] = (0.0, math.inf)
        # Connections add up over time: the year's are January to November's and December's.
        rows.append(
            ({("year", area): 1.0, ("jan_nov", area): -1.0, ("december", area): -1.0}, 0.0, 0.0)
        )
    rows.append(({("december", a): 1.0 for a in "ABC"} | {("december", "total"): -1.0}, 0.0, 0.0))
    rows.append(
        (
            {("year", "total"): 1.0, ("jan_nov", "total"): -1.0, ("december", "total"): -1.0},
            0.0,
            0.0,
        )
    )
    return lp_solve(bounds, rows, [("jan_nov", "A")])[("jan_nov", "A")]


def test_the_worked_example_is_as_described(december: Dataset) -> None:
    jan_nov, year = _count(december, JAN_NOV), _count(december, YEAR)
    area = {c["group"]: c["count"] for c in jan_nov["breakdown"]["area"]}
    assert area["A"] is None  # 7: suppressed
    assert {c["group"]: c["count"] for c in year["breakdown"]["area"]}["A"] == 10  # 8
    # A single period's count without a breakdown publishes its total as it is.
    registry = default_registry()
    alone = count(
        registry.counting("connections"),
        december,
        Period(date(2013, 12, 1), date(2013, 12, 31)),
        by=(),
        registry=registry,
    )
    assert publish_count(alone, POLICY).totals["count"] == 1


def test_an_exact_interval_total_would_pin_the_suppressed_area(december: Dataset) -> None:
    jan_nov, year = _count(december, JAN_NOV), _count(december, YEAR)
    low, high = _attack(jan_nov, year, (1.0, 1.0))  # December's total published as it is
    assert narrowed(low, high) == 0 and round(low) == 7


def test_the_series_publishes_no_interval_total_a_reader_can_subtract(december: Dataset) -> None:
    published, true = _december_total(december)
    assert true == 1 and published is None  # through the policy: suppressed
    jan_nov, year = _count(december, JAN_NOV), _count(december, YEAR)
    low, high = _attack(jan_nov, year, prior(POLICY, published, True))
    assert narrowed(low, high) >= 1 and low <= 7 <= high


# --- the long table in each format ----------------------------------------------------------


@pytest.fixture(scope="module")
def series(december: Dataset):
    registry = default_registry()
    intervals = split(YEAR, "quarter")
    counts = count_series(
        [registry.counting("connections")], december, intervals, by=("area",), registry=registry
    )
    flow = flow_from(
        intervals,
        {
            "A": trajectory(3, [(4, {"died": 1}), (0, {}), (9, {"moved": 2}), (1, {"died": 3})]),
            "B": trajectory(
                40,
                [
                    (12, {"died": 6, "care_home": 2}),
                    (10, {"hospital": 9}),
                    (20, {"died": 5}),
                    (15, {"unknown": 11}),
                ],
            ),
        },
    )
    return publish_series(intervals, POLICY, counts=counts, flow=flow)


def test_json_states_the_policy_and_the_flow_note(series) -> None:
    buffer = io.StringIO()
    write(series, "json", buffer)
    data = json.loads(buffer.getvalue())
    assert data["columns"] == list(SERIES_COLUMNS)
    assert data["disclosure"] == POLICY.describe()
    assert any("need not hold" in note for note in data["notes"])
    assert data["audit"]["status"] in ("passed", "cells added", "breakdowns withheld")
    kinds = {row["kind"] for row in data["rows"]}
    assert kinds == {"definition", "flow"}
    for row in data["rows"]:
        assert set(SERIES_COLUMNS) <= set(row)
        value = row["value"]
        if row["figure"] == "net_change":
            continue  # published starts less published ends
        assert value is None or value == 0 or (value % 5 == 0 and value > POLICY.threshold)
    flow = [r for r in data["rows"] if r["kind"] == "flow" and r["group"] == "A"]
    assert any(r["value"] is None for r in flow), "area A's small flows are suppressed"


def test_net_change_is_the_published_starts_less_the_published_ends(series) -> None:
    rows = audited(series).figures()
    by_cell: dict[tuple, dict[str, Any]] = {}
    for row in rows:
        if row["kind"] == "flow":
            by_cell.setdefault((row["interval"], row["group"]), {})[row["figure"]] = row["value"]
    for figures in by_cell.values():
        starts, ends = figures["starts"], figures["ends"]
        expected = None if starts is None or ends is None else starts - ends
        assert figures["net_change"] == expected


def test_csv_parquet_and_pandas_carry_the_same_published_figures(series) -> None:
    text = io.StringIO()
    write(series, "csv", text)
    rows = list(csv.DictReader(io.StringIO(text.getvalue())))
    assert tuple(rows[0]) == SERIES_COLUMNS
    figures = [r for r in rows if r["kind"] in ("definition", "flow")]
    assert all(r["disclosure"] == POLICY.describe() for r in figures)
    binary = io.BytesIO()
    write(series, "parquet", binary)
    binary.seek(0)
    table = pq.read_table(binary)
    metadata = {k.decode(): v.decode() for k, v in table.schema.metadata.items()}
    assert metadata["threeml.disclosure"] == POLICY.describe()
    assert "need not hold" in metadata["threeml.notes"]
    assert metadata["threeml.audit"].startswith("passed")
    frame = series.to_pandas()
    assert list(frame.columns[:8]) == list(SERIES_COLUMNS[:8])
    assert frame.attrs["threeml.disclosure"] == POLICY.describe()
    shown = frame[frame["kind"].isin(["definition", "flow"])]
    assert len(shown) == len(figures) == table.num_rows - (len(rows) - len(figures))
    csv_suppressed = [r["value"] == "suppressed" for r in figures]
    assert list(shown["value_suppressed"]) == csv_suppressed
    assert any(csv_suppressed)


# --- stock and flow against a hostile reader ------------------------------------------------


def _flow_attack(data: dict, flow: FlowResult) -> dict[Any, tuple[float, float]]:
    """Every flow figure's range given everything the series publishes about the flow."""
    raw: dict[tuple[str, str, str], int] = {}
    for cell in flow.cells:
        group = "all" if cell.group is None else cell.group
        for figure, value in flow_figures(cell).items():
            raw[(cell.interval.label, group, figure)] = value
    bounds: dict[Any, tuple[float, float]] = {}
    targets = []
    for row in data["rows"]:
        if row["kind"] != "flow" or row["figure"] == "net_change":
            continue
        key = (row["interval"], row["group"], row["figure"])
        primary = row["value"] is None and 1 <= raw[key] <= POLICY.threshold
        bounds[key] = prior(POLICY, row["value"], primary)
        if bounds[key][0] != bounds[key][1]:
            targets.append(key)
    labels = [i.label for i in flow.intervals]
    groups = sorted({k[1] for k in bounds} - {"all"})
    rows: list[tuple[dict[Any, float], float, float]] = []
    for i, label in enumerate(labels):
        for group in ["all", *groups]:
            k = lambda f, label=label, group=group: (label, group, f)  # noqa: E731
            if k("opening") not in bounds:
                continue
            rows.append(({k("opening"): 1, k("starts"): 1, k("closing"): -1, k("ends"): -1}, 0, 0))
            if all(k(f"ends:{r}") in bounds for r in END_REASONS):
                rows.append(({k("ends"): 1, **{k(f"ends:{r}"): -1 for r in END_REASONS}}, 0, 0))
            rows.append(({k("starts"): 1, k("users_starting"): -1}, 0, math.inf))
            rows.append(({k("ends"): 1, k("users_ending"): -1}, 0, math.inf))
            if i:
                rows.append(({(labels[i - 1], group, "closing"): 1, k("opening"): -1}, 0, 0))
        for figure in FLOW_FIGURES:
            parts = [(label, g, figure) for g in groups if (label, g, figure) in bounds]
            if parts:
                rows.append(({**dict.fromkeys(parts, 1.0), (label, "all", figure): -1.0}, 0, 0))
    ranges = lp_solve(bounds, rows, targets)
    for key, (low, high) in ranges.items():
        assert low - 1e-6 <= raw[key] <= high + 1e-6, (key, raw[key], low, high)
    return ranges


def test_the_flow_of_the_fixture_cannot_be_narrowed(series) -> None:
    data = audited(series).data()
    ranges = _flow_attack(data, series.flow.result)
    assert ranges, "the fixture publishes rounded and suppressed flow figures"
    assert all(narrowed(*found) >= 1 for found in ranges.values()), ranges


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(openings=st.lists(st.integers(0, 30), min_size=2, max_size=3), data=st.data())
def test_no_flow_figure_can_be_pinned(openings, data) -> None:
    intervals = split(YEAR, "quarter")[:3]
    flow = drawn_flow(data, intervals, openings)
    published = audited(publish_series(intervals, POLICY, flow=flow)).data()
    ranges = _flow_attack(published, flow)
    assert all(narrowed(*found) >= 1 for found in ranges.values()), ranges
