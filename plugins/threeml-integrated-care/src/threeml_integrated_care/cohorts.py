"""Measure kinds of cohorts indexed on a first installation: before/after, outcome within.

A person's index is their earliest installation of the index kinds (telehealth
unless the metric says otherwise) over all their enrolments; the cohort is the
population members whose index lies in P.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ibis
import ibis.expr.types as ir

from threeml.metrics.interval_cells import INTERVAL, member_runs
from threeml.metrics.measures import AMOUNT, COUNT, MetricContext, MetricRow
from threeml_integrated_care import stats
from threeml_integrated_care.facts import (
    FAR,
    dated_in_period,
    days_between,
    deaths,
    first_installations,
    indexed,
    lit,
    outcomes,
    person_years,
    shift,
)
from threeml_integrated_care.options import INDEX_KINDS, PER, Option, days, outcome_kind
from threeml_integrated_care.person_time_runs import merged
from threeml_integrated_care.runs_cells import (
    dated_in_intervals,
    in_runs,
    run_counts,
    sums_by_interval,
    tallies,
)
from threeml_integrated_care.series_facts import read_once, series_members, shared_series
from threeml_integrated_care.skeleton import Cell, CellMeasure, Cells, Plan, Tally, flag, total

__all__ = ["BEFORE_AFTER", "OUTCOME_WITHIN"]


def _index_words(index_kinds: list[str] | None) -> str:
    return " or ".join(index_kinds) if index_kinds else "any"


def _exclusions(cells: Cells, names: Mapping[str, str]) -> dict[str, Any]:
    return {label: cells.get(cell) for cell, label in names.items()}


# Before and after.


def _series_people(contexts: Sequence[MetricContext], plan: Plan) -> ir.Table:
    """Every interval's members with their index date, date of death and ``_inside`` (the
    index lies in the interval), for a series: ``indexed`` once for the span."""
    m = series_members(contexts)

    def build() -> ir.Table:
        first = first_installations(contexts[0], plan["index_kinds"]).rename(_iu="user_id")
        dead = deaths(contexts[0]).rename(_du="user_id")
        facts = m.left_join(first, m.user_id == first._iu)
        facts = facts.left_join(dead, facts.user_id == dead._du)
        return facts.select(*m.columns, "index_on", "died_on")

    kinds = tuple(sorted(plan["index_kinds"] or ()))
    people = shared_series(contexts, ("indexed", kinds), build)
    inside = people.index_on.notnull() & people.index_on.between(people._start, people._end)
    return people.mutate(_inside=inside)


def _indexed_runs(contexts: Sequence[MetricContext], plan: Plan) -> tuple[ir.Table, Any] | None:
    """For a population in runs of intervals: the members whose index lies in an interval
    where they are members (one row each, at that interval: ``user_id``, ``_interval``, the
    run's breakdown columns, ``index_on``, ``died_on``, ``_inside`` true), and per interval
    and group the members without an index (``no_index``), counted over the runs. ``None``
    when the population is not in runs."""
    runs = member_runs(contexts)
    if runs is None:
        return None
    kinds = tuple(sorted(plan["index_kinds"] or ()))

    def build() -> ir.Table:
        first = first_installations(contexts[0], plan["index_kinds"])
        dated = dated_in_intervals(contexts, first, "index_on", follow_up=False)
        inside = in_runs(dated, runs)
        dead = deaths(contexts[0]).rename(_du="user_id")
        people = inside.left_join(dead, inside.user_id == dead._du)
        return people.select(*inside.columns, "died_on", _inside=ibis.literal(True))

    people = shared_series(contexts, ("indexed-runs", kinds), build)

    def count() -> Any:
        first = first_installations(contexts[0], plan["index_kinds"]).rename(_iu="user_id")
        joined = runs.left_join(first, runs.user_id == first._iu)
        return run_counts(contexts, joined, {"no_index": joined._iu.isnull()})

    periods = tuple(c.period for c in contexts)
    key = ("no-index-runs", contexts[0].population.definition.name, periods, kinds)
    return people, read_once(contexts[0], key, count)


def _cohort_tallies(
    contexts: Sequence[MetricContext],
    facts: ir.Table,
    sums: dict[str, Any],
    kinds: dict[str, str],
    no_index: Any,
    outside: str,
    indexed_cell: str,
) -> list[Tally]:
    """Each interval's cells: ``sums`` (aggregates of ``facts``, the members with their index
    in the interval) per interval and group, ``no_index`` from the runs, and ``outside``
    (members whose index lies in another interval) as the members less those with the index
    inside (the sum ``indexed_cell``) less those with none."""
    found = merged(sums_by_interval(contexts, facts, sums), no_index)
    assert found is not None
    return tallies(
        contexts,
        found,
        kinds,
        people="_members",
        derived={
            outside: lambda c: c["_members"] - (c.get(indexed_cell) or 0) - (c.get("no_index") or 0)
        },
    )


def _extra(people: ir.Table) -> list[str]:
    """The columns a series' facts keep: the interval and the breakdowns."""
    return [c for c in people.columns if c == INTERVAL or c.startswith("_by_")]


