"""Coverage: the rate methods worked by hand, their properties, and the metric end to end."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from threeml_integrated_care.rates import (
    crude_rate,
    exact_poisson_interval,
    standardised_rate,
)
from threeml_integrated_care.standard_population import (
    ESP2013,
    StandardPopulation,
    StandardPopulationError,
)
from threeml_integrated_care.stats import byar_interval

from threeml.metrics.measures import MetricError, evaluate_metric
from threeml.plugins.registry import default_registry
from threeml.records.codes import AGE_BANDS
from threeml.testing.tables import make_dataset

# --- the methods, worked by hand ----------------------------------------------------------------


def test_esp2013_is_the_published_standard() -> None:
    weights = dict(ESP2013.weights)
    assert ESP2013.total == 100_000
    assert (weights["0-4"], weights["45-49"], weights["85-89"], weights["90+"]) == (
        5000,
        7000,
        1500,
        1000,
    )
    assert ESP2013.bands == AGE_BANDS


def test_exact_poisson_limits_match_the_published_tables() -> None:
    # Garwood's exact 95% limits, as tabulated: 0 -> (0, 3.689), 1 -> (0.0253, 5.572),
    # 5 -> (1.624, 11.668).
    assert exact_poisson_interval(0) == pytest.approx((0.0, 3.6889), abs=1e-4)
    assert exact_poisson_interval(1) == pytest.approx((0.0253, 5.5716), abs=1e-4)
    assert exact_poisson_interval(5) == pytest.approx((1.6235, 11.6683), abs=1e-4)


def test_byar_differs_from_exact_at_small_counts_and_agrees_at_large() -> None:
    # O = 1: Byar's lower limit is 1 × (1 − 1/9 − 1.96/3)³ = 0.2353³ = 0.01307, about half
    # the exact 0.0253; O = 0: Byar's upper limit is (1 − 1/9 + 1.96/3)³ = 3.668, exact 3.689.
    assert byar_interval(1)[0] == pytest.approx(0.01307, abs=1e-5)
    assert exact_poisson_interval(1)[0] == pytest.approx(0.02532, abs=1e-5)
    assert byar_interval(0) == pytest.approx((0.0, 3.668), abs=1e-3)
    low, high = byar_interval(100)
    exact_low, exact_high = exact_poisson_interval(100)
    assert abs(low - exact_low) / exact_low < 0.002
    assert abs(high - exact_high) / exact_high < 0.002


def test_crude_rate_worked_example() -> None:
    # 25 users in 10,000 people is 2.5 per 1,000; Byar's limits of 25 are 16.18 and 36.91.
    rate = crude_rate(25, 10_000, 1000)
    assert rate.value == pytest.approx(2.5)
    assert (rate.ci_low, rate.ci_high) == pytest.approx((1.618, 3.691), abs=1e-3)
    assert crude_rate(0, 10_000, 1000).value == 0
    assert crude_rate(0, 10_000, 1000).ci_high == pytest.approx(0.3668, abs=1e-4)
    assert crude_rate(5, 0, 1000).reason == "the population is 0"


def test_dobson_worked_example() -> None:
    # Two bands weighted 6,000 and 4,000: 20 of 1,000 and 30 of 500.
    # DSR = (0.6 × 0.02 + 0.4 × 0.06) × 1,000 = 36.
    # var = 0.36 × 20 / 1,000² + 0.16 × 30 / 500² = 2.64e-5; O = 50, Byar (37.11, 65.92).
    # lower = 0.036 + sqrt(2.64e-5 / 50) × (37.11 − 50) = 0.02664 → 26.64 per 1,000;
    # upper = 0.036 + sqrt(2.64e-5 / 50) × (65.92 − 50) = 0.04757 → 47.57 per 1,000.
    standard = StandardPopulation.from_table("two bands", {"70-74": 6000, "75-79": 4000})
    dsr = standardised_rate(
        {"70-74": 20, "75-79": 30}, {"70-74": 1000, "75-79": 500}, standard, 1000
    )
    assert dsr.value == pytest.approx(36.0)
    assert (dsr.ci_low, dsr.ci_high) == pytest.approx((26.64, 47.57), abs=0.01)


def test_no_standardised_rate_below_ten_events_or_without_a_band() -> None:
    standard = StandardPopulation.from_table("two bands", {"70-74": 6000, "75-79": 4000})
    few = standardised_rate({"70-74": 4, "75-79": 5}, {"70-74": 100, "75-79": 50}, standard, 1000)
    assert few.value is None and "fewer than 10 events" in (few.reason or "")
    zero = standardised_rate({}, {"70-74": 100, "75-79": 50}, standard, 1000)
    assert zero.value is None
    hole = standardised_rate({"70-74": 40}, {"70-74": 100}, standard, 1000)
    assert hole.value is None and "75-79" in (hole.reason or "")


def test_a_standard_given_as_a_table_is_checked() -> None:
    with pytest.raises(StandardPopulationError, match="unknown age band"):
        StandardPopulation.from_table("bad", {"65-70": 10})
    with pytest.raises(StandardPopulationError, match="at least 0"):
        StandardPopulation.from_table("bad", {"65-69": -1})


# --- properties ---------------------------------------------------------------------------------

counts = st.lists(st.integers(0, 400), min_size=len(AGE_BANDS), max_size=len(AGE_BANDS))


@settings(max_examples=60, deadline=None)
@given(counts=counts, scale=st.integers(1, 50))
def test_a_population_shaped_like_the_standard_has_its_crude_rate(
    counts: list[int], scale: int
) -> None:
    populations = {band: weight * scale for band, weight in ESP2013.weights}
    events = dict(zip(AGE_BANDS, counts, strict=True))
    dsr = standardised_rate(events, populations, ESP2013, 1000, minimum_events=0)
    if sum(counts) == 0:
        return
    crude = crude_rate(sum(counts), sum(populations.values()), 1000)
    assert dsr.value == pytest.approx(crude.value, rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(counts=counts, per=st.sampled_from([100, 1000, 100_000]))
def test_rates_scale_with_the_multiplier(counts: list[int], per: int) -> None:
    populations = {band: 1000 + 37 * i for i, band in enumerate(AGE_BANDS)}
    events = dict(zip(AGE_BANDS, counts, strict=True))
    one = standardised_rate(events, populations, ESP2013, 1)
    many = standardised_rate(events, populations, ESP2013, per)
    assert (one.value is None) == (many.value is None)
    if one.value is not None:
        assert many.value == pytest.approx(one.value * per)
        assert many.ci_low == pytest.approx(one.ci_low * per)
        assert many.ci_high == pytest.approx(one.ci_high * per)
        assert many.ci_low <= many.value <= many.ci_high
    crude = crude_rate(sum(counts), sum(populations.values()), per)
    assert crude.value == pytest.approx(sum(counts) / sum(populations.values()) * per)


# --- the metric, end to end ---------------------------------------------------------------------

ENROLMENTS = "enrolment_id user_id service_id installed_on\n" + "".join(
    f"e{i} u{i} tc 2013-01-10\n" for i in range(14)
)
# Kent: 12 users, 10 aged 75-79 at the end of 2013, 2 of unknown age; Essex: 2 users aged 80-84.
USERS = "user_id area birth_year\n" + "".join(
    f"u{i} {'Kent' if i < 12 else 'Essex'} {'1935' if i < 10 else ('-' if i < 12 else '1930')}\n"
    for i in range(14)
)
POPULATIONS = """
    area  year age_band population
    Kent  2013 75-79    1000
    Kent  2013 80-84    500
    Essex 2013 75-79    400
    Essex 2013 80-84    400
    Kent  2012 75-79    999
