"""Properties every integrated-care metric keeps on any small extract (Hypothesis).

- rates, ratios, person-time, costs and medians are never negative;
- a share lies in 0..1, inside its interval;
- splitting the population by area and summing the areas' numerators and
  denominators gives the total's;
- publishing under disclosure control never fails, never shows a figure derived
  from a suppressed one, and gives shares still in 0..1.

End to end, each metric is evaluated on a few random extracts (evaluation
compiles queries, so examples are few); the statistics underneath are checked
on many random tables, which is cheap.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from threeml_integrated_care import METRICS, stats
from threeml_integrated_care.examples import extract

from threeml.metrics.measures import MetricResult, MetricRow, evaluate_metric
from threeml.plugins.registry import default_registry
from threeml.publish.disclosure import DEFAULT_POLICY

START = date(2012, 1, 1)
SPAN = 3 * 365  # 2012 to 2014
AREAS = ("A", "B", "C")
SHARES = {"multi-sector-share", "retention-91d", "mortality-12m", "emergency-admission-12m"}
#: Metrics whose denominator is not a sum over people (a target).
NOT_ADDITIVE_DENOMINATOR = {"progress-to-target"}
OUTCOMES = ("emergency_admission", "elective_admission", "ae_attendance", "care_home_admission")
REASONS = (None, "died", "care_home", "hospital", "declined", "abandoned", "moved", "other")


def day(offset: int) -> date:
    return START + timedelta(days=offset)


@st.composite
def extracts(draw: st.DrawFn) -> dict:
    people = draw(st.integers(1, 7))
    users = [(f"u{i}", draw(st.sampled_from(AREAS))) for i in range(people)]
    enrolments, outcomes, allocations = [], [], []
    for user, _ in users:
        for k in range(draw(st.integers(0, 3))):
            referred = draw(st.integers(200, 800))  # mostly around 2013
            installed = referred + draw(st.integers(0, 90)) if draw(st.booleans()) else None
            ended = None
            if installed is not None and draw(st.booleans()):
                ended = installed + draw(st.integers(0, 400))
            enrolments.append(
                (
                    f"{user}e{k}",
                    user,
                    draw(st.sampled_from(("th", "tc", "tch", "tco"))),
                    day(referred) if draw(st.booleans()) else None,
                    None if installed is None else day(installed),
                    None if ended is None else day(ended),
                    draw(st.sampled_from(REASONS)) if ended is not None else None,
                )
            )
        for _ in range(draw(st.integers(0, 4))):
            kind = draw(st.sampled_from(OUTCOMES))
            stay = draw(st.one_of(st.none(), st.integers(0, 30)))
            outcomes.append((user, day(draw(st.integers(0, SPAN))), kind, stay))
        if draw(st.integers(0, 4)) == 0:
            outcomes.append((user, day(draw(st.integers(0, SPAN))), "death"))
        if draw(st.booleans()):
            arm = draw(st.sampled_from(("intervention", "control")))
            allocations.append((user, "t1", arm, day(draw(st.integers(365, 730)))))
    targets = [
        ("telehealth", area, draw(st.integers(0, 10)), day(draw(st.integers(500, SPAN))))
        for area in AREAS
        if draw(st.booleans())
    ]
    # Populations (everyone and the eligible) of 2013: area A and band 75-79 always, others maybe.
    bands = ("65-69", "70-74", "75-79", "80-84", "85-89", "90+")
    populations = [
        (area, 2013, band, draw(st.integers(0, 500)), group)
        for area in AREAS
        if area == "A" or draw(st.integers(0, 3))
        for band in bands
        if band == "75-79" or draw(st.booleans())
        for group in (None, "eligible")
    ]
    return dict(
        users=users,
        enrolments=enrolments,
        outcomes=outcomes,
        allocations=allocations,
        targets=targets,
        populations=populations,
        extract_date=day(draw(st.integers(700, SPAN))),
    )


def _figures(row: MetricRow | MetricResult) -> list[float]:
    return [x for x in (row.value, row.ci_low, row.ci_high) if x is not None]


def _check_row(name: str, row: MetricRow | MetricResult) -> None:
    # Counts, person-time, money, days, shares and ratios of them: never negative.
    assert all(x >= 0 for x in _figures(row)), (name, row)
    for figure in (row.numerator, row.denominator):
        assert figure is None or figure >= 0
    if row.value is not None and row.ci_low is not None:
        assert row.ci_low <= row.value * (1 + 1e-9) + 1e-12
        assert row.value <= row.ci_high * (1 + 1e-9) + 1e-12
    if name in SHARES and row.value is not None:
        assert 0 <= row.value <= 1
        assert row.ci_low is None or 0 <= row.ci_low <= row.ci_high <= 1
    if row.value is None:
        assert row.reason, (name, row)


@pytest.mark.parametrize("metric", METRICS, ids=[m.name for m in METRICS])
@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=extracts())
def test_metric_properties_on_any_small_extract(metric, data: dict) -> None:
    registry = default_registry()
    dataset = extract(**data)
    result = evaluate_metric(metric, dataset, "2013", registry, by=["area"])
    event(f"{metric.name}: {'a value' if result.value is not None else 'no value'}")
    _check_row(metric.name, result)
    rows = result.breakdowns["area"]
    for row in rows:
        _check_row(metric.name, row)

    # Splitting by area and summing gives the total.
    numerators = [row.numerator for row in rows]
    if result.numerator is not None and None not in numerators:
        assert sum(numerators) == pytest.approx(result.numerator, abs=1e-6)
    denominators = [row.denominator for row in rows]
    if (
        metric.name not in NOT_ADDITIVE_DENOMINATOR
        and result.denominator is not None
        and None not in denominators
    ):
        assert sum(denominators) == pytest.approx(result.denominator, abs=1e-6)

    # Published: derived from what is left, never from a withheld figure.
    for row in result.published(DEFAULT_POLICY)["area"]:
        _check_row(metric.name, row)
        if row.denominator is None and metric.name not in NOT_ADDITIVE_DENOMINATOR:
            assert row.value is None
        for cell, value in row.cells.items():
            if result.cell_kinds.get(cell) == "count" and value is not None:
                assert value == 0 or value % 5 == 0


counts = st.integers(0, 60)
maybe = st.one_of(st.none(), counts)


@settings(max_examples=300, deadline=None)
@given(a=maybe, n1=maybe, c=maybe, n0=maybe)
def test_arm_statistics_never_divide_by_zero_and_keep_their_ranges(a, n1, c, n0) -> None:
    if a is not None and n1 is not None:
        a = min(a, n1)
    if c is not None and n0 is not None:
        c = min(c, n0)
    names = {"first": "intervention", "second": "control"}
    for estimate in (
        stats.odds_ratio(a, n1, c, n0, **names),
        stats.risk_ratio(a, n1, c, n0, **names),
        stats.rate_ratio(a, n1, c, n0, first="after", second="before"),
    ):
        assert estimate.value is None or estimate.value >= 0
        if estimate.ci_low is not None:
            assert 0 <= estimate.ci_low <= estimate.value <= estimate.ci_high
        if estimate.value is None or estimate.ci_low is None:
            assert estimate.reason
    share = stats.proportion(a, n1, "empty")
    if share.value is not None:
        assert 0 <= share.ci_low <= share.value <= share.ci_high <= 1
    difference = stats.risk_difference(a, n1, c, n0, **names)
    if difference.value is not None:
        assert -1 <= difference.value <= 1


@settings(max_examples=300, deadline=None)
@given(events=counts, years=st.floats(0, 1000, allow_nan=False))
def test_rates_are_never_negative(events: int, years: float) -> None:
    rate = stats.rate(events, years, 1000, "no person-time")
    if years <= 0:
        assert rate.value is None and rate.reason == "no person-time"
    else:
        assert 0 <= rate.ci_low <= rate.value <= rate.ci_high
