"""A :class:`~threeml.report.model.Report` as publishable data, under a disclosure policy.

:func:`publish` is the only way the report's writers see figures. It is built
from the same published model as every command's output
(:func:`threeml.publish.counts.publish_count`,
:func:`threeml.publish.metrics.publish_metric`): totals over all areas (and
the attrition tables, which are about all areas) as they are unless a breakdown
is published beside them (then under the policy too), every breakdown
cell through the policy with secondary suppression, and every metric's
breakdown rows derived again from the published cells. The result is plain,
JSON-ready data in a stable order, with the policy recorded in it.
:func:`publish_report` wraps it as a :class:`PublishedReport`, the document
the output formats write.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from attrs import field, frozen

from threeml._version import __version__
from threeml.definitions import MetricDefinition
from threeml.definitions.policies import DisclosurePolicy
from threeml.engine.results import CountResult
from threeml.metrics.cells import MetricRow
from threeml.metrics.contract import MetricResult
from threeml.publish.counts import ALL_AREAS, MissingCellKeys
from threeml.publish.counts import publish_count as _published_count
from threeml.publish.metrics import publish_metric, row_figures
from threeml.publish.numbers import json_ready
from threeml.publish.provenance import (
    NOT_AUDITED,
    DefinitionStamp,
    Provenance,
    SetAside,
    audit_data,
    stamp_data,
)
from threeml.report.model import Report

__all__ = [
    "ALL_AREAS",
    "PublishedReport",
    "publish",
    "publish_count",
    "publish_metric_rows",
    "publish_report",
    "report_provenance",
]


def _group(value: Any) -> str:
    return "(missing)" if value is None else str(value)


def publish_count(result: CountResult, policy: DisclosurePolicy) -> dict[str, Any]:
    """One counting definition's figures: totals and attrition raw, breakdowns under ``policy``."""
    published = _published_count(result, policy)
    definition = result.definition
    return {
        "name": definition.name,
        "version": definition.version,
        "title": definition.title,
        "description": definition.description,
        "unit": definition.unit.value,
        "source": definition.source.describe() if definition.source else None,
        "totals_disclosure": policy.describe() if published.totals_published else ALL_AREAS,
        **published.totals,
        "attrition": published.attrition(),
        "breakdowns": {
            name: [
                {"group": _group(cell.group), "count": cell.count, "suppressed": cell.suppressed}
                for cell in published.breakdowns[name]
            ]
            for name in sorted(published.breakdowns)
        },
    }


def publish_metric_rows(
    result: MetricResult, policy: DisclosurePolicy
) -> dict[str, list[MetricRow]]:
    """A metric's breakdown rows under ``policy``, breakdowns in name order.

    The rows are :meth:`MetricResult.published <threeml.metrics.measures.MetricResult.published>`'s.
    """
    published = result.published(policy)
    return {name: list(published[name]) for name in sorted(published)}


def _row(row: MetricRow) -> dict[str, Any]:
    return {**row_figures(row), "details": json_ready(dict(row.details))}


def _metric(result: MetricResult, policy: DisclosurePolicy) -> dict[str, Any]:
    metric = result.metric
    published = publish_metric(result, policy)
    return {
        "name": metric.name,
        "version": metric.version,
        "title": metric.title,
        "description": metric.description,
        "measure": metric.measure.kind,
        "population": result.population,
        "higher_is_better": metric.higher_is_better,
        "source": metric.source.describe() if metric.source else None,
        "labels": dict(sorted(result.labels.items())),
        "options": json_ready(dict(sorted(result.options.items()))),
        "evaluated": True,
        "error": None,
        "totals_disclosure": policy.describe() if published.total_published else ALL_AREAS,
        **_row(published.total),
        "breakdowns": {
            name: [
                {"group": _group(row.group), **_row(row), "suppressed": row.suppressed}
                for row in published.breakdowns[name]
            ]
            for name in sorted(published.breakdowns)
        },
    }


def _unevaluated(metric: MetricDefinition, error: str) -> dict[str, Any]:
    return {
        "name": metric.name,
        "version": metric.version,
        "title": metric.title,
        "description": metric.description,
        "measure": metric.measure.kind,
        "population": metric.population,
        "evaluated": False,
        "error": error,
    }


