"""Witnessed ranges from a known consistent point: is each cell's range wide enough?

The audit knows one set of values consistent with everything an output publishes: the true
figures (each lies in its published range and satisfies every identity the audit keeps). Any
other consistent set of values that puts a cell one or more away from its true value proves
that cell's range is at least that wide: a witness, never a guess. :func:`local_witnesses`
finds witnesses for most cells of a piece cheaply:

1. solves of the whole piece, each pulling the cells not yet shown protected towards the side
   of their range with more room (all of them first, then a random half at a time: cells of
   one identity compete for its slack), kept while each shows enough more cells;
2. for each cell left, without a solver: the cell moved alone, or against one other cell of
   an identity it is in (the pair moved so that identity keeps its total), as far as every
   bound and every identity either cell is in allows (:class:`_Moves`): a step along a line
   from a consistent point, so the values reached are consistent too;
3. for each cell still left, a small programme over the free cells within a few identities of it
   (:data:`RADII`), every other cell held at its true value: a solution, with the rest at the
   true values, is consistent with the whole piece, as every identity touching the
   neighbourhood is in the small programme and every other holds at the true values.

A cell no witness shows protected is left to the exact solve of the whole piece
(:func:`threeml.publish.lp.feasible_ranges`): a cell is decided protected here only with a
proof, and decided narrowed only by the exact programme, so the audit's verdicts are those of
solving every cell exactly. Every pull is towards a finite bound, so no programme here is
unbounded.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
from collections.abc import Hashable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["MAX_CELLS", "PARTNERS", "RADII", "SWEEP_FROM", "consistent", "local_witnesses", "quiet"]

#: How far (in identities) each neighbourhood reaches, tried in turn.
RADII = (4, 8)

#: Sweeps over the whole piece pay off from this many targets not yet shown protected.
SWEEP_FROM = 8

#: How many partners a cell is moved against, at most, before any solve (:class:`_Moves`).
PARTNERS = 4

#: A neighbourhood larger than this is not solved locally (the exact solve is as cheap).
MAX_CELLS = 5000

#: How far a value may miss a bound or an identity and still count as satisfying it.
_TOLERANCE = 1e-6

Row = tuple[list[Hashable], list[float], float, float]


def consistent(
    point: Mapping[Hashable, float],
    bounds: Mapping[Hashable, tuple[float, float]],
    rows: Sequence[Row],
) -> bool:
    """Whether ``point`` lies within every bound and satisfies every row."""
    for key, (low, high) in bounds.items():
        value = point.get(key)
        if value is None or not low - _TOLERANCE <= value <= high + _TOLERANCE:
            return False
    for keys, coefficients, lower, upper in rows:
        total = sum(a * point[k] for k, a in zip(keys, coefficients, strict=True))
        if not lower - _TOLERANCE <= total <= upper + _TOLERANCE:
            return False
    return True


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Keep HiGHS's banner (printed from C on first use) off standard output."""
    sys.stdout.flush()
    try:
        fd = sys.__stdout__.fileno() if sys.__stdout__ else 1
        saved = os.dup(fd)
    except (OSError, ValueError):  # pragma: no cover - no real standard output
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    try:
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)


def _width(low: float, high: float) -> float:
    if math.isinf(low) or math.isinf(high):
        return math.inf
    return math.floor(high + _TOLERANCE) - math.ceil(low - _TOLERANCE)


