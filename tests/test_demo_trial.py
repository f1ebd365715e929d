"""The demo extract's trial sits in the demo's default period, with its year of follow-up."""

from __future__ import annotations

from datetime import timedelta

import pyarrow.parquet as pq
import pytest

from threeml.data import Dataset
from threeml.data.demo import DEMO_EXTRACT_DATE, DEMO_SEED
from threeml.data.synth import synthesise
from threeml.engine.evaluate import count
from threeml.metrics.contract import MetricError
from threeml.metrics.evaluate import evaluate_metric
from threeml.plugins.registry import default_registry
from threeml.records.periods import Period

#: The period ``threeml demo`` reports on unless told otherwise.
DEMO_PERIOD = Period.parse("FY2013/14")


def test_trial_allocations_fall_in_the_demo_period_with_full_follow_up(tmp_path) -> None:
    synthesise(tmp_path, users=4000, seed=DEMO_SEED, extract_date=DEMO_EXTRACT_DATE)
    allocated = pq.read_table(tmp_path / "allocations.parquet")["allocated_on"].to_pylist()
    assert allocated
    assert all(DEMO_PERIOD.start <= day <= DEMO_PERIOD.end for day in allocated)
    assert all(day + timedelta(days=364) <= DEMO_EXTRACT_DATE for day in allocated)
    registry = default_registry()
    dataset = Dataset.from_folder(tmp_path)
    trial = registry.counting("trial-participants")
    assert count(trial, dataset, DEMO_PERIOD, registry=registry).count > 0
    result = evaluate_metric(registry.metric("arm-comparison"), dataset, DEMO_PERIOD, registry)
    assert result.value is not None, result.reason


def test_allocations_outside_the_period_say_when_they_are_dated_and_which_period_to_use(
    make_folder,
) -> None:
    # The small extract's allocations are dated 5 and 6 January 2013; the period is 2012.
    registry = default_registry()
    dataset = Dataset.from_folder(make_folder())
    metric = registry.metric("arm-comparison")
    result = evaluate_metric(metric, dataset, Period.parse("2012"), registry)
    assert result.value is None
    assert result.reason == (
        "no one in the population was allocated to a trial arm in the period: the allocations "
        "are dated from January 2013 to January 2013 and the period is 2012-01-01 to "
        "2012-12-31; use a period that includes them, for example --period "
        "2013-01-01:2013-01-31"
    )
    inside = evaluate_metric(metric, dataset, Period.parse("2013-01-01:2013-01-31"), registry)
    assert inside.denominator == 2  # the suggested period holds both allocations


def test_a_named_trial_outside_the_period_says_when_the_allocations_are_dated(
    make_folder,
) -> None:
    registry = default_registry()
    metric = registry.metric("arm-comparison")
    with pytest.raises(MetricError, match=r"dated from January 2013 to January 2013.*--period"):
        evaluate_metric(
            metric, Dataset.from_folder(make_folder()), Period.parse("2012"), registry,
            options={"trial": "wsd"},
        )  # fmt: skip


def test_an_extract_without_allocations_says_so(make_folder) -> None:
    registry = default_registry()
    dataset = Dataset.from_folder(make_folder(allocations=None))
    result = evaluate_metric(registry.metric("arm-comparison"), dataset, "2013", registry)
    assert "the extract has no allocations" in result.reason
