"""The disclosure audit: worked examples for the routes of issue 13, and an attacker's properties.

The attacker (:mod:`attacker`) is written apart from the audit: it reads only what an
output publishes (and, more than a real reader, which cells the threshold suppressed)
and computes each suppressed or rounded cell's range afresh with HiGHS, or by
enumerating whole numbers. After the audit no such cell may be pinned to one value.
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import pytest
from attacker import count_attack, integer_ranges, lp_ranges, narrowed, prior, report_attack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import extracts, periods

from threeml.definitions.policies import DEFAULT_POLICY, ROUND10_POLICY, DisclosurePolicy
from threeml.engine.evaluate import count_many
from threeml.plugins.registry import default_registry
from threeml.publish.audit import (
    PASSED,
    SUPPRESSED_MORE,
    WITHHELD,
    AuditCell,
    AuditOutcome,
    AuditProblem,
    AuditRefused,
    AuditTable,
    audit,
    cell_range,
    published_range,
)
from threeml.publish.audited import audited
from threeml.publish.counts import publish_count
from threeml.publish.lp import feasible_ranges
from threeml.records.periods import Period
from threeml.report import build_report, publish_report
from threeml.report.files import write_files


def breakdown(cells: list[int], policy: DisclosurePolicy = DEFAULT_POLICY) -> AuditProblem:
    """One breakdown of ``cells`` with its exact total, published under ``policy``."""
    published = policy.apply_breakdown(cells)
    audit_cells = [
        AuditCell(("c", i), raw, shown, f"area {i}", part="areas")
        for i, (raw, shown) in enumerate(zip(cells, published, strict=True))
    ]
    audit_cells.append(AuditCell("total", sum(cells), sum(cells), "total", exact=True))
    table = AuditTable("count by area", "total", [("c", i) for i in range(len(cells))])
    return AuditProblem.build(audit_cells, [table])


def attack(problem: AuditProblem, policy: DisclosurePolicy) -> list[tuple[float, float]]:
    """The attacker's ranges for the breakdown cells of ``problem`` (as published)."""
    keys = [key for key in problem.cells if key != "total"]
    priors = [
        prior(
            policy,
            problem.cells[k].published,
            problem.cells[k].suppressed and 1 <= problem.cells[k].raw <= policy.threshold,
        )
        for k in keys
    ]
    return lp_ranges(problem.cells["total"].raw, priors), priors


# Route 3: areas of 1, 1 and 8 with a total of 10.


def test_route_3_the_unaudited_breakdown_pins_both_suppressed_cells() -> None:
    ranges, _ = attack(breakdown([1, 1, 8]), DEFAULT_POLICY)
    assert [narrowed(*r) for r in ranges[:2]] == [0, 0]  # both can only be 1
    assert integer_ranges(10, [(1, 7), (1, 7), (8, 12)])[:2] == [(1, 1), (1, 1)]


def test_route_3_the_audit_suppresses_the_third_area_and_nothing_is_pinned() -> None:
    after, outcome = audit(breakdown([1, 1, 8]), DEFAULT_POLICY)
    assert outcome.status == SUPPRESSED_MORE
    assert outcome.added == ("area 2",)
    assert [after.cells[("c", i)].published for i in range(3)] == [None, None, None]
    ranges, _ = attack(after, DEFAULT_POLICY)
    assert all(narrowed(*r) >= 1 for r in ranges)
    # Even in whole numbers, each area of 1 could be anything from 1 to 7.
    assert integer_ranges(10, [(1, 7), (1, 7), (0, 10)])[:2] == [(1, 7), (1, 7)]


# Route 4: a lone suppressed group equal to the total.


def test_route_4_a_lone_suppressed_group_is_refused_or_withheld() -> None:
    problem = breakdown([4])
    with pytest.raises(AuditRefused, match=r"count by area.*area 0.*4-4"):
        audit(problem, DEFAULT_POLICY, withhold=False)
    after, outcome = audit(problem, DEFAULT_POLICY)
    assert outcome.status == WITHHELD
    assert outcome.withheld == ("count by area",)
    assert not [key for key in after.cells if key != "total"]


