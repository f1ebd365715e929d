"""Coverage measure kinds: a population's users per head of the area's population.

Both kinds share one tally:

- the *numerators* come from the engine, as one group-by: the population's users counted by
  area × sex × age band (5-year bands at the period end, from ``birth_year``; ``unknown``
  when it is missing), never per-user rows;
- the *denominators* come from the ``populations`` table: the rows of the calendar year
  holding the period's midpoint, of the chosen ``group`` (empty = everyone), summed in the
  engine by area × sex × age band. A row with an empty ``sex`` counts both sexes; an area
  given only by sex is summed over its sexes.

``coverage`` gives the crude rate per ``per`` people with Byar's limits and the rate
directly standardised to a standard population (the 2013 ESP unless the metric gives
another) with Dobson's limits; ``population-reached`` gives the share of an eligible
population reached, with Wilson's limits. Breakdowns are by ``area``, ``sex`` and
``birth_year`` (the age band): those the populations are given by.

Disclosure control: the counts (users, and users of unknown age) are count cells, so below
all areas they are suppressed or rounded and the crude rate and the share are derived from
the published counts. The standardised rate and its limits are statistics (weighted sums
of many age bands' counts), published only beside a published count of at least the
policy's minimum group size, and never on fewer than 10 events. Populations are public.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from threeml.metrics.measures import (
    COUNT,
    PUBLIC,
    STATISTIC,
    SUPPRESSED,
    MetricContext,
    MetricError,
    MetricRow,
)
from threeml_integrated_care import stats
from threeml_integrated_care.coverage_counts import (
    Key,
    persons,
    population_rows,
    series_user_counts,
    user_columns,
    user_counts,
)
from threeml_integrated_care.options import PER, Option, whole_number
from threeml_integrated_care.rates import MIN_DSR_EVENTS, crude_rate, standardised_rate
from threeml_integrated_care.skeleton import Cell, CellMeasure, Cells, Plan, Tally
from threeml_integrated_care.standard_population import (
    STANDARDS,
    StandardPopulation,
    StandardPopulationError,
)

__all__ = ["BREAKDOWNS", "COVERAGE", "POPULATION_REACHED"]

#: The breakdowns coverage supports, and the position of each in an (area, sex, band) key.
BREAKDOWNS = {"area": 0, "sex": 1, "birth_year": 2}

UNKNOWN = "unknown"

INTERVALS = "crude rate: Byar; standardised rate: Dobson (with Byar's limits of the count)"


def _standard(context: MetricContext, name: str, default: Any) -> StandardPopulation:
    value = context.option(name, default)
    if isinstance(value, str) and value in STANDARDS:
        return STANDARDS[value]
    if isinstance(value, dict):
        try:
            return StandardPopulation.from_table("given", value, "given in the metric's options")
        except StandardPopulationError as error:
            raise MetricError(f"metric {context.metric.name}: option {name}: {error}") from None
    raise MetricError(
        f"metric {context.metric.name}: option {name} must be the name of a standard population "
        f"({', '.join(STANDARDS)}) or a table of age band = weight, not {value!r}"
    )


def _group(context: MetricContext, name: str, default: Any) -> str | None:
    value = context.option(name, default)
    if value is None or value == "":
        return None
    return str(value)


def _prepare(context: MetricContext, plan: Plan) -> Plan:
    unknown = [by for by in context.by if by not in BREAKDOWNS]
    if unknown:
        raise MetricError(
            f"metric {context.metric.name}: coverage cannot be broken down by "
            f"{', '.join(unknown)}; populations are given by {', '.join(BREAKDOWNS)} "
            "(birth_year gives the age band)"
        )
    period = context.period
    midpoint = period.start + timedelta(days=(period.end - period.start).days // 2)
    return {
        **plan,
        "year": midpoint.year,
        "midpoint": midpoint.isoformat(),
        "population": context.population.definition.name,
        "group_label": plan["group"] or "everyone",
        "standard_name": plan["standard"].name,
    }


def _tally(context: MetricContext, plan: Plan) -> Tally:
    counts = user_counts(context)
    populations = persons(population_rows(context, plan))
    standard: StandardPopulation = plan["standard"]
    per, minimum = plan.get("per", 1000), plan["min_events"]

    def cells_for(
        counted: Iterable[tuple[Key, int]],
        living: Iterable[tuple[Key, int]],
        by_sex: bool,
        band: str | None = None,
    ) -> Cells:
        events: dict[str, int] = defaultdict(int)
        for key, n in counted:
            events[key[2]] += n
        bands: dict[str, int] = defaultdict(int)
        for key, p in living:
            if (key[1] is not None) == by_sex:
                bands[key[2]] += p
        people = sum(events.values())
        unknown = events.pop(UNKNOWN, 0)
        population = sum(bands.values()) if bands else None
        within = standard if band is None else _one_band(standard, band)
        in_standard = 0 if within is None else sum(events.get(b, 0) for b in within.bands)
        dsr = stats.Estimate(reason="the age is unknown, so there is no age band to standardise")
        if within is not None and in_standard >= minimum:
            dsr = standardised_rate(events, bands, within, per, minimum_events=minimum)
        elif within is not None:
            dsr = stats.Estimate()  # the reason is stated from the published count (derive)
        return {
            "people": people,
            "unknown_age": unknown,
            "standard_events": in_standard,
            "population": population,
            "dsr": dsr.value,
            "dsr_low": dsr.ci_low,
            "dsr_high": dsr.ci_high,
            "dsr_reason": dsr.reason,
        }

    total = cells_for(counts, populations.items(), False)
    groups: dict[str, list[tuple[Any, Cells]]] = {}
    for by in context.by:
        index = BREAKDOWNS[by]
        counted = _partition(counts, index)
        living = _partition(populations.items(), index)
        values = set(counted) | (set(living) if by != "sex" else set())
        rows = []
        for value in sorted(values, key=lambda v: (v is None, str(v))):
            cells = cells_for(
                counted.get(value, ()),
                living.get(value, ()),
                by == "sex",
                value if by == "birth_year" else None,
            )
            rows.append((UNKNOWN if value is None else value, cells))
        groups[by] = rows
    missing = sorted({key[0] for key, _ in counts} - {key[0] for key in populations})
    details: dict[str, Any] = {
        "population_year": plan["year"],
        "population_group": plan["group_label"],
    }
    if plan["kind"] == "coverage":
        details["standard_population"] = standard.describe()
        details["interval_method"] = INTERVALS
    else:
        details["interval_method"] = "share: Wilson score"
    details["areas_without_population"] = missing
    return Tally(total, groups, details)


def _partition(items: Iterable[tuple[Key, int]], index: int) -> dict[Any, list[tuple[Key, int]]]:
    """``items`` split by the part ``index`` of their key (area, sex or age band): each
    group's items read once, not every item once per group."""
    parts: dict[Any, list[tuple[Key, int]]] = defaultdict(list)
    for key, value in items:
        parts[key[index]].append((key, value))
    return parts


