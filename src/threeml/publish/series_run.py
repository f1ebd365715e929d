"""The Python entry point of a series: evaluate and publish in one call.

:func:`series` is to a series what :func:`threeml.engine.evaluate.count` and
:func:`threeml.engine.compare.compare` are to one period: it evaluates every counting
definition (:func:`~threeml.engine.series.count_series`) and metric
(:func:`~threeml.metrics.series.evaluate_metrics_series`) in every interval, computes the
stock and flow over the same intervals, and returns the
:class:`~threeml.publish.series.PublishedSeries` — whose :meth:`to_pandas
<threeml.publish.series.PublishedSeries.to_pandas>` and output formats audit it before a
figure leaves. Raw results stay available from the engine's functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from threeml.definitions import CountingDefinition, MetricDefinition
from threeml.definitions.policies import DEFAULT_POLICY, DisclosurePolicy
from threeml.engine import flow as flow_module
from threeml.engine.evaluate import ENROLMENT_BREAKDOWNS
from threeml.engine.flow import FlowResult
from threeml.engine.series import count_series
from threeml.metrics.series import evaluate_metrics_series
from threeml.publish.provenance import provenance_of
from threeml.publish.series import PublishedSeries, publish_series
from threeml.records.intervals import Every, Interval, split
from threeml.records.periods import Period

if TYPE_CHECKING:
    from threeml.data import Dataset
    from threeml.plugins.registry import Registry

__all__ = ["as_intervals", "series", "stock_and_flow_of"]


def as_intervals(
    intervals: Period | str | Sequence[Interval | Period], every: Every | str | None = None
) -> tuple[Interval, ...]:
    """Intervals from a period cut ``every`` month, quarter …, or from a sequence of
    intervals or periods (a period is labelled as it prints)."""
    if isinstance(intervals, Period | str):
        if every is None:
            raise TypeError("give every= (month, quarter, year, financial-year) to cut a period")
        return split(intervals, every)
    return tuple(i if isinstance(i, Interval) else Interval(i, str(i)) for i in intervals)


def stock_and_flow_of(
    dataset: Dataset, intervals: Sequence[Interval], by: Sequence[str], errors: dict[str, str]
) -> FlowResult | None:
    """The stock and flow over ``intervals``, by area when ``by`` has it; ``None``, with the
    reason in ``errors``, when the engine does not compute it."""
    compute = getattr(flow_module, "stock_and_flow", None)
    if compute is None:
        errors["stock and flow"] = "this version of the engine does not compute it"
        return None
    return compute(dataset, tuple(intervals), by=tuple(b for b in by if b == "area"))


def series(
    dataset: Dataset,
    intervals: Period | str | Sequence[Interval | Period],
    *,
    every: Every | str | None = None,
    definitions: Sequence[CountingDefinition | str] = (),
    metrics: Sequence[MetricDefinition | str] = (),
    by: Sequence[str] = ("area",),
    policy: DisclosurePolicy = DEFAULT_POLICY,
    registry: Registry | None = None,
    flow: bool = True,
) -> PublishedSeries:
    """Every definition and metric in every interval, and the stock and flow, published.

    ``intervals`` is a sequence of intervals (or periods), or a period cut ``every``
    month, quarter, year or financial year. Definitions and metrics are given as values or
    names (default: every counting definition of ``registry``, no metrics). Metrics break
    down by the users columns of ``by``. With ``flow``, the stock and flow is added (by
    area when ``by`` has area).
    """
    if registry is None:
        from threeml.plugins.registry import default_registry

        registry = default_registry()
    chosen = as_intervals(intervals, every)
    counting = [registry.counting(d) if isinstance(d, str) else d for d in definitions] or list(
        registry.counting_definitions()
    )
    measured = [registry.metric(m) if isinstance(m, str) else m for m in metrics]
    counts = count_series(
        counting, dataset, chosen, by=tuple(by), registry=registry, cell_keys=policy.cell_key
    )
    errors: dict[str, str] = {}
    metric_by = [b for b in by if b not in ENROLMENT_BREAKDOWNS]
    found = evaluate_metrics_series(
        measured, dataset, chosen, registry, by=metric_by, errors=errors
    )
    stock = stock_and_flow_of(dataset, chosen, by, errors) if flow else None
    provenance = provenance_of(dataset, [*counting, *measured], policy)
    return publish_series(
        chosen,
        policy,
        counts=counts,
        metrics=found,
        flow=stock,
        errors=errors,
        provenance=provenance,
    )
