"""The progress-to-target measure kind: a count against each area's target, projected.

Its cells are not aggregates of a facts table: the count comes from counting the
population's definition (up to the extract date, and again at the start of the
trend), the target from the ``targets`` table, so the kind gives its own tally. Evaluated
with other metrics, the counts at the start of the trend (and up to the extract date) come
from the populations' one pass (the kind's :class:`~threeml.metrics.measures.PopulationNeeds`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import attrs

from threeml.metrics.measures import (
    COUNT,
    PUBLIC,
    MetricContext,
    MetricError,
    MetricRow,
    PopulationNeeds,
)
from threeml.records.periods import Period
from threeml_integrated_care import stats
from threeml_integrated_care.options import Option, whole_number
from threeml_integrated_care.series_facts import read_once
from threeml_integrated_care.skeleton import Cell, CellMeasure, Cells, Plan, Tally

if TYPE_CHECKING:
    from threeml.data import Dataset
    from threeml.definitions import MetricDefinition
    from threeml.definitions.policies import DisclosurePolicy
    from threeml.plugins.registry import Registry
    from threeml.publish.trajectories import PublishedTrajectories
    from threeml.records.intervals import Interval

__all__ = ["PROGRESS_TO_TARGET", "progress_trajectories"]


def _days(period: Period, extract: date, trend_days: int) -> tuple[date, date]:
    """The day counting stops (``now``: the period's end, or the extract date when earlier)
    and the day the trend starts (``then``: ``trend_days`` before, not before the period)."""
    now = min(period.end, extract)
    return now, max(period.start, now - timedelta(days=trend_days))


def _counted_periods(period: Period, now: date, then: date) -> list[Period]:
    """The periods besides ``period`` over which the tally counts the population."""
    return [
        *([Period(period.start, now)] if now != period.end else []),
        *([Period(period.start, then)] if then < now else []),
    ]


def _needs(
    metric: MetricDefinition, dataset: Dataset, period: Period, options: Mapping[str, Any]
) -> PopulationNeeds:
    """The population's counts up to ``now`` and ``then`` (see :func:`_days`), for the
    populations' one pass; nothing when the options or dates cannot be used (the evaluation
    says why)."""
    trend_days = options.get("trend_days", 91)
    if isinstance(trend_days, bool) or not isinstance(trend_days, int) or trend_days < 1:
        return PopulationNeeds()
    now, then = _days(period, dataset.extract_date or period.end, trend_days)
    if now < period.start:
        return PopulationNeeds()
    return PopulationNeeds(periods=tuple(_counted_periods(period, now, then)))


def _prepare(context: MetricContext, plan: Plan) -> Plan:
    """The day counting stops (``now``) and the day the trend starts (``then``)."""
    period = context.period
    now, then = _days(period, context.extract_date, plan["trend_days"])
    if now < period.start:
        raise MetricError(
            f"metric {context.metric.name}: the extract ends ({context.extract_date}) before "
            f"the period starts ({period.start}); there is nothing to count"
        )
    name = context.population.definition.name
    plan = {**plan, "population": name, "start": period.start, "now": now, "then": then}
    return {**plan, "no_target": _no_target_reason(context, name)}


def _no_target_reason(context: MetricContext, name: str) -> str:
    """Why a group has no target: the table has no rows for ``name`` at all, or none for it."""
    names = sorted({str(row["definition"]) for row in _target_rows(context)})
    if name in names:
        return "no target for this group (targets are set by area)"
    if not names:
        return (
            f"no target: the targets table is empty or absent; add rows of definition {name!r} "
            "(definition, area, value, due) to the extract's targets table"
        )
    return (
        f"no target: the targets table has no rows for {name!r} (it has targets for "
        f"{', '.join(repr(n) for n in names)}); add rows for {name!r}, or choose one of those "
        "with --population"
    )


def _target_rows(context: MetricContext) -> list[dict[str, Any]]:
    """Every row of the targets table (a few per area and definition), read once per
    evaluation: the definitions it names and each definition's targets come from it."""
    t = context.table("targets")
    return read_once(
        context,
        ("targets", "rows"),
        lambda: t.select("definition", "area", "value", "due").to_pyarrow().to_pylist(),
    )


def _targets(context: MetricContext, name: str, now: date) -> dict[Any, tuple[float, date]]:
    """Each area's target for ``name``: the earliest due on or after ``now``, else the latest."""
    rows = [row for row in _target_rows(context) if row["definition"] == name]
    chosen: dict[Any, tuple[float, date]] = {}
    for row in sorted(rows, key=lambda r: r["due"]):
        area, value, due = row["area"], float(row["value"]), row["due"]
        current = chosen.get(area)
        if current is None:
            chosen[area] = (value, due)
        elif current[1] < now:
            chosen[area] = (value, due)  # the earlier one is past: prefer a later one
    return chosen