def _one_band(standard: StandardPopulation, band: str) -> StandardPopulation | None:
    """The standard restricted to one age band (a band's standardised rate is its own rate)."""
    weight = dict(standard.weights).get(band)
    return None if weight is None else StandardPopulation(standard.name, {band: weight})


def _unknown_note(cells: Cells) -> dict[str, Any]:
    return {"users_of_unknown_age": cells["unknown_age"]}


def _derive_coverage(plan: Plan, cells: Cells) -> MetricRow:
    people, population = cells["people"], cells["population"]
    crude = crude_rate(people, population, plan["per"])
    details: dict[str, Any] = {
        "crude_rate": {"rate": crude.value, "ci_low": crude.ci_low, "ci_high": crude.ci_high},
        **_unknown_note(cells),
    }
    if crude.reason:
        details["crude_rate"]["reason"] = crude.reason
    if cells["dsr"] is not None:
        return MetricRow(
            numerator=people,
            denominator=population,
            value=cells["dsr"],
            ci_low=cells["dsr_low"],
            ci_high=cells["dsr_high"],
            details=details,
        )
    reason = cells["dsr_reason"] or SUPPRESSED
    events = cells["standard_events"]
    if people is None or events is None:
        reason = SUPPRESSED
    elif population is None:
        reason = "no population for this group in the populations table"
    elif events < plan["min_events"] and cells["dsr_reason"] is None:
        reason = (
            f"not published: fewer than {plan['min_events']} events in the standard's age "
            "bands (Fingertips publishes no standardised rate on fewer than 10)"
        )
    elif cells["dsr_reason"] is None:
        reason = (
            "standardised rate withheld by disclosure control: the group is smaller than the "
            "policy's minimum for a statistic"
        )
    return MetricRow(numerator=people, denominator=population, reason=reason, details=details)