def _cohort_outcomes(context: MetricContext, plan: Plan, people: ir.Table) -> ir.Table:
    """The outcomes (every kind) of the ``people`` whose index lies in the period, read once
    per evaluation for its cohort metrics over the same index (each then reads its own kind
    and window from this small table, not from all outcomes): ``user_id``, ``kind``,
    ``date``."""

    def build() -> ir.Table:
        index = people.index_on
        inside = people.filter(index.notnull() & dated_in_period(context, index))
        o = context.table("outcomes")
        return o.filter(o.user_id.isin(inside.user_id)).select("user_id", "kind", "date")

    kinds = tuple(sorted(plan["index_kinds"] or ()))
    return context.shared_facts(("cohort-outcomes", kinds), build)


def _before_after_facts(context: MetricContext, plan: Plan) -> ir.Table:
    people = indexed(context, plan["index_kinds"])
    source = _cohort_outcomes(context, plan, people)
    people = people.mutate(
        _cohort=people.index_on.notnull() & dated_in_period(context, people.index_on)
    )
    return _before_after_of(context, plan, people, source)


def _before_after_series(contexts: Sequence[MetricContext], plan: Plan) -> ir.Table:
    people = _series_people(contexts, plan)
    return _before_after_of(contexts[0], plan, people.mutate(_cohort=people._inside))


def _before_after_tally(contexts: Sequence[MetricContext], plan: Plan) -> list[Tally] | None:
    """Every interval's before/after cells from the population's runs of intervals."""
    return _indexed_tally(
        contexts,
        plan,
        BEFORE_AFTER,
        lambda people: _before_after_of(contexts[0], plan, people.mutate(_cohort=people._inside)),
        lambda facts: {c: facts[c].sum() for c in _BEFORE_AFTER_SUMS},
    )


def _indexed_tally(
    contexts: Sequence[MetricContext],
    plan: Plan,
    kind: CellMeasure,
    facts_of: Callable[[ir.Table], ir.Table],
    sums_of: Callable[[ir.Table], dict[str, ir.Value]],
) -> list[Tally] | None:
    """Every interval's cells of a cohort ``kind`` from the population's runs of intervals
    (:func:`_indexed_runs`): only the members whose index lies in the interval have facts
    (``facts_of`` the people), counted with the kind's own sums (``sums_of`` the facts)."""
    found = _indexed_runs(contexts, plan)
    if found is None:
        return None
    people, no_index = found
    facts = facts_of(people)
    sums = {
        "_inside": facts.count(),
        "people": facts.cohort.ifelse(1, 0).sum(),
        **sums_of(facts),
    }
    kinds = {name: cell.kind for name, cell in kind.cells.items()}
    return _cohort_tallies(
        contexts, facts, sums, kinds, no_index, "index_outside_period", "_inside"
    )


_BEFORE_AFTER_SUMS = ("events_before", "events_after", "days_before", "days_after")