def test_route_4_a_listed_empty_group_suppressed_beside_it_protects_it() -> None:
    # Women 4, men 0 (listed): suppressing the 0 leaves the 4 anywhere in 1-4.
    after, outcome = audit(breakdown([4, 0]), DEFAULT_POLICY)
    assert outcome.status in (PASSED, SUPPRESSED_MORE)
    ranges, _ = attack(after, DEFAULT_POLICY)
    assert narrowed(*ranges[0]) >= 1


def test_rounded_cells_pinned_by_the_total_are_suppressed() -> None:
    # 8 and 8 publish as 10 and 10 with a total of 16: each can only be 8.
    ranges, _ = attack(breakdown([8, 8], DEFAULT_POLICY), DEFAULT_POLICY)
    assert [narrowed(*r) for r in ranges] == [0, 0]
    after, outcome = audit(breakdown([8, 8]), DEFAULT_POLICY)
    assert outcome.status == SUPPRESSED_MORE
    ranges, _ = attack(after, DEFAULT_POLICY)
    assert all(narrowed(*r) >= 1 for r in ranges)


def test_a_breakdown_with_slack_passes_unchanged() -> None:
    problem = breakdown([3, 5, 100])
    after, outcome = audit(problem, DEFAULT_POLICY)
    assert outcome.status == PASSED and after == problem
    assert "HiGHS" in outcome.solver


@pytest.mark.parametrize(
    ("policy", "value", "expected"),
    [
        (DEFAULT_POLICY, 10, (8, 12)),
        (DEFAULT_POLICY, 15, (13, 17)),
        (DEFAULT_POLICY, 0, (0, 0)),
        (ROUND10_POLICY, 10, (8, 14)),
        (ROUND10_POLICY, 20, (15, 24)),
        (DisclosurePolicy("t", threshold=1, rounding=10), 0, (0, 4)),
    ],
)
def test_a_published_value_stands_for_its_rounding_interval_above_the_threshold(
    policy, value, expected
) -> None:
    assert published_range(policy, value) == expected
    low, high = expected
    # every count in the range publishes as ``value`` (or is suppressed: the hull of both)
    assert all(policy.apply(v) in (value, None) for v in range(low, high + 1))
    assert policy.apply(low - 1) != value or low - 1 < 0
    assert policy.apply(high + 1) != value


# Properties.

raw_cells = st.lists(st.integers(0, 40), min_size=1, max_size=8)
policies = st.sampled_from([DEFAULT_POLICY, ROUND10_POLICY, DisclosurePolicy("c", 10, 5)])


@settings(max_examples=150, deadline=None)
@given(raw_cells, policies)
def test_after_the_audit_no_cell_of_a_breakdown_is_pinned(cells, policy) -> None:
    try:
        after, _ = audit(breakdown(cells, policy), policy)
    except AuditRefused:  # pragma: no cover - the default withholds instead
        raise
    if ("c", 0) not in after.cells:
        return  # withheld whole: nothing published to attack
    ranges, priors = attack(after, policy)
    for (low, high), (p_low, p_high) in zip(ranges, priors, strict=True):
        if p_low != p_high:
            assert narrowed(low, high) >= 1, (cells, policy, ranges)


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(st.integers(0, 9), st.tuples(st.floats(0, 20), st.floats(0, 20)), min_size=2),
    st.lists(st.lists(st.integers(0, 9), min_size=1, max_size=4, unique=True), max_size=4),
)
def test_the_closed_form_agrees_with_highs(bounds, rows) -> None:
    bounds = {k: (min(a, b), max(a, b)) for k, (a, b) in bounds.items()}
    tables = [
        AuditTable("t", row[0], [k for k in row[1:] if k in bounds])
        for row in rows
        if row[0] in bounds
    ]
    # only feasible systems: shift each total's bounds to contain a feasible point
    point = {k: low for k, (low, _) in bounds.items()}
    for table in tables:
        point[table.total] = sum(point[k] for k in table.cells)
    if any(len(set(t.cells) | {t.total}) != len(t.cells) + 1 for t in tables):
        return
    totals = [t.total for t in tables]
    if len(set(totals)) != len(totals) or set(totals) & {k for t in tables for k in t.cells}:
        return
    bounds = {k: (min(lo, point[k]), max(hi, point[k])) for k, (lo, hi) in bounds.items()}
    keys = list(bounds)
    exact = feasible_ranges(bounds, tables, keys)
    solved = feasible_ranges(bounds, tables, keys, closed_form=False)
    for key in keys:
        assert math.isclose(exact[key][0], solved[key][0], abs_tol=1e-6)
        assert math.isclose(exact[key][1], solved[key][1], abs_tol=1e-6)


