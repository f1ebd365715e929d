"""The progress-to-target measure kind: a count against each area's target, projected.

Its cells are not aggregates of a facts table: the count comes from counting the
population's definition (up to the extract date, and again at the start of the
trend), the target from the ``targets`` table, so the kind gives its own tally.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from threeml.metrics.measures import COUNT, PUBLIC, MetricContext, MetricError, MetricRow
from threeml.records.periods import Period
from threeml_integrated_care import stats
from threeml_integrated_care.options import Option, whole_number
from threeml_integrated_care.skeleton import Cell, CellMeasure, Cells, Plan, Tally

__all__ = ["PROGRESS_TO_TARGET"]


def _prepare(context: MetricContext, plan: Plan) -> Plan:
    """The day counting stops (``now``) and the day the trend starts (``then``)."""
    period = context.period
    now = min(period.end, context.extract_date)
    if now < period.start:
        raise MetricError(
            f"metric {context.metric.name}: the extract ends ({context.extract_date}) before "
            f"the period starts ({period.start}); there is nothing to count"
        )
    then = max(period.start, now - timedelta(days=plan["trend_days"]))
    name = context.population.definition.name
    return {**plan, "population": name, "start": period.start, "now": now, "then": then}


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


#: The population's count against each area's target, projected to the due date.
#:
#: Options: ``trend_days`` (91). See the ``progress-to-target`` metric for the
#: exact rules.
PROGRESS_TO_TARGET = CellMeasure(
    kind="progress-to-target",
    options=(Option("trend_days", 91, whole_number),),
    prepare=_prepare,
    tally=_tally,
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
