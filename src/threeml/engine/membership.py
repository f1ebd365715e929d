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
from threeml.engine.breakdowns import BANDED, check_cardinality
from threeml.engine.compiler import Compiler
from threeml.engine.criteria import handler_for
from threeml.engine.evaluate import (
    ENROLMENT_BREAKDOWNS,
    _check_breakdowns,
    count_many,
)
from threeml.engine.figures import all_of
from threeml.engine.flags import Use, enrolment_facts_over, user_flags_over
from threeml.engine.groupings import aggregate_groupings
from threeml.engine.results import BreakdownRow, CountResult
from threeml.records.codes import Unit
from threeml.records.periods import Period

__all__ = ["FLAGGED_PERIODS", "MemberRuns", "Members", "count_members", "count_members_periods"]

#: The most periods counted together in one pass of flags (a column per criterion and
#: period, :func:`count_members_periods`) when a series counts periods so: more are counted
#: in several passes (or as series), so the flags stay narrow.
FLAGGED_PERIODS = 24


@frozen
class MemberRuns:
    """A definition's members over every interval of a series, as runs of intervals.

    The series' members are stored once
    (:func:`~threeml.engine.membership_series.count_members_series`), one row per user and
    *run*: a stretch of consecutive intervals ``[_i, _t)`` (indexes into ``periods``) in
    which the user's verdicts do not change, with a boolean column per definition counted
    in the same pass. A user is a member in interval ``k`` when a run with
    ``_i <= k < _t`` has the definition's column true; a user has at most one run holding
    any interval. Per person and run, not per person and interval: a person in receipt for
    five years is one row, not twenty quarters.
    """

    periods: tuple[Period, ...]
    _table: ir.Table = field(repr=False, eq=False, alias="table")
    mask: str
    by: tuple[str, ...] = ()

    def runs(self, also: Mapping[str, MemberRuns] | None = None) -> ir.Table | None:
        """The definition's runs: ``user_id``, ``_i`` (the run's first interval), ``_t`` (the
        first interval after it) and ``_by_<name>`` per breakdown; with ``also``, a boolean
        column per name saying whether that series' definition counts the user in the run
        too. ``None`` when one of ``also`` was not counted in the same pass (its runs are cut
        elsewhere)."""
        also = dict(also or {})
        if any(other._table is not self._table for other in also.values()):
            return None
        table = self._table
        mine = table.filter(table[self.mask])
        return mine.select(
            "user_id",
            "_i",
            "_t",
            **{f"_by_{name}": mine[name] for name in self.by},
            **{name: mine[other.mask] for name, other in also.items()},
        )


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
    _carried: Callable[[], ir.Table] | None = field(
        default=None, repr=False, eq=False, alias="carried"
    )
    #: The users columns the stored members keep (``carry``), read by :meth:`carried_expr`.
    carries: tuple[str, ...] = ()
    #: The members over every interval of the series this count is one interval of, as
    #: runs of intervals (``None`` when counted alone, or per interval).
    series: MemberRuns | None = field(default=None, eq=False, repr=False)

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

    def carried_expr(self, names: Sequence[str]) -> ir.Table | None:
        """The people counted with the users columns ``names`` (``user_id`` and each name),
        read from the stored members table when it carries them all (no join of the users
        table); ``None`` when it does not."""
        if self._carried is None or not set(names) <= set(self.carries):
            return None
        return self._carried().select("user_id", *names)

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
    carry: Sequence[str] = (),
) -> dict[str, Members | CountResult]:
    """Each definition's members and counts (total and ``by`` each user column), by name.

    Figures equal :func:`~threeml.engine.evaluate.count_many`'s count and breakdowns. The
    definitions counting users share one pass and one stored table of members; the others
    (and every definition when ``by`` names an enrolment breakdown) are counted by
    :func:`count_many`. ``carry`` names users columns the stored members keep as they are
    (:meth:`Members.carried_expr`), so that what a metric reads of its members' users
    needs no second join of the users table.
    """
    period = Period.parse(period) if isinstance(period, str) else period
    definitions = list(definitions)
    found = count_members_periods(
        [(d, period) for d in definitions], dataset, by=by, registry=registry, carry=carry
    )
    return {d.name: found[d.name, period] for d in definitions}


