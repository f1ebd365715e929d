"""A :class:`~threeml.metrics.measures.MetricResult` as publishable data.

The total over all areas is published as it is unless breakdowns are published beside
it (then through the policy, :func:`published_total`; under a perturbing policy such as
``cell-key``, whose cell keys metrics do not carry, it falls back to the policy's
rounding like a breakdown row, so it cannot undo the perturbed counts); every breakdown
row is the
one :meth:`MetricResult.published <threeml.metrics.measures.MetricResult.published>`
gives under the policy (cells through the policy, figures derived again from
what is left). :func:`publish_metric` computes those rows once
(:class:`PublishedMetric`); the command line's JSON and CSV
(:func:`metric_to_dict`, :func:`metric_rows`), its tables, ``threeml compare
--metric`` and the report are all written from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from attrs import field, frozen

from threeml.definitions.policies import DisclosurePolicy
from threeml.metrics.cells import MetricRow, publish_rows
from threeml.metrics.contract import MetricResult
from threeml.publish.counts import ALL_AREAS
from threeml.publish.numbers import json_number, json_ready
from threeml.publish.provenance import NOT_AUDITED, Provenance, stamp_data, stamp_items

__all__ = [
    "METRIC_COLUMNS",
    "PublishedMetric",
    "metric_breakdowns",
    "metric_rows",
    "metric_to_dict",
    "publish_metric",
    "published_total",
    "row_figures",
]

#: The columns of :func:`metric_rows`.
METRIC_COLUMNS = (
    "metric",
    "version",
    "population",
    "start",
    "end",
    "section",
    "group",
    "item",
    "value",
    "disclosure",
)


def row_figures(row: MetricRow) -> dict[str, Any]:
    """A row's main figures as JSON holds them: numerator, denominator, value, interval, reason."""
    return {
        "numerator": json_number(row.numerator),
        "denominator": json_number(row.denominator),
        "value": json_number(row.value),
        "ci_low": json_number(row.ci_low),
        "ci_high": json_number(row.ci_high),
        "reason": row.reason,
    }


def _row_dict(row: MetricRow) -> dict[str, Any]:
    """A row's figures with its details alongside (the command line's shape)."""
    return {**row_figures(row), **json_ready(dict(row.details))}


def _flatten(prefix: str, value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, Mapping):
        items = []
        for key, inner in value.items():
            items += _flatten(f"{prefix}.{key}" if prefix else str(key), inner)
        return items
    if isinstance(value, list):
        return [(prefix, "; ".join(str(v) for v in value))]
    return [(prefix, value)]


