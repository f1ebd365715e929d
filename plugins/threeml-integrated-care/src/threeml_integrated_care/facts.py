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
    "member_windows",
    "outcomes",
    "person_years",
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
    e = enrolments(context, service_kinds)
    e = e.filter(e.installed_on.notnull(), e.user_id.isin(members.user_id))
    d = deaths(context).rename(_dead_user="user_id")
    joined = e.left_join(d, e.user_id == d._dead_user)
    stop = min(context.period.end, context.extract_date)
    lo = ibis.greatest(joined.installed_on, lit(context.period.start))
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


def member_days(context: MetricContext, service_kinds: Iterable[str] | None) -> ir.Table:
    """Every member with the days their merged windows cover (0 when none): shared likewise.

    Columns: ``user_id``, ``days``.
    """
    kinds = _kinds(service_kinds, "service_kinds")

    def build() -> ir.Table:
        merged = member_islands(context, kinds)
        days = merged.group_by("user_id").agg(days=merged.days.sum()).rename(_du="user_id")
        members = context.members()
        joined = members.left_join(days, members.user_id == days._du)
        return joined.select("user_id", days=ibis.coalesce(joined.days, 0))

    return context.shared_facts(("days", tuple(kinds)), build)


def indexed(
    context: MetricContext, index_kinds: list[str] | None, *, in_period: bool = False
) -> ir.Table:
    """Members with their index date (``index_on``, null when none) and date of death.

    The index is the earliest installation of the kinds (see
    :func:`first_installations`). Columns: ``user_id``, ``index_on``, ``died_on``.
    """
    return context.shared_facts(
        ("indexed", tuple(_kinds(index_kinds, "index_kinds")), in_period),
        lambda: _indexed(context, index_kinds, in_period=in_period),
    )


def _indexed(
    context: MetricContext, index_kinds: list[str] | None, *, in_period: bool = False
) -> ir.Table:
    members = context.members()
    first = first_installations(context, index_kinds, in_period=in_period).rename(_iu="user_id")
    dead = deaths(context).rename(_du="user_id")
    facts = members.left_join(first, members.user_id == first._iu)
    facts = facts.left_join(dead, facts.user_id == dead._du)
    return facts.select("user_id", "index_on", "died_on")
