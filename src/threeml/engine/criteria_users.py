"""Handlers of the criteria about the user alone: conditions, risk, membership of another
definition and a query (see :mod:`threeml.engine.criteria`)."""

from __future__ import annotations

import math

import ibis
import ibis.expr.types as ir

from threeml.definitions import HasCondition, MemberOf, Query, RiskAtLeast, RiskInTopPercent
from threeml.engine.compiler import Compiler
from threeml.engine.errors import EvaluationError
from threeml.engine.handlers import CriterionHandler, enrolment_pass, handles, user_pass
from threeml.records.codes import Unit

__all__ = [
    "HasConditionHandler",
    "MemberOfHandler",
    "QueryHandler",
    "RiskAtLeastHandler",
    "RiskInTopPercentHandler",
]


def _has_condition(users: ir.Table, criterion: HasCondition) -> ir.BooleanValue:
    # One array-contains test per code: every backend has it (Polars has no array filter).
    return ibis.or_(*[users.conditions.contains(code) for code in sorted(criterion.conditions)])


@handles(HasCondition)
class HasConditionHandler(CriterionHandler):
    """``has-condition``: one of the codes among the user's conditions."""

    interval_aware = True

    def user_pass(self, criterion: HasCondition, compiler: Compiler) -> ir.Table:
        u = compiler.users
        return u.filter(_has_condition(u, criterion)).select("user_id")

    def user_flag(
        self, criterion: HasCondition, compiler: Compiler, users: ir.Table
    ) -> ir.BooleanValue:
        return _has_condition(users, criterion).fill_null(False)


@handles(RiskAtLeast)
class RiskAtLeastHandler(CriterionHandler):
    """``risk-at-least``: a risk score at or above the threshold (no score: fails)."""

    interval_aware = True

    def user_pass(self, criterion: RiskAtLeast, compiler: Compiler) -> ir.Table:
        u = compiler.users
        return u.filter(u.risk_score >= criterion.threshold).select("user_id")

    def user_flag(
        self, criterion: RiskAtLeast, compiler: Compiler, users: ir.Table
    ) -> ir.BooleanValue:
        return (users.risk_score >= criterion.threshold).fill_null(False)


@handles(RiskInTopPercent)
class RiskInTopPercentHandler(CriterionHandler):
    """``risk-in-top-percent``: fewer than ``percent/100 × N`` scored users strictly above.

    That is every user scoring at least the m-th highest score, m being the number of whole h
    with ``h × 100 < percent × N`` (computed in Python floats, as the reference evaluator
    does). Ties: every user with the threshold score passes, however many share it.

    No window, sort or offset: the threshold is found by :func:`_mth_highest`, a bisection of
    scalar counts, so any backend runs it and a cluster never sorts the users globally.
    """

    interval_aware = True

    def user_pass(self, criterion: RiskInTopPercent, compiler: Compiler) -> ir.Table:
        scored = compiler.users.filter(compiler.users.risk_score.notnull())
        n = int(scored.count().execute())
        bound = criterion.percent * n
        m = min(math.ceil(bound / 100), n)
        while m > 0 and (m - 1) * 100 >= bound:
            m -= 1
        while m < n and m * 100 < bound:
            m += 1
        if m == 0:
            return scored.filter(ibis.literal(False)).select("user_id")
        threshold = _mth_highest(scored, m)
        return scored.filter(scored.risk_score >= threshold).select("user_id")


def _mth_highest(scored: ir.Table, m: int) -> float:
    """The m-th highest ``risk_score`` of ``scored`` (non-null, at least ``m`` rows).

    Keeps ``lo``, a score with at least ``m`` scores at or above it, and ``hi``, a value with
    fewer than ``m`` at or above it: the answer lies in ``[lo, hi)``. Each step asks one
    aggregate query (the smallest and largest score in the interval, and the count at or above
    its midpoint) and halves the interval; it ends when the interval holds one distinct score,
    which is the answer: within the 64 halvings a double allows, a handful on scores rounded
    to a few decimals.
    """
    score = scored.risk_score
    low, high = scored.aggregate(a=score.min(), b=score.max()).execute().iloc[0]
    lo, hi = float(low), float(high)
    if int(scored.filter(score >= hi).count().execute()) >= m:
        return hi
    while True:
        mid = lo + (hi - lo) / 2
        inside = (score >= lo) & (score < hi)
        first, last, above = (
            scored.aggregate(
                a=score.min(where=inside), b=score.max(where=inside), c=(score >= mid).sum()
            )
            .execute()
            .iloc[0]
        )
        if float(first) == float(last) or mid in (lo, hi):
            return float(first)
        if int(above) >= m:
            lo = mid
        else:
            hi = mid


@handles(MemberOf)
class MemberOfHandler(CriterionHandler):
    """``member-of``: counted by another definition, looked up by name (cycles refused)."""

    def user_pass(self, criterion: MemberOf, compiler: Compiler) -> ir.Table:
        name = criterion.definition
        if compiler.resolve is None:
            raise EvaluationError(f"member-of {name!r} needs a registry to look the definition up")
        if name in compiler.resolving:
            cycle = " -> ".join([*compiler.resolving, name])
            raise EvaluationError(f"definitions refer to each other in a cycle: {cycle}")
        definition = compiler.resolve(name)
        compiler.resolving.append(name)
        try:
            if definition.unit is Unit.ENROLMENTS:
                e = compiler.enrolments
                for inner in definition.criteria:
                    e = e.filter(e.enrolment_id.isin(enrolment_pass(inner, compiler).enrolment_id))
                return e.select("user_id").distinct()
            u = compiler.users
            for inner in definition.criteria:
                u = u.filter(u.user_id.isin(user_pass(inner, compiler).user_id))
            return u.select("user_id")
        finally:
            compiler.resolving.pop()


@handles(Query)
class QueryHandler(CriterionHandler):
    """``query``: the users an imported function's ibis expression returns."""

    def user_pass(self, criterion: Query, compiler: Compiler) -> ir.Table:
        try:
            result = criterion.resolve()(compiler.dataset.tables, compiler.period)
            # A NULL among the ids would make "user_id IN (...)" NULL, not false, for every
            # user the query did not return.
            passed = result.select("user_id")
            return passed.filter(passed.user_id.notnull()).distinct()
        except Exception as error:
            raise EvaluationError(f"query criterion {criterion.name} failed: {error}") from error
