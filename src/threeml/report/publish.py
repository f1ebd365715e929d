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
from threeml.publish.series import PublishedSeries, publish_series
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


def over_time_series(report: Report, policy: DisclosurePolicy) -> PublishedSeries | None:
    """The report's counts over time (by area when asked for) and its stock and flow, as a
    series published under ``policy`` (every figure through it, totals included; audited with
    the rest of the report, :mod:`threeml.report.audit`). ``None``: no counts over time."""
    if not report.intervals:
        return None
    if policy.perturbs and any(r.cell_keys is None for rs in report.over_time_results.values()
                               for r in rs):  # fmt: skip
        raise MissingCellKeys(
            f"the {policy.name} policy perturbs each count by its cell key, and this "
            "report was built without them: build it with cell_keys=policy.cell_key"
        )
    return publish_series(
        report.intervals, policy, counts=report.over_time_results, flow=report.flow
    )


def _values(series: PublishedSeries, kind: str) -> dict[str, Any]:
    """The series' figures of ``kind`` as ``{name: {group_by: {group: {figure: [values]}}}}``,
    one value per interval (``None``: suppressed or not published)."""
    where = {interval.label: i for i, interval in enumerate(series.intervals)}
    n = len(series.intervals)
    out: dict[str, Any] = {}
    for row in series.figures():
        if row["kind"] != kind:
            continue
        groups = out.setdefault(row["name"], {}).setdefault(row["group_by"], {})
        figures = groups.setdefault(row["group"], {})
        figures.setdefault(row["figure"], [None] * n)[where[row["interval"]]] = row["value"]
    return out


def over_time_data(series: PublishedSeries | None, every: str | None) -> dict[str, Any]:
    """The report's ``over_time`` section from its published series.

    ``counts``: per definition, its count over all areas in each interval; ``breakdowns``:
    per definition and breakdown, each group's counts; ``flow``: the stock and flow's
    figures over all areas (``all``) and per group; ``notes``: what the series says of itself.
    """
    if series is None:
        return {"disclosure": ALL_AREAS, "periods": [], "counts": {}, "breakdowns": {},
                "flow": None, "notes": []}  # fmt: skip
    counts = _values(series, "definition")
    flow = _values(series, "flow")
    flow_data = None
    if series.flow is not None and flow:
        ((name, groups),) = flow.items()
        flow_data = {
            "name": name,
            "by": series.flow.result.by,
            "all": groups.get("", {}).get("all", {}),
            "groups": next((g for by, g in groups.items() if by), {}),
        }
    return {
        "disclosure": series.policy.describe(),
        "every": every,
        "periods": [
            {"label": i.label, "start": i.start.isoformat(), "end": i.end.isoformat()}
            for i in series.intervals
        ],
        "counts": {
            name: groups.get("", {}).get("all", {}).get("count", [None] * len(series.intervals))
            for name, groups in counts.items()
        },
        "breakdowns": {
            name: {
                by: {group: figures["count"] for group, figures in found.items()}
                for by, found in groups.items()
                if by
            }
            for name, groups in counts.items()
        },
        "flow": flow_data,
        "notes": list(series.notes),
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
    report: Report,
    policy: DisclosurePolicy,
    *,
    audit: Any = NOT_AUDITED,
    series: PublishedSeries | None = None,
) -> dict[str, Any]:
    """The whole report as plain data under ``policy``: what every output file is written from.

    ``audit`` is the disclosure audit's outcome, stated with the provenance. ``series`` is
    the counts over time as published (default: :func:`over_time_series`).
    """
    if series is None:
        series = over_time_series(report, policy)
    metrics = [
        _metric(report.metrics[metric.name], policy)
        if metric.name in report.metrics
        else _unevaluated(metric, report.metric_errors.get(metric.name, "not evaluated"))
        for metric in report.metric_definitions
    ]
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
        "over_time": over_time_data(series, _every(report)),
        "plugin_failures": list(report.plugin_failures),
        **stamp_data(report_provenance(report, policy), audit),
    }


def _every(report: Report) -> str | None:
    """What the report's intervals are (``month``, ``quarter`` …), from their labels."""
    if not report.intervals:
        return None
    label = report.intervals[0].label
    if label.startswith("FY"):
        return "financial-year"
    if "-Q" in label:
        return "quarter"
    return "month" if "-" in label else "year"


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
    #: The counts over time and stock and flow as published (``data["over_time"]`` holds them).
    series: PublishedSeries | None = field(default=None, repr=False)

    def with_audit(self, audit: Any) -> PublishedReport:
        """This report with the audit's outcome ``audit`` recorded (in ``data`` too)."""
        data = {**self.data, "audit": audit_data(audit)}
        return PublishedReport(self.report, self.policy, data, self.title, audit, self.series)

    def with_series(self, series: PublishedSeries | None) -> PublishedReport:
        """This report with its counts over time published as ``series`` (after the audit
        suppressed more of them)."""
        data = {**self.data, "over_time": over_time_data(series, _every(self.report))}
        return PublishedReport(self.report, self.policy, data, self.title, self.audit, series)


def publish_report(
    report: Report,
    policy: DisclosurePolicy,
    *,
    title: str = "threeml report",
    audit: Any = NOT_AUDITED,
) -> PublishedReport:
    """``report`` under ``policy``, ready for every output format, with the audit's outcome."""
    series = over_time_series(report, policy)
    data = publish(report, policy, audit=audit, series=series)
    return PublishedReport(report, policy, data, title, audit, series)
