"""The engine: counting definitions compiled to ibis queries over a dataset.

Every criterion compiles to a set of passing users (and, for enrolment
criteria, the enrolments that contribute), computed once however many
definitions share it (:mod:`threeml.engine.criteria` holds how each kind of
criterion compiles; :mod:`threeml.engine.flags` the shared tables). One per-user
table of boolean columns — one column per distinct criterion — then gives every
count, both attrition forms and the breakdowns through aggregates, as OHDSI does
with inclusion-rule masks. Nothing here builds a Python object per data row;
queries run where the data lives (DuckDB by default, any ibis backend in
principle).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs
import ibis
import ibis.expr.types as ir

from threeml.data import Dataset
from threeml.definitions import CountingDefinition, Criterion
from threeml.definitions.cellkey import CellKeyMethod
from threeml.definitions.contracts import DefinitionResolver
from threeml.definitions.kinds import registered_kinds
from threeml.engine.breakdowns import check_cardinality, user_breakdowns
from threeml.engine.cellkeys import (
    KeyRequest,
    as_cell_key,
    dataset_seed,
    distinct_key,
    key_sums,
    keyed,
)
from threeml.engine.compiler import Compiler
from threeml.engine.criteria_shared import member_of_columns, with_member_of
from threeml.engine.errors import EvaluationError
from threeml.engine.figures import (
    aggregate,
    all_of,
    attrition_masks,
    cell_keys,
    figure_sums,
    materialise,
    read_figures,
)
from threeml.engine.flags import enrolment_facts, enrolment_flags, record_columns, user_flags
from threeml.engine.results import BreakdownRow, CellKeys, CountResult
from threeml.records.codes import Unit
from threeml.records.periods import Period

__all__ = [
    "ENROLMENT_BREAKDOWNS",
    "EvaluationError",
    "attrition_masks",
    "breakdowns_within",
    "count",
    "count_many",
    "read_figures",
]

#: Breakdowns that come from the enrolments behind a count rather than from the user.
ENROLMENT_BREAKDOWNS = ("service_kind", "sector")


def count(
    definition: CountingDefinition,
    dataset: Dataset,
    period: Period | str,
    *,
    by: Sequence[str] = ("area",),
    registry: DefinitionResolver | None = None,
    cell_keys: CellKeyMethod | None = None,
) -> CountResult:
    """Evaluate one counting definition; see :func:`count_many`."""
    return count_many([definition], dataset, period, by=by, registry=registry, cell_keys=cell_keys)[
        definition.name
    ]


def count_many(
    definitions: Iterable[CountingDefinition],
    dataset: Dataset,
    period: Period | str,
    *,
    by: Sequence[str] = ("area",),
    registry: DefinitionResolver | None = None,
    cell_keys: CellKeyMethod | None = None,
) -> dict[str, CountResult]:
    """Evaluate several definitions on one dataset and period, sharing their criteria.

    ``by`` names the breakdowns: any column of the users table, ``service_kind``
    or ``sector``. ``registry`` resolves ``member-of`` criteria by name, and
    supplies the criterion kinds of plugins (its ``criterion_kinds()``): a
    definition using a plugin's kind needs the registry that loaded the plugin.

    ``cell_keys`` (the cell-key policy's :class:`~threeml.definitions.cellkey.CellKeyMethod`)
    asks for every published cell's cell key as well: each total, attrition step and
    breakdown group then carries the sum of its units' record keys modulo the key range
    (raw, on :attr:`CountResult.cell_keys`, :attr:`AttritionStep.key` and
    :attr:`BreakdownRow.key`), computed in the engine from the extract's secret seed
    (:func:`threeml.engine.cellkeys.dataset_seed`).
    """
    period = Period.parse(period) if isinstance(period, str) else period
    definitions = list(definitions)
    _check_breakdowns(by, dataset.table("users"))
    check_cardinality(dataset.table("users"), by)
    resolve = registry.counting if registry is not None else None
    compiler = Compiler(dataset, period, resolve, registered_kinds(registry))
    # A member-of of a definition counting users is the conjunction of that definition's
    # criteria, computed among the shared columns rather than compiled again on its own.
    columns, member_of = member_of_columns(_distinct_criteria(definitions), resolve)
    user_columns = [b for b in by if b not in ENROLMENT_BREAKDOWNS]
    facts, fact_names = enrolment_facts(compiler, [c for c in columns if c.about_enrolments])
    if fact_names:
        # Without an enrolment criterion the facts are the enrolments as they are: read by
        # the records alone, they need not be stored.
        facts = materialise(dataset, facts, "facts")
    keys = None if cell_keys is None else KeyRequest(dataset_seed(dataset), cell_keys.key_range)
    own = {c: name for c, name in columns.items() if c not in member_of}
    flags = user_flags(compiler, facts, fact_names, own, user_columns)
    flags = with_member_of(flags, columns, member_of)
    flags = materialise(dataset, keyed(flags, keys, _rk=("u", "user_id")), "users")
    shared = _Shared(facts, fact_names, columns, flags, user_columns, keys)
    results: dict[str, CountResult] = {}
    for unit in Unit:
        mine = [d for d in definitions if d.unit is unit]
        if mine:
            results.update(_evaluate_unit(compiler, mine, unit, by, shared))
    return {d.name: results[d.name] for d in definitions}


@attrs.frozen
class _Shared:
    """What every definition of one evaluation reads: enrolment facts and user flags."""

    facts: ir.Table
    fact_names: Mapping[Criterion, str]
    columns: Mapping[Criterion, str]
    user_flags: ir.Table
    user_columns: Sequence[str]
    keys: KeyRequest | None = None


def _check_breakdowns(by: Sequence[str], users: ir.Table) -> None:
    allowed = [*user_breakdowns(users), *ENROLMENT_BREAKDOWNS]
    for name in by:
        if name not in allowed:
            raise EvaluationError(
                f"cannot break down by {name!r}; choose from {', '.join(allowed)}"
            )


def _distinct_criteria(definitions: Sequence[CountingDefinition]) -> dict[Criterion, str]:
    columns: dict[Criterion, str] = {}
    for definition in definitions:
        for criterion in definition.criteria:
            columns.setdefault(criterion, f"c{len(columns)}")
    return columns


def _evaluate_unit(
    compiler: Compiler,
    definitions: list[CountingDefinition],
    unit: Unit,
    by: Sequence[str],
    shared: _Shared,
) -> dict[str, CountResult]:
    """Evaluate definitions of one unit with a handful of queries shared by all of them.

    The flags table holds a boolean column per distinct criterion; one aggregate
    over it gives every count and both attrition forms; one table of enrolments with
    their owner's flags (users) gives every definition's records; one group-by per
    breakdown gives every definition's breakdown.
    """
    columns = shared.columns
    if unit is Unit.USERS:
        flags = shared.user_flags
        key = "user_id"
    else:
        flags = enrolment_flags(
            compiler,
            shared.facts,
            shared.fact_names,
            shared.user_flags,
            columns,
            shared.user_columns,
        )
        flags = keyed(flags, shared.keys, _rk=("e", "enrolment_id"), _uk=("u", "user_id"))
        flags = materialise(compiler.dataset, flags, "enrolments")
        key = "enrolment_id"
    names = {d.name: [columns[c] for c in d.criteria] for d in definitions}
    sums = figure_sums(flags, definitions, names, shared.keys)
    if unit is Unit.USERS:
        # Stored only when a breakdown by service kind or sector reads the records again.
        stored = any(name in ENROLMENT_BREAKDOWNS for name in by)
        records_table, contributes = _user_records(compiler, shared, definitions, stored)
        wanted = {
            f"r{k}": all_of(records_table, names[d.name]) & contributes[d.name]
            for k, d in enumerate(definitions)
        }
        # The figures and the records in one query (a fixed cost per query on Spark).
        records = aggregate(
            flags,
            sums,
            also=(
                records_table,
                {
                    **{name: where.sum() for name, where in wanted.items()},
                    **key_sums(records_table, wanted, shared.keys),
                },
            ),
        )
        figures = read_figures(records, definitions, shared.keys)
        users_counted = {d.name: figures[d.name]["count"] for d in definitions}
        records_counted = {d.name: records[f"r{k}"] for k, d in enumerate(definitions)}
        user_keys = {d.name: figures[d.name].get("key") for d in definitions}
        record_keys = {d.name: records.get(f"r{k}_key") for k, d in enumerate(definitions)}
    else:
        records_table = flags
        contributes = {d.name: ibis.literal(True) for d in definitions}
        people = aggregate(
            flags,
            {
                **sums,
                **{
                    f"u{k}": flags.user_id.nunique(where=all_of(flags, names[d.name]))
                    for k, d in enumerate(definitions)
                },
            },
        )
        figures = read_figures(people, definitions, shared.keys)
        users_counted = {d.name: people[f"u{k}"] for k, d in enumerate(definitions)}
        records_counted = {d.name: figures[d.name]["count"] for d in definitions}
        user_keys = {
            d.name: distinct_key(flags, all_of(flags, names[d.name]), shared.keys)
            for d in definitions
        }
        record_keys = {d.name: figures[d.name].get("key") for d in definitions}
    breakdowns: dict[str, dict[str, tuple[BreakdownRow, ...]]] = {d.name: {} for d in definitions}
    for name in by:
        found = breakdowns_within(
            flags, records_table, contributes, definitions, names, name, key, shared.keys
        )
        per_definition = found.get((), {d.name: () for d in definitions})
        for definition in definitions:
            breakdowns[definition.name][name] = per_definition[definition.name]
    results = {}
    for definition in definitions:
        mine = names[definition.name]
        results[definition.name] = _result(
            compiler.period,
            definition,
            figures[definition.name],
            users_counted[definition.name],
            records_counted[definition.name],
            breakdowns[definition.name],
            _membership(flags, mine, key),
            _members(flags, mine, key),
            cell_keys(
                figures[definition.name],
                user_keys[definition.name],
                record_keys[definition.name],
                shared.keys,
            ),
        )
    return results


def _user_records(
    compiler: Compiler,
    shared: _Shared,
    definitions: Sequence[CountingDefinition],
    stored: bool = True,
) -> tuple[ir.Table, dict[str, ir.BooleanValue]]:
    """Enrolments with their owner's criterion flags and, per enrolment criterion, whether
    the enrolment contributes to it; and per definition, which enrolments are its records.

    A definition's records are the enrolments of its members that contribute to at least
    one of its enrolment criteria (all their enrolments when it has none). The table is
    stored in the engine when ``stored`` (it is read more than once).
    """
    facts, columns = shared.facts, shared.columns
    contributing = {c: f"k{m[1:]}" for c, m in shared.fact_names.items()}
    e = facts.select(
        "enrolment_id",
        "user_id",
        "service_kind",
        "sector",
        **record_columns(compiler, facts, shared.fact_names),
    )
    e = keyed(e, shared.keys, _rk=("e", "enrolment_id"), _uk=("u", "user_id"))
    owners = shared.user_flags.select(*columns.values(), _owner="user_id")
    joined = e.inner_join(owners, e.user_id == owners._owner).drop("_owner")
    table = materialise(compiler.dataset, joined, "records") if stored else joined
    contributes = {}
    for definition in definitions:
        mine = [table[contributing[c]] for c in definition.criteria if c in contributing]
        contributes[definition.name] = ibis.or_(*mine) if mine else ibis.literal(True)
    return table, contributes


def breakdowns_within(
    flags: ir.Table,
    records: ir.Table,
    contributes: Mapping[str, ir.BooleanValue],
    definitions: Sequence[CountingDefinition],
    names: Mapping[str, list[str]],
    name: str,
    key: str,
    keys: KeyRequest | None = None,
    within: Sequence[str] = (),
) -> dict[tuple[Any, ...], dict[str, tuple[BreakdownRow, ...]]]:
    """Every definition's breakdown by ``name`` from one group-by, per value of the
    ``within`` columns (a series: the interval).

    By a user column: units counted per group (they partition the count). By service
    kind or sector: distinct units per kind among the records behind the count. With
    ``keys``, each group's cell key too (for distinct units, one more query per definition).
    """
    groups = [*within, name]
    group_keys: dict[int, dict[tuple[Any, ...], int]] = {}
    if name in ENROLMENT_BREAKDOWNS:
        table = records
        wanted = {
            k: all_of(table, names[d.name]) & contributes[d.name] for k, d in enumerate(definitions)
        }
        metrics = {f"d{k}": table[key].nunique(where=where) for k, where in wanted.items()}
        if keys is not None:
            unit_key = "_uk" if key == "user_id" else "_rk"
            for k, where in wanted.items():
                units = table.filter(where).select(*groups, key, unit_key).distinct()
                sums = units.group_by(groups).agg(s=units[unit_key].sum()).to_pyarrow()
                group_keys[k] = {
                    tuple(row[g] for g in groups): as_cell_key(row["s"], keys)
                    for row in sums.to_pylist()
                }
    else:
        table = flags
        metrics = {f"d{k}": all_of(table, names[d.name]).sum() for k, d in enumerate(definitions)}
        if keys is not None:
            metrics.update(
                {
                    f"d{k}_key": table._rk.sum(where=all_of(table, names[d.name]))
                    for k, d in enumerate(definitions)
                }
            )
    rows = table.group_by(groups).agg(**metrics).to_pyarrow().to_pylist()
    rows.sort(key=lambda row: (row[name] is None, str(row[name])))

    def cell_key(k: int, row: Mapping[str, Any]) -> int | None:
        if keys is None:
            return None
        if k in group_keys:
            return group_keys[k].get(tuple(row[g] for g in groups), 0)
        return as_cell_key(row[f"d{k}_key"], keys)

    parts: dict[tuple[Any, ...], list[Mapping[str, Any]]] = {}
    for row in rows:
        parts.setdefault(tuple(row[w] for w in within), []).append(row)
    return {
        part: {
            d.name: tuple(
                BreakdownRow(value=row[name], count=int(row[f"d{k}"] or 0), key=cell_key(k, row))
                for row in mine
                if row[f"d{k}"]
            )
            for k, d in enumerate(definitions)
        }
        for part, mine in parts.items()
    }


def _membership(flags: ir.Table, names: list[str], key: str) -> Any:
    first_failed = ibis.cases(
        *[(~flags[name], i + 1) for i, name in enumerate(names)], else_=ibis.null("int64")
    )
    id_columns = ["enrolment_id", "user_id"] if key == "enrolment_id" else ["user_id"]
    return (
        flags.select(*id_columns, counted=all_of(flags, names), first_failed=first_failed)
        .order_by(id_columns)
        .to_pyarrow
    )


def _members(flags: ir.Table, names: list[str], key: str) -> Any:
    """A callable giving the counted people as an expression over the evaluation's flags."""

    def members() -> ir.Table:
        counted = flags.filter(all_of(flags, names)).select("user_id")
        return counted.distinct() if key == "enrolment_id" else counted

    return members


def _result(
    period: Period,
    definition: CountingDefinition,
    figures: Mapping[str, Any],
    users: int,
    records: int,
    breakdowns: Mapping[str, tuple[BreakdownRow, ...]],
    membership: Any,
    members: Any,
    cell_keys: CellKeys | None = None,
) -> CountResult:
    return CountResult(
        definition=definition,
        period=period,
        count=figures["count"],
        users=users,
        records=records,
        considered=figures["considered"],
        attrition=figures["attrition"],
        breakdowns=breakdowns,
        membership=membership,
        members_expr=members,
        cell_keys=cell_keys,
    )
