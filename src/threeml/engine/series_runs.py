"""Runs of intervals: each person's series cut only where something about them changes.

A long series of (enrolment, interval) rows repeats the same facts month after month: an
enrolment installed for five years is a row in each of the sixty months it overlaps, with
the same verdict every month. A *run* is a maximal stretch of consecutive intervals
``[_i, _t)`` of one user in which none of the facts of the series can change, so one row per
(enrolment, run) holds what the rows per (enrolment, interval) held, for every interval of the
run at once.

Where a user's facts can change (their *run starts*, :func:`run_starts`):

- where a date an enrolment criterion compares with its interval's days (``installed_on``,
  ``ended_on``, ``referred_on``, a user's first installation: the handler's ``series_dates``)
  crosses one of the intervals' day columns (an interval's first or last day, a window's first
  day): the interval index where ``date <= day``, ``date < day``, ``date >= day`` or
  ``date > day`` starts or stops holding is the count of intervals whose day is below (or at)
  the date. The intervals are in order, so each day column rises with the index, and these
  counts are found once per calendar day in Python (a small table of days) and joined to
  the enrolments by date (an equality join, no range join);
- at an interval where one of the user's enrolments has counting contacts, and just after it
  (contacts are counted per (enrolment, interval): those rows are few, only where there are
  contacts);
- at the first interval (every user).

Within a run, every (enrolment, interval) fact is the same as in its first interval, so the
facts and the user flags are computed at each run's first interval only, and each figure of
every interval is a sum over the runs covering it: a prefix sum of the runs' sums starting
minus those ending (:func:`run_sums`: one group-by by (run start, run end, group), stored;
its sums added at each start and taken away at each end, grouped by (interval, group); the
prefix sums of those few rows in Python).
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from threeml.records.intervals import Interval

__all__ = [
    "RUN_END",
    "day_boundaries",
    "days_within",
    "ordered",
    "run_dates",
    "run_starts",
    "run_sums",
]

#: The column of a run's end: the index of the first interval after it (``n`` at the end).
RUN_END = "_t"
_DAY, _AT = "_day", "_b"


def ordered(intervals: Sequence[Interval]) -> bool:
    """Whether the intervals follow one another (each starts and ends after the previous one),
    so that every day column of the intervals table rises with the interval index."""
    return all(
        a.start < b.start and a.end < b.end and a.end < b.start
        for a, b in itertools.pairwise(intervals)
    )


def day_boundaries(columns: Mapping[str, Sequence[dt.date]], n: int) -> pa.Table:
    """Per calendar day (``_day``), the interval indexes (``_b``) where a comparison of that
    day with one of the day ``columns`` (one value per interval, rising) changes.

    For a date ``d`` and a column ``T``: ``d <= T[k]`` (and ``d < T[k]``) holds from the
    index ``#{k: T[k] < d}`` (``#{k: T[k] <= d}``) on; ``d >= T[k]`` (``d > T[k]``) holds up
    to just before the other count. Only indexes strictly between 0 and ``n`` are kept (a
    run always starts at 0; ``n`` is past the end). Days outside the columns' range have
    none.
    """
    values = [sorted(v) for v in columns.values()]
    low = min(v[0] for v in values) - dt.timedelta(days=1)
    high = max(v[-1] for v in values) + dt.timedelta(days=1)
    days: list[dt.date] = []
    at: list[int] = []
    day = low
    while day <= high:
        found = set()
        for v in values:
            found.add(bisect.bisect_left(v, day))
            found.add(bisect.bisect_right(v, day))
        for k in sorted(b for b in found if 0 < b < n):
            days.append(day)
            at.append(k)
        day += dt.timedelta(days=1)
    return pa.table({_DAY: pa.array(days, pa.date32()), _AT: pa.array(at, pa.int64())})


def days_within(lows: Sequence[dt.date], ends: Sequence[dt.date], interval: str) -> ir.Table:
    """Per day (``_day``), the index of every interval whose days ``[lows[k], ends[k]]`` hold
    it."""
    days: list[dt.date] = []
    indexes: list[int] = []
    for k, (low, end) in enumerate(zip(lows, ends, strict=True)):
        day = low
        while day <= end:
            days.append(day)
            indexes.append(k)
            day += dt.timedelta(days=1)
    table = pa.table({"_day": pa.array(days, pa.date32()), interval: pa.array(indexes, pa.int64())})
    return ibis.memtable(table)


def run_dates(
    criteria: Sequence[Any],
    handlers: Mapping[Any, Any],
    names: Mapping[Any, str],
    referred: bool,
) -> list[str] | None:
    """The enrolment dates the criteria and the facts' relevance compare with the intervals'
    days; ``None`` when a criterion cannot say (its series keeps a row per interval)."""
    dates = ["installed_on", "ended_on"] + (["referred_on"] if referred else [])
    for c in criteria:
        mine = handlers[c].series_dates(c, names[c])
        if mine is None:
            return None
        dates.extend(mine)
    return list(dict.fromkeys(dates))


def run_starts(
    enrolments: ir.Table,
    dates: Sequence[str],
    days: pa.Table,
    contact_rows: ir.Table | None,
    counts: Sequence[str],
    interval: str,
    n: int,
) -> ir.Table:
    """Each user's runs: ``user_id``, ``interval`` (the run's first interval) and
    :data:`RUN_END`, for every user with an enrolment (see the module docs).

    ``dates`` are the enrolments' date columns the criteria compare with the intervals,
    ``days`` the table of :func:`day_boundaries`, ``contact_rows`` the (``enrolment_id``,
    ``user_id``, ``interval``) rows where contacts are counted, with their ``counts``
    (capped: see :func:`_contact_starts`).
    """
    table = ibis.memtable(days)
    starts = [enrolments.select("user_id", _b=ibis.literal(0, "int64"))]
    for name in dict.fromkeys(dates):
        dated = enrolments.select("user_id", _d=enrolments[name])
        joined = dated.inner_join(table, dated._d == table[_DAY])
        starts.append(joined.select("user_id", _b=joined[_AT]))
    if contact_rows is not None:
        starts.extend(_contact_starts(contact_rows, counts, interval))
    # One DISTINCT over all of them (a chain of UNIONs would deduplicate at every step).
    found = ibis.union(*starts, distinct=False)
    found = found.filter(found._b < n).distinct()
    after = found._b.lead().over(ibis.window(group_by="user_id", order_by=found._b))
    return found.select("user_id", **{interval: found._b, RUN_END: after.fill_null(n)})


def _contact_starts(rows: ir.Table, counts: Sequence[str], interval: str) -> list[ir.Table]:
    """Run starts from the contacts counted per (enrolment, interval): where an enrolment's
    counts differ from the interval before (no row: none), and just after its last row of
    consecutive intervals. The counts are capped at the criterion's threshold (a user's sum
    of capped counts reaches it exactly when the sum of the counts does, and a capped count
    is above zero when the count is), so a steady user's months of contacts are one run.
    """
    k = rows[interval].cast("int64")
    w = ibis.window(group_by="enrolment_id", order_by=k)
    before, after = k.lag().over(w), k.lead().over(w)
    changed = before.isnull() | (before != k - 1)
    for name in counts:
        changed |= rows[name].lag().over(w) != rows[name]
    marked = rows.select("user_id", _k=k, _in=changed, _out=after.isnull() | (after != k + 1))
    return [
        marked.filter(marked._in).select("user_id", _b=marked._k),
        marked.filter(marked._out).select("user_id", _b=marked._k + 1),
    ]


def run_sums(
    runs: ir.Table,
    metrics: Mapping[str, ir.Value],
    within: Sequence[str],
    interval: str,
    n: int,
    materialise: Callable[[ir.Table, str], ir.Table],
) -> tuple[list[dict[str, int]], list[dict[str, Any]]]:
    """Per interval, the sums ``metrics`` of the rows of ``runs`` covering it (one row per
    (unit, run), ``interval`` and :data:`RUN_END` its bounds); grouped ``within`` columns as
    well, the rows per (interval, group) beside the totals (as a group-by by interval and
    group would give them).
    """
    names = list(metrics)
    per_run = runs.group_by([interval, RUN_END, *within]).agg(**metrics)
    per_run = materialise(per_run, "series_runs")
    values = {m: per_run[m].fill_null(0) for m in names}
    starting = per_run.select(*within, _k=per_run[interval], **values)
    ending = per_run.filter(per_run[RUN_END] < n)
    ending = ending.select(*within, _k=ending[RUN_END], **{m: -v for m, v in values.items()})
    both = ibis.union(starting, ending, distinct=False)
    deltas = both.group_by(["_k", *within]).agg(**{m: both[m].sum() for m in names})
    rows = deltas.to_pyarrow().to_pylist()
    changes: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        changes.setdefault(row["_k"], []).append(row)
    running: dict[tuple[Any, ...], dict[str, int]] = {}
    out: list[dict[str, int]] = []
    groups: list[dict[str, Any]] = []
    for k in range(n):
        for row in changes.get(k, ()):
            group = tuple(row[w] for w in within)
            sums = running.setdefault(group, dict.fromkeys(names, 0))
            for m in names:
                sums[m] += int(row[m] or 0)
        total = dict.fromkeys(names, 0)
        for group, sums in running.items():
            for m in names:
                total[m] += sums[m]
            groups.append({interval: k, **dict(zip(within, group, strict=True)), **sums})
        out.append(total)
    return out, groups
