"""Progress to target as trajectories: a count per interval against a target, projected.

Each interval of a series is a period of its own (DESIGN.md, "Series"), so a progress-to-target
result per interval gives, per area, the people counted in that interval against the area's
target. :func:`publish_trajectories` publishes every interval's result through the one
publishing path (:func:`~threeml.publish.metrics.publish_metric`, under the disclosure policy)
and builds each area's trajectory from the *published* figures only:

- the value per interval: the published count (``None`` where it was suppressed) and the
  share of the target it reaches;
- the target and its due date: those of the latest interval evaluated;
- the projection: the least-squares straight line through the published counts of the last
  :data:`RECENT` intervals evaluated (``x`` = each interval's last day, ``y`` = its count;
  suppressed intervals left out), read off at the due date. With fewer than two counts in
  those intervals there is no projection. When the due date is not after the last interval,
  the projection is the published count of the last interval ending on or before it (the
  target is judged, not projected);
- on track: the projection reaches the target.

A projection is a function of published figures alone, so it reveals nothing the published
counts do not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from attrs import field, frozen

from threeml.definitions.policies import DisclosurePolicy
from threeml.metrics.cells import MetricRow
from threeml.metrics.contract import MetricResult
from threeml.publish.metrics import publish_metric
from threeml.publish.numbers import json_number
from threeml.publish.provenance import NOT_AUDITED, Provenance, stamp_data
from threeml.records.intervals import Interval
from threeml.records.periods import parse_date

__all__ = [
    "RECENT",
    "PublishedTrajectories",
    "Trajectory",
    "TrajectoryPoint",
    "least_squares",
    "publish_trajectories",
]

#: How many of the latest intervals the projection's straight line is fitted through.
RECENT = 6


@frozen
class TrajectoryPoint:
    """One interval of a trajectory: the published count and the share of the target."""

    label: str
    end: date
    count: float | None
    share: float | None


@frozen
class Trajectory:
    """One area's (``group`` ``None``: all areas') published counts, target and projection."""

    group: Any
    points: tuple[TrajectoryPoint, ...]
    target: float | None
    due: date | None
    #: The fitted line's change in the count per day (``None``: no fit).
    per_day: float | None
    projection: float | None
    on_track: bool | None
    #: Why there is no projection (or what it rests on), for people.
    note: str | None = None

    @property
    def latest(self) -> TrajectoryPoint | None:
        """The last interval with a published count."""
        return next((p for p in reversed(self.points) if p.count is not None), None)


@frozen
class PublishedTrajectories:
    """Every area's trajectory towards its target over a series, from published figures."""

    metric: str
    population: str
    by: str | None
    policy: DisclosurePolicy
    recent: int
    trajectories: tuple[Trajectory, ...]
    provenance: Provenance | None = None
    audit: Any = field(default=NOT_AUDITED)

    def trajectory(self, group: Any = None) -> Trajectory:
        """The trajectory of ``group`` (``None``: all areas)."""
        for found in self.trajectories:
            if found.group == group:
                return found
        raise KeyError(f"no trajectory for {group!r}")

    def data(self) -> dict[str, Any]:
        """JSON-ready: every trajectory with its points, the method and the policy."""
        return {
            "metric": self.metric,
            "population": self.population,
            "by": self.by,
            "method": (
                f"least-squares line through the published counts of the last {self.recent} "
                "intervals, read off at the due date"
            ),
            "trajectories": [
                {
                    "group": t.group,
                    "target": json_number(t.target),
                    "due": t.due.isoformat() if t.due else None,
                    "per_day": json_number(t.per_day),
                    "projection": json_number(t.projection),
                    "on_track": t.on_track,
                    "note": t.note,
                    "points": [
                        {
                            "interval": p.label,
                            "end": p.end.isoformat(),
                            "count": json_number(p.count),
                            "share": json_number(p.share),
                        }
                        for p in t.points
                    ],
                }
                for t in self.trajectories
            ],
            "disclosure": self.policy.describe(),
            **stamp_data(self.provenance, self.audit),
        }


def least_squares(points: Sequence[tuple[float, float]]) -> tuple[float, float] | None:
    """The intercept and slope of the least-squares line through ``points`` (``None`` with
    fewer than two distinct ``x``)."""
    if len({x for x, _ in points}) < 2:
        return None
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in points)
    slope = sxy / sxx
    return mean_y - slope * mean_x, slope