def _before_after_of(
    context: MetricContext, plan: Plan, people: ir.Table, source: ir.Table | None = None
) -> ir.Table:
    """Each person's before/after facts from ``people`` (``user_id``, ``index_on``,
    ``died_on``, ``_cohort``, and for a series ``_interval`` and the breakdowns, kept), and
    the outcomes in ``source`` (by default, every outcome)."""
    length = plan["days"]
    extract = lit(context.extract_date)
    keys = ["user_id", *[c for c in _extra(people) if c == INTERVAL]]
    people = people.mutate(
        _before_from=shift(people.index_on, -length),
        _before_to=ibis.least(shift(people.index_on, -1), extract),
        _after_to=ibis.least(
            shift(people.index_on, length - 1), people.died_on.fill_null(lit(FAR)), extract
        ),
    )
    o = _of_kind(context, plan, source)
    cohort = people.filter(people._cohort)
    hits = cohort.inner_join(o, cohort.user_id == o._ou)
    per_person = hits.group_by(keys).agg(
        before=((hits._on >= hits._before_from) & (hits._on <= hits._before_to)).ifelse(1, 0).sum(),
        after=((hits._on >= hits.index_on) & (hits._on <= hits._after_to)).ifelse(1, 0).sum(),
    )
    per_person = per_person.rename(**{f"_p{k}": k for k in keys})
    facts = people.left_join(per_person, [people[k] == per_person[f"_p{k}"] for k in keys])
    return facts.select(
        "user_id",
        *_extra(people),
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


def _of_kind(context: MetricContext, plan: Plan, source: ir.Table | None) -> ir.Table:
    """The plan's outcomes (of ``source`` when given, else of all): ``_ou``, ``_on``."""
    if source is None:
        o = outcomes(context, [plan["outcome"]])
    else:
        o = source.filter(source.kind == plan["outcome"])
    return o.select(_ou="user_id", _on="date")


def _window(events: int | None, years: float | None, rate: stats.Estimate) -> dict[str, Any]:
    return {
        "events": events,
        "person_years": years,
        "rate": rate.value,
        "ci_low": rate.ci_low,
        "ci_high": rate.ci_high,
    }


def _before_after(plan: Plan, cells: Cells) -> MetricRow:
    per = plan["per"]
    before_years = person_years(cells["days_before"])
    after_years = person_years(cells["days_after"])
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
            "before": _window(eb, before_years, before),
            "after": _window(ea, after_years, after),
            "rate_ratio": ratio.as_dict(),
            "per": per,
            "excluded": _exclusions(
                cells,
                {
                    "no_index": f"no {_index_words(plan['index_kinds'])} installation",
                    "index_outside_period": "first installation outside the period",
                },
            ),
        },
    )


#: Events in the year before and the year after each person's index date.
#:
#: Options: ``outcome`` (default ``emergency_admission``), ``index_kinds``
#: (default ``["telehealth"]``; the index is the earliest installation of these
#: kinds over all the person's enrolments), ``days`` (window length, 365),
#: ``per`` (1000). Cohort: population members whose index lies in P.
BEFORE_AFTER = CellMeasure(
    kind="before-after",
    options=(
        Option("outcome", "emergency_admission", outcome_kind),
        INDEX_KINDS,
        days(365),
        PER,
    ),
    facts=_before_after_facts,
    series_facts=_before_after_series,
    series_tally=_before_after_tally,
    cells={
        "people": Cell(COUNT, flag("cohort")),
        "events_before": Cell(COUNT, total("events_before")),
        "events_after": Cell(COUNT, total("events_after")),
        "days_before": Cell(AMOUNT, total("days_before")),
        "days_after": Cell(AMOUNT, total("days_after")),
        "no_index": Cell(COUNT, flag("no_index")),
        "index_outside_period": Cell(COUNT, lambda t: (~t.cohort & ~t.no_index).ifelse(1, 0).sum()),
    },
    derive=_before_after,
    labels={
        "numerator": "{outcome} outcomes in the before and after windows",
        "denominator": "people in the cohort (index date in the period)",
        "value": "rate ratio, after / before",
    },
)


# An outcome within a number of days of the index.


