"""The coverage metrics: users per head of population, crude and age-standardised, and reach.

Import-light, like the other definitions: the measure kinds they name are in
:mod:`threeml_integrated_care.coverage`, loaded when first evaluated.
"""

from __future__ import annotations

from threeml.definitions import Measure, MetricDefinition

__all__ = ["COVERAGE_IN_RECEIPT", "COVERAGE_METRICS", "ELIGIBLE_REACHED"]

VERSION = "1"

_POPULATIONS = (
    "Population: the populations table's rows of the calendar year holding P's midpoint (the "
    "mid-year estimate), of the metric's group (empty = everyone); a row with an empty sex counts "
    "both sexes. Age: the 5-year band of (end year − birth_year) at P's end, 90+ last; users with "
    "no birth_year are counted in the numerator and reported as users_of_unknown_age, never "
    "dropped. Breakdowns by area, sex and birth_year (the age band). Below all areas counts are "
    "published under disclosure control and rates and shares are computed from the published "
    "counts."
)

COVERAGE_IN_RECEIPT = MetricDefinition(
    name="coverage-in-receipt",
    version=VERSION,
    title="Coverage: people in receipt per 1,000 population, crude and age-standardised",
    description=(
        "Crude rate = users / population × 1,000, with Byar's 95% limits. Value: the directly "
        "age-standardised rate Σ w·(users/population) / Σ w × 1,000 over the age bands of the "
        "standard population (the 2013 European Standard Population unless the metric's "
        "standard option gives another as a table of age band = weight), with Dobson's 95% "
        "limits; not published on fewer than 10 users of known age in the standard's bands "
        "(the Fingertips rule), nor, below all areas, for a group smaller than the disclosure "
        "policy's minimum. Numerator: the users (all ages); denominator: the population; value: "
        "the standardised rate (the crude rate is among the details). "
        + _POPULATIONS
        + " Options: per, standard, group, min_events."
    ),
    origin=(
        "Scotland publishes telecare clients per 1,000 population by council; English public "
        "health compares areas by rates standardised to the 2013 European Standard Population."
    ),
    population="in-receipt",
    measure=Measure("coverage", {"per": 1000, "standard": "esp2013"}),
    higher_is_better=True,
)

ELIGIBLE_REACHED = MetricDefinition(
    name="eligible-reached",
    version=VERSION,
    title="Share of the eligible population reached",
    description=(
        "Share = users / the eligible population (the populations rows whose group is "
        "'eligible': the people who could benefit, such as those with long-term conditions or "
        "social-care needs), with Wilson's 95% limits; not_yet_reached = population − users. "
        "The numerator is every user the population definition counts, whatever their group: "
        "choose a definition that matches the group. Numerator: the users; denominator: the "
        "eligible population; value: the share. " + _POPULATIONS + " Option: group."
    ),
    origin="3millionlives: three million of the people who could benefit.",
    population="in-receipt",
    measure=Measure("population-reached", {"group": "eligible"}),
    higher_is_better=True,
)

#: The coverage metrics, in catalogue order.
COVERAGE_METRICS = (COVERAGE_IN_RECEIPT, ELIGIBLE_REACHED)
