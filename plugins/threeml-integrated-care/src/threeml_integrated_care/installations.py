"""Measure kinds around an installation: the wait for it and staying on after it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir

from threeml.metrics.interval_cells import INTERVAL, member_runs
from threeml.metrics.measures import COUNT, STATISTIC, SUPPRESSED, MetricContext, MetricRow
from threeml.records.codes import EndReason
from threeml_integrated_care import stats
from threeml_integrated_care.facts import FAR, deaths, enrolments, indexed, lit, outcomes, shift
from threeml_integrated_care.options import SERVICE_KINDS, days
from threeml_integrated_care.runs_cells import (
    dated_in_intervals,
    in_runs,
    sums_by_interval,
    tallies,
)
from threeml_integrated_care.series_facts import series_members, shared_series
from threeml_integrated_care.skeleton import Cell, CellMeasure, Cells, Plan, Tally, flag

__all__ = ["RETENTION", "WAITING_TIME"]


# Retention.

#: End reasons of people who left, tabled by retention (died and care_home are left out).
_REASONS = [r.value for r in EndReason]

#: The retention facts' flag columns, one cell each.
_COLUMNS = (
    "retained",
    "left",
    "died",
    "care_home",
    "too_recent",
    "not_installed",
    *(f"reason_{code}" for code in _REASONS if code not in ("died", "care_home")),
    "reason_not_recorded",
)
_REASON_CELLS = [c for c in _COLUMNS if c.startswith("reason_")]


def _last_to_end(ended: ir.Table) -> ir.IntegerValue:
    """The order in which a person's ended enrolments give their end reason (highest wins).

    The enrolment that ended last; among several ending on the same day, the first reason in
    the order of :class:`~threeml.records.codes.EndReason` (``died``, ``care_home``,
    ``hospital``, ``declined``, ``abandoned``, ``moved``, ``other``), then a recorded reason
    before none. Enrolments tied on both give the same reason, so the choice is fixed on
    every engine.
    """
    rank = ibis.cases(
        *[(ended.end_reason == code, len(_REASONS) - i) for i, code in enumerate(_REASONS)],
        else_=0,
    )
    day = ended.ended_on.delta(lit(date(1900, 1, 1)), unit="day").cast("int64")
    return day * (len(_REASONS) + 1) + rank


def _retention_facts(context: MetricContext, plan: Plan) -> ir.Table:
    people = indexed(context, plan["service_kinds"], in_period=True)
    return _retention_of(context, plan, people)


def _retention_series(contexts: Sequence[MetricContext], plan: Plan) -> ir.Table:
    """:func:`_retention_facts` for every interval at once: each member's first installation
    in the interval (``_interval`` and the breakdown columns kept)."""
    m = series_members(contexts)
    kinds = plan["service_kinds"]

    def build() -> ir.Table:
        e = enrolments(contexts[0], kinds).select(_eu="user_id", _on="installed_on")
        hits = m.inner_join(e, [m.user_id == e._eu, e._on >= m._start, e._on <= m._end])
        first = hits.group_by(_fu=hits.user_id, _fi=hits[INTERVAL]).agg(index_on=hits._on.min())
        dead = deaths(contexts[0]).rename(_du="user_id")
        people = m.left_join(first, [m.user_id == first._fu, m[INTERVAL] == first._fi])
        people = people.left_join(dead, people.user_id == dead._du)
        return people.select(*m.columns, "index_on", "died_on")

    key = ("first-installed", tuple(sorted(kinds or ())))
    return _retention_of(contexts[0], plan, shared_series(contexts, key, build))


def _installed_in_runs(contexts: Sequence[MetricContext], kinds: Any, runs: ir.Table) -> ir.Table:
    """The enrolments (of ``kinds``) installed in an interval where their owner is a member
    (a run holds it): ``_eu`` (the owner), ``_interval``, the run's breakdown columns,
    ``referred_on`` and ``installed_on``. A row per installation, none per member."""
    e = enrolments(contexts[0], kinds).select(
        _eu="user_id", referred_on="referred_on", installed_on="installed_on"
    )
    dated = dated_in_intervals(contexts, e, "installed_on", follow_up=False)
    return in_runs(dated, runs, user="_eu")


def _retention_tally(contexts: Sequence[MetricContext], plan: Plan) -> list[Tally] | None:
    """Every interval's retention cells from the population's runs of intervals: each
    member's first installation in an interval is found from the installations dated in
    it (:func:`_installed_in_runs`), and only those (person, interval) rows get retention
    flags; the members with none are the population's count less them
    (``not_installed``)."""
    runs = member_runs(contexts)
    if runs is None:
        return None
    kinds = plan["service_kinds"]

    def build() -> ir.Table:
        hits = _installed_in_runs(contexts, kinds, runs)
        by = [c for c in hits.columns if c.startswith("_by_")]
        first = hits.group_by(["_eu", INTERVAL, *by]).agg(index_on=hits.installed_on.min())
        dead = deaths(contexts[0]).rename(_du="user_id")
        people = first.left_join(dead, first._eu == dead._du)
        return people.select(
            *[c for c in first.columns if c != "_eu"], "died_on", user_id=people._eu
        )

    key = ("first-installed-runs", tuple(sorted(kinds or ())))
    facts = _retention_of(contexts[0], plan, shared_series(contexts, key, build))
    sums = sums_by_interval(
        contexts,
        facts,
        {"_installed": facts.count(), **{c: facts[c].ifelse(1, 0).sum() for c in _COLUMNS}},
    )
    return tallies(
        contexts,
        sums,
        {name: cell.kind for name, cell in RETENTION.cells.items()},
        people="_members",
        derived={
            "people": lambda c: (c.get("retained") or 0) + (c.get("left") or 0),
            "not_installed": lambda c: c["_members"] - (c.get("_installed") or 0),
        },
    )


def _matching(left: ir.Table, right: ir.Table, keys: list[str], prefix: str) -> list[Any]:
    return [left[k] == right[f"{prefix}{k}"] for k in keys]


def _retention_of(context: MetricContext, plan: Plan, people: ir.Table) -> ir.Table:
    """Each person's retention flags from ``people`` (``user_id``, ``index_on``, ``died_on``,
    and for a series ``_interval`` and the breakdowns, kept)."""
    length, kinds_wanted = plan["days"], plan["service_kinds"]
    extract = lit(context.extract_date)
    far = lit(FAR)
    extra = [c for c in people.columns if c == INTERVAL or c.startswith("_by_")]
    keys = ["user_id", *[c for c in extra if c == INTERVAL]]
    people = people.mutate(_check=shift(people.index_on, length))
    e = enrolments(context, kinds_wanted)
    e = e.filter(e.installed_on.notnull())
    checks = people.filter(people.index_on.notnull())
    checks = checks.select(**{f"_c{k}": k for k in keys}, _check="_check")
    started = e.inner_join(checks, [e.user_id == checks._cuser_id, e.installed_on <= checks._check])
    started = started.rename(**{k: f"_c{k}" for k in keys if k != "user_id"})
    covering = started.mutate(
        _covers=started.ended_on.fill_null(far) >= started._check,
    )
    ended = covering.filter(~covering._covers)
    last_reason = ended.group_by(keys).agg(
        reason=ended.end_reason.fill_null("").argmax(_last_to_end(ended)),
    )
    still = covering.group_by(keys).agg(retained=covering._covers.any())
    moves = outcomes(context, ["care_home_admission"]).select(_hu="user_id", _on="date")
    windows = people.select(**{f"_p{k}": k for k in keys}, _index="index_on", _until="_check")
    care = moves.inner_join(
        windows,
        [moves._hu == windows._puser_id, moves._on >= windows._index, moves._on <= windows._until],
    )
    care = care.select(**{f"_h{k}": f"_p{k}" for k in keys}).distinct()

    still = still.rename(**{f"_s{k}": k for k in keys})
    last_reason = last_reason.rename(**{f"_l{k}": k for k in keys})
    f = people.left_join(still, _matching(people, still, keys, "_s"))
    f = f.left_join(last_reason, _matching(f, last_reason, keys, "_l"))
    f = f.left_join(care, _matching(f, care, keys, "_h"))
    installed = f.index_on.notnull()
    observable = installed & (f._check <= extract)
    retained = observable & f.retained.fill_null(False)
    gone = observable & ~f.retained.fill_null(False)
    reason = f.reason.fill_null("")
    died = gone & ((reason == "died") | (f.died_on.fill_null(far) <= f._check))
    care_home = gone & ~died & ((reason == "care_home") | f._huser_id.notnull())
    left = gone & ~died & ~care_home
    columns: dict[str, Any] = {
        "retained": retained,
        "left": left,
        "died": died,
        "care_home": care_home,
        "too_recent": installed & ~observable,
        "not_installed": ~installed,
    }
    for code in _REASONS:
        if code not in ("died", "care_home"):
            columns[f"reason_{code}"] = left & (reason == code)
    columns["reason_not_recorded"] = left & (reason == "")
    return f.select("user_id", *extra, **columns)


def _retention(plan: Plan, cells: Cells) -> MetricRow:
    length = plan["days"]
    share = stats.proportion(
        cells["retained"],
        cells["people"],
        f"no one installed in the period can be followed for {length} days",
    )
    return MetricRow(
        numerator=cells["retained"],
        denominator=cells["people"],
        value=share.value,
        ci_low=share.ci_low,
        ci_high=share.ci_high,
        reason=share.reason,
        details={
            "days": length,
            "end_reasons": {
                "died (left out)": cells["died"],
                "care_home (left out)": cells["care_home"],
                **{c.removeprefix("reason_"): cells[c] for c in _REASON_CELLS},
            },
            "excluded": {
                "died": cells["died"],
                "moved into a care home": cells["care_home"],
                f"installed fewer than {length} days before the extract date": cells["too_recent"],
                "no installation in the period": cells["not_installed"],
            },
        },
    )


#: The share of people installed in P still in receipt ``days`` later.
#:
#: Options: ``days`` (91), ``service_kinds``. See the ``retention-91d`` metric
#: for the exact rules.
RETENTION = CellMeasure(
    kind="retention",
    options=(days(91), SERVICE_KINDS),
    facts=_retention_facts,
    series_facts=_retention_series,
    series_tally=_retention_tally,
    cells={
        "people": Cell(COUNT, lambda t: (t.retained | t.left).ifelse(1, 0).sum()),
        **{column: Cell(COUNT, flag(column)) for column in _COLUMNS},
    },
    derive=_retention,
    labels={
        "numerator": "people still in receipt {days} days after installation",
        "denominator": "people installed in the period (less those who died or moved "
        "into a care home)",
        "value": "proportion",
    },
)


# Waiting time.


def _waiting_facts(context: MetricContext, plan: Plan) -> ir.Table:
    members = context.grouped_members().rename(_mu="user_id")
    e = enrolments(context, plan["service_kinds"])
    e = e.filter(
        e.installed_on >= lit(context.period.start), e.installed_on <= lit(context.period.end)
    )
    j = e.inner_join(members, e.user_id == members._mu)
    groups = [c for c in members.columns if c != "_mu"]
    return _waits(j.select("user_id", *groups, "referred_on", "installed_on"), plan)


def _waiting_series(contexts: Sequence[MetricContext], plan: Plan) -> ir.Table:
    """:func:`_waiting_facts` for every interval at once (``_interval`` and the breakdown
    columns kept): each member's enrolments installed in the interval; read from the
    population's runs of intervals when it is in runs (no row per member)."""
    runs = member_runs(contexts)
    if runs is not None:
        hits = _installed_in_runs(contexts, plan["service_kinds"], runs)
        return _waits(hits.rename(user_id="_eu"), plan)
    m = series_members(contexts)
    e = enrolments(contexts[0], plan["service_kinds"])
    e = e.select(_eu="user_id", referred_on="referred_on", installed_on="installed_on")
    joined = m.inner_join(
        e, [m.user_id == e._eu, e.installed_on >= m._start, e.installed_on <= m._end]
    )
    extra = [c for c in m.columns if c == INTERVAL or c.startswith("_by_")]
    return _waits(joined.select("user_id", *extra, "referred_on", "installed_on"), plan)


