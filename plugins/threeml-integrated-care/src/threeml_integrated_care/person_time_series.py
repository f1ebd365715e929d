"""Person-time over a series of intervals in one pass.

The members' installed windows are clipped once over the whole span (its first start to the
earlier of its last end and the extract date, and at death), cut into disjoint
:func:`~threeml_integrated_care.facts.pieces` once, and every interval's days, cost and
events are read from the pieces that overlap it, each clipped to the interval: the
intersection of the union of a person's windows with an interval is the union of their
windows clipped to it, so each interval's figures are those of evaluating it alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import ibis
import ibis.expr.types as ir

from threeml.metrics.interval_cells import INTERVAL
from threeml.metrics.measures import MetricContext
from threeml_integrated_care.facts import (
    DAYS_PER_YEAR,
    clipped_windows,
    days_between,
    lit,
    outcomes,
    pieces,
)
from threeml_integrated_care.series_facts import series_members, shared_series

__all__ = ["series_event_facts", "series_kinds", "series_person_time"]


def series_kinds(service_kinds: Any) -> tuple[str, ...]:
    """The ``service_kinds`` option as a sorted tuple (empty: every kind)."""
    if not service_kinds:
        return ()
    return (service_kinds,) if isinstance(service_kinds, str) else tuple(sorted(service_kinds))


def _per_interval(
    contexts: Sequence[MetricContext],
    table: ir.Table,
    keep: Callable[[ir.Table, ir.DateScalar, ir.DateScalar], ir.BooleanValue],
) -> ir.Table:
    """``table``'s rows kept for each interval (``keep(table, first day, last day)``), with
    ``_interval``, ``_s`` and ``_stop`` (the interval's first and last day of follow-up).

    A union of one filter per interval over a stored table: no table of intervals is sent
    to the engine from Python."""
    parts = []
    for k, context in enumerate(contexts):
        first, last = lit(context.period.start), lit(min(context.period.end, context.extract_date))
        part = table.filter(keep(table, first, last))
        parts.append(part.mutate(**{INTERVAL: ibis.literal(k, type="int64")}, _s=first, _stop=last))
    out = parts[0]
    for part in parts[1:]:
        out = out.union(part, distinct=False)
    return out


def _span_pieces(contexts: Sequence[MetricContext], kinds: tuple[str, ...]) -> ir.Table:
    def build() -> ir.Table:
        first = contexts[0]
        start = min(c.period.start for c in contexts)
        stop = max(min(c.period.end, c.extract_date) for c in contexts)
        people = series_members(contexts).select("user_id").distinct()
        return pieces(clipped_windows(first, people, list(kinds), start, stop))

    return shared_series(contexts, ("pieces", kinds), build)


def _overlapping(contexts: Sequence[MetricContext], kinds: tuple[str, ...]) -> ir.Table:
    """The span's pieces paired with every interval they overlap."""
    return _per_interval(
        contexts, _span_pieces(contexts, kinds), lambda p, s, stop: (p.lo <= stop) & (p.hi >= s)
    )


def series_person_time(contexts: Sequence[MetricContext], service_kinds: Any) -> ir.Table:
    """Per interval and member: days, cost, enrolment days, uncosted days; one pass.

    The columns of :func:`~threeml_integrated_care.facts.member_person_time` for each
    interval's members, with ``_interval``: the facts ``user-years`` and
    ``cost-per-user-year`` read for a series.
    """
    kinds = series_kinds(service_kinds)

    def build() -> ir.Table:
        x = _overlapping(contexts, kinds)
        days = days_between(ibis.greatest(x.plo, x._s), ibis.least(x.hi, x._stop))
        length = days_between(ibis.greatest(x.lo, x._s), ibis.least(x.hi, x._stop))
        per = x.group_by(_pu=x.user_id, _pi=x[INTERVAL]).agg(
            days=days.sum(),
            cost=(length * x.annual_cost.fill_null(0) / DAYS_PER_YEAR).sum(),
            enrolment_days=length.sum(),
            uncosted_days=ibis.cases((x.annual_cost.isnull(), length), else_=0).sum(),
        )
        m = series_members(contexts)
        joined = m.left_join(per, [m.user_id == per._pu, m[INTERVAL] == per._pi])
        return joined.select(
            *m.columns,
            days=ibis.coalesce(joined.days, 0).cast("int64"),
            cost=ibis.coalesce(joined.cost, 0.0),
            enrolment_days=ibis.coalesce(joined.enrolment_days, 0).cast("int64"),
            uncosted_days=ibis.coalesce(joined.uncosted_days, 0).cast("int64"),
        )

    return shared_series(contexts, ("person-time", kinds), build)


def series_event_facts(
    contexts: Sequence[MetricContext], service_kinds: Any, outcome: str
) -> ir.Table:
    """:func:`series_person_time` with ``events``: outcomes dated on a covered day of each
    interval (the facts ``event-rate`` reads for a series)."""
    kinds = series_kinds(service_kinds)

    def build() -> ir.Table:
        p = _span_pieces(contexts, kinds)
        p = p.filter(p.days > 0)
        o = outcomes(contexts[0], [outcome]).select(_ou="user_id", _on="date")
        hits = p.inner_join(o, [p.user_id == o._ou, o._on >= p.plo, o._on <= p.hi])
        hits = hits.select(_eu=hits.user_id, _on=hits._on)
        dated = _per_interval(contexts, hits, lambda h, s, stop: h._on.between(s, stop))
        return dated.group_by(["_eu", INTERVAL]).agg(events=dated.count())

    events = shared_series(contexts, ("events", kinds, outcome), build).rename(_ei=INTERVAL)
    facts = series_person_time(contexts, service_kinds)
    joined = facts.left_join(events, [facts.user_id == events._eu, facts[INTERVAL] == events._ei])
    return joined.select(*facts.columns, events=ibis.coalesce(joined.events, 0))
