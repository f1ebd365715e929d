"""Which definitions a series takes into its one pass, and what ``member-of`` stands for there.

:func:`in_one_pass` says which definitions the long tables of
:func:`~threeml.engine.series_tables.series_tables` evaluate on their own;
:func:`goes_together` what :func:`~threeml.engine.series.count_series` takes into its one
pass besides: ``member-of`` read as the named definition's criteria in each interval
(:func:`member_criteria`, :func:`add_members`) and plugins' criterion kinds read from their
user sets (:mod:`threeml.engine.series_sets`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from threeml.definitions import CountingDefinition, Criterion, MemberOf
from threeml.engine.compiler import Compiler
from threeml.engine.criteria import PluginKindHandler, handler_for
from threeml.engine.evaluate import ENROLMENT_BREAKDOWNS
from threeml.engine.figures import all_of
from threeml.engine.series_facts import AGE_BREAKDOWNS
from threeml.engine.series_tables import SeriesTables
from threeml.records.codes import Unit

__all__ = [
    "add_members",
    "followed_criteria",
    "goes_together",
    "in_one_pass",
    "member_criteria",
    "streamed",
]


def in_one_pass(definition: CountingDefinition, compiler: Compiler) -> bool:
    """Whether the series' long tables (:func:`~threeml.engine.series_tables.series_tables`)
    evaluate ``definition`` on their own: every criterion's handler interval-aware (no
    ``member-of``, no plugin's kind), one criterion at least about enrolments (a user counted
    in an interval then has facts there), and a definition counting enrolments judging each
    enrolment by its own row or contacts. (:func:`goes_together` says what
    :func:`count_series` takes into its one pass besides.)
    """
    return _in_one_pass(definition, compiler, (), members=False, sets=False)


def goes_together(
    definition: CountingDefinition, compiler: Compiler, by: Sequence[str] = ("area",)
) -> bool:
    """Whether :func:`count_series` by ``by`` evaluates ``definition`` in its one pass (else
    interval by interval): :func:`in_one_pass`, and besides

    - a ``member-of`` criterion of a definition counting people, read in each interval as the
      named definition's criteria in that interval (:func:`member_criteria`), when that
      definition counts people and goes in the one pass itself (a plugin's kind aside); it
      then stands for an enrolment criterion. A definition with no enrolment criterion of its
      own (its records are all its people's enrolments) needs one among those it refers to
      that is not read from contacts, and no breakdown by service kind or sector;
    - a plugin's criterion kind, read from its user sets (:mod:`threeml.engine.series_sets`),
      in a definition counting people none of whose criteria (``member-of`` followed) is read
      from contacts, when the series is read in one group-by (one user breakdown, not the age
      band).
    """
    if not any(c.about_enrolments for c in definition.criteria) and any(
        b in ENROLMENT_BREAKDOWNS for b in by
    ):
        return in_one_pass(definition, compiler)
    sets = streamed(by) and not any(b in AGE_BREAKDOWNS for b in by)
    return _in_one_pass(definition, compiler, (), members=True, sets=sets)


def _in_one_pass(
    definition: CountingDefinition,
    compiler: Compiler,
    seen: tuple[str, ...],
    *,
    members: bool,
    sets: bool,
) -> bool:
    """:func:`in_one_pass`, with ``member-of`` criteria and plugins' kinds read from user
    sets when asked (see :func:`goes_together`)."""
    if definition.name in seen:
        return False  # A cycle: refused interval by interval, with the error naming it.
    names = [c for c in definition.criteria if isinstance(c, MemberOf)]
    if names and not members:
        return False
    handlers = {
        c: handler_for(c, compiler) for c in definition.criteria if not isinstance(c, MemberOf)
    }
    plugins = [c for c, h in handlers.items() if isinstance(h, PluginKindHandler)]
    if not all(h.interval_aware for c, h in handlers.items() if c not in plugins):
        return False
    if names:
        if definition.unit is not Unit.USERS:
            return False
        for member in names:
            named = _named(member, compiler)
            if named is None or named.unit is not Unit.USERS:
                return False
            inner = (*seen, definition.name)
            if not _in_one_pass(named, compiler, inner, members=True, sets=False):
                return False
    if plugins:
        if not sets or definition.unit is not Unit.USERS:
            return False
        leaves = [c for c in definition.criteria if not isinstance(c, MemberOf)]
        leaves += [c for m in names for c in member_criteria(m, compiler)]
        return not any(
            c.about_enrolments and handler_for(c, compiler).contact_span(c, compiler) is not None
            for c in leaves
        )
    about = [h for c, h in handlers.items() if c.about_enrolments]
    if not about:
        if not names:
            return False
        # All its people's enrolments are its records: read from the runs (not kept apart
        # with the contacts), where one of the criteria it refers to is not from contacts.
        leaves = [c for m in names for c in member_criteria(m, compiler)]
        return any(
            c.about_enrolments and handler_for(c, compiler).contact_span(c, compiler) is None
            for c in leaves
        )
    return definition.unit is Unit.USERS or all(h.judges_enrolment for h in about)


def _named(member: MemberOf, compiler: Compiler) -> CountingDefinition | None:
    """The definition ``member`` names (``None`` when it cannot be found: the evaluation
    interval by interval says why)."""
    if compiler.resolve is None:
        return None
    try:
        return compiler.resolve(member.definition)
    except Exception:
        return None


def member_criteria(member: MemberOf, compiler: Compiler) -> tuple[Criterion, ...]:
    """What ``member`` stands for in a series: the named definition's criteria, those that
    are ``member-of`` themselves replaced by what they stand for (for a definition in the one
    pass, :func:`in_one_pass`).

    In each interval the named definition is evaluated as if that interval were the period,
    as a single period's ``member-of`` evaluates it on the period: so a user is a member in
    an interval exactly when they pass every one of these criteria there.
    """
    named = _named(member, compiler)
    assert named is not None
    found: dict[Criterion, None] = {}
    for c in named.criteria:
        found.update(
            dict.fromkeys(member_criteria(c, compiler) if isinstance(c, MemberOf) else [c])
        )
    return tuple(found)


def streamed(by: Sequence[str]) -> bool:
    """Whether a series by ``by`` reads its long tables in one group-by (not stored)."""
    user_columns = [b for b in by if b not in ENROLMENT_BREAKDOWNS]
    return len(user_columns) <= 1 and not any(b in ENROLMENT_BREAKDOWNS for b in by)


def followed_criteria(
    definition: CountingDefinition, members: Mapping[MemberOf, tuple[Criterion, ...]]
) -> list[Criterion]:
    """``definition``'s criteria, each ``member-of`` replaced by what it stands for."""
    out: list[Criterion] = []
    for c in definition.criteria:
        out += members[c] if isinstance(c, MemberOf) else [c]
    return out


def add_members(
    tables: SeriesTables,
    columns: Mapping[Criterion, str],
    members: Mapping[MemberOf, tuple[Criterion, ...]],
) -> None:
    """Each ``member-of`` criterion's flag in the long tables: every criterion it stands for
    true in the row. Read from the contact months when one of those is."""
    found = {columns[m]: [columns[c] for c in leaves] for m, leaves in members.items()}
    tables.flags = tables.flags.mutate(**{n: all_of(tables.flags, m) for n, m in found.items()})
    if tables.months is not None:
        months = tables.months
        tables.months = months.mutate(**{n: all_of(months, m) for n, m in found.items()})
        tables.contact_columns |= {n for n, m in found.items() if tables.contact_columns & set(m)}
    tables.columns = dict(columns)
    tables.member_columns = set(found)
