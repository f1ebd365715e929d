"""Issue 13's routes to undo disclosure control, one worked example each (routes 1, 2, 4, 6).

Each test publishes two extracts whose counts the policy cannot tell apart (11 and 12
people both publish as 10) or a small group, and checks that nothing published tells
them apart or gives the small group away.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from threeml.data import Dataset
from threeml.engine.breakdowns import MAX_DISTINCT, BreakdownError
from threeml.engine.evaluate import count
from threeml.plugins.registry import default_registry
from threeml.publish.counts import publish_count
from threeml.publish.disclosure import DEFAULT_POLICY, NO_DISCLOSURE_CONTROL
from threeml.publish.metrics import publish_metric
from threeml.records.rows import Enrolment, Service, User

pytest.importorskip(
    "threeml_integrated_care", reason="the threeml-integrated-care plugin is not installed"
)
from threeml_integrated_care.examples import extract

from threeml.metrics.measures import MetricResult, evaluate_metric


def run(name: str, dataset: Dataset, period: str, **kwargs) -> MetricResult:
    registry = default_registry()
    return evaluate_metric(registry.metric(name), dataset, period, registry, **kwargs)


def published(result: MetricResult) -> dict:
    data = publish_metric(result, DEFAULT_POLICY).data()
    data.pop("extract_date", None)
    return data


def new_telehealth_users(n: int, area: str = "A") -> list[tuple]:
    return [(f"e{area}{i}", f"u{area}{i}", "th", None, "2013-03-01") for i in range(n)]


def cohort(n: int, others: int = 40) -> Dataset:
    """``n`` new telehealth users in area A and ``others`` in area B, all in 2013."""
    return extract(
        users=[(f"uA{i}", "A") for i in range(n)] + [(f"uB{i}", "B") for i in range(others)],
        enrolments=new_telehealth_users(n) + new_telehealth_users(others, "B"),
        extract_date="2014-12-31",
    )


# Route 1: person-time undoes rounding.


def test_route_1_before_person_years_do_not_tell_11_people_from_12() -> None:
    eleven = run("emergency-admissions-before-after", cohort(11), "2013", by=["area"])
    twelve = run("emergency-admissions-before-after", cohort(12), "2013", by=["area"])
    a11 = published(eleven)["breakdown"]["area"][0]
    a12 = published(twelve)["breakdown"]["area"][0]
    assert a11["denominator"] == a12["denominator"] == 10
    assert a11["before"]["person_years"] == a12["before"]["person_years"]
    assert a11 == a12
    # The raw figure is still there for the secure environment.
    assert eleven.breakdowns["area"][0].details["before"]["person_years"] == pytest.approx(
        11 * 365 / 365.25
    )


# Route 2: days of care undo rounding.


def test_route_2_user_years_days_over_one_day_do_not_tell_11_people_from_12() -> None:
    eleven = run("user-years", cohort(11), "2013-06-01:2013-06-01", by=["area"])
    twelve = run("user-years", cohort(12), "2013-06-01:2013-06-01", by=["area"])
    a11 = published(eleven)["breakdown"]["area"][0]
    a12 = published(twelve)["breakdown"]["area"][0]
    assert a11["days"] == a12["days"] == 10
    assert a11 == a12


# Route 4: a metric's suppressed denominator, and totals beside suppressed cells.


def test_route_4_a_suppressed_denominator_withholds_its_numerator() -> None:
    result = run("emergency-admissions-before-after", cohort(3), "2013", by=["area"])
    row = published(result)["breakdown"]["area"][0]
    assert row["denominator"] is None
    assert row["numerator"] is None
    assert row["before"]["events"] is None
    assert row["after"]["events"] is None


def test_route_4_a_lone_suppressed_group_never_equals_the_published_total() -> None:
    result = run("emergency-admissions-before-after", cohort(0, 4), "2013", by=["area"])
    data = published(result)
    assert [row["denominator"] for row in data["breakdown"]["area"]] == [None]
    assert data["denominator"] is None  # the total of 4 is suppressed with its only group


def test_route_4_count_total_beside_a_lone_group_is_put_through_the_policy() -> None:
    users = [User(f"u{i}", "A", sex="F") for i in range(4)] + [
        User(f"m{i}", "A", sex="M") for i in range(20)
    ]
    dataset = Dataset.from_records(
        users=users,
        services=[Service("th", "telehealth", "health", "A")],
        enrolments=[Enrolment(f"e{i}", f"u{i}", "th", installed_on="2013-01-01") for i in range(4)],
    )
    registry = default_registry()
    result = count(registry.counting("in-receipt"), dataset, "2013", by=["sex"])
    data = publish_count(result, DEFAULT_POLICY).data()
    cells = {cell["group"]: cell["count"] for cell in data["breakdown"]["sex"]}
    assert cells == {"F": None}  # groups with no one are left out ...
    assert data["count"] is None  # ... so the total beside it is suppressed with it
    assert all(step["remaining"] in (None, 0) or step["remaining"] % 5 == 0
               for step in data["attrition"])  # fmt: skip


# Route 6: quantiles and identifying labels.


def test_route_6_quartiles_are_withheld_below_the_minimum_group_size() -> None:
    dataset = extract(
        users=[("u1", "A"), ("u2", "A"), ("u3", "B")],
        enrolments=[
            ("e1", "u1", "tc", "2013-01-01", "2013-01-01"),
            ("e2", "u1", "th", "2013-01-01", "2013-01-11"),
            ("e3", "u2", "tc", "2013-02-01", "2013-03-01"),
            ("e4", "u2", "th", "2013-02-01", "2013-03-02"),
            ("e5", "u3", "tc", "2013-01-01", "2013-03-02"),
        ],
        extract_date="2013-12-31",
    )
    result = run("referral-to-installation", dataset, "2013", by=["area"])
    data = published(result)
    assert DEFAULT_POLICY.quantile_minimum == 50
    assert data["value"] is None and data["q1_days"] is None and data["q3_days"] is None
    for row in data["breakdown"]["area"]:
        assert row["median_days"] is None and row["iqr_days"] is None
    assert result.value == 28  # raw


def banded_users() -> Dataset:
    users = [
        User("u1", "A", birth_year=1930, risk_score=0.95),  # 83 at the end of 2013
        User("u2", "A", birth_year=1920, risk_score=0.1),  # 93
        User("u3", "A", birth_year=1950, risk_score=0.2),  # 63
        User("u4", "A", risk_score=None),
    ]
    return Dataset.from_records(
        users=users,
        services=[Service("th", "telehealth", "health", "A")],
        enrolments=[
            Enrolment(f"e{i}", f"u{i}", "th", installed_on="2013-01-01") for i in range(1, 5)
        ],
    )


def test_route_6_birth_year_breaks_down_into_age_bands_at_the_period_end() -> None:
    registry = default_registry()
    result = count(registry.counting("in-receipt"), banded_users(), "2013", by=["birth_year"])
    groups = {row.value: row.count for row in result.breakdowns["birth_year"]}
    assert groups == {"80-84": 1, "90+": 1, "60-64": 1, "unknown": 1}


def test_route_6_risk_score_breaks_down_into_fifths() -> None:
    registry = default_registry()
    result = count(registry.counting("in-receipt"), banded_users(), "2013", by=["risk_score"])
    groups = {row.value: row.count for row in result.breakdowns["risk_score"]}
    assert groups == {"0.8-1": 1, "0-0.2": 1, "0.2-0.4": 1, "unknown": 1}


def test_route_6_metrics_break_down_by_bands_too() -> None:
    dataset = extract(
        users=[("u1", "A"), ("u2", "A")],
        enrolments=[("e1", "u1", "th", None, "2013-01-01"), ("e2", "u2", "th", None, "2013-01-01")],
    )
    result = run("user-years", dataset, "2013", by=["birth_year"])
    assert [row.group for row in result.breakdowns["birth_year"]] == ["unknown"]


def test_route_6_a_column_with_too_many_values_is_refused() -> None:
    users = [User(f"u{i}", "A", sex=f"s{i}") for i in range(MAX_DISTINCT + 1)]
    dataset = Dataset.from_records(
        users=users, services=[Service("th", "telehealth", "health", "A")]
    )
    registry = default_registry()
    with pytest.raises(BreakdownError, match=r"'sex'.*51 distinct values.*at most 50"):
        count(registry.counting("in-receipt"), dataset, "2013", by=["sex"])


# Properties.


@given(
    st.integers(min_value=0, max_value=5000),
    st.integers(min_value=0, max_value=5000),
    st.floats(min_value=0.001, max_value=1000, allow_nan=False),
)
def test_an_amount_everyone_shares_says_no_more_than_the_count(n: int, m: int, each: float) -> None:
    """When every unit contributes the same amount, two counts that publish alike publish
    the same amount: the amount cannot tell them apart."""
    cells = {n: DEFAULT_POLICY.apply(n), m: DEFAULT_POLICY.apply(m)}
    if cells[n] != cells[m]:
        return
    amount_n = DEFAULT_POLICY.apply_amount(n * each, n, cells[n])
    amount_m = DEFAULT_POLICY.apply_amount(m * each, m, cells[m])
    assert amount_n == pytest.approx(amount_m)
    assert (amount_n is None) == (cells[n] is None)


@given(st.integers(min_value=0, max_value=200), st.floats(min_value=0, max_value=400))
def test_quantiles_are_published_only_for_groups_of_at_least_the_minimum(
    n: int, value: float
) -> None:
    published = DEFAULT_POLICY.apply_statistic(value, n)
    assert (published is None) == (n < DEFAULT_POLICY.quantile_minimum)
    assert NO_DISCLOSURE_CONTROL.apply_statistic(value, n) == value


def test_route_4_an_arm_without_its_people_publishes_no_outcomes() -> None:
    """Area A's 3 intervention people are suppressed: none of their outcomes is published."""
    people = [(f"i{k}", "intervention") for k in range(3)]
    people += [(f"c{k}", "control") for k in range(40)]
    others = [(f"j{k}", "intervention") for k in range(40)]
    others += [(f"d{k}", "control") for k in range(3)]
    dataset = extract(
        users=[(u, "A") for u, _ in people] + [(u, "B") for u, _ in others],
        allocations=[(u, "t1", arm, "2013-01-01") for u, arm in people + others],
        extract_date="2014-12-31",
    )
    result = run("arm-comparison", dataset, "2013", by=["area"])
    hidden = 0
    for row in publish_metric(result, DEFAULT_POLICY).breakdowns["area"]:
        cells = row.cells
        for arm in ("intervention", "control"):
            if cells[f"n_{arm}"] is None:
                hidden += 1
                assert cells[f"a_{arm}"] is None and cells[f"e_{arm}"] is None
    assert hidden >= 2


