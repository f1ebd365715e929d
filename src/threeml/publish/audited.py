"""Every published document audited before it is written: its cells, the audit, the result.

:func:`audit_problem` gathers the cells of one document (a count, a metric, a
comparison of definitions; the report registers its own) into an
:class:`~threeml.publish.audit.AuditProblem`; :func:`suppressing` gives the
document with more cells suppressed; :func:`audited` runs the audit and returns
the document as it will be written, carrying the outcome in its ``audit`` field.
Both are :func:`functools.singledispatch` functions with one implementation per
kind of document. :func:`threeml.publish.formats.write` calls :func:`audited`, so
nothing leaves through the output formats unaudited.

The identities a reader can state, used here:

- each breakdown of a count adds up to its total over all areas (published exactly);
  a breakdown where one unit may fall in several groups (service kind, sector) adds
  up to at least it;
- each count cell of a metric's breakdown adds up to the same cell of its total;
- a definition whose criteria begin with all of another's counts, in each group, no
  more than that other one (``ltc-telehealth`` within ``active-telehealth``).

An identity is used only when the true figures satisfy it
(:meth:`AuditProblem.build <threeml.publish.audit.AuditProblem.build>`).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from functools import singledispatch
from typing import Any

import attrs

from threeml.definitions.policies import DisclosurePolicy
from threeml.engine.results import CountResult
from threeml.metrics.cells import COUNT, SUPPRESSED, MetricRow
from threeml.metrics.contract import MetricResult
from threeml.publish.audit import AuditCell, AuditOutcome, AuditProblem, AuditTable, audit
from threeml.publish.compare import PublishedComparison
from threeml.publish.counts import PublishedCell, PublishedCount
from threeml.publish.metrics import PublishedMetric
from threeml.publish.provenance import NOT_AUDITED

__all__ = [
    "audit_problem",
    "audited",
    "count_cells",
    "metric_cells",
    "nesting_tables",
    "suppressing",
    "with_outcome",
    "withheld",
]

Cells = tuple[list[AuditCell], list[AuditTable]]


def _order(value: Any) -> tuple[bool, str]:
    return value is None, str(value)


def _label(value: Any) -> str:
    return "(missing)" if value is None else str(value)


class _Raw:
    """Marks a total published as it is."""


#: A count's total published as it is (the default).
RAW_TOTAL = _Raw()


def count_cells(
    result: CountResult,
    published: Mapping[str, Sequence[int | None]],
    total: int | _Raw | None = RAW_TOTAL,
) -> Cells:
    """The cells of one count: its total and each breakdown's published cells.

    ``published`` holds each breakdown's published counts in group order (missing last).
    The total is exact unless a breakdown has a suppressed cell: then it was published
    under the policy too (``total``, the published figure), and the reader knows it only
    to within that.
    """
    name = result.definition.name
    key = ("count", name)
    beside = any(value is None for values in published.values() for value in values)
    if not beside or isinstance(total, _Raw):
        cells = [AuditCell(key, result.count, result.count, f"{name} total", exact=True)]
    else:
        cells = [AuditCell(key, result.count, total, f"{name} total")]
    total = key
    tables = []
    for breakdown, rows in result.breakdowns.items():
        ordered = sorted(rows, key=lambda row: _order(row.value))
        keys = []
        for index, (row, shown) in enumerate(zip(ordered, published[breakdown], strict=True)):
            key = ("count", name, breakdown, index)
            label = f"{name} by {breakdown}: {_label(row.value)}"
            cells.append(AuditCell(key, row.count, shown, label, part=key[:3]))
            keys.append(key)
        tables.append(AuditTable(f"{name} by {breakdown}", total, keys))
    return cells, tables


def nesting_tables(results: Iterable[CountResult]) -> list[AuditTable]:
    """Per group: a definition that extends another's criteria counts no more than it."""
    results = list(results)
    tables = []
    for inner in results:
        for outer in results:
            a, b = inner.definition, outer.definition
            if a.name == b.name or a.unit != b.unit or len(b.criteria) >= len(a.criteria):
                continue
            if tuple(a.criteria[: len(b.criteria)]) != tuple(b.criteria):
                continue
            for breakdown, rows in inner.breakdowns.items():
                outer_rows = {row.value: row for row in outer.breakdowns.get(breakdown, ())}
                inner_order = sorted(rows, key=lambda row: _order(row.value))
                outer_order = sorted(outer_rows.values(), key=lambda row: _order(row.value))
                where = {row.value: i for i, row in enumerate(outer_order)}
                for index, row in enumerate(inner_order):
                    if row.value in where:
                        tables.append(
                            AuditTable(
                                f"{a.name} within {b.name} by {breakdown}",
                                ("count", a.name, breakdown, index),
                                [("count", b.name, breakdown, where[row.value])],
                                relation="ge",
                            )
                        )
    return tables


def metric_cells(result: MetricResult, published: Mapping[str, Sequence[MetricRow]]) -> Cells:
    """The count cells of one metric: each cell of its total, exact, and of every group."""
    name = result.metric.name
    counted = [
        cell
        for cell, value in result.cells.items()
        if result.cell_kinds.get(cell, COUNT) == COUNT and isinstance(value, int | float)
    ]
    cells = [
        AuditCell(("metric", name, cell), result.cells[cell], result.cells[cell], exact=True)
        for cell in counted
    ]
    tables = []
    for breakdown, rows in result.breakdowns.items():
        ordered = sorted(rows, key=lambda row: _order(row.group))
        shown = published[breakdown]
        for cell in counted:
            keys = []
            for index, (row, out) in enumerate(zip(ordered, shown, strict=True)):
                raw = row.cells.get(cell)
                if raw is None:
                    continue
                key = ("metric", name, breakdown, cell, index)
                label = f"{name} by {breakdown}: {_label(row.group)} ({cell})"
                value = out.cells.get(cell) if out.cells else None
                cells.append(AuditCell(key, raw, value, label, part=key[:3]))
                keys.append(key)
            table = f"{name} by {breakdown} ({cell})"
            tables.append(AuditTable(table, ("metric", name, cell), keys))
    return cells, tables


