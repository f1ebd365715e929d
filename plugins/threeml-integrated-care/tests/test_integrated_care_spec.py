"""Every integrated-care metric on small hand-made tables, against figures worked out by hand.

Dates are chosen so that each edge (the first and last day of a window, the day
of death, the extract date) is exercised; the expected figures are written out
in the test, not computed by the code under test.
"""

from __future__ import annotations

import math

import attrs
import pytest
from threeml_integrated_care import COUNTING, METRICS
from threeml_integrated_care.examples import extract
from threeml_integrated_care.kinds import KINDS
from threeml_integrated_care.queries import AllocatedInPeriod

from threeml.data import Dataset
from threeml.metrics.measures import MetricError, MetricResult, evaluate_metric
from threeml.plugins.registry import default_registry
from threeml.publish.disclosure import DEFAULT_POLICY, NO_DISCLOSURE_CONTROL

Z = 1.959963984540054
YEAR = 365.25


def run(name: str, dataset: Dataset, period: str, **kwargs) -> MetricResult:
    registry = default_registry()
    return evaluate_metric(registry.metric(name), dataset, period, registry, **kwargs)


def groups(result: MetricResult, by: str = "area") -> dict:
    return {row.group: row for row in result.breakdowns[by]}


# Registration.


def test_every_metric_and_kind_is_registered_from_the_installed_plugin() -> None:
    registry = default_registry()
    for metric in METRICS:
        registered = registry.metric(metric.name)
        assert registered == metric
        assert registered.source.distribution == "threeml-integrated-care"
        assert registry.counting(metric.population)
        assert metric.higher_is_better is not None
        assert "Numerator" in metric.description and "=" in metric.description
    for definition in COUNTING:
        assert registry.counting(definition.name) == definition
    for kind in KINDS:
        assert registry.measure_kind(kind.kind) is kind
        assert registry.measure_kind_sources(kind.kind)[0].plugin == "integrated-care"


def test_the_issue_list_of_metrics_is_complete() -> None:
    names = {m.name for m in METRICS}
    assert {
        "user-years",
        "emergency-admissions-before-after",
        "arm-comparison",
        "multi-sector-share",
        "emergency-admission-12m",
        "mortality-12m",
        "bed-days-per-head",
        "ae-attendances-rate",
        "retention-91d",
        "referral-to-installation",
        "cost-per-user-year",
        "progress-to-target",
    } <= names


# Person-time.

PERSON_TIME = dict(
    users=[("u1", "A"), ("u2", "A"), ("u3", "B"), ("u4", "B")],
    enrolments=[
        # u1: two overlapping services; their union covers the whole year once.
        ("e1", "u1", "th", None, "2013-01-01", "2013-06-30"),
        ("e2", "u1", "tc", None, "2013-04-01", None),
        # u2: open-ended since 2012, dies on 31 March 2013.
        ("e3", "u2", "tc", None, "2012-06-01", None),
        # u3: in receipt (open enrolment) but died before the period: no follow-up.
        ("e4", "u3", "tc", None, "2012-01-01", None),
        # u4: two windows with a gap from 1 April to 31 May.
        ("e5", "u4", "th", None, "2013-01-01", "2013-03-31"),
        ("e6", "u4", "th", None, "2013-06-01", None),
    ],
    outcomes=[
        ("u2", "2013-03-31", "death"),
        ("u3", "2012-12-15", "death"),
        ("u4", "2013-05-01", "ae_attendance"),  # in the gap: no person-time, does not count
        ("u4", "2013-07-01", "ae_attendance"),
        ("u1", "2013-12-31", "ae_attendance"),  # last day
        ("u2", "2013-03-31", "ae_attendance"),  # the day of death is still follow-up
    ],
)

# Days in 2013: u1 365 (union, not 181 + 275), u2 90 (1 Jan - 31 Mar), u3 0, u4 90 + 214.
DAYS = {"u1": 365, "u2": 90, "u3": 0, "u4": 304}