@frozen
class PublishedMetric:
    """A metric's published figures: the raw total, and each breakdown's rows under ``policy``.

    ``audit`` is the disclosure audit's outcome, set when the metric is written.
    """

    result: MetricResult
    policy: DisclosurePolicy
    breakdowns: Mapping[str, tuple[MetricRow, ...]]
    #: The total as published (see :meth:`MetricResult.published_total
    #: <threeml.metrics.contract.MetricResult.published_total>`; under a perturbing policy,
    #: which metric cells carry no cell keys for, the total falls back to rounding).
    total: MetricRow
    #: Where the figures came from (:mod:`threeml.publish.provenance`); ``None``: not known.
    provenance: Provenance | None = None
    #: The disclosure audit's outcome (a text, or a value with ``describe()``/``to_dict()``).
    audit: Any = field(default=NOT_AUDITED)
    #: Whether rows left out by an area filter (:func:`threeml.publish.areas.only_areas`)
    #: held a suppressed cell: the total keeps the treatment the whole breakdown gave it.
    withheld_suppressed: bool = False

    @property
    def total_published(self) -> bool:
        """Whether the total went through the policy (rather than published as it is)."""
        if self.policy.perturbs:
            return True
        suppressed = self.withheld_suppressed or any(
            row.suppressed for rows in self.breakdowns.values() for row in rows
        )
        return self.policy.rounds_totals(bool(self.result.breakdowns), suppressed)

    def breakdown_data(self) -> dict[str, list[dict[str, Any]]]:
        """The published breakdowns as plain data, one object per group."""
        return {
            name: [
                {
                    "group": json_ready(row.group),
                    **_row_dict(row),
                    "suppressed": row.suppressed,
                    "withheld": list(row.withheld),
                }
                for row in rows
            ]
            for name, rows in self.breakdowns.items()
        }

    def data(self) -> dict[str, Any]:
        """The metric as one JSON-ready object (what ``threeml metric --format json`` prints)."""
        result, metric = self.result, self.result.metric
        return {
            "metric": metric.name,
            "version": metric.version,
            "title": metric.title,
            "measure": metric.measure.kind,
            "population": result.population,
            "period": {
                "start": result.period.start.isoformat(),
                "end": result.period.end.isoformat(),
            },
            "extract_date": result.extract_date.isoformat() if result.extract_date else None,
            "higher_is_better": metric.higher_is_better,
            **_row_dict(self.total),
            "labels": dict(result.labels),
            "options": json_ready(dict(result.options)),
            "breakdown": self.breakdown_data(),
            "disclosure": self.policy.describe(),
            "source": metric.source.describe() if metric.source else None,
            **stamp_data(self.provenance, self.audit),
        }

    def columns(self) -> tuple[str, ...]:
        """The columns of :meth:`rows`."""
        return METRIC_COLUMNS

    def rows(self) -> list[dict[str, Any]]:
        """The metric as long-format rows (one figure per row), for CSV.

        Columns: metric, version, population, start, end, section (``total``,
        ``breakdown:<name>`` or ``provenance``), group, item, value, disclosure. Nested
        figures are named with dots (``arms.intervention.proportion``).
        """
        result = self.result
        base = {
            "metric": result.metric.name,
            "version": result.metric.version,
            "population": result.population,
            "start": result.period.start.isoformat(),
            "end": result.period.end.isoformat(),
        }
        stated = self.policy.describe()
        rows = [
            {
                **base,
                "section": "total",
                "group": "",
                "item": item,
                "value": "" if value is None else value,
                "disclosure": stated if self.total_published else ALL_AREAS,
            }
            for item, value in _flatten("", _row_dict(self.total))
        ]
        for name, groups in self.breakdown_data().items():
            for group in groups:
                label = group.pop("group")
                for item, value in _flatten("", group):
                    rows.append(
                        {
                            **base,
                            "section": f"breakdown:{name}",
                            "group": "" if label is None else label,
                            "item": item,
                            "value": "" if value is None else value,
                            "disclosure": stated,
                        }
                    )
        for item, value in stamp_items(self.provenance, self.audit):
            stamp = {"section": "provenance", "group": "", "item": item, "value": value}
            rows.append({**base, **stamp, "disclosure": ""})
        return rows


def publish_metric(
    result: MetricResult, policy: DisclosurePolicy, *, provenance: Provenance | None = None
) -> PublishedMetric:
    """``result`` as it may be published under ``policy``: every breakdown row computed once.

    ``provenance`` (:func:`~threeml.publish.provenance.provenance_of`) is stated in every
    format.
    """
    breakdowns = result.published(policy)
    if policy.perturbs:
        (total,) = publish_rows(
            (result.total,), result.cell_kinds, result.gate, result.derive, policy
        )
    else:
        total = published_total(result, policy, breakdowns)
    return PublishedMetric(result, policy, breakdowns, total, provenance=provenance)


def published_total(
    result: MetricResult, policy: DisclosurePolicy, breakdowns: Mapping[str, Any]
) -> MetricRow:
    """The metric's total as it may be published beside ``breakdowns`` (published rows).

    Its counts and amounts go through the policy whenever the policy rounds totals
    beside these breakdowns (:meth:`DisclosurePolicy.rounds_totals
    <threeml.definitions.policies.DisclosurePolicy.rounds_totals>`: under the default,
    whenever a breakdown is asked for), else they are published as they are; quantiles
    of fewer units than the policy's minimum are withheld either way. The rule is
    :meth:`MetricResult.published_total <threeml.metrics.contract.MetricResult.published_total>`.
    """
    return result.published_total(policy, breakdowns)


def metric_breakdowns(
    result: MetricResult, policy: DisclosurePolicy
) -> dict[str, list[dict[str, Any]]]:
    """The published breakdowns as plain data, one object per group."""
    return publish_metric(result, policy).breakdown_data()


def metric_to_dict(result: MetricResult, policy: DisclosurePolicy) -> dict[str, Any]:
    """The result as one JSON-ready object: the total as it is, breakdowns under ``policy``."""
    return publish_metric(result, policy).data()


def metric_rows(result: MetricResult, policy: DisclosurePolicy) -> list[dict[str, Any]]:
    """The result as long-format rows (one figure per row), for CSV.

    Columns: metric, version, population, start, end, section (``total`` or
    ``breakdown:<name>``), group, item, value, disclosure. Nested figures are
    named with dots (``arms.intervention.proportion``).
    """
    return publish_metric(result, policy).rows()
