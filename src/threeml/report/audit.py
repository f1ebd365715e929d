"""The report's disclosure audit: every definition and metric it publishes, audited together.

Registers the report's document with :func:`threeml.publish.audited.audit_problem`
and :func:`threeml.publish.audited.suppressing`: the cells are every count
breakdown of every definition with its total (with the definitions' nesting) and
every count cell of every metric's total and breakdowns (with the links between a
metric and its population's count), all in one linear programme; every metric's
amounts and statistics are proven derived from published cells first; the outcome is
stated in the report's
data (``audit``), so every file written from it carries it.
"""

from __future__ import annotations

import copy
from collections.abc import Hashable
from typing import Any

import attrs

from threeml.metrics.cells import MetricRow
from threeml.publish.audit import AuditCell, AuditOutcome, AuditProblem, AuditTable
from threeml.publish.audited import (
    RAW_TOTAL,
    audit_problem,
    count_cells,
    nesting_tables,
    population_tables,
    published_metric_cells,
    suppressing,
    with_outcome,
    withheld,
)
from threeml.publish.counts import publish_count
from threeml.publish.metrics import publish_metric, row_figures
from threeml.publish.numbers import json_ready
from threeml.publish.series_audit import series_cells, span_tables, suppress_series
from threeml.report.publish import PublishedReport

__all__: list[str] = []


@audit_problem.register
def _report_problem(document: PublishedReport) -> AuditProblem:
    report, data = document.report, document.data
    cells: list[AuditCell] = []
    tables: list[AuditTable] = []
    for definition in data["definitions"]:
        result = report.counts[definition["name"]]
        published = {
            name: [cell["count"] for cell in found]
            for name, found in definition["breakdowns"].items()
        }
        rounded = publish_count(result, document.policy).totals_published
        total = definition["count"] if rounded else RAW_TOTAL
        more_cells, more_tables = count_cells(result, published, total)
        cells += more_cells
        tables += more_tables
    tables += nesting_tables(report.counts.values())
    for result in report.metrics.values():
        more_cells, more_tables = published_metric_cells(publish_metric(result, document.policy))
        cells += more_cells
        tables += more_tables
    tables += population_tables(report.counts.values(), report.metrics.values())
    if document.series is not None:
        # The counts over time, audited with the counts over the whole period they add up to.
        more_cells, more_tables = series_cells(document.series)
        cells += more_cells
        tables += more_tables + span_tables(document.series, report.counts.values())
    return AuditProblem.build(cells, tables)


@suppressing.register
def _suppress_report(
    document: PublishedReport, keys: frozenset[Hashable], parts: frozenset[Hashable] = frozenset()
) -> PublishedReport:
    data: dict[str, Any] = copy.deepcopy(dict(document.data))
    for definition in data["definitions"]:
        for breakdown, found in definition["breakdowns"].items():
            if ("count", definition["name"], breakdown) in parts:
                found.clear()
            for index, cell in enumerate(found):
                if ("count", definition["name"], breakdown, index) in keys:
                    cell.update(count=None, suppressed=True)
    for metric in data["metrics"]:
        hit = {(k[2], k[4]) for k in keys if k[:2] == ("metric", metric["name"]) and len(k) == 5}
        for breakdown, rows in metric.get("breakdowns", {}).items():
            if ("metric", metric["name"], breakdown) in parts:
                rows.clear()
            for index, row in enumerate(rows):
                if (breakdown, index) in hit:
                    gone = withheld(MetricRow(group=row["group"]))
                    rows[index] = {
                        "group": row["group"],
                        **row_figures(gone),
                        "details": json_ready(dict(gone.details)),
                        "suppressed": True,
                    }
    document = attrs.evolve(document, data=data)
    if document.series is not None:
        document = document.with_series(suppress_series(document.series, keys, parts))
    return document


@with_outcome.register
def _report_outcome(document: PublishedReport, outcome: AuditOutcome) -> PublishedReport:
    """The report with the audit's outcome set and stated in its data."""
    return document.with_audit(outcome)