def test_user_years_count_overlaps_once_and_stop_at_death() -> None:
    result = run(
        "user-years", extract(**PERSON_TIME, extract_date="2013-12-31"), "2013", by=["area"]
    )
    total = sum(DAYS.values())
    assert result.denominator == 4
    assert result.numerator == pytest.approx(total / YEAR)
    assert result.value == pytest.approx(total / YEAR)
    assert result.details["days"] == total
    assert result.details["people_without_follow_up"] == 1  # u3
    area = groups(result)
    assert area["A"].numerator == pytest.approx((365 + 90) / YEAR)
    assert area["B"].numerator == pytest.approx(304 / YEAR)
    assert (area["A"].denominator, area["B"].denominator) == (2, 2)


def test_user_years_stop_at_the_extract_date() -> None:
    result = run("user-years", extract(**PERSON_TIME, extract_date="2013-09-30"), "2013")
    # u1 1 Jan - 30 Sep = 273; u2 90; u4 90 + (1 Jun - 30 Sep = 122).
    assert result.details["days"] == 273 + 90 + 0 + 212


def test_ae_attendance_rate_counts_only_events_on_days_of_person_time() -> None:
    result = run("ae-attendances-rate", extract(**PERSON_TIME, extract_date="2013-12-31"), "2013")
    years = sum(DAYS.values()) / YEAR
    assert result.numerator == 3  # not the one in u4's gap
    assert result.denominator == pytest.approx(years)
    assert result.value == pytest.approx(3 / years * 1000)
    # Byar's interval, worked by hand.
    low = 3 * (1 - 1 / 27 - Z / (3 * math.sqrt(3))) ** 3
    high = 4 * (1 - 1 / 36 + Z / (3 * math.sqrt(4))) ** 3
    assert result.ci_low == pytest.approx(low / years * 1000)
    assert result.ci_high == pytest.approx(high / years * 1000)


def test_a_rate_with_no_person_time_has_no_value_and_says_why() -> None:
    dataset = extract(
        users=[("u1", "A")],
        enrolments=[("e1", "u1", "tc", None, "2012-01-01", None)],
        outcomes=[("u1", "2012-06-01", "death")],
        extract_date="2013-12-31",
    )
    result = run("ae-attendances-rate", dataset, "2013")
    assert result.denominator == 0
    assert result.value is None
    assert result.reason == "there is no person-time"


def test_cost_per_user_year_costs_each_service_and_counts_days_once() -> None:
    dataset = extract(
        users=[("u1", "A"), ("u2", "A")],
        enrolments=[
            ("e1", "u1", "th", None, "2013-01-01", None),
            ("e2", "u1", "tc", None, "2013-07-01", None),
            ("e3", "u2", "tch", None, "2013-01-01", "2013-01-31"),  # no annual cost
        ],
        extract_date="2013-12-31",
    )
    result = run("cost-per-user-year", dataset, "2013")
    cost = 365 * 900 / YEAR + 184 * 120 / YEAR
    years = (365 + 31) / YEAR
    assert result.numerator == pytest.approx(cost)
    assert result.denominator == pytest.approx(years)
    assert result.value == pytest.approx(cost / years)
    assert result.details["uncosted_enrolment_years"] == pytest.approx(31 / YEAR)
    assert "understates" in result.details["note"]


# Before and after the index.

BEFORE_AFTER = dict(
    users=[("u1", "A"), ("u2", "A"), ("u3", "B"), ("u4", "B")],
    enrolments=[
        ("e0", "u1", "tc", None, "2011-01-01", None),  # telecare first: not the index
        ("e1", "u1", "th", None, "2013-03-01", None),
        ("e2", "u2", "th", None, "2013-05-01", None),
        ("e3", "u3", "th", None, "2013-06-01", None),
        ("e4", "u4", "th", None, "2012-05-01", None),  # first telehealth before the period
    ],
    outcomes=[
        ("u1", "2012-02-29", "emergency_admission"),  # index-366: outside
        ("u1", "2012-03-01", "emergency_admission"),  # index-365: first day before
        ("u1", "2013-02-28", "emergency_admission"),  # index-1: last day before
        ("u1", "2013-03-01", "emergency_admission"),  # the index: first day after
        ("u1", "2014-02-28", "emergency_admission"),  # index+364: last day after
        ("u1", "2014-03-01", "emergency_admission"),  # index+365: outside
        ("u2", "2013-07-01", "emergency_admission"),
        ("u2", "2013-07-31", "death"),
        ("u4", "2013-01-01", "emergency_admission"),
    ],
    extract_date="2014-06-30",
)


