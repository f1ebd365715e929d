"""The reference evaluation of the coverage measures: plain Python over plain rows.

The oracle of the differential tests (``tests/test_coverage_reference.py``), written from
the rules in DESIGN.md ("Coverage") and :mod:`threeml_integrated_care.coverage`'s docstring,
person by person and row by row, sharing nothing with the engine's tally but the statistics
(:func:`~threeml_integrated_care.rates.crude_rate` and
:func:`~threeml_integrated_care.rates.standardised_rate`, pinned by worked examples and a
published one of their own):

- a user's age band is ``end.year - birth_year`` at the period end in 5-year bands, ``90+``
  at the top, ``unknown`` when ``birth_year`` is empty (or after the period's end);
- the population is that of the calendar year holding the period's midpoint, of the chosen
  ``group`` (``None``: the rows with an empty group); a row with an empty ``sex`` counts both
  sexes, and an area given only by sex counts the sum of its sexes;
- each group's crude rate counts every member (unknown ages included); its standardised rate
  weights the age-specific rates of the standard's bands, and is given only on at least
  ``minimum_events`` members in those bands.

Not for production: it reads every user's row in Python. Raw figures, before disclosure control.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from attrs import frozen

from threeml.records.periods import Period
from threeml_integrated_care.rates import MIN_DSR_EVENTS, crude_rate, standardised_rate
from threeml_integrated_care.standard_population import ESP2013, StandardPopulation
from threeml_integrated_care.stats import Estimate

__all__ = ["ReferenceCoverage", "reference_age_band", "reference_coverage"]

UNKNOWN = "unknown"

#: The users column each breakdown groups by (``birth_year`` groups by the age band).
_COLUMNS = {"area": "area", "sex": "sex", "birth_year": "band"}


@frozen
class ReferenceCoverage:
    """One group's figures: members, of unknown age, population, crude and standardised rates."""

    people: int
    unknown_age: int
    population: int | None
    crude: Estimate
    standardised: Estimate


def reference_age_band(birth_year: int | None, end: date) -> str:
    """The 5-year age band at ``end`` (``90+`` at the top; ``unknown`` without a birth year)."""
    if birth_year is None:
        return UNKNOWN
    age = end.year - birth_year
    if age < 0:
        return UNKNOWN
    if age >= 90:
        return "90+"
    low = age - age % 5
    return f"{low}-{low + 4}"


def _population_year(period: Period) -> int:
    return (period.start + timedelta(days=(period.end - period.start).days // 2)).year


def _populations(
    rows: Iterable[Mapping[str, Any]], year: int, group: str | None
) -> list[Mapping[str, Any]]:
    return [r for r in rows if r["year"] == year and r.get("group") == group]


def _people_by_band(
    rows: Sequence[Mapping[str, Any]], area: Any = None, sex: Any = None, by_sex: bool = False
) -> dict[str, int]:
    """Population by age band of the rows of ``area`` (``None``: every area) and, ``by_sex``,
    of ``sex``; otherwise both sexes: an area's empty-sex rows, or the sum of its sexed ones."""
    bands: dict[str, int] = {}
    areas = {r["area"] for r in rows} if area is None else {area}
    for name in areas:
        mine = [r for r in rows if r["area"] == name]
        if by_sex:
            chosen = [r for r in mine if r.get("sex") is not None and r["sex"] == sex]
        else:
            both = [r for r in mine if r.get("sex") is None]
            chosen = both or [r for r in mine if r.get("sex") is not None]
        for r in chosen:
            bands[r["age_band"]] = bands.get(r["age_band"], 0) + int(r["population"])
    return bands


def _figures(
    members: Sequence[Mapping[str, Any]],
    bands: Mapping[str, int],
    standard: StandardPopulation | None,
    per: float,
    minimum_events: int,
) -> ReferenceCoverage:
    events: dict[str, int] = {}
    for person in members:
        events[person["band"]] = events.get(person["band"], 0) + 1
    people = len(members)
    unknown = events.pop(UNKNOWN, 0)
    population = sum(bands.values()) if bands else None
    crude = crude_rate(people, population, per)
    dsr = Estimate()
    if standard is not None:
        in_standard = sum(events.get(band, 0) for band in standard.bands)
        if in_standard >= minimum_events:
            dsr = standardised_rate(events, bands, standard, per, minimum_events=minimum_events)
    return ReferenceCoverage(people, unknown, population, crude, dsr)


def reference_coverage(
    users: Iterable[Mapping[str, Any]],
    members: Iterable[str],
    populations: Iterable[Mapping[str, Any]],
    period: Period,
    *,
    by: str | None = None,
    standard: StandardPopulation = ESP2013,
    per: float = 1000,
    group: str | None = None,
    minimum_events: int = MIN_DSR_EVENTS,
) -> dict[Any, ReferenceCoverage]:
    """Coverage of ``members`` (user ids) in total (key ``None``), or by ``by`` (``area``,
    ``sex`` or ``birth_year``: the age band), keyed by group (``unknown`` for an empty one).

    ``users`` and ``populations`` are rows as dicts (the tables' columns). A breakdown by
    area or age band has a group for every value of the members or the populations; one by sex
    a group for every value of the members. An age band's standardised rate is its own rate
    (the standard restricted to that band), and ``unknown`` has none.
    """
    chosen = set(members)
    people = [
        {**row, "band": reference_age_band(row.get("birth_year"), period.end)}
        for row in users
        if row["user_id"] in chosen
    ]
    rows = _populations(populations, _population_year(period), group)
    if by is None:
        return {None: _figures(people, _people_by_band(rows), standard, per, minimum_events)}
    column = _COLUMNS[by]
    values = {person[column] for person in people}
    if by == "area":
        values |= {r["area"] for r in rows}
    elif by == "birth_year":
        values |= {r["age_band"] for r in rows}
    out: dict[Any, ReferenceCoverage] = {}
    for value in values:
        mine = [person for person in people if person[column] == value]
        if by == "area":
            bands = _people_by_band(rows, area=value)
            within: StandardPopulation | None = standard
        elif by == "sex":
            bands = _people_by_band(rows, sex=value, by_sex=True)
            within = standard
        else:
            bands = {b: n for b, n in _people_by_band(rows).items() if b == value}
            weight = dict(standard.weights).get(value)
            within = None if weight is None else StandardPopulation(standard.name, {value: weight})
        key = UNKNOWN if value is None else value
        out[key] = _figures(mine, bands, within, per, minimum_events)
    return out
