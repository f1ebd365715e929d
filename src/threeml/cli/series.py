"""``--every``: ``count``, ``compare``, ``metric`` and ``report`` over a series of intervals.

With ``--every month|quarter|year|financial-year`` the ``--period`` is cut into intervals
(:func:`threeml.records.intervals.split`), every interval evaluated as its own period, and
the command writes the series' long table (:class:`~threeml.publish.series.PublishedSeries`)
instead of a single period's output.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import click

from threeml.definitions import MetricDefinition
from threeml.publish import series_audit, series_formats  # noqa: F401 (registers the series)
from threeml.publish.formats import FORMATS, write
from threeml.records.intervals import Every, Interval, split
from threeml.records.periods import Period

__all__ = ["every_option", "intervals_of", "metric_for_series", "write_out"]


def every_option(function: Callable[..., Any]) -> Callable[..., Any]:
    """``--every INTERVAL`` (the parameter ``every``; ``None`` when not given)."""
    return click.option(
        "--every",
        type=click.Choice([e.value for e in Every]),
        default=None,
        help="Cut the period into months, quarters, years or financial years (April to March) "
        "and evaluate each as its own period: writes the long table of the series (one figure per "
        "row, every figure under disclosure control).",
    )(function)


def intervals_of(period: Period, every: str) -> tuple[Interval, ...]:
    """``period`` cut into intervals of ``every``."""
    return split(period, every)


def metric_for_series(
    metric: MetricDefinition, population: str | None, options: Mapping[str, Any]
) -> MetricDefinition:
    """``metric`` with another population and changed measure options (``--population``,
    ``--option``), as :func:`~threeml.metrics.evaluate.evaluate_metric` applies them."""
    if population:
        metric = attrs.evolve(metric, population=population)
    if options:
        measure = attrs.evolve(metric.measure, options={**metric.measure.options, **options})
        metric = attrs.evolve(metric, measure=measure)
    return metric


def write_out(document: Any, fmt: str) -> None:
    """Write ``document`` to standard output in ``fmt`` (bytes for a binary format)."""
    entry = FORMATS.get(fmt)
    stream = sys.stdout.buffer if entry is not None and entry.binary else sys.stdout
    write(document, fmt, stream)
    stream.flush()
