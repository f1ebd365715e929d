"""Definitions side by side, and the difference between two, as publishable data.

A :class:`PublishedComparison` is what ``threeml compare`` publishes: every
definition's :class:`~threeml.publish.counts.PublishedCount` with its share of
the loosest, and any metrics asked for as
:class:`~threeml.publish.metrics.PublishedMetric`. A :class:`PublishedDiff` is
what ``threeml compare --diff`` publishes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from attrs import frozen

from threeml.definitions.policies import DisclosurePolicy
from threeml.engine.compare import Comparison, Diff
from threeml.metrics.contract import MetricResult
from threeml.publish.audit import AuditOutcome
from threeml.publish.counts import PublishedCount, publish_count
from threeml.publish.metrics import PublishedMetric, publish_metric

__all__ = ["PublishedComparison", "PublishedDiff", "publish_comparison"]

#: The columns of the comparison's CSV form, one row per definition.
DEFINITION_COLUMNS = (
    "definition",
    "version",
    "unit",
    "count",
    "users",
    "records",
    "share_of_loosest",
)
#: The columns metric rows add to the comparison's CSV form.
METRIC_COLUMNS = ("population", "numerator", "denominator", "value", "ci_low", "ci_high")


@frozen
class PublishedComparison:
    """Definitions counted side by side (and metrics), as they may be published.

    ``by`` are the breakdowns of the counts; ``metric_by`` those of the metrics
    (users columns only). ``audit`` is the disclosure audit's outcome (of every
    definition and metric together), set when the comparison is written.
    """

    comparison: Comparison
    policy: DisclosurePolicy
    counts: Mapping[str, PublishedCount]
    metrics: tuple[PublishedMetric, ...] = ()
    by: tuple[str, ...] = ()
    metric_by: tuple[str, ...] = ()
    audit: AuditOutcome | None = None

    def definitions(self) -> list[dict[str, Any]]:
        """One object per definition: its totals, share of the loosest and published cells."""
        rows = []
        for name, published in self.counts.items():
            result = published.result
            share = self.comparison.share_of_loosest(name)
            rows.append(
                {
                    "definition": name,
                    "version": result.definition.version,
                    "unit": result.unit.value,
                    "count": result.count,
                    "users": result.users,
                    "records": result.records,
                    "share_of_loosest": None if share is None else round(share, 4),
                    "breakdown": {
                        b: [{"group": cell.group, "count": cell.count} for cell in cells]
                        for b, cells in published.breakdowns.items()
                    },
                }
            )
        return rows

    def data(self) -> dict[str, Any]:
        """The comparison as one JSON-ready object."""
        period = self.comparison.period
        data: dict[str, Any] = {
            "period": {"start": period.start.isoformat(), "end": period.end.isoformat()},
            "loosest": self.comparison.loosest.definition.name,
            "disclosure": self.policy.describe(),
            "audit": self.audit.to_dict() if self.audit else None,
            "definitions": self.definitions(),
        }
        if self.metrics:
            data["metrics"] = [metric.data() for metric in self.metrics]
        return data

    def columns(self) -> tuple[str, ...]:
        """The columns of :meth:`rows`: a metric's figures are added when there are metrics."""
        return DEFINITION_COLUMNS + METRIC_COLUMNS if self.metrics else DEFINITION_COLUMNS

    def rows(self) -> list[dict[str, Any]]:
        """One row per definition (totals only), then one per metric (unit ``metric``)."""
        columns = self.columns()
        flat = [
            {**dict.fromkeys(columns, ""), **{key: row[key] for key in DEFINITION_COLUMNS}}
            for row in self.definitions()
        ]
        return flat + [_metric_row(metric, columns) for metric in self.metrics]


def _metric_row(metric: PublishedMetric, columns: Sequence[str]) -> dict[str, Any]:
    """A metric as one row of the comparison's CSV: unit ``metric``, count columns empty."""
    head = metric.data()
    row = dict.fromkeys(columns, "")
    row.update(
        {
            "definition": metric.result.metric.name,
            "version": metric.result.metric.version,
            "unit": "metric",
            **{key: "" if head[key] is None else head[key] for key in METRIC_COLUMNS},
        }
    )
    return row


def publish_comparison(
    comparison: Comparison,
    policy: DisclosurePolicy,
    *,
    metrics: Sequence[MetricResult] = (),
    by: Sequence[str] = (),
    metric_by: Sequence[str] = (),
) -> PublishedComparison:
    """``comparison`` (and ``metrics`` on the same extract) as they may be published."""
    return PublishedComparison(
        comparison,
        policy,
        {name: publish_count(result, policy) for name, result in comparison.results.items()},
        tuple(publish_metric(result, policy) for result in metrics),
        tuple(by),
        tuple(metric_by),
    )


@frozen
class PublishedDiff:
    """Who is counted by one definition and not the other, and which criterion left them out."""

    diff: Diff

    @property
    def names(self) -> tuple[str, str]:
        """The two definitions' names."""
        return self.diff.first.definition.name, self.diff.second.definition.name

    def data(self) -> dict[str, Any]:
        """The difference as one JSON-ready object."""
        diff = self.diff
        first, second = self.names
        return {
            "first": first,
            "second": second,
            "both": diff.both,
            "only_first": diff.only_first,
            "only_second": diff.only_second,
            "only_first_failed": [
                {"step": i, "criterion": t, "users": n} for i, t, n in diff.first_not_second_reasons
            ],
            "only_second_failed": [
                {"step": i, "criterion": t, "users": n} for i, t, n in diff.second_not_first_reasons
            ],
        }

    def columns(self) -> tuple[str, ...]:
        """The columns of :meth:`rows`."""
        return ("side", "step", "criterion", "users")

    def rows(self) -> list[dict[str, Any]]:
        """One row per (side, criterion): how many people it left out of the other side."""
        first, second = self.names
        data = self.data()
        return [
            {
                "side": side,
                "step": row["step"],
                "criterion": row["criterion"],
                "users": row["users"],
            }
            for side, key in (
                (f"{first} not {second}", "only_first_failed"),
                (f"{second} not {first}", "only_second_failed"),
            )
            for row in data[key]
        ]
