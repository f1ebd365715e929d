"""Metrics on the shared engine: the same figures as one metric at a time, no people in Python.

:func:`~threeml.metrics.evaluate.evaluate_metrics` counts every population once and lets
measure kinds share per-person fact tables; these tests hold it to the figures of the
previous path (each metric alone, its population read into Python and handed back as an
in-memory table) on random synthetic extracts, and check that no metric path brings
per-person rows back into Python.
"""

from __future__ import annotations

import gc
import math
from typing import Any

import attrs
import ibis
import pytest

from threeml.data import Dataset
from threeml.data.demo import demo_folder
from threeml.data.synth import synthesise
from threeml.engine.evaluate import count_many
from threeml.metrics.contract import MetricContext, members_table
from threeml.metrics.evaluate import evaluate_metrics
from threeml.plugins.registry import default_registry
from threeml.records.periods import Period

PERIOD = Period.parse("FY2013/14")
BY = ("area",)


def _previous(metric: Any, dataset: Dataset, registry: Any) -> Any:
    """One metric alone, by the path every metric took before the shared engine."""
    kind = registry.measure_kind(metric.measure.kind)
    population = count_many(
        [registry.counting(metric.population)], dataset, PERIOD, by=BY, registry=registry
    )[metric.population]
    # Without the engine expression the population goes through Python, as it used to.
    population = attrs.evolve(population, members_expr=None)
    context = MetricContext(
        metric, dataset, PERIOD, population, registry, BY, dict(metric.measure.options)
    )
    return kind.evaluate(context)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _figures(result: Any) -> dict[str, Any]:
    return {
        "total": dict(result.cells),
        "value": result.value,
        "details": {k: v for k, v in result.details.items() if not isinstance(v, str)},
        "breakdowns": {
            name: [(row.group, dict(row.cells)) for row in rows]
            for name, rows in result.breakdowns.items()
        },
    }


@pytest.mark.parametrize("seed", [3, 17, 2012])
def test_shared_engine_equals_each_metric_alone(tmp_path, seed) -> None:
    synthesise(tmp_path, users=400, seed=seed, areas=4)
    dataset = Dataset.from_folder(tmp_path)
    registry = default_registry()
    metrics = list(registry.metric_definitions())
    assert len(metrics) >= 13
    errors: dict[str, str] = {}
    together = evaluate_metrics(metrics, dataset, PERIOD, registry, by=BY, errors=errors)
    assert not errors
    for metric in metrics:
        alone = _figures(_previous(metric, dataset, registry))
        shared = _figures(together[metric.name])
        assert _same(shared, alone), metric.name


def test_population_stays_in_the_engine() -> None:
    registry = default_registry()
    dataset = Dataset.from_folder(demo_folder())
    result = count_many([registry.counting("in-receipt")], dataset, PERIOD, by=BY)["in-receipt"]
    members = members_table(result)
    # An expression over the evaluation's tables, not an in-memory table of ids.
    assert "InMemoryTable" not in repr(members.op().__class__.__name__)
    assert set(members.to_pyarrow()["user_id"].to_pylist()) == result.members()


def test_shared_facts_are_dropped_after_the_evaluation() -> None:
    registry = default_registry()
    dataset = Dataset.from_folder(demo_folder())
    before = set(dataset.backend.list_tables())
    evaluate_metrics(
        [registry.metric("user-years"), registry.metric("cost-per-user-year")],
        dataset,
        PERIOD,
        registry,
        by=BY,
    )
    gc.collect()  # what nothing refers to any more is released (ibis's cached tables)
    stored = ("_metric", "ibis_cached")  # the session's (and the flags table's) temporary tables
    left = {t for t in dataset.backend.list_tables() if t.startswith(stored)} - before
    assert not left