"""


def _coverage(by: list[str], **options: object):  # type: ignore[no-untyped-def]
    registry = default_registry()
    dataset = make_dataset(enrolments=ENROLMENTS, users=USERS, populations=POPULATIONS)
    standard = {"75-79": 4000, "80-84": 2500}
    return evaluate_metric(
        registry.metric("coverage-in-receipt"),
        dataset,
        "2013",
        registry,
        by=by,
        options={"standard": standard, **options},
    )


def test_coverage_counts_unknown_ages_and_standardises_known_ones() -> None:
    result = _coverage(["area"])
    rows = {row.group: row for row in result.breakdowns["area"]}
    kent = rows["Kent"]
    # Kent: 12 users of 1,500 people = 8 per 1,000, the two of unknown age included.
    assert (kent.numerator, kent.denominator) == (12, 1500)
    assert kent.details["crude_rate"]["rate"] == pytest.approx(8.0)
    assert kent.details["users_of_unknown_age"] == 2
    # Standardised: (4000 × 10/1000 + 2500 × 0/500) / 6500 × 1000 = 6.154 per 1,000.
    assert kent.value == pytest.approx(40 / 6.5)
    # Essex: 2 events, too few for a standardised rate; the reason says so.
    essex = rows["Essex"]
    assert essex.value is None and "fewer than 10 events" in (essex.reason or "")
    assert result.details["standard_population"].startswith("given")
    assert "Dobson" in result.details["interval_method"]
    assert result.details["population_year"] == 2013


def test_coverage_by_age_band_gives_age_specific_rates() -> None:
    result = _coverage(["birth_year"], min_events=1)
    rows = {row.group: row for row in result.breakdowns["birth_year"]}
    assert rows["75-79"].value == pytest.approx(10 / 1400 * 1000)
    assert rows["80-84"].value == pytest.approx(2 / 900 * 1000)
    assert rows["unknown"].numerator == 2 and rows["unknown"].value is None


def test_coverage_refuses_a_breakdown_populations_do_not_have() -> None:
    with pytest.raises(MetricError, match="cannot be broken down by risk_score"):
        _coverage(["risk_score"])


def test_coverage_names_the_missing_population_year() -> None:
    registry = default_registry()
    dataset = make_dataset(enrolments=ENROLMENTS, users=USERS, populations=POPULATIONS)
    with pytest.raises(MetricError, match=r"no rows for 2015.*it has 2012, 2013"):
        evaluate_metric(registry.metric("coverage-in-receipt"), dataset, "2015", registry)


def test_coverage_without_a_populations_table_says_what_to_add() -> None:
    registry = default_registry()
    dataset = make_dataset(enrolments=ENROLMENTS, users=USERS)
    with pytest.raises(MetricError, match=r"needs a populations table \(populations.csv"):
        evaluate_metric(registry.metric("coverage-in-receipt"), dataset, "2013", registry)
