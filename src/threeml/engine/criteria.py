"""How the engine evaluates each kind of criterion: one handler per kind, holding all its roles.

An evaluation asks a criterion different questions depending on where it stands:

- ``user_pass``: which users pass it, as a table with one column, ``user_id``. Every kind
  answers this; it is all a plugin kind's ``compile`` has to answer;
- for an *enrolment criterion* (``about_enrolments``), which enrolments match it: from the
  enrolment's own row (``enrolment_test``) or by counting its counting contacts
  (``contact_span`` and ``contact_test``). The answers are columns of the shared table of
  enrolment facts (:mod:`threeml.engine.flags`); ``user_aggregate`` reads a user's verdict off
  those columns and ``contributes`` says whether an enrolment is one of the records behind a
  count;
- ``user_flag``: the verdict as a column beside the users table, for criteria about the user;
- ``enrolment_flag`` and ``enrolment_pass``: the verdict for one enrolment, when a definition
  counts enrolments.

Each of threeml's kinds has one handler class below with every role it needs, registered in
:data:`HANDLERS` by criterion class with :func:`handles`; the roles a handler leaves out read
its ``user_pass``. A plugin's kind (:class:`~threeml.definitions.kinds.CriterionKind`) is
handled by :class:`PluginKindHandler` around the kind's ``compile``. :func:`handler_for` picks
the handler; a criterion that neither threeml nor a plugin known to the evaluation handles
raises :class:`~threeml.engine.errors.UnhandledCriterionKind`.
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

import ibis
import ibis.expr.types as ir

from threeml.definitions import (
    ContactsAtLeast,
    Criterion,
    EnrolmentOverlaps,
    FirstInstalledIn,
    HasCondition,
    InstalledIn,
    MemberOf,
    Query,
    ReferredIn,
    RiskAtLeast,
    RiskInTopPercent,
    SectorsAtLeast,
)
from threeml.definitions.kinds import CriterionKind
from threeml.engine.compiler import Compiler
from threeml.engine.errors import EvaluationError, UnhandledCriterionKind
from threeml.records.codes import Sector, Unit
from threeml.records.periods import Period

__all__ = [
    "HANDLERS",
    "CriterionHandler",
    "PluginKindHandler",
    "enrolment_pass",
    "handler_for",
    "handles",
    "user_pass",
]


class CriterionHandler:
    """How the engine evaluates one kind of criterion, in every role (see the module docs).

    Subclasses implement :meth:`user_pass`; the other roles default to reading it, and
    enrolment criteria add :meth:`enrolment_test` or :meth:`contact_span` /
    :meth:`contact_test`.
    """

    def user_pass(self, criterion: Any, compiler: Compiler) -> ir.Table:
        """The users who pass ``criterion``: a table with one column, ``user_id``."""
        raise NotImplementedError

    def enrolment_test(
        self, criterion: Any, compiler: Compiler, enrolments: ir.Table
    ) -> ir.BooleanValue | None:
        """Whether each row of ``enrolments`` matches; ``None`` when not read from the row."""
        return None

    def contact_span(self, criterion: Any, compiler: Compiler) -> Period | None:
        """The days of the contacts counted per enrolment; ``None`` when contacts are not."""
        return None

    def contact_test(
        self, criterion: Any, compiler: Compiler, contacts: ir.Table
    ) -> ir.BooleanValue:
        """Whether each counting contact counts towards ``criterion`` (with a span only)."""
        raise NotImplementedError

    def contact_cap(self, criterion: Any) -> int | None:
        """A count of contacts from which the verdicts no longer change (every count at or
        above it means the same to the criterion, summed over a user's enrolments or not);
        ``None`` when every count matters."""
        return None

    def fact_columns(
        self, criterion: Any, compiler: Compiler, enrolments: ir.Table, name: str
    ) -> dict[str, ir.Value]:
        """The columns ``criterion`` adds to the enrolment facts (``name`` and helpers)."""
        test = self.enrolment_test(criterion, compiler, enrolments)
        return {} if test is None else {name: test}

    def user_aggregate(
        self, criterion: Any, compiler: Compiler, facts: ir.Table, name: str
    ) -> ir.BooleanValue:
        """A user's verdict, aggregated over their rows of the enrolment facts."""
        return facts[name].any()

    def contributes(self, criterion: Any, facts: ir.Table, name: str) -> ir.BooleanValue:
        """Whether each enrolment of the facts is a record behind ``criterion``."""
        return facts[name]

    def user_flag(self, criterion: Any, compiler: Compiler, users: ir.Table) -> ir.BooleanValue:
        """The verdict as a column of ``users``, for a criterion about the user alone."""
        return users.user_id.isin(user_pass(criterion, compiler).user_id)

    def enrolment_flag(
        self, criterion: Any, enrolments: ir.Table, name: str | None, owner: ir.BooleanValue
    ) -> ir.BooleanValue:
        """The verdict for each enrolment of a definition that counts enrolments.

        ``name`` is the criterion's column among the facts (enrolment criteria only) and
        ``owner`` the verdict for the enrolment's user; by default an enrolment passes when
        its user does.
        """
        return owner

    # The interval-aware path (:mod:`threeml.engine.series_facts`): a series evaluates a kind
    # in one pass over every interval when its handler says so; otherwise the definitions that
    # use it are evaluated interval by interval.

    #: The kind can be evaluated for every interval of a series at once: its enrolment tests
    #: read the window's days from the rows (``compiler.window(window, table)``), or it is
    #: about the user alone and the same in every interval.
    interval_aware: ClassVar[bool] = False
    #: For a definition counting enrolments, the verdict is the enrolment's own (not its
    #: user's): such a criterion holds only for enrolments relevant to the interval.
    judges_enrolment: ClassVar[bool] = False

    def series_columns(
        self, criterion: Any, compiler: Compiler, enrolments: ir.Table, name: str
    ) -> dict[str, ir.Value]:
        """Columns computed once per enrolment, before enrolments meet the intervals."""
        return {}

    def series_fact_columns(
        self, criterion: Any, compiler: Compiler, facts: ir.Table, name: str
    ) -> dict[str, ir.Value]:
        """The columns ``criterion`` adds to the (enrolment, interval) facts."""
        return self.fact_columns(criterion, compiler, facts, name)

    def series_user_aggregate(
        self, criterion: Any, compiler: Compiler, facts: ir.Table, name: str
    ) -> ir.BooleanValue:
        """A user's verdict in one interval, over their (enrolment, interval) facts."""
        return self.user_aggregate(criterion, compiler, facts, name)

    def series_dates(self, criterion: Any, name: str) -> tuple[str, ...] | None:
        """The date columns of the series facts (before they meet the intervals: the
        enrolment's, and those of :meth:`series_columns`) that the criterion's fact columns
        compare with their interval's days, and nothing else about the interval; ``None``
        when its facts depend on the interval otherwise (its series keeps one row per
        (enrolment, interval): :mod:`threeml.engine.series_runs`)."""
        return None

    def enrolment_pass(self, criterion: Any, compiler: Compiler) -> ir.Table:
        """The enrolments passing ``criterion`` (``enrolment_id``), for enrolment units."""
        users = user_pass(criterion, compiler)
        e = compiler.enrolments
        return e.filter(e.user_id.isin(users.user_id)).select("enrolment_id")


#: The engine's handler of each of threeml's criterion classes.
HANDLERS: dict[type[Criterion], CriterionHandler] = {}


def handles(*classes: type[Criterion]) -> Callable[[type], type]:
    """Register the decorated handler class as the engine's handler of ``classes``."""

    def register(handler: type[CriterionHandler]) -> type[CriterionHandler]:
        for cls in classes:
            HANDLERS[cls] = handler()
        return handler

    return register


class PluginKindHandler(CriterionHandler):
    """A plugin's criterion kind: the users who pass are what its ``compile`` returns."""

    def __init__(self, kind: CriterionKind) -> None:
        self.kind = kind

    def user_pass(self, criterion: Any, compiler: Compiler) -> ir.Table:
        try:
            passed = self.kind.compile(criterion, compiler).select("user_id")
            return passed.filter(passed.user_id.notnull()).distinct()
        except Exception as error:
            raise EvaluationError(
                f"criterion kind {self.kind.name!r} (from {self.kind.criterion.__module__}) "
                f"failed to compile {criterion.describe()!r}: {error}"
            ) from error


def handler_for(criterion: Criterion, compiler: Compiler) -> CriterionHandler:
    """The handler of ``criterion``: threeml's own, else the plugin kind the compiler knows."""
    handler = HANDLERS.get(type(criterion))
    if handler is not None:
        return handler
    kind = compiler.plugin_kinds.get(type(criterion))
    if kind is not None:
        return PluginKindHandler(kind)
    installed = {cls.kind for cls in HANDLERS} | {k.name for k in compiler.plugin_kinds.values()}
    raise UnhandledCriterionKind.of(criterion, installed)


def user_pass(criterion: Criterion, compiler: Compiler) -> ir.Table:
    """The users who pass ``criterion`` (``user_id``), whatever its kind."""
    return handler_for(criterion, compiler).user_pass(criterion, compiler)


def enrolment_pass(criterion: Criterion, compiler: Compiler) -> ir.Table:
    """The enrolments passing ``criterion`` (``enrolment_id``), whatever its kind."""
    return handler_for(criterion, compiler).enrolment_pass(criterion, compiler)


# Enrolments of given kinds and sectors, tested on their dates in a window.


def _codes(values: Iterable[Any]) -> list[str]:
    return sorted(value.value for value in values)


def _kind_tests(criterion: Any, e: ir.Table) -> list[ir.BooleanValue]:
    tests = []
    if getattr(criterion, "service_kinds", None):
        tests.append(e.service_kind.isin(_codes(criterion.service_kinds)))
    if getattr(criterion, "sectors", None):
        tests.append(e.sector.isin(_codes(criterion.sectors)))
    return tests


def _overlapping(e: ir.Table, start: ir.DateScalar, end: ir.DateScalar) -> list[ir.BooleanValue]:
    """The installed window overlaps [start, end] (never installed: no window)."""
    return [
        e.installed_on.notnull(),
        e.installed_on <= end,
        e.ended_on.isnull() | (e.ended_on >= start),
    ]


def _referred(e: ir.Table, start: ir.DateScalar, end: ir.DateScalar) -> list[ir.BooleanValue]:
    return [e.referred_on >= start, e.referred_on <= end]


def _installed(e: ir.Table, start: ir.DateScalar, end: ir.DateScalar) -> list[ir.BooleanValue]:
    return [e.installed_on >= start, e.installed_on <= end]


class _DatedEnrolments(CriterionHandler):
    """Criteria matching enrolments of the given kinds and sectors by their dates in a window."""

    interval_aware = True

    dates: ClassVar[Callable[..., list[ir.BooleanValue]]]
    #: The enrolment dates ``dates`` compares with the window.
    dates_read: ClassVar[tuple[str, ...]]

    def series_dates(self, criterion: Any, name: str) -> tuple[str, ...]:
        return type(self).dates_read

    def tests(self, criterion: Any, compiler: Compiler, e: ir.Table) -> list[ir.BooleanValue]:
        start, end = compiler.window(criterion.window, e)
        return [*_kind_tests(criterion, e), *type(self).dates(e, start, end)]

    def matching(self, criterion: Any, compiler: Compiler) -> ir.Table:
        """The enrolments that match the criterion."""
        e = compiler.enrolments
        return e.filter(*self.tests(criterion, compiler, e))

    def enrolment_test(
        self, criterion: Any, compiler: Compiler, enrolments: ir.Table
    ) -> ir.BooleanValue:
        tests = self.tests(criterion, compiler, enrolments)
        return functools.reduce(operator.and_, tests, ibis.literal(True)).fill_null(False)


class _HasEnrolment(_DatedEnrolments):
    """The has-enrolment family: a user passes with one matching enrolment, and so does it."""

    judges_enrolment = True

    def user_pass(self, criterion: Any, compiler: Compiler) -> ir.Table:
        return self.matching(criterion, compiler).select("user_id").distinct()

    def enrolment_flag(
        self, criterion: Any, enrolments: ir.Table, name: str | None, owner: ir.BooleanValue
    ) -> ir.BooleanValue:
        return enrolments[name]

    def enrolment_pass(self, criterion: Any, compiler: Compiler) -> ir.Table:
        return self.matching(criterion, compiler).select("enrolment_id")


@handles(EnrolmentOverlaps)
class EnrolmentOverlapsHandler(_HasEnrolment):
    """``enrolment-overlaps``: an installed window overlapping the window."""

    dates = staticmethod(_overlapping)
    dates_read = ("installed_on", "ended_on")


@handles(ReferredIn)
class ReferredInHandler(_HasEnrolment):
    """``referred-in``: ``referred_on`` in the window."""

    dates = staticmethod(_referred)
    dates_read = ("referred_on",)


@handles(InstalledIn)
class InstalledInHandler(_HasEnrolment):
    """``installed-in``: ``installed_on`` in the window."""

    dates = staticmethod(_installed)
    dates_read = ("installed_on",)


@handles(SectorsAtLeast)
class SectorsAtLeastHandler(_DatedEnrolments):
    """``sectors-at-least``: distinct sectors among the overlapping enrolments (about the user)."""

    dates = staticmethod(_overlapping)
    dates_read = ("installed_on", "ended_on")

    def user_pass(self, criterion: SectorsAtLeast, compiler: Compiler) -> ir.Table:
        e = self.matching(criterion, compiler)
        per_user = e.group_by("user_id").agg(n=e.sector.nunique())
        return per_user.filter(per_user.n >= criterion.count).select("user_id")

    def user_aggregate(
        self, criterion: SectorsAtLeast, compiler: Compiler, facts: ir.Table, name: str
    ) -> ir.BooleanValue:
        # One "any enrolment in this sector" per sector, summed: a distinct count without
        # DISTINCT, which is much cheaper to group.
        sectors = [
            (facts[name] & (facts.sector == sector.value)).any().ifelse(1, 0) for sector in Sector
        ]
        return sum(sectors[1:], sectors[0]) >= criterion.count


def _installed_of_kind(criterion: FirstInstalledIn, enrolments: ir.Table) -> ir.BooleanValue:
    """Installed, and of one of the criterion's kinds (any kind when it names none)."""
    of_kind = enrolments.installed_on.notnull()
    if criterion.service_kinds:
        of_kind &= enrolments.service_kind.isin(_codes(criterion.service_kinds))
    return of_kind


@handles(FirstInstalledIn)
class FirstInstalledInHandler(_DatedEnrolments):
    """``first-installed-in``: the user's earliest installation of the kinds, in the window.

    The enrolments that contribute are those of the kinds installed in the window; the test
    itself is the minimum of ``installed_on`` over the user's enrolments of the kinds.
    """

    dates = staticmethod(_installed)
    dates_read = ("installed_on",)

    def fact_columns(
        self, criterion: FirstInstalledIn, compiler: Compiler, enrolments: ir.Table, name: str
    ) -> dict[str, ir.Value]:
        return {
            name: self.enrolment_test(criterion, compiler, enrolments),
            f"{name}_kind": _installed_of_kind(criterion, enrolments),
        }

    def user_aggregate(
        self, criterion: FirstInstalledIn, compiler: Compiler, facts: ir.Table, name: str
    ) -> ir.BooleanValue:
        start, end = compiler.window(criterion.window)
        first = facts.installed_on.min(where=facts[f"{name}_kind"])
        return (first >= start) & (first <= end)

    def series_columns(
        self, criterion: FirstInstalledIn, compiler: Compiler, enrolments: ir.Table, name: str
    ) -> dict[str, ir.Value]:
        # The user's first installation over all their enrolments of the kinds, beside each
        # enrolment: an interval's facts hold only the enrolments relevant to it.
        of_kind = _installed_of_kind(criterion, enrolments)
        first = of_kind.ifelse(enrolments.installed_on, ibis.null("date"))
        return {f"{name}_first": first.min().over(ibis.window(group_by="user_id"))}

    def series_fact_columns(
        self, criterion: FirstInstalledIn, compiler: Compiler, facts: ir.Table, name: str
    ) -> dict[str, ir.Value]:
        start, end = compiler.window(criterion.window, facts)
        first = facts[f"{name}_first"]
        return {
            name: self.enrolment_test(criterion, compiler, facts),
            f"{name}_in": ((first >= start) & (first <= end)).fill_null(False),
        }

    def series_user_aggregate(
        self, criterion: FirstInstalledIn, compiler: Compiler, facts: ir.Table, name: str
    ) -> ir.BooleanValue:
        return facts[f"{name}_in"].any()

    def series_dates(self, criterion: FirstInstalledIn, name: str) -> tuple[str, ...]:
        return ("installed_on", f"{name}_first")

    def user_pass(self, criterion: FirstInstalledIn, compiler: Compiler) -> ir.Table:
        e = compiler.enrolments
        if criterion.service_kinds:
            e = e.filter(e.service_kind.isin(_codes(criterion.service_kinds)))
        first = (
            e.filter(e.installed_on.notnull()).group_by("user_id").agg(first=e.installed_on.min())
        )
        start, end = compiler.window(criterion.window)
        return first.filter(first.first >= start, first.first <= end).select("user_id")


@handles(ContactsAtLeast)
class ContactsAtLeastHandler(CriterionHandler):
    """``contacts-at-least``: counting contacts of the kinds in the window, counted per enrolment.

    An enrolment contributes when it has one such contact; for an enrolment unit, the
    enrolment itself needs ``count`` of them.
    """

    interval_aware = True
    judges_enrolment = True

    def contacts(self, criterion: ContactsAtLeast, compiler: Compiler) -> ir.Table:
        """The counting contacts that count towards the criterion."""
        c = compiler.counting_contacts
        start, end = compiler.window(criterion.window)
        c = c.filter(c.date >= start, c.date <= end)
        if criterion.contact_kinds:
            c = c.filter(c.kind.isin(_codes(criterion.contact_kinds)))
        if criterion.service_kinds:
            c = c.filter(c.service_kind.isin(_codes(criterion.service_kinds)))
        return c

    def contact_span(self, criterion: ContactsAtLeast, compiler: Compiler) -> Period:
        return criterion.window.resolve(compiler.period)

    def series_dates(self, criterion: ContactsAtLeast, name: str) -> tuple[str, ...]:
        # Counted per (enrolment, interval) where there are contacts: those rows start runs.
        return ()

    def contact_cap(self, criterion: ContactsAtLeast) -> int:
        return max(criterion.count, 1)

    def contact_test(
        self, criterion: ContactsAtLeast, compiler: Compiler, contacts: ir.Table
    ) -> ir.BooleanValue:
        start, end = compiler.window(criterion.window, contacts)
        wanted = (contacts.date >= start) & (contacts.date <= end)
        if criterion.contact_kinds:
            wanted &= contacts.kind.isin(_codes(criterion.contact_kinds))
        if criterion.service_kinds:
            wanted &= contacts.service_kind.isin(_codes(criterion.service_kinds))
        return wanted

    def user_aggregate(
        self, criterion: ContactsAtLeast, compiler: Compiler, facts: ir.Table, name: str
    ) -> ir.BooleanValue:
        return facts[name].sum() >= criterion.count

    def contributes(
        self, criterion: ContactsAtLeast, facts: ir.Table, name: str
    ) -> ir.BooleanValue:
        return facts[name] > 0

    def enrolment_flag(
        self, criterion: ContactsAtLeast, enrolments: ir.Table, name: str | None, owner: Any
    ) -> ir.BooleanValue:
        return enrolments[name] >= criterion.count

    def user_pass(self, criterion: ContactsAtLeast, compiler: Compiler) -> ir.Table:
        c = self.contacts(criterion, compiler)
        per_user = c.group_by("user_id").agg(n=c.count())
        return per_user.filter(per_user.n >= criterion.count).select("user_id")

    def enrolment_pass(self, criterion: ContactsAtLeast, compiler: Compiler) -> ir.Table:
        c = self.contacts(criterion, compiler)
        per = c.group_by("enrolment_id").agg(n=c.count())
        return per.filter(per.n >= criterion.count).select("enrolment_id")


# Criteria about the user alone.


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