@singledispatch
def audit_problem(document: Any) -> AuditProblem | None:
    """The cells and identities ``document`` publishes (``None``: nothing to audit)."""
    return None


def _total(document: PublishedCount) -> int | _Raw | None:
    """The total a count publishes: exact (as it is), or as the policy published it."""
    if document.perturbed:
        return RAW_TOTAL  # cell-key totals carry their own noise; the audit treats them as exact
    return document.totals["count"]


@audit_problem.register
def _count_problem(document: PublishedCount) -> AuditProblem:
    published = {
        name: [cell.count for cell in cells] for name, cells in document.breakdowns.items()
    }
    return AuditProblem.build(*count_cells(document.result, published, _total(document)))


@audit_problem.register
def _metric_problem(document: PublishedMetric) -> AuditProblem:
    return AuditProblem.build(*metric_cells(document.result, document.breakdowns))


@audit_problem.register
def _comparison_problem(document: PublishedComparison) -> AuditProblem:
    cells: list[AuditCell] = []
    tables: list[AuditTable] = []
    for published in document.counts.values():
        found = {name: [c.count for c in cs] for name, cs in published.breakdowns.items()}
        more_cells, more_tables = count_cells(published.result, found, _total(published))
        cells += more_cells
        tables += more_tables
    tables += nesting_tables(p.result for p in document.counts.values())
    for metric in document.metrics:
        more_cells, more_tables = metric_cells(metric.result, metric.breakdowns)
        cells += more_cells
        tables += more_tables
    return AuditProblem.build(cells, tables)


@singledispatch
def suppressing(
    document: Any, keys: frozenset[Hashable], parts: frozenset[Hashable] = frozenset()
) -> Any:
    """``document`` with the cells ``keys`` suppressed and the breakdowns ``parts`` withheld.

    Keys and parts are as :func:`audit_problem` names them: a cell
    ``("count", definition, breakdown, index)`` or ``("metric", metric, breakdown,
    cell, index)``, a part ``(kind, name, breakdown)``. A withheld breakdown is
    published with no groups at all.
    """
    return document


def withheld(row: MetricRow) -> MetricRow:
    """A metric row withheld whole: every figure left out, the reason stated."""
    return MetricRow(
        group=row.group,
        reason=SUPPRESSED,
        cells=dict.fromkeys(row.cells),
        suppressed=True,
    )


@suppressing.register
def _suppress_count(
    document: PublishedCount, keys: frozenset[Hashable], parts: frozenset[Hashable] = frozenset()
) -> PublishedCount:
    name = document.result.definition.name
    breakdowns = {
        breakdown: ()
        if ("count", name, breakdown) in parts
        else tuple(
            PublishedCell(cell.group, None) if ("count", name, breakdown, index) in keys else cell
            for index, cell in enumerate(cells)
        )
        for breakdown, cells in document.breakdowns.items()
    }
    return attrs.evolve(document, breakdowns=breakdowns)


@suppressing.register
def _suppress_metric(
    document: PublishedMetric, keys: frozenset[Hashable], parts: frozenset[Hashable] = frozenset()
) -> PublishedMetric:
    name = document.result.metric.name
    hit = {(key[2], key[4]) for key in keys if key[:2] == ("metric", name) and len(key) == 5}
    breakdowns = {
        breakdown: ()
        if ("metric", name, breakdown) in parts
        else tuple(
            withheld(row) if (breakdown, index) in hit else row for index, row in enumerate(rows)
        )
        for breakdown, rows in document.breakdowns.items()
    }
    return attrs.evolve(document, breakdowns=breakdowns)


@suppressing.register
def _suppress_comparison(
    document: PublishedComparison,
    keys: frozenset[Hashable],
    parts: frozenset[Hashable] = frozenset(),
) -> PublishedComparison:
    return attrs.evolve(
        document,
        counts={n: suppressing(count, keys, parts) for n, count in document.counts.items()},
        metrics=tuple(suppressing(metric, keys, parts) for metric in document.metrics),
    )


def _policy(document: Any) -> DisclosurePolicy:
    return document.policy


def audited(document: Any) -> Any:
    """``document`` as it will be written: audited, more cells suppressed if need be.

    The outcome is set in the document's ``audit`` field. A document already
    audited, or one that publishes no cells, is returned as it is. Raises
    :class:`~threeml.publish.audit.AuditRefused` when a cell cannot be protected.
    """
    found = getattr(document, "audit", NOT_AUDITED)
    if not (isinstance(found, str) and found == NOT_AUDITED):
        return document  # audited already
    problem = audit_problem(document)
    if problem is None:
        return document
    after, outcome = audit(problem, _policy(document))
    before = problem.cells
    added = frozenset(
        key for key, cell in after.cells.items() if cell.suppressed and not before[key].suppressed
    )
    parts = frozenset(
        cell.part for key, cell in before.items() if key not in after.cells and cell.part
    )
    if added or parts:
        # Withholding a metric row leaves out all its cells: more than audited, and
        # suppressing more only widens what a reader can infer.
        document = suppressing(document, added, parts)
    return with_outcome(document, outcome)


@singledispatch
def with_outcome(document: Any, outcome: AuditOutcome) -> Any:
    """``document`` carrying the audit's ``outcome`` in its ``audit`` field."""
    return attrs.evolve(document, audit=outcome)
