"""Rates per population: crude rates, exact Poisson limits and directly standardised rates.

The methods are those of the Fingertips technical guidance and the PHEindicatormethods
package, written here from their published formulas:

- a crude rate ``O / N × per``: Byar's approximation to the exact Poisson limits of the count
  ``O`` (:func:`threeml_integrated_care.stats.byar_interval`), divided by ``N``;
- the exact Poisson limits themselves (the chi-squared method), for comparison at small counts:
  found by bisection on the Poisson distribution function, in plain Python;
- a directly standardised rate (DSR) ``Σ wᵢ Oᵢ/Nᵢ / Σ wᵢ × per`` with Dobson's limits:
  ``DSR + sqrt(var / O) × (O_L − O)`` and likewise with ``O_U``, where ``var = Σ wᵢ² Oᵢ / Nᵢ²
  / (Σ wᵢ)²`` and ``(O_L, O_U)`` are Byar's limits of the total count ``O = Σ Oᵢ``.

Every function works on a handful of aggregated numbers and returns
:class:`~threeml_integrated_care.stats.Estimate` with a reason instead of dividing by zero.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from threeml.metrics.measures import SUPPRESSED, Z95
from threeml_integrated_care.standard_population import StandardPopulation
from threeml_integrated_care.stats import Estimate, byar_interval

__all__ = [
    "MIN_DSR_EVENTS",
    "crude_rate",
    "exact_poisson_interval",
    "poisson_cdf",
    "standardised_rate",
]

#: Fingertips does not publish a directly standardised rate on fewer events than this.
MIN_DSR_EVENTS = 10


def crude_rate(events: int | None, population: float | None, per: float) -> Estimate:
    """``events / population × per`` with Byar's limits."""
    if events is None:
        return Estimate(reason=SUPPRESSED)
    if population is None:
        return Estimate(reason="no population for this group")
    if population <= 0:
        return Estimate(reason="the population is 0")
    low, high = byar_interval(events)
    return Estimate(events / population * per, low / population * per, high / population * per)


def poisson_cdf(count: int, mean: float) -> float:
    """``P(X <= count)`` for a Poisson variable ``X`` of the given mean (summed in log space)."""
    if mean <= 0:
        return 1.0
    log_mean = math.log(mean)
    terms = [i * log_mean - mean - math.lgamma(i + 1) for i in range(count + 1)]
    top = max(terms)
    return min(1.0, math.exp(top) * sum(math.exp(t - top) for t in terms))


def _solve(target: float, count: int, low: float, high: float) -> float:
    """The mean at which ``poisson_cdf(count, mean) == target`` (it falls as the mean grows)."""
    for _ in range(200):
        middle = (low + high) / 2
        if poisson_cdf(count, middle) > target:
            low = middle
        else:
            high = middle
        if high - low <= 1e-12 * max(1.0, high):
            break
    return (low + high) / 2


def exact_poisson_interval(events: int, z: float = Z95) -> tuple[float, float]:
    """The exact (Garwood, chi-squared) two-sided limits of a Poisson count of ``events``.

    ``z`` sets the confidence level as Byar's method does (1.96 for 95%).
    """
    if events < 0:
        raise ValueError(f"a count of events cannot be negative, got {events}")
    tail = (1 - math.erf(z / math.sqrt(2))) / 2  # 0.025 for z = 1.96
    ceiling = events + 20 * math.sqrt(events + 1) + 20
    lower = 0.0 if events == 0 else _solve(1 - tail, events - 1, 0.0, ceiling)
    upper = _solve(tail, events, 0.0, ceiling)
    return lower, upper


def standardised_rate(
    events: Mapping[str, int],
    populations: Mapping[str, float],
    standard: StandardPopulation,
    per: float,
    *,
    minimum_events: int = MIN_DSR_EVENTS,
) -> Estimate:
    """The directly standardised rate of ``events`` by age band, with Dobson's limits.

    ``events`` and ``populations`` are keyed by age band; bands the standard leaves out are
    outside the rate. A band of the standard with no population (or a population of 0) gives
    no rate, with the band named. Fewer than ``minimum_events`` events in the standard's
    bands give no rate either (the Fingertips rule), with the reason stated.
    """
    observed = sum(int(events.get(band, 0)) for band in standard.bands)
    total_weight = standard.total
    missing = [band for band in standard.bands if not populations.get(band)]
    if missing:
        return Estimate(
            reason="no population in age band(s) " + ", ".join(missing) + " of the standard"
        )
    if observed < minimum_events:
        return Estimate(
            reason=f"not published: fewer than {minimum_events} events in the standard's "
            "age bands (Fingertips does not publish a standardised rate on fewer than 10)"
        )
    rate = 0.0
    variance = 0.0
    for band, weight in standard.weights:
        count, population = int(events.get(band, 0)), float(populations[band])
        rate += weight * count / population
        variance += weight * weight * count / (population * population)
    rate /= total_weight
    variance /= total_weight * total_weight
    low_count, high_count = byar_interval(observed)
    spread = math.sqrt(variance / observed) if observed else 0.0
    low = max(0.0, rate + spread * (low_count - observed))
    high = rate + spread * (high_count - observed)
    return Estimate(rate * per, low * per, high * per)