def test_before_after_windows_and_follow_up_stopping_at_death() -> None:
    result = run("emergency-admissions-before-after", extract(**BEFORE_AFTER), "2013", by=["area"])
    # Cohort u1, u2, u3 (u4's first telehealth was in 2012, so not a new telehealth user).
    before_days = 3 * 365
    after_days = 365 + 92 + 365  # u2: 1 May - 31 Jul, the day of death included
    assert result.denominator == 3
    assert result.numerator == 5
    before, after = result.details["before"], result.details["after"]
    assert (before["events"], after["events"]) == (2, 3)
    assert before["person_years"] == pytest.approx(before_days / YEAR)
    assert after["person_years"] == pytest.approx(after_days / YEAR)
    assert before["rate"] == pytest.approx(2 / (before_days / YEAR) * 1000)
    assert after["rate"] == pytest.approx(3 / (after_days / YEAR) * 1000)
    ratio = (3 / after_days) / (2 / before_days)
    assert result.value == pytest.approx(ratio)
    spread = Z * math.sqrt(1 / 3 + 1 / 2)
    assert result.ci_low == pytest.approx(ratio * math.exp(-spread))
    assert result.ci_high == pytest.approx(ratio * math.exp(spread))
    area = groups(result)
    assert area["A"].numerator + area["B"].numerator == 5
    assert area["B"].details["before"]["events"] == 0  # u3, a person with no events


def test_before_after_over_another_population_tables_who_is_left_out() -> None:
    result = run(
        "emergency-admissions-before-after",
        extract(**BEFORE_AFTER),
        "2013",
        population="in-receipt",
    )
    assert result.population == "in-receipt"
    assert result.denominator == 3
    assert result.details["excluded"] == {
        "no telehealth installation": 0,
        "first installation outside the period": 1,  # u4
    }


def test_before_after_without_events_before_says_why() -> None:
    dataset = extract(
        users=[("u1", "A")],
        enrolments=[("e1", "u1", "th", None, "2013-03-01", None)],
        outcomes=[("u1", "2013-04-01", "emergency_admission")],
        extract_date="2014-06-30",
    )
    result = run("emergency-admissions-before-after", dataset, "2013")
    assert result.value is None
    assert "no events in the before window" in result.reason


def test_follow_up_after_the_index_stops_at_the_extract_date() -> None:
    dataset = extract(
        users=[("u1", "A")],
        enrolments=[("e1", "u1", "th", None, "2013-12-01", None)],
        outcomes=[("u1", "2013-01-01", "emergency_admission")],
        extract_date="2013-12-31",
    )
    result = run("emergency-admissions-before-after", dataset, "2013")
    assert result.details["after"]["person_years"] == pytest.approx(31 / YEAR)
    assert result.details["after"]["events"] == 0
    assert result.value == 0.0
    assert result.ci_low is None  # no events after: no interval, and the reason is given
    assert "no events in the after window" in result.details["rate_ratio"]["reason"]


# Twelve months from the index.

TWELVE = dict(
    users=[("u1", "A"), ("u2", "A"), ("u3", "B"), ("u4", "B")],
    enrolments=[
        ("e1", "u1", "th", None, "2013-03-01", None),
        ("e2", "u2", "th", None, "2013-05-01", "2013-07-31", "died"),
        ("e3", "u3", "th", None, "2013-12-01", None),  # index+364 after the extract date
        ("e4", "u4", "th", None, "2013-06-01", None),  # no events at all
    ],
    outcomes=[
        ("u1", "2014-02-28", "emergency_admission"),  # index+364: inside
        ("u2", "2013-07-31", "death"),
        ("u3", "2013-12-10", "emergency_admission"),
        ("u4", "2014-06-01", "emergency_admission"),  # index+365: outside
    ],
    extract_date="2014-06-30",
)


