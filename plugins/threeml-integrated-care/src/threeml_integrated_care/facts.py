"""Per-person facts as ibis expressions: deaths, index dates, follow-up windows, person-time.

Everything here builds queries; nothing reads a row into Python. Day counts are
inclusive: a window ``[lo, hi]`` holds ``hi - lo + 1`` days.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import ibis
import ibis.expr.types as ir

from threeml.metrics.measures import MetricContext, MetricError

__all__ = [
    "DAYS_PER_YEAR",
    "FAR",
    "clipped_windows",
    "covered_days",
    "dated_in_period",
    "days_between",
    "deaths",
    "enrolments",
    "first_installations",
    "indexed",
    "islands",
    "lit",
    "member_days",
    "member_islands",
    "member_person_time",
    "member_pieces",
    "member_windows",
    "outcomes",
    "person_years",
    "pieces",
    "shift",
    "windows_in_period",
]

#: The length of a year in person-years.
DAYS_PER_YEAR = 365.25

#: A day after every real one: an open end.
FAR = date(9999, 12, 31)


def lit(day: date) -> ir.DateScalar:
    """``day`` as an ibis date literal."""
    return ibis.literal(day, type="date")


def person_years(days: float | None) -> float | None:
    """A number of days as person-years (``None`` stays ``None``: withheld)."""
    return None if days is None else days / DAYS_PER_YEAR


def dated_in_period(context: MetricContext, day: ir.DateValue) -> ir.BooleanValue:
    """Whether ``day`` lies in the period, both ends included."""
    return (day >= lit(context.period.start)) & (day <= lit(context.period.end))


def shift(day: ir.DateValue, days: int) -> ir.DateValue:
    """``day`` moved by ``days`` (negative: earlier)."""
    if days >= 0:
        return day + ibis.interval(days=days)
    return day - ibis.interval(days=-days)


def days_between(first: ir.DateValue, last: ir.DateValue) -> ir.IntegerValue:
    """The number of days in ``[first, last]``, both included; 0 when ``last`` is earlier."""
    span = last.delta(first, unit="day") + 1
    return ibis.cases((span > 0, span), else_=0).cast("int64")


def _kinds(values: Iterable[str] | str | None, option: str) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        return [values]
    try:
        return sorted(str(v) for v in values)
    except TypeError:
        raise MetricError(f"option {option} must be a list of codes, not {values!r}") from None


def enrolments(context: MetricContext, service_kinds: Iterable[str] | None = None) -> ir.Table:
    """Enrolments with their service's kind, sector and annual cost (optionally of some kinds)."""
    e = context.table("enrolments")
    s = context.table("services").select(
        _service="service_id", service_kind="kind", sector="sector", annual_cost="annual_cost"
    )
    joined = e.inner_join(s, e.service_id == s._service).drop("_service")
    wanted = _kinds(service_kinds, "service_kinds")
    if wanted:
        joined = joined.filter(joined.service_kind.isin(wanted))
    return joined


def outcomes(context: MetricContext, kinds: Iterable[str] | str) -> ir.Table:
    """Outcomes of the given kinds."""
    o = context.table("outcomes")
    wanted = _kinds(kinds, "outcome")
    return o.filter(o.kind.isin(wanted))


def deaths(context: MetricContext) -> ir.Table:
    """Each person's date of death (the earliest ``death`` outcome): ``user_id``, ``died_on``."""
    o = outcomes(context, ["death"])
    return o.group_by("user_id").agg(died_on=o.date.min())


def first_installations(
    context: MetricContext,
    service_kinds: Iterable[str] | None,
    *,
    in_period: bool = False,
) -> ir.Table:
    """Each person's earliest ``installed_on`` (of the kinds): ``user_id``, ``index_on``.

    With ``in_period`` only installations dated in the period count, so the result
    is the first installation *in* the period rather than the first ever.
    """
    e = enrolments(context, service_kinds)
    e = e.filter(e.installed_on.notnull())
    if in_period:
        start, end = lit(context.period.start), lit(context.period.end)
        e = e.filter(e.installed_on >= start, e.installed_on <= end)
    return e.group_by("user_id").agg(index_on=e.installed_on.min())


