"""Counting definitions over a series of intervals, in one pass.

:func:`count_series` evaluates every definition in every interval, each interval as its own
period with the semantics of a single period, and gives per definition one
:class:`~threeml.engine.results.CountResult` per interval (in the order of ``intervals``).
The facts are computed once for the whole span, carrying the interval as a column
(:mod:`threeml.engine.series_facts`), and every interval's count, both attrition forms,
breakdowns and cell keys are read from group-bys over (interval, criterion pattern).
:func:`count_series_per_interval` is the plain way — one :func:`~threeml.engine.evaluate.count_many`
per interval — kept as the reference the differential tests and the benchmark compare with,
and used for the definitions the one pass cannot take (see :func:`in_one_pass`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import ibis
import ibis.expr.types as ir

from threeml.data import Dataset
from threeml.definitions import CountingDefinition, MemberOf
from threeml.definitions.cellkey import CellKeyMethod
from threeml.definitions.contracts import DefinitionResolver
from threeml.definitions.kinds import registered_kinds
from threeml.engine.breakdowns import check_cardinality
from threeml.engine.cellkeys import KeyRequest, as_cell_key, dataset_seed, keyed
from threeml.engine.criteria import PluginKindHandler, handler_for
from threeml.engine.evaluate import (
    ENROLMENT_BREAKDOWNS,
    _check_breakdowns,
    _distinct_criteria,
    count_many,
    read_figures,
)
from threeml.engine.figures import all_of
from threeml.engine.figures import materialise as materialise_table
from threeml.engine.flags import record_columns
from threeml.engine.results import BreakdownRow, CountResult
from threeml.engine.series_contacts import merged_sums
from threeml.engine.series_dispatch import (
    add_members,
    followed_criteria,
    goes_together,
    in_one_pass,
    member_criteria,
    streamed,
)
from threeml.engine.series_enrolments import enrolment_series
from threeml.engine.series_facts import INTERVAL, SeriesCompiler
from threeml.engine.series_figures import (
    Figures,
    counts_by_interval,
    criterion_names,
    figure_masks,
    interval_sums,
    series_breakdowns,
    series_results,
)
from threeml.engine.series_runs import RUN_END
from threeml.engine.series_sets import add_sets
from threeml.engine.series_tables import SeriesTables, series_tables
from threeml.records.codes import Unit
from threeml.records.intervals import Interval

__all__ = [
    "PEOPLE_PER_SLICE",
    "count_series",
    "count_series_per_interval",
    "goes_together",
    "in_one_pass",
    "member_criteria",
    "people_per_slice",
]

#: On DuckDB, the most people the user flags of a series by runs are built for in one
#: statement (:func:`~threeml.engine.series_tables.series_tables`): beyond it, one statement
#: per slice of at most this many people, with hash tables a slice's size (at 3 million
#: people, six slices: about a fifth less time than one statement, in the 2026-12-08 runs).
PEOPLE_PER_SLICE = 500_000


def people_per_slice(dataset: Dataset) -> int | None:
    """:data:`PEOPLE_PER_SLICE` on DuckDB; ``None`` (one statement) on other engines."""
    return PEOPLE_PER_SLICE if getattr(dataset.backend, "name", None) == "duckdb" else None


def count_series_per_interval(
    definitions: Iterable[CountingDefinition],
    dataset: Dataset,
    intervals: Sequence[Interval],
    *,
    by: Sequence[str] = ("area",),
    registry: DefinitionResolver | None = None,
    cell_keys: CellKeyMethod | None = None,
) -> dict[str, tuple[CountResult, ...]]:
    """One :func:`count_many` per interval (N intervals cost N evaluations)."""
    definitions = list(definitions)
    per_interval = [
        count_many(definitions, dataset, i.period, by=by, registry=registry, cell_keys=cell_keys)
        for i in intervals
    ]
    return {d.name: tuple(found[d.name] for found in per_interval) for d in definitions}


def count_series(
    definitions: Iterable[CountingDefinition],
    dataset: Dataset,
    intervals: Sequence[Interval],
    *,
    by: Sequence[str] = ("area",),
    registry: DefinitionResolver | None = None,
    cell_keys: CellKeyMethod | None = None,
) -> dict[str, tuple[CountResult, ...]]:
    """Every definition in every interval: per definition, one result per interval.

    Figures equal :func:`count_series_per_interval`'s. The definitions whose criteria are all
    interval-aware (every kind of threeml's but ``query``; ``member-of`` of a definition
    itself in the pass; a plugin's kind, from its user sets) are evaluated together in one
    pass over the whole span (:mod:`threeml.engine.series_facts`); the others — those using
    ``query``, or no criterion about enrolments — one interval at a time, as
    :func:`count_series_per_interval` does (see :func:`goes_together`).
    """
    definitions = list(definitions)
    intervals = tuple(intervals)
    if not intervals:
        return {d.name: () for d in definitions}
    _check_breakdowns(by, dataset.table("users"))
    check_cardinality(dataset.table("users"), by)
    resolve = registry.counting if registry is not None else None
    compiler = SeriesCompiler(dataset, intervals, resolve, registered_kinds(registry))
    together = [d for d in definitions if goes_together(d, compiler, by)]
    alone = [d for d in definitions if d not in together]
    results: dict[str, tuple[CountResult, ...]] = {}
    if alone:
        results.update(
            count_series_per_interval(
                alone, dataset, intervals, by=by, registry=registry, cell_keys=cell_keys
            )
        )
    if together:
        keys = None if cell_keys is None else KeyRequest(dataset_seed(dataset), cell_keys.key_range)
        results.update(_one_pass(compiler, together, by, keys))
    return {d.name: results[d.name] for d in definitions}


def _one_pass(
    compiler: SeriesCompiler,
    definitions: Sequence[CountingDefinition],
    by: Sequence[str],
    keys: KeyRequest | None,
) -> dict[str, tuple[CountResult, ...]]:
    columns = _distinct_criteria(definitions)
    plugins = {
        c: h
        for c in columns
        if not isinstance(c, MemberOf)
        and isinstance(h := handler_for(c, compiler), PluginKindHandler)
    }
    members = {
        c: member_criteria(c, compiler)
        for d in definitions
        for c in d.criteria
        if isinstance(c, MemberOf)
    }
    for leaves in members.values():
        for c in leaves:
            columns.setdefault(c, f"c{len(columns)}")
    user_columns = [b for b in by if b not in ENROLMENT_BREAKDOWNS]
    dataset = compiler.dataset
    record_sets = [
        frozenset(c for c in d.criteria if c.about_enrolments)
        for d in definitions
        if d.unit is Unit.USERS
    ]
    # A definition with members of others: its own enrolment criteria with theirs, so that
    # the contact months meet the runs wherever its figures need the runs' columns (no
    # records of its own are read from these).
    record_sets += [
        frozenset(c for c in followed_criteria(d, members) if c.about_enrolments)
        for d in definitions
        if any(isinstance(c, MemberOf) for c in d.criteria)
    ]
    # The criteria only definitions counting enrolments name: read from their own facts.
    read = {c for d in definitions if d.unit is Unit.USERS for c in followed_criteria(d, members)}
    materialise = functools.partial(materialise_table, dataset)
    tables = series_tables(
        compiler,
        {c: n for c, n in columns.items() if not isinstance(c, MemberOf) and c not in plugins},
        user_columns,
        keys,
        materialise,
        record_sets,
        stream=streamed(by),
        keep_flags=bool(plugins),
        people_per_slice=people_per_slice(dataset),
        unread={c for c in columns if c.about_enrolments and c not in read},
    )
    if members:
        add_members(tables, columns, members)
    tables.columns = dict(columns)
    if plugins:
        add_sets(tables, columns, plugins, materialise)
    results: dict[str, tuple[CountResult, ...]] = {}
    for unit in Unit:
        mine = [d for d in definitions if d.unit is unit]
        if mine:
            evaluate = _users if unit is Unit.USERS else enrolment_series
            results.update(evaluate(tables, mine, by))
    return results


def _users(
    tables: SeriesTables, definitions: Sequence[CountingDefinition], by: Sequence[str]
) -> dict[str, tuple[CountResult, ...]]:
    keys, n = tables.keys, len(tables.compiler.intervals)
    names = criterion_names(tables, definitions)
    flags = tables.flags
    within = list(tables.user_columns) if tables.streamed else []
    masks = figure_masks(definitions, names)

    def sums(
        long: ir.Table,
        mine: Mapping[str, list[str]],
        picked: Sequence[int],
        run: bool,
        in_rows: set[str],
    ):
        materialise = functools.partial(materialise_table, tables.compiler.dataset) if run else None
        return interval_sums(
            long,
            tables.base,
            mine,
            in_rows,
            keys,
            n,
            _records_of(tables, long, definitions, names, picked),
            within,
            materialise,
        )

    # Figures naming a plugin's criterion from the set rows, those naming a contact
    # criterion from the contact months, the others from runs.
    rest = dict(masks)
    left = list(range(len(definitions)))
    parts = []
    for table, columns in [
        (tables.sets, tables.set_columns),
        (tables.months, tables.contact_columns),
    ]:
        if table is None:
            continue
        here = {name: m for name, m in rest.items() if columns.intersection(m)}
        mine = [j for j in left if columns.intersection(names[definitions[j].name])]
        rest = {name: m for name, m in rest.items() if name not in here}
        left = [j for j in left if j not in mine]
        parts.append(sums(table, here, mine, False, tables.interval_columns | columns))
    runs = sums(flags, rest, left, True, tables.interval_columns)
    if parts:
        record_sums, groups = merged_sums([runs, *parts], within, INTERVAL)
    else:
        record_sums, groups = runs
    figures = [read_figures(row, definitions, keys) for row in record_sums]
    if tables.streamed:
        # The one group-by by interval and user column gave the totals and the breakdown.
        breakdowns = {name: _grouped_breakdown(groups, definitions, name, keys) for name in by}
    else:
        if any(name in ENROLMENT_BREAKDOWNS for name in by):
            records, contributes = _user_records(tables, definitions)
        else:
            records, contributes = flags, {}
        breakdowns = series_breakdowns(
            tables, flags, records, contributes, definitions, names, by, "user_id"
        )
    people = counts_by_interval(figures, definitions, "u")
    records = [
        {name: sums.get(name) for j in range(len(definitions)) for name in (f"r{j}", f"r{j}_key")}
        for sums in record_sums
    ]
    return series_results(
        tables,
        definitions,
        Figures(figures, people, records, breakdowns),
        by,
        "user_id",
        functools.partial(_complete_users, tables),
    )


def _grouped_breakdown(
    groups: Sequence[Mapping[str, Any]],
    definitions: Sequence[CountingDefinition],
    name: str,
    keys: KeyRequest | None,
) -> dict[tuple[Any, ...], dict[str, tuple[BreakdownRow, ...]]]:
    """Per interval, every definition's breakdown by a user column, from the rows of the
    group-by by (interval, ``name``): each definition's count in each group."""
    rows = sorted(groups, key=lambda row: (row[name] is None, str(row[name])))
    found: dict[tuple[Any, ...], dict[str, list[BreakdownRow]]] = {}
    for row in rows:
        per = found.setdefault((row[INTERVAL],), {d.name: [] for d in definitions})
        for k, d in enumerate(definitions):
            count = int(row[f"d{k}_n"] or 0)
            if count:
                key = as_cell_key(row.get(f"d{k}_n_key"), keys)
                per[d.name].append(BreakdownRow(value=row[name], count=count, key=key))
    return {part: {d: tuple(r) for d, r in per.items()} for part, per in found.items()}


def _user_records(
    tables: SeriesTables, definitions: Sequence[CountingDefinition]
) -> tuple[ir.Table, dict[str, ir.BooleanValue]]:
    """(enrolment, interval) rows with their owner's flags in that interval and, per
    enrolment criterion, whether the enrolment contributes; per definition, its records
    (the enrolments of its members contributing to one of its enrolment criteria)."""
    compiler, facts, fact_names = tables.compiler, tables.facts, tables.fact_names
    e = facts.select(
        "enrolment_id",
        "user_id",
        "service_kind",
        "sector",
        INTERVAL,
        **record_columns(compiler, facts, fact_names),
    )
    e = keyed(e, tables.keys, _rk=("e", "enrolment_id"), _uk=("u", "user_id"))
    owners = tables.flags.select(*tables.columns.values(), _uid="user_id", _oi=INTERVAL)
    joined = e.inner_join(owners, [e.user_id == owners._uid, e[INTERVAL] == owners._oi])
    table = materialise_table(compiler.dataset, joined.drop("_uid", "_oi"), "series_records")
    contributing = {c: f"k{m[1:]}" for c, m in fact_names.items()}
    contributes = {}
    for d in definitions:
        mine = [table[contributing[c]] for c in d.criteria if c in contributing]
        contributes[d.name] = ibis.or_(*mine)
    return table, contributes


def _complete_users(tables: SeriesTables, k: int) -> ir.Table:
    """Every user with a flag per criterion in interval ``k`` (no facts there: false)."""
    own = tables.interval_columns
    flags = tables.flags
    if tables.runs:
        mine = flags.filter(flags[INTERVAL] <= k, flags[RUN_END] > k)
    else:
        mine = flags.filter(flags[INTERVAL] == k)
    if tables.months is not None:
        # The criteria read from contacts from the contact month, if any.
        months = tables.months.filter(tables.months[INTERVAL] == k)
        months = months.select(_mu="user_id", **{f"_m_{n}": months[n] for n in own})
        joined = mine.left_join(months, mine.user_id == months._mu)
        contact = tables.contact_columns
        mine = joined.select(
            "user_id",
            **{n: joined[f"_m_{n}"].fill_null(False) if n in contact else joined[n] for n in own},
        )
    mine = mine.select(_fu="user_id", **{f"_f_{n}": mine[n] for n in own})
    base = tables.base
    # The long tables' user_id may be the user's number (:mod:`.series_keys`).
    joined = base.left_join(mine, base[tables.person] == mine._fu)
    found = joined.select(
        "user_id",
        **{
            n: joined[f"_f_{n}"].fill_null(False) if n in own else joined[n]
            for n in tables.columns.values()
            if n not in tables.set_columns
        },
    )
    if tables.user_sets is None:
        return found
    # The plugins' criteria from their user sets in the interval.
    sets = tables.user_sets.filter(tables.user_sets[INTERVAL] == k)
    sets = sets.select(_su="user_id", **{f"_s_{n}": sets[n] for n in tables.set_columns})
    joined = found.left_join(sets, found.user_id == sets._su)
    return joined.select(
        "user_id",
        **{
            n: joined[f"_s_{n}"].fill_null(False) if n in tables.set_columns else joined[n]
            for n in tables.columns.values()
        },
    )


def _records_of(
    tables: SeriesTables,
    flags: ir.Table,
    definitions: Sequence[CountingDefinition],
    names: Mapping[str, list[str]],
    picked: Sequence[int],
) -> dict[str, ir.Value]:
    """Each picked definition's records (``r<j>``): the contributing enrolments counted
    beside each user it counts (and their key sums)."""
    out = {}
    for j in picked:
        d = definitions[j]
        counted = all_of(flags, names[d.name])
        column = tables.record_names[frozenset(c for c in d.criteria if c.about_enrolments)]
        out[f"r{j}"] = flags[column].sum(where=counted)
        if tables.keys is not None:
            out[f"r{j}_key"] = flags[f"_nk{column[2:]}"].sum(where=counted)
    return out
