"""A plugin's criterion kinds in the one pass of a series: one user set per interval.

A plugin's kind (:class:`~threeml.definitions.kinds.CriterionKind`) is about the user and its
``compile`` knows one period. A series asks it, once for the whole span, which users pass in
each interval: through the kind's ``series`` when it has one (every interval at once), else
``compile`` once per interval. The answers are the *user sets*: one row per (user, interval)
in which the user passes one of the kinds' criteria, a boolean column per criterion.

The rest of such a definition still goes through the one pass: its figures are read from the
*set rows*, the user sets joined to the user flags of the same interval (the run covering it
when the flags are per run) and to the user's row of the base. A user counted by a figure
naming a plugin's criterion passes that criterion in the interval, so has a set row there;
the criteria read from the flags are false where the user has no flags row. A definition with
no enrolment criterion (all its people's enrolments are its records) reads them from the base.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ibis
import ibis.expr.types as ir

from threeml.definitions import Criterion
from threeml.engine.compiler import Compiler
from threeml.engine.errors import EvaluationError
from threeml.engine.handlers import PluginKindHandler
from threeml.engine.series_facts import INTERVAL, SeriesCompiler
from threeml.engine.series_runs import RUN_END
from threeml.engine.series_tables import SeriesTables

__all__ = ["add_sets", "set_rows", "user_sets"]


def user_sets(
    compiler: SeriesCompiler,
    columns: Mapping[Criterion, str],
    handlers: Mapping[Criterion, PluginKindHandler],
) -> ir.Table:
    """Per (user, interval) where one of the criteria holds, a flag per criterion (named by
    ``columns``): see the module docs."""
    parts = []
    for c, handler in handlers.items():
        found = _passing(c, handler, compiler)
        parts.append(
            found.select(
                "user_id",
                **{INTERVAL: found[INTERVAL]},
                **{columns[o]: ibis.literal(o == c) for o in handlers},
            )
        )
    rows = ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]
    return rows.group_by(["user_id", INTERVAL]).agg(
        **{columns[c]: rows[columns[c]].any() for c in handlers}
    )


def _passing(c: Criterion, handler: PluginKindHandler, compiler: SeriesCompiler) -> ir.Table:
    """(``user_id``, interval) for every interval ``c`` holds in, distinct."""
    kind = handler.kind
    if kind.series is not None:
        try:
            found = kind.series(c, compiler)
            found = found.select("user_id", **{INTERVAL: found.interval.cast("int64")})
        except Exception as error:
            raise EvaluationError(
                f"criterion kind {kind.name!r} (from {kind.criterion.__module__}) failed to "
                f"compile {c.describe()!r} over a series: {error}"
            ) from error
        return found.filter(found.user_id.notnull()).distinct()
    parts = []
    for k, interval in enumerate(compiler.intervals):
        kinds = {k.name: k for k in compiler.plugin_kinds.values()}
        alone = Compiler(compiler.dataset, interval.period, compiler.resolve, kinds)
        passed = handler.user_pass(c, alone)
        parts.append(passed.select("user_id", **{INTERVAL: ibis.literal(k, "int64")}))
    return ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]


def set_rows(
    sets: ir.Table,
    flags: ir.Table,
    base: ir.Table,
    set_columns: Sequence[str],
    flag_columns: Sequence[str],
    counts: Sequence[str],
    all_enrolments: Mapping[str, Callable[[ir.Table], ir.Value]],
    person: str = "user_id",
) -> ir.Table:
    """The set rows (see the module docs): ``sets`` with the user flags of the same interval
    (``flag_columns`` false and the record ``counts`` 0 where the user has no flags row there)
    and every column of ``base`` (the breakdowns, the criteria about the user alone, the
    record key). ``all_enrolments`` are the record counts read from the base instead."""
    covering = flags.select(
        _fu="user_id",
        _fi=flags[INTERVAL],
        **({"_ft": flags[RUN_END]} if RUN_END in flags.columns else {}),
        **{f"_f_{n}": flags[n] for n in [*flag_columns, *counts]},
    )
    # The sets hold text ids; the flags hold the base's ``person`` (:mod:`.series_keys`).
    owners = base.rename(_bu="user_id")
    owned = sets.inner_join(owners, sets.user_id == owners._bu)
    who = owned.user_id if person == "user_id" else owned[person]
    if "_ft" in covering.columns:
        on = [who == covering._fu, covering._fi <= owned[INTERVAL], owned[INTERVAL] < covering._ft]
    else:
        on = [who == covering._fu, covering._fi == owned[INTERVAL]]
    joined = owned.left_join(covering, on)
    values: dict[str, ir.Value] = {n: joined[n] for n in set_columns}
    values.update({n: joined[f"_f_{n}"].fill_null(False) for n in flag_columns})
    values.update({n: joined[f"_f_{n}"].fill_null(0) for n in counts})
    values.update({n: read(joined) for n, read in all_enrolments.items()})
    kept = [n for n in base.columns if n != "user_id" and n not in values]
    return joined.select("user_id", INTERVAL, *kept, **values)


def add_sets(
    tables: SeriesTables,
    columns: Mapping[Criterion, str],
    plugins: Mapping[Criterion, PluginKindHandler],
    materialise: Any,
) -> None:
    """The user sets of the plugins' criteria and the set rows, kept on ``tables``."""
    sets = materialise(user_sets(tables.compiler, columns, plugins), "series_sets")
    counts = [
        n
        for j in tables.record_names.values()
        for n in (j, f"_nk{j[2:]}")
        if n in tables.flags.columns
    ]
    everything: dict[str, Any] = {}
    empty = tables.record_names.get(frozenset())
    if empty is not None:
        # All the user's enrolments, from the base: whether or not they have flags there.
        everything[empty] = lambda t: t._nall
        if tables.keys is not None:
            everything[f"_nk{empty[2:]}"] = lambda t: t._nkall
    tables.user_sets = sets
    tables.set_columns = {columns[c] for c in plugins}
    tables.sets = set_rows(
        sets,
        tables.flags,
        tables.base,
        sorted(tables.set_columns),
        sorted(tables.interval_columns),
        [n for n in counts if n not in everything],
        everything,
        tables.person,
    )
