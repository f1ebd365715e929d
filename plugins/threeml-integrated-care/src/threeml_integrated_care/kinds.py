"""The measure kinds of the integrated-care metrics, by name; their code is imported when used.

Listing plugins, definitions and kinds needs only the kinds' names, so this
module imports neither ibis nor DuckDB: each entry of :data:`KINDS` is a
:class:`LazyKind` naming the module and value that hold the kind, and imports
them on the first evaluation. Every kind is a
:class:`~threeml_integrated_care.skeleton.CellMeasure` run through one evaluate
skeleton (:mod:`threeml_integrated_care.skeleton`), grouped by family:

- :mod:`~threeml_integrated_care.person_time`: ``user-years``, ``event-rate``,
  ``cost-per-user-year``;
- :mod:`~threeml_integrated_care.cohorts`: ``before-after``, ``outcome-within``;
- :mod:`~threeml_integrated_care.bed_days`: ``bed-days``;
- :mod:`~threeml_integrated_care.installations`: ``retention``, ``waiting-time``;
- :mod:`~threeml_integrated_care.targets`: ``progress-to-target``;
- :mod:`~threeml_integrated_care.trials`: ``arm-comparison``;
- :mod:`~threeml_integrated_care.coverage`: ``coverage``, ``population-reached``.

The exact semantics of every kind are in the descriptions of the metrics that
use them (:mod:`threeml_integrated_care.definitions`) and in the plugin's README.
Common to all:

- P is the evaluation period ``[start, end]``, both days inclusive; E is the
  dataset's extract date (the last day its data cover; P's end when the data
  have no dates);
- a person's date of death is their earliest ``death`` outcome; follow-up runs
  up to and including that day;
- day counts are inclusive, and a year of person-time is 365.25 days.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from importlib import import_module
from typing import TYPE_CHECKING, Any

from attrs import frozen

if TYPE_CHECKING:
    from threeml.data import Dataset
    from threeml.definitions import MetricDefinition
    from threeml.metrics.measures import MeasureKind, MetricContext, MetricResult, PopulationNeeds
    from threeml.records.periods import Period

__all__ = ["KINDS", "LazyKind"]


@frozen
class LazyKind:
    """A measure kind named here and imported from ``module``'s ``value`` when first evaluated.

    Two built from the same names are equal, so a registry sees one kind.
    """

    kind: str
    module: str
    value: str

    def load(self) -> MeasureKind:
        """The measure kind itself (importing its module, and the engine with it)."""
        loaded: MeasureKind = getattr(import_module(self.module), self.value)
        return loaded

    def evaluate(self, context: MetricContext) -> MetricResult:
        """Compute the metric for ``context`` with the loaded kind."""
        return self.load().evaluate(context)

    def population_needs(
        self, metric: MetricDefinition, dataset: Dataset, period: Period, options: Mapping[str, Any]
    ) -> PopulationNeeds:
        """What the loaded kind will read of the population besides its members."""
        ask = getattr(self.load(), "population_needs", None)
        if ask is None:
            from threeml.metrics.contract import PopulationNeeds

            return PopulationNeeds()
        found: PopulationNeeds = ask(metric, dataset, period, options)
        return found

    def evaluate_series(self, contexts: Sequence[MetricContext]) -> list[MetricResult]:
        """Compute the metric for each interval's context (one pass where the kind can)."""
        kind = self.load()
        series = getattr(kind, "evaluate_series", None)
        if series is None:
            return [kind.evaluate(context) for context in contexts]
        return list(series(contexts))


def _kind(kind: str, family: str, value: str) -> LazyKind:
    return LazyKind(kind, f"threeml_integrated_care.{family}", value)


#: Every measure kind this plugin supplies.
KINDS = (
    _kind("user-years", "person_time", "USER_YEARS"),
    _kind("event-rate", "person_time", "EVENT_RATE"),
    _kind("cost-per-user-year", "person_time", "COST_PER_USER_YEAR"),
    _kind("before-after", "cohorts", "BEFORE_AFTER"),
    _kind("outcome-within", "cohorts", "OUTCOME_WITHIN"),
    _kind("bed-days", "bed_days", "BED_DAYS"),
    _kind("retention", "installations", "RETENTION"),
    _kind("waiting-time", "installations", "WAITING_TIME"),
    _kind("progress-to-target", "targets", "PROGRESS_TO_TARGET"),
    _kind("arm-comparison", "trials", "ARM_COMPARISON"),
    _kind("coverage", "coverage", "COVERAGE"),
    _kind("population-reached", "coverage", "POPULATION_REACHED"),
)

#: The names the kinds had as classes (``UserYears()``), kept for code that built them so.
_FORMER = {
    "UserYears": "user-years",
    "EventRate": "event-rate",
    "CostPerUserYear": "cost-per-user-year",
    "BeforeAfter": "before-after",
    "OutcomeWithin": "outcome-within",
    "BedDays": "bed-days",
    "Retention": "retention",
    "WaitingTime": "waiting-time",
    "ProgressToTarget": "progress-to-target",
    "ArmComparison": "arm-comparison",
}


def _by_name(kind: str) -> LazyKind:
    return next(k for k in KINDS if k.kind == kind)


def __getattr__(name: str) -> Callable[[], Any]:
    if name in _FORMER:
        return partial(_by_name, _FORMER[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