@pytest.mark.parametrize(("name", "who"), [("emergency-admission-12m", 1), ("mortality-12m", 1)])
def test_twelve_month_proportions_need_a_whole_year_of_follow_up(name: str, who: int) -> None:
    result = run(name, extract(**TWELVE), "2013")
    assert (result.numerator, result.denominator) == (who, 3)
    assert result.value == pytest.approx(1 / 3)
    p, n = 1 / 3, 3
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    spread = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
    assert result.ci_low == pytest.approx(centre - spread)
    assert result.ci_high == pytest.approx(centre + spread)
    assert (
        result.details["excluded"]["fewer than 365 days between the index and the extract date"]
        == 1
    )


def test_twelve_month_proportion_of_an_empty_cohort_says_why() -> None:
    result = run("mortality-12m", extract(**TWELVE), "2011")
    assert (result.numerator, result.denominator, result.value) == (0, 0, None)
    assert "no one in the population" in result.reason


# Beds.


def test_bed_days_per_head() -> None:
    dataset = extract(
        users=[("u1", "A"), ("u2", "A")],
        enrolments=[
            ("e1", "u1", "th", None, "2013-01-01", None),
            ("e2", "u2", "tc", None, "2013-01-01", None),
        ],
        outcomes=[
            ("u1", "2013-02-01", "emergency_admission", 5),
            ("u1", "2013-12-31", "elective_admission", 2),  # runs past the period: counted in full
            ("u1", "2012-12-31", "emergency_admission", 10),  # before the period
            ("u1", "2013-03-01", "care_home_admission", 30),  # not a hospital bed
            ("u1", "2013-04-01", "emergency_admission"),  # no length of stay
        ],
        extract_date="2013-12-31",
    )
    result = run("bed-days-per-head", dataset, "2013")
    assert (result.numerator, result.denominator, result.value) == (7, 2, 3.5)
    assert result.details["admissions"] == 3
    assert result.details["admissions_without_stay"] == 1


# Retention.

RETENTION = dict(
    users=[(f"u{i}", "A" if i <= 5 else "B") for i in range(1, 10)],
    enrolments=[
        ("e1", "u1", "tc", None, "2013-02-01", None),  # retained
        ("e2", "u2", "tc", None, "2013-03-01", "2013-04-15", "abandoned"),  # left
        ("e3", "u3", "tc", None, "2013-03-01", "2013-05-01", "died"),  # left out
        ("e4", "u4", "tc", None, "2013-04-01", "2013-05-01", "care_home"),  # left out
        ("e5", "u5", "tc", None, "2013-11-01", None),  # day 91 is after the extract date
        ("e6", "u6", "tc", None, "2013-01-10", "2013-04-11"),  # ends on day 91: retained
        ("e7", "u7", "tc", None, "2013-01-10", "2013-04-10"),  # ends on day 90, no reason
        ("e8", "u8", "tc", None, "2012-06-01", None),  # installed before the period
        ("e9", "u9", "tc", None, "2013-02-01", "2013-03-01", "other"),
        ("e10", "u9", "th", None, "2013-02-15", None),  # still in receipt through telehealth
    ],
    extract_date="2013-12-31",
)


def test_retention_at_91_days_leaves_out_deaths_and_care_homes_and_tables_reasons() -> None:
    result = run("retention-91d", extract(**RETENTION), "2013", by=["area"])
    assert (result.numerator, result.denominator) == (3, 5)  # u1, u6, u9 of u1 u2 u6 u7 u9
    assert result.value == pytest.approx(0.6)
    reasons = result.details["end_reasons"]
    assert reasons["abandoned"] == 1
    assert reasons["not_recorded"] == 1
    assert reasons["died (left out)"] == 1
    assert reasons["care_home (left out)"] == 1
    assert reasons["other"] == 0  # u9's telecare ended, but telehealth kept them in
    excluded = result.details["excluded"]
    assert excluded["installed fewer than 91 days before the extract date"] == 1
    assert excluded["no installation in the period"] == 1
    area = groups(result)
    assert (area["A"].numerator, area["A"].denominator) == (1, 2)
    assert (area["B"].numerator, area["B"].denominator) == (2, 3)


