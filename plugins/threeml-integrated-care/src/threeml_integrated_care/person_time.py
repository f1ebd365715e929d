"""Person-time measure kinds: user-years, events per person-year, cost per user-year.

Person-time is each member's installed windows within P, clipped at death and
at the extract date, and merged so no day counts twice
(:func:`~threeml_integrated_care.facts.windows_in_period`,
:func:`~threeml_integrated_care.facts.islands`).
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from threeml.metrics.measures import AMOUNT, COUNT, SUPPRESSED, MetricContext, MetricRow
from threeml_integrated_care import stats
from threeml_integrated_care.facts import (
    DAYS_PER_YEAR,
    days_between,
    member_days,
    member_islands,
    member_windows,
    outcomes,
    person_years,
)
from threeml_integrated_care.options import PER, SERVICE_KINDS, Option, outcome_kind
from threeml_integrated_care.skeleton import Cell, CellMeasure, Cells, Plan, rows, total

__all__ = ["COST_PER_USER_YEAR", "EVENT_RATE", "USER_YEARS"]


# User-years.


def _user_years_facts(context: MetricContext, plan: Plan) -> ir.Table:
    return member_days(context, plan["service_kinds"])


def _user_years(plan: Plan, cells: Cells) -> MetricRow:
    years = person_years(cells["days"])
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


#: Person-time in receipt: the union of each member's installed windows within P.
#:
#: Options: ``service_kinds`` (only windows of these kinds; default all).
#: Numerator: user-years (covered days / 365.25); denominator: people; value:
#: user-years. Windows stop at death and at the extract date.
USER_YEARS = CellMeasure(
    kind="user-years",
    options=(SERVICE_KINDS,),
    facts=_user_years_facts,
    cells={
        "people": Cell(COUNT, rows),
        "days": Cell(AMOUNT, total("days")),
        "no_follow_up": Cell(COUNT, lambda t: (t.days == 0).ifelse(1, 0).sum()),
    },
    derive=_user_years,
    labels={
        "numerator": "user-years (days in receipt in the period / 365.25)",
        "denominator": "people in the population",
        "value": "user-years",
    },
)


# Events per person-year.


def _covered_events(context: MetricContext, merged: ir.Table, outcome: str) -> ir.Table:
    """Per person: events of ``outcome`` dated on a covered day (of the ``merged`` islands)."""
    o = outcomes(context, [outcome]).select(_ou="user_id", _on="date")
    hits = merged.inner_join(o, [merged.user_id == o._ou, o._on >= merged.lo, o._on <= merged.hi])
    return hits.group_by("user_id").agg(events=hits.count())


def _event_rate_facts(context: MetricContext, plan: Plan) -> ir.Table:
    kinds = plan["service_kinds"]
    days = member_days(context, kinds)
    events = _covered_events(context, member_islands(context, kinds), plan["outcome"])
    events = events.rename(_eu="user_id")
    return days.left_join(events, days.user_id == events._eu).select(
        "user_id", "days", events=ibis.coalesce(events.events, 0)
    )


def _event_rate(plan: Plan, cells: Cells) -> MetricRow:
    per = plan["per"]
    years = person_years(cells["days"])
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


#: Events per ``per`` person-years in receipt (A&E attendances per 1,000 person-years).
#:
#: Options: ``outcome`` (an outcome kind, required), ``per`` (default 1000),
#: ``service_kinds``. Person-time is as for ``user-years``; an event counts when
#: it is dated on a day of that person-time. Numerator: events; denominator:
#: person-years; value: events / person-years × per, with Byar's 95% interval.
EVENT_RATE = CellMeasure(
    kind="event-rate",
    options=(Option("outcome", None, outcome_kind), PER, SERVICE_KINDS),
    facts=_event_rate_facts,
    cells={
        "people": Cell(COUNT, rows),
        "events": Cell(COUNT, total("events")),
        "days": Cell(AMOUNT, total("days")),
    },
    derive=_event_rate,
    labels={
        "numerator": "{outcome} outcomes on days in receipt",
        "denominator": "person-years in receipt",
        "value": "{outcome} per {per:,} person-years",
    },
)


# Cost per user-year.


def _cost_facts(context: MetricContext, plan: Plan) -> ir.Table:
    windows = member_windows(context, plan["service_kinds"])
    windows = windows.mutate(_days=days_between(windows.lo, windows.hi))
    costed = windows.group_by("user_id").agg(
        cost=(windows._days * windows.annual_cost.fill_null(0) / DAYS_PER_YEAR).sum(),
        enrolment_days=windows._days.sum(),
        uncosted_days=ibis.cases((windows.annual_cost.isnull(), windows._days), else_=0).sum(),
    )
    costed = costed.rename(_cu="user_id")
    facts = member_days(context, plan["service_kinds"])
    return facts.left_join(costed, facts.user_id == costed._cu).select(
        "user_id",
        "days",
        cost=ibis.coalesce(costed.cost, 0.0),
        enrolment_days=ibis.coalesce(costed.enrolment_days, 0),
        uncosted_days=ibis.coalesce(costed.uncosted_days, 0),
    )


def _cost_per_user_year(plan: Plan, cells: Cells) -> MetricRow:
    years = person_years(cells["days"])
    value = stats.ratio(cells["cost"], years, "there is no person-time")
    uncosted = cells["uncosted_days"]
    details: dict[str, Any] = {
        "people": cells["people"],
        "user_years": years,
        "enrolment_years": person_years(cells["enrolment_days"]),
        "uncosted_enrolment_years": person_years(uncosted),
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


#: Service cost per user-year, from each service's ``annual_cost``.
#:
#: Options: ``service_kinds``. Cost: for every enrolment, its days in receipt
#: in P (clipped as for ``user-years``, but *not* merged: two services at once
#: cost twice) × annual_cost / 365.25. Numerator: cost; denominator: user-years
#: (merged); value: cost per user-year. Days on services with no annual_cost are
#: not costed; they are reported, and the value then understates the cost.
COST_PER_USER_YEAR = CellMeasure(
    kind="cost-per-user-year",
    options=(SERVICE_KINDS,),
    facts=_cost_facts,
    cells={
        "people": Cell(COUNT, rows),
        "days": Cell(AMOUNT, total("days")),
        "cost": Cell(AMOUNT, total("cost")),
        "enrolment_days": Cell(AMOUNT, total("enrolment_days")),
        "uncosted_days": Cell(AMOUNT, total("uncosted_days")),
    },
    derive=_cost_per_user_year,
    labels={
        "numerator": "cost of services in the period (annual_cost × years on each)",
        "denominator": "user-years in receipt",
        "value": "cost per user-year",
    },
)
