"""The feasible range of each cell, by linear programming (HiGHS, through ``highspy``).

:func:`feasible_ranges` takes each cell's a priori range and the tables' identities
(cells add up to a total, or to at least it) and returns, for each target cell,
the smallest and largest value it can take in the linear programme they define.
The problem falls apart into independent pieces (cells linked through no identity);
a piece held together by one identity alone is solved exactly in closed form (the
bounds of one sum, which is what the LP gives for one row), every other piece by
HiGHS: one model per piece, the objective changed for each target, minimised and
maximised, each solve starting from the previous basis.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from threeml.errors import ThreemlError
from threeml.publish.lp_local import consistent, local_witnesses, quiet

__all__ = ["SOLVER", "WITNESS_FROM", "feasible_ranges"]

Bounds = Mapping[Hashable, tuple[float, float]]


def _solver_name() -> str:
    try:
        from importlib.metadata import version

        return f"HiGHS (highspy {version('highspy')}), linear programming"
    except Exception:  # pragma: no cover - highspy without metadata
        return "HiGHS (highspy), linear programming"


#: What outputs name as the audit's solver.
SOLVER = _solver_name()


class _Rows:
    """The identities as signed rows: (keys, coefficients, lower, upper)."""

    def __init__(self, tables: Sequence[Any]) -> None:
        self.rows: list[tuple[list[Hashable], list[float], float, float]] = []
        for table in tables:
            keys = [*table.cells, table.total]
            coefficients = [1.0] * len(table.cells) + [-1.0]
            upper = 0.0 if table.relation == "eq" else math.inf
            self.rows.append((keys, coefficients, 0.0, upper))


def _components(bounds: Bounds, rows: _Rows) -> list[tuple[list[Hashable], list[int]]]:
    """The independent pieces: (cells, row indexes) linked through shared cells.

    A cell whose value is known exactly links nothing (it is a constant in each row).
    """
    free = [key for key, (low, high) in bounds.items() if low != high]
    parent = {key: key for key in free}

    def find(key: Hashable) -> Hashable:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for row_keys, _, _, _ in rows.rows:
        linked = [key for key in row_keys if key in parent]
        for key in linked[1:]:
            parent[find(key)] = find(linked[0])
    pieces: dict[Hashable, tuple[list[Hashable], list[int]]] = {}
    for key in free:
        pieces.setdefault(find(key), ([], []))[0].append(key)
    for index, (row_keys, _, _, _) in enumerate(rows.rows):
        linked = [key for key in row_keys if key in parent]
        if linked:
            piece = pieces[find(linked[0])]
            piece[1].append(index)
            piece[0].extend(key for key in row_keys if key not in parent)
    return [(list(dict.fromkeys(keys)), indexes) for keys, indexes in pieces.values()]


def _one_row(
    bounds: Bounds, row: tuple[list[Hashable], list[float], float, float], targets: set
) -> dict[Hashable, tuple[float, float]]:
    """Exact ranges for the cells of one row ``lower <= sum(a_j y_j) <= upper``."""
    keys, coefficients, lower, upper = row
    lows, highs = [], []
    for key, a in zip(keys, coefficients, strict=True):
        low, high = bounds[key]
        lows.append(min(a * low, a * high))
        highs.append(max(a * low, a * high))
    finite_low = sum(v for v in lows if v != -math.inf)
    finite_high = sum(v for v in highs if v != math.inf)
    infinite_low = sum(1 for v in lows if v == -math.inf)
    infinite_high = sum(1 for v in highs if v == math.inf)
    out = {}
    for j, (key, a) in enumerate(zip(keys, coefficients, strict=True)):
        if key not in targets:
            continue
        # the others' sum S ranges over [others_low, others_high]; a*y = row - S.
        if lows[j] == -math.inf:
            others_low = -math.inf if infinite_low > 1 else finite_low
        else:
            others_low = -math.inf if infinite_low else finite_low - lows[j]
        if highs[j] == math.inf:
            others_high = math.inf if infinite_high > 1 else finite_high
        else:
            others_high = math.inf if infinite_high else finite_high - highs[j]
        term_low = max(lows[j], lower - others_high)
        term_high = min(highs[j], upper - others_low)
        low, high = (term_low, term_high) if a > 0 else (-term_high, -term_low)
        out[key] = (low, high)
    return out


#: Pieces of at least this many cells are looked at around the known point first (smaller
#: ones are solved exactly at once: as cheap, and no setting up).
WITNESS_FROM = 200

#: Sweeps over every cell pay off for at least this many targets (else each is solved).
_SWEEP_FROM = 8


def _whole_width(low: float, high: float) -> float:
    if low > high:
        return -math.inf  # nothing seen yet
    if math.isinf(low) or math.isinf(high):
        return math.inf
    return math.floor(high + 1e-6) - math.ceil(low - 1e-6)


def _run(highs: Any) -> Any:
    """Solve, and the model's status. A solve that ends undecided (HiGHS's ``kUnknown`` or
    ``kUnboundedOrInfeasible``, seen after a change of objective on degenerate programmes)
    is retried from scratch, then without presolve. The true figures satisfy every
    programme the audit builds, so "unbounded or infeasible" can only be unbounded."""
    import highspy

    statuses = highspy.HighsModelStatus
    undecided = (statuses.kUnknown, statuses.kUnboundedOrInfeasible)
    highs.run()
    status = highs.getModelStatus()
    if status in undecided:
        highs.clearSolver()
        highs.run()
        status = highs.getModelStatus()
    if status in undecided:
        highs.setOptionValue("presolve", "off")
        highs.clearSolver()
        highs.run()
        status = highs.getModelStatus()
        highs.setOptionValue("presolve", "choose")
    if status == statuses.kUnboundedOrInfeasible:
        return statuses.kUnbounded
    return status


def _highs_ranges(
    bounds: Bounds,
    rows: _Rows,
    keys: list[Hashable],
    indexes: list[int],
    targets: list,
    needed: Mapping[Hashable, float] | None,
) -> dict[Hashable, tuple[float, float]]:
    """Ranges of ``targets`` in the LP of one piece, by HiGHS (warm-started per objective).

    Every solution found is a set of values consistent with everything published,
    so it *witnesses* a value for every cell at once. With ``needed``, a target
    whose witnessed values already lie as far apart as it needs is not solved
    for: its range is then the witnessed one (inside the true range, wide enough).
    """
    import highspy
    import numpy as np

    with quiet():
        highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    inf = highspy.kHighsInf
    column = {key: i for i, key in enumerate(keys)}
    n = len(keys)
    lows = np.array([max(bounds[k][0], -inf) for k in keys], dtype=np.float64)
    highs_ = np.array([min(bounds[k][1], inf) for k in keys], dtype=np.float64)
    highs.addVars(n, lows, highs_)
    for index in indexes:
        row_keys, coefficients, lower, upper = rows.rows[index]
        highs.addRow(
            lower,
            min(upper, inf),
            len(row_keys),
            np.array([column[k] for k in row_keys], dtype=np.int32),
            np.array(coefficients, dtype=np.float64),
        )
    seen_low = np.full(n, np.inf)
    seen_high = np.full(n, -np.inf)
    everything = np.arange(n, dtype=np.int32)

    def solve(costs: Any, sense: Any) -> float:
        highs.changeColsCost(n, everything, costs)
        highs.changeObjectiveSense(sense)
        status = _run(highs)
        if status == highspy.HighsModelStatus.kUnbounded:
            return -math.inf if sense == highspy.ObjSense.kMinimize else math.inf
        if status != highspy.HighsModelStatus.kOptimal:
            raise ThreemlError(
                f"disclosure audit: the solver found no consistent values ({status.name}); "
                "this is a bug in threeml, please report it"
            )
        values = np.asarray(highs.getSolution().col_value)
        np.minimum(seen_low, values, out=seen_low)
        np.maximum(seen_high, values, out=seen_high)
        return highs.getInfo().objective_function_value

    def wide_enough(key: Hashable) -> bool:
        i = column[key]
        return needed is not None and _whole_width(seen_low[i], seen_high[i]) >= needed[key]

    if needed is not None and len(targets) > _SWEEP_FROM:
        # Two sweeps over every cell at once witness most cells' spread cheaply.
        signs = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
        for costs in (np.ones(n), signs):
            for sense in (highspy.ObjSense.kMinimize, highspy.ObjSense.kMaximize):
                with contextlib.suppress(ThreemlError):
                    solve(costs, sense)
    out = {}
    for key in targets:
        i = column[key]
        if wide_enough(key):
            out[key] = (float(seen_low[i]), float(seen_high[i]))
            continue
        costs = np.zeros(n)
        costs[i] = 1.0
        low = solve(costs, highspy.ObjSense.kMinimize)
        if wide_enough(key):
            out[key] = (low, float(seen_high[i]))
            continue
        out[key] = (low, solve(costs, highspy.ObjSense.kMaximize))
    return out


def feasible_ranges(
    bounds: Bounds,
    tables: Sequence[Any],
    targets: Sequence[Hashable],
    *,
    needed: Mapping[Hashable, float] | None = None,
    closed_form: bool = True,
    cache: dict[Any, Any] | None = None,
    point: Mapping[Hashable, float] | None = None,
) -> dict[Hashable, tuple[float, float]]:
    """The smallest and largest value of each target cell consistent with every identity.

    ``bounds`` gives every cell's a priori range; ``tables`` hold the identities
    (:class:`~threeml.publish.audit.AuditTable`). Infinite bounds are allowed.
    ``closed_form=False`` sends every piece to HiGHS (the tests compare the two).

    With ``needed`` (how wide, in whole numbers, each target's range must be), a
    target of a piece solved by HiGHS whose values consistent with everything
    published are already seen to lie that far apart is not solved for: its range
    is then the part seen, which is enough to know the target is protected.
    ``cache`` (a dict kept between calls) saves solving a piece again unchanged.

    With ``needed`` and ``point`` (values of every cell consistent with the bounds and the
    identities: the true figures), each target is first decided around ``point``
    (:func:`threeml.publish.lp_local.local_witnesses`): shown protected by consistent values
    (its range is then the part seen), or shown narrowed by the identities near it alone (its
    range is then that of the relaxation, which holds the true one and is as narrow); only
    the targets neither shows go to the whole piece. The verdicts are the exact programme's;
    a narrowed target's exact range is what a call without ``point`` gives (the audit asks
    for it before naming the range in a refusal).
    """
    rows = _Rows(tables)
    if point is not None and (needed is None or not consistent(point, bounds, rows.rows)):
        point = None
    wanted = set(targets)
    out: dict[Hashable, tuple[float, float]] = {
        key: bounds[key] for key in targets if bounds[key][0] == bounds[key][1]
    }
    for keys, indexes in _components(bounds, rows):
        inside = [k for k in keys if k in wanted]
        if not inside:
            continue
        if not indexes:
            out.update({k: bounds[k] for k in inside})
            continue
        signature = None
        if cache is not None:
            signature = (
                tuple(keys),
                tuple(bounds[k] for k in keys),
                tuple(tuple(rows.rows[i][0]) + rows.rows[i][2:] for i in indexes),
                tuple(inside),
                None if needed is None else tuple(needed[k] for k in inside),
            )
            if signature in cache:
                out.update(cache[signature])
                continue
        if len(indexes) == 1 and closed_form:
            found = _one_row(bounds, rows.rows[indexes[0]], wanted)
        elif point is not None and len(keys) >= WITNESS_FROM:
            found, left = local_witnesses(
                keys, bounds, [rows.rows[i] for i in indexes], point, inside, needed or {}
            )
            if left:
                found.update(_highs_ranges(bounds, rows, keys, indexes, left, needed))
        else:
            found = _highs_ranges(bounds, rows, keys, indexes, inside, needed)
        if signature is not None:
            cache[signature] = found
        out.update(found)
    return out
