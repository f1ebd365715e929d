"""The long tables of a series: facts and flags per (unit, interval), built in one pass.

A series evaluates every interval as its own period. Instead of one evaluation per interval,
the engine builds, once for the whole span:

- the *intervals table*: one row per interval (``_i`` its index, ``_ps``/``_pe`` its first and
  last day, ``_ey`` its end year, and per window a criterion uses, the window's first day
  ``_w<K>``; ``_lo`` and ``_lc`` the earliest first day any enrolment or contact criterion
  looks at);
- the *facts*: one row per (enrolment, interval) where the enrolment can matter to that
  interval (its installed window overlaps the days the criteria look at, or it was referred
  in them), with a column per enrolment criterion — the criterion's tests read each row's
  window days from its interval columns (:meth:`SeriesCompiler.window`). Contacts are read
  once: each counting contact is joined to the intervals whose windows hold it and counted
  per (enrolment, interval) in one group-by;
- the *base*: one row per user with every criterion about the user alone (the same in every
  interval) and the breakdown columns;
- the *user flags*: one row per (user, interval) for the users with facts in that interval,
  with a boolean column per criterion; a user without facts in an interval passes no
  enrolment criterion there, so figures that need one are read from these rows and figures
  about user criteria alone from the base, once.

When the series is read in one group-by (one user breakdown) and its intervals follow one
another, the long tables are per *run* instead of per interval: a stretch of intervals in
which nothing about the user changes (:mod:`threeml.engine.series_runs`), with the criteria
read from contacts counted apart, in the (user, interval) rows that have contacts
(:mod:`threeml.engine.series_contacts`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from threeml.data import Dataset
from threeml.definitions import CountingDefinition, Criterion, ReferredIn, Window
from threeml.definitions.kinds import CriterionKind
from threeml.engine.breakdowns import age_band_in
from threeml.engine.cellkeys import KeyRequest, keyed
from threeml.engine.compiler import Compiler
from threeml.engine.criteria import handler_for
from threeml.engine.errors import EvaluationError
from threeml.engine.series_base import (
    AGE_BREAKDOWNS,
)
from threeml.engine.series_contacts import contact_counts, splits_contacts
from threeml.engine.series_keys import (
    ENROLMENT_TEXT,
)
from threeml.engine.series_runs import (
    RUN_END,
    day_boundaries,
    days_within,
    run_dates,
    run_starts,
)
from threeml.records.intervals import Interval
from threeml.records.periods import Period

__all__ = [
    "INTERVAL",
    "SeriesCompiler",
    "enrolment_facts",
    "interval_age_band",
    "window_column",
]

#: The interval index column of every long table.
INTERVAL = "_i"
_START, _END, _END_YEAR, _LOW, _LOW_CONTACTS = "_ps", "_pe", "_ey", "_lo", "_lc"
_AGE = AGE_BREAKDOWNS


def window_column(window: Window) -> str:
    """The intervals-table column holding ``window``'s first day (its last is ``_pe``)."""
    return _START if window.last_days is None else f"_w{window.last_days}"


