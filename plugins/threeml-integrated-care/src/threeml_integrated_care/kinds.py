"""The measure kinds of the integrated-care metrics.

Each kind builds a per-person (or per-enrolment, per-allocation) table of facts
with ibis, lets :meth:`threeml.metrics.measures.MetricContext.summarise` aggregate it in
the engine into *cells* for the total and for every group, and derives the
figures from the cells with a pure function — so disclosure control can derive
them again from rounded cells (see :mod:`threeml.metrics.measures`).

The exact semantics of every kind are in the descriptions of the metrics that
use them (:mod:`threeml_integrated_care.definitions`) and in the plugin's README.
Common to all:

- P is the evaluation period ``[start, end]``, both days inclusive; E is the
  dataset's extract date (the last day its data cover; P's end when the data
  have no dates);
- a person's date of death is their earliest ``death`` outcome; follow-up runs
  up to and including that day;
- day counts are inclusive, and a year of person-time is 365.25 days.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta
from typing import Any

import attrs
import ibis
import ibis.expr.types as ir

from threeml.metrics.measures import (
    AMOUNT,
    COUNT,
    PUBLIC,
    STATISTIC,
    SUPPRESSED,
    MetricContext,
    MetricError,
    MetricResult,
    MetricRow,
    build_result,
)
from threeml.records.codes import Arm, EndReason, OutcomeKind
from threeml.records.periods import Period
from threeml_integrated_care import stats
from threeml_integrated_care.facts import (
    DAYS_PER_YEAR,
    covered_days,
    days_between,
    deaths,
    enrolments,
    first_installations,
    islands,
    lit,
    option_int,
    outcomes,
    shift,
    windows_in_period,
)

__all__ = [
    "KINDS",
    "ArmComparison",
    "BedDays",
    "BeforeAfter",
    "CostPerUserYear",
    "EventRate",
    "OutcomeWithin",
    "ProgressToTarget",
    "Retention",
    "UserYears",
    "WaitingTime",
]

Cells = Mapping[str, Any]


def _count(t: ir.Table) -> ir.Value:
    return t.count()


def _sum(column: str) -> Callable[[ir.Table], ir.Value]:
    return lambda t: t[column].sum()


def _flag(condition: str) -> Callable[[ir.Table], ir.Value]:
    return lambda t: t[condition].cast("int64").sum()


def _outcome_kind(context: MetricContext, name: str = "outcome", default: str | None = None) -> str:
    value = context.option(name, default)
    known = [k.value for k in OutcomeKind]
    if value not in known:
        raise MetricError(
            f"metric {context.metric.name}: option {name} must be an outcome kind "
            f"({', '.join(known)}), not {value!r}"
        )
    return str(value)


def _kind_list(context: MetricContext, name: str, default: Any = None) -> list[str] | None:
    value = context.option(name, default)
    if value is None or value == [] or value == "":
        return None
    if isinstance(value, str):
        value = [value]
    return sorted(str(v) for v in value)


def _years(days: float | None) -> float | None:
    return None if days is None else days / DAYS_PER_YEAR


def _exclusions(cells: Cells, names: Mapping[str, str]) -> dict[str, Any]:
    return {label: cells.get(cell) for cell, label in names.items()}


# Person-time: user-years, event rates, cost per user-year.


class UserYears:
    """Person-time in receipt: the union of each member's installed windows within P.

    Options: ``service_kinds`` (only windows of these kinds; default all).
    Numerator: user-years (covered days / 365.25); denominator: people; value:
    user-years. Windows stop at death and at the extract date.
    """

    kind = "user-years"

    def evaluate(self, context: MetricContext) -> MetricResult:
        members = context.members()
        windows = windows_in_period(context, members, _kind_list(context, "service_kinds"))
        days = covered_days(windows).rename(_u="user_id")
        facts = members.left_join(days, members.user_id == days._u).select(
            "user_id", days=ibis.coalesce(days.days, 0)
        )
        kinds = {"people": COUNT, "days": AMOUNT, "no_follow_up": COUNT}
        total, groups = context.summarise(
            facts,
            {
                "people": _count,
                "days": _sum("days"),
                "no_follow_up": lambda t: (t.days == 0).cast("int64").sum(),
            },
            kinds,
        )

        def derive(cells: Cells) -> MetricRow:
            years = _years(cells["days"])
            people = cells["people"]
            mean = stats.ratio(years, people, "no one in the population")
            return MetricRow(
                numerator=years,
                denominator=people,
                value=years,
                reason=None if years is not None else SUPPRESSED,
                details={
                    "days": cells["days"],
                    "mean_years_per_person": mean.value,
                    "people_without_follow_up": cells["no_follow_up"],
                },
            )

        return build_result(
            context,
            total=total,
            breakdowns=groups,
            derive=derive,
            kinds=kinds,
            labels={
                "numerator": "user-years (days in receipt in the period / 365.25)",
                "denominator": "people in the population",
                "value": "user-years",
            },
        )


def _covered_events(
    context: MetricContext, merged: ir.Table, outcome: str
) -> tuple[ir.Table, ir.Table]:
    """Per person: events of ``outcome`` dated on a covered day; and covered days."""
    o = outcomes(context, [outcome]).select(_ou="user_id", _on="date")
    hits = merged.inner_join(o, [merged.user_id == o._ou, o._on >= merged.lo, o._on <= merged.hi])
    events = hits.group_by("user_id").agg(events=hits.count())
    merged = merged.mutate(days=days_between(merged.lo, merged.hi))
    days = merged.group_by("user_id").agg(days=merged.days.sum())
    return events, days


class EventRate:
    """Events per ``per`` person-years in receipt (A&E attendances per 1,000 person-years).

    Options: ``outcome`` (an outcome kind, required), ``per`` (default 1000),
    ``service_kinds``. Person-time is as for ``user-years``; an event counts when
    it is dated on a day of that person-time. Numerator: events; denominator:
    person-years; value: events / person-years × per, with Byar's 95% interval.
    """

    kind = "event-rate"

    def evaluate(self, context: MetricContext) -> MetricResult:
        outcome = _outcome_kind(context)
        per = option_int(context, "per", 1000)
        members = context.members()
        windows = windows_in_period(context, members, _kind_list(context, "service_kinds"))
        merged = islands(windows)
        events, days = _covered_events(context, merged, outcome)
        events = events.rename(_eu="user_id")
        days = days.rename(_du="user_id")
        facts = members.left_join(days, members.user_id == days._du)
        facts = facts.left_join(events, facts.user_id == events._eu).select(
            "user_id",
            days=ibis.coalesce(facts.days, 0),
            events=ibis.coalesce(events.events, 0),
        )
        kinds = {"people": COUNT, "events": COUNT, "days": AMOUNT}
        total, groups = context.summarise(
            facts, {"people": _count, "events": _sum("events"), "days": _sum("days")}, kinds
        )

        def derive(cells: Cells) -> MetricRow:
            years = _years(cells["days"])
            estimate = stats.rate(cells["events"], years, per, "there is no person-time")
            return MetricRow(
                numerator=cells["events"],
                denominator=years,
                value=estimate.value,
                ci_low=estimate.ci_low,
                ci_high=estimate.ci_high,
                reason=estimate.reason,
                details={"people": cells["people"], "days": cells["days"], "per": per},
            )

        return build_result(
            context,
            total=total,
            breakdowns=groups,
            derive=derive,
            kinds=kinds,
            labels={
                "numerator": f"{outcome} outcomes on days in receipt",
                "denominator": "person-years in receipt",
                "value": f"{outcome} per {per:,} person-years",
            },
        )


class CostPerUserYear:
    """Service cost per user-year, from each service's ``annual_cost``.

    Options: ``service_kinds``. Cost: for every enrolment, its days in receipt
    in P (clipped as for ``user-years``, but *not* merged: two services at once
    cost twice) × annual_cost / 365.25. Numerator: cost; denominator: user-years
    (merged); value: cost per user-year. Days on services with no annual_cost are
    not costed; they are reported, and the value then understates the cost.
    """

    kind = "cost-per-user-year"

    def evaluate(self, context: MetricContext) -> MetricResult:
        members = context.members()
        windows = windows_in_period(context, members, _kind_list(context, "service_kinds"))
        windows = windows.mutate(_days=days_between(windows.lo, windows.hi))
        costed = windows.group_by("user_id").agg(
            cost=(windows._days * windows.annual_cost.fill_null(0) / DAYS_PER_YEAR).sum(),
            enrolment_days=windows._days.sum(),
            uncosted_days=ibis.cases((windows.annual_cost.isnull(), windows._days), else_=0).sum(),
        )
        costed = costed.rename(_cu="user_id")
        days = covered_days(windows.drop("_days")).rename(_du="user_id")
        facts = members.left_join(days, members.user_id == days._du)
        facts = facts.left_join(costed, facts.user_id == costed._cu).select(
            "user_id",
            days=ibis.coalesce(facts.days, 0),
            cost=ibis.coalesce(costed.cost, 0.0),
            enrolment_days=ibis.coalesce(costed.enrolment_days, 0),
            uncosted_days=ibis.coalesce(costed.uncosted_days, 0),
        )
        kinds = {
            "people": COUNT,
            "days": AMOUNT,
            "cost": AMOUNT,
            "enrolment_days": AMOUNT,
            "uncosted_days": AMOUNT,
        }
        total, groups = context.summarise(
            facts,
            {
                "people": _count,
                "days": _sum("days"),
                "cost": _sum("cost"),
                "enrolment_days": _sum("enrolment_days"),
                "uncosted_days": _sum("uncosted_days"),
            },
            kinds,
        )

        def derive(cells: Cells) -> MetricRow:
            years = _years(cells["days"])
            value = stats.ratio(cells["cost"], years, "there is no person-time")
            uncosted = cells["uncosted_days"]
            details: dict[str, Any] = {
                "people": cells["people"],
                "user_years": years,
                "enrolment_years": _years(cells["enrolment_days"]),
                "uncosted_enrolment_years": _years(uncosted),
            }
            if uncosted:
                details["note"] = (
                    "some services have no annual_cost; their days are not costed, so the "
                    "value understates the cost"
                )
            return MetricRow(
                numerator=cells["cost"],
                denominator=years,
                value=value.value,
                reason=value.reason,
                details=details,
            )

        return build_result(
            context,
            total=total,
            breakdowns=groups,
            derive=derive,
            kinds=kinds,
            labels={
                "numerator": "cost of services in the period (annual_cost × years on each)",
                "denominator": "user-years in receipt",
                "value": "cost per user-year",
            },
        )


# Cohorts indexed on a first installation.


def _indexed(
    context: MetricContext, index_kinds: list[str] | None, *, in_period: bool = False
) -> ir.Table:
    """Members with their index date (``index_on``, null when none) and date of death."""
    members = context.members()
    first = first_installations(context, index_kinds, in_period=in_period).rename(_iu="user_id")
    dead = deaths(context).rename(_du="user_id")
    facts = members.left_join(first, members.user_id == first._iu)
    facts = facts.left_join(dead, facts.user_id == dead._du)
    return facts.select("user_id", "index_on", "died_on")


def _in_period(context: MetricContext, day: ir.DateValue) -> ir.BooleanValue:
    return (day >= lit(context.period.start)) & (day <= lit(context.period.end))


def _index_words(index_kinds: list[str] | None) -> str:
    return " or ".join(index_kinds) if index_kinds else "any"


class BeforeAfter:
    """Events in the year before and the year after each person's index date.

    Options: ``outcome`` (default ``emergency_admission``), ``index_kinds``
    (default ``["telehealth"]``; the index is the earliest installation of these
    kinds over all the person's enrolments), ``days`` (window length, 365),
    ``per`` (1000). Cohort: population members whose index lies in P.
    """

    kind = "before-after"

    def evaluate(self, context: MetricContext) -> MetricResult:
        outcome = _outcome_kind(context, default="emergency_admission")
        index_kinds = _kind_list(context, "index_kinds", ["telehealth"])
        length = option_int(context, "days", 365)
        per = option_int(context, "per", 1000)
        extract = lit(context.extract_date)
        far = lit(date(9999, 12, 31))
        people = _indexed(context, index_kinds)
        people = people.mutate(
            _cohort=people.index_on.notnull() & _in_period(context, people.index_on)
        )
        people = people.mutate(
            _before_from=shift(people.index_on, -length),
            _before_to=ibis.least(shift(people.index_on, -1), extract),
            _after_to=ibis.least(
                shift(people.index_on, length - 1), people.died_on.fill_null(far), extract
            ),
        )
        o = outcomes(context, [outcome]).select(_ou="user_id", _on="date")
        cohort = people.filter(people._cohort)
        hits = cohort.inner_join(o, cohort.user_id == o._ou)
        per_person = hits.group_by("user_id").agg(
            before=((hits._on >= hits._before_from) & (hits._on <= hits._before_to))
            .cast("int64")
            .sum(),
            after=((hits._on >= hits.index_on) & (hits._on <= hits._after_to)).cast("int64").sum(),
        )
        per_person = per_person.rename(_pu="user_id")
        facts = people.left_join(per_person, people.user_id == per_person._pu)
        facts = facts.select(
            "user_id",
            cohort=facts._cohort.fill_null(False),
            no_index=facts.index_on.isnull(),
            events_before=ibis.cases((facts._cohort, ibis.coalesce(facts.before, 0)), else_=0),
            events_after=ibis.cases((facts._cohort, ibis.coalesce(facts.after, 0)), else_=0),
            days_before=ibis.cases(
                (facts._cohort, days_between(facts._before_from, facts._before_to)), else_=0
            ),
            days_after=ibis.cases(
                (facts._cohort, days_between(facts.index_on, facts._after_to)), else_=0
            ),
        )
        kinds = {
            "people": COUNT,
            "events_before": COUNT,
            "events_after": COUNT,
            "days_before": AMOUNT,
            "days_after": AMOUNT,
            "no_index": COUNT,
            "index_outside_period": COUNT,
        }
        total, groups = context.summarise(
            facts,
            {
                "people": _flag("cohort"),
                "events_before": _sum("events_before"),
                "events_after": _sum("events_after"),
                "days_before": _sum("days_before"),
                "days_after": _sum("days_after"),
                "no_index": _flag("no_index"),
                "index_outside_period": lambda t: (~t.cohort & ~t.no_index).cast("int64").sum(),
            },
            kinds,
        )

        def derive(cells: Cells) -> MetricRow:
            before_years, after_years = _years(cells["days_before"]), _years(cells["days_after"])
            eb, ea = cells["events_before"], cells["events_after"]
            none_yet = "there is no follow-up"
            before = stats.rate(eb, before_years, per, none_yet)
            after = stats.rate(ea, after_years, per, none_yet)
            ratio = stats.rate_ratio(
                ea, after_years, eb, before_years, first="after window", second="before window"
            )
            numerator = None if eb is None or ea is None else ea + eb
            reason = ratio.reason if ratio.value is None else None
            if cells["people"] == 0:
                reason = "no one in the population has an index date in the period"
            return MetricRow(
                numerator=numerator,
                denominator=cells["people"],
                value=ratio.value,
                ci_low=ratio.ci_low,
                ci_high=ratio.ci_high,
                reason=reason,
                details={
                    "before": {
                        "events": eb,
                        "person_years": before_years,
                        "rate": before.value,
                        "ci_low": before.ci_low,
                        "ci_high": before.ci_high,
                    },
                    "after": {
                        "events": ea,
                        "person_years": after_years,
                        "rate": after.value,
                        "ci_low": after.ci_low,
                        "ci_high": after.ci_high,
                    },
                    "rate_ratio": ratio.as_dict(),
                    "per": per,
                    "excluded": _exclusions(
                        cells,
                        {
                            "no_index": f"no {_index_words(index_kinds)} installation",
                            "index_outside_period": "first installation outside the period",
                        },
                    ),
                },
            )

        return build_result(
            context,
            total=total,
            breakdowns=groups,
            derive=derive,
            kinds=kinds,
            labels={
                "numerator": f"{outcome} outcomes in the before and after windows",
                "denominator": "people in the cohort (index date in the period)",
                "value": "rate ratio, after / before",
            },
        )


class OutcomeWithin:
    """The share of a cohort with at least one outcome in the ``days`` from the index.

    Options: ``outcome`` (required), ``index_kinds`` (default ``["telehealth"]``),
    ``days`` (365). Cohort: population members whose index (earliest
    installation of the kinds, over all their enrolments) lies in P and whose
    whole window ``[index, index + days - 1]`` is on or before the extract date.
    """

    kind = "outcome-within"

    def evaluate(self, context: MetricContext) -> MetricResult:
        outcome = _outcome_kind(context)
        index_kinds = _kind_list(context, "index_kinds", ["telehealth"])
        length = option_int(context, "days", 365)
        people = _indexed(context, index_kinds)
        people = people.mutate(_to=shift(people.index_on, length - 1))
        people = people.mutate(
            _has=people.index_on.notnull(),
            _inside=people.index_on.notnull() & _in_period(context, people.index_on),
        )
        people = people.mutate(_cohort=people._inside & (people._to <= lit(context.extract_date)))
        o = outcomes(context, [outcome]).select(_ou="user_id", _on="date")
        cohort = people.filter(people._cohort)
        hits = cohort.inner_join(
            o, [cohort.user_id == o._ou, o._on >= cohort.index_on, o._on <= cohort._to]
        )
        had = hits.select(_hu="user_id").distinct()
        facts = people.left_join(had, people.user_id == had._hu).select(
            "user_id",
            cohort=people._cohort.fill_null(False),
            had=people._cohort.fill_null(False) & had._hu.notnull(),
            no_index=~people._has,
            outside=people._has & ~people._inside.fill_null(False),
            short=people._inside.fill_null(False) & ~people._cohort.fill_null(False),
        )
        kinds = {
            "people": COUNT,
            "with_outcome": COUNT,
            "no_index": COUNT,
            "index_outside_period": COUNT,
            "short_follow_up": COUNT,
        }
        total, groups = context.summarise(
            facts,
            {
                "people": _flag("cohort"),
                "with_outcome": _flag("had"),
                "no_index": _flag("no_index"),
                "index_outside_period": _flag("outside"),
                "short_follow_up": _flag("short"),
            },
            kinds,
        )

        def derive(cells: Cells) -> MetricRow:
            share = stats.proportion(
                cells["with_outcome"],
                cells["people"],
                "no one in the population has a complete window from an index date in the period",
            )
            return MetricRow(
                numerator=cells["with_outcome"],
                denominator=cells["people"],
                value=share.value,
                ci_low=share.ci_low,
                ci_high=share.ci_high,
                reason=share.reason,
                details={
                    "days": length,
                    "excluded": _exclusions(
                        cells,
                        {
                            "no_index": f"no {_index_words(index_kinds)} installation",
                            "index_outside_period": "first installation outside the period",
                            "short_follow_up": (
                                f"fewer than {length} days between the index and the extract date"
                            ),
                        },
                    ),
                },
            )

        return build_result(
            context,
            total=total,
            breakdowns=groups,
            derive=derive,
            kinds=kinds,
            labels={
                "numerator": (
                    f"people with at least one {outcome} within {length} days of the index"
                ),
                "denominator": "people in the cohort",
                "value": "proportion",
            },
        )


# Use of hospital beds.


class BedDays:
    """Hospital bed days per head of the population.

    Options: ``outcomes`` (default emergency and elective admissions). Bed days:
    the sum of ``value`` (length of stay) of members' admissions of those kinds
    dated in ``[start of P, min(end of P, extract date)]``; an admission without
    a length of stay adds none (and is reported). Numerator: bed days;
    denominator: people; value: bed days per person.
    """

    kind = "bed-days"

    def evaluate(self, context: MetricContext) -> MetricResult:
        wanted = _kind_list(context, "outcomes", ["elective_admission", "emergency_admission"])
        assert wanted is not None
        for kind in wanted:
            if kind not in {k.value for k in OutcomeKind}:
                raise MetricError(f"metric {context.metric.name}: unknown outcome kind {kind!r}")
        members = context.members()
        o = outcomes(context, wanted)
        stop = min(context.period.end, context.extract_date)
        o = o.filter(o.date >= lit(context.period.start), o.date <= lit(stop))
        per_person = o.group_by("user_id").agg(
            bed_days=o.value.fill_null(0).sum(),
            admissions=o.count(),
            no_stay=o.value.isnull().cast("int64").sum(),
        )
        per_person = per_person.rename(_pu="user_id")
        facts = members.left_join(per_person, members.user_id == per_person._pu).select(
            "user_id",
            bed_days=ibis.coalesce(per_person.bed_days, 0.0),
            admissions=ibis.coalesce(per_person.admissions, 0),
            no_stay=ibis.coalesce(per_person.no_stay, 0),
        )
        kinds = {
            "people": COUNT,
            "bed_days": AMOUNT,
            "admissions": COUNT,
            "admissions_without_stay": COUNT,
        }
        total, groups = context.summarise(
            facts,
            {
                "people": _count,
                "bed_days": _sum("bed_days"),
                "admissions": _sum("admissions"),
                "admissions_without_stay": _sum("no_stay"),
            },
            kinds,
        )

        def derive(cells: Cells) -> MetricRow:
            value = stats.ratio(cells["bed_days"], cells["people"], "no one in the population")
            return MetricRow(
                numerator=cells["bed_days"],
                denominator=cells["people"],
                value=value.value,
                reason=value.reason,
                details={
                    "admissions": cells["admissions"],
                    "admissions_without_stay": cells["admissions_without_stay"],
                    "outcomes": wanted,
                },
            )

        return build_result(
            context,
            total=total,
            breakdowns=groups,
            derive=derive,
            kinds=kinds,
            labels={
                "numerator": "bed days (length of stay of admissions in the period)",
                "denominator": "people in the population",
                "value": "bed days per person",
            },
        )


# Retention and waiting.

#: End reasons of people who left, tabled by retention (died and care_home are left out).
_REASONS = [r.value for r in EndReason]


class Retention:
    """The share of people installed in P still in receipt ``days`` later.

    Options: ``days`` (91), ``service_kinds``. See the ``retention-91d`` metric
    for the exact rules.
    """

    kind = "retention"

    def evaluate(self, context: MetricContext) -> MetricResult:
        length = option_int(context, "days", 91)
        kinds_wanted = _kind_list(context, "service_kinds")
        extract = lit(context.extract_date)
        far = lit(date(9999, 12, 31))
        people = _indexed(context, kinds_wanted, in_period=True)
        people = people.mutate(_check=shift(people.index_on, length))
        e = enrolments(context, kinds_wanted)
        e = e.filter(e.installed_on.notnull())
        checks = people.filter(people.index_on.notnull()).select(_cu="user_id", _check="_check")
        started = e.inner_join(checks, [e.user_id == checks._cu, e.installed_on <= checks._check])
        covering = started.mutate(
            _covers=started.ended_on.fill_null(far) >= started._check,
        )
        ended = covering.filter(~covering._covers)
        last_reason = ended.group_by("user_id").agg(
            reason=ended.end_reason.fill_null("").argmax(ended.ended_on),
        )
        still = covering.group_by("user_id").agg(retained=covering._covers.any())
        moves = outcomes(context, ["care_home_admission"]).select(_hu="user_id", _on="date")
        windows = people.select(_pu="user_id", _index="index_on", _until="_check")
        care = moves.inner_join(
            windows,
            [moves._hu == windows._pu, moves._on >= windows._index, moves._on <= windows._until],
        )
        care = care.select(_ch="_hu").distinct()

        still = still.rename(_su="user_id")
        last_reason = last_reason.rename(_lu="user_id")
        f = people.left_join(still, people.user_id == still._su)
        f = f.left_join(last_reason, f.user_id == last_reason._lu)
        f = f.left_join(care, f.user_id == care._ch)
        installed = f.index_on.notnull()
        observable = installed & (f._check <= extract)
        retained = observable & f.retained.fill_null(False)
        gone = observable & ~f.retained.fill_null(False)
        reason = f.reason.fill_null("")
        died = gone & ((reason == "died") | (f.died_on.fill_null(far) <= f._check))
        care_home = gone & ~died & ((reason == "care_home") | f._ch.notnull())
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
        facts = f.select("user_id", **columns)
        reason_cells = [c for c in columns if c.startswith("reason_")]
        kinds = {"people": COUNT, **{c: COUNT for c in columns}}
        cells: dict[str, Callable[[ir.Table], ir.Value]] = {
            "people": lambda t: (t.retained | t.left).cast("int64").sum()
        }
        cells.update({c: _flag(c) for c in columns})
        total, groups = context.summarise(facts, cells, kinds)

        def derive(cells: Cells) -> MetricRow:
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
                        **{c.removeprefix("reason_"): cells[c] for c in reason_cells},
                    },
                    "excluded": {
                        "died": cells["died"],
                        "moved into a care home": cells["care_home"],
                        f"installed fewer than {length} days before the extract date": cells[
                            "too_recent"
                        ],
                        "no installation in the period": cells["not_installed"],
                    },
                },
            )

        return build_result(
            context,
            total=total,
            breakdowns=groups,
            derive=derive,
            kinds=kinds,
            labels={
                "numerator": f"people still in receipt {length} days after installation",
                "denominator": "people installed in the period (less those who died or moved "
                "into a care home)",
                "value": "proportion",
            },
        )


class WaitingTime:
    """Days from referral to installation: median, quartiles, share within ``days``.

    Options: ``days`` (28), ``service_kinds``. Units: members' enrolments
    installed in P with a referral date.
    """

    kind = "waiting-time"

    def evaluate(self, context: MetricContext) -> MetricResult:
        within = option_int(context, "days", 28, minimum=0)
        members = context.members()
        e = enrolments(context, _kind_list(context, "service_kinds"))
        e = e.filter(
            e.user_id.isin(members.user_id),
            e.installed_on >= lit(context.period.start),
            e.installed_on <= lit(context.period.end),
        )
        facts = e.select(
            "user_id",
            wait=ibis.cases(
                (e.referred_on.notnull(), e.installed_on.delta(e.referred_on, unit="day")),
                else_=ibis.null("int64"),
            ),
        )
        kinds = {
            "installations": COUNT,
            "within": COUNT,
            "unmeasured": COUNT,
            "median": STATISTIC,
            "q1": STATISTIC,
            "q3": STATISTIC,
        }
        total, groups = context.summarise(
            facts,
            {
                "installations": lambda t: t.wait.notnull().cast("int64").sum(),
                "within": lambda t: (t.wait <= within).cast("int64").sum(),
                "unmeasured": lambda t: t.wait.isnull().cast("int64").sum(),
                "median": lambda t: t.wait.quantile(0.5),
                "q1": lambda t: t.wait.quantile(0.25),
                "q3": lambda t: t.wait.quantile(0.75),
            },
            kinds,
        )

        def derive(cells: Cells) -> MetricRow:
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
                    f"share_within_{within}_days": share.as_dict(),
                    "installations_without_referral_date": cells["unmeasured"],
                },
            )

        return build_result(
            context,
            total=total,
            breakdowns=groups,
            derive=derive,
            kinds=kinds,
            gate="installations",
            labels={
                "numerator": f"installations within {within} days of referral",
                "denominator": "installations in the period with a referral date",
                "value": "median days from referral to installation",
            },
        )


# Progress to target.


class ProgressToTarget:
    """The population's count against each area's target, projected to the due date.

    Options: ``trend_days`` (91). See the ``progress-to-target`` metric for the
    exact rules.
    """

    kind = "progress-to-target"

    def evaluate(self, context: MetricContext) -> MetricResult:
        trend_days = option_int(context, "trend_days", 91)
        period = context.period
        name = context.population.definition.name
        now = min(period.end, context.extract_date)
        if now < period.start:
            raise MetricError(
                f"metric {context.metric.name}: the extract ends ({context.extract_date}) before "
                f"the period starts ({period.start}); there is nothing to count"
            )
        then = max(period.start, now - timedelta(days=trend_days))
        current = (
            context.population
            if now == period.end
            else context.count(name, Period(period.start, now))
        )
        earlier = context.count(name, Period(period.start, then)) if then < now else None
        span = (now - then).days
        targets = _targets(context, name, now)
        kinds = {
            "people": COUNT,
            "earlier": COUNT,
            "target": PUBLIC,
            "due": PUBLIC,
            "trend_days": PUBLIC,
            "days_to_due": PUBLIC,
        }

        def cells_for(count: int, before: int | None, area: Any) -> dict[str, Any]:
            chosen = targets.get(area)
            return {
                "people": count,
                "earlier": before,
                "target": chosen[0] if chosen else None,
                "due": chosen[1].isoformat() if chosen else None,
                "trend_days": span,
                "days_to_due": (chosen[1] - now).days if chosen else None,
            }

        total_target = targets.get("all")
        target_source = "the 'all' row of the targets table"
        if total_target is None:
            areas = [v for k, v in targets.items() if k != "all"]
            if areas:
                due = max(d for _, d in areas)
                total_target = (sum(t for t, _ in areas), due)
                targets["all"] = total_target
                target_source = "the sum of the areas' targets (no 'all' row)"
            else:
                target_source = f"none: the targets table has no row for {name!r}"
        total = cells_for(current.count, earlier.count if earlier else None, "all")
        groups: dict[str, list[tuple[Any, dict[str, Any]]]] = {}
        for by in context.by:
            now_rows = {row.value: row.count for row in current.breakdowns.get(by, ())}
            then_rows = (
                {row.value: row.count for row in earlier.breakdowns.get(by, ())} if earlier else {}
            )
            values = set(now_rows)
            if by == "area":
                values |= {k for k in targets if k != "all"}
            rows = []
            for value in sorted(values, key=lambda v: (v is None, str(v))):
                cells = cells_for(
                    now_rows.get(value, 0),
                    then_rows.get(value, 0) if earlier else None,
                    value if by == "area" else object(),
                )
                rows.append((value, cells))
            groups[by] = rows

        def derive(cells: Cells) -> MetricRow:
            count, target = cells["people"], cells["target"]
            if target is None:
                return MetricRow(
                    numerator=count,
                    denominator=None,
                    reason="no target for this group (targets are set by area)",
                    details={"target": None},
                )
            share = stats.ratio(count, target, "the target is 0")
            trend = None
            if cells["earlier"] is not None and count is not None and cells["trend_days"]:
                trend = (count - cells["earlier"]) / cells["trend_days"]
            projection = None
            to_due = cells["days_to_due"]
            if count is not None:
                if to_due <= 0:
                    projection = float(count)
                elif trend is not None:
                    projection = count + trend * to_due
            details = {
                "target": target,
                "due": cells["due"],
                "count": count,
                "count_trend_start": cells["earlier"],
                "trend_days": cells["trend_days"],
                "trend_per_day": trend,
                "days_to_due": to_due,
                "projection": projection,
                "on_track": None if projection is None else projection >= target,
                "due_passed": to_due <= 0,
            }
            reason = share.reason
            if projection is None and count is not None and reason is None:
                details["projection_note"] = "the period is too short to show a trend"
            return MetricRow(
                numerator=count,
                denominator=target,
                value=share.value,
                reason=reason,
                details=details,
            )

        return build_result(
            context,
            total=total,
            breakdowns=groups,
            derive=derive,
            kinds=kinds,
            labels={
                "numerator": f"people counted by {name} from {period.start} to {now}",
                "denominator": "the target",
                "value": "share of the target reached",
            },
            details={
                "counted_to": now.isoformat(),
                "trend_from": then.isoformat(),
                "total_target_from": target_source,
            },
        )


def _targets(context: MetricContext, name: str, now: date) -> dict[Any, tuple[float, date]]:
    """Each area's target for ``name``: the earliest due on or after ``now``, else the latest."""
    t = context.table("targets")
    rows = t.filter(t.definition == name).select("area", "value", "due").to_pyarrow().to_pylist()
    chosen: dict[Any, tuple[float, date]] = {}
    for row in sorted(rows, key=lambda r: r["due"]):
        area, value, due = row["area"], float(row["value"]), row["due"]
        current = chosen.get(area)
        if current is None:
            chosen[area] = (value, due)
        elif current[1] < now:
            chosen[area] = (value, due)  # the earlier one is past: prefer a later one
    return chosen


# Trials.


class ArmComparison:
    """Intervention against control in a trial, for a binary or a count outcome.

    Options: ``outcome`` (default ``death``), ``outcome_measure`` (``binary``,
    the default, or ``count``), ``days`` (365), ``trial`` (which trial; needed
    only when the allocations hold several). See the ``arm-comparison`` metric
    for the exact rules.
    """

    kind = "arm-comparison"

    def evaluate(self, context: MetricContext) -> MetricResult:
        outcome = _outcome_kind(context, default="death")
        measure = context.option("outcome_measure", "binary")
        if measure not in ("binary", "count"):
            raise MetricError(
                f"metric {context.metric.name}: option outcome_measure must be 'binary' or "
                f"'count', not {measure!r}"
            )
        length = option_int(context, "days", 365)
        allocations = _allocations(context)
        trials = sorted(
            row["trial"] for row in allocations.select("trial").distinct().to_pyarrow().to_pylist()
        )
        chosen = context.option("trial")
        if chosen is not None and chosen not in trials:
            known = ", ".join(trials) or "none"
            raise MetricError(
                f"metric {context.metric.name}: no one in the population was allocated to trial "
                f"{chosen!r} in the period (trials: {known})"
            )
        if chosen is None and len(trials) == 1:
            chosen = trials[0]
        o = outcomes(context, [outcome]).select(_ou="user_id", _on="date")
        a = allocations.mutate(_to=shift(allocations.allocated_on, length - 1))
        hits = a.inner_join(o, [a.user_id == o._ou, o._on >= a.allocated_on, o._on <= a._to])
        events = hits.group_by(["trial", "user_id"]).agg(events=hits.count())
        events = events.rename(_et="trial", _eu="user_id")
        facts = a.left_join(events, [a.trial == events._et, a.user_id == events._eu])
        facts = facts.select(
            "trial",
            "user_id",
            intervention=facts.arm == Arm.INTERVENTION.value,
            control=facts.arm == Arm.CONTROL.value,
            events=ibis.coalesce(facts.events, 0),
            short=facts._to > lit(context.extract_date),
        )
        facts = facts.mutate(had=facts.events > 0)
        kinds = {
            "people": COUNT,
            "n_intervention": COUNT,
            "n_control": COUNT,
            "a_intervention": COUNT,
            "a_control": COUNT,
            "e_intervention": COUNT,
            "e_control": COUNT,
            "short_follow_up": COUNT,
        }
        cells = {
            "people": _count,
            "n_intervention": _flag("intervention"),
            "n_control": _flag("control"),
            "a_intervention": lambda t: (t.intervention & t.had).cast("int64").sum(),
            "a_control": lambda t: (t.control & t.had).cast("int64").sum(),
            "e_intervention": lambda t: ibis.cases((t.intervention, t.events), else_=0).sum(),
            "e_control": lambda t: ibis.cases((t.control, t.events), else_=0).sum(),
            "short_follow_up": _flag("short"),
        }
        derive_one = _binary if measure == "binary" else _count_outcome
        every = {}
        for trial in trials:
            mine = facts.filter(facts.trial == trial)
            every[trial] = derive_one(_total_only(context, mine, cells, kinds))
        details: dict[str, Any] = {
            "trials": {
                trial: {
                    "numerator": row.numerator,
                    "denominator": row.denominator,
                    "value": row.value,
                    "ci_low": row.ci_low,
                    "ci_high": row.ci_high,
                    "reason": row.reason,
                    **row.details,
                }
                for trial, row in every.items()
            },
            "outcome": outcome,
            "outcome_measure": measure,
            "days": length,
        }
        if chosen is not None:
            total, groups = context.summarise(facts.filter(facts.trial == chosen), cells, kinds)
            derive = derive_one
            details["trial"] = chosen
        else:
            total, groups = context.summarise(facts, cells, kinds)
            why = (
                "no one in the population was allocated to a trial arm in the period"
                if not trials
                else f"the allocations hold {len(trials)} trials ({', '.join(trials)}); choose one "
                "with the option trial=NAME (each is under 'trials')"
            )

            def derive(cells: Cells) -> MetricRow:
                row = derive_one(cells)
                return MetricRow(
                    numerator=row.numerator,
                    denominator=row.denominator,
                    reason=why,
                    details={} if trials else row.details,
                )

        names = {
            "binary": (
                f"people with at least one {outcome} within {length} days of allocation (both "
                "arms)",
                "odds ratio, intervention / control",
            ),
            "count": (
                f"{outcome} outcomes within {length} days of allocation (both arms)",
                "rate ratio (events per head), intervention / control",
            ),
        }[measure]
        return build_result(
            context,
            total=total,
            breakdowns=groups,
            derive=derive,
            kinds=kinds,
            labels={
                "numerator": names[0],
                "denominator": "people allocated (both arms)",
                "value": names[1],
            },
            details=details,
        )


def _total_only(
    context: MetricContext,
    facts: ir.Table,
    cells: Mapping[str, Callable[[ir.Table], ir.Value]],
    kinds: Mapping[str, str],
) -> dict[str, Any]:
    """The total's cells, without the breakdowns."""
    return attrs.evolve(context, by=()).summarise(facts, cells, kinds)[0]


def _allocations(context: MetricContext) -> ir.Table:
    """Members' allocations dated in P, the first per (trial, person)."""
    members = context.members()
    a = context.table("allocations")
    a = a.filter(a.user_id.isin(members.user_id), _in_period(context, a.allocated_on))
    return a.group_by(["trial", "user_id"]).agg(
        arm=a.arm.argmin(a.allocated_on), allocated_on=a.allocated_on.min()
    )


def _arm(n: int | None, had: int | None, per_head: bool) -> dict[str, Any]:
    if per_head:
        value = stats.ratio(had, n, "the arm is empty")
        interval = (None, None)
        if value.value is not None and had is not None and n:
            low, high = stats.byar_interval(had)
            interval = (low / n, high / n)
        return {
            "people": n,
            "events": had,
            "events_per_head": value.value,
            "ci_low": interval[0],
            "ci_high": interval[1],
            "reason": value.reason,
        }
    share = stats.proportion(had, n, "the arm is empty")
    return {
        "people": n,
        "with_outcome": had,
        "proportion": share.value,
        "ci_low": share.ci_low,
        "ci_high": share.ci_high,
        "reason": share.reason,
    }


def _sum_or_none(*values: int | None) -> int | None:
    return None if any(v is None for v in values) else sum(v for v in values if v is not None)


def _binary(cells: Cells) -> MetricRow:
    n1, a1 = cells["n_intervention"], cells["a_intervention"]
    n0, a0 = cells["n_control"], cells["a_control"]
    names = {"first": "intervention", "second": "control"}
    odds = stats.odds_ratio(a1, n1, a0, n0, **names)
    difference = stats.risk_difference(a1, n1, a0, n0, **names)
    relative = stats.risk_ratio(a1, n1, a0, n0, **names)
    reduction = stats.Estimate(
        None if relative.value is None else 1 - relative.value,
        None if relative.ci_high is None else 1 - relative.ci_high,
        None if relative.ci_low is None else 1 - relative.ci_low,
        relative.reason,
    )
    reason = odds.reason if odds.value is None else None
    if n1 == 0 and n0 == 0:
        reason = "no one in the population was allocated to a trial arm in the period"
    return MetricRow(
        numerator=_sum_or_none(a1, a0),
        denominator=_sum_or_none(n1, n0),
        value=odds.value,
        ci_low=odds.ci_low,
        ci_high=odds.ci_high,
        reason=reason,
        details={
            "arms": {
                "intervention": _arm(n1, a1, per_head=False),
                "control": _arm(n0, a0, per_head=False),
            },
            "odds_ratio": odds.as_dict(),
            "risk_difference": difference.as_dict(),
            "relative_risk": relative.as_dict(),
            "relative_reduction": reduction.as_dict(),
            "short_follow_up": cells["short_follow_up"],
        },
    )


def _count_outcome(cells: Cells) -> MetricRow:
    n1, e1 = cells["n_intervention"], cells["e_intervention"]
    n0, e0 = cells["n_control"], cells["e_control"]
    ratio = stats.rate_ratio(e1, n1, e0, n0, first="intervention arm", second="control arm")
    reason = ratio.reason if ratio.value is None else None
    if n1 == 0 and n0 == 0:
        reason = "no one in the population was allocated to a trial arm in the period"
    elif n1 == 0 or n0 == 0:
        reason = f"the {'intervention' if n1 == 0 else 'control'} arm is empty"
    return MetricRow(
        numerator=_sum_or_none(e1, e0),
        denominator=_sum_or_none(n1, n0),
        value=ratio.value,
        ci_low=ratio.ci_low,
        ci_high=ratio.ci_high,
        reason=reason,
        details={
            "arms": {
                "intervention": _arm(n1, e1, per_head=True),
                "control": _arm(n0, e0, per_head=True),
            },
            "rate_ratio": ratio.as_dict(),
            "short_follow_up": cells["short_follow_up"],
        },
    )


#: Every measure kind this plugin supplies.
KINDS = (
    UserYears(),
    EventRate(),
    CostPerUserYear(),
    BeforeAfter(),
    OutcomeWithin(),
    BedDays(),
    Retention(),
    WaitingTime(),
    ProgressToTarget(),
    ArmComparison(),
)