def _primary(results, policy, label=lambda v: v):
    return {
        (name, b): {label(row.value) for row in rows if policy.apply(row.count) is None}
        for name, result in results.items()
        for b, rows in result.breakdowns.items()
    }


COUNTED = ("in-receipt", "telehealth", "referred", "connections")


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(extracts(max_users=30), st.data())
def test_no_published_count_leaves_a_cell_pinned(extract, data) -> None:
    period = data.draw(periods(extract))
    registry = default_registry()
    definitions = [registry.counting(name) for name in COUNTED]
    results = count_many(
        definitions, extract.dataset(), period, by=("area", "sex"), registry=registry
    )
    primary = _primary(results, DEFAULT_POLICY)
    for name, result in results.items():
        document = audited(publish_count(result, DEFAULT_POLICY))
        assert document.audit is not None
        found = count_attack(
            document.data(), DEFAULT_POLICY, {b: primary[(name, b)] for b in result.breakdowns}
        )
        for key, (low, high) in found.items():
            assert narrowed(low, high) >= 1, (name, key, low, high)


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(extracts(max_users=30, with_outcomes=True), st.data())
def test_no_published_report_leaves_a_cell_pinned(tmp_path_factory, extract, data) -> None:
    period = data.draw(periods(extract))
    registry = default_registry()
    definitions = [registry.counting(name) for name in COUNTED]
    report = build_report(
        extract.dataset(), period, registry=registry, definitions=definitions,
        by=("area", "sex"), over_time=False,
    )  # fmt: skip
    document = audited(publish_report(report, DEFAULT_POLICY))
    assert document.data["audit"]["solver"].startswith("HiGHS")
    primary = _primary(
        report.counts, DEFAULT_POLICY, lambda v: "(missing)" if v is None else str(v)
    )
    for key, (low, high) in report_attack(document.data, DEFAULT_POLICY, primary).items():
        assert narrowed(low, high) >= 1, (key, low, high)


def test_every_report_file_states_the_audit(tmp_path) -> None:
    import threeml
    from threeml.data import open_dataset

    dataset = open_dataset(str(Path(threeml.__file__).parent / "demo_data"))
    report = build_report(dataset, Period(date(2013, 1, 1), date(2013, 12, 31)), over_time=False)
    written = write_files(publish_report(report, DEFAULT_POLICY), tmp_path)
    assert set(written) == {"results.csv", "results.json", "report.html", "measurereport.json"}
    for path in written.values():
        text = path.read_text(encoding="utf-8")
        assert "passed:" in text and "linear programming" in text, path.name


