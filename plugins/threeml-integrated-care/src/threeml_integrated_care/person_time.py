"""Person-time measure kinds: user-years, events per person-year, cost per user-year.

Person-time is each member's installed windows within P, clipped at death and
at the extract date, and merged so no day counts twice
(:func:`~threeml_integrated_care.facts.windows_in_period`,
:func:`~threeml_integrated_care.facts.pieces`). The three kinds read one shared per-person
table (:func:`~threeml_integrated_care.facts.member_person_time`: days, cost, enrolment days,
with the breakdown columns), computed once per evaluation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import ibis
import ibis.expr.types as ir

from threeml.metrics.measures import AMOUNT, COUNT, SUPPRESSED, MetricContext, MetricRow
from threeml_integrated_care import stats
from threeml_integrated_care.facts import (
    member_days,
    member_person_time,
    member_pieces,
    outcomes,
    person_years,
)
from threeml_integrated_care.options import PER, SERVICE_KINDS, Option, outcome_kind
from threeml_integrated_care.person_time_runs import merged, run_events, run_person_time
from threeml_integrated_care.person_time_series import (
    series_event_facts,
    series_kinds,
    series_person_time,
)
from threeml_integrated_care.runs_cells import tallies
from threeml_integrated_care.skeleton import Cell, CellMeasure, Cells, Plan, Tally, rows, total

__all__ = ["COST_PER_USER_YEAR", "EVENT_RATE", "USER_YEARS"]


# User-years.


def _run_tally(
    contexts: Sequence[MetricContext], plan: Plan, cells: Mapping[str, Cell], outcome: bool = False
) -> list[Tally] | None:
    """Every interval's cells from the population's runs (:mod:`.person_time_runs`)."""
    kinds = series_kinds(plan["service_kinds"])
    sums = run_person_time(contexts, kinds)
    if outcome:
        sums = merged(sums, run_events(contexts, kinds, plan["outcome"]))
    if sums is None:
        return None
    return tallies(
        contexts,
        sums,
        {name: cell.kind for name, cell in cells.items()},
        derived={"no_follow_up": lambda found: found["people"] - (found.get("covered") or 0)},
    )


def _user_years_facts(context: MetricContext, plan: Plan) -> ir.Table:
    return member_days(context, plan["service_kinds"])


_USER_YEARS_CELLS = {
    "people": Cell(COUNT, rows),
    "days": Cell(AMOUNT, total("days")),
    "no_follow_up": Cell(COUNT, lambda t: (t.days == 0).ifelse(1, 0).sum()),
}


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
    series_facts=lambda contexts, plan: series_person_time(contexts, plan["service_kinds"]),
    series_tally=lambda contexts, plan: _run_tally(contexts, plan, _USER_YEARS_CELLS),
    cells=_USER_YEARS_CELLS,
    derive=_user_years,
    labels={
        "numerator": "user-years (days in receipt in the period / 365.25)",
        "denominator": "people in the population",
        "value": "user-years",
    },
)


# Events per person-year.


def _covered_events(context: MetricContext, kinds: list[str] | None, outcome: str) -> ir.Table:
    """Per person: events of ``outcome`` dated on a covered day; shared by the evaluation.

    The pieces of :func:`~threeml_integrated_care.facts.member_pieces` are disjoint, so an
    event on a day covered by several windows counts once. Columns: ``_eu``, ``events``.
    """

    def build() -> ir.Table:
        p = member_pieces(context, kinds)
        p = p.filter(p.days > 0)
        o = outcomes(context, [outcome]).select(_ou="user_id", _on="date")
        hits = p.inner_join(o, [p.user_id == o._ou, o._on >= p.plo, o._on <= p.hi])
        return hits.group_by(_eu=hits.user_id).agg(events=hits.count())

    return context.shared_facts(("covered-events", tuple(sorted(kinds or ())), outcome), build)


def _event_rate_facts(context: MetricContext, plan: Plan) -> ir.Table:
    kinds = plan["service_kinds"]
    days = member_days(context, kinds)
    events = _covered_events(context, kinds, plan["outcome"])
    return days.left_join(events, days.user_id == events._eu).select(
        *days.columns, events=ibis.coalesce(events.events, 0)
    )


_EVENT_CELLS = {
    "people": Cell(COUNT, rows),
    "events": Cell(COUNT, total("events")),
    "days": Cell(AMOUNT, total("days")),
}


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
    series_facts=lambda contexts, plan: series_event_facts(
        contexts, plan["service_kinds"], plan["outcome"]
    ),
    series_tally=lambda contexts, plan: _run_tally(contexts, plan, _EVENT_CELLS, outcome=True),
    cells=_EVENT_CELLS,
    derive=_event_rate,
    labels={
        "numerator": "{outcome} outcomes on days in receipt",
        "denominator": "person-years in receipt",
        "value": "{outcome} per {per:,} person-years",
    },
)


# Cost per user-year.


def _cost_facts(context: MetricContext, plan: Plan) -> ir.Table:
    return member_person_time(context, plan["service_kinds"])


_COST_CELLS = {
    "people": Cell(COUNT, rows),
    "days": Cell(AMOUNT, total("days")),
    "cost": Cell(AMOUNT, total("cost")),
    "enrolment_days": Cell(AMOUNT, total("enrolment_days")),
    "uncosted_days": Cell(AMOUNT, total("uncosted_days")),
}


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
    series_facts=lambda contexts, plan: series_person_time(contexts, plan["service_kinds"]),
    series_tally=lambda contexts, plan: _run_tally(contexts, plan, _COST_CELLS),
    cells=_COST_CELLS,
    derive=_cost_per_user_year,
    labels={
        "numerator": "cost of services in the period (annual_cost × years on each)",
        "denominator": "user-years in receipt",
        "value": "cost per user-year",
    },
)
