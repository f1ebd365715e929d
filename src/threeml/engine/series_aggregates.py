"""The user flags' aggregates of a series: one per figure the flags carry, none twice.

The user flags of a series (:mod:`threeml.engine.series_facts`) are one group-by of the
enrolment facts per (user, interval or run); at national scale it is the largest group-by of
the one pass, and its width is what it costs. :func:`user_aggregates` gives each column one
aggregate at most: a verdict that is "any enrolment contributes" is read from a record count
of those same enrolments (above 0), two equal record counts are one, and the criteria read
from contacts when they are kept apart (:mod:`threeml.engine.series_contacts`) are constants.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence

import ibis
import ibis.expr.types as ir

from threeml.definitions import Criterion
from threeml.engine.compiler import Compiler
from threeml.engine.criteria import handler_for
from threeml.engine.flags import record_columns

__all__ = ["Derived", "count_where", "user_aggregates"]

#: A column of the user flags computed from their grouped row, not aggregated itself.
Derived = Callable[[ir.Table], ir.Value]


def count_where(table: ir.Table, where: ir.Value) -> ir.IntegerValue:
    """The number of rows of ``table`` (in each group) where the boolean ``where`` is true.

    A count with a filter, not the sum of the boolean cast to an integer: the same figure on
    rows where ``where`` is never NULL (and 0, not NULL, where no row is), but a hash
    group-by keeps an 8-byte count per group instead of a sum's wider state, and adds no
    cast per row (about a third less work per group-by of millions of groups in DuckDB).
    A number (a plugin's contact test may be one) is summed.
    """
    if where.type().is_boolean():
        return table.count(where=where)
    return where.sum()


def user_aggregates(
    compiler: Compiler,
    facts: ir.Table,
    fact_names: Mapping[Criterion, str],
    record_sets: Sequence[frozenset[Criterion]],
    apart: set[Criterion],
    keyed: bool,
) -> tuple[dict[str, ir.Value], dict[frozenset[Criterion], str], dict[str, Derived]]:
    """The aggregates of the user flags per (user, interval or run) over ``facts``: each
    enrolment criterion's verdict (``m<j>``) and, per record set, the count of contributing
    enrolments (``_n<j>``, and their key sums ``_nk<j>``); the record sets' column names; and
    the columns derived without an aggregate of their own: constants for the criteria
    ``apart`` (read from contacts, kept apart: false in every run), a record count equal to
    another's, and a verdict that is "any enrolment contributes" when a record count counts
    exactly those enrolments (the count above 0: one aggregate instead of two).
    """
    contributing = record_columns(compiler, facts, fact_names)
    per_user: dict[str, ir.Value] = {}
    record_names: dict[frozenset[Criterion], str] = {}
    derived: dict[str, Derived] = {}
    for criteria_set in record_sets:
        if criteria_set in record_names:
            continue
        j = len(record_names)
        record_names[criteria_set] = f"_n{j}"
        through = [contributing[f"k{fact_names[c][1:]}"] for c in criteria_set if c not in apart]
        if not through:
            derived[f"_n{j}"] = lambda t: ibis.literal(0, "int32")
            if keyed:
                derived[f"_nk{j}"] = lambda t: ibis.literal(0, "int64")
            continue
        contributes = ibis.or_(*through)
        # A user's enrolments: int32 keeps the stored flags narrow (they spill at scale).
        wanted = {f"_n{j}": count_where(facts, contributes).cast("int32")}
        if keyed:
            wanted[f"_nk{j}"] = facts._ek.sum(where=contributes)
        for name, aggregate in wanted.items():
            same = next((n for n, a in per_user.items() if a.equals(aggregate)), None)
            if same is None:
                per_user[name] = aggregate
            else:
                # Two record sets with the same contributing enrolments (the others' kept
                # apart): one aggregate.
                derived[name] = functools.partial(_column, same)
    for c, m in fact_names.items():
        if c in apart:
            continue
        verdict = handler_for(c, compiler).series_user_aggregate(c, compiler, facts, m)
        count = count_where(facts, contributing[f"k{m[1:]}"]).cast("int32")
        counted = next((n for n, a in per_user.items() if a.equals(count)), None)
        if counted is not None and verdict.equals(contributing[f"k{m[1:]}"].any()):
            derived[m] = functools.partial(_above_zero, counted)
        else:
            per_user[m] = verdict
    return per_user, record_names, derived


def _above_zero(name: str, table: ir.Table) -> ir.BooleanValue:
    return table[name] > 0


def _column(name: str, table: ir.Table) -> ir.Value:
    return table[name]
