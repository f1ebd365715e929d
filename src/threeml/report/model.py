"""The raw report: every requested definition and metric evaluated on one extract and period.

:func:`build_report` evaluates; the :class:`Report` it returns holds raw,
unrounded figures (for use inside a secure environment). Nothing is written
from it directly: every writer in :mod:`threeml.report` works from
:func:`threeml.report.publish.publish`, which applies the disclosure policy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING

from attrs import field, frozen

from threeml.data import Dataset
from threeml.data.fingerprint import ExtractFingerprint, fingerprint
from threeml.definitions import CountingDefinition, MetricDefinition
from threeml.definitions.cellkey import CellKeyMethod
from threeml.engine.breakdowns import user_breakdowns
from threeml.engine.evaluate import count_many
from threeml.engine.flow import FlowResult
from threeml.engine.results import CountResult
from threeml.engine.series import count_series
from threeml.metrics.evaluate import evaluate_metrics
from threeml.metrics.measures import MetricResult
from threeml.publish.series_run import stock_and_flow_of
from threeml.records.intervals import Every, Interval, split
from threeml.records.periods import Period

if TYPE_CHECKING:
    from threeml.plugins.registry import Registry

__all__ = ["OVER_TIME_BY", "Report", "build_report", "default_every", "sub_periods"]

#: The breakdown of the report's counts over time (when the report asks for it).
OVER_TIME_BY = ("area",)

#: Called before each step of a long evaluation: (description, steps done, steps in all).
Progress = Callable[[str, int, int], None]


@frozen
class Report:
    """Raw results of a report run: counts, metrics and counts over time, unrounded."""

    period: Period
    extract_date: date | None
    by: tuple[str, ...]
    counts: Mapping[str, CountResult]
    metrics: Mapping[str, MetricResult] = field(factory=dict)
    #: Metrics that could not be evaluated on this extract, with the reason.
    metric_errors: Mapping[str, str] = field(factory=dict)
    #: The metrics asked for, in order (evaluated or not).
    metric_definitions: tuple[MetricDefinition, ...] = ()
    #: (label, sub-period, {definition name: count over all areas}) in time order.
    over_time: tuple[tuple[str, Period, Mapping[str, int]], ...] = ()
    #: The cell key of each ``over_time`` count, when the report was built with cell keys.
    over_time_keys: tuple[Mapping[str, int | None], ...] = ()
    #: The intervals of the counts over time (:func:`threeml.records.intervals.split`).
    intervals: tuple[Interval, ...] = ()
    #: Per definition, its count in each interval (by area when the report is by area).
    over_time_results: Mapping[str, tuple[CountResult, ...]] = field(factory=dict)
    #: The stock and flow over the intervals (``None``: not computed).
    flow: FlowResult | None = None
    rows: Mapping[str, int] = field(factory=dict)
    #: The extract's fingerprint (``None`` when not computed).
    fingerprint: ExtractFingerprint | None = None
    #: Rows a lenient load set aside: ``(table, reason) -> rows``.
    set_aside: Mapping[tuple[str, str], int] = field(factory=dict)
    #: Plugins that failed to load, each described in one line: their definitions are missing.
    plugin_failures: tuple[str, ...] = field(default=(), converter=tuple)


def _count_key(result: CountResult) -> int | None:
    return None if result.cell_keys is None else result.cell_keys.count


def sub_periods(period: Period) -> list[tuple[str, Period]]:
    """The period cut into calendar quarters (months when it is shorter than half a year).

    Each piece is clipped to the period and labelled (``2013-Q2``, ``2013-05``).
    """
    days = (period.end - period.start).days + 1
    step = 3 if days >= 180 else 1
    pieces = []
    year, month = period.start.year, ((period.start.month - 1) // step) * step + 1
    while True:
        first = date(year, month, 1)
        if first > period.end:
            break
        next_month = month + step
        next_first = date(year + (next_month - 1) // 12, (next_month - 1) % 12 + 1, 1)
        start = max(first, period.start)
        end = min(next_first - timedelta(days=1), period.end)
        label = f"{year}-Q{(month - 1) // 3 + 1}" if step == 3 else f"{year}-{month:02d}"
        pieces.append((label, Period(start, end)))
        year, month = next_first.year, next_first.month
    return pieces


def default_every(period: Period) -> Every:
    """How a report cuts its period over time: quarters, months when the period is shorter
    than half a year (as :func:`sub_periods`)."""
    days = (period.end - period.start).days + 1
    return Every.QUARTER if days >= 180 else Every.MONTH


def _metric_by(by: Sequence[str], dataset: Dataset) -> tuple[str, ...]:
    allowed = set(user_breakdowns(dataset.table("users")))
    return tuple(b for b in by if b in allowed)


def build_report(
    dataset: Dataset,
    period: Period | str,
    *,
    registry: Registry | None = None,
    definitions: Sequence[CountingDefinition] | None = None,
    metrics: Sequence[MetricDefinition] | None = None,
    by: Sequence[str] = ("area",),
    over_time: bool = True,
    progress: Progress | None = None,
    cell_keys: CellKeyMethod | None = None,
    every: Every | str | None = None,
) -> Report:
    """Evaluate ``definitions`` and ``metrics`` (default: the whole registry) on ``dataset``.

    Counting definitions are evaluated together (criteria shared); metrics together
    too (:func:`~threeml.metrics.evaluate.evaluate_metrics`: populations counted once,
    per-person facts shared), by the breakdowns of ``by`` that are users columns. A metric that
    cannot be evaluated on this extract (no allocations table for a trial
    comparison, say) is recorded in :attr:`Report.metric_errors` with the
    reason, and the others go on. With ``over_time``, every definition is also
    counted in each interval of the period (``every``: by default quarters, months when the
    period is shorter than half a year; :func:`~threeml.engine.series.count_series`, by area
    when ``by`` has area), and the stock and flow computed over the same intervals.
    ``cell_keys`` (the cell-key policy's method) asks for every count's cell keys, which that
    policy publishes through.
    """
    if registry is None:
        from threeml.plugins.registry import default_registry

        registry = default_registry()
    period = Period.parse(period) if isinstance(period, str) else period
    if definitions is None:
        definitions = registry.counting_definitions()
    if metrics is None:
        metrics = registry.metric_definitions()
    definitions, metrics = tuple(definitions), tuple(metrics)
    every = Every.parse(every) if every is not None else default_every(period)
    intervals = split(period, every) if over_time and definitions else ()
    total = 1 + (1 if metrics else 0) + (1 if intervals else 0)
    done = 0

    def step(what: str) -> None:
        nonlocal done
        if progress is not None:
            progress(what, done, total)
        done += 1

    step(f"counting {len(definitions)} definition(s)")
    counts = (
        count_many(
            definitions, dataset, period, by=tuple(by), registry=registry, cell_keys=cell_keys
        )
        if definitions
        else {}
    )
    counts = {d.name: counts[d.name] for d in definitions}
    evaluated: dict[str, MetricResult] = {}
    errors: dict[str, str] = {}
    metric_by = _metric_by(by, dataset)
    if metrics:
        step(f"{len(metrics)} metric(s) together")
        evaluated = evaluate_metrics(
            metrics, dataset, period, registry, by=metric_by, errors=errors
        )
    series, series_keys = [], []
    results: dict[str, tuple[CountResult, ...]] = {}
    flow = None
    if intervals:
        step(f"counting {len(intervals)} interval(s) of {every.value}")
        over_by = tuple(b for b in OVER_TIME_BY if b in by)
        results = count_series(
            definitions, dataset, intervals, by=over_by, registry=registry, cell_keys=cell_keys
        )
        for i, interval in enumerate(intervals):
            found = {d.name: results[d.name][i] for d in definitions}
            series.append((interval.label, interval.period, {n: r.count for n, r in found.items()}))
            if cell_keys is not None:
                series_keys.append({name: _count_key(r) for name, r in found.items()})
        flow = stock_and_flow_of(dataset, intervals, over_by, {})
    if progress is not None:
        progress("done", total, total)
    return Report(
        period=period,
        extract_date=dataset.extract_date,
        by=tuple(by),
        counts=counts,
        metrics=evaluated,
        metric_errors=errors,
        metric_definitions=metrics,
        over_time=tuple(series),
        over_time_keys=tuple(series_keys),
        intervals=tuple(intervals),
        over_time_results=results,
        flow=flow,
        rows=dict(dataset.report.rows),
        fingerprint=fingerprint(dataset),
        set_aside={
            (table, kind.value): n for (table, kind), n in dataset.report.set_aside.items() if n
        },
        plugin_failures=tuple(failure.describe() for failure in registry.failures),
    )