def test_a_death_recorded_only_in_outcomes_is_left_out_of_retention() -> None:
    dataset = extract(
        users=[("u1", "A"), ("u2", "A")],
        enrolments=[
            ("e1", "u1", "tc", None, "2013-02-01", "2013-03-01", "other"),
            ("e2", "u2", "tc", None, "2013-02-01", None),
        ],
        outcomes=[("u1", "2013-03-01", "death")],
        extract_date="2013-12-31",
    )
    result = run("retention-91d", dataset, "2013")
    assert (result.numerator, result.denominator) == (1, 1)
    assert result.details["excluded"]["died"] == 1


def test_retention_breaks_a_tie_on_the_last_day_by_the_order_of_end_reasons() -> None:
    """Two enrolments ending the same day: the reason first in EndReason's order is taken."""
    dataset = extract(
        users=[("u1", "A"), ("u2", "A"), ("u3", "A"), ("u4", "A")],
        enrolments=[
            # u1: abandoned and died on one day: died wins, so u1 is left out.
            ("e1", "u1", "tc", None, "2013-02-01", "2013-03-01", "abandoned"),
            ("e2", "u1", "th", None, "2013-02-01", "2013-03-01", "died"),
            # u2: other and declined on one day: declined comes first.
            ("e3", "u2", "th", None, "2013-02-01", "2013-03-01", "other"),
            ("e4", "u2", "tc", None, "2013-02-01", "2013-03-01", "declined"),
            # u3: a recorded reason beats none on the same day.
            ("e5", "u3", "tc", None, "2013-02-01", "2013-03-01"),
            ("e6", "u3", "th", None, "2013-02-01", "2013-03-01", "moved"),
            # u4: the later end wins whatever its reason.
            ("e7", "u4", "tc", None, "2013-02-01", "2013-03-02", "other"),
            ("e8", "u4", "th", None, "2013-02-01", "2013-03-01", "died"),
        ],
        extract_date="2013-12-31",
    )
    result = run("retention-91d", dataset, "2013")
    reasons = result.details["end_reasons"]
    assert reasons["died (left out)"] == 1
    assert (reasons["declined"], reasons["other"]) == (1, 1)
    assert (reasons["moved"], reasons["not_recorded"]) == (1, 0)
    assert reasons["abandoned"] == 0
    assert (result.numerator, result.denominator) == (0, 3)


# Waiting.


def test_referral_to_installation_median_quartiles_and_share_within_28_days() -> None:
    dataset = extract(
        users=[("u1", "A"), ("u2", "A"), ("u3", "B")],
        enrolments=[
            ("e1", "u1", "tc", "2013-01-01", "2013-01-01"),  # 0 days
            ("e2", "u1", "th", "2013-01-01", "2013-01-11"),  # 10
            ("e3", "u2", "tc", "2013-02-01", "2013-03-01"),  # 28: within
            ("e4", "u2", "th", "2013-02-01", "2013-03-02"),  # 29
            ("e5", "u3", "tc", "2013-01-01", "2013-03-02"),  # 60
            ("e6", "u3", "th", None, "2013-05-01"),  # no referral date
            ("e7", "u3", "tco", "2012-01-01", "2012-12-31"),  # installed before the period
        ],
        extract_date="2013-12-31",
    )
    result = run("referral-to-installation", dataset, "2013")
    assert (result.numerator, result.denominator, result.value) == (3, 5, 28)
    assert (result.details["q1_days"], result.details["q3_days"]) == (10, 29)
    assert result.details["iqr_days"] == 19
    assert result.details["share_within_28_days"]["value"] == pytest.approx(0.6)
    assert result.details["installations_without_referral_date"] == 1


def test_median_of_an_even_number_interpolates() -> None:
    dataset = extract(
        users=[("u1", "A")],
        enrolments=[
            ("e1", "u1", "tc", "2013-01-01", "2013-01-11"),
            ("e2", "u1", "th", "2013-01-01", "2013-01-22"),
        ],
        extract_date="2013-12-31",
    )
    assert run("referral-to-installation", dataset, "2013").value == 15.5


