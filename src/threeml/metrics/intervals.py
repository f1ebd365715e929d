"""Confidence intervals shared by measure kinds."""

from __future__ import annotations

import math
from statistics import NormalDist

__all__ = ["Z95", "wilson_interval"]

#: The standard normal quantile for a two-sided 95% interval (1.959964…).
Z95 = NormalDist().inv_cdf(0.975)


def wilson_interval(successes: float, trials: float, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for a proportion (95% by default); ``trials`` must be > 0."""
    p = successes / trials
    centre = p + z * z / (2 * trials)
    spread = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    scale = 1 + z * z / trials
    # At 0 and at 1 the exact bound is the end itself; rounding error must not move it.
    low = 0.0 if successes <= 0 else max(0.0, (centre - spread) / scale)
    high = 1.0 if successes >= trials else min(1.0, (centre + spread) / scale)
    return low, high
