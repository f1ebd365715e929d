"""The audit's witnesses (``threeml.publish.lp_local``) reach the exact programme's verdicts.

A cell is shown protected by values consistent with everything published, found around the
true figures; every other cell is solved exactly. These tests compare the verdicts with and
without witnesses on random programmes and random small series, check that a witnessed range
lies inside the exact one, and that a point that is not consistent is not used.
"""

from __future__ import annotations

import contextlib
import math
from datetime import date

import pytest
from attacker import narrowed
from flows import drawn_flow
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from threeml.definitions.policies import DEFAULT_POLICY
from threeml.publish import lp, lp_local
from threeml.publish.audit import AuditCell, AuditProblem, AuditRefused, AuditTable, audit
from threeml.publish.audited import audit_problem
from threeml.publish.lp import feasible_ranges
from threeml.publish.series import publish_series
from threeml.records.intervals import split
from threeml.records.periods import Period

YEAR = Period(date(2013, 1, 1), date(2013, 12, 31))


@contextlib.contextmanager
def _witnesses_everywhere(sweep_from: int = lp_local.SWEEP_FROM, radii=lp_local.RADII):
    """Small pieces are solved exactly at once; here every piece is looked at for witnesses
    (with sweeps over the whole piece from ``sweep_from`` targets, neighbourhoods ``radii``:
    a radius of 1 makes the relaxations that show a cell narrowed smaller than the piece)."""
    saved = lp.WITNESS_FROM, lp_local.SWEEP_FROM, lp_local.RADII
    lp.WITNESS_FROM, lp_local.SWEEP_FROM, lp_local.RADII = 0, sweep_from, radii
    try:
        yield
    finally:
        lp.WITNESS_FROM, lp_local.SWEEP_FROM, lp_local.RADII = saved


@st.composite
def programmes(draw):
    """Cells with whole true values, bounds around them, and sums the true values satisfy
    (a sum's total may be a part of a later sum, so identities chain)."""
    n = draw(st.integers(3, 14))
    truth = {k: draw(st.integers(0, 12)) for k in range(n)}
    tables = []
    for t in range(draw(st.integers(1, 5))):
        parts = draw(st.lists(st.sampled_from(list(truth)), min_size=1, max_size=4, unique=True))
        total = ("total", t)
        truth[total] = sum(truth[k] for k in parts)
        tables.append(AuditTable(f"t{t}", total, parts))
    bounds = {}
    for key, value in truth.items():
        below, above = draw(st.integers(0, 3)), draw(st.integers(0, 3))
        high = math.inf if draw(st.integers(0, 9)) == 0 else value + above
        bounds[key] = (float(max(0, value - below)), float(high))
    needed = {key: draw(st.integers(1, 2)) for key in bounds}
    return bounds, tables, {k: float(v) for k, v in truth.items()}, needed


@settings(max_examples=150, deadline=None)
@given(programmes(), st.booleans(), st.sampled_from([(1,), (4, 8)]))
def test_witnesses_reach_the_exact_verdicts(programme, balls_only, radii) -> None:
    bounds, tables, truth, needed = programme
    keys = [k for k, (low, high) in bounds.items() if low < high]
    exact = feasible_ranges(bounds, tables, keys)
    # balls_only: every target through the small programmes around it
    with _witnesses_everywhere(10**9 if balls_only else 0, radii):
        witnessed = feasible_ranges(bounds, tables, keys, needed=needed, point=truth)
    for key in keys:
        low, high = exact[key]
        assert (narrowed(*witnessed[key]) >= needed[key]) == (narrowed(low, high) >= needed[key])
        if narrowed(*witnessed[key]) >= needed[key]:  # seen: within the exact range
            assert witnessed[key][0] >= low - 1e-6 and witnessed[key][1] <= high + 1e-6
        else:  # narrowed: exact, or a relaxation's range holding the exact one
            assert witnessed[key][0] <= low + 1e-6 and witnessed[key][1] >= high - 1e-6


def test_a_point_that_is_not_consistent_is_not_used() -> None:
    bounds = {"a": (0.0, 10.0), "b": (0.0, 10.0), "t": (4.0, 4.0)}
    tables = [AuditTable("t", "t", ["a", "b"])]
    wrong = {"a": 9.0, "b": 9.0, "t": 4.0}  # a + b is not t
    assert not lp_local.consistent(wrong, bounds, [(["a", "b", "t"], [1, 1, -1], 0, 0)])
    with _witnesses_everywhere():
        ranges = feasible_ranges(
            bounds, tables, ["a", "b"], needed={"a": 1, "b": 1}, point=wrong, closed_form=False
        )
    assert ranges["a"][1] <= 4.0 + 1e-6  # never the inconsistent 9


