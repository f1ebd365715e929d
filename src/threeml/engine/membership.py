"""Members-only counting: who a definition counts, and how many by group, and nothing else.

A metric reads of its population only who is in it (and, for progress to target, how many by
area). :func:`count_members` gives that for a fraction of the work of
:func:`~threeml.engine.evaluate.count_many`: the per-user flags are computed as the engine
computes them, and only each definition's final mask is kept — in one small table stored in
the engine (the members of any definition, a boolean column per definition, the breakdown
columns). No attrition, no records (the join
of every enrolment to its owner's flags), no cell keys. Counts and breakdowns are aggregates
over that small table. Definitions counting enrolments, and breakdowns by service kind or
sector, are counted the full way (:func:`count_many`), since their figures need the
enrolments.

The result, a :class:`Members`, reads like a :class:`~threeml.engine.results.CountResult`
for what a metric uses (``definition``, ``period``, ``count``, ``users``, ``breakdowns``,
``members_expr()``). Anything else a :class:`~threeml.engine.results.CountResult` has
(``attrition``, ``records``, ``considered``, ``membership()`` …) is still there for a measure
kind written against the full result: the first such read counts the definition the full way
(:func:`~threeml.engine.evaluate.count_many`, once, kept) and answers from that.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import ibis
import ibis.expr.types as ir
from attrs import field, frozen

from threeml.data import Dataset
from threeml.data.intermediate import keep
from threeml.definitions import CountingDefinition
from threeml.definitions.contracts import DefinitionResolver
from threeml.definitions.kinds import registered_kinds
from threeml.engine.breakdowns import check_cardinality
from threeml.engine.compiler import Compiler
from threeml.engine.criteria import handler_for
from threeml.engine.evaluate import (
    ENROLMENT_BREAKDOWNS,
    _all,
    _check_breakdowns,
    _distinct_criteria,
    count_many,
)
from threeml.engine.flags import enrolment_facts, user_flags
from threeml.engine.groupings import aggregate_groupings
from threeml.engine.results import BreakdownRow, CountResult
from threeml.records.codes import Unit
from threeml.records.periods import Period

__all__ = ["Members", "count_members"]


@frozen
class Members:
    """A definition's members over one period, with their count in total and by group.

    Raw figures (for use inside a secure environment). ``count`` and ``users`` are the
    people counted (the definition counts users); ``breakdowns`` hold the people per
    group of each user column asked for.
    """

    definition: CountingDefinition
    period: Period
    count: int
    breakdowns: Mapping[str, tuple[BreakdownRow, ...]] = field(factory=dict)
    _members: Callable[[], ir.Table] | None = field(
        default=None, repr=False, eq=False, alias="members"
    )
    _full: Callable[[], CountResult] | None = field(
        default=None, repr=False, eq=False, alias="full"
    )
    _grouped: Callable[[], ir.Table] | None = field(
        default=None, repr=False, eq=False, alias="grouped"
    )

    @property
    def unit(self) -> Unit:
        return self.definition.unit

    @property
    def users(self) -> int:
        """The distinct people counted (the count: a members-only count counts users)."""
        return self.count

    def members_expr(self) -> ir.Table | None:
        """The people counted, as an engine expression (one column ``user_id``)."""
        return None if self._members is None else self._members()

    def grouped_expr(self) -> ir.Table | None:
        """The people counted with the group of each breakdown they were counted by
        (``user_id``, ``_by_<name>`` per name of ``breakdowns``), read from the stored
        members table: no join of the users table."""
        return None if self._grouped is None else self._grouped()

    def __getattr__(self, name: str) -> Any:
        # Only reached for what a Members lacks: the rest of a CountResult, counted in full.
        if name.startswith("_") or not hasattr(CountResult, name):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        full = object.__getattribute__(self, "_full")
        if full is None:
            raise AttributeError(f"a members-only count of {self.definition.name!r} has no {name}")
        return getattr(full(), name)


def full_count(
    definition: CountingDefinition,
    dataset: Dataset,
    period: Period,
    by: Sequence[str],
    registry: DefinitionResolver | None,
) -> Callable[[], CountResult]:
    """The definition counted the full way, on first call only (then kept)."""
    return functools.cache(
        lambda: count_many([definition], dataset, period, by=by, registry=registry)[definition.name]
    )


def count_members(
    definitions: Iterable[CountingDefinition],
    dataset: Dataset,
    period: Period | str,
    *,
    by: Sequence[str] = (),
    registry: DefinitionResolver | None = None,
) -> dict[str, Members | CountResult]:
    """Each definition's members and counts (total and ``by`` each user column), by name.

    Figures equal :func:`~threeml.engine.evaluate.count_many`'s count and breakdowns. The
    definitions counting users share one pass and one stored table of members; the others
    (and every definition when ``by`` names an enrolment breakdown) are counted by
    :func:`count_many`.
    """
    period = Period.parse(period) if isinstance(period, str) else period
    definitions = list(definitions)
    full_way = any(b in ENROLMENT_BREAKDOWNS for b in by)
    lean = [d for d in definitions if d.unit is Unit.USERS and not full_way]
    rest = [d for d in definitions if d not in lean]
    results: dict[str, Members | CountResult] = {}
    if rest:
        results.update(count_many(rest, dataset, period, by=by, registry=registry))
    if lean:
        results.update(_lean(lean, dataset, period, by, registry))
    return {d.name: results[d.name] for d in definitions}


def _lean(
    definitions: Sequence[CountingDefinition],
    dataset: Dataset,
    period: Period,
    by: Sequence[str],
    registry: DefinitionResolver | None,
) -> dict[str, Members]:
    users = dataset.table("users")
    _check_breakdowns(by, users)
    check_cardinality(users, by)
    resolve = registry.counting if registry is not None else None
    compiler = Compiler(dataset, period, resolve, registered_kinds(registry))
    columns = _distinct_criteria(definitions)
    facts, fact_names = enrolment_facts(compiler, [c for c in columns if c.about_enrolments])
    flags = user_flags(compiler, _needed(compiler, facts, fact_names), fact_names, columns, by)
    masks = {
        f"d{k}": _all(flags, [columns[c] for c in d.criteria]) for k, d in enumerate(definitions)
    }
    selected = flags.select("user_id", *by, **masks)
    members = keep(dataset.backend, selected.filter(ibis.or_(*[selected[m] for m in masks])))
    counted, groups = _sums(members, masks, by)
    out = {}
    for k, definition in enumerate(definitions):
        column = f"d{k}"
        out[definition.name] = Members(
            definition,
            period,
            counted[column],
            {
                name: tuple(
                    BreakdownRow(value=value[0], count=sums[column])
                    for value, sums in rows.items()
                    if sums[column]
                )
                for name, rows in groups.items()
            },
            _chosen(members, column),
            full_count(definition, dataset, period, by, registry),
            _chosen(members, column, by),
        )
    return out


def _needed(compiler: Compiler, facts: ir.Table, fact_names: Mapping[Any, str]) -> ir.Table:
    """The enrolment facts a user's verdicts need: the rows some criterion needs
    (:meth:`~threeml.engine.handlers.CriterionHandler.needed_rows`), when every criterion
    says which. Every other row leaves every verdict as it is, and a user with none of them
    passes no enrolment criterion, so the members are those of the whole facts; the full count
    keeps every row (its attrition and records read them)."""
    needed = [handler_for(c, compiler).needed_rows(c, facts, m) for c, m in fact_names.items()]
    if not needed or any(rows is None for rows in needed):
        return facts
    return facts.filter(ibis.or_(*needed))


def _sums(
    members: ir.Table, masks: Mapping[str, Any], by: Sequence[str]
) -> tuple[dict[str, int], dict[str, dict[tuple[Any, ...], dict[str, int]]]]:
    """Each mask's members in total, and per value of each ``by`` column in group order, from
    one query (:func:`~threeml.engine.groupings.aggregate_groupings`)."""
    sums = {m: functools.partial(_true, column=m) for m in masks}
    total, groups = aggregate_groupings(members, sums, by)

    def counts(row: Mapping[str, Any]) -> dict[str, int]:
        return {m: int(row[m] or 0) for m in masks}

    by_name = {}
    for name in by:
        rows = sorted(groups[name], key=lambda row: (row[name] is None, str(row[name])))
        by_name[name] = {(row[name],): counts(row) for row in rows}
    return counts(total), by_name


def _true(table: ir.Table, column: str) -> ir.Value:
    """The number of rows where the boolean ``column`` is true."""
    return table[column].ifelse(1, 0).sum()


def _chosen(
    members: ir.Table, column: str, by: Sequence[str] | None = None
) -> Callable[[], ir.Table]:
    """The members of ``column``'s definition (with ``by``, their ``_by_<name>`` columns)."""

    def chosen() -> ir.Table:
        groups = {f"_by_{name}": members[name] for name in by or ()}
        return members.filter(members[column]).select("user_id", **groups)

    return chosen
