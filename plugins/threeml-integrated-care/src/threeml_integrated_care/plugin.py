"""Hook implementations: supply the integrated-care metrics and their measure kinds.

This is the module the plugin's entry point names, so it stays import-light:
listing plugins or definitions must not load ibis or DuckDB. The measure kinds
it returns import their code (and the engine) when first evaluated.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from threeml.definitions import CountingDefinition, MetricDefinition
from threeml.plugins.hookspecs import hookimpl
from threeml_integrated_care.definitions import COUNTING, METRICS
from threeml_integrated_care.kinds import KINDS

if TYPE_CHECKING:
    from threeml.definitions.kinds import CriterionKind
    from threeml.metrics.measures import MeasureKind


@hookimpl
def threeml_counting_definitions() -> Sequence[CountingDefinition]:
    """The populations the metrics need that the standard definitions do not supply."""
    return COUNTING


@hookimpl
def threeml_metric_definitions() -> Sequence[MetricDefinition]:
    """The integrated-care metrics."""
    return METRICS


@hookimpl
def threeml_criterion_kinds() -> list[CriterionKind]:
    """The criterion kind of its trial population (allocated in the period)."""
    from threeml_integrated_care.queries import ALLOCATED_IN_PERIOD

    return [ALLOCATED_IN_PERIOD]


@hookimpl
def threeml_measure_kinds() -> Sequence[MeasureKind]:
    """The measure kinds that evaluate them."""
    return KINDS