def test_a_report_sized_output_is_audited_quickly() -> None:
    """25 definitions (chains of five nested ones) by 200 areas and a sex breakdown."""
    import random
    import time

    rng = random.Random(13)
    cells: list[AuditCell] = []
    tables: list[AuditTable] = []
    for d in range(25):
        scale = 0.6 ** (d % 5)
        areas = [int(rng.lognormvariate(2.5, 1.2) * scale) for _ in range(200)]
        if d % 5:  # nested in the definition before it, area by area
            areas = [min(a, c.raw) for a, c in zip(areas, cells[-202:-2], strict=True)]
        sexes = [sum(areas) // 2, sum(areas) - sum(areas) // 2]
        total = ("total", d)
        cells.append(AuditCell(total, sum(areas), sum(areas), exact=True))
        for name, raw in (("area", areas), ("sex", sexes)):
            published = DEFAULT_POLICY.apply_breakdown(raw)
            keys = [(d, name, i) for i in range(len(raw))]
            cells += [
                AuditCell(k, r, p, str(k), part=(d, name))
                for k, r, p in zip(keys, raw, published, strict=True)
            ]
            tables.append(AuditTable(f"{d} by {name}", total, keys))
        if d % 5:
            tables += [
                AuditTable(f"{d} within {d - 1}", (d, "area", i), [(d - 1, "area", i)], "ge")
                for i in range(200)
            ]
    problem = AuditProblem.build(cells, tables)
    started = time.perf_counter()
    _, outcome = audit(problem, DEFAULT_POLICY)
    elapsed = time.perf_counter() - started
    assert len(problem.tables) == 25 * 2 + 20 * 200  # every identity holds
    assert outcome.checked > 3000
    assert elapsed < 60, elapsed  # about 0.5 s on two shared cores


def test_a_part_no_suppression_can_protect_is_withheld_in_the_first_round(monkeypatch) -> None:
    """A suppressed area (3) also pinned by figures published exactly (it and an exact 10
    make an exact 13): suppressing every other area of its breakdown would not protect it.
    The audit sees that at once and withholds the breakdown, instead of suppressing one,
    two, four … of its twenty other areas round after round first."""
    import threeml.publish.lp as lp

    areas = [AuditCell(("area", i), 20, 20, f"area {i}", part="reasons") for i in range(20)]
    pinned = AuditCell("pinned", 3, None, "area 20", part="reasons")
    cells = [
        *areas,
        pinned,
        AuditCell("total", 403, 403, "total", exact=True),
        AuditCell("other", 10, 10, "other reason, area 20", exact=True),
        AuditCell("both", 13, 13, "both reasons, area 20", exact=True),
    ]
    tables = [
        AuditTable("reasons by area", "total", [*(c.key for c in areas), "pinned"]),
        AuditTable("area 20", "both", ["pinned", "other"]),
    ]
    problem = AuditProblem.build(cells, tables)
    calls = []
    real = lp.feasible_ranges

    def counted(*args, **kwargs):
        calls.append(args[2])
        return real(*args, **kwargs)

    monkeypatch.setattr(lp, "feasible_ranges", counted)
    kept, outcome = audit(problem, DEFAULT_POLICY)
    assert outcome.status == WITHHELD
    assert outcome.withheld == ("reasons by area",)
    assert outcome.added == ()
    assert set(kept.cells) == {"total", "other", "both"}
    # The first round, the check that suppressing can not help, and the round after.
    assert len(calls) <= 3, calls
    for witnesses in (True, False):
        assert audit(problem, DEFAULT_POLICY, witnesses=witnesses)[1] == outcome
    with pytest.raises(AuditRefused, match="area 20"):
        audit(problem, DEFAULT_POLICY, withhold=False)


def test_a_rounded_total_pinned_by_its_suppressed_breakdown_withholds_the_breakdown() -> None:
    """Twelve areas of one person each, all suppressed (so at least 1 each), beside a total of
    12 published as 10 (so 8-12): the total can only be 12, and every area only 1. No cell is
    left to suppress and the total belongs to no part: the breakdown goes, the total stays."""
    areas = [AuditCell(("area", i), 1, None, f"area {i}", part="areas") for i in range(12)]
    table = AuditTable("by area", "total", [cell.key for cell in areas])
    pinned = AuditProblem.build([*areas, AuditCell("total", 12, 10, "total")], [table])
    kept, outcome = audit(pinned, DEFAULT_POLICY)
    assert outcome.status == WITHHELD
    assert outcome.withheld == ("by area",)
    assert set(kept.cells) == {"total"}
    with pytest.raises(AuditRefused):
        audit(pinned, DEFAULT_POLICY, withhold=False)
    # One area fewer leaves the total 11 or 12 (and each area 1 or 2): nothing is withheld.
    fewer = AuditProblem.build(
        [*areas[:11], AuditCell("total", 11, 10, "total")],
        [AuditTable("by area", "total", [cell.key for cell in areas[:11]])],
    )
    assert audit(fewer, DEFAULT_POLICY)[1].withheld == ()


def test_a_terminal_sums_up_many_added_cells_per_table_and_says_where_all_are() -> None:
    added = tuple(f"count by area: A{i:03d}" for i in range(20)) + tuple(
        f"2013-Q1: count by area: A{i:03d}" for i in range(12)
    )
    outcome = AuditOutcome(SUPPRESSED_MORE, "highs", added, cells=900, checked=800)
    full = outcome.describe()
    assert all(label in full for label in added)  # files name every cell
    assert outcome.describe(listed=40) == full
    short = outcome.describe(listed=10, where="results.json")
    assert "32 more cell(s) suppressed" in short
    assert "by table: count by area: 20, 2013-Q1: count by area: 12" in short
    assert "count by area: A000; count by area: A001; count by area: A002" in short
    assert "A019" not in short and "every one is named in results.json" in short
    assert AuditOutcome.from_dict(outcome.to_dict()) == outcome


def _quarters(rows: list[list[int]]) -> AuditProblem:
    """Areas by quarter and by year, each breakdown beside its exact total, and each area's
    quarters adding up to its year (as a report's counts over time and for the period)."""
    cells, tables = [], []
    quarters = len(rows[0])
    for j in range(quarters):
        column = [row[j] for row in rows]
        shown = DEFAULT_POLICY.apply_breakdown(column)
        cells += [
            AuditCell(("q", j, i), raw, shown[i], f"Q{j}: by area: A{i}", part=("q", j))
            for i, raw in enumerate(column)
        ]
        cells.append(AuditCell(("total", j), sum(column), sum(column), f"Q{j}", exact=True))
        keys = [("q", j, i) for i in range(len(rows))]
        tables.append(AuditTable(f"Q{j}: by area", ("total", j), keys))
    years = [sum(row) for row in rows]
    shown = DEFAULT_POLICY.apply_breakdown(years)
    cells += [
        AuditCell(("y", i), raw, shown[i], f"by area: A{i}", part="y")
        for i, raw in enumerate(years)
    ]
    cells.append(AuditCell("year", sum(years), sum(years), "year", exact=True))
    tables.insert(0, AuditTable("by area", "year", [("y", i) for i in range(len(rows))]))
    tables += [
        AuditTable(f"A{i} over quarters", ("y", i), [("q", j, i) for j in range(quarters)])
        for i in range(len(rows))
    ]
    return AuditProblem.build(cells, tables)


def test_a_cell_is_protected_through_its_smallest_table_first() -> None:
    """An area's quarters add up to its year: a narrowed quarter is protected by suppressing
    another quarter of the same area (one cell), not the smallest areas of its breakdown
    (which took four cells here, and on a 50,000-person report 635 where one did)."""
    rows = [[1, 8, 9, 0], [12, 3, 0, 2], [0, 8, 8, 1], [0, 30, 9, 12], [30, 2, 1, 2]]
    rows += [[3, 5, 5, 5], [3, 20, 1, 0]]
    problem = _quarters(rows)
    after, outcome = audit(problem, DEFAULT_POLICY)
    assert outcome.status == SUPPRESSED_MORE
    assert outcome.added == ("Q1: by area: A2",)
    assert outcome == audit(problem, DEFAULT_POLICY, witnesses=False)[1]
    # Every suppressed or rounded cell keeps a range at least 1 wide, given everything.
    checked = [key for key, cell in after.cells.items() if not cell.exact]
    bounds = {key: cell_range(DEFAULT_POLICY, cell) for key, cell in after.cells.items()}
    ranges = feasible_ranges(bounds, after.tables, checked)
    for key in checked:
        low, high = ranges[key]
        if bounds[key][0] != bounds[key][1]:
            assert math.floor(high + 1e-6) - math.ceil(low - 1e-6) >= 1, key