def test_no_metric_path_brings_people_into_python(monkeypatch) -> None:
    """During a whole report, no in-memory table of people is made and every result is a few
    cells (the only in-memory tables are the few rows of the over-time intervals and the
    days of their span)."""
    from threeml.report import build_report

    registry = default_registry()
    dataset = Dataset.from_folder(demo_folder())
    users = dataset.table("users").count().to_pyarrow().as_py()
    areas = dataset.table("users").area.nunique().to_pyarrow().as_py()
    # A result may hold a row per cell: an area, or an area and an arm or end reason.
    cells = 8 * (areas + 1)
    assert users > 4 * cells  # otherwise the check below could not tell people from cells
    made: list[Any] = []
    sizes: list[int] = []
    real_memtable = ibis.memtable
    backend_class = type(dataset.backend)
    real_to_pyarrow = backend_class.to_pyarrow

    def memtable(data: Any, *args: Any, **kwargs: Any) -> Any:
        # Only a table of no people may be pushed in: the intervals of the over-time series,
        # and the series' calendar (a row per day of the span, ``_day``: at most ten years).
        names = set(getattr(data, "column_names", None) or getattr(data, "columns", ()))
        rows = getattr(data, "num_rows", None) or len(data)
        calendar = "_day" in names and rows <= 3660
        if names & {"user_id", "enrolment_id", "_uid"} or (rows > cells and not calendar):
            made.append((sorted(names), rows))
        return real_memtable(data, *args, **kwargs)

    def to_pyarrow(self: Any, expr: Any, *args: Any, **kwargs: Any) -> Any:
        table = real_to_pyarrow(self, expr, *args, **kwargs)
        names = set(getattr(table, "column_names", ()))
        # Coverage reads cells by area, sex and age band (at most 20 bands and 3 sexes an area).
        by_age = bool(names & {"band", "age_band"}) and {"area", "sex"} <= names
        rows = getattr(table, "num_rows", 1)
        sizes.append(-(-rows // (20 * 3)) if by_age else rows)
        return table

    monkeypatch.setattr(ibis, "memtable", memtable)
    monkeypatch.setattr(backend_class, "to_pyarrow", to_pyarrow)
    report = build_report(dataset, PERIOD, registry=registry, by=BY)
    assert report.metrics and not report.metric_errors
    assert not made
    assert sizes and max(sizes) <= cells


def test_populations_counted_by_the_caller_are_not_counted_again(monkeypatch) -> None:
    """``counted`` (a report's own counts) gives the same figures without a second count."""
    import threeml.metrics.evaluate as evaluate_module

    registry = default_registry()
    dataset = Dataset.from_folder(demo_folder())
    metrics = [registry.metric("user-years"), registry.metric("bed-days-per-head")]
    expected = evaluate_metrics(metrics, dataset, PERIOD, registry, by=BY)
    counted = count_many([registry.counting("in-receipt")], dataset, PERIOD, by=BY)

    def no_count(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the population was counted again")

    monkeypatch.setattr(evaluate_module, "count_members_periods", no_count)
    found = evaluate_metrics(metrics, dataset, PERIOD, registry, by=BY, counted=counted)
    for metric in metrics:
        assert _same(_figures(found[metric.name]), _figures(expected[metric.name]))
    # A result for another period or other breakdowns is not reused: it is counted.
    monkeypatch.undo()
    other = count_many([registry.counting("in-receipt")], dataset, PERIOD, by=())
    again = evaluate_metrics(metrics, dataset, PERIOD, registry, by=BY, counted=other)
    assert _same(_figures(again["user-years"]), _figures(expected["user-years"]))


def test_per_member_facts_take_breakdowns_from_the_members_table(monkeypatch) -> None:
    """With populations counted members-only, a metric's breakdown columns come from the
    stored members table (``MetricContext.grouped_members``): no per-member facts table joins
    the users table again for them. (Coverage reads the users' sex and age itself.)"""
    dataset = Dataset.from_folder(demo_folder())
    registry = default_registry()
    joined: list[str] = []
    grouped = MetricContext.grouped

    def watched(self: MetricContext, facts: ibis.Table) -> ibis.Table:
        if not all(f"_by_{b}" in facts.columns for b in self.by):
            joined.append(self.metric.name)
        return grouped(self, facts)

    monkeypatch.setattr(MetricContext, "grouped", watched)
    metrics = [m for m in registry.metric_definitions() if m.measure.kind != "coverage"]
    errors: dict[str, str] = {}
    results = evaluate_metrics(metrics, dataset, PERIOD, registry, by=BY, errors=errors)
    assert len(results) >= 10, errors
    assert joined == []


def test_progress_to_target_counts_its_trend_start_in_the_populations_pass(monkeypatch) -> None:
    """Progress to target's count at the start of its trend (a period overlapping the
    evaluation's) comes from the populations' one pass: no count of its own, and the figures
    of the metric evaluated alone."""
    import threeml.engine.membership as membership
    from threeml.metrics.evaluate import evaluate_metric

    dataset = Dataset.from_folder(demo_folder())
    registry = default_registry()
    metrics = [registry.metric("progress-to-target"), registry.metric("user-years")]
    alone = evaluate_metric(metrics[0], dataset, PERIOD, registry, by=BY)
    passes: list[int] = []
    real = membership._lean

    def counted(wanted, *args, **kwargs):
        passes.append(len(wanted))
        return real(wanted, *args, **kwargs)

    monkeypatch.setattr(membership, "_lean", counted)
    together = evaluate_metrics(metrics, dataset, PERIOD, registry, by=BY)
    found = together["progress-to-target"]
    assert found.details["count_trend_start"] is not None
    assert _same(_figures(found), _figures(alone))
    # telehealth and in-receipt over the period, telehealth from the period's start to the
    # trend's start (and to the extract date when it ends before the period does): one pass.
    assert len(passes) == 1
    assert passes[0] >= 3


def test_coverage_reads_sex_and_age_from_the_members_table(monkeypatch) -> None:
    """Coverage's users by area, sex and age band come from the stored members, which carry
    those users columns (its kinds' ``population_needs``): no join of the users table, and
    the figures of the metric evaluated alone."""
    from threeml.metrics.evaluate import evaluate_metric

    dataset = Dataset.from_folder(demo_folder())
    registry = default_registry()
    metrics = [registry.metric("coverage-in-receipt"), registry.metric("eligible-reached")]
    alone = {m.name: evaluate_metric(m, dataset, PERIOD, registry, by=BY) for m in metrics}
    read: list[str] = []
    table = MetricContext.table

    def watched(self: MetricContext, name: str) -> ibis.Table:
        read.append(name)
        return table(self, name)

    monkeypatch.setattr(MetricContext, "table", watched)
    together = evaluate_metrics(metrics, dataset, PERIOD, registry, by=BY)
    assert "users" not in read
    for metric in metrics:
        assert _same(_figures(together[metric.name]), _figures(alone[metric.name]))
