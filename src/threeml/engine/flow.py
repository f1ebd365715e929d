"""Stock and flow over a series of intervals (DESIGN.md, "Series, stock and flow").

Per interval (and per group of a breakdown): *opening* (users in receipt on the day before the
interval), *starts* (episodes whose first day is in the interval), *ends* by end reason
(episodes whose last day is in ``[s-1, e-1]``), *closing* (users in receipt on its last day);
``opening + starts - ends == closing`` holds exactly. Distinct users starting and ending are
given beside the episode counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import attrs
import ibis

from threeml.definitions import CountingDefinition, EnrolmentOverlaps, MemberOf
from threeml.definitions.contracts import DefinitionResolver
from threeml.engine.breakdowns import breakdown_value, check_cardinality, user_breakdowns
from threeml.engine.episodes import END_REASONS, episodes
from threeml.engine.errors import EvaluationError
from threeml.records.codes import Unit
from threeml.records.intervals import Interval
from threeml.records.periods import Period

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from threeml.data import Dataset

__all__ = [
    "END_REASONS",
    "FlowCell",
    "FlowResult",
    "flow_for_definition",
    "receipt_services",
    "stock_and_flow",
]


@attrs.frozen
class FlowCell:
    """The stock and flow of one interval, for everyone (``group`` None) or one group."""

    interval: Interval
    group: str | None
    opening: int
    starts: int
    ends: Mapping[str, int]
    closing: int
    users_starting: int
    users_ending: int

    @property
    def ended(self) -> int:
        """Episodes ending, all reasons together."""
        return sum(self.ends.values())

    @property
    def net_change(self) -> int:
        return self.starts - self.ended


@attrs.frozen
class FlowResult:
    """Stock and flow of one in-receipt sense over a series: cells by interval (and group)."""

    name: str
    intervals: tuple[Interval, ...]
    by: str | None
    cells: tuple[FlowCell, ...]

    @property
    def groups(self) -> tuple[str | None, ...]:
        """The groups of the breakdown (sorted), then ``None`` for everyone."""
        seen = dict.fromkeys(c.group for c in self.cells if c.group is not None)
        return (*seen, None)

    def cell(self, interval: Interval | str, group: str | None = None) -> FlowCell:
        """The cell of ``interval`` (or its label) and ``group`` (``None``: everyone)."""
        label = interval.label if isinstance(interval, Interval) else interval
        for c in self.cells:
            if c.interval.label == label and c.group == group:
                return c
        raise KeyError(f"no stock-and-flow cell for interval {label!r} and group {group!r}")


#: The group of users whose breakdown column is empty.
UNKNOWN_GROUP = "unknown"


def _one_by(by: str | Sequence[str] | None) -> str | None:
    if by is None or isinstance(by, str):
        return by or None
    names = list(by)
    if len(names) > 1:
        raise EvaluationError(
            f"stock and flow breaks down by one users column at most, not {', '.join(names)}; "
            "give one (for example by=('area',)) or none"
        )
    return names[0] if names else None


def _intervals_table(intervals: Sequence[Interval]) -> ir.Table:
    """One row per interval: its position ``i``, first day ``s``, last day ``e``, ``before``
    (the day before ``s``)."""
    return ibis.memtable(
        {
            "i": list(range(len(intervals))),
            "s": [i.start for i in intervals],
            "e": [i.end for i in intervals],
            "before": [i.start - timedelta(days=1) for i in intervals],
        },
        schema={"i": "int64", "s": "date", "e": "date", "before": "date"},
    )


def _grouped(dataset: Dataset, found: ir.Table, by: str, span: Period) -> ir.Table:
    """``found`` with a ``grp`` column: the user's value of breakdown ``by``."""
    users = dataset.table("users")
    known = set(user_breakdowns(users))
    if by not in known:
        raise EvaluationError(
            f"stock and flow cannot break down by {by!r}: it breaks down by a users column, "
            f"one of {', '.join(sorted(known))}"
        )
    check_cardinality(users, [by])
    value = breakdown_value(users, by, span).cast("string").fill_null(UNKNOWN_GROUP)
    groups = users.select(user_id=users.user_id, grp=value)
    joined = found.join(groups, found.user_id == groups.user_id)
    return joined.select(*found.columns, "grp")


