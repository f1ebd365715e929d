"""The engine's criterion handlers: the base class with every role, and the register.

:class:`CriterionHandler` lists every question an evaluation asks a criterion (see
:mod:`threeml.engine.criteria`); :data:`HANDLERS` maps each criterion class to its handler,
filled by :func:`handles` in :mod:`threeml.engine.criteria_enrolments` and
:mod:`threeml.engine.criteria_users`. Import handlers through :mod:`threeml.engine.criteria`,
which loads both families.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import ibis.expr.types as ir

from threeml.definitions import Criterion
from threeml.definitions.kinds import CriterionKind
from threeml.engine.compiler import Compiler
from threeml.engine.errors import EvaluationError, UnhandledCriterionKind
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

    def window_date(self, criterion: Any) -> tuple[str, Any] | None:
        """``(date column, window)`` when the criterion holds for an enrolment only if that
        date lies in the window (its series facts need only those intervals); else ``None``."""
        return None

    def needs_contacts(self, criterion: Any) -> bool:
        """Whether the criterion fails for a user without counting contacts in its window
        (a series then counts it only in the months with contacts:
        :mod:`threeml.engine.series_contacts`)."""
        return False

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
        """Whether each enrolment of the facts is a record behind ``criterion``.

        (For a user's verdict alone, see :meth:`needed_rows`.)"""
        return facts[name]

    def needed_rows(self, criterion: Any, facts: ir.Table, name: str) -> ir.BooleanValue | None:
        """The rows of the enrolment facts that :meth:`user_aggregate` needs, when a user it
        finds passing has at least one of them and the other rows never change its verdict;
        ``None`` (the default) when any row may matter. A members-only count
        (:mod:`threeml.engine.membership`) then groups only the rows some criterion needs."""
        return None

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