def windows_in_period(
    context: MetricContext,
    members: ir.Table,
    service_kinds: Iterable[str] | None = None,
) -> ir.Table:
    """Members' installed windows clipped to the follow-up in the period.

    Each enrolment's installed window ``[installed_on, ended_on]`` (open-ended
    when ``ended_on`` is empty) is clipped to ``[start of P, min(end of P,
    extract date, date of death)]``; windows left empty are dropped. Columns:
    ``user_id``, ``enrolment_id``, ``lo``, ``hi``, ``annual_cost``.
    """
    stop = min(context.period.end, context.extract_date)
    return clipped_windows(context, members, service_kinds, context.period.start, stop)


def clipped_windows(
    context: MetricContext,
    members: ir.Table,
    service_kinds: Iterable[str] | None,
    start: date,
    stop: date,
) -> ir.Table:
    """Members' installed windows clipped to ``[start, min(stop, date of death)]``.

    Windows left empty are dropped. Columns: ``user_id``, ``enrolment_id``, ``lo``, ``hi``,
    ``annual_cost``. :func:`windows_in_period` is this over the period (stopping at the
    extract date); a series clips once over its whole span.
    """
    e = enrolments(context, service_kinds)
    e = e.filter(e.installed_on.notnull(), e.user_id.isin(members.user_id))
    d = deaths(context).rename(_dead_user="user_id")
    joined = e.left_join(d, e.user_id == d._dead_user)
    lo = ibis.greatest(joined.installed_on, lit(start))
    hi = ibis.least(
        joined.ended_on.fill_null(lit(FAR)),
        joined.died_on.fill_null(lit(FAR)),
        lit(stop),
    )
    clipped = joined.select("user_id", "enrolment_id", "annual_cost", lo=lo, hi=hi)
    return clipped.filter(clipped.lo <= clipped.hi)


def islands(windows: ir.Table) -> ir.Table:
    """The union of each person's windows as disjoint ``[lo, hi]`` islands.

    Overlapping or touching windows merge, so no day is counted twice: a window
    starts a new island when it begins after every earlier window (in order of
    start) has ended. Columns: ``user_id``, ``lo``, ``hi``.
    """
    order = ["lo", "hi", "enrolment_id"]
    running = ibis.window(group_by="user_id", order_by=order, preceding=None, following=0)
    w = windows.select("user_id", "enrolment_id", "lo", "hi")
    w = w.mutate(_reach=w.hi.max().over(running))
    w = w.mutate(_before=w._reach.lag().over(ibis.window(group_by="user_id", order_by=order)))
    w = w.mutate(_new=(w._before.isnull() | (w.lo > w._before)).ifelse(1, 0))
    w = w.mutate(_island=w._new.sum().over(running))
    return w.group_by(["user_id", "_island"]).agg(lo=w.lo.min(), hi=w.hi.max()).drop("_island")


def covered_days(windows: ir.Table) -> ir.Table:
    """Days covered by the union of each person's windows: ``user_id``, ``days``."""
    merged = islands(windows)
    merged = merged.mutate(days=days_between(merged.lo, merged.hi))
    return merged.group_by("user_id").agg(days=merged.days.sum())


def member_windows(context: MetricContext, service_kinds: Iterable[str] | None) -> ir.Table:
    """The population's :func:`windows_in_period`, shared by every metric of the evaluation.

    Metrics evaluated together (:func:`threeml.metrics.evaluate.evaluate_metrics`) on one
    population and the same ``service_kinds`` compute this table once.
    """
    kinds = _kinds(service_kinds, "service_kinds")
    return context.shared_facts(
        ("windows", tuple(kinds)),
        lambda: windows_in_period(context, context.members(), kinds),
    )


def member_islands(context: MetricContext, service_kinds: Iterable[str] | None) -> ir.Table:
    """The :func:`islands` of :func:`member_windows` with their ``days``, shared likewise."""
    kinds = _kinds(service_kinds, "service_kinds")

    def build() -> ir.Table:
        merged = islands(member_windows(context, kinds))
        return merged.mutate(days=days_between(merged.lo, merged.hi))

    return context.shared_facts(("islands", tuple(kinds)), build)


