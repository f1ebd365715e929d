"""Person-time over a series read from the population's runs of intervals.

When the series' population is held as runs of intervals (one row per person and run:
:func:`~threeml.metrics.interval_cells.member_runs`), person-time is summed per (interval,
group) straight from the pieces of installed time, with no row per (member, interval):

- each member's installed windows are clipped once over the whole span and cut into
  disjoint :func:`~threeml_integrated_care.facts.pieces` (as :mod:`.person_time_series`
  does);
- every piece is joined to its owner's runs and to the small table of the intervals they
  hold that it overlaps: a piece ``[a, b]`` overlapping intervals ``i .. j`` adds its days
  in each to that interval's sums, and its owner's group is the run's;
- a member is *covered* in an interval when a piece with days overlaps it; since a person's
  pieces are disjoint and in order, the first such piece in the interval is the one whose
  previous piece with days ends before the interval starts, so covered people are counted
  without a distinct count;
- the people are the population's counts; ``no_follow_up`` is people less covered people.

Each interval's cells equal those of evaluating it alone (the intersection of the union of a
person's windows with an interval is the union of their windows clipped to it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from threeml.metrics.interval_cells import INTERVAL, RUN_END, RUN_START, member_runs
from threeml.metrics.measures import MetricContext
from threeml_integrated_care.facts import (
    DAYS_PER_YEAR,
    clipped_windows,
    days_between,
    lit,
    outcomes,
    pieces,
)
from threeml_integrated_care.runs_cells import (
    Sums,
    dated_in_intervals,
    in_runs,
    sums_by_interval,
)
from threeml_integrated_care.series_facts import read_once, shared_series

__all__ = ["merged", "run_events", "run_person_time"]


def _intervals(contexts: Sequence[MetricContext]) -> ir.Table:
    """One row per interval: ``_k``, its first day ``_ks`` and its last day of follow-up
    ``_kstop`` (its end, or the extract date when earlier)."""
    return ibis.memtable(
        pa.table(
            {
                "_k": pa.array(range(len(contexts)), pa.int64()),
                "_ks": pa.array([c.period.start for c in contexts], pa.date32()),
                "_kstop": pa.array(
                    [min(c.period.end, c.extract_date) for c in contexts], pa.date32()
                ),
            }
        )
    )


def _how_many(days: Sequence[dt.date], day: ir.DateValue, at: bool = False) -> ir.IntegerValue:
    """How many of ``days`` are before ``day`` (with ``at``, on or before it)."""
    found: ir.IntegerValue = ibis.literal(0, "int64")
    for d in days:
        found = found + ((lit(d) <= day) if at else (lit(d) < day)).ifelse(1, 0)
    return found


def _pieces(contexts: Sequence[MetricContext], runs: ir.Table, kinds: tuple[str, ...]) -> ir.Table:
    """The members' pieces over the span, stored once for the series, with ``_ph``: the last
    day of the owner's previous piece with days (``None`` for the first), and the first and
    last interval the piece overlaps (``_a``, ``_b``; ``_a > _b`` when none)."""

    def build() -> ir.Table:
        first = contexts[0]
        start = min(c.period.start for c in contexts)
        stop = max(min(c.period.end, c.extract_date) for c in contexts)
        people = runs.select("user_id").distinct()
        w = clipped_windows(first, people, list(kinds), start, stop)
        # The furthest end of the earlier windows (the window :func:`pieces` reads): for a
        # piece with days, the last day of the owner's previous piece with days.
        earlier = ibis.window(
            group_by="user_id", order_by=["lo", "hi", "enrolment_id"], rows=(None, -1)
        )
        p = pieces(w.mutate(_ph=w.hi.max().over(earlier)))
        # The intervals the piece overlaps: from the first whose last day of follow-up is not
        # before its first day (``_a``) to the last starting by its last day (``_b``).
        stops = [min(c.period.end, c.extract_date) for c in contexts]
        starts = [c.period.start for c in contexts]
        return p.mutate(
            _a=_how_many(stops, p.lo),
            _b=_how_many(starts, p.hi, at=True) - 1,
        )

    return shared_series(contexts, ("run-pieces", kinds), build)


def run_person_time(contexts: Sequence[MetricContext], kinds: tuple[str, ...]) -> Sums | None:
    """Per interval and group: ``days``, ``covered`` (members with days), ``cost``,
    ``enrolment_days`` and ``uncosted_days``; ``None`` when the population is not in runs.

    Read once per evaluation (shared by ``user-years``, ``event-rate`` and
    ``cost-per-user-year``)."""
    runs = member_runs(contexts)
    if runs is None:
        return None
    periods = tuple(c.period for c in contexts)
    key = ("run-person-time", contexts[0].population.definition.name, periods, kinds)

    def read() -> Sums:
        p = _pieces(contexts, runs, kinds)
        groups = [c for c in runs.columns if c.startswith("_by_")]
        r = runs.select(*groups, _ru="user_id", _ri=RUN_START, _rt=RUN_END)
        owned = p.inner_join(r, p.user_id == r._ru)
        # The intervals a piece overlaps within its run: from the first whose last day of
        # follow-up is not before the piece's first day, to the last starting by its last.
        x = owned.mutate(
            _ka=ibis.greatest(owned._ri, owned._a), _kb=ibis.least(owned._rt - 1, owned._b)
        )
        x = x.filter(x._ka <= x._kb)
        k = _intervals(contexts)
        x = x.inner_join(k, [x._ka <= k._k, x._kb >= k._k])
        days = days_between(ibis.greatest(x.plo, x._ks), ibis.least(x.hi, x._kstop))
        length = days_between(ibis.greatest(x.lo, x._ks), ibis.least(x.hi, x._kstop))
        first = (days > 0) & (x._ph.isnull() | (x._ph < x._ks))
        rows = x.select(*groups, **{INTERVAL: x._k}, _d=days, _l=length, _f=first, _c=x.annual_cost)
        return sums_by_interval(
            contexts,
            rows,
            {
                "days": rows._d.sum(),
                "covered": rows._f.ifelse(1, 0).sum(),
                "cost": (rows._l * rows._c.fill_null(0) / DAYS_PER_YEAR).sum(),
                "enrolment_days": rows._l.sum(),
                "uncosted_days": ibis.cases((rows._c.isnull(), rows._l), else_=0).sum(),
            },
        )

    found: Sums = read_once(contexts[0], key, read)
    return found


def run_events(
    contexts: Sequence[MetricContext], kinds: tuple[str, ...], outcome: str
) -> Sums | None:
    """Per interval and group: ``events``, the outcomes of ``outcome`` dated on a day of a
    member's person-time in the interval; ``None`` when the population is not in runs."""
    runs = member_runs(contexts)
    if runs is None:
        return None
    periods = tuple(c.period for c in contexts)
    key = ("run-events", contexts[0].population.definition.name, periods, kinds, outcome)

    def read() -> Sums:
        p = _pieces(contexts, runs, kinds)
        p = p.filter(p.days > 0)
        o = outcomes(contexts[0], [outcome]).select(_ou="user_id", _on="date")
        hits = p.inner_join(o, [p.user_id == o._ou, o._on >= p.plo, o._on <= p.hi])
        hits = hits.select(_eu=hits.user_id, _on=hits._on)
        dated = dated_in_intervals(contexts, hits, "_on")
        mine = in_runs(dated.select("_eu", INTERVAL), runs, user="_eu")
        return sums_by_interval(contexts, mine, {"events": mine.count()})

    found: Sums = read_once(contexts[0], key, read)
    return found


def merged(*parts: Sums | None) -> Sums | None:
    """The sums of several reads, interval by interval and group by group."""
    if any(part is None for part in parts):
        return None
    out: Sums = [{} for _ in parts[0] or ()]
    for part in parts:
        assert part is not None
        for k, groups in enumerate(part):
            for group, sums in groups.items():
                out[k].setdefault(group, {}).update(sums)
    return out
