"""The compiler: the dataset's tables and the period, as every criterion's compilation sees them.

A :class:`Compiler` is what a criterion kind's ``compile(criterion, compiler)`` receives (see
:class:`threeml.definitions.kinds.CriterionKind`): the users, the enrolments with their
service's kind and sector, the *counting* contacts (dated inside their own enrolment's
installed window) and the concrete days of a criterion's window. It also carries what nested
criteria need: how to look a definition up by name (``member-of``) and the plugin criterion
kinds known to this evaluation. The per-kind compilation itself lives in
:mod:`threeml.engine.criteria`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from functools import cached_property

import ibis
import ibis.expr.types as ir

from threeml.data import Dataset
from threeml.definitions import CountingDefinition, Criterion, Window
from threeml.definitions.kinds import CriterionKind
from threeml.records.periods import Period

__all__ = ["Compiler", "date_literal"]

#: Stands in for an open end (``ended_on`` empty) when comparing dates.
FAR_FUTURE = date(9999, 12, 31)


def date_literal(day: date) -> ir.DateScalar:
    """``day`` as an ibis date literal."""
    return ibis.literal(day, type="date")


class Compiler:
    """The tables and period criteria are compiled against, for one evaluation.

    ``resolve`` looks a counting definition up by name (for ``member-of``); ``kinds`` holds
    the criterion kinds of plugins this evaluation may meet, by name (as
    ``registry.criterion_kinds()`` gives them).
    """

    def __init__(
        self,
        dataset: Dataset,
        period: Period,
        resolve: Callable[[str], CountingDefinition] | None = None,
        kinds: Mapping[str, CriterionKind] | None = None,
    ) -> None:
        self.dataset = dataset
        self.period = period
        self.resolve = resolve
        #: The plugin criterion kinds, by criterion class.
        self.plugin_kinds: dict[type[Criterion], CriterionKind] = {
            kind.criterion: kind for kind in (kinds or {}).values()
        }
        #: The names of the definitions being resolved, innermost last (to find cycles).
        self.resolving: list[str] = []

    @cached_property
    def users(self) -> ir.Table:
        """The users table."""
        return self.dataset.table("users")

    @cached_property
    def enrolments(self) -> ir.Table:
        """Enrolments with their service's kind (``service_kind``) and ``sector``."""
        enrolments = self.dataset.table("enrolments")
        services = self.dataset.table("services").select(
            _service_id="service_id", service_kind="kind", sector="sector"
        )
        joined = enrolments.inner_join(services, enrolments.service_id == services._service_id)
        return joined.select(
            "enrolment_id",
            "user_id",
            "service_id",
            "referred_on",
            "installed_on",
            "ended_on",
            "service_kind",
            "sector",
        )

    @cached_property
    def counting_contacts(self) -> ir.Table:
        """Contacts dated inside their own enrolment's installed window.

        Columns: ``user_id``, ``enrolment_id``, ``date``, ``kind`` and the enrolment's
        ``service_kind``.
        """
        windows = self.enrolments.select("enrolment_id", "installed_on", "ended_on", "service_kind")
        counted = self.contacts_counting_on(windows)
        return counted.select("user_id", "enrolment_id", "date", "kind", "service_kind")

    def contacts_counting_on(self, enrolments: ir.Table) -> ir.Table:
        """The counting contacts, each with the columns of its row of ``enrolments`` (rows of
        :attr:`enrolments` with ``installed_on`` and ``ended_on``, and any columns added)
        besides ``enrolment_id`` and ``user_id``."""
        contacts = self.dataset.table("contacts")
        own = enrolments.rename(_enrolment_id="enrolment_id")
        if "user_id" in own.columns:
            own = own.drop("user_id")
        joined = contacts.inner_join(own, contacts.enrolment_id == own._enrolment_id)
        counted = joined.filter(
            joined.installed_on.notnull(),
            joined.date >= joined.installed_on,
            joined.date <= joined.ended_on.fill_null(date_literal(FAR_FUTURE)),
        )
        return counted.drop("_enrolment_id")

    def user_pass(self, criterion: Criterion) -> ir.Table:
        """The users who pass any criterion, threeml's or a known plugin's (``user_id``).

        A plugin kind's ``compile`` may build on other criteria this way.
        """
        from threeml.engine.criteria import user_pass  # the handlers build on this module

        return user_pass(criterion, self)

    def window(
        self, window: Window, table: ir.Table | None = None
    ) -> tuple[ir.DateValue, ir.DateValue]:
        """The first and last day of ``window`` in this evaluation's period, as literals.

        ``table`` is the table the days are compared with: a series compiler
        (:class:`threeml.engine.series_facts.SeriesCompiler`) reads each row's days from its
        interval columns; here, with one period, the days are the same for every row.
        """
        days = window.resolve(self.period)
        return date_literal(days.start), date_literal(days.end)