# Shares.


def test_multi_sector_share() -> None:
    dataset = extract(
        users=[("u1", "A"), ("u2", "A"), ("u3", "B")],
        enrolments=[
            ("e1", "u1", "tc", None, "2013-01-01", None),
            ("e2", "u1", "th", None, "2013-06-01", None),
            ("e3", "u2", "tc", None, "2013-01-01", None),
            ("e4", "u3", "tc", None, "2013-01-01", None),
            ("e5", "u3", "tch", None, "2013-01-01", None),  # telecare from housing too
        ],
        extract_date="2013-12-31",
    )
    result = run("multi-sector-share", dataset, "2013", by=["area"])
    assert (result.numerator, result.denominator) == (2, 3)
    area = groups(result)
    assert (area["A"].numerator, area["A"].denominator) == (1, 2)
    assert (area["B"].numerator, area["B"].denominator) == (1, 1)


# Progress to target.


def test_progress_to_target_projects_the_recent_trend_to_the_due_date() -> None:
    dataset = extract(
        users=[("u1", "A"), ("u2", "A"), ("u3", "B"), ("u4", "C")],
        enrolments=[
            ("e1", "u1", "th", None, "2013-02-01", None),
            ("e2", "u2", "th", None, "2013-11-01", None),  # after the trend's start
            ("e3", "u3", "th", None, "2013-03-01", None),
            ("e4", "u4", "th", None, "2013-03-01", None),
        ],
        targets=[
            ("telehealth", "A", 5, "2014-03-31"),
            ("telehealth", "B", 1, "2013-06-30"),  # past: the later one applies
            ("telehealth", "B", 4, "2014-12-31"),
            ("telehealth", "C", 1, "2013-06-30"),  # past, and the only one
            ("in-receipt", "A", 1000, "2014-03-31"),  # another definition's target
        ],
        extract_date="2013-12-31",
    )
    result = run("progress-to-target", dataset, "2013", by=["area"])
    area = groups(result)
    a = area["A"]
    assert (a.numerator, a.denominator, a.value) == (2, 5, 0.4)
    assert a.details["count_trend_start"] == 1  # counted over 1 January - 1 October
    assert a.details["trend_per_day"] == pytest.approx(1 / 91)
    assert a.details["days_to_due"] == 90
    assert a.details["projection"] == pytest.approx(2 + 90 / 91)
    assert a.details["on_track"] is False
    b = area["B"]
    assert (b.denominator, b.details["due"]) == (4, "2014-12-31")
    assert b.details["projection"] == pytest.approx(1.0)  # no growth in B
    c = area["C"]
    assert c.details["due_passed"] is True
    assert c.details["projection"] == 1.0
    assert c.details["on_track"] is True
    # No 'all' row: the total's target is the sum of the areas'.
    assert (result.numerator, result.denominator) == (4, 5 + 4 + 1)
    assert "sum of the areas" in result.details["total_target_from"]


def test_progress_without_a_target_has_no_value() -> None:
    dataset = extract(
        users=[("u1", "A")],
        enrolments=[("e1", "u1", "th", None, "2013-02-01", None)],
        extract_date="2013-12-31",
    )
    result = run("progress-to-target", dataset, "2013")
    assert result.value is None
    assert "no target" in result.reason


# Trials.


def trial(
    intervention: list[tuple[str, str | None]],
    control: list[tuple[str, str | None]],
    *,
    name: str = "t1",
    on: str = "2013-01-01",
) -> dict:
    """Allocations on ``on``; each person is (user id, date of death or None)."""
    people = [(u, "intervention", d) for u, d in intervention] + [
        (u, "control", d) for u, d in control
    ]
    return dict(
        users=[(u, "A" if i % 2 else "B") for i, (u, _, _) in enumerate(people)],
        allocations=[(u, name, arm, on) for u, arm, _ in people],
        outcomes=[(u, d, "death") for u, _, d in people if d],
        extract_date="2014-12-31",
    )


