"""The long tables of one series evaluation, built from the facts (:mod:`.series_facts`).

:func:`series_tables` builds the base (one row per user), the facts (per enrolment and
interval or run) and the user flags (per user and interval or run), by one statement per
slice of the people when the tables are per run and the people many
(:func:`~.series_keys.person_slices`), and the contact months kept apart
(:mod:`.series_contacts`). :class:`SeriesTables` holds them for the figures' readers.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence

import attrs
import ibis
import ibis.expr.types as ir

from threeml.definitions import Criterion
from threeml.engine.cellkeys import KeyRequest, keyed
from threeml.engine.series_aggregates import user_aggregates
from threeml.engine.series_base import (
    _all_enrolment_keys,
    _all_enrolments,
    _base,
    _owners,
    _with_all_enrolments,
)
from threeml.engine.series_contacts import contact_months
from threeml.engine.series_facts import (
    _AGE,
    _END_YEAR,
    INTERVAL,
    SeriesCompiler,
    _facts,
    interval_age_band,
)
from threeml.engine.series_keys import (
    PERSON,
    numbered_enrolments,
    numbered_people,
    person_slices,
    stacked,
)
from threeml.engine.series_runs import RUN_END, ordered

__all__ = ["SeriesTables", "series_tables"]


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
