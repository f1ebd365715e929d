"""Intervals and ratios, in plain Python on a handful of aggregated numbers.

Every function takes counts that may be ``None`` (withheld by disclosure
control) or zero, and returns ``None`` with a reason rather than dividing by
zero. The methods are the ones English public-health statistics use:

- a proportion: Wilson score interval;
- a count of events (a rate's numerator): Byar's approximation to the exact
  Poisson interval;
- an odds ratio: Woolf's interval, on the log scale;
- a ratio of two rates or risks: the usual interval on the log scale;
- a difference of two proportions: the Wald interval.

All intervals are 95% (``z = 1.959964``).
"""

from __future__ import annotations

import math

from attrs import frozen

from threeml.metrics.measures import SUPPRESSED, Z95, wilson_interval

__all__ = [
    "Estimate",
    "byar_interval",
    "odds_ratio",
    "proportion",
    "rate",
    "rate_ratio",
    "ratio",
    "risk_difference",
    "risk_ratio",
]


@frozen
class Estimate:
    """A figure with its 95% interval, or ``None`` and the reason it cannot be given."""

    value: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, float | str | None]:
        return {
            "value": self.value,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "reason": self.reason,
        }


def _missing(*values: float | None) -> bool:
    return any(v is None for v in values)


def ratio(numerator: float | None, denominator: float | None, empty: str) -> Estimate:
    """``numerator / denominator`` with no interval; ``empty`` is the reason for a zero."""
    if numerator is None or denominator is None:
        return Estimate(reason=SUPPRESSED)
    if denominator == 0:
        return Estimate(reason=empty)
    return Estimate(numerator / denominator)


def proportion(successes: int | None, trials: int | None, empty: str) -> Estimate:
    """A proportion with its Wilson interval."""
    if successes is None or trials is None:
        return Estimate(reason=SUPPRESSED)
    if trials == 0:
        return Estimate(reason=empty)
    shown = min(successes, trials)  # rounded figures can cross; a share cannot
    low, high = wilson_interval(shown, trials)
    return Estimate(shown / trials, low, high)


def byar_interval(events: float, z: float = Z95) -> tuple[float, float]:
    """Byar's 95% interval for a Poisson count of ``events`` (0 gives a lower limit of 0)."""
    if events <= 0:
        upper = 1.0 * (1 - 1 / 9 + z / 3) ** 3
        return 0.0, upper
    lower = events * (1 - 1 / (9 * events) - z / (3 * math.sqrt(events))) ** 3
    later = events + 1
    upper = later * (1 - 1 / (9 * later) + z / (3 * math.sqrt(later))) ** 3
    return max(0.0, lower), upper


def rate(events: int | None, exposure: float | None, per: float, empty: str) -> Estimate:
    """``events / exposure × per`` with Byar's interval on the events."""
    if events is None or exposure is None:
        return Estimate(reason=SUPPRESSED)
    if exposure <= 0:
        return Estimate(reason=empty)
    low, high = byar_interval(events)
    return Estimate(events / exposure * per, low / exposure * per, high / exposure * per)


def _log_interval(value: float, variance: float, z: float = Z95) -> tuple[float, float]:
    spread = z * math.sqrt(variance)
    return math.exp(math.log(value) - spread), math.exp(math.log(value) + spread)


def odds_ratio(
    a: int | None, n1: int | None, c: int | None, n0: int | None, *, first: str, second: str
) -> Estimate:
    """The odds of the outcome in the first group over the second, with Woolf's interval.

    ``a`` of ``n1`` in the first group and ``c`` of ``n0`` in the second had the
    outcome. Woolf's interval is ``exp(ln OR ± z·√(1/a + 1/b + 1/c + 1/d))``;
    with a zero cell it is undefined and left out (no continuity correction).
    """
    if _missing(a, n1, c, n0):
        return Estimate(reason=SUPPRESSED)
    assert a is not None and n1 is not None and c is not None and n0 is not None
    if n1 == 0 or n0 == 0:
        empty = first if n1 == 0 else second
        return Estimate(reason=f"the {empty} arm is empty")
    a, c = min(a, n1), min(c, n0)
    b, d = n1 - a, n0 - c
    if b * c == 0:
        why = (
            f"no one in the {second} arm had the outcome"
            if c == 0
            else f"everyone in the {first} arm had the outcome"
        )
        return Estimate(reason=f"the odds ratio is undefined: {why}")
    value = (a * d) / (b * c)
    if a * d == 0:
        return Estimate(
            value,
            reason="a cell of the 2×2 table is zero, so Woolf's interval is undefined",
        )
    low, high = _log_interval(value, 1 / a + 1 / b + 1 / c + 1 / d)
    return Estimate(value, low, high)


def risk_difference(
    a: int | None, n1: int | None, c: int | None, n0: int | None, *, first: str, second: str
) -> Estimate:
    """``a/n1 − c/n0`` with the Wald interval."""
    if _missing(a, n1, c, n0):
        return Estimate(reason=SUPPRESSED)
    assert a is not None and n1 is not None and c is not None and n0 is not None
    if n1 == 0 or n0 == 0:
        return Estimate(reason=f"the {first if n1 == 0 else second} arm is empty")
    p1, p0 = min(a, n1) / n1, min(c, n0) / n0
    spread = Z95 * math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    return Estimate(p1 - p0, p1 - p0 - spread, p1 - p0 + spread)


def risk_ratio(
    a: int | None, n1: int | None, c: int | None, n0: int | None, *, first: str, second: str
) -> Estimate:
    """``(a/n1) / (c/n0)`` with the interval ``exp(ln RR ± z·√(1/a − 1/n1 + 1/c − 1/n0))``."""
    if _missing(a, n1, c, n0):
        return Estimate(reason=SUPPRESSED)
    assert a is not None and n1 is not None and c is not None and n0 is not None
    if n1 == 0 or n0 == 0:
        return Estimate(reason=f"the {first if n1 == 0 else second} arm is empty")
    a, c = min(a, n1), min(c, n0)
    if c == 0:
        return Estimate(reason=f"the risk ratio is undefined: no one in the {second} arm had it")
    value = (a / n1) / (c / n0)
    if a == 0:
        return Estimate(value, reason=f"no one in the {first} arm had it, so no interval")
    low, high = _log_interval(value, 1 / a - 1 / n1 + 1 / c - 1 / n0)
    return Estimate(value, low, high)


def rate_ratio(
    e1: int | None,
    x1: float | None,
    e0: int | None,
    x0: float | None,
    *,
    first: str,
    second: str,
) -> Estimate:
    """``(e1/x1) / (e0/x0)`` with the interval ``exp(ln RR ± z·√(1/e1 + 1/e0))``.

    ``e`` are event counts and ``x`` their exposures (person-years, or people
    for events per head).
    """
    if _missing(e1, x1, e0, x0):
        return Estimate(reason=SUPPRESSED)
    assert e1 is not None and x1 is not None and e0 is not None and x0 is not None
    if x1 <= 0 or x0 <= 0:
        return Estimate(reason=f"there is no exposure in the {first if x1 <= 0 else second}")
    if e0 == 0:
        return Estimate(reason=f"the rate ratio is undefined: there are no events in the {second}")
    value = (e1 / x1) / (e0 / x0)
    if e1 == 0:
        return Estimate(value, reason=f"there are no events in the {first}, so no interval")
    low, high = _log_interval(value, 1 / e1 + 1 / e0)
    return Estimate(value, low, high)