def _derive_reached(plan: Plan, cells: Cells) -> MetricRow:
    people, population = cells["people"], cells["population"]
    if population is None and people is not None:
        return MetricRow(
            numerator=people,
            reason=f"no {plan['group_label']} population for this group",
            details=_unknown_note(cells),
        )
    share = stats.proportion(people, population, "the eligible population is 0")
    details: dict[str, Any] = {
        **_unknown_note(cells),
        "not_yet_reached": None
        if people is None or population is None
        else max(0, population - people),
    }
    return MetricRow(
        numerator=people,
        denominator=population,
        value=share.value,
        ci_low=share.ci_low,
        ci_high=share.ci_high,
        reason=share.reason,
        details=details,
    )


_CELLS = {
    "people": Cell(COUNT),
    "unknown_age": Cell(COUNT),
    "standard_events": Cell(COUNT),
    "population": Cell(PUBLIC),
    "dsr": Cell(STATISTIC),
    "dsr_low": Cell(STATISTIC),
    "dsr_high": Cell(STATISTIC),
    "dsr_reason": Cell(PUBLIC),
}

_OPTIONS = (
    Option("group", None, _group),
    Option("standard", "esp2013", _standard),
    Option("min_events", MIN_DSR_EVENTS, whole_number),
)


def _kind(kind: str) -> Callable[[MetricContext, Plan], Plan]:
    return lambda context, plan: _prepare(context, {**plan, "kind": kind})


#: Users per ``per`` people of the area's population: crude (Byar) and standardised (Dobson).
#:
#: Options: ``per`` (1000), ``standard`` (``esp2013`` or a table of age band = weight),
#: ``group`` (a sub-population of the populations table; empty = everyone), ``min_events``
#: (10: no standardised rate on fewer events).
COVERAGE = CellMeasure(
    kind="coverage",
    options=(PER, *_OPTIONS),
    prepare=_kind("coverage"),
    tally=_tally,
    series_prepare=series_user_counts,
    needs=user_columns,
    cells=_CELLS,
    derive=_derive_coverage,
    parents={"unknown_age": "people", "standard_events": "people"},
    labels={
        "numerator": "people counted by {population} (all ages, including unknown)",
        "denominator": "{group_label}: mid-year population of {year}",
        "value": "age-standardised rate per {per:,} ({standard_name}, Dobson limits)",
    },
)

#: The share of an eligible population reached (Wilson limits), and how many are not yet.
#:
#: Options: ``group`` (``eligible``: the sub-population of the populations table).
POPULATION_REACHED = CellMeasure(
    kind="population-reached",
    options=(Option("group", "eligible", _group), *_OPTIONS[1:]),
    prepare=_kind("population-reached"),
    tally=_tally,
    series_prepare=series_user_counts,
    needs=user_columns,
    cells=_CELLS,
    derive=_derive_reached,
    parents={"unknown_age": "people", "standard_events": "people"},
    labels={
        "numerator": "people counted by {population}",
        "denominator": "the {group_label} population of {year}",
        "value": "share of the {group_label} population reached (Wilson limits)",
    },
)
