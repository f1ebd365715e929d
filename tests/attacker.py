"""A hostile reader of published outputs, written apart from the audit it checks.

It sees what one output publishes (a count's or a report's JSON) and the policy,
and is told (more than a real reader knows) which suppressed cells the threshold
suppressed. For every suppressed or rounded cell it computes the range of values
consistent with everything published, by one linear programme per bound solved
from scratch with HiGHS (:func:`lp_ranges`), or by enumerating whole numbers for
small tables (:func:`integer_ranges`).

Route 5 (differencing) takes several outputs at once (:func:`differencing_attack`): two
periods, or two definitions, where one's people are among the other's group by group.
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
    # A total published beside a breakdown (under the policy's ``totals`` rule: any
    # breakdown, or one with suppressed cells) went through the policy too (documented), so
    # the reader knows it only to within its rounding, or not at all when it is suppressed.
    beside = any(
        cell["count"] is None for cells in published["breakdown"].values() for cell in cells
    )
    rounded = policy.rounds_totals(bool(published["breakdown"]), beside)
    total = published["count"]
    if total is None:
        total = (0.0, math.inf)
    elif rounded:
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


# Route 5: differencing two outputs.


def lp_solve(
    bounds: Mapping[Any, tuple[float, float]],
    rows: Sequence[tuple[Mapping[Any, float], float, float]],
    targets: Sequence[Any],
) -> dict[Any, tuple[float, float]]:
    """The smallest and largest value of each target over ``lower <= sum(a * x) <= upper``
    for every row, each variable in its bounds: two fresh HiGHS models per target."""
    import highspy
    import numpy as np

    names = list(bounds)
    column = {name: i for i, name in enumerate(names)}
    inf = highspy.kHighsInf
    out = {}
    for target in targets:
        found = []
        for sense in (highspy.ObjSense.kMinimize, highspy.ObjSense.kMaximize):
            highs = highspy.Highs()
            highs.setOptionValue("output_flag", False)
            lows = np.array([max(bounds[n][0], -inf) for n in names], dtype=np.float64)
            highs_ = np.array([min(bounds[n][1], inf) for n in names], dtype=np.float64)
            highs.addVars(len(names), lows, highs_)
            for coefficients, lower, upper in rows:
                highs.addRow(
                    max(lower, -inf),
                    min(upper, inf),
                    len(coefficients),
                    np.array([column[k] for k in coefficients], dtype=np.int32),
                    np.array(list(coefficients.values()), dtype=np.float64),
                )
            highs.changeColCost(column[target], 1.0)
            highs.changeObjectiveSense(sense)
            highs.run()
            status = highs.getModelStatus()
            if status == highspy.HighsModelStatus.kUnbounded:
                found.append(-math.inf if sense == highspy.ObjSense.kMinimize else math.inf)
            else:
                assert status == highspy.HighsModelStatus.kOptimal, status
                found.append(highs.getInfo().objective_function_value)
        out[target] = (found[0], found[1])
    return out


def differencing_attack(
    outputs: Sequence[Mapping[str, Any]],
    policy: Any,
    primary: Sequence[Mapping[str, set[Any]]],
    *,
    totals_rounded: Sequence[bool],
    inside: Sequence[tuple[int, int]],
    partitions: Sequence[str] = PARTITIONS,
) -> dict[tuple[int, str, Any], tuple[float, float]]:
    """The range of every suppressed or rounded cell of several published counts together.

    ``outputs`` are published counts (their JSON) of the same breakdowns, for two periods
    or two definitions; ``primary[o]`` names, per breakdown, the groups the threshold
    suppressed in output ``o``. ``totals_rounded[o]``: the reader reads output ``o``'s
    total as within its rounding interval (as the policy documents) rather than as exact.
    ``inside`` lists pairs ``(a, b)``: every person counted in ``a`` is counted in ``b``,
    group by group (a period and the same period one day longer, a definition and the
    same with one more criterion), so each cell and total of ``a`` is at most the same
    of ``b``. A group a breakdown leaves out holds nobody.
    """
    bounds: dict[Any, tuple[float, float]] = {}
    rows: list[tuple[dict[Any, float], float, float]] = []
    targets = []
    groups: dict[str, set[Any]] = {}
    for o, published in enumerate(outputs):
        total = published["count"]
        if total is None:
            bounds[(o, "total")] = (0.0, math.inf)
        elif totals_rounded[o]:
            bounds[(o, "total")] = prior(policy, total, False)
        else:
            bounds[(o, "total")] = (float(total), float(total))
        for name, cells in published["breakdown"].items():
            if name not in partitions or not cells:
                continue
            groups.setdefault(name, set()).update(cell["group"] for cell in cells)
    for o, published in enumerate(outputs):
        for name, every in groups.items():
            listed = published["breakdown"].get(name)
            if not listed:  # withheld whole (or not asked for): nothing known of its cells
                continue
            cells = {cell["group"]: cell for cell in listed}
            for group in every:
                cell = cells.get(group)
                if cell is None:
                    bounds[(o, name, group)] = (0.0, 0.0)  # left out: nobody
                    continue
                is_primary = group in primary[o].get(name, set())
                bounds[(o, name, group)] = prior(policy, cell["count"], is_primary)
                low, high = bounds[(o, name, group)]
                if low != high:
                    targets.append((o, name, group))
            rows.append(({**{(o, name, g): 1.0 for g in every}, (o, "total"): -1.0}, 0.0, 0.0))
    for a, b in inside:
        rows.append(({(b, "total"): 1.0, (a, "total"): -1.0}, 0.0, math.inf))
        for name, every in groups.items():
            for group in every:
                if (a, name, group) in bounds and (b, name, group) in bounds:
                    rows.append(({(b, name, group): 1.0, (a, name, group): -1.0}, 0.0, math.inf))
    return lp_solve(bounds, rows, targets)
