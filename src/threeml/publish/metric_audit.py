"""The audit's view of a metric: its count cells, the links between them, and the proof
that its amounts and statistics were derived from published cells.

:func:`metric_cells` gives the count cells of a metric's total and of every group with
the identities a reader can state (each cell adds up over a breakdown's groups to the
total's; within a row, a count lies within its declared parent, a numerator within its
denominator);
:func:`population_tables` links a metric's gate to its population's published count;
:func:`check_derived` proves that every published amount and statistic is what the
policy derives from published cells (:class:`UnderivedFigure` otherwise). Used by
:mod:`threeml.publish.audited` and the report's audit.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

from threeml.definitions.policies import DisclosurePolicy
from threeml.engine.results import CountResult
from threeml.errors import ThreemlError
from threeml.metrics.cells import AMOUNT, COUNT, STATISTIC, MetricRow
from threeml.metrics.contract import MetricResult
from threeml.publish.audit import AuditCell, AuditTable

__all__ = ["UnderivedFigure", "check_derived", "metric_cells", "population_tables"]

Cells = tuple[list[AuditCell], list[AuditTable]]


def _order(value: Any) -> tuple[bool, str]:
    return value is None, str(value)


def _label(value: Any) -> str:
    return "(missing)" if value is None else str(value)


def _row_links(name: str, where: str, keys: Mapping[str, Hashable], result: MetricResult) -> list:
    """The links within one row of a metric: each count cell lies within the count its
    measure kind declares it part of (:attr:`MetricResult.cell_parents
    <threeml.metrics.contract.MetricResult.cell_parents>`: a proportion's members within its
    people, an arm's events within the arm's people) — kept only where the true figures
    satisfy them. Only declared pairs are linked: linking every count to the gate would join
    each metric's columns into one piece and make a report's audit many times slower."""
    tables = []
    for cell, key in keys.items():
        parent = result.cell_parents.get(cell)
        if parent is None or cell == parent or parent not in keys:
            continue
        tables.append(
            AuditTable(f"{name}{where}: {cell} within {parent}", key, [keys[parent]], "ge")
        )
    return tables


def metric_cells(
    result: MetricResult,
    published: Mapping[str, Sequence[MetricRow]],
    total: MetricRow | None = None,
) -> Cells:
    """The count cells of one metric: each cell of its total and of every group.

    ``total`` is the total row as published (``None``, or a row published as it is: its
    counts are exact). Each count cell adds up over the groups of a breakdown to the same
    cell of the total, and within every row (total included) each count lies within its
    declared parent (:func:`_row_links`).
    """
    name = result.metric.name
    counted = [
        cell
        for cell, value in result.cells.items()
        if result.cell_kinds.get(cell, COUNT) == COUNT and isinstance(value, int | float)
    ]
    exact = total is None or total.cells is result.cells or not total.cells
    cells = []
    for cell in counted:
        raw = result.cells[cell]
        if exact:
            cells.append(AuditCell(("metric", name, cell), raw, raw, f"{name} ({cell})", True))
        else:
            shown = total.cells.get(cell)
            cells.append(AuditCell(("metric", name, cell), raw, shown, f"{name} ({cell})"))
    tables = _row_links(name, "", {cell: ("metric", name, cell) for cell in counted}, result)
    for breakdown, rows in result.breakdowns.items():
        ordered = sorted(rows, key=lambda row: _order(row.group))
        shown = published[breakdown]
        per_cell: dict[str, list[Hashable]] = {cell: [] for cell in counted}
        for index, (row, out) in enumerate(zip(ordered, shown, strict=True)):
            in_row = {}
            for cell in counted:
                raw = row.cells.get(cell)
                if raw is None:
                    continue
                key = ("metric", name, breakdown, cell, index)
                label = f"{name} by {breakdown}: {_label(row.group)} ({cell})"
                value = out.cells.get(cell) if out.cells else None
                cells.append(AuditCell(key, raw, value, label, part=key[:3]))
                per_cell[cell].append(key)
                in_row[cell] = key
            where = f" by {breakdown}: {_label(row.group)}"
            tables += _row_links(name, where, in_row, result)
        for cell, keys in per_cell.items():
            table = f"{name} by {breakdown} ({cell})"
            tables.append(AuditTable(table, ("metric", name, cell), keys))
    return cells, tables


def population_tables(
    counts: Iterable[CountResult], metrics: Iterable[MetricResult]
) -> list[AuditTable]:
    """Per group: a metric's gate (its population's people) is the population's count, when
    both are published in one output by the same breakdown (kept only where it holds)."""
    by_name = {result.definition.name: result for result in counts}
    tables = []
    for metric in metrics:
        population = by_name.get(metric.population)
        if population is None:
            continue
        name = metric.metric.name
        tables.append(
            AuditTable(
                f"{name} ({metric.gate}) is {population.definition.name}",
                ("count", population.definition.name),
                [("metric", name, metric.gate)],
            )
        )
        for breakdown, rows in metric.breakdowns.items():
            counted = population.breakdowns.get(breakdown)
            if counted is None:
                continue
            where = {
                row.value: i
                for i, row in enumerate(sorted(counted, key=lambda row: _order(row.value)))
            }
            for index, row in enumerate(sorted(rows, key=lambda row: _order(row.group))):
                if row.group in where and metric.gate in row.cells:
                    tables.append(
                        AuditTable(
                            f"{name} by {breakdown} ({metric.gate}) is "
                            f"{population.definition.name}",
                            ("count", population.definition.name, breakdown, where[row.group]),
                            [("metric", name, breakdown, metric.gate, index)],
                        )
                    )
    return tables


class UnderivedFigure(ThreemlError):
    """An amount or statistic reached an output without being derived from published cells."""


def _derived_amount(
    policy: DisclosurePolicy,
    amount: float,
    raw: Mapping[str, Any],
    shown: Mapping[str, Any],
    gate: str,
) -> float | None:
    """The amount derived from the published gate count, worked out here afresh (not by
    the policy's own method, which this checks): the published count times the mean per
    unit to the policy's significant figures."""
    units, published = raw.get(gate), shown.get(gate)
    if units is None or published is None or (published == 0 and units):
        return None
    if not units:
        return 0.0
    mean = float(amount) / units
    if mean and policy.amount_figures:
        mean = float(f"{mean:.{policy.amount_figures}g}")
    return published * mean


def check_derived(
    result: MetricResult,
    policy: DisclosurePolicy,
    published: Mapping[str, Sequence[MetricRow]],
    total: MetricRow | None = None,
    *,
    total_exact: bool = False,
) -> int:
    """Prove that every amount and statistic ``published`` (and ``total``) holds was derived
    from published cells; returns how many were checked.

    An amount below all areas must be the published gate count times the mean per unit to
    the policy's significant figures (:meth:`DisclosurePolicy.apply_amount`), and withheld
    when the gate is; a statistic must be withheld below the policy's minimum group size.
    A total published as it is (``total_exact``) may hold its amounts as they are. Any
    other figure raises :class:`UnderivedFigure`, naming the metric, group and cell: such
    a figure could give back a rounded count (issue 13, routes 1 and 2).
    """
    if policy.is_raw:
        return 0
    kinds, gate = result.cell_kinds, result.gate
    pairs: list[tuple[str, Mapping[str, Any], Mapping[str, Any], bool]] = []
    if total is not None and total.cells:
        pairs.append(("total", result.cells, total.cells, total_exact))
    for breakdown, rows in result.breakdowns.items():
        ordered = sorted(rows, key=lambda row: _order(row.group))
        for row, out in zip(ordered, published[breakdown], strict=True):
            if out.cells:
                pairs.append((f"{breakdown}: {_label(row.group)}", row.cells, out.cells, False))
    checked = 0
    for where, raw, shown, exact in pairs:
        for cell, value in shown.items():
            kind = kinds.get(cell, COUNT)
            if kind not in (AMOUNT, STATISTIC) or value is None:
                continue
            checked += 1
            if kind == AMOUNT:
                expected = (
                    raw[cell] if exact else _derived_amount(policy, raw[cell], raw, shown, gate)
                )
            else:
                small = raw.get(gate) is None or raw[gate] < policy.quantile_minimum
                expected = None if small else raw[cell]
            if expected is None or not math.isclose(value, expected, rel_tol=1e-9, abs_tol=1e-9):
                raise UnderivedFigure(
                    f"disclosure audit: metric {result.metric.name}, {where}: the {kind} "
                    f"{cell!r} was not derived from the published cells (published {value!r}); "
                    "this is a bug in the measure kind that computed it or in threeml, "
                    "please report it"
                )
    return checked