def _series_counts(contexts: Sequence[MetricContext], options: Sequence[Plan]) -> None:
    """Over a series: the counts every interval's :func:`_tally` reads over other periods than
    its own (up to ``now`` when before the interval's end, up to ``then`` when before
    ``now``), counted for all the intervals at once (an interval that cannot be planned is
    left to report its error)."""
    wanted: dict[str, list[Period]] = {}
    for context, read in zip(contexts, options, strict=True):
        try:
            plan = _prepare(context, read)
        except MetricError:
            continue
        period, name = context.period, plan["population"]
        wanted.setdefault(name, []).extend(_counted_periods(period, plan["now"], plan["then"]))
    session = contexts[0].session
    assert session is not None
    for name, periods in wanted.items():
        session.count_periods(name, periods, contexts[0].registry)


def _tally(context: MetricContext, plan: Plan) -> Tally:
    period, name, now, then = context.period, plan["population"], plan["now"], plan["then"]
    current = (
        context.population if now == period.end else context.count(name, Period(period.start, now))
    )
    earlier = context.count(name, Period(period.start, then)) if then < now else None
    span = (now - then).days
    targets = _targets(context, name, now)

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
    details = {
        "counted_to": now.isoformat(),
        "trend_from": then.isoformat(),
        "total_target_from": target_source,
    }
    return Tally(total, groups, details)


def _derive(plan: Plan, cells: Cells) -> MetricRow:
    count, target = cells["people"], cells["target"]
    if target is None:
        return MetricRow(
            numerator=count,
            denominator=None,
            reason=plan.get("no_target") or "no target for this group (targets are set by area)",
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


#: The population's count against each area's target, projected to the due date.
#:
#: Options: ``trend_days`` (91). See the ``progress-to-target`` metric for the
#: exact rules.
PROGRESS_TO_TARGET = CellMeasure(
    kind="progress-to-target",
    options=(Option("trend_days", 91, whole_number),),
    prepare=_prepare,
    tally=_tally,
    series_prepare=_series_counts,
    needs=_needs,
    cells={
        "people": Cell(COUNT),
        "earlier": Cell(COUNT),
        "target": Cell(PUBLIC),
        "due": Cell(PUBLIC),
        "trend_days": Cell(PUBLIC),
        "days_to_due": Cell(PUBLIC),
    },
    derive=_derive,
    labels={
        "numerator": "people counted by {population} from {start} to {now}",
        "denominator": "the target",
        "value": "share of the target reached",
    },
)


#: The measure kinds whose rows count people against a target (or an eligible population).
TRAJECTORY_KINDS = ("progress-to-target", "population-reached")


def progress_trajectories(
    dataset: Dataset,
    intervals: Sequence[Interval],
    registry: Registry,
    *,
    metric: str = "progress-to-target",
    population: str | None = None,
    by: str | None = "area",
    areas: Sequence[str] | None = None,
    policy: DisclosurePolicy | None = None,
    recent: int | None = None,
    due: date | None = None,
    share: float = 1.0,
) -> PublishedTrajectories:
    """Progress to target over a series: per area, the count in each interval, the target,
    the projection to the due date and whether the area is on track.

    ``metric`` (a progress-to-target metric) is evaluated in every interval as its own period
    (over ``population`` when given), each interval published under ``policy`` (the default
    policy when ``None``); the trajectories are built from the published figures only
    (:func:`threeml.publish.trajectories.publish_trajectories`, which states the projection
    method). ``areas`` keeps only those areas' trajectories. Intervals after the extract
    date have no count.

    ``metric`` may also be a share of an eligible population reached (the
    ``population-reached`` kind, such as ``eligible-reached``; issue 17): then each interval
    gives the people counted and the eligible population, and with ``due`` the target is
    ``share`` of the eligible population by that date ("how far are we from three million?").
    """
    from threeml.metrics.series import evaluate_metrics_series
    from threeml.publish.disclosure import DEFAULT_POLICY
    from threeml.publish.trajectories import RECENT, publish_trajectories

    definition = registry.metric(metric)
    if definition.measure.kind not in TRAJECTORY_KINDS:
        raise MetricError(
            f"metric {metric!r} measures {definition.measure.kind}, not progress to target nor "
            "a share of a population reached: trajectories project a count towards a target"
        )
    if population is not None:
        registry.counting(population)  # a clear error for an unknown name
        definition = attrs.evolve(definition, population=population)
    errors: dict[str, str] = {}
    found = evaluate_metrics_series(
        [definition], dataset, intervals, registry, by=() if by is None else (by,), errors=errors
    )
    return publish_trajectories(
        found[definition.name],
        intervals,
        policy or DEFAULT_POLICY,
        by=by,
        recent=recent or RECENT,
        groups=areas,
        due=due,
        share=share,
    )