def _cells(episodes: ir.Table, intervals: ir.Table) -> ir.Table:
    """Every interval's (and group's) figures in one group-by against the intervals table.

    An episode meets an interval ``[s, e]`` when it is in receipt on some day of
    ``[s-1, e]``: those are the only episodes that open, start, end in or close it.
    """
    x = episodes.join(intervals, [episodes.first <= intervals.e, episodes.last >= intervals.before])
    opening = x.first <= x.before
    starting = x.first >= x.s
    ending = x.last < x.e
    closing = x.last >= x.e
    figures = {
        "opening": opening.ifelse(1, 0).sum(),
        "starts": starting.ifelse(1, 0).sum(),
        "closing": closing.ifelse(1, 0).sum(),
        "users_starting": x.user_id.nunique(where=starting),
        "users_ending": x.user_id.nunique(where=ending),
    }
    for n, reason in enumerate(END_REASONS):
        figures[f"ends_{n}"] = (ending & (x.reason == reason)).ifelse(1, 0).sum()
    return x.group_by(["i", "grp"]).aggregate(**figures)


def stock_and_flow(
    dataset: Dataset,
    intervals: Sequence[Interval],
    *,
    by: str | Sequence[str] | None = ("area",),
    services: Mapping[str, Iterable[Any]] | None = None,
    name: str = "in-receipt",
) -> FlowResult:
    """The stock and flow of people in receipt over ``intervals`` (DESIGN.md's semantics).

    ``by`` names one users column to break down by (or none): ``area``, ``sex``, … or a band
    (``age_band``, ``risk_band``), banded at the last day of the series so that a person stays
    in one group throughout and each group's closing is the next interval's opening.
    ``services`` restricts what counts as receipt to enrolments of services of some kinds
    and/or sectors: ``{"service_kinds": {"telehealth"}, "sectors": {...}}``; ``None`` is any
    enrolment. ``name`` names the sense of receipt in the result.

    Episodes are computed in the engine (:mod:`threeml.engine.episodes`), only those in
    receipt on a day the intervals read, formed from the windows that can shape them; every
    interval's cells then come from one group-by of the episodes against a table of the
    intervals (by group, the totals being the groups' sums), so only the cells reach Python.
    Cells are given for every interval and every group seen in the series (zero where
    nothing happened), then the total (``group`` ``None``).
    """
    intervals = tuple(intervals)
    if not intervals:
        raise EvaluationError("stock and flow needs at least one interval")
    by_name = _one_by(by)
    chosen = dict(services or {})
    unknown = set(chosen) - {"service_kinds", "sectors"}
    if unknown:
        raise EvaluationError(
            f"stock and flow restricts services by 'service_kinds' and 'sectors', "
            f"not {', '.join(sorted(unknown))}"
        )
    first, last = min(i.start for i in intervals), max(i.end for i in intervals)
    # Only the episodes in receipt on a day some interval reads (see episodes' ``meeting``).
    found = episodes(
        dataset,
        service_kinds=chosen.get("service_kinds", ()),
        sectors=chosen.get("sectors", ()),
        meeting=Period(first - timedelta(days=1), last),
    )
    span = Period(intervals[0].start, intervals[-1].end)
    table = _intervals_table(intervals)
    if by_name is None:
        totals = _cells(found.mutate(grp=ibis.literal("", "string")), table)
        rows: list[dict[str, Any]] = []
        return FlowResult(
            name=name,
            intervals=intervals,
            by=None,
            cells=_fill(rows, totals.to_pyarrow().to_pylist(), intervals),
        )
    rows = _cells(_grouped(dataset, found, by_name, span), table).to_pyarrow().to_pylist()
    return FlowResult(
        name=name, intervals=intervals, by=by_name, cells=_fill(rows, _totals(rows), intervals)
    )


