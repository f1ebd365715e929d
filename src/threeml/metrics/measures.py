"""The evaluation contract for metric definitions, and the built-in ``proportion`` measure.

A metric is a :class:`~threeml.definitions.MetricDefinition`: a population (a
counting definition, by name) and a :class:`~threeml.definitions.Measure`.
A *measure kind* is an object with a ``kind`` name and an ``evaluate`` method
that turns a :class:`MetricContext` into a :class:`MetricResult`: numerator,
denominator and value (and an interval where one applies) — never a bare
number. Plugins supply measure kinds through the ``threeml_measure_kinds`` hook
(see :mod:`threeml.plugins.hookspecs`); threeml itself ships ``proportion``, which is
always registered.

How a measure kind is written
-----------------------------

A measure kind computes, for the total and for each group of each breakdown,
a few raw *cells*: counts of people or events, amounts (person-years, days,
money), statistics (a median) or public figures (a target). A pure function,
``derive(cells) -> MetricRow``, turns cells into the numerator, denominator,
value, interval and any other figures. Keeping the two apart is what makes
disclosure control exact: a published breakdown row is ``derive`` applied to
the cells *after* the policy, so proportions and rates are computed from the
rounded numerator and denominator, and are suppressed when either is
(:meth:`MetricResult.published`). ``derive`` must therefore accept ``None`` for
any cell (suppressed) and say why a figure is missing in ``reason``, never
divide by zero.

:meth:`MetricContext.summarise` does the usual work: it aggregates a per-unit
ibis table of facts (one row per person, say) into the total's cells and each
group's cells, in the engine. :func:`build_result` assembles the result.

Cell kinds under a disclosure policy (see :mod:`threeml.publish.disclosure`):

``count``
    people or events: suppressed from 1 to the threshold, otherwise rounded;
``amount``
    person-years, days, money: derived from the row's published *gate* (a count
    of people, ``people`` unless the measure says otherwise) as the published
    count times the mean per unit to the policy's significant figures, so the
    amount never gives back a rounded count; withheld with the gate;
``statistic``
    a median, a quartile: withheld with the gate, and for fewer units than the
    policy's ``quantile_minimum``;
``public``
    not about people (a target, a number of days): always published.

Where it lives
--------------

This module gathers the metric layer's public names. The contract
(:class:`MetricContext`, :class:`MetricResult`, :func:`build_result`,
:class:`MeasureKind`) is in :mod:`threeml.metrics.contract`; cells, rows and
their publication in :mod:`threeml.metrics.cells`; intervals in
:mod:`threeml.metrics.intervals`; ``proportion`` in
:mod:`threeml.metrics.proportion`; :func:`evaluate_metric` in
:mod:`threeml.metrics.evaluate`. The shapes outputs are written in
(``metric_to_dict``, ``metric_rows`` …) are in :mod:`threeml.publish.metrics`.
"""

from __future__ import annotations

from typing import Any

from threeml.metrics import proportion as _proportion
from threeml.metrics.cells import (
    AMOUNT,
    COUNT,
    PUBLIC,
    STATISTIC,
    SUPPRESSED,
    MetricRow,
    publish_cells,
)
from threeml.metrics.contract import (
    MeasureKind,
    MetricContext,
    MetricError,
    MetricResult,
    PopulationNeeds,
    build_result,
    members_table,
)
from threeml.metrics.evaluate import evaluate_metric, evaluate_metrics
from threeml.metrics.intervals import Z95, wilson_interval
from threeml.metrics.proportion import Proportion, proportion_row

__all__ = [
    "AMOUNT",
    "COUNT",
    "MEASURES",
    "PUBLIC",
    "STATISTIC",
    "SUPPRESSED",
    "Z95",
    "MeasureKind",
    "MetricContext",
    "MetricError",
    "MetricResult",
    "MetricRow",
    "PopulationNeeds",
    "Proportion",
    "build_result",
    "evaluate_metric",
    "evaluate_metrics",
    "json_number",  # noqa: F822 (resolved by __getattr__)
    "json_ready",  # noqa: F822 (resolved by __getattr__)
    "members_table",
    "metric_breakdowns",  # noqa: F822 (resolved by __getattr__)
    "metric_rows",  # noqa: F822 (resolved by __getattr__)
    "metric_to_dict",  # noqa: F822 (resolved by __getattr__)
    "proportion_row",
    "publish_cells",
    "wilson_interval",
]

#: Built-in measure kinds by name (always in every registry); the mapping of
#: :mod:`threeml.metrics.proportion`.
MEASURES = _proportion.MEASURES

#: Names that moved to the publishing layer (:mod:`threeml.publish.metrics` and
#: :mod:`threeml.publish.numbers`). They are looked up there on first use, so that
#: importing the metrics layer never imports the layer after it.
_PUBLISHING = {
    "json_number": "threeml.publish.numbers",
    "json_ready": "threeml.publish.numbers",
    "metric_breakdowns": "threeml.publish.metrics",
    "metric_rows": "threeml.publish.metrics",
    "metric_to_dict": "threeml.publish.metrics",
}


def __getattr__(name: str) -> Any:
    if name in _PUBLISHING:
        import importlib

        return getattr(importlib.import_module(_PUBLISHING[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
