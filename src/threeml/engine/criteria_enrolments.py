"""Handlers of the criteria about enrolments: dated enrolments of kinds and sectors, the first
installation, and counting contacts (see :mod:`threeml.engine.criteria`)."""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

import ibis
import ibis.expr.types as ir

from threeml.definitions import (
    ContactsAtLeast,
    EnrolmentOverlaps,
    FirstInstalledIn,
    InstalledIn,
    ReferredIn,
    SectorsAtLeast,
)
from threeml.engine.compiler import Compiler
from threeml.engine.handlers import CriterionHandler, handles
from threeml.records.codes import Sector
from threeml.records.periods import Period

__all__ = [
    "ContactsAtLeastHandler",
    "EnrolmentOverlapsHandler",
    "FirstInstalledInHandler",
    "InstalledInHandler",
    "ReferredInHandler",
    "SectorsAtLeastHandler",
]


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

    def needed_rows(self, criterion: Any, facts: ir.Table, name: str) -> ir.BooleanValue:
        # Passing needs a matching enrolment (one, or one in each of ``count`` sectors).
        return facts[name]


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

    def window_date(self, criterion: Any) -> tuple[str, Any]:
        return ("referred_on", criterion.window)


@handles(InstalledIn)
class InstalledInHandler(_HasEnrolment):
    """``installed-in``: ``installed_on`` in the window."""

    dates = staticmethod(_installed)
    dates_read = ("installed_on",)

    def window_date(self, criterion: Any) -> tuple[str, Any]:
        return ("installed_on", criterion.window)


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

    def needed_rows(
        self, criterion: FirstInstalledIn, facts: ir.Table, name: str
    ) -> ir.BooleanValue:
        # The minimum reads only the installed enrolments of the kinds.
        return facts[f"{name}_kind"]

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

    def needs_contacts(self, criterion: ContactsAtLeast) -> bool:
        return criterion.count >= 1

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

    def needed_rows(
        self, criterion: ContactsAtLeast, facts: ir.Table, name: str
    ) -> ir.BooleanValue | None:
        # Enrolments without such contacts add 0 to the sum; passing needs one with some.
        return facts[name] > 0 if criterion.count >= 1 else None

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
