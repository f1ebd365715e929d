"""A hostile reader of published outputs, written apart from the audit it checks.

It sees what one output publishes (a count's or a report's JSON) and the policy,
and is told (more than a real reader knows) which suppressed cells the threshold
suppressed. For every suppressed or rounded cell it computes the range of values
consistent with everything published, by one linear programme per bound solved
from scratch with HiGHS (:func:`lp_ranges`), or by enumerating whole numbers for
small tables (:func:`integer_ranges`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

#: Breakdowns whose groups share out the total (one group per unit).
PARTITIONS = ("area", "sex")


def prior(policy: Any, published: int | None, primary: bool) -> tuple[float, float]:
    """What the reader knows of one cell from the policy and its published form."""
    if published is None:
        return (1.0, float(policy.threshold)) if primary else (0.0, math.inf)
    base = policy.rounding
    if base <= 1 or published == 0:
        return (float(published), float(published))
    # v rounds half up to published: published - base/2 <= v < published + base/2
    low = math.ceil(published - base / 2)
    high = math.ceil(published + base / 2) - 1
    return float(max(low, policy.threshold + 1)), float(high)


def lp_ranges(
    total: float | tuple[float, float], cells: Sequence[tuple[float, float]]
) -> list[tuple[float, float]]:
    """Each cell's range when the cells add up to ``total`` (a figure, or the range a rounded
    or suppressed total allows): two fresh LPs per cell."""
    low_total, high_total = total if isinstance(total, tuple) else (total, total)
    import highspy
    import numpy as np

    out = []
    n = len(cells)
    for target in range(n):
        bounds = []
        for sense in (highspy.ObjSense.kMinimize, highspy.ObjSense.kMaximize):
            highs = highspy.Highs()
            highs.setOptionValue("output_flag", False)
            inf = highspy.kHighsInf
            lows = np.array([low for low, _ in cells], dtype=np.float64)
            highs_ = np.array([min(high, inf) for _, high in cells], dtype=np.float64)
            highs.addVars(n, lows, highs_)
            highs.addRow(
                low_total,
                min(high_total, inf),
                n,
                np.arange(n, dtype=np.int32),
                np.ones(n, dtype=np.float64),
            )
            highs.changeColCost(target, 1.0)
            highs.changeObjectiveSense(sense)
            highs.run()
            status = highs.getModelStatus()
            if status == highspy.HighsModelStatus.kUnbounded:
                bounds.append(math.inf)
            else:
                assert status == highspy.HighsModelStatus.kOptimal, status
                bounds.append(highs.getInfo().objective_function_value)
        out.append((bounds[0], bounds[1]))
    return out


def integer_ranges(total: int, cells: Sequence[tuple[float, float]]) -> list[tuple[int, int]]:
    """Each cell's range in whole numbers, by enumerating every assignment (small tables)."""
    choices = [range(int(low), int(min(high, total)) + 1) for low, high in cells]
    seen: list[set[int]] = [set() for _ in cells]
    for values in itertools.product(*choices):
        if sum(values) == total:
            for i, value in enumerate(values):
                seen[i].add(value)
    return [(min(found), max(found)) for found in seen]


def narrowed(low: float, high: float) -> float:
    """How many whole values apart the ends of a range are."""
    if math.isinf(high):
        return math.inf
    return math.floor(high + 1e-6) - math.ceil(low - 1e-6)


def count_attack(
    published: Mapping[str, Any],
    policy: Any,
    primary: Mapping[str, set[Any]],
    partitions: Sequence[str] = PARTITIONS,
) -> dict[tuple[str, Any], tuple[float, float]]:
    """The range of every suppressed or rounded cell of one published count (its JSON).

    ``primary`` names, per breakdown, the groups the threshold suppressed.
    """
    ranges = {}
    # A total published beside suppressed cells went through the policy too (documented), so
    # the reader knows it only to within its rounding, or not at all when it is suppressed.
    beside = any(
        cell["count"] is None for cells in published["breakdown"].values() for cell in cells
    )
    total = published["count"]
    if total is None:
        total = (0.0, math.inf)
    elif beside:
        total = prior(policy, total, False)
    for name, cells in published["breakdown"].items():
        if name not in partitions or not cells:
            continue
        priors = [
            prior(policy, cell["count"], cell["group"] in primary.get(name, set()))
            for cell in cells
        ]
        found = lp_ranges(total, priors)
        for cell, before, after in zip(cells, priors, found, strict=True):
            if before[0] != before[1]:
                ranges[(name, cell["group"])] = after
    return ranges


def report_attack(
    data: Mapping[str, Any], policy: Any, primary: Mapping[tuple[str, str], set[Any]]
) -> dict[tuple[str, str, Any], tuple[float, float]]:
    """The same for every definition of a published report (its ``results.json``)."""
    ranges = {}
    for definition in data["definitions"]:
        as_count = {"count": definition["count"], "breakdown": definition["breakdowns"]}
        found = count_attack(
            as_count,
            policy,
            {b: primary.get((definition["name"], b), set()) for b in definition["breakdowns"]},
        )
        ranges.update({(definition["name"], *key): value for key, value in found.items()})
    return ranges