def _totals(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each interval's cell for everyone: the sum of its groups' cells.

    Every figure adds up over the groups, distinct users starting and ending too: a user is in
    one group (the users table holds each user once), so the groups partition the users and
    their episodes.
    """
    totals: dict[Any, dict[str, Any]] = {}
    for row in rows:
        total = totals.setdefault(row["i"], {"i": row["i"]})
        for figure, value in row.items():
            if figure not in ("i", "grp"):
                total[figure] = total.get(figure, 0) + int(value or 0)
    return list(totals.values())


def _fill(
    rows: list[dict[str, Any]], totals: list[dict[str, Any]], intervals: Sequence[Interval]
) -> tuple[FlowCell, ...]:
    """Interval by interval, a cell for every group seen (sorted) then the total; zero where
    the query found nothing."""
    found = {(row["i"], row["grp"]): row for row in rows}
    found.update({(row["i"], None): row for row in totals})
    groups: list[str | None] = [*sorted({row["grp"] for row in rows}), None]
    cells = []
    for i, interval in enumerate(intervals):
        for group in groups:
            row = found.get((i, group), {})
            cells.append(
                FlowCell(
                    interval=interval,
                    group=group,
                    opening=int(row.get("opening") or 0),
                    starts=int(row.get("starts") or 0),
                    ends={
                        reason: int(row.get(f"ends_{n}") or 0)
                        for n, reason in enumerate(END_REASONS)
                    },
                    closing=int(row.get("closing") or 0),
                    users_starting=int(row.get("users_starting") or 0),
                    users_ending=int(row.get("users_ending") or 0),
                )
            )
    return tuple(cells)


def receipt_services(
    definition: CountingDefinition, registry: DefinitionResolver | None = None
) -> dict[str, frozenset[Any]]:
    """What "in receipt" means for ``definition``: the service kinds and sectors of its first
    ``enrolment-overlaps`` criterion (empty: any service), following ``member-of`` criteria
    through ``registry`` when it has none of its own.

    Raises :class:`EvaluationError` for a definition that counts enrolments, or has no
    in-receipt sense (``referred``, ``new-users``, ``active``: none of their criteria asks
    for an installed window overlapping the period).
    """
    seen: list[str] = []
    current = definition
    while True:
        if current.unit is not Unit.USERS:
            raise EvaluationError(
                f"definition {definition.name!r} counts {current.unit.value}, not people: "
                "stock and flow follows people in receipt; use a definition that counts users"
            )
        for criterion in current.criteria:
            if isinstance(criterion, EnrolmentOverlaps):
                return {"service_kinds": criterion.service_kinds, "sectors": criterion.sectors}
        seen.append(current.name)
        members = [c for c in current.criteria if isinstance(c, MemberOf)]
        if not members or registry is None or members[0].definition in seen:
            raise EvaluationError(
                f"definition {definition.name!r} has no in-receipt sense: none of its criteria "
                "asks for an installed window overlapping the period (enrolment-overlaps), so "
                "there are no episodes of receipt to follow; use stock_and_flow() for any "
                "service, or a definition such as in-receipt or telehealth"
            )
        try:
            current = registry.counting(members[0].definition)
        except LookupError as error:
            raise EvaluationError(
                f"definition {definition.name!r} is a member of {members[0].definition!r}, "
                f"which cannot be found: {error}"
            ) from None


def flow_for_definition(
    definition: CountingDefinition,
    dataset: Dataset,
    intervals: Sequence[Interval],
    *,
    by: str | Sequence[str] | None = ("area",),
    registry: DefinitionResolver | None = None,
) -> FlowResult:
    """The stock and flow in ``definition``'s sense of receipt (see :func:`receipt_services`).

    For the standard definitions: ``in-receipt``, ``census``, ``high-risk`` and
    ``multi-sector`` follow receipt of any service; ``telehealth``, ``active-telehealth`` and
    ``ltc-telehealth`` follow receipt of telehealth. Only the kinds and sectors of the
    enrolment criterion shape the episodes: a person's other criteria (readings, conditions,
    risk, sectors) do not, so the flow is of people in receipt of those services, not of the
    people the definition counts.
    """
    services = receipt_services(definition, registry)
    return stock_and_flow(dataset, intervals, by=by, services=services, name=definition.name)