def _outcome_within_facts(context: MetricContext, plan: Plan) -> ir.Table:
    people = indexed(context, plan["index_kinds"])
    source = _cohort_outcomes(context, plan, people)
    people = people.mutate(
        _inside=people.index_on.notnull() & dated_in_period(context, people.index_on)
    )
    return _outcome_within_of(context, plan, people, source)


def _outcome_within_series(contexts: Sequence[MetricContext], plan: Plan) -> ir.Table:
    return _outcome_within_of(contexts[0], plan, _series_people(contexts, plan))


def _outcome_within_tally(contexts: Sequence[MetricContext], plan: Plan) -> list[Tally] | None:
    """Every interval's outcome-within cells from the population's runs of intervals."""
    return _indexed_tally(
        contexts,
        plan,
        OUTCOME_WITHIN,
        lambda people: _outcome_within_of(contexts[0], plan, people),
        lambda facts: {
            "with_outcome": facts.had.ifelse(1, 0).sum(),
            "short_follow_up": facts.short.ifelse(1, 0).sum(),
        },
    )


def _outcome_within_of(
    context: MetricContext, plan: Plan, people: ir.Table, source: ir.Table | None = None
) -> ir.Table:
    """Each person's facts from ``people`` (``user_id``, ``index_on``, ``_inside``, and for
    a series ``_interval`` and the breakdowns, kept), and the outcomes in ``source`` (by
    default, every outcome)."""
    keys = ["user_id", *[c for c in _extra(people) if c == INTERVAL]]
    people = people.mutate(_to=shift(people.index_on, plan["days"] - 1))
    people = people.mutate(_has=people.index_on.notnull())
    people = people.mutate(_cohort=people._inside & (people._to <= lit(context.extract_date)))
    o = _of_kind(context, plan, source)
    cohort = people.filter(people._cohort)
    hits = cohort.inner_join(
        o, [cohort.user_id == o._ou, o._on >= cohort.index_on, o._on <= cohort._to]
    )
    had = hits.select(**{f"_h{k}": k for k in keys}).distinct()
    joined = people.left_join(had, [people[k] == had[f"_h{k}"] for k in keys])
    return joined.select(
        "user_id",
        *_extra(people),
        cohort=joined._cohort.fill_null(False),
        had=joined._cohort.fill_null(False) & joined._huser_id.notnull(),
        no_index=~joined._has,
        outside=joined._has & ~joined._inside.fill_null(False),
        short=joined._inside.fill_null(False) & ~joined._cohort.fill_null(False),
    )


def _outcome_within(plan: Plan, cells: Cells) -> MetricRow:
    length = plan["days"]
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
                    "no_index": f"no {_index_words(plan['index_kinds'])} installation",
                    "index_outside_period": "first installation outside the period",
                    "short_follow_up": (
                        f"fewer than {length} days between the index and the extract date"
                    ),
                },
            ),
        },
    )


#: The share of a cohort with at least one outcome in the ``days`` from the index.
#:
#: Options: ``outcome`` (required), ``index_kinds`` (default ``["telehealth"]``),
#: ``days`` (365). Cohort: population members whose index (earliest
#: installation of the kinds, over all their enrolments) lies in P and whose
#: whole window ``[index, index + days - 1]`` is on or before the extract date.
OUTCOME_WITHIN = CellMeasure(
    kind="outcome-within",
    options=(Option("outcome", None, outcome_kind), INDEX_KINDS, days(365)),
    facts=_outcome_within_facts,
    series_facts=_outcome_within_series,
    series_tally=_outcome_within_tally,
    cells={
        "people": Cell(COUNT, flag("cohort")),
        "with_outcome": Cell(COUNT, flag("had")),
        "no_index": Cell(COUNT, flag("no_index")),
        "index_outside_period": Cell(COUNT, flag("outside")),
        "short_follow_up": Cell(COUNT, flag("short")),
    },
    derive=_outcome_within,
    labels={
        "numerator": "people with at least one {outcome} within {days} days of the index",
        "denominator": "people in the cohort",
        "value": "proportion",
    },
)