def test_a_report_with_suppressed_totals_writes_every_format() -> None:
    """Totals suppressed beside a lone suppressed group reach every writer as suppressed."""
    import io

    from rich.console import Console

    from threeml.report import build_report, publish, to_csv, to_html, to_json
    from threeml.report.fhir import measure_report
    from threeml.report.summary import print_summary

    registry = default_registry()
    report = build_report(
        cohort(0, 4),
        "2013",
        registry=registry,
        definitions=[registry.counting("in-receipt")],
        metrics=[registry.metric("user-years")],
        over_time=True,
    )
    data = publish(report, DEFAULT_POLICY)
    (definition,) = data["definitions"]
    assert definition["count"] is None and definition["users"] is None
    assert set(data["over_time"]["counts"]["in-receipt"]) == {None}  # 4 a quarter: suppressed
    assert "suppressed" in to_csv(data)
    assert "suppressed" in to_html(data)
    (group,) = measure_report(data)["group"]
    assert "measureScore" not in group
    assert '"count": null' in to_json(data)
    console = Console(file=io.StringIO(), width=120)
    print_summary(data, console)
    assert "in-receipt" in console.file.getvalue()


@given(st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=6))
def test_no_suppressed_group_is_pinned_by_the_total_beside_it(groups: list[int]) -> None:
    """An attacker who reads a published breakdown and its total cannot narrow a suppressed
    group to one value (each published cell is within 2 of the truth, a suppressed one is
    0 or more, a rounded total within 2, a suppressed total 1 to 7)."""
    from threeml.engine.results import BreakdownRow, CountResult
    from threeml.records.periods import Period

    rows = tuple(BreakdownRow(f"g{i}", n) for i, n in enumerate(groups) if n)
    if not rows:
        return
    total = sum(row.count for row in rows)
    result = CountResult(
        definition=default_registry().counting("in-receipt"),
        period=Period.parse("2013"),
        count=total,
        users=total,
        records=total,
        considered=1000,
        attrition=(),
        breakdowns={"area": rows},
    )
    data = publish_count(result, DEFAULT_POLICY).data()
    cells = [cell["count"] for cell in data["breakdown"]["area"]]
    # Beside a breakdown the total goes through the policy, suppressed cells or not (route 5).
    assert data["count"] == DEFAULT_POLICY.apply(total)
    if all(cell is not None for cell in cells):
        return
    bounds = [(0, 10**6) if c is None else (c, c) if c == 0 else (c - 2, c + 2) for c in cells]
    published_total = data["count"]
    if published_total is None:
        low, high = 1, 7
    elif published_total % 5:  # not a multiple of the base: read it as exact
        low = high = published_total
    else:
        low, high = published_total - 2, published_total + 2
    for i, cell in enumerate(cells):
        if cell is not None:
            continue
        others_low = sum(b[0] for j, b in enumerate(bounds) if j != i)
        others_high = sum(b[1] for j, b in enumerate(bounds) if j != i)
        least, most = max(0, low - others_high), high - others_low
        assert most > least, (groups, cells, published_total)