def count_members_periods(
    wanted: Iterable[tuple[CountingDefinition, Period]],
    dataset: Dataset,
    *,
    by: Sequence[str] = (),
    registry: DefinitionResolver | None = None,
    carry: Sequence[str] = (),
) -> dict[tuple[str, Period], Members | CountResult]:
    """:func:`count_members` for each (definition, period) of ``wanted``, the periods free to
    overlap, keyed by (definition name, period).

    Every pair counting users is evaluated in one pass: one row per enrolment with a column
    per (criterion, period), one row per user with a flag per (criterion, period) and a
    mask per pair, one stored table of members (as a hand-written query counts one
    population over two periods with two ``FILTER`` clauses). Each pair's figures are those
    of counting it alone. When a breakdown is banded (an age band depends on the period),
    the periods are counted in one pass each.
    """
    wanted = list(dict.fromkeys(wanted))
    full_way = any(b in ENROLMENT_BREAKDOWNS for b in by)
    lean = [(d, p) for d, p in wanted if d.unit is Unit.USERS and not full_way]
    results: dict[tuple[str, Period], Members | CountResult] = {}
    rest: dict[Period, list[CountingDefinition]] = {}
    for d, p in wanted:
        if (d, p) not in lean:
            rest.setdefault(p, []).append(d)
    for p, definitions in rest.items():
        found = count_many(definitions, dataset, p, by=by, registry=registry)
        results.update({(d.name, p): found[d.name] for d in definitions})
    passes: dict[tuple[Any, ...], list[tuple[CountingDefinition, Period]]] = {}
    for d, p in lean:
        passes.setdefault(tuple(p if b in BANDED else None for b in by), []).append((d, p))
    for chosen in passes.values():
        results.update(_lean(chosen, dataset, by, registry, tuple(carry)))
    return {(d.name, p): results[d.name, p] for d, p in wanted}


def _lean(
    wanted: Sequence[tuple[CountingDefinition, Period]],
    dataset: Dataset,
    by: Sequence[str],
    registry: DefinitionResolver | None,
    carry: Sequence[str],
) -> dict[tuple[str, Period], Members]:
    users = dataset.table("users")
    _check_breakdowns(by, users)
    check_cardinality(users, by)
    resolve = registry.counting if registry is not None else None
    kinds = registered_kinds(registry)
    compilers = {p: Compiler(dataset, p, resolve, kinds) for _, p in wanted}
    uses: dict[Use, str] = {}  # every distinct (period, criterion): its flag column
    for d, p in wanted:
        for c in d.criteria:
            uses.setdefault((compilers[p], c), f"c{len(uses)}")
    enrolment_uses = [use for use in uses if use[1].about_enrolments]
    facts, fact_names = enrolment_facts_over(enrolment_uses) if enrolment_uses else (None, {})
    if facts is not None:
        facts = _needed(facts, fact_names)
    first = next(iter(compilers.values()))
    # A carried column that is also a breakdown as it stands (not banded) is read from there.
    sources = {n: n if n in by and n not in BANDED else f"_u_{n}" for n in carry}
    own = [n for n in carry if sources[n] != n]
    flags = user_flags_over(first, facts, fact_names, uses, by, own)
    masks = {
        f"d{k}": all_of(flags, [uses[compilers[p], c] for c in d.criteria])
        for k, (d, p) in enumerate(wanted)
    }
    kept = [f"_u_{name}" for name in own]
    selected = flags.select("user_id", *by, *kept, **masks)
    members = keep(dataset.backend, selected.filter(ibis.or_(*[selected[m] for m in masks])))
    counted, groups = _sums(members, masks, by)
    out = {}
    for k, (definition, period) in enumerate(wanted):
        column = f"d{k}"
        out[definition.name, period] = Members(
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
            _carried(members, column, sources),
            tuple(carry),
        )
    return out


def _needed(facts: ir.Table, fact_names: Mapping[Use, str]) -> ir.Table:
    """The enrolment facts a user's verdicts need: the rows some criterion needs
    (:meth:`~threeml.engine.handlers.CriterionHandler.needed_rows`), when every criterion
    says which. Every other row leaves every verdict as it is, and a user with none of them
    passes no enrolment criterion, so the members are those of the whole facts; the full count
    keeps every row (its attrition and records read them)."""
    needed = [handler_for(c, k).needed_rows(c, facts, m) for (k, c), m in fact_names.items()]
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


def _carried(members: ir.Table, column: str, sources: Mapping[str, str]) -> Callable[[], ir.Table]:
    """The members of ``column``'s definition with the carried users columns, by name."""

    def carried() -> ir.Table:
        found = members.filter(members[column])
        return found.select("user_id", **{name: found[source] for name, source in sources.items()})

    return carried
