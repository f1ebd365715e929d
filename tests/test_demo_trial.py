"""The demo extract's trial sits in the demo's default period, with its year of follow-up."""

from __future__ import annotations

from datetime import timedelta

import pyarrow.parquet as pq

from threeml.data import Dataset
from threeml.data.demo import DEMO_EXTRACT_DATE, DEMO_SEED
from threeml.data.synth import synthesise
from threeml.engine.evaluate import count
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