class SeriesCompiler(Compiler):
    """A compiler whose windows are columns: each row's days are those of its interval."""

    def __init__(
        self,
        dataset: Dataset,
        intervals: Sequence[Interval],
        resolve: Callable[[str], CountingDefinition] | None = None,
        kinds: Mapping[str, CriterionKind] | None = None,
    ) -> None:
        span = Period(min(i.start for i in intervals), max(i.end for i in intervals))
        super().__init__(dataset, span, resolve, kinds)
        self.intervals = tuple(intervals)

    def window(
        self, window: Window, table: ir.Table | None = None
    ) -> tuple[ir.DateValue, ir.DateValue]:
        if table is None:
            raise EvaluationError(
                "a criterion evaluated over a series must compare its window with rows that "
                "carry their interval (compiler.window(window, table))"
            )
        return table[window_column(window)], table[_END]

    def window_table(self, window: Window) -> ir.Table:
        """One row per interval: its position ``interval`` and the first and last days of
        ``window`` in it (``start``, ``end``), for a plugin's criterion kind tested in every
        interval at once (:class:`~threeml.definitions.kinds.CriterionKind`'s ``series``)."""
        days = [window.resolve(i.period) for i in self.intervals]
        return ibis.memtable(
            pa.table(
                {
                    "interval": pa.array(range(len(days)), type=pa.int64()),
                    "start": pa.array([d.start for d in days], type=pa.date32()),
                    "end": pa.array([d.end for d in days], type=pa.date32()),
                }
            )
        )

    def intervals_table(
        self, windows: Iterable[Window], contact_windows: Iterable[Window]
    ) -> ir.Table:
        """The intervals table (see the module docs) for criteria with these windows."""
        columns = self.interval_columns(windows, contact_windows)
        types = {INTERVAL: pa.int64(), _END_YEAR: pa.int64()}
        arrays = {n: pa.array(v, type=types.get(n, pa.date32())) for n, v in columns.items()}
        return ibis.memtable(pa.table(arrays))

    def interval_columns(
        self, windows: Iterable[Window], contact_windows: Iterable[Window]
    ) -> dict[str, list]:
        """The intervals table's columns, as Python lists (one value per interval)."""
        windows, contact_windows = set(windows), set(contact_windows)
        extra = sorted({w.last_days for w in windows if w.last_days is not None})
        columns: dict[str, list] = {
            INTERVAL: [],
            _START: [],
            _END: [],
            _END_YEAR: [],
            _LOW: [],
            _LOW_CONTACTS: [],
        }
        columns.update({f"_w{k}": [] for k in extra})
        for k, interval in enumerate(self.intervals):
            period = interval.period
            columns[INTERVAL].append(k)
            columns[_START].append(period.start)
            columns[_END].append(period.end)
            columns[_END_YEAR].append(period.end.year)
            for days in extra:
                columns[f"_w{days}"].append(period.last_days(days).start)
            starts = [w.resolve(period).start for w in windows] or [period.start]
            columns[_LOW].append(min(starts))
            contact = [w.resolve(period).start for w in contact_windows] or [period.start]
            columns[_LOW_CONTACTS].append(min(contact))
        return columns


def interval_age_band(table: ir.Table) -> ir.Value:
    """The age band at the end of each row's interval (rows of the facts joined to the base)."""
    return age_band_in(table._birth_year, table[_END_YEAR])


def enrolment_facts(
    compiler: SeriesCompiler, criteria: Sequence[Criterion], keys: KeyRequest | None
) -> tuple[ir.Table, dict[Criterion, str]]:
    """The facts of ``criteria`` alone (expression; see
    :func:`~.series_tables.series_tables`), only in the intervals where one of them can hold
    for the enrolment itself when they all test one date in one window (``installed-in``: each
    enrolment in one interval)."""
    facts, names, _ = _facts(compiler, criteria, keys, narrow=True)
    return facts, names