def test_a_cell_moved_against_another_of_its_identity_is_shown_without_a_solve(
    monkeypatch,
) -> None:
    # a + b = t, t published exactly: neither moves alone, but a up and b down (or the other
    # way) keeps t, as far as their bounds allow: a's range is seen whole, with no programme.
    bounds = {"a": (0.0, 10.0), "b": (0.0, 10.0), "c": (0.0, 3.0), "t": (4.0, 4.0)}
    tables = [AuditTable("t", "t", ["a", "b"]), AuditTable("u", "c", ["c"])]
    truth = {"a": 1.0, "b": 3.0, "c": 3.0, "t": 4.0}

    def no_solver(*args, **kwargs):
        raise AssertionError("solved a programme")

    monkeypatch.setattr(lp_local, "_Model", no_solver)
    with _witnesses_everywhere(sweep_from=10**9):
        ranges = feasible_ranges(
            bounds, tables, ["a", "b"], needed={"a": 3, "b": 3}, point=truth, closed_form=False
        )
    assert ranges == {"a": (0.0, 4.0), "b": (0.0, 4.0)}


def _flow(openings, data):
    intervals = split(YEAR, "quarter")
    return intervals, drawn_flow(data, intervals, openings)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(openings=st.lists(st.integers(0, 60), min_size=2, max_size=5), data=st.data())
def test_a_series_audit_with_witnesses_suppresses_what_the_exact_audit_does(openings, data):
    intervals, flow = _flow(openings, data)
    problem = audit_problem(publish_series(intervals, DEFAULT_POLICY, flow=flow))
    sweep_from = data.draw(st.sampled_from([0, 8, 10**9]))
    with _witnesses_everywhere(sweep_from, data.draw(st.sampled_from([(1,), (4, 8)]))):
        fast, fast_outcome = audit(problem, DEFAULT_POLICY)
    exact, exact_outcome = audit(problem, DEFAULT_POLICY, witnesses=False)
    assert set(fast.cells) == set(exact.cells)
    assert {k for k, c in fast.cells.items() if c.suppressed} == {
        k for k, c in exact.cells.items() if c.suppressed
    }
    assert fast_outcome == exact_outcome


@pytest.mark.parametrize("witnesses", [True, False])
def test_a_failing_cell_is_reported_with_its_exact_range(witnesses) -> None:
    total = AuditCell("total", 10, 10, "total", exact=True)
    pair = AuditProblem.build(
        [total, AuditCell("a", 3, None, "a"), AuditCell("b", 7, None, "b")],
        [AuditTable("t", "total", ["a", "b"])],
    )
    with _witnesses_everywhere():
        _, outcome = audit(pair, DEFAULT_POLICY, withhold=False, witnesses=witnesses)
    assert outcome.status == "passed"  # a in 3..7, b in 3..7
    lone = AuditProblem.build(
        [AuditCell("total", 3, 3, "total", exact=True), AuditCell("a", 3, None, "a")],
        [AuditTable("t", "total", ["a"])],
    )
    with _witnesses_everywhere(), pytest.raises(AuditRefused) as raised:
        audit(lone, DEFAULT_POLICY, withhold=False, witnesses=witnesses)
    assert (raised.value.low, raised.value.high) == (3, 3)


def test_an_undecided_solve_is_retried_not_reported_as_a_bug() -> None:
    """Found by Hypothesis: after a change of objective HiGHS ended a maximisation of this
    degenerate programme "unknown" (cell 0 and its copies pinned at 1, the rest unbounded);
    the audit solves it again from scratch and gets the exact verdicts."""
    inf = math.inf

    def total(i):
        return ("total", i)

    bounds = {0: (1.0, inf), 1: (0.0, inf), 2: (0.0, inf), 3: (0.0, inf), 4: (0.0, inf)}
    bounds |= {total(0): (0.0, 1.0), total(1): (2.0, inf)}
    bounds |= {total(2): (1.0, inf), total(3): (1.0, inf), total(4): (1.0, inf)}
    tables = [
        AuditTable("t0", total(0), (0,)),
        AuditTable("t1", total(1), (0, 1, total(0))),
        AuditTable("t2", total(2), (0,)),
        AuditTable("t3", total(3), (0,)),
        AuditTable("t4", total(4), (0, 1)),
    ]
    truth = {0: 1.0, 1: 0.0, 2: 0.0, 3: 0.0, 4: 0.0}
    truth |= {total(0): 1.0, total(1): 2.0, total(2): 1.0, total(3): 1.0, total(4): 1.0}
    keys = [k for k, (low, high) in bounds.items() if low < high]
    exact = feasible_ranges(bounds, tables, keys)
    assert exact[0] == (1.0, 1.0) and exact[1] == (0.0, inf)
    with _witnesses_everywhere(0, (1,)):
        witnessed = feasible_ranges(
            bounds, tables, keys, needed=dict.fromkeys(bounds, 1), point=truth
        )
    for key in keys:
        assert (narrowed(*witnessed[key]) >= 1) == (narrowed(*exact[key]) >= 1), key