def _over_time(
    report: Report, policy: DisclosurePolicy, beside: Mapping[str, bool]
) -> dict[str, Any]:
    """Each definition's count per quarter (or month), over all areas: as they are, unless the
    definition's totals go through the policy (then under it too); a perturbing policy
    perturbs each by its cell key."""
    counts = {
        name: [
            policy.apply(figures[name]) if beside[name] else figures[name]
            for _, _, figures in report.over_time
        ]
        for name in report.counts
    }
    stated = policy.describe() if any(beside.values()) else ALL_AREAS
    if policy.perturbs and report.over_time:
        if len(report.over_time_keys) != len(report.over_time):
            raise MissingCellKeys(
                f"the {policy.name} policy perturbs each count by its cell key, and this "
                "report was built without them: build it with cell_keys=policy.cell_key"
            )
        counts = {
            name: [
                policy.apply_keyed(figures[name], keys[name])
                for (_, _, figures), keys in zip(
                    report.over_time, report.over_time_keys, strict=True
                )
            ]
            for name in report.counts
        }
        stated = policy.describe()
    return {
        "disclosure": stated,
        "periods": [
            {"label": label, "start": p.start.isoformat(), "end": p.end.isoformat()}
            for label, p, _ in report.over_time
        ],
        "counts": counts,
    }


def report_provenance(report: Report, policy: DisclosurePolicy) -> Provenance:
    """Where ``report``'s figures came from: its definitions, policy, extract, set-aside rows."""
    used = [result.definition for result in report.counts.values()]
    used += list(report.metric_definitions)
    stamps: dict[tuple[str, str], DefinitionStamp] = {}
    for definition in used:
        stamp = DefinitionStamp.of(definition)
        stamps.setdefault((stamp.kind, stamp.name), stamp)
    aside = tuple(SetAside(t, reason, n) for (t, reason), n in sorted(report.set_aside.items()))
    return Provenance(policy.to_dict(), tuple(stamps.values()), report.fingerprint, aside)


def publish(
    report: Report, policy: DisclosurePolicy, *, audit: Any = NOT_AUDITED
) -> dict[str, Any]:
    """The whole report as plain data under ``policy``: what every output file is written from.

    ``audit`` is the disclosure audit's outcome, stated with the provenance.
    """
    metrics = [
        _metric(report.metrics[metric.name], policy)
        if metric.name in report.metrics
        else _unevaluated(metric, report.metric_errors.get(metric.name, "not evaluated"))
        for metric in report.metric_definitions
    ]
    # A definition whose totals went through the policy (a breakdown is published beside
    # them) has its counts over time put through it too: an exact count for an interval
    # must not stand in for the rounded total, nor two intervals differ by an exact figure.
    beside = {
        name: _published_count(result, policy).totals_published
        for name, result in report.counts.items()
    }
    return {
        "report": "threeml",
        "threeml_version": __version__,
        "period": {
            "label": str(report.period),
            "start": report.period.start.isoformat(),
            "end": report.period.end.isoformat(),
        },
        "extract_date": report.extract_date.isoformat() if report.extract_date else None,
        "rows": dict(sorted(report.rows.items())),
        "by": list(report.by),
        "disclosure": policy.to_dict(),
        "definitions": [publish_count(result, policy) for result in report.counts.values()],
        "metrics": metrics,
        "over_time": _over_time(report, policy, beside),
        "plugin_failures": list(report.plugin_failures),
        **stamp_data(report_provenance(report, policy), audit),
    }


@frozen
class PublishedReport:
    """The report as published: its data under the policy, the raw report behind it, a title.

    ``data`` is what :func:`publish` returns; every published file is written
    from it. ``report`` is kept for the row-level membership file only, which
    is never published.
    """

    report: Report
    policy: DisclosurePolicy
    data: Mapping[str, Any] = field(repr=False)
    title: str = "threeml report"
    #: The disclosure audit's outcome, as ``data`` states it.
    audit: Any = NOT_AUDITED

    def with_audit(self, audit: Any) -> PublishedReport:
        """This report with the audit's outcome ``audit`` recorded (in ``data`` too)."""
        data = {**self.data, "audit": audit_data(audit)}
        return PublishedReport(self.report, self.policy, data, self.title, audit)


def publish_report(
    report: Report,
    policy: DisclosurePolicy,
    *,
    title: str = "threeml report",
    audit: Any = NOT_AUDITED,
) -> PublishedReport:
    """``report`` under ``policy``, ready for every output format, with the audit's outcome."""
    return PublishedReport(report, policy, publish(report, policy, audit=audit), title, audit)