class _Piece:
    """One piece of the programme as arrays: its cells' bounds and true values, and its rows
    in compressed sparse row form (``start``, ``column``, ``coefficient``)."""

    def __init__(
        self,
        keys: Sequence[Hashable],
        bounds: Mapping[Hashable, tuple[float, float]],
        rows: Sequence[Row],
        point: Mapping[Hashable, float],
    ) -> None:
        self.column = {key: i for i, key in enumerate(keys)}
        self.low = np.array([bounds[k][0] for k in keys], dtype=np.float64)
        self.high = np.array([bounds[k][1] for k in keys], dtype=np.float64)
        self.point = np.array([point[k] for k in keys], dtype=np.float64)
        self.free = self.low < self.high
        columns = [self.column[k] for row in rows for k in row[0]]
        self.columns = np.array(columns, dtype=np.int64)
        self.coefficients = np.array([a for row in rows for a in row[1]], dtype=np.float64)
        self.start = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum([len(row[0]) for row in rows], out=self.start[1:])
        self.lower = np.array([row[2] for row in rows], dtype=np.float64)
        self.upper = np.array([row[3] for row in rows], dtype=np.float64)
        self.rows_of: list[list[int]] = [[] for _ in keys]
        for r, row in enumerate(rows):
            for key in row[0]:
                self.rows_of[self.column[key]].append(r)

    def room(self) -> np.ndarray:
        """Per cell, +1 where its bounds leave more room above its known value than below,
        else -1: the way to pull it to see it move (always towards a finite bound, so that a
        programme pulling cells this way is never unbounded)."""
        above, below = self.high - self.point, self.point - self.low
        return np.where(np.isfinite(self.high) & (above >= below), 1.0, -1.0)

    def ball(self, seed: int, radius: int) -> tuple[np.ndarray, np.ndarray]:
        """The free cells within ``radius`` identities of ``seed``, and the rows touching them."""
        inside = np.zeros(len(self.low), dtype=bool)
        inside[seed] = True
        touched = np.zeros(len(self.lower), dtype=bool)
        frontier = np.array([seed])
        for _ in range(radius):
            rows = np.unique([r for c in frontier for r in self.rows_of[c]])
            rows = rows[~touched[rows]] if len(rows) else rows
            touched[rows] = True
            found = np.unique(self.columns[_positions(self.start, rows)])
            found = found[self.free[found] & ~inside[found]]
            inside[found] = True
            frontier = found
            if not len(frontier) or inside.sum() > MAX_CELLS:
                break
        rows = [r for c in frontier for r in self.rows_of[c]]
        touched[rows] = True
        return np.flatnonzero(inside), np.flatnonzero(touched)


def _positions(start: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The positions in the sparse arrays of the entries of ``rows``, row by row."""
    lengths = start[rows + 1] - start[rows]
    if not len(rows):
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(start[rows] - np.cumsum(lengths) + lengths, lengths)
    return offsets + np.arange(int(lengths.sum()))


class _Model:
    """A programme over some cells of a piece, the others held at their known values; kept
    between solves so that each starts from the last one's basis."""

    def __init__(self, highspy: Any, piece: _Piece, cells: np.ndarray, rows: np.ndarray) -> None:
        self.highspy, self.cells = highspy, cells
        where = np.full(len(piece.low), -1, dtype=np.int64)
        where[cells] = np.arange(len(cells))
        positions = _positions(piece.start, rows)
        columns, coefficients = piece.columns[positions], piece.coefficients[positions]
        row_of = np.repeat(np.arange(len(rows)), piece.start[rows + 1] - piece.start[rows])
        free = where[columns] >= 0
        fixed = np.bincount(
            row_of[~free],
            weights=coefficients[~free] * piece.point[columns[~free]],
            minlength=len(rows),
        )
        with quiet():
            highs = highspy.Highs()
        highs.setOptionValue("output_flag", False)
        inf = highspy.kHighsInf
        n = len(cells)
        highs.addVars(n, np.maximum(piece.low[cells], -inf), np.minimum(piece.high[cells], inf))
        counts = np.bincount(row_of[free], minlength=len(rows))
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int32)
        highs.addRows(
            len(rows),
            piece.lower[rows] - fixed,
            np.minimum(piece.upper[rows] - fixed, inf),
            int(free.sum()),
            starts,
            where[columns[free]].astype(np.int32),
            coefficients[free],
        )
        highs.changeObjectiveSense(highspy.ObjSense.kMaximize)
        self.highs = highs

    def maximise(self, costs: np.ndarray) -> np.ndarray | None:
        """The cells' values at a maximum of ``costs`` (one per cell), ``None`` if none found."""
        n = len(self.cells)
        self.highs.changeColsCost(n, np.arange(n, dtype=np.int32), costs)
        self.highs.run()
        if self.highs.getModelStatus() != self.highspy.HighsModelStatus.kOptimal:
            return None
        return np.asarray(self.highs.getSolution().col_value)