def _due(row: MetricRow) -> date | None:
    due = row.details.get("due")
    if due is None:
        return None
    return due if isinstance(due, date) else parse_date(str(due))


def _trajectory(
    group: Any,
    found: Sequence[tuple[Interval, MetricRow | None]],
    recent: int,
    goal: tuple[date, float] | None = None,
) -> Trajectory:
    points = []
    for interval, row in found:
        count = None if row is None else row.numerator
        share = None if row is None else row.value
        points.append(TrajectoryPoint(interval.label, interval.end, count, share))
    evaluated = [(interval, row) for interval, row in found if row is not None]
    if not evaluated:
        note = "no interval could be evaluated"
        return Trajectory(group, tuple(points), None, None, None, None, None, note)
    last = evaluated[-1][1]
    target, due = last.denominator, _due(last)
    if goal is not None and due is None and target is not None:
        # A share of a denominator (an eligible population) by a date given by the caller.
        due, target = goal[0], target * goal[1]
    if target is None or due is None:
        note = last.reason or ("no target" if target is None else "no due date to project to")
        return Trajectory(group, tuple(points), target, due, None, None, None, note)
    if due <= evaluated[-1][0].end:
        judged = [p for p in points if p.end <= due and p.count is not None]
        if not judged:
            note = "the due date is before the first published count"
            return Trajectory(group, tuple(points), target, due, None, None, None, note)
        reached = judged[-1].count
        note = f"due date passed: the count of {judged[-1].label} is judged"
        return Trajectory(group, tuple(points), target, due, None, reached, reached >= target, note)
    window = [
        (float(interval.end.toordinal()), float(row.numerator))
        for interval, row in evaluated[-recent:]
        if row.numerator is not None
    ]
    line = least_squares(window)
    if line is None:
        note = f"fewer than two published counts in the last {recent} intervals: no trend"
        return Trajectory(group, tuple(points), target, due, None, None, None, note)
    intercept, slope = line
    projection = intercept + slope * due.toordinal()
    return Trajectory(
        group, tuple(points), target, due, slope, projection, projection >= target, None
    )


def publish_trajectories(
    results: Sequence[MetricResult | None],
    intervals: Sequence[Interval],
    policy: DisclosurePolicy,
    *,
    by: str | None = "area",
    recent: int = RECENT,
    groups: Sequence[Any] | None = None,
    provenance: Provenance | None = None,
    due: date | None = None,
    share: float = 1.0,
) -> PublishedTrajectories:
    """Trajectories of a progress-to-target metric evaluated per interval (``results``, one per
    interval, ``None`` where it could not be evaluated), each interval published under
    ``policy``. ``by`` names the breakdown the areas come from (``None``: all areas only);
    ``groups`` keeps only those groups (an ``--area`` filter; all areas' trajectory stays).

    For a metric whose rows have no due date (the share of an eligible population reached),
    ``due`` gives one and the target is ``share`` of each row's denominator (the whole
    eligible population by default)."""
    if len(results) != len(intervals):
        raise ValueError("publish_trajectories needs one result (or None) per interval")
    if recent < 2:
        raise ValueError(f"a trend needs at least two intervals, not recent={recent}")
    per_group: dict[Any, list[tuple[Interval, MetricRow | None]]] = {None: []}
    seen: list[Any] = []
    published = [None if r is None else publish_metric(r, policy) for r in results]
    for document in published:
        if document is not None and by is not None:
            seen += [r.group for r in document.breakdowns.get(by, ()) if r.group not in seen]
    if groups is not None:
        seen = [g for g in seen if g in set(groups)]
    for group in seen:
        per_group[group] = []
    for interval, document in zip(intervals, published, strict=True):
        per_group[None].append((interval, None if document is None else document.total))
        rows: Mapping[Any, MetricRow] = {}
        if document is not None and by is not None:
            rows = {r.group: r for r in document.breakdowns.get(by, ())}
        for group in seen:
            per_group[group].append((interval, rows.get(group)))
    ordered = sorted(seen, key=lambda g: (g is None, str(g)))
    goal = None if due is None else (due, share)
    trajectories = tuple(_trajectory(g, per_group[g], recent, goal) for g in [*ordered, None])
    first = next((r for r in results if r is not None), None)
    return PublishedTrajectories(
        metric=first.metric.name if first else "",
        population=first.population if first else "",
        by=by,
        policy=policy,
        recent=recent,
        trajectories=trajectories,
        provenance=provenance,
    )