def _facts(
    compiler: SeriesCompiler,
    criteria: Sequence[Criterion],
    keys: KeyRequest | None,
    materialise: Callable[[ir.Table, str], ir.Table] | None = None,
    narrow: bool = False,
    record_sets: Sequence[frozenset[Criterion]] = (),
    numbered: ir.Table | None = None,
) -> tuple[ir.Table, dict[Criterion, str], ir.Table | None]:
    """(enrolment, interval) rows where the enrolment can matter, a column per criterion.

    The third value is the contacts counted per (enrolment, user, interval) when they are
    kept apart from the runs (:mod:`.series_contacts`; the facts' contact counts are then 0),
    with whether each enrolment contributes to the criteria sharing one of ``record_sets``
    with a criterion read from contacts.

    With ``materialise``, and when every criterion says which dates it compares with its
    interval's days, the rows are per (enrolment, run) instead (:mod:`.series_runs`: the
    interval ``_i`` is the run's first, :data:`RUN_END` the first after it). With
    ``numbered`` (the stored :func:`~.series_keys.numbered_enrolments`, or a slice of their
    people: :func:`~.series_keys.person_slices`), ``enrolment_id`` and ``user_id`` are
    numbers.
    """
    names = {c: f"m{j}" for j, c in enumerate(criteria)}
    handlers = {c: handler_for(c, compiler) for c in criteria}
    counted = [c for c in criteria if handlers[c].contact_span(c, compiler) is not None]
    windows, contact_windows = [c.window for c in criteria], [c.window for c in counted]
    intervals = compiler.intervals_table(windows, contact_windows)
    columns = compiler.interval_columns(windows, contact_windows)

    enrolments, text = compiler.enrolments, "enrolment_id"
    if numbered is not None:
        assert materialise is not None
        enrolments, text = numbered, ENROLMENT_TEXT

    def prepared(chosen: Sequence[Criterion]) -> ir.Table:
        """The enrolments with the series columns of the ``chosen`` criteria (and keys)."""
        e = enrolments
        before: dict[str, ir.Value] = {}
        for c in chosen:
            before.update(handlers[c].series_columns(c, compiler, e, names[c]))
        e = e.mutate(**before) if before else e
        return keyed(e, keys, _ek=("e", text))

    e = prepared(criteria)
    referred = any(isinstance(c, ReferredIn) for c in criteria)
    dates = run_dates(criteria, handlers, names, referred) if materialise is not None else None
    split = dates is not None and splits_contacts(counted, compiler)

    def relevant(days: ir.Table) -> ir.BooleanValue:
        found = (
            e.installed_on.notnull()
            & (e.installed_on <= days[_END])
            & (e.ended_on.isnull() | (e.ended_on >= days[_LOW]))
        )
        if referred:
            found |= (e.referred_on >= days[_LOW]) & (e.referred_on <= days[_END])
        return found

    per = None
    if counted:
        # Kept apart, the contacts are read once, by the contact months: not stored. Their
        # rows say what the enrolment's facts would about the criteria sharing a record set
        # with a contact criterion (no join with the facts).
        others = [
            c
            for c in criteria
            if split and c not in counted and any(c in s and s & set(counted) for s in record_sets)
        ]
        per = contact_counts(
            compiler,
            counted,
            handlers,
            names,
            intervals,
            dates is not None,
            (columns[_LOW_CONTACTS], columns[_END]),
            INTERVAL,
            prepared(others) if split or numbered is not None else None,
            others,
        )
    point = {handlers[c].window_date(c) for c in criteria} if narrow else {None}
    if dates is None and None not in point and len(point) == 1:
        # One date in one window: each enrolment meets the intervals whose window holds it.
        date, window = point.pop()
        within = days_within(columns[window_column(window)], columns[_END], INTERVAL)
        rows = e.inner_join(within, e[date] == within._day).drop("_day")
        rows = rows.inner_join(intervals, INTERVAL)
        ends = []
    elif dates is None:
        rows = e.inner_join(intervals, [relevant(intervals)])
        ends = []
    else:
        assert materialise is not None
        if per is not None and not split:
            # Read twice: where the runs start and in the facts.
            per = materialise(per, "series_contacts")
        days = day_boundaries(
            {k: v for k, v in columns.items() if k not in (INTERVAL, _END_YEAR)},
            len(compiler.intervals),
        )
        counts = [names[c] for c in counted]
        cutting = None if split else per
        runs = run_starts(e, dates, days, cutting, counts, INTERVAL, len(compiler.intervals))
        runs = runs.inner_join(intervals, INTERVAL).rename(_su="user_id")
        rows = e.inner_join(runs, [e.user_id == runs._su, relevant(runs)]).drop("_su")
        ends = [RUN_END]
    own: dict[str, ir.Value] = {}
    for c in criteria:
        if c not in counted:
            own.update(handlers[c].series_fact_columns(c, compiler, rows, names[c]))
    kept = ["_ek"] if keys is not None else []
    facts = rows.select(
        "enrolment_id",
        "user_id",
        "service_kind",
        "sector",
        INTERVAL,
        *ends,
        _END_YEAR,
        *kept,
        **own,
    )
    if per is None:
        return facts, names, None
    if split:
        # The contact months are kept apart (:mod:`.series_contacts`): no contacts in runs.
        zero = {names[c]: ibis.literal(0, "int64") for c in counted}
        return facts.mutate(**zero), names, per
    per = per.select("enrolment_id", INTERVAL, *(names[c] for c in counted))
    per = per.rename(_eid="enrolment_id", _ci=INTERVAL)
    joined = facts.left_join(
        per, [facts.enrolment_id == per._eid, facts[INTERVAL] == per._ci]
    ).drop("_eid", "_ci")
    counts = {names[c]: joined[names[c]].fill_null(0) for c in counted}
    return joined.mutate(**counts), names, None
