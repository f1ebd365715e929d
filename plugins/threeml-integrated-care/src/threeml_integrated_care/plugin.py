"""Hook implementations: supply the integrated-care metrics and their measure kinds."""

from __future__ import annotations

from collections.abc import Sequence

from threeml.definitions import CountingDefinition, MetricDefinition
from threeml.metrics.measures import MeasureKind
from threeml.plugins.hookspecs import hookimpl
from threeml_integrated_care.definitions import COUNTING, METRICS
from threeml_integrated_care.kinds import KINDS


@hookimpl
def threeml_counting_definitions() -> Sequence[CountingDefinition]:
    """The populations the metrics need that the standard definitions do not supply."""
    return COUNTING


@hookimpl
def threeml_metric_definitions() -> Sequence[MetricDefinition]:
    """The integrated-care metrics."""
    return METRICS


@hookimpl
def threeml_measure_kinds() -> Sequence[MeasureKind]:
    """The measure kinds that evaluate them."""
    return KINDS
