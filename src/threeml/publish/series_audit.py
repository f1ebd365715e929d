"""The disclosure audit of a series: every interval's figures and the stock and flow together.

Registers :class:`~threeml.publish.series.PublishedSeries` with
:func:`threeml.publish.audited.audit_problem` and :func:`threeml.publish.audited.suppressing`.
The cells of interval ``i`` are those a single period's count or metric gives
(:func:`~threeml.publish.audited.count_cells`,
:func:`~threeml.publish.audited.published_metric_cells`, with the definitions' nesting and
the metrics' populations), keyed ``("series", i, …)``, the totals over all areas as the
series publishes them (through the policy). The stock and flow adds, per interval and
group, the identities a reader can state:

- the ends by reason add up to the ends;
- opening + starts = closing + ends (through an unpublished sum, a hidden cell);
- people starting (ending) are no more than the episodes starting (ending);
- an interval's closing is the next interval's opening;
- the groups add up to all groups, figure by figure.

A series publishes no figure over its whole span, so no identity ties an interval's
counts to another's; a total over the span published elsewhere is one more figure a
reader has, and ``tests/test_series_disclosure.py`` checks that with it no suppressed cell
can be pinned.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

import attrs

from threeml.engine.flow import END_REASONS
from threeml.publish.audit import AuditCell, AuditProblem, AuditTable
from threeml.publish.audited import (
    audit_problem,
    count_cells,
    nesting_tables,
    population_tables,
    published_metric_cells,
    suppressing,
)
from threeml.publish.series import (
    ALL_GROUPS,
    FLOW_FIGURES,
    PublishedFlow,
    PublishedSeries,
    flow_figures,
    flow_key,
    series_total,
)

__all__ = ["FLOW_PART", "flow_problem", "series_cells", "span_tables", "suppress_series"]

#: The part of a series the audit may withhold whole: the stock and flow's breakdown.
FLOW_PART = ("series", "flow")

Cells = tuple[list[AuditCell], list[AuditTable]]


def _prefixed(
    i: int, label: str, cells: Iterable[AuditCell], tables: Iterable[AuditTable]
) -> Cells:
    def key(k: Hashable) -> tuple[Any, ...]:
        return ("series", i, *k)  # type: ignore[misc]

    out_cells = [
        attrs.evolve(
            c,
            key=key(c.key),
            label=f"{label}: {c.label}",
            part=None if c.part is None else key(c.part),
        )
        for c in cells
    ]
    out_tables = [
        AuditTable(f"{label}: {t.name}", key(t.total), [key(k) for k in t.cells], t.relation)
        for t in tables
    ]
    return out_cells, out_tables


def _interval_cells(document: PublishedSeries, i: int) -> Cells:
    """The cells and identities of interval ``i``'s counts and metrics."""
    cells: list[AuditCell] = []
    tables: list[AuditTable] = []
    counts = [found[i] for found in document.counts.values()]
    for published in counts:
        shown = {name: [c.count for c in cs] for name, cs in published.breakdowns.items()}
        # Through the policy, perturbed ones too: the audit reads them within the range the
        # policy states, as it reads the report's totals over the whole period.
        more_cells, more_tables = count_cells(published.result, shown, series_total(published))
        cells += more_cells
        tables += more_tables
    tables += nesting_tables(p.result for p in counts)
    metrics = [found[i] for found in document.metrics.values() if found[i] is not None]
    for metric in metrics:
        more_cells, more_tables = published_metric_cells(metric)
        cells += more_cells
        tables += more_tables
    tables += population_tables((p.result for p in counts), (m.result for m in metrics))
    return _prefixed(i, document.intervals[i].label, cells, tables)


