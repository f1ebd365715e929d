"""What the disclosure audit covers beyond one breakdown (issue 13, item 3).

One case each, every one shown to matter by switching its protection off:

1. amounts and statistics published beside counts are proven derived from published cells
   (:func:`~threeml.publish.metric_audit.check_derived`): a raw amount is refused;
2. a metric's numerator lies within its denominator, per area and in total, in the LP;
3. ``compare --diff`` goes through the policy and is audited;
4. a whole output is one LP: two definitions of one report, where neither alone pins a
   cell but together they do.

The attacker (:mod:`attacker`) is written apart from the audit and solves afresh.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from attacker import lp_solve, narrowed
from test_differencing import SECOND, _folder, _route_5_people

from threeml.cli import main
from threeml.data import Dataset
from threeml.definitions.policies import DEFAULT_POLICY, DisclosurePolicy, custom_policy
from threeml.engine.compare import compare, diff
from threeml.engine.evaluate import count
from threeml.metrics.cells import COUNT, MetricRow
from threeml.metrics.contract import MetricResult
from threeml.metrics.proportion import proportion_row
from threeml.plugins.registry import default_registry
from threeml.publish import metric_audit
from threeml.publish.audit import PASSED
from threeml.publish.audited import audited
from threeml.publish.compare import PublishedDiff
from threeml.publish.counts import publish_count
from threeml.publish.metric_audit import UnderivedFigure, check_derived
from threeml.publish.metrics import publish_metric
from threeml.report import build_report, publish_report

#: Suppression without rounding: published cells are exact, so links between them bite.
THRESHOLD_ONLY = custom_policy("custom:7:1")


@pytest.fixture
def route_5(tmp_path: Path) -> Dataset:
    return _folder(tmp_path / "route5", _route_5_people())


# 1. Amounts: derived from published cells, or refused.


def test_amounts_beside_counts_are_proven_derived(route_5: Dataset, monkeypatch) -> None:
    pytest.importorskip("threeml_integrated_care")
    from threeml.metrics.measures import evaluate_metric

    registry = default_registry()
    result = evaluate_metric(registry.metric("user-years"), route_5, "2013", registry, by=("area",))
    document = audited(publish_metric(result, DEFAULT_POLICY))
    checked = check_derived(
        result, DEFAULT_POLICY, document.breakdowns, document.total, total_exact=False
    )
    assert checked >= 3  # days (an amount) in each published area and in the total
    # Switch the protection off: amounts published as they are.
    monkeypatch.setattr(
        DisclosurePolicy, "apply_amount", lambda self, amount, raw, published: amount
    )
    with pytest.raises(UnderivedFigure, match=r"user-years, (total|area: \w+): the amount"):
        audited(publish_metric(result, DEFAULT_POLICY))


# 2. A numerator within its denominator.


def _proportion(areas: dict[str, tuple[int, int]]) -> MetricResult:
    """A proportion by area from (members, people) per area."""

    def derive(cells):
        return proportion_row(cells["members"], cells["people"])

    rows = tuple(
        MetricRow(group=a, cells={"people": p, "members": m}) for a, (m, p) in areas.items()
    )
    members = sum(m for m, _ in areas.values())
    people = sum(p for _, p in areas.values())
    return MetricResult(
        metric=default_registry().metric("multi-sector-share"),
        period=SECOND,
        population="in-receipt",
        numerator=members,
        denominator=people,
        value=members / people,
        breakdowns={"area": rows},
        cells={"people": people, "members": members},
        cell_kinds={"people": COUNT, "members": COUNT},
        gate="people",
        derive=derive,
        cell_parents={"members": "people"},
    )


def _attack_members(document, primary: set[str]) -> dict:
    """The attacker on a published proportion: members add up over the areas to the total,
    and each area's members are no more than its people. ``primary``: the areas whose
    members the threshold suppressed (1 to 7)."""
    rows = {row.group: row.cells for row in document.breakdowns["area"]}
    bounds, constraints = {}, []
    for area, cells in rows.items():
        for cell in ("members", "people"):
            shown = cells.get(cell)
            bounds[(area, cell)] = (0.0, 1e9) if shown is None else (shown, shown)
        if area in primary:
            bounds[(area, "members")] = (1.0, 7.0)
        constraints.append(({(area, "people"): 1.0, (area, "members"): -1.0}, 0.0, float("inf")))
    total = document.total.cells["members"]
    constraints.append(({(area, "members"): 1.0 for area in rows}, total, total))
    targets = [(a, "members") for a, cells in rows.items() if cells.get("members") is None]
    return lp_solve(bounds, constraints, targets)


def test_a_numerator_within_its_denominator_is_in_the_lp(monkeypatch) -> None:
    # A: 7 of 8 people; B: 20 of 20. A's members are suppressed, B's with them (secondary);
    # the total of 27 is exact under suppression without rounding. B's members can be no
    # more than B's 20 people, so A's are at least 7: pinned, unless the audit protects them.
    result = _proportion({"A": (7, 8), "B": (20, 20), "C": (0, 40)})
    monkeypatch.setattr(metric_audit, "_row_links", lambda *args: [])
    unprotected = audited(publish_metric(result, THRESHOLD_ONLY))
    assert unprotected.audit.status == PASSED
    found = _attack_members(unprotected, {"A"})
    assert narrowed(*found[("A", "members")]) == 0
    monkeypatch.undo()
    protected = audited(publish_metric(result, THRESHOLD_ONLY))
    assert protected.audit.status != PASSED
    for low, high in _attack_members(protected, {"A"}).values():
        assert narrowed(low, high) >= 1


# 3. compare --diff.


def test_compare_diff_goes_through_the_policy_and_the_audit(route_5: Dataset) -> None:
    registry = default_registry()
    wide, narrow = registry.counting("in-receipt"), registry.counting("high-risk")
    comparison = compare([wide, narrow], route_5, SECOND, registry=registry)
    found = diff(comparison.results["in-receipt"], comparison.results["high-risk"])
    assert (found.only_first, found.both) == (1, 58)
    document = audited(PublishedDiff(found, DEFAULT_POLICY))
    data = document.data()
    assert data["only_first"] is None and data["both"] == 60  # 1 suppressed, 58 rounded
    assert data["audit"]["status"] in ("passed", "cells added", "breakdowns withheld")
    assert [row["users"] for row in data["only_first_failed"]] in ([None], [])


def test_compare_diff_secondary_suppression_comes_from_the_audit(route_5: Dataset) -> None:
    """Without secondary suppression, one reason suppressed beside an exact side total is the
    total less the others: the audit suppresses more."""
    policy = DisclosurePolicy("no-secondary", threshold=7, rounding=1, secondary=False)
    registry = default_registry()
    wide, narrow = registry.counting("in-receipt"), registry.counting("high-risk")
    result = count(wide, route_5, SECOND, registry=registry)
    made = diff(result, count(narrow, route_5, SECOND, registry=registry))
    reasons = ((1, "criterion one", 20), (2, "criterion two", 5))
    forged = type(made)(made.first, made.second, 25, 0, 30, reasons, ())
    plain = PublishedDiff(forged, policy).data()
    assert [r["users"] for r in plain["only_first_failed"]] == [20, None]  # 5 = 25 - 20
    data = audited(PublishedDiff(forged, policy)).data()
    assert data["audit"]["status"] != PASSED
    assert all(r["users"] is None for r in data["only_first_failed"])


def test_every_format_of_compare_diff_states_policy_audit_and_provenance(capsys) -> None:
    import threeml

    folder = str(Path(threeml.__file__).parent / "demo_data")
    for fmt in ("table", "json", "csv"):
        code = main(
            ["compare", "in-receipt", "ltc-telehealth", "--diff", "--data", folder,
             "--period", "2013", "--format", fmt]
        )  # fmt: skip
        assert code == 0
        out = capsys.readouterr().out
        assert "counts 1-7 suppressed" in out, fmt
        assert "linear programming" in out, fmt
        assert "sha256" in out, fmt
        if fmt == "json":
            assert json.loads(out)["audit"]["solver"].startswith("HiGHS")


# 4. One LP for the whole output.


def test_a_report_is_audited_as_one_linear_programme(route_5: Dataset, monkeypatch) -> None:
    """high-risk by area is A 7, B 20, C 31 (A suppressed, B with it); in-receipt is A 8,
    B 20, C 31. Under suppression without rounding each table alone is safe, but high-risk
    in B is at most in-receipt in B (20), so A is at least 58 - 31 - 20 = 7: pinned."""
    registry = default_registry()
    definitions = [registry.counting("in-receipt"), registry.counting("high-risk")]
    report = build_report(
        route_5, SECOND, registry=registry, definitions=definitions, metrics=[], over_time=False
    )
    # Each table audited on its own passes ...
    for result in report.counts.values():
        assert audited(publish_count(result, THRESHOLD_ONLY)).audit.status == PASSED
    alone = {
        name: audited(publish_count(result, THRESHOLD_ONLY)).data()
        for name, result in report.counts.items()
    }
    # ... and the attacker, reading both, pins high-risk in A.
    bounds = {}
    for name, data in alone.items():
        for cell in data["breakdown"]["area"]:
            shown = cell["count"]
            bounds[(name, cell["group"])] = (0.0, 1e9) if shown is None else (shown, shown)
    bounds[("high-risk", "A")] = (1.0, 7.0)
    rows = [
        (
            {("high-risk", a): 1.0 for a in "ABC"},
            alone["high-risk"]["count"],
            alone["high-risk"]["count"],
        ),
        ({("in-receipt", "B"): 1.0, ("high-risk", "B"): -1.0}, 0.0, float("inf")),
    ]
    assert narrowed(*lp_solve(bounds, rows, [("high-risk", "A")])[("high-risk", "A")]) == 0
    # The report, audited as one, protects it.
    document = audited(publish_report(report, THRESHOLD_ONLY))
    assert document.data["audit"]["status"] != PASSED
    (high_risk,) = [d for d in document.data["definitions"] if d["name"] == "high-risk"]
    (in_receipt,) = [d for d in document.data["definitions"] if d["name"] == "in-receipt"]
    shown = {c["group"]: c["count"] for c in in_receipt["breakdowns"]["area"]}
    hidden = {c["group"]: c["count"] for c in high_risk["breakdowns"]["area"]}
    assert hidden.get("A") is None
    # what is left published no longer pins A: B of in-receipt or C of high-risk went too
    assert shown.get("B") is None or hidden.get("C") is None or not hidden


def test_a_report_counts_metric_totals_as_published() -> None:
    """Metric totals published beside breakdowns are rounded cells of the LP, not exact."""
    import threeml
    from threeml.data import open_dataset
    from threeml.report.audit import audit_problem

    dataset = open_dataset(str(Path(threeml.__file__).parent / "demo_data"))
    registry = default_registry()
    report = build_report(
        dataset,
        "2013",
        registry=registry,
        definitions=[registry.counting("in-receipt"), registry.counting("multi-sector")],
        metrics=[registry.metric("multi-sector-share")],
        over_time=False,
    )
    problem = audit_problem(publish_report(report, DEFAULT_POLICY))
    totals = [cell for key, cell in problem.cells.items() if len(key) in (2, 3)]
    assert totals and not any(cell.exact for cell in totals)
    names = {table.name for table in problem.tables}
    assert any("is in-receipt" in name for name in names)  # metric people = the count
    assert any("members within people" in name for name in names)
    assert date(2013, 1, 1) == report.period.start
