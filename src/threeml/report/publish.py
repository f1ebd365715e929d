"""A :class:`~threeml.report.model.Report` as publishable data, under a disclosure policy.

:func:`publish` is the only way the report's writers see figures: totals over
all areas (and the attrition tables, which are about all areas) as they are,
every breakdown cell through :meth:`DisclosurePolicy.apply_breakdown` (primary
and secondary suppression), and every metric's breakdown rows derived again
from the published cells, so proportions and rates come from the rounded
figures and are suppressed when either is. The result is plain, JSON-ready
data in a stable order, with the policy recorded in it.
"""

from __future__ import annotations

from typing import Any

import attrs

from threeml._version import __version__
from threeml.engine.results import CountResult
from threeml.metrics.measures import (
    COUNT,
    PUBLIC,
    SUPPRESSED,
    MetricResult,
    MetricRow,
    json_number,
    json_ready,
)
from threeml.publish.disclosure import DisclosurePolicy
from threeml.report.model import Report

__all__ = ["ALL_AREAS", "publish", "publish_count", "publish_metric_rows"]

#: What outputs say about figures disclosure control does not apply to.
ALL_AREAS = "not applied (all areas)"


def _group(value: Any) -> str:
    return "(missing)" if value is None else str(value)


def publish_count(result: CountResult, policy: DisclosurePolicy) -> dict[str, Any]:
    """One counting definition's figures: totals and attrition raw, breakdowns under ``policy``."""
    definition = result.definition
    breakdowns = {}
    for name in sorted(result.breakdowns):
        rows = sorted(result.breakdowns[name], key=lambda r: (r.value is None, str(r.value)))
        published = policy.apply_breakdown([row.count for row in rows])
        breakdowns[name] = [
            {"group": _group(row.value), "count": value, "suppressed": value is None}
            for row, value in zip(rows, published, strict=True)
        ]
    return {
        "name": definition.name,
        "version": definition.version,
        "title": definition.title,
        "description": definition.description,
        "unit": definition.unit.value,
        "source": definition.source.describe() if definition.source else None,
        "count": result.count,
        "users": result.users,
        "records": result.records,
        "considered": result.considered,
        "attrition": [
            {
                "step": step.index,
                "criterion": step.criterion,
                "remaining": step.remaining,
                "excluded": step.excluded,
                "leave_one_out": step.leave_one_out,
            }
            for step in result.attrition
        ],
        "breakdowns": breakdowns,
    }


def _row(row: MetricRow) -> dict[str, Any]:
    return {
        "numerator": json_number(row.numerator),
        "denominator": json_number(row.denominator),
        "value": json_number(row.value),
        "ci_low": json_number(row.ci_low),
        "ci_high": json_number(row.ci_high),
        "reason": row.reason,
        "details": json_ready(dict(row.details)),
    }


def publish_metric_rows(
    result: MetricResult, policy: DisclosurePolicy
) -> dict[str, list[MetricRow]]:
    """A metric's breakdown rows under ``policy``, with secondary suppression per count cell.

    Each count cell (people, events …) is published across the groups of one
    breakdown with :meth:`DisclosurePolicy.apply_breakdown`; amounts and
    statistics go with the row's gate cell; public cells stay. The row's figures
    are then derived again from the published cells.
    """
    out: dict[str, list[MetricRow]] = {}
    kinds = result.cell_kinds
    for name in sorted(result.breakdowns):
        rows = sorted(result.breakdowns[name], key=lambda r: (r.group is None, str(r.group)))
        names = sorted({cell for row in rows for cell in row.cells})
        columns = {
            cell: policy.apply_breakdown(
                [None if row.cells.get(cell) is None else int(row.cells[cell]) for row in rows]
            )
            for cell in names
            if kinds.get(cell, COUNT) == COUNT
        }
        published = []
        for i, row in enumerate(rows):
            if result.derive is None or not row.cells:
                published.append(MetricRow(group=row.group, reason=SUPPRESSED, suppressed=True))
                continue
            gate = columns.get(result.gate, [None] * len(rows))[i]
            cells: dict[str, Any] = {}
            for cell, value in row.cells.items():
                kind = kinds.get(cell, COUNT)
                if value is None or kind == PUBLIC:
                    cells[cell] = value
                elif kind == COUNT:
                    cells[cell] = columns[cell][i]
                else:
                    cells[cell] = value if gate is not None else None
            withheld = any(cells[c] is None and row.cells[c] is not None for c in row.cells)
            derived = result.derive(cells)
            reason = derived.reason
            if derived.value is None and withheld:
                reason = SUPPRESSED
            published.append(
                attrs.evolve(
                    derived, group=row.group, cells=cells, suppressed=withheld, reason=reason
                )
            )
        out[name] = published
    return out


def _metric(result: MetricResult, policy: DisclosurePolicy) -> dict[str, Any]:
    metric = result.metric
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
        **_row(result.total),
        "breakdowns": {
            name: [
                {"group": _group(row.group), **_row(row), "suppressed": row.suppressed}
                for row in rows
            ]
            for name, rows in publish_metric_rows(result, policy).items()
        },
    }


def publish(report: Report, policy: DisclosurePolicy) -> dict[str, Any]:
    """The whole report as plain data under ``policy``: what every output file is written from."""
    metrics = []
    for metric in report.metric_definitions:
        if metric.name in report.metrics:
            metrics.append(_metric(report.metrics[metric.name], policy))
        else:
            metrics.append(
                {
                    "name": metric.name,
                    "version": metric.version,
                    "title": metric.title,
                    "description": metric.description,
                    "measure": metric.measure.kind,
                    "population": metric.population,
                    "evaluated": False,
                    "error": report.metric_errors.get(metric.name, "not evaluated"),
                }
            )
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
        "over_time": {
            "disclosure": ALL_AREAS,
            "periods": [
                {"label": label, "start": p.start.isoformat(), "end": p.end.isoformat()}
                for label, p, _ in report.over_time
            ],
            "counts": {
                name: [figures[name] for _, _, figures in report.over_time]
                for name in report.counts
            },
        },
    }
