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

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence

import attrs
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
from threeml.engine.series_aggregates import user_aggregates
from threeml.engine.series_base import (
    AGE_BREAKDOWNS,
    _all_enrolment_keys,
    _all_enrolments,
    _base,
    _owners,
    _with_all_enrolments,
)
from threeml.engine.series_contacts import contact_counts, contact_months, splits_contacts
from threeml.engine.series_keys import (
    ENROLMENT_TEXT,
    PERSON,
    numbered_enrolments,
    numbered_people,
    person_slices,
    stacked,
)
from threeml.engine.series_runs import (
    RUN_END,
    day_boundaries,
    days_within,
    ordered,
    run_dates,
    run_starts,
)
from threeml.records.intervals import Interval
from threeml.records.periods import Period

__all__ = [
    "INTERVAL",
    "SeriesCompiler",
    "SeriesTables",
    "enrolment_facts",
    "interval_age_band",
    "series_tables",
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


class SeriesTables:
    """The long tables of one series evaluation (see the module docs).

    ``facts``: (enrolment, interval) rows; ``base``: one row per user; ``flags``: (user,
    interval) rows; ``fact_names``: each enrolment criterion's column among the facts;
    ``columns``: each criterion's flag column; ``user_columns``: the user breakdowns.
    """

    def __init__(
        self,
        compiler: SeriesCompiler,
        facts: ir.Table,
        fact_names: Mapping[Criterion, str],
        base: ir.Table,
        flags: ir.Table,
        columns: Mapping[Criterion, str],
        user_columns: Sequence[str],
        keys: KeyRequest | None,
    ) -> None:
        self.compiler = compiler
        self.facts = facts
        self.fact_names = fact_names
        self.base = base
        self.flags = flags
        self.columns = columns
        self.user_columns = tuple(user_columns)
        self.keys = keys
        #: Whether the facts and flags are expressions read once (see :func:`series_tables`).
        self.streamed = False
        #: Whether the facts and flags are per (unit, run) (:mod:`.series_runs`), not per
        #: (unit, interval).
        self.runs = False
        #: The contact months (:mod:`.series_contacts`) when kept apart from the runs, and
        #: the flag columns of the criteria read from contacts.
        self.months: ir.Table | None = None
        self.contact_columns: set[str] = set()
        #: Per set of enrolment criteria, the user flags' count of contributing enrolments.
        self.record_names: dict[frozenset[Criterion], str] = {}
        #: The flag columns of ``member-of`` criteria (:func:`threeml.engine.series.in_one_pass`).
        self.member_columns: set[str] = set()
        #: The user sets of plugins' criterion kinds and the set rows
        #: (:mod:`threeml.engine.series_sets`), and those criteria's flag columns.
        self.user_sets: ir.Table | None = None
        self.sets: ir.Table | None = None
        self.set_columns: set[str] = set()
        #: The base's column the long tables' ``user_id`` is (:mod:`.series_keys`: the
        #: user's number when the tables are per run, else the text id itself).
        self.person = "user_id"

    @property
    def interval_columns(self) -> set[str]:
        """The flag columns only a row of the long tables can make true."""
        return {self.columns[c] for c in self.fact_names} | self.member_columns


def series_tables(
    compiler: SeriesCompiler,
    columns: Mapping[Criterion, str],
    user_columns: Sequence[str],
    keys: KeyRequest | None,
    materialise: Callable[[ir.Table, str], ir.Table],
    record_sets: Iterable[frozenset[Criterion]] = (),
    stream: bool = False,
    keep_flags: bool = False,
    people_per_slice: int | None = None,
    unread: Collection[Criterion] = (),
) -> SeriesTables:
    """Build the facts, the base and the user flags of a series (see the module docs).

    With ``stream``, the facts and the user flags are left as expressions (not materialised):
    the caller reads them in a single group-by, so writing millions of rows to read them once
    would cost more than it saves. ``keep_flags`` stores the user flags all the same (read
    again, by the set rows of :mod:`threeml.engine.series_sets`).

    ``record_sets`` are the sets of enrolment criteria whose contributing enrolments are a
    definition's records: per set, the user flags count each user's contributing enrolments
    in the interval (``_n<j>``, and with ``keys`` the sum of their record keys, ``_nk<j>``),
    so a definition's records are a sum over the users it counts, with no further join. The
    empty set (a definition with no enrolment criterion) counts all the user's enrolments.

    With ``people_per_slice``, when the long tables are per run (keyed by numbers) and there
    are more people than that, the facts and user flags are built by one statement per
    slice of at most that many people (:func:`~.series_keys.person_slices`): every row of them
    is about one person, so the tables are the slices' stacked, and each statement's hash
    tables are a slice's size. The user flags of each slice are stored; the contact months
    are read in one statement all the same (reading the contacts is most of their cost).

    ``unread`` are enrolment criteria no figure reads from the user flags (those only a
    definition counting enrolments names: it reads its own facts,
    :mod:`threeml.engine.series_enrolments`): their flag columns are false, with no
    aggregate.
    """
    record_sets = list(record_sets)
    runs = stream and ordered(compiler.intervals) and not any(name in _AGE for name in user_columns)
    # Per run, the long tables are keyed by numbers (:mod:`.series_keys`), made in the base.
    base = _base(compiler, columns, user_columns)
    base = keyed(numbered_people(base) if runs else base, keys, _rk=("u", "user_id"))
    if frozenset() in record_sets:
        base = _with_all_enrolments(compiler, base, keys)
    base = materialise(base, "series_base")
    person = PERSON if runs else "user_id"
    numbered = None
    if runs:
        people = base.select("user_id", PERSON)
        numbered = materialise(
            numbered_enrolments(compiler.enrolments, people), "series_enrolments_numbered"
        )
    slices = 1
    if numbered is not None and people_per_slice is not None:
        slices = -(-int(base.count().to_pyarrow().as_py()) // people_per_slice)
    parts = person_slices(numbered, slices)
    pieces = [
        _long_tables(
            compiler,
            columns,
            user_columns,
            keys,
            materialise,
            record_sets,
            base,
            person,
            part,
            stream,
            keep_flags or len(parts) > 1,
            set(unread),
        )
        for part in parts
    ]
    first = pieces[0]
    long = stacked([p.long for p in pieces])
    tables = SeriesTables(
        compiler,
        stacked([p.facts for p in pieces]),
        first.fact_names,
        base,
        long,
        columns,
        user_columns,
        keys,
    )
    tables.record_names = first.record_names
    tables.streamed = stream
    tables.runs = first.runs
    tables.person = person
    if first.per is not None:
        # The contact months of everyone in one statement: its cost is reading the
        # contacts, which a statement per slice would repeat.
        per = first.per
        if len(pieces) > 1:
            criteria = [c for c in columns if c.about_enrolments]
            _, _, per = _facts(
                compiler, criteria, keys, materialise, record_sets=record_sets, numbered=numbered
            )
            assert per is not None
        tables.months = contact_months(
            compiler,
            per,
            long,
            _owners(base, person, "user_id"),
            first.fact_names,
            columns,
            first.record_names,
            keys is not None,
            INTERVAL,
        )
        tables.contact_columns = {
            columns[c] for c, m in first.fact_names.items() if m in per.columns
        }
    return tables


@attrs.frozen
class _Long:
    """The long tables of one slice of the people (see :func:`_long_tables`)."""

    facts: ir.Table
    fact_names: Mapping[Criterion, str]
    long: ir.Table
    record_names: Mapping[frozenset[Criterion], str]
    runs: bool
    #: The contacts counted per (enrolment, interval) when kept apart (:func:`_facts`).
    per: ir.Table | None


def _long_tables(
    compiler: SeriesCompiler,
    columns: Mapping[Criterion, str],
    user_columns: Sequence[str],
    keys: KeyRequest | None,
    materialise: Callable[[ir.Table, str], ir.Table],
    record_sets: Sequence[frozenset[Criterion]],
    base: ir.Table,
    person: str,
    numbered: ir.Table | None,
    stream: bool,
    keep_flags: bool,
    unread: set[Criterion],
) -> _Long:
    """The facts and the user flags of the people of ``numbered`` (the numbered enrolments,
    or a slice of them; ``None``: per interval, keyed by the text ids)."""
    criteria = [c for c in columns if c.about_enrolments]
    facts, fact_names, per = _facts(
        compiler,
        criteria,
        keys,
        materialise if numbered is not None else None,
        record_sets=record_sets,
        numbered=numbered,
    )
    ends = [RUN_END] if RUN_END in facts.columns else []
    if not stream:
        # Streamed, the facts are read once (by the group-by per user below).
        facts = materialise(facts, "series_facts")
    # The criteria read from contacts, when kept apart, hold in no run (their facts are 0):
    # constants, not aggregates; so are those no figure reads from the user flags.
    apart = {c for c, m in fact_names.items() if per is not None and m in per.columns}
    apart |= unread & set(fact_names)
    per_user, record_names, derived = user_aggregates(
        compiler, facts, fact_names, record_sets, apart, keys is not None
    )
    if frozenset() in record_names:
        # All the user's enrolments, from the base (joined to every row of the flags).
        j = record_names[frozenset()][2:]
        derived[f"_n{j}"] = _all_enrolments
        if keys is not None:
            derived[f"_nk{j}"] = _all_enrolment_keys
    # The interval's end year only for an age band (never by runs).
    years = [_END_YEAR] if any(name in _AGE for name in user_columns) else []
    grouped = facts.group_by(["user_id", INTERVAL, *ends, *years]).agg(**per_user)
    owners = _owners(base, person, "_uid")
    joined = grouped.inner_join(owners, grouped.user_id == owners._uid)
    flags: dict[str, ir.Value] = {}
    for c, name in columns.items():
        if c in apart:
            flags[name] = ibis.literal(False)
        elif c in fact_names:
            m = fact_names[c]
            flags[name] = (derived[m](joined) if m in derived else joined[m]).fill_null(False)
        else:
            flags[name] = joined[name]
    grouping = {
        name: interval_age_band(joined) if name in _AGE else joined[name] for name in user_columns
    }
    kept: dict[str, ir.Value] = {"_rk": joined._rk} if keys is not None else {}
    for j in range(len(record_names)):
        for name in (f"_n{j}", *([f"_nk{j}"] if keys is not None else [])):
            kept[name] = joined[name] if name in per_user else derived[name](joined)
    long = joined.select("user_id", INTERVAL, *ends, **kept, **grouping, **flags)
    if not stream or per is not None or keep_flags:
        long = materialise(long, "series_flags")
    return _Long(facts, fact_names, long, record_names, bool(ends), per)


def interval_age_band(table: ir.Table) -> ir.Value:
    """The age band at the end of each row's interval (rows of the facts joined to the base)."""
    return age_band_in(table._birth_year, table[_END_YEAR])


def enrolment_facts(
    compiler: SeriesCompiler, criteria: Sequence[Criterion], keys: KeyRequest | None
) -> tuple[ir.Table, dict[Criterion, str]]:
    """The facts of ``criteria`` alone (expression; see :func:`series_tables`), only in the
    intervals where one of them can hold for the enrolment itself when they all test one date
    in one window (``installed-in``: each enrolment in one interval)."""
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
