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
- each count cell of a metric's breakdown adds up to the same cell of its total (which
  is exact, or published under the policy beside its breakdowns);
- within each row of a metric (each group, and the total), every count lies within its
  declared parent: a proportion's numerator is no more than its denominator;
- a metric's gate is, per group and in total, the count of its population's definition
  when both are published in one output (``compare --metric``, the report);
- a definition whose criteria begin with all of another's counts, in each group, no
  more than that other one (``ltc-telehealth`` within ``active-telehealth``);
- the reasons of ``compare --diff`` add up, on each side, to the people on that side.

Amounts and statistics are not cells of the linear programme: :func:`check_derived`
proves, before the audit, that each was derived from published cells, and refuses the
output otherwise.

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
from threeml.metrics.cells import SUPPRESSED, MetricRow
from threeml.publish.audit import AuditCell, AuditOutcome, AuditProblem, AuditTable, audit
from threeml.publish.compare import PublishedComparison, PublishedDiff
from threeml.publish.counts import PublishedCell, PublishedCount
from threeml.publish.metric_audit import (
    UnderivedFigure,
    check_derived,
    metric_cells,
    population_tables,
)
from threeml.publish.metrics import PublishedMetric
from threeml.publish.provenance import NOT_AUDITED

__all__ = [
    "RAW_TOTAL",
    "UnderivedFigure",
    "audit_problem",
    "audited",
    "check_derived",
    "count_cells",
    "metric_cells",
    "nesting_tables",
    "population_tables",
    "published_metric_cells",
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
    The total is exact when ``total`` is :data:`RAW_TOTAL` (published as it is); otherwise
    it is the figure published under the policy (``None``: suppressed), and the reader
    knows the true total only to within that.
    """
    name = result.definition.name
    key = ("count", name)
    if isinstance(total, _Raw):
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


@singledispatch
def audit_problem(document: Any) -> AuditProblem | None:
    """The cells and identities ``document`` publishes (``None``: nothing to audit)."""
    return None


def _total(document: PublishedCount) -> int | _Raw | None:
    """The total a count publishes: exact (as it is), or as the policy published it."""
    if document.perturbed or not document.totals_published:
        return RAW_TOTAL  # cell-key totals carry their own noise; the audit treats them as exact
    return document.totals["count"]


@audit_problem.register
def _count_problem(document: PublishedCount) -> AuditProblem:
    published = {
        name: [cell.count for cell in cells] for name, cells in document.breakdowns.items()
    }
    return AuditProblem.build(*count_cells(document.result, published, _total(document)))


def published_metric_cells(document: PublishedMetric) -> Cells:
    """A published metric's count cells and identities, its amounts and statistics proven
    derived from published cells first (:func:`check_derived`)."""
    result = document.result
    exact = not document.total_published
    check_derived(result, document.policy, document.breakdowns, document.total, total_exact=exact)
    total = None if exact else document.total
    return metric_cells(result, document.breakdowns, total)


@audit_problem.register
def _metric_problem(document: PublishedMetric) -> AuditProblem:
    return AuditProblem.build(*published_metric_cells(document))


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
        more_cells, more_tables = published_metric_cells(metric)
        cells += more_cells
        tables += more_tables
    tables += population_tables(
        (p.result for p in document.counts.values()), (m.result for m in document.metrics)
    )
    return AuditProblem.build(cells, tables)


_SIDES = (("first", "only_first"), ("second", "only_second"))


@audit_problem.register
def _diff_problem(document: PublishedDiff) -> AuditProblem | None:
    if not document.controlled:
        return None
    diff, figures = document.diff, document.figures()
    raw = {
        "both": diff.both,
        "only_first": diff.only_first,
        "only_second": diff.only_second,
        "first": [n for _, _, n in diff.first_not_second_reasons],
        "second": [n for _, _, n in diff.second_not_first_reasons],
    }
    first, second = document.names
    cells = [
        AuditCell(("diff", name), raw[name], figures[name], f"{label}")
        for name, label in (
            ("both", f"counted by {first} and {second}"),
            ("only_first", f"{first} not {second}"),
            ("only_second", f"{second} not {first}"),
        )
    ]
    tables = []
    for side, total in _SIDES:
        keys = []
        for index, (n, (_, text, shown)) in enumerate(
            zip(raw[side], figures[f"{total}_failed"], strict=True)
        ):
            key = ("diff", side, index)
            cells.append(AuditCell(key, n, shown, f"{total} failing {text}", part=("diff", side)))
            keys.append(key)
        table = f"{total} by the criterion that left them out"
        tables.append(AuditTable(table, ("diff", total), keys))
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
        withheld=tuple(name for name, value in row.cells.items() if value is not None),
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


@suppressing.register
def _suppress_diff(
    document: PublishedDiff, keys: frozenset[Hashable], parts: frozenset[Hashable] = frozenset()
) -> PublishedDiff:
    cells = {(key[1], key[2]) for key in keys if len(key) == 3 and key[0] == "diff"}
    sides = {part[1] for part in parts if part[0] == "diff"}
    return attrs.evolve(
        document, suppressed=document.suppressed | cells, withheld=document.withheld | sides
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