def local_witnesses(
    keys: Sequence[Hashable],
    bounds: Mapping[Hashable, tuple[float, float]],
    rows: Sequence[Row],
    point: Mapping[Hashable, float],
    targets: Sequence[Hashable],
    needed: Mapping[Hashable, float],
) -> tuple[dict[Hashable, tuple[float, float]], list[Hashable]]:
    """Targets shown protected by witnesses (with the range seen), and those not shown.

    ``keys`` are the cells of one piece of the programme, ``rows`` its identities (as
    :class:`threeml.publish.lp._Rows` holds them) and ``point`` a set of values consistent
    with all of them (:func:`consistent`). A target's range is the part seen, which lies
    within its true range and is at least as wide as ``needed``.

    First the whole piece: the targets not yet shown are pulled towards the side of their
    range with more room (all of them, then a random half at a time, as cells of one identity
    compete for its slack) while that shows enough of them. Then each target left is moved
    alone or against one partner (:class:`_Moves`), and each still left is looked at in small
    programmes around it (:data:`RADII`).
    """
    import highspy

    piece = _Piece(keys, bounds, rows, point)
    seen_low = piece.point.copy()
    seen_high = piece.point.copy()
    room = piece.room()

    def shown(key: Hashable) -> bool:
        i = piece.column[key]
        return _width(seen_low[i], seen_high[i]) >= needed[key]

    def record(cells: np.ndarray, values: np.ndarray | None) -> None:
        if values is not None:
            np.minimum.at(seen_low, cells, values)
            np.maximum.at(seen_high, cells, values)

    pending = [key for key in targets if not shown(key)]
    if len(pending) > SWEEP_FROM:
        everything = np.flatnonzero(piece.free)
        model = _Model(highspy, piece, everything, np.arange(len(piece.lower)))
        rng = np.random.default_rng(15)
        share = 1.0
        while len(pending) > SWEEP_FROM:
            chosen = np.array([piece.column[k] for k in pending])
            chosen = chosen[rng.random(len(chosen)) < share]
            costs = np.zeros(len(piece.low))
            costs[chosen] = room[chosen]
            record(everything, model.maximise(costs[everything]))
            before, share = len(pending), 0.5
            pending = [key for key in pending if not shown(key)]
            if len(pending) > 0.8 * before:
                break
    if pending:
        moves = _Moves(piece, rows)
        for key in pending:
            if not shown(key):
                for cells, values in moves.around(piece.column[key], needed[key]):
                    record(cells, values)
        pending = [key for key in pending if not shown(key)]
    for radius in RADII:
        left = []
        for key in pending:
            if shown(key):
                continue
            seed = piece.column[key]
            cells, touched = piece.ball(seed, radius)
            if len(cells) > MAX_CELLS:
                left.append(key)
                continue
            # The cells of the ball not yet shown pulled their way, the seed hardest.
            costs = np.zeros(len(cells))
            chosen = np.isin(cells, [piece.column[k] for k in pending if not shown(k)])
            costs[chosen] = room[cells[chosen]]
            where = np.searchsorted(cells, seed)
            costs[where] *= float(len(cells))
            model = _Model(highspy, piece, cells, touched)
            record(cells, model.maximise(costs))
            if not shown(key):
                costs[where] = -costs[where]  # the seed the other way
                record(cells, model.maximise(costs))
            if not shown(key):
                left.append(key)
        pending = left
        if not pending:
            break
    out = {}
    for key in targets:
        if shown(key):
            i = piece.column[key]
            out[key] = (float(seen_low[i]), float(seen_high[i]))
    # What is left may be narrowed: the identities near a cell alone, every other cell of them
    # free within its range, already pin it (a relaxation: the true range lies within).
    for key in pending:
        found = _relaxed_range(highspy, piece, piece.column[key], RADII[-1])
        if found is not None and _width(*found) < needed[key]:
            out[key] = found
    return out, [key for key in targets if key not in out]


