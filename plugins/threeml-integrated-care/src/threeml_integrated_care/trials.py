"""The arm-comparison measure kind: intervention against control in a trial.

Units are allocations: each member's first allocation to a trial dated in P.
The outcome is binary (had at least one; an odds ratio with Woolf's interval,
risk difference, relative risk and reduction) or a count (events per head; a
rate ratio). Every trial is derived on its own and reported under ``trials``;
the top-level figures are those of the chosen trial (the only one, or the
``trial`` option).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

import attrs
import ibis
import ibis.expr.types as ir

from threeml.metrics.measures import COUNT, MetricContext, MetricError, MetricRow
from threeml.records.codes import OutcomeKind
from threeml_integrated_care import stats
from threeml_integrated_care.facts import dated_in_period
from threeml_integrated_care.options import Option, days, one_of, outcome_kind
from threeml_integrated_care.series_facts import read_once
from threeml_integrated_care.skeleton import (
    Cell,
    CellMeasure,
    Cells,
    Plan,
    Tally,
    flag,
    rows,
    summarised,
)
from threeml_integrated_care.trials_series import (
    of_outcome,
    outcome_facts,
    series_arms,
    series_values,
)

__all__ = ["ARM_COMPARISON"]

#: What the numerator counts and what the value is, by outcome measure.
_WORDS = {
    "binary": ("people with at least one {outcome}", "odds ratio, intervention / control"),
    "count": ("{outcome} outcomes", "rate ratio (events per head), intervention / control"),
}


def _allocations(context: MetricContext) -> ir.Table:
    """Members' allocations dated in P, the first per (trial, person), with the person's
    breakdown columns."""
    members = context.grouped_members().rename(_mu="user_id")
    groups = [c for c in members.columns if c != "_mu"]
    a = context.table("allocations")
    a = a.filter(dated_in_period(context, a.allocated_on))
    j = a.inner_join(members, a.user_id == members._mu)
    return j.group_by(["trial", "user_id", *groups]).agg(
        arm=j.arm.argmin(j.allocated_on), allocated_on=j.allocated_on.min()
    )


#: Why an arm comparison has no allocations to compare (completed by :func:`_when_dated`).
NONE_ALLOCATED = "no one in the population was allocated to a trial arm in the period"


def _when_dated(context: MetricContext) -> str:
    """When the extract's allocations are dated, and which period to use: one aggregate.

    The range of ``allocated_on`` over the whole allocations table (not only the population's),
    so that a period that misses every allocation says where they are; given by month, so that
    the message (which may be published) names no one's allocation day.
    """
    first, last = read_once(context, ("allocations", "span"), lambda: _allocation_span(context))
    if first is None:
        return "the extract has no allocations (the optional allocations table is empty or absent)"
    start = first.replace(day=1)
    end = date(last.year + last.month // 12, last.month % 12 + 1, 1) - timedelta(days=1)
    period = context.period
    return (
        f"the allocations are dated from {first:%B %Y} to {last:%B %Y} and the period is "
        f"{period.start} to {period.end}; use a period that includes them, for example "
        f"--period {start}:{end}"
    )


def _allocation_span(context: MetricContext) -> tuple[date | None, date | None]:
    a = context.table("allocations")
    span = a.aggregate(first=a.allocated_on.min(), last=a.allocated_on.max()).to_pyarrow()
    return span.column("first")[0].as_py(), span.column("last")[0].as_py()


def _prepare(context: MetricContext, plan: Plan) -> Plan:
    """The allocations, the trials they hold, and the trial the top-level figures are for."""
    allocations = _allocations(context)
    found = series_values(context, plan)
    trials = (
        sorted(found.totals)
        if found is not None
        else read_once(
            context,
            ("trials", context.population.definition.name, context.period),
            lambda: sorted(
                row["trial"]
                for row in allocations.select("trial").distinct().to_pyarrow().to_pylist()
            ),
        )
    )
    chosen = plan["trial"]
    if chosen is not None and chosen not in trials:
        known = ", ".join(trials) or "none"
        raise MetricError(
            f"metric {context.metric.name}: no one in the population was allocated to trial "
            f"{chosen!r} in the period (trials: {known}); {_when_dated(context)}"
        )
    if chosen is None and len(trials) == 1:
        chosen = trials[0]
    counted, value = _WORDS[plan["outcome_measure"]]
    return {
        **plan,
        "trial": chosen,
        "trials": trials,
        "allocations": allocations,
        "none_allocated": f"{NONE_ALLOCATED}: {_when_dated(context)}" if not trials else None,
        "counted": counted.format(outcome=plan["outcome"]),
        "compared": value,
    }


def _facts(context: MetricContext, plan: Plan) -> ir.Table:
    """The allocations with the events of every outcome kind, shared by the evaluation's arm
    comparisons over the same days (one read of the outcomes for all of them)."""
    kinds = [kind.value for kind in OutcomeKind]
    return outcome_facts(context, plan["allocations"], plan, kinds=kinds)


def _per_trial(facts: ir.Table, trials: Sequence[str]) -> dict[str, Cells]:
    """Every trial's cells in total, from one group-by over the facts (a trial with no rows:
    zeros, as a total over no rows is)."""
    aggregates = {name: cell.aggregate(facts) for name, cell in _CELLS.items() if cell.aggregate}
    found = facts.group_by("trial").aggregate(**aggregates).to_pyarrow().to_pylist()
    by_trial = {row.pop("trial"): row for row in found}
    return {
        trial: {name: int(by_trial.get(trial, {}).get(name) or 0) for name in aggregates}
        for trial in trials
    }


def _tally(context: MetricContext, plan: Plan) -> Tally:
    """Each trial's total (under ``trials``), then the chosen trial's cells (or all, if none)."""
    found = series_values(context, plan)
    if found is not None:
        total, groups = found.cells(plan["trial"], context.by)
        return Tally(total, groups, _details(plan, {t: found.totals[t] for t in plan["trials"]}))
    every = context.shared_facts(("arm-facts", plan["days"]), lambda: _facts(context, plan))
    facts = of_outcome(every, plan["outcome"])
    details = _details(plan, _per_trial(facts, plan["trials"]))
    chosen = plan["trial"]
    if chosen is not None:
        facts = facts.filter(facts.trial == chosen)
    return attrs.evolve(summarised(context, facts, _CELLS), details=details)


def _details(plan: Plan, per_trial: Mapping[str, Cells]) -> dict[str, Any]:
    """The result's details: every trial's figures, the outcome and the trial chosen."""
    measure = _MEASURES[plan["outcome_measure"]]
    every = {trial: measure(cells) for trial, cells in per_trial.items()}
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
        "outcome": plan["outcome"],
        "outcome_measure": plan["outcome_measure"],
        "days": plan["days"],
    }
    if plan["trial"] is not None:
        details["trial"] = plan["trial"]
    return details


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
        reason = NONE_ALLOCATED
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
        reason = NONE_ALLOCATED
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


#: How a trial's cells become figures, by outcome measure.
_MEASURES = {"binary": _binary, "count": _count_outcome}


def _derive(plan: Plan, cells: Cells) -> MetricRow:
    """The chosen trial's figures; with no trial chosen, only the counts and the reason."""
    row = _MEASURES[plan["outcome_measure"]](cells)
    if plan["trial"] is not None:
        return row
    trials = plan["trials"]
    why = (
        plan["none_allocated"]
        if not trials
        else f"the allocations hold {len(trials)} trials ({', '.join(trials)}); choose one "
        "with the option trial=NAME (each is under 'trials')"
    )
    return MetricRow(
        numerator=row.numerator,
        denominator=row.denominator,
        reason=why,
        details={} if trials else row.details,
    )


