"""A series of definitions counting enrolments (``connections``), in one pass.

Each (enrolment, interval) row where one of the definitions' enrolment criteria holds for
the enrolment itself carries a verdict per criterion; the criteria about the user alone are
read once per enrolment (:func:`enrolment_series`).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence

import ibis
import ibis.expr.types as ir

from threeml.definitions import CountingDefinition
from threeml.engine.cellkeys import KeyRequest, as_cell_key, keyed
from threeml.engine.criteria import handler_for
from threeml.engine.evaluate import read_figures
from threeml.engine.figures import all_of, materialise
from threeml.engine.results import CountResult
from threeml.engine.series_facts import (
    AGE_BREAKDOWNS,
    INTERVAL,
    enrolment_facts,
    interval_age_band,
)
from threeml.engine.series_figures import (
    Figures,
    counts_by_interval,
    criterion_names,
    figure_masks,
    interval_sums,
    series_breakdowns,
    series_results,
)
from threeml.engine.series_tables import SeriesTables

__all__ = ["enrolment_series"]


def enrolment_series(
    tables: SeriesTables, definitions: Sequence[CountingDefinition], by: Sequence[str]
) -> dict[str, tuple[CountResult, ...]]:
    keys, n = tables.keys, len(tables.compiler.intervals)
    names = criterion_names(tables, definitions)
    flags, everywhere = _enrolment_flags(tables, definitions)
    sums, _ = interval_sums(
        flags, everywhere, figure_masks(definitions, names), tables.interval_columns, keys, n
    )
    figures = [read_figures(row, definitions, keys) for row in sums]
    people = _people_by_interval(flags, definitions, names, keys, n)
    contributes = {d.name: ibis.literal(True) for d in definitions}
    breakdowns = series_breakdowns(
        tables, flags, flags, contributes, definitions, names, by, "enrolment_id"
    )
    records = counts_by_interval(figures, definitions, "r")
    return series_results(
        tables,
        definitions,
        Figures(figures, people, records, breakdowns),
        by,
        "enrolment_id",
        functools.partial(_complete_enrolments, tables, flags, everywhere),
    )


def _enrolment_flags(
    tables: SeriesTables, definitions: Sequence[CountingDefinition]
) -> tuple[ir.Table, ir.Table]:
    """(enrolment, interval) rows with a verdict per criterion of ``definitions`` (which count
    enrolments), kept only where one of their enrolment criteria holds for the enrolment
    itself; and every enrolment with the verdicts of the criteria about its user alone (the
    same in every interval) and the others false."""
    compiler = tables.compiler
    columns = {c: tables.columns[c] for d in definitions for c in d.criteria}
    facts, fact_names = enrolment_facts(
        compiler, [c for c in columns if c.about_enrolments], tables.keys
    )
    own = [
        handler_for(c, compiler).enrolment_flag(c, facts, fact_names[c], ibis.literal(False))
        for c in fact_names
    ]
    facts = facts.filter(ibis.or_(*own))
    owners = tables.base.rename(_uid="user_id")
    joined = facts.inner_join(owners, facts.user_id == owners._uid)
    verdicts = {
        name: handler_for(c, compiler).enrolment_flag(
            c, joined, fact_names.get(c), joined[name] if c not in fact_names else None
        )
        for c, name in columns.items()
    }
    grouping = {
        name: interval_age_band(joined) if name in AGE_BREAKDOWNS else joined[name]
        for name in tables.user_columns
    }
    flags = joined.select(
        "enrolment_id", "user_id", "service_kind", "sector", INTERVAL, **grouping, **verdicts
    )
    flags = keyed(flags, tables.keys, _rk=("e", "enrolment_id"), _uk=("u", "user_id"))
    flags = materialise(compiler.dataset, flags, "series_enrolments")
    e = compiler.enrolments.select("enrolment_id", "user_id")
    base = tables.base.rename(_uid="user_id")
    everywhere = e.inner_join(base, e.user_id == base._uid)
    in_rows = tables.interval_columns
    everywhere = everywhere.select(
        "enrolment_id",
        "user_id",
        **{
            name: ibis.literal(False) if name in in_rows else everywhere[name]
            for name in columns.values()
        },
    )
    everywhere = keyed(everywhere, tables.keys, _rk=("e", "enrolment_id"), _uk=("u", "user_id"))
    return flags, everywhere


def _people_by_interval(
    flags: ir.Table,
    definitions: Sequence[CountingDefinition],
    names: Mapping[str, list[str]],
    keys: KeyRequest | None,
    n: int,
) -> list[dict[str, int]]:
    """Per interval, the distinct people owning each enrolment definition's counted
    enrolments (and their cell keys)."""
    metrics = {
        f"u{j}": flags.user_id.nunique(where=all_of(flags, names[d.name]))
        for j, d in enumerate(definitions)
    }
    out: list[dict[str, int]] = [dict.fromkeys(metrics, 0) for _ in range(n)]
    for row in flags.group_by(INTERVAL).agg(**metrics).to_pyarrow().to_pylist():
        k = row.pop(INTERVAL)
        out[k].update({name: int(value or 0) for name, value in row.items()})
    if keys is not None:
        for j, d in enumerate(definitions):
            people = flags.filter(all_of(flags, names[d.name])).select(INTERVAL, "user_id", "_uk")
            people = people.distinct()
            summed = people.group_by(INTERVAL).agg(s=people._uk.sum()).to_pyarrow().to_pylist()
            found = {row[INTERVAL]: as_cell_key(row["s"], keys) for row in summed}
            for k in range(n):
                out[k][f"u{j}_key"] = found.get(k, 0)
    return out


def _complete_enrolments(
    tables: SeriesTables, flags: ir.Table, everywhere: ir.Table, k: int
) -> ir.Table:
    """Every enrolment with a verdict per criterion in interval ``k`` (the criteria of the
    definitions counting enrolments; no row there: an enrolment criterion is false)."""
    in_rows = tables.interval_columns
    names = [n for n in everywhere.columns if n in tables.columns.values()]
    mine = flags.filter(flags[INTERVAL] == k)
    mine = mine.select(_fe="enrolment_id", **{f"_f_{n}": mine[n] for n in names if n in in_rows})
    joined = everywhere.left_join(mine, everywhere.enrolment_id == mine._fe)
    return joined.select(
        "enrolment_id",
        "user_id",
        **{n: joined[f"_f_{n}"].fill_null(False) if n in in_rows else joined[n] for n in names},
    )
