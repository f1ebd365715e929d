"""Episodes of receipt: each user's maximal runs of consecutive days in receipt, in the engine.

A user is *in receipt* on day ``d`` when one of their (selected) enrolments has
``installed_on <= d`` and ``ended_on`` empty or ``>= d`` (DESIGN.md, "Series, stock and flow").
An *episode* is a maximal run of consecutive days in receipt: the union of the user's
installed windows, where a window starting the day after another ends continues the same
episode, and overlapping windows are one episode. It is *open* when its last window is.

The episodes are a gaps-and-islands query over the enrolments table, with windows partitioned
by ``user_id`` only (never a window over the whole table):

1. each user's installed windows in the order ``installed_on``, then ``ended_on`` latest first
   (an open window is latest), then ``enrolment_id`` — the rule that breaks every tie, so the
   order is total; the episodes themselves do not depend on it, because a window that starts
   on the same day as an earlier one always joins it;
2. a window starts a new episode when it starts more than one day after the latest end of every
   window before it (an open window ends never);
3. the running count of new episodes numbers each user's episodes; an episode's first day is
   the least ``installed_on`` of its windows and its last day the greatest ``ended_on``.

An ended episode's *reason* is the ``end_reason`` of the enrolment whose ``ended_on`` is the
episode's last day; when several end that day, the first of :data:`END_REASONS` among their
reasons wins, and ``unknown`` when none of them gives one.

**Only the days that matter** (``meeting``). Stock and flow over intervals from ``s0`` to
``eN`` reads an episode only when it is in receipt on a day of ``[s0-1, eN]``, and then only
whether its first day is before or within each interval, whether its last day is before, or at
or after, each interval's end, and the reason when it ends inside the span. Those answers do
not change when the windows ending before ``s0-1`` and those starting after ``eN`` are left
out before the episodes are formed (at national scale, most windows of a short span): a kept
window linked to the others only through a window ending before ``s0-1`` starts by ``s0-1``
and ends at or after it, so every such window covers day ``s0-1`` and they are one episode
either way, whose first day is at or before ``s0-1`` either way (before every interval); a
window starting after ``eN`` only lengthens an episode whose last day is already at or after
``eN``. The enrolments ending on an ending episode's last day are all kept, so its reason is
the same. The episodes found so are exact about those days, not in general: they are not
published as episodes.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING, Any

import ibis

from threeml.engine.errors import EvaluationError
from threeml.records.codes import Sector, ServiceKind
from threeml.records.periods import Period

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from threeml.data import Dataset

__all__ = ["END_REASONS", "OPEN_END", "episodes", "selected_enrolments"]

#: The end reasons, in the order of precedence DESIGN.md gives them, then ``unknown``.
END_REASONS = (
    "died",
    "care_home",
    "hospital",
    "moved",
    "declined",
    "abandoned",
    "other",
    "unknown",
)

#: The last day an open episode is given inside the engine, so that "still in receipt"
#: compares as later than any real date. Never published.
OPEN_END = date(9999, 12, 31)

_UNKNOWN_RANK = END_REASONS.index("unknown")


def _codes(values: Iterable[Any], codes: type[enum.Enum], what: str) -> list[str]:
    """``values`` (codes or their names) as code names, refusing one that is not a code."""
    found = []
    for value in values:
        try:
            found.append(codes(getattr(value, "value", value)).value)
        except ValueError:
            choices = ", ".join(c.value for c in codes)
            raise EvaluationError(
                f"stock and flow: {value!r} is not a {what}; choose from {choices}"
            ) from None
    return sorted(found)


def selected_enrolments(
    dataset: Dataset,
    *,
    service_kinds: Iterable[Any] = (),
    sectors: Iterable[Any] = (),
) -> ir.Table:
    """The installed enrolments (of services of the given kinds and sectors, if any given)."""
    e = dataset.table("enrolments")
    e = e.filter(e.installed_on.notnull())
    kinds = _codes(service_kinds, ServiceKind, "service kind")
    wanted_sectors = _codes(sectors, Sector, "sector")
    if kinds or wanted_sectors:
        s = dataset.table("services")
        if kinds:
            s = s.filter(s.kind.isin(kinds))
        if wanted_sectors:
            s = s.filter(s.sector.isin(wanted_sectors))
        e = e.filter(e.service_id.isin(s.service_id))
    return e.select("enrolment_id", "user_id", "installed_on", "ended_on", "end_reason")


def episodes(
    dataset: Dataset,
    *,
    service_kinds: Iterable[Any] = (),
    sectors: Iterable[Any] = (),
    meeting: Period | None = None,
) -> ir.Table:
    """Every user's episodes of receipt, as an (unexecuted) ibis table.

    Columns: ``user_id``; ``first`` (the episode's first day); ``last`` (its last day,
    :data:`OPEN_END` while it is open); ``reason`` (one of :data:`END_REASONS`, ``None`` while
    open). Only enrolments of services of ``service_kinds`` and ``sectors`` (when given) count.

    With ``meeting`` (``[s0-1, eN]`` for intervals from ``s0`` to ``eN``), only the episodes in
    receipt on one of its days, formed from the windows that can shape what stock and flow
    reads of them (see the module docs): their first day is exact when after ``s0-1`` (else at
    or before it), their last day when before ``eN`` (else at or after it).
    """
    e = selected_enrolments(dataset, service_kinds=service_kinds, sectors=sectors)
    if meeting is not None:
        first, last = ibis.date(meeting.start), ibis.date(meeting.end)
        e = e.filter(e.installed_on <= last, e.ended_on.isnull() | (e.ended_on >= first))
    rank = ibis.cases(
        *((e.end_reason == reason, i) for i, reason in enumerate(END_REASONS[:-1])),
        else_=_UNKNOWN_RANK,
    )
    e = e.mutate(stop=e.ended_on.fill_null(ibis.date(OPEN_END)), rank=rank)
    order = [e.installed_on, e.stop.desc(), e.enrolment_id]
    before = ibis.window(group_by=e.user_id, order_by=order, rows=(None, -1))
    latest_before = e.stop.max().over(before)
    starts_new = latest_before.isnull() | (e.installed_on - ibis.interval(days=1) > latest_before)
    e = e.mutate(new=starts_new.ifelse(1, 0))
    order = [e.installed_on, e.stop.desc(), e.enrolment_id]
    running = ibis.window(group_by=e.user_id, order_by=order, rows=(None, 0))
    e = e.mutate(episode=e.new.sum().over(running))
    spans = e.group_by(["user_id", "episode"]).aggregate(
        first=e.installed_on.min(), last=e.stop.max()
    )
    reasons = e.group_by(["user_id", "episode", "stop"]).aggregate(rank=e.rank.min())
    joined = spans.join(
        reasons,
        [
            spans.user_id == reasons.user_id,
            spans.episode == reasons.episode,
            spans.last == reasons.stop,
        ],
    )
    reason = ibis.cases(
        *((joined.rank == i, reason) for i, reason in enumerate(END_REASONS)),
        else_=ibis.literal("unknown"),
    )
    open_ = joined.last == ibis.date(OPEN_END)
    if meeting is not None:
        joined = joined.filter(joined.first <= last, joined.last >= first)
    return joined.select(
        user_id=spans.user_id,
        first=joined.first,
        last=joined.last,
        reason=ibis.ifelse(open_, ibis.null("string"), reason),
    )