_CELLS = {
    "people": Cell(COUNT, rows),
    "n_intervention": Cell(COUNT, flag("intervention")),
    "n_control": Cell(COUNT, flag("control")),
    "a_intervention": Cell(COUNT, lambda t: (t.intervention & t.had).ifelse(1, 0).sum()),
    "a_control": Cell(COUNT, lambda t: (t.control & t.had).ifelse(1, 0).sum()),
    "e_intervention": Cell(COUNT, lambda t: ibis.cases((t.intervention, t.events), else_=0).sum()),
    "e_control": Cell(COUNT, lambda t: ibis.cases((t.control, t.events), else_=0).sum()),
    "short_follow_up": Cell(COUNT, flag("short")),
}

#: Intervention against control in a trial, for a binary or a count outcome.
#:
#: Options: ``outcome`` (default ``death``), ``outcome_measure`` (``binary``,
#: the default, or ``count``), ``days`` (365), ``trial`` (which trial; needed
#: only when the allocations hold several). See the ``arm-comparison`` metric
#: for the exact rules.
ARM_COMPARISON = CellMeasure(
    kind="arm-comparison",
    options=(
        Option("outcome", "death", outcome_kind),
        Option("outcome_measure", "binary", one_of("binary", "count")),
        days(365),
        Option("trial"),
    ),
    prepare=_prepare,
    tally=_tally,
    series_prepare=lambda contexts, options: series_arms(contexts, options, _CELLS),
    cells=_CELLS,
    parents={
        "a_intervention": "n_intervention",
        "e_intervention": "n_intervention",
        "a_control": "n_control",
        "e_control": "n_control",
    },
    derive=_derive,
    labels={
        "numerator": "{counted} within {days} days of allocation (both arms)",
        "denominator": "people allocated (both arms)",
        "value": "{compared}",
    },
)