class _Moves:
    """Consistent values found without a solver, by moving one cell, or two against each
    other, along a line from the known point (the piece as plain lists: a move looks at a
    handful of numbers)."""

    def __init__(self, piece: _Piece, rows: Sequence[Row]) -> None:
        self.point = piece.point.tolist()
        self.low, self.high = piece.low.tolist(), piece.high.tolist()
        self.free = piece.free.tolist()
        # Per cell, its coefficient in each identity naming it.
        self.entries: list[dict[int, float]] = [{} for _ in self.point]
        totals = []
        for r, (keys, coefficients, _, _) in enumerate(rows):
            total = 0.0
            for key, a in zip(keys, coefficients, strict=True):
                c = piece.column[key]
                self.entries[c][r] = self.entries[c].get(r, 0.0) + a
                total += a * self.point[c]
            totals.append(total)
        self.slack_up = [row[3] - t for row, t in zip(rows, totals, strict=True)]
        self.slack_down = [t - row[2] for row, t in zip(rows, totals, strict=True)]
        self.members: list[list[tuple[int, float]]] = [[] for _ in rows]
        for c, entries in enumerate(self.entries):
            for r, a in entries.items():
                self.members[r].append((c, a))
        self.cap = float(len(self.point)) + 1e6

    def around(self, seed: int, enough: float) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Consistent values found by moving ``seed`` each way, alone or against a partner.

        A partner is a free cell sharing an identity with the seed, moved so that this
        identity keeps its total. Either way every other cell keeps its known value, so only
        the bounds of the moved cells and the identities naming them can stop the move, each
        at its slack at the known point. Per direction, the longest step found (capped, so
        every value is finite) as (cells, values); the search stops at a step of ``enough``
        (the seed's range is then wide enough) and after :data:`PARTNERS` partners.
        """
        if not self.free[seed]:
            return
        partners: dict[int, float] = {}  # partner: its change per step of the seed
        for r, a_seed in self.entries[seed].items():
            for c, a in self.members[r]:
                if c != seed and self.free[c] and c not in partners and a and a_seed:
                    partners[c] = -a_seed / a
            if len(partners) >= PARTNERS:
                break
        for sign in (1.0, -1.0):
            best, best_move = 0.0, None
            for partner in [None, *list(partners)[:PARTNERS]]:
                move = [(seed, sign)]
                if partner is not None:
                    move.append((partner, sign * partners[partner]))
                step = self.longest(move)
                if step > best:
                    best, best_move = step, move
                    if step >= enough:
                        break
            if best_move is not None:
                cells = np.array([c for c, _ in best_move], dtype=np.int64)
                values = np.array([self.point[c] + best * d for c, d in best_move])
                yield cells, values

    def longest(self, move: Sequence[tuple[int, float]]) -> float:
        """How far (up to the cap) the known point may go along ``move`` (per cell, its
        change per step) keeping every moved cell within its bounds and every identity
        naming one."""
        step = self.cap
        change: dict[int, float] = {}
        for c, d in move:
            room = self.high[c] - self.point[c] if d > 0 else self.point[c] - self.low[c]
            step = min(step, room / abs(d))
            for r, a in self.entries[c].items():
                change[r] = change.get(r, 0.0) + a * d
        for r, per_step in change.items():
            if per_step > 0:
                step = min(step, self.slack_up[r] / per_step)
            elif per_step < 0:
                step = min(step, self.slack_down[r] / -per_step)
        return max(step, 0.0)


def _relaxed_range(
    highspy: Any, piece: _Piece, seed: int, radius: int
) -> tuple[float, float] | None:
    """The seed's range under only the identities within ``radius`` of it, every cell they
    name free within its own range: a range that holds the true one (``None``: unbounded)."""
    _, touched = piece.ball(seed, radius)
    cells = np.unique(piece.columns[_positions(piece.start, touched)])
    model = _Model(highspy, piece, cells, touched)
    costs = np.zeros(len(cells))
    where = int(np.searchsorted(cells, seed))
    costs[where] = 1.0
    high = model.maximise(costs)
    costs[where] = -1.0
    low = model.maximise(costs)
    if high is None or low is None:
        return None
    return float(low[where]), float(high[where])