def test_arm_comparison_binary_outcome_worked_by_hand() -> None:
    data = trial(
        [("i1", "2013-12-31"), ("i2", "2014-01-01"), ("i3", None), ("i4", None)],
        [("c1", "2013-01-01"), ("c2", "2013-06-01"), ("c3", None)],
    )
    result = run("arm-comparison", extract(**data), "2013", by=["area"])
    # Day 365 from 1 January 2013 is 31 December 2013: i1 counts, i2 does not.
    a, b, c, d = 1, 3, 2, 1
    odds = (a * d) / (b * c)
    spread = Z * math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    assert (result.numerator, result.denominator) == (3, 7)
    assert result.value == pytest.approx(odds)
    assert result.ci_low == pytest.approx(odds * math.exp(-spread))
    assert result.ci_high == pytest.approx(odds * math.exp(spread))
    arms = result.details["arms"]
    assert arms["intervention"]["proportion"] == pytest.approx(1 / 4)
    assert arms["control"]["proportion"] == pytest.approx(2 / 3)
    assert result.details["risk_difference"]["value"] == pytest.approx(1 / 4 - 2 / 3)
    assert result.details["relative_reduction"]["value"] == pytest.approx(1 - (1 / 4) / (2 / 3))
    assert result.details["odds_ratio"]["value"] == pytest.approx(odds)
    assert result.details["trial"] == "t1"
    assert sum(row.denominator for row in result.breakdowns["area"]) == 7


def test_an_empty_arm_gives_a_clear_message_not_a_division_by_zero() -> None:
    data = trial([("i1", "2013-05-01"), ("i2", None)], [])
    result = run("arm-comparison", extract(**data), "2013")
    assert result.value is None
    assert result.reason == "the control arm is empty"
    assert result.details["arms"]["control"]["reason"] == "the arm is empty"
    assert result.details["arms"]["intervention"]["proportion"] == 0.5
    counts = run("arm-comparison-admissions", extract(**data), "2013")
    assert counts.value is None and counts.reason == "the control arm is empty"


def test_no_allocations_in_the_period_says_so() -> None:
    data = trial([("i1", None)], [("c1", None)])
    result = run("arm-comparison", extract(**data), "2011")
    assert result.value is None
    assert "no one in the population was allocated" in result.reason


def test_several_trials_need_a_choice_and_each_is_reported() -> None:
    first = trial([("i1", "2013-02-01"), ("i2", None)], [("c1", "2013-03-01"), ("c2", None)])
    second = trial([("j1", None)], [("k1", "2013-03-01")], name="t2")
    data = {
        "users": first["users"] + second["users"],
        "allocations": first["allocations"] + second["allocations"],
        "outcomes": first["outcomes"] + second["outcomes"],
        "extract_date": "2014-12-31",
    }
    result = run("arm-comparison", extract(**data), "2013")
    assert result.value is None
    assert "2 trials (t1, t2)" in result.reason and "trial=NAME" in result.reason
    assert set(result.details["trials"]) == {"t1", "t2"}
    assert result.details["trials"]["t1"]["value"] == pytest.approx(1.0)
    chosen = run("arm-comparison", extract(**data), "2013", options={"trial": "t1"})
    assert chosen.value == pytest.approx(1.0)
    assert chosen.denominator == 4
    with pytest.raises(MetricError, match=r"trial 'nope'.*t1, t2"):
        run("arm-comparison", extract(**data), "2013", options={"trial": "nope"})


def test_arm_comparison_count_outcome_events_per_head_and_rate_ratio() -> None:
    data = trial([("i1", None), ("i2", None)], [("c1", None), ("c2", None)])
    data["outcomes"] = [
        ("i1", "2013-02-01", "emergency_admission"),
        ("i1", "2013-03-01", "emergency_admission"),
        ("i2", "2014-01-01", "emergency_admission"),  # day 366: outside
        ("c1", "2013-02-01", "emergency_admission"),
        ("c1", "2013-04-01", "emergency_admission"),
        ("c2", "2013-05-01", "emergency_admission"),
        ("c2", "2013-12-31", "emergency_admission"),
    ]
    result = run("arm-comparison-admissions", extract(**data), "2013")
    assert (result.numerator, result.denominator) == (6, 4)
    arms = result.details["arms"]
    assert arms["intervention"]["events_per_head"] == 1.0
    assert arms["control"]["events_per_head"] == 2.0
    assert result.value == pytest.approx(0.5)
    spread = Z * math.sqrt(1 / 2 + 1 / 4)
    assert result.ci_low == pytest.approx(0.5 * math.exp(-spread))
    assert result.ci_high == pytest.approx(0.5 * math.exp(spread))


