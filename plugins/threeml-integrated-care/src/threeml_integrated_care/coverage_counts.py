"""What coverage counts: the population's users, and the populations table, by (area, sex,
age band).

Both are read once per evaluation: the intervals of a series count every interval's users in
one group-by (:func:`series_user_counts`, the kinds' ``series_prepare``), and the metrics and
intervals of one evaluation share the populations of a year and group (kept on the
:class:`~threeml.metrics.session.MetricSession`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from threeml.metrics.measures import MetricContext, MetricError, PopulationNeeds
from threeml_integrated_care.skeleton import Plan

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from threeml.data import Dataset
    from threeml.definitions import MetricDefinition
    from threeml.records.periods import Period

__all__ = [
    "COLUMNS",
    "Key",
    "persons",
    "population_rows",
    "series_user_counts",
    "user_columns",
    "user_counts",
]

#: A group of users or of the population: (area, sex, age band).
Key = tuple[Any, Any, str]


#: The users columns coverage reads of each member.
COLUMNS = ("area", "sex", "birth_year")


def user_columns(
    metric: MetricDefinition, dataset: Dataset, period: Period, options: Mapping[str, Any]
) -> PopulationNeeds:
    """The users columns coverage reads of its members, kept with the stored members by the
    populations' one pass (so counting them joins no users table)."""
    return PopulationNeeds(columns=COLUMNS)


def _keyed_members(context: MetricContext) -> ir.Table:
    """The population's members by (area, sex, age band at the period's end)."""
    from threeml.engine.breakdowns import age_band  # the engine: only when evaluated

    members = context.members_with(COLUMNS)
    return members.select(
        area=members.area, sex=members.sex, band=age_band(members, context.period)
    )


def _users_key(context: MetricContext) -> tuple[Any, ...]:
    return ("coverage-users", context.population.definition.name, context.period)


def user_counts(context: MetricContext) -> list[tuple[Key, int]]:
    """The population's users by (area, sex, age band), counted in the engine once per
    evaluation (or read from the series' count of every interval,
    :func:`series_user_counts`)."""
    session = context.session
    if session is not None and _users_key(context) in session.values:
        return session.values[_users_key(context)]
    keyed = _keyed_members(context)
    rows = keyed.group_by(["area", "sex", "band"]).aggregate(n=keyed.count())
    found = [
        ((row["area"], row["sex"], row["band"]), int(row["n"]))
        for row in rows.to_pyarrow().to_pylist()
    ]
    if session is not None:  # the evaluation's other coverage metrics of this population
        session.values[_users_key(context)] = found
    return found


def series_user_counts(contexts: Sequence[MetricContext], options: Sequence[Plan]) -> None:
    """Over a series: every interval's users by (area, sex, age band at the interval's end) in
    one join of the series' members (stored once for the series) with the users."""
    from threeml.engine.breakdowns import age_band_in
    from threeml.metrics.interval_cells import INTERVAL, intervals_of_runs, member_runs
    from threeml_integrated_care.series_facts import series_members

    session = contexts[0].session
    assert session is not None
    if all(_users_key(c) in session.values for c in contexts):
        return
    users = contexts[0].table("users").select("area", "sex", "birth_year", _uu="user_id")
    runs = member_runs(contexts)
    if runs is not None:
        # Counted per (run, area, sex, birth year) first: those rows, spread over the
        # intervals their runs hold, are few; no row per (member, interval).
        r = runs.inner_join(users, runs.user_id == users._uu)
        per_run = r.group_by(["_i", "_t", "area", "sex", "birth_year"]).aggregate(_n=r.count())
        j = intervals_of_runs(per_run, contexts)
    else:
        m = series_members(contexts)
        j = m.inner_join(users, m.user_id == users._uu)
    keyed = j.select(
        _k=j[INTERVAL],
        area=j.area,
        sex=j.sex,
        band=age_band_in(j.birth_year, j._end.year()),
        **({"_n": j._n} if runs is not None else {}),
    )
    counted = keyed._n.sum() if runs is not None else keyed.count()
    rows = keyed.group_by(["_k", "area", "sex", "band"]).aggregate(n=counted)
    found: list[list[tuple[Key, int]]] = [[] for _ in contexts]
    for row in rows.to_pyarrow().to_pylist():
        found[row["_k"]].append(((row["area"], row["sex"], row["band"]), int(row["n"])))
    for context, counts in zip(contexts, found, strict=True):
        session.values.setdefault(_users_key(context), counts)


def population_rows(context: MetricContext, plan: Plan) -> list[tuple[Key, int]]:
    """The populations of the plan's year and group by (area, sex, age band), summed. Every
    group's rows of a year are read in one query, once per evaluation: the intervals of a
    series and the metrics of one (coverage of everyone, the share of the eligible reached)
    share them."""
    key = ("coverage-populations", plan["year"])
    session = context.session
    groups = session.values.get(key) if session is not None else None
    if groups is None:
        groups = _year_rows(context, plan["year"])
        if session is not None:
            session.values[key] = groups
    found = groups.get(plan["group"])
    if not found:
        _refuse(context, plan)
    return found or []


def _year_rows(context: MetricContext, year: int) -> dict[Any, list[tuple[Key, int]]]:
    """Every group's populations of ``year`` by (area, sex, age band), summed, by group."""
    t = context.table("populations")
    rows = t.filter(t.year == year)
    summed = rows.group_by(["group", "area", "sex", "age_band"]).aggregate(p=rows.population.sum())
    groups: dict[Any, list[tuple[Key, int]]] = {}
    for row in summed.to_pyarrow().to_pylist():
        key = (row["area"], row["sex"], row["age_band"])
        groups.setdefault(row["group"], []).append((key, int(row["p"])))
    return groups


def _refuse(context: MetricContext, plan: Plan) -> None:
    """Say why the populations table has no rows for the plan's year and group."""
    t = context.table("populations")
    name, year, group = context.metric.name, plan["year"], plan["group"]
    chosen = t.filter(t.group.isnull() if group is None else t.group == group)
    years = sorted(row["year"] for row in chosen.select("year").distinct().to_pyarrow().to_pylist())
    if not years:
        where = "everyone (an empty group)" if group is None else f"group {group!r}"
        raise MetricError(
            f"metric {name}: the dataset's populations table has no rows for {where}; coverage "
            "needs a populations table (populations.csv: area, year, age_band, sex, population, "
            "group) giving the population of each area by age band"
        )
    raise MetricError(
        f"metric {name}: the populations table has no rows for {year}, the calendar year "
        f"holding the period's midpoint ({plan['midpoint']}); it has "
        f"{', '.join(map(str, years))}"
    )


def persons(rows: list[tuple[tuple[Any, Any, str], int]]) -> dict[tuple[Any, Any, str], int]:
    """Populations by (area, sex, band) with ``sex`` None for both sexes, filled in per area."""
    both = {key: value for key, value in rows if key[1] is None}
    areas_with_both = {key[0] for key in both}
    out = dict(rows)
    for (area, sex, band), value in rows:
        if sex is not None and area not in areas_with_both:
            key = (area, None, band)
            out[key] = out.get(key, 0) + value
    return out