def flow_problem(document: PublishedSeries) -> Cells:
    """The stock and flow's cells and the identities between them (see the module)."""
    flow = document.flow
    if flow is None:
        return [], []
    result = flow.result
    where = {interval: i for i, interval in enumerate(result.intervals)}
    index = {group: g for g, group in enumerate(flow.groups)}
    cells: list[AuditCell] = []
    tables: list[AuditTable] = []
    present: set[tuple[int, int | None]] = set()
    by_reason: list[AuditTable] = []
    for cell in result.cells:
        i = where[cell.interval]
        g = None if cell.group is None else index[cell.group]
        if flow_key(i, g, "opening") not in flow.values:
            continue  # withheld
        present.add((i, g))
        label = f"{cell.interval.label}: {result.name} {_name(cell.group)}"
        figures = flow_figures(cell)
        part = None if g is None else FLOW_PART
        for figure, raw in figures.items():
            key = flow_key(i, g, figure)
            if key not in flow.values:
                continue  # not published (the ends by reason of one group)
            cells.append(AuditCell(key, raw, flow.values[key], f"{label} {figure}", part=part))
        through = flow_key(i, g, "through")
        cells.append(
            AuditCell(
                through,
                figures["opening"] + figures["starts"],
                None,
                f"{label} opening + starts",
                part=part,
                hidden=True,
            )
        )

        def k(figure: str, i: int = i, g: int | None = g) -> tuple[Any, ...]:
            return flow_key(i, g, figure)

        # The ends by reason last: the audit suppresses more cells from the first table that
        # holds a failing cell, and a reason pinned by the stock identity is protected by
        # widening the stock (opening, starts, closing), not by suppressing other reasons.
        by_reason.append(
            AuditTable(f"{label} ends by reason", k("ends"), [k(f"ends:{r}") for r in END_REASONS])
        )
        tables += [
            AuditTable(f"{label} opening and starts", through, [k("opening"), k("starts")]),
            AuditTable(f"{label} closing and ends", through, [k("closing"), k("ends")]),
            AuditTable(f"{label} people starting", k("users_starting"), [k("starts")], "ge"),
            AuditTable(f"{label} people ending", k("users_ending"), [k("ends")], "ge"),
        ]
    groups_in: dict[int, list[int]] = {}
    for i, g in sorted(p for p in present if p[1] is not None):
        groups_in.setdefault(i, []).append(g)
    for i, g in sorted(present, key=lambda p: (p[0], -1 if p[1] is None else p[1])):
        if (i - 1, g) in present:
            group = None if g is None else flow.groups[g]
            name = f"{result.intervals[i].label}: {result.name} {_name(group)} opening"
            tables.append(
                AuditTable(name, flow_key(i - 1, g, "closing"), [flow_key(i, g, "opening")])
            )
        groups = groups_in.get(i, [])
        if g is None and groups:
            for figure in FLOW_FIGURES:
                name = f"{result.intervals[i].label}: {result.name} {figure} by {result.by}"
                tables.append(
                    AuditTable(
                        name, flow_key(i, None, figure), [flow_key(i, h, figure) for h in groups]
                    )
                )
    return cells, tables + by_reason


def _name(group: Any) -> str:
    return ALL_GROUPS if group is None else str(group)


def series_cells(document: PublishedSeries) -> Cells:
    """Every cell of the series and the identities between them (not yet checked against
    the true figures: :meth:`AuditProblem.build` does that)."""
    cells: list[AuditCell] = []
    tables: list[AuditTable] = []
    for i in range(len(document.intervals)):
        more_cells, more_tables = _interval_cells(document, i)
        cells += more_cells
        tables += more_tables
    more_cells, more_tables = flow_problem(document)
    return cells + more_cells, tables + more_tables


def span_tables(document: PublishedSeries, spans: Iterable[Any]) -> list[AuditTable]:
    """The links between the series and counts over its whole span published beside it
    (``spans``: :class:`~threeml.engine.results.CountResult` of the same definitions):
    per definition and group, the intervals' counts add up to the span's (connections), or
    to at least it (people in receipt in one interval or another), kept only where the
    true figures satisfy it (:meth:`AuditProblem.build`)."""
    tables = []
    for span in spans:
        name = span.definition.name
        published = document.counts.get(name)
        if published is None:
            continue
        tables.append(
            AuditTable(
                f"{name} over the intervals",
                ("count", name),
                [("series", i, "count", name) for i in range(len(published))],
            )
        )
        for breakdown, rows in span.breakdowns.items():
            order = {row.value: k for k, row in enumerate(sorted(rows, key=_order))}
            parts: dict[Any, list[tuple[Any, ...]]] = {}
            for i, count in enumerate(published):
                ordered = sorted(count.result.breakdowns.get(breakdown, ()), key=_order)
                for k, row in enumerate(ordered):
                    parts.setdefault(row.value, []).append(
                        ("series", i, "count", name, breakdown, k)
                    )
            for value, keys in parts.items():
                if value in order:
                    total = ("count", name, breakdown, order[value])
                    label = f"{name} by {breakdown}: {_name(value)} over the intervals"
                    tables.append(AuditTable(label, total, keys))
    return tables


def _order(row: Any) -> tuple[bool, str]:
    return row.value is None, str(row.value)


@audit_problem.register
def _series_problem(document: PublishedSeries) -> AuditProblem:
    return AuditProblem.build(*series_cells(document))


def _mine(i: int, found: frozenset[Hashable]) -> frozenset[Hashable]:
    return frozenset(k[2:] for k in found if isinstance(k, tuple) and k[:2] == ("series", i))


@suppressing.register
def suppress_series(
    document: PublishedSeries,
    keys: frozenset[Hashable],
    parts: frozenset[Hashable] = frozenset(),
) -> PublishedSeries:
    counts = {
        name: tuple(
            suppressing(p, _mine(i, keys), _mine(i, parts)) for i, p in enumerate(published)
        )
        for name, published in document.counts.items()
    }
    metrics = {
        name: tuple(
            None if m is None else suppressing(m, _mine(i, keys), _mine(i, parts))
            for i, m in enumerate(published)
        )
        for name, published in document.metrics.items()
    }
    flow = document.flow
    if flow is not None:
        flow = _suppress_flow(flow, keys, FLOW_PART in parts)
    return attrs.evolve(document, counts=counts, metrics=metrics, flow=flow)


def _suppress_flow(flow: PublishedFlow, keys: frozenset[Hashable], withhold: bool) -> PublishedFlow:
    values = {
        key: None if key in keys else value
        for key, value in flow.values.items()
        if not (withhold and key[3] is not None)
    }
    return attrs.evolve(flow, values=values, withheld=flow.withheld or withhold)
