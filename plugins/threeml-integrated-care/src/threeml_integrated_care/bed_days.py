"""The bed-days measure kind: use of hospital beds per head of the population."""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from threeml.metrics.interval_cells import INTERVAL, member_runs
from threeml.metrics.measures import AMOUNT, COUNT, MetricContext, MetricRow
from threeml_integrated_care import stats
from threeml_integrated_care.facts import lit, outcomes
from threeml_integrated_care.options import Option, outcome_kinds
from threeml_integrated_care.runs_cells import (
    dated_in_intervals,
    in_runs,
    sums_by_interval,
    tallies,
)
from threeml_integrated_care.series_facts import series_members, shared_series
from threeml_integrated_care.skeleton import Cell, CellMeasure, Cells, Plan, Tally, rows, total

__all__ = ["BED_DAYS"]


_CELLS = {
    "people": Cell(COUNT, rows),
    "bed_days": Cell(AMOUNT, total("bed_days")),
    "admissions": Cell(COUNT, total("admissions")),
    "admissions_without_stay": Cell(COUNT, total("no_stay")),
}


def _facts(context: MetricContext, plan: Plan) -> ir.Table:
    members = context.grouped_members()
    o = outcomes(context, plan["outcomes"])
    stop = min(context.period.end, context.extract_date)
    o = o.filter(o.date >= lit(context.period.start), o.date <= lit(stop))
    per_person = o.group_by("user_id").agg(
        bed_days=o.value.fill_null(0).sum(),
        admissions=o.count(),
        no_stay=o.value.isnull().ifelse(1, 0).sum(),
    )
    per_person = per_person.rename(_pu="user_id")
    return members.left_join(per_person, members.user_id == per_person._pu).select(
        *members.columns,
        bed_days=ibis.coalesce(per_person.bed_days, 0.0),
        admissions=ibis.coalesce(per_person.admissions, 0),
        no_stay=ibis.coalesce(per_person.no_stay, 0),
    )


def _series_facts(contexts: Sequence[MetricContext], plan: Plan) -> ir.Table:
    """:func:`_facts` for every interval at once: each member's admissions dated in the
    interval, up to the extract date (``_interval`` and the breakdown columns kept)."""
    m = series_members(contexts)
    extract = lit(contexts[0].extract_date)

    def build() -> ir.Table:
        o = outcomes(contexts[0], plan["outcomes"]).select(_ou="user_id", _on="date", _v="value")
        hits = m.inner_join(
            o,
            [m.user_id == o._ou, o._on >= m._start, o._on <= ibis.least(m._end, extract)],
        )
        return hits.group_by(_pu=hits.user_id, _pi=hits[INTERVAL]).agg(
            bed_days=hits._v.fill_null(0).sum(),
            admissions=hits.count(),
            no_stay=hits._v.isnull().ifelse(1, 0).sum(),
        )

    per = shared_series(contexts, ("bed-days", tuple(plan["outcomes"])), build)
    joined = m.left_join(per, [m.user_id == per._pu, m[INTERVAL] == per._pi])
    return joined.select(
        *m.columns,
        bed_days=ibis.coalesce(joined.bed_days, 0.0),
        admissions=ibis.coalesce(joined.admissions, 0),
        no_stay=ibis.coalesce(joined.no_stay, 0),
    )


def _series_tally(contexts: Sequence[MetricContext], plan: Plan) -> list[Tally] | None:
    """Every interval's cells from the population's runs of intervals
    (:mod:`~threeml_integrated_care.runs_cells`): each admission dated in an interval (up
    to the extract date) joined to its person's run holding that interval, summed per
    (interval, group); the people are the population's counts."""
    runs = member_runs(contexts)
    if runs is None:
        return None
    o = outcomes(contexts[0], plan["outcomes"]).select(_ou="user_id", _on="date", _v="value")
    dated = dated_in_intervals(contexts, o, "_on")
    mine = in_runs(dated.select("_ou", "_v", INTERVAL), runs, user="_ou")
    sums = sums_by_interval(
        contexts,
        mine,
        {
            "bed_days": mine._v.fill_null(0).sum(),
            "admissions": mine.count(),
            "admissions_without_stay": mine._v.isnull().ifelse(1, 0).sum(),
        },
    )
    return tallies(contexts, sums, {name: cell.kind for name, cell in _CELLS.items()})


def _derive(plan: Plan, cells: Cells) -> MetricRow:
    value = stats.ratio(cells["bed_days"], cells["people"], "no one in the population")
    return MetricRow(
        numerator=cells["bed_days"],
        denominator=cells["people"],
        value=value.value,
        reason=value.reason,
        details={
            "admissions": cells["admissions"],
            "admissions_without_stay": cells["admissions_without_stay"],
            "outcomes": plan["outcomes"],
        },
    )


#: Hospital bed days per head of the population.
#:
#: Options: ``outcomes`` (default emergency and elective admissions). Bed days:
#: the sum of ``value`` (length of stay) of members' admissions of those kinds
#: dated in ``[start of P, min(end of P, extract date)]``; an admission without
#: a length of stay adds none (and is reported). Numerator: bed days;
#: denominator: people; value: bed days per person.
BED_DAYS = CellMeasure(
    kind="bed-days",
    options=(Option("outcomes", ("elective_admission", "emergency_admission"), outcome_kinds),),
    facts=_facts,
    series_facts=_series_facts,
    series_tally=_series_tally,
    cells=_CELLS,
    derive=_derive,
    labels={
        "numerator": "bed days (length of stay of admissions in the period)",
        "denominator": "people in the population",
        "value": "bed days per person",
    },
)
