"""The audit of a published output: can a reader narrow a suppressed or rounded cell?

Before anything is written, the cells one output publishes (every breakdown of
every definition and metric, and their totals) are gathered into an
:class:`AuditProblem`: one :class:`AuditCell` per figure, with the range of true
values its published form allows (:func:`published_range`), and one
:class:`AuditTable` per identity a reader can state (a breakdown's cells add up
to its total, or at least to it when one unit can fall in several groups). The
range each cell can still take given *everything* published is then the
minimum and maximum of that cell over the linear programme those ranges and
identities define, relaxed to real numbers, as the cell-suppression tools of
statistical offices (tau-ARGUS, sdcTable) compute it (:mod:`threeml.publish.lp`).

A cell is *protected* (:func:`protection_width`) when that range is at least as
wide as the policy's protection interval. When one is not, :func:`audit`
suppresses the smallest published cell of the same table and audits again;
when no cell is left to suppress it refuses (:class:`AuditRefused`), naming the
table and the cell. The outcome (:class:`AuditOutcome`) is stated in every
output.

The problem's values and what a reader knows of one cell alone live in
:mod:`threeml.publish.audit_problem` (importable from here as before).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

import attrs
from attrs import frozen

from threeml.definitions.policies import DisclosurePolicy
from threeml.errors import ThreemlError
from threeml.publish.audit_problem import (
    AuditCell,
    AuditProblem,
    AuditTable,
    cell_range,
    narrowed,
    protection_width,
    published_range,
)

__all__ = [
    "PASSED",
    "SUPPRESSED_MORE",
    "WITHHELD",
    "AuditCell",
    "AuditOutcome",
    "AuditProblem",
    "AuditRefused",
    "AuditTable",
    "audit",
    "cell_range",
    "protection_width",
    "published_range",
]

PASSED = "passed"
SUPPRESSED_MORE = "cells added"
WITHHELD = "breakdowns withheld"


class AuditRefused(ThreemlError):
    """A suppressed or rounded cell could be narrowed, and no cell was left to suppress."""

    def __init__(self, table: str, cell: str, low: float, high: float, width: int) -> None:
        self.table, self.cell, self.low, self.high = table, cell, low, high
        super().__init__(
            f"disclosure audit: in {table}, the cell {cell} can be narrowed to "
            f"{_show(low)}-{_show(high)} from the other published figures (the policy "
            f"requires a range at least {width} wide) and no other cell of that table is "
            "left to suppress; publish without this breakdown, for a larger group, or "
            "under a policy that rounds or suppresses more"
        )


#: Where an outcome's line summed up per table says every added cell is named.
WHERE = "the audit of the files written (in JSON: audit.added)"
#: How many tables, and how many cells, a summed-up line names.
_TABLES, _FIRST = 6, 3


def _summary(added: Sequence[str], where: str) -> str:
    """Added cells summed up per table, the first few named, and where all are listed."""
    per_table: dict[str, int] = {}
    for label in added:
        table = label.rsplit(": ", 1)[0] if ": " in label else label
        per_table[table] = per_table.get(table, 0) + 1
    tables = sorted(per_table.items(), key=lambda item: -item[1])
    shown = ", ".join(f"{table}: {n}" for table, n in tables[:_TABLES])
    if len(tables) > _TABLES:
        shown += f", {len(tables) - _TABLES} more table(s): {sum(n for _, n in tables[_TABLES:])}"
    return (
        f"by table: {shown}; the first: {'; '.join(added[:_FIRST])}; every one is named in {where}"
    )


def _show(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


@frozen
class AuditOutcome:
    """What the audit found, and the solver that found it.

    ``status`` is ``passed``, ``cells added`` (``added`` names them) or
    ``breakdowns withheld`` (``withheld`` names the parts left out because no
    suppression could protect them; cells may have been added too).
    """

    status: str
    solver: str
    added: tuple[str, ...] = ()
    cells: int = 0
    checked: int = 0
    withheld: tuple[str, ...] = ()

    def describe(self, *, listed: int | None = None, where: str = WHERE) -> str:
        """The outcome in one line, as outputs state it.

        Every added cell is named; with ``listed`` (a terminal summary), when more than
        ``listed`` were added they are summed up per table instead (a label's part before its
        last ``": "``), the first few named, and the line says ``where`` every one is named.
        """
        text = f"passed: {self.checked} protected cell(s) checked by linear programming"
        if listed is not None and len(self.added) > listed:
            text += f"; {len(self.added)} more cell(s) suppressed ({_summary(self.added, where)})"
        elif self.added:
            text += f"; {len(self.added)} more cell(s) suppressed ({'; '.join(self.added)})"
        if self.withheld:
            text += (
                f"; withheld because no suppression could protect them: {'; '.join(self.withheld)}"
            )
        return text

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuditOutcome:
        """The outcome :meth:`to_dict` gave (its ``description`` is made again)."""
        return cls(
            status=data["status"],
            solver=data["solver"],
            added=tuple(data.get("added", ())),
            cells=data.get("cells", 0),
            checked=data.get("checked", 0),
            withheld=tuple(data.get("withheld", ())),
        )

    def to_dict(self) -> dict[str, Any]:
        """The outcome as JSON-ready data."""
        return {
            "status": self.status,
            "solver": self.solver,
            "cells": self.cells,
            "checked": self.checked,
            "added": list(self.added),
            "withheld": list(self.withheld),
            "description": self.describe(),
        }


def audit(
    problem: AuditProblem,
    policy: DisclosurePolicy,
    *,
    withhold: bool = True,
    witnesses: bool = True,
) -> tuple[AuditProblem, AuditOutcome]:
    """Audit ``problem`` under ``policy``; suppress more cells until every cell is protected.

    A cell that fails is protected by suppressing the smallest published cell of
    its table (non-zero first) and auditing again; a table that fails again gets
    twice as many cells suppressed each time. When none is left, the part of the
    output it belongs to is withheld whole (``withhold``, the default) or the
    audit refuses: :class:`AuditRefused`, naming the table and the cell. Returns
    the problem as it will be published and the outcome.

    With ``witnesses`` (the default) a cell is first shown protected by values consistent
    with everything published, found around the true figures
    (:mod:`threeml.publish.lp_local`); only the cells not shown so are solved exactly. The
    verdicts are those of the exact programme (``witnesses=False`` solves every piece
    exactly; the tests compare the two). A cell shown protected is not asked about again in
    later rounds (the ranges only widen as cells are suppressed or parts withheld).
    """
    from threeml.publish.lp import SOLVER, feasible_ranges

    if policy.is_raw and getattr(policy, "published_range", None) is None:
        return problem, AuditOutcome(PASSED, "none (raw figures)", cells=len(problem.cells))
    added: dict[Hashable, str] = {}
    withheld: list[str] = []
    rounds: dict[str, int] = {}
    cache: dict[Any, Any] = {}
    truth = {key: float(cell.raw) for key, cell in problem.cells.items()} if witnesses else None
    shown: dict[Hashable, int] = {}
    # Kept from round to round and updated for the cells that change (a cell suppressed, a
    # part withheld): the same values as computing them again from the problem each round.
    bounds = {key: cell_range(policy, cell) for key, cell in problem.cells.items()}
    needed = _needed(problem, policy, bounds, problem.cells)
    tables_of = _tables_of(problem)
    tried: set[Hashable] = set()
    while True:
        targets = list(needed)
        tables = [table for table in problem.tables if not _implied(table, bounds)]
        # A cell shown protected stays so in later rounds: suppressing more cells only widens
        # their ranges, and withholding a part only drops cells and identities, so every set
        # of values consistent with the output before is consistent with it after.
        asked = [key for key in targets if shown.get(key, 0) < needed[key]]
        # The true figures are consistent with everything published: a known point of the
        # programme, around which small programmes show most cells protected.
        ranges = feasible_ranges(bounds, tables, asked, needed=needed, cache=cache, point=truth)
        failing = []
        for key in asked:
            low, high = ranges[key]
            width = needed[key]
            if narrowed(low, high) < width:
                failing.append((key, low, high, width))
            elif witnesses:
                shown[key] = width
        if not failing:
            # Cells added to a part withheld later are not published at all.
            kept = tuple(label for key, label in added.items() if key in problem.cells)
            status = WITHHELD if withheld else SUPPRESSED_MORE if kept else PASSED
            outcome = AuditOutcome(
                status, SOLVER, kept, len(problem.cells), len(targets), tuple(withheld)
            )
            return problem, outcome
        chosen: dict[Hashable, str] = {}
        parts: dict[Hashable, str] = {}
        failed_tables: set[str] = set()
        # A cell still narrowed with every cell the audit could suppress suppressed is
        # narrowed whatever it suppresses: its part is withheld now, not after rounds that
        # suppress its tables' cells one, two, four … at a time first.
        hopeless = (
            _hopeless(
                problem,
                policy,
                bounds,
                tables_of,
                [f for f in failing if f[0] not in tried],
                truth,
            )
            if withhold
            else set()
        )
        tried.update(f[0] for f in failing)
        # The problem and the rounds do not change within a round: the cells to suppress
        # next are found once for each list of tables that some failing cell belongs to.
        found: dict[tuple[int, ...], tuple[str, list[Hashable]]] = {}
        for key, low, high, width in failing:
            mine = tables_of.get(key, ())
            same = tuple(map(id, mine))
            if key in hopeless and (
                problem.cells[key].part is not None or _breakdown_part(problem, mine) is not None
            ):
                table, extra = (mine[0].name if mine else "the output"), []
            else:
                if same not in found:
                    found[same] = _next_to_suppress(problem, mine, rounds)
                table, extra = found[same]
            if extra:
                failed_tables.add(table)
                for cell in extra:
                    chosen.setdefault(cell, problem.cells[cell].label)
                continue
            part = problem.cells[key].part
            if part is None:
                # A total narrowed by its breakdown: withhold the breakdown, keep the total.
                part = _breakdown_part(problem, mine)
            if not withhold or part is None:
                if witnesses:  # the range a relaxation showed narrow, made exact to be named
                    low, high = feasible_ranges(bounds, tables, [key])[key]
                raise AuditRefused(table, problem.cells[key].label, low, high, width)
            parts.setdefault(part, table)
        if parts:
            # Withhold first: suppressing cells of a part about to go is wasted.
            for part, table in parts.items():
                problem = problem.withhold(part)
                withheld.append(table)
            bounds = {key: bounds[key] for key in problem.cells}
            needed = {key: width for key, width in needed.items() if key in problem.cells}
            tables_of = _tables_of(problem)
            continue
        for table in failed_tables:
            rounds[table] = rounds.get(table, 0) + 1
        problem = problem.suppress(*chosen)
        for extra, label in chosen.items():
            added[extra] = label
            bounds[extra] = cell_range(policy, problem.cells[extra])
        changed = _needed(problem, policy, bounds, chosen)
        if len(changed) == len(chosen) and all(key in needed for key in chosen):
            needed.update(changed)
        else:  # a cell to check now or no longer: every cell again, in the problem's order
            needed = _needed(problem, policy, bounds, problem.cells)


def _hopeless(
    problem: AuditProblem,
    policy: DisclosurePolicy,
    bounds: Mapping[Hashable, tuple[float, float]],
    tables_of: Mapping[Hashable, Sequence[AuditTable]],
    failing: Sequence[tuple[Hashable, float, float, int]],
    truth: Mapping[Hashable, float] | None,
) -> set[Hashable]:
    """The ``failing`` cells (key, range, width) still narrowed when every cell the audit
    may suppress for them is suppressed: every published cell (not exact) of every table
    any of them belongs to, all at once.

    For a failing cell the audit suppresses cells of its own tables only, and suppressing a
    cell only widens the ranges of every cell; such a cell would fail until its tables had
    nothing left to suppress, and then its part would be withheld. (The outcome is audited
    as every other: this only decides sooner what to withhold.)
    """
    from threeml.publish.lp import feasible_ranges

    if not failing:
        return set()
    loose = dict(bounds)
    for key, _, _, _ in failing:
        for table in tables_of.get(key, ()):
            for other in table.cells:
                cell = problem.cells[other]
                if not cell.exact and not cell.suppressed:
                    loose[other] = cell_range(policy, attrs.evolve(cell, published=None))
    tables = [table for table in problem.tables if not _implied(table, loose)]
    needed = {key: width for key, _, _, width in failing}
    ranges = feasible_ranges(loose, tables, list(needed), needed=needed, point=truth)
    return {key for key, width in needed.items() if narrowed(*ranges[key]) < width}


def _needed(
    problem: AuditProblem,
    policy: DisclosurePolicy,
    bounds: Mapping[Hashable, tuple[float, float]],
    keys: Iterable[Hashable],
) -> dict[Hashable, int]:
    """The protection width of every cell to check (in the problem's order): each cell a
    reader cannot pin to one whole number from its own published form, but not hidden ones."""
    return {
        key: protection_width(policy, problem.cells[key])
        for key in keys
        if narrowed(*bounds[key]) > 0 and not problem.cells[key].hidden
    }


def _tables_of(problem: AuditProblem) -> dict[Hashable, list[AuditTable]]:
    """The identities each cell takes part in (as total or as a cell), in the problem's order."""
    tables_of: dict[Hashable, list[AuditTable]] = {}
    for table in problem.tables:
        for key in (*table.cells, table.total):
            tables_of.setdefault(key, []).append(table)
    return tables_of


def _breakdown_part(problem: AuditProblem, tables: Sequence[AuditTable]) -> Hashable | None:
    """The part (a breakdown that can be withheld) of the first of ``tables`` that has one."""
    for table in tables:
        for key in table.cells:
            cell = problem.cells.get(key)
            if cell is not None and cell.part is not None:
                return cell.part
    return None


def _implied(table: AuditTable, bounds: Mapping[Hashable, tuple[float, float]]) -> bool:
    """Whether ``table``'s identity follows from the cells' own ranges, so leaving it out of
    the linear programme changes no range: a ``ge`` identity whose cells' smallest values
    already add up to the total's largest (a numerator of 30 beside a denominator of 100:
    28-32 is always within 98-102). Such links would only join pieces the solver could
    otherwise take one at a time."""
    if table.relation != "ge":
        return False
    least = sum(bounds[key][0] for key in table.cells)
    return least >= bounds[table.total][1]


def _next_to_suppress(
    problem: AuditProblem, tables: Sequence[AuditTable], rounds: Mapping[str, int]
) -> tuple[str, list[Hashable]]:
    """The smallest published cells (non-zero first) of the first of ``tables`` that has any.

    One cell the first time a table fails, twice as many each time after.
    """
    # The smallest table first: a cell linked to a few others (an area's quarters adding up
    # to its year) is protected by one of them far sooner than by the many of a breakdown.
    for table in sorted(tables, key=lambda table: len(table.cells)):
        candidates = sorted(
            (problem.cells[k].raw == 0, problem.cells[k].raw, str(k), k)
            for k in table.cells
            if not problem.cells[k].suppressed and not problem.cells[k].exact
        )
        if candidates:
            many = 2 ** rounds.get(table.name, 0)
            return table.name, [found[3] for found in candidates[:many]]
    return (tables[0].name if tables else "the output"), []