def test_a_zero_cell_gives_the_odds_ratio_without_woolfs_interval() -> None:
    data = trial([("i1", None), ("i2", None)], [("c1", "2013-02-01"), ("c2", None)])
    result = run("arm-comparison", extract(**data), "2013")
    assert result.value == 0.0
    assert result.ci_low is None and result.ci_high is None
    assert "Woolf" in result.details["odds_ratio"]["reason"]


# Options and publishing.


def test_options_are_checked() -> None:
    data = extract(**TWELVE)
    with pytest.raises(MetricError, match="outcome must be an outcome kind"):
        run("mortality-12m", data, "2013", options={"outcome": "deaths"})
    with pytest.raises(MetricError, match="days must be a whole number"):
        run("mortality-12m", data, "2013", options={"days": "a year"})
    with pytest.raises(MetricError, match="cannot break down by 'sector'"):
        run("mortality-12m", data, "2013", by=["sector"])


def test_an_option_changes_the_outcome_for_one_run() -> None:
    result = run(
        "mortality-12m", extract(**TWELVE), "2013", options={"outcome": "emergency_admission"}
    )
    assert result.numerator == 1  # u1's admission on day 365


def test_breakdowns_are_published_from_rounded_figures() -> None:
    users = [(f"a{i}", "A") for i in range(23)] + [(f"b{i}", "B") for i in range(4)]
    enrolments = [(f"e{u}", u, "tc", None, "2013-01-01", None) for u, _ in users]
    enrolments += [(f"x{u}", u, "th", None, "2013-01-01", None) for u, _ in users[:12]]
    dataset = extract(users=users, enrolments=enrolments, extract_date="2013-12-31")
    result = run("multi-sector-share", dataset, "2013", by=["area"])
    raw = groups(result)
    assert (raw["A"].numerator, raw["A"].denominator) == (12, 23)
    # Primary suppression only here; with two areas, secondary suppression (the default)
    # also withholds A, since B could otherwise be recovered as the total minus A.
    primary_only = attrs.evolve(DEFAULT_POLICY, secondary=False)
    assert result.published(DEFAULT_POLICY)["area"][0].suppressed
    published = {row.group: row for row in result.published(primary_only)["area"]}
    a, b = published["A"], published["B"]
    assert (a.numerator, a.denominator) == (10, 25)
    assert a.value == pytest.approx(10 / 25)  # from the rounded figures, not 12/23
    assert not a.suppressed  # rounded, not withheld
    assert b.denominator is None and b.value is None  # 4 people: suppressed
    assert b.reason == "suppressed by disclosure control"
    unrounded = {row.group: row for row in result.published(NO_DISCLOSURE_CONTROL)["area"]}
    assert unrounded["A"].value == pytest.approx(12 / 23)
    assert result.value == pytest.approx(12 / 27)  # the total is published as it is


@pytest.mark.parametrize("definition", [*METRICS, *COUNTING], ids=lambda d: d.name)
def test_every_definition_round_trips_through_toml_and_json(definition) -> None:
    from threeml.definitions import CRITERIA, from_json, from_toml, to_json, to_toml

    # The plugin's own criterion kind (allocated-in-period) is read once it is given.
    kinds = {**CRITERIA, AllocatedInPeriod.kind: AllocatedInPeriod}
    assert from_toml(to_toml(definition), criteria=kinds) == definition
    assert from_json(to_json(definition), criteria=kinds) == definition


def test_every_metric_runs_on_the_demo_extract() -> None:
    from threeml.data.demo import demo_folder

    dataset = Dataset.from_folder(demo_folder())
    for metric in METRICS:
        result = run(metric.name, dataset, "2012-01-01:2013-12-31")
        assert result.value is not None or result.reason, metric.name
