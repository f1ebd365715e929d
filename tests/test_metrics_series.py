"""Metrics over a series of intervals: equal to evaluating each interval alone.

:func:`~threeml.metrics.series.evaluate_metrics_series` counts every interval's populations in
one series count, shares one store across the intervals and lets a measure kind evaluate the
whole series at once (the person-time kinds read per-person facts computed once over the
span). None of that may change a figure: for every metric of the registry, quarterly and
monthly, by area, each interval's result equals :func:`evaluate_metrics` on that interval.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import strategies
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_metrics_shared import _same

from threeml.data import Dataset
from threeml.data.demo import demo_folder
from threeml.data.synth import synthesise
from threeml.metrics.series import (
    evaluate_metrics_series,
    evaluate_metrics_series_per_interval,
)
from threeml.plugins.registry import default_registry
from threeml.records.intervals import split
from threeml.records.periods import Period

BY = ("area",)


def _figures(result: Any) -> dict[str, Any] | None:
    if result is None:
        return None
    return {
        "period": result.period,
        "total": dict(result.cells),
        "value": result.value,
        "reason": result.reason,
        "details": dict(result.details),
        "labels": dict(result.labels),
        "breakdowns": {
            name: [(row.group, dict(row.cells), row.value) for row in rows]
            for name, rows in result.breakdowns.items()
        },
    }


def _check(dataset: Dataset, span: str, every: str) -> None:
    registry = default_registry()
    metrics = list(registry.metric_definitions())
    intervals = split(span, every)
    errors: dict[str, str] = {}
    reference_errors: dict[str, str] = {}
    series = evaluate_metrics_series(metrics, dataset, intervals, registry, by=BY, errors=errors)
    reference = evaluate_metrics_series_per_interval(
        metrics, dataset, intervals, registry, by=BY, errors=reference_errors
    )
    assert errors == reference_errors
    assert series.keys() == reference.keys()
    for name, results in reference.items():
        assert len(series[name]) == len(intervals)
        for interval, mine, theirs in zip(intervals, series[name], results, strict=True):
            assert _same(_figures(mine), _figures(theirs)), (name, interval.label)


@pytest.mark.parametrize("seed", [5, 2012])
def test_quarterly_series_equals_each_quarter_alone(tmp_path, seed) -> None:
    synthesise(tmp_path, users=300, seed=seed, areas=3)
    _check(Dataset.from_folder(tmp_path), "2013-01-01:2014-03-31", "quarter")


def test_monthly_series_equals_each_month_alone() -> None:
    # Three months: the monthly path is the quarterly one with shorter intervals.
    _check(Dataset.from_folder(demo_folder()), "2014-01-01:2014-03-31", "month")


def test_person_time_kinds_evaluate_the_series_in_one_pass(monkeypatch) -> None:
    """Kinds with series facts (or series counts) never evaluate an interval alone."""
    from threeml_integrated_care.skeleton import CellMeasure

    alone: list[str] = []
    real = CellMeasure.evaluate

    def evaluate(self: Any, context: Any) -> Any:
        alone.append(self.kind)
        return real(self, context)

    monkeypatch.setattr(CellMeasure, "evaluate", evaluate)
    import threeml.engine.membership as membership

    counted_alone: list[str] = []
    real_count = membership.count_members

    def count_members(definitions: Any, *args: Any, **kwargs: Any) -> Any:
        definitions = list(definitions)
        counted_alone.extend(d.name for d in definitions)
        return real_count(definitions, *args, **kwargs)

    monkeypatch.setattr(membership, "count_members", count_members)
    registry = default_registry()
    names = [
        "user-years",
        "ae-attendances-rate",
        "cost-per-user-year",
        "bed-days-per-head",
        "emergency-admissions-before-after",
        "mortality-12m",
        "retention-91d",
        "referral-to-installation",
        "multi-sector-share",
        "progress-to-target",
    ]
    intervals = split("2013-01-01:2013-12-31", "quarter")
    series = evaluate_metrics_series(
        [registry.metric(n) for n in names],
        Dataset.from_folder(demo_folder()),
        intervals,
        registry,
        by=BY,
    )
    assert all(len(series[n]) == 4 and all(series[n]) for n in names)
    assert alone == []
    # progress to target tallies each interval alone, from counts up to each quarter's trend
    # start counted for all the quarters at once: no population is counted one period alone.
    assert counted_alone == []


def test_series_facts_are_dropped_after_the_evaluation() -> None:
    registry = default_registry()
    dataset = Dataset.from_folder(demo_folder())
    before = set(dataset.backend.list_tables())
    evaluate_metrics_series(
        [registry.metric("user-years"), registry.metric("ae-attendances-rate")],
        dataset,
        split("FY2013/14", "quarter"),
        registry,
        by=BY,
    )
    left = {t for t in dataset.backend.list_tables() if t.startswith("_metric")} - before
    assert not left


_RUN_METRICS = (
    "user-years",
    "ae-attendances-rate",
    "cost-per-user-year",
    "multi-sector-share",
    "bed-days-per-head",
)


@settings(
    deadline=None,
    max_examples=strategies.examples(12),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.data())
def test_metrics_read_from_runs_equal_each_interval_alone(data: st.DataObject) -> None:
    """On random extracts (overlapping, touching and open windows, deaths, an extract date
    inside the series), the metrics read from the population's runs of intervals equal each
    interval evaluated alone, in total and by area."""
    extract = data.draw(strategies.extracts(max_users=8, with_outcomes=True), "extract")
    start = strategies.day(data.draw(st.integers(-40, 60), "start"))
    every = data.draw(st.sampled_from(["month", "quarter"]), "every")
    months = 3 if every == "month" else 6
    end = date(
        start.year + (start.month + months - 1) // 12, (start.month + months - 1) % 12 + 1, 1
    )
    intervals = split(Period(start, end - timedelta(days=1)), every)
    registry = default_registry()
    metrics = [registry.metric(name) for name in _RUN_METRICS]
    dataset = extract.dataset()
    series = evaluate_metrics_series(metrics, dataset, intervals, registry, by=BY, errors={})
    reference = evaluate_metrics_series_per_interval(
        metrics, dataset, intervals, registry, by=BY, errors={}
    )
    for name, results in reference.items():
        for interval, mine, theirs in zip(intervals, series[name], results, strict=True):
            assert _same(_figures(mine), _figures(theirs)), (name, interval.label)


#: The metrics whose series read the population's runs of intervals (no table per (member,
#: interval)) beyond those of :data:`_RUN_METRICS`.
_MORE_RUN_METRICS = (
    "emergency-admissions-before-after",
    "emergency-admission-12m",
    "mortality-12m",
    "retention-91d",
    "referral-to-installation",
    "coverage-in-receipt",
    "eligible-reached",
)


def test_metrics_read_the_population_runs(monkeypatch) -> None:
    """Over quarters by area, the population is held as runs of intervals and the person-time
    kinds, bed days, the proportion, the cohorts and the installations read it: no table per
    (member, interval) is built."""
    import threeml.metrics.interval_cells as cells

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a table per (member, interval) was built")

    import threeml_integrated_care.bed_days as bed_days
    import threeml_integrated_care.person_time as person_time
    import threeml_integrated_care.series_facts as series_facts

    monkeypatch.setattr(cells, "members_by_interval", refuse)
    monkeypatch.setattr(series_facts, "members_by_interval", refuse)
    monkeypatch.setattr(person_time, "series_person_time", refuse)
    monkeypatch.setattr(person_time, "series_event_facts", refuse)
    monkeypatch.setattr(bed_days, "series_members", refuse)
    registry = default_registry()
    dataset = Dataset.from_folder(demo_folder())
    intervals = split("2013-01-01:2013-12-31", "quarter")
    names = _RUN_METRICS + _MORE_RUN_METRICS
    series = evaluate_metrics_series(
        [registry.metric(n) for n in names], dataset, intervals, registry, by=BY
    )
    assert all(len(series[n]) == 4 and all(series[n]) for n in names)
    population = series["user-years"][0].population
    assert population == "in-receipt"


def test_metrics_from_runs_with_the_extract_date_inside_the_series() -> None:
    """The cohorts, installations and coverage read from the population's runs equal each
    interval alone when the extract date falls inside an interval (follow-up cut short,
    installations too recent to follow, no interval after it counted)."""
    registry = default_registry()
    dataset = Dataset.from_folder(demo_folder(), extract_date="2013-08-15")
    metrics = [registry.metric(n) for n in _MORE_RUN_METRICS]
    intervals = split("2013-04-01:2013-09-30", "quarter")
    errors: dict[str, str] = {}
    reference_errors: dict[str, str] = {}
    series = evaluate_metrics_series(metrics, dataset, intervals, registry, by=BY, errors=errors)
    reference = evaluate_metrics_series_per_interval(
        metrics, dataset, intervals, registry, by=BY, errors=reference_errors
    )
    assert errors == reference_errors
    for name, results in reference.items():
        for interval, mine, theirs in zip(intervals, series[name], results, strict=True):
            assert _same(_figures(mine), _figures(theirs)), (name, interval.label)