def _waits(e: ir.Table, plan: Plan) -> ir.Table:
    """Enrolments' waits from referral to installation (null without a referral date)."""
    keep = [c for c in e.columns if c not in ("referred_on", "installed_on")]
    facts = e.select(
        *keep,
        wait=ibis.cases(
            (e.referred_on.notnull(), e.installed_on.delta(e.referred_on, unit="day")),
            else_=ibis.null("int64"),
        ),
    )
    return facts.mutate(in_time=facts.wait <= plan["days"])


def _waiting_time(plan: Plan, cells: Cells) -> MetricRow:
    share = stats.proportion(
        cells["within"], cells["installations"], "no installation has a referral date"
    )
    measured = cells["installations"]
    reason = None
    if cells["median"] is None:
        reason = SUPPRESSED if measured is None or measured else share.reason
    q1, q3 = cells["q1"], cells["q3"]
    return MetricRow(
        numerator=cells["within"],
        denominator=measured,
        value=cells["median"],
        reason=reason,
        details={
            "median_days": cells["median"],
            "q1_days": q1,
            "q3_days": q3,
            "iqr_days": None if q1 is None or q3 is None else q3 - q1,
            f"share_within_{plan['days']}_days": share.as_dict(),
            "installations_without_referral_date": cells["unmeasured"],
        },
    )


#: Days from referral to installation: median, quartiles, share within ``days``.
#:
#: Options: ``days`` (28), ``service_kinds``. Units: members' enrolments
#: installed in P with a referral date.
WAITING_TIME = CellMeasure(
    kind="waiting-time",
    options=(days(28, minimum=0), SERVICE_KINDS),
    facts=_waiting_facts,
    series_facts=_waiting_series,
    cells={
        "installations": Cell(COUNT, lambda t: t.wait.notnull().ifelse(1, 0).sum()),
        "within": Cell(COUNT, flag("in_time")),
        "unmeasured": Cell(COUNT, lambda t: t.wait.isnull().ifelse(1, 0).sum()),
        "median": Cell(STATISTIC, lambda t: t.wait.quantile(0.5)),
        "q1": Cell(STATISTIC, lambda t: t.wait.quantile(0.25)),
        "q3": Cell(STATISTIC, lambda t: t.wait.quantile(0.75)),
    },
    derive=_waiting_time,
    labels={
        "numerator": "installations within {days} days of referral",
        "denominator": "installations in the period with a referral date",
        "value": "median days from referral to installation",
    },
    gate="installations",
)