def pieces(windows: ir.Table) -> ir.Table:
    """Each window's part not covered by the person's earlier windows: disjoint pieces.

    Windows are taken in order of start (then end, then enrolment); a window's piece is
    ``[plo, hi]`` with ``plo`` the day after the furthest end of the earlier windows when
    that lies inside it. The pieces of a person are disjoint and together cover exactly the
    union of their windows (what :func:`islands` merges), found with one window function
    and no second grouping. Columns: those of ``windows`` (``user_id``, ``enrolment_id``,
    ``annual_cost``, ``lo``, ``hi``), ``plo`` and ``days`` (the piece's days, 0 when the
    earlier windows cover the whole window).
    """
    earlier = ibis.window(
        group_by="user_id", order_by=["lo", "hi", "enrolment_id"], rows=(None, -1)
    )
    reach = windows.hi.max().over(earlier)
    plo = ibis.cases((reach.isnull(), windows.lo), else_=ibis.greatest(windows.lo, shift(reach, 1)))
    out = windows.mutate(plo=plo)
    return out.mutate(days=days_between(out.plo, out.hi))


def member_pieces(context: MetricContext, service_kinds: Iterable[str] | None) -> ir.Table:
    """The :func:`pieces` of the population's :func:`windows_in_period`, shared likewise."""
    kinds = _kinds(service_kinds, "service_kinds")
    return context.shared_facts(
        ("pieces", tuple(kinds)),
        lambda: pieces(windows_in_period(context, context.members(), kinds)),
    )


def member_person_time(context: MetricContext, service_kinds: Iterable[str] | None) -> ir.Table:
    """Every member's person-time and service cost in the period, one row each: shared.

    Columns: ``user_id``; ``days`` (days covered by the union of their windows, 0 when
    none); ``cost`` (Σ window days × annual_cost / 365.25); ``enrolment_days`` (Σ window
    days, not merged); ``uncosted_days`` (days of windows whose service has no annual_cost);
    and the evaluation's breakdown columns. Computed once per evaluation from
    :func:`member_pieces` and read by ``user-years``, ``event-rate`` and
    ``cost-per-user-year``.
    """
    kinds = _kinds(service_kinds, "service_kinds")

    def build() -> ir.Table:
        p = member_pieces(context, kinds)
        length = days_between(p.lo, p.hi)
        per_person = p.group_by("user_id").agg(
            days=p.days.sum(),
            cost=(length * p.annual_cost.fill_null(0) / DAYS_PER_YEAR).sum(),
            enrolment_days=length.sum(),
            uncosted_days=ibis.cases((p.annual_cost.isnull(), length), else_=0).sum(),
        )
        per_person = per_person.rename(_pu="user_id")
        members = context.grouped_members()
        joined = members.left_join(per_person, members.user_id == per_person._pu)
        return joined.select(
            *members.columns,
            days=ibis.coalesce(joined.days, 0).cast("int64"),
            cost=ibis.coalesce(joined.cost, 0.0),
            enrolment_days=ibis.coalesce(joined.enrolment_days, 0).cast("int64"),
            uncosted_days=ibis.coalesce(joined.uncosted_days, 0).cast("int64"),
        )

    return context.shared_facts(("person-time", tuple(kinds)), build)


def member_days(context: MetricContext, service_kinds: Iterable[str] | None) -> ir.Table:
    """Every member with the days their merged windows cover (0 when none): shared likewise.

    Columns: ``user_id``, ``days`` (and the breakdown columns of
    :func:`member_person_time`, which it reads).
    """
    facts = member_person_time(context, service_kinds)
    return facts.select("user_id", "days", *[c for c in facts.columns if c.startswith("_by_")])


def indexed(
    context: MetricContext, index_kinds: list[str] | None, *, in_period: bool = False
) -> ir.Table:
    """Members with their index date (``index_on``, null when none) and date of death.

    The index is the earliest installation of the kinds (see
    :func:`first_installations`). Columns: ``user_id``, the breakdown columns
    (``_by_<name>``, see :meth:`MetricContext.grouped_members`), ``index_on``, ``died_on``.
    """
    return context.shared_facts(
        ("indexed", tuple(_kinds(index_kinds, "index_kinds")), in_period),
        lambda: _indexed(context, index_kinds, in_period=in_period),
    )


def _indexed(
    context: MetricContext, index_kinds: list[str] | None, *, in_period: bool = False
) -> ir.Table:
    members = context.grouped_members()
    first = first_installations(context, index_kinds, in_period=in_period).rename(_iu="user_id")
    dead = deaths(context).rename(_du="user_id")
    facts = members.left_join(first, members.user_id == first._iu)
    facts = facts.left_join(dead, facts.user_id == dead._du)
    return facts.select(*members.columns, "index_on", "died_on")
