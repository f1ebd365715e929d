"""``member-of`` read off the shared flags: the referenced definition's criteria as columns.

On its own, a ``member-of`` criterion is evaluated by compiling the definition it names
(:class:`~threeml.engine.criteria_users.MemberOfHandler`): its criteria are compiled again,
and for contact criteria the contacts are read again. Within one evaluation
(:func:`threeml.engine.evaluate.count_many`) every criterion already is a column of the
per-user flags, so :func:`member_of_columns` adds the named definition's criteria to the
evaluation's distinct criteria (shared with any definition that has them too) and
:func:`with_member_of` gives the ``member-of`` column as the conjunction of theirs: the users
passing every one of them, which is what the handler computes.

Only a definition counting users is read this way (a member of an enrolment count is a user
owning an enrolment that passes every criterion, which is not a conjunction of user flags);
any other case (no registry, an unknown name, a cycle) is left to the handler, which raises
the same errors as before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import ibis.expr.types as ir

from threeml.definitions import CountingDefinition, Criterion, MemberOf
from threeml.engine.figures import all_of
from threeml.records.codes import Unit

__all__ = ["member_of_columns", "with_member_of"]


def member_of_columns(
    columns: Mapping[Criterion, str], resolve: Callable[[str], CountingDefinition] | None
) -> tuple[dict[Criterion, str], dict[Criterion, list[str]]]:
    """The evaluation's criterion columns with those of every definition a ``member-of``
    among them names (recursively), and, per such ``member-of``, the columns it is the
    conjunction of, inner ones first.

    When any ``member-of`` cannot be read this way (see the module) nothing is: the
    columns come back as given, with no parts.
    """
    found = dict(columns)
    parts: dict[Criterion, list[str]] = {}

    def visit(criterion: Criterion, resolving: tuple[str, ...]) -> bool:
        if not isinstance(criterion, MemberOf) or criterion in parts:
            return True
        name = criterion.definition
        if resolve is None or name in resolving:
            return False
        try:
            definition = resolve(name)
        except Exception:  # the handler reports it, as without this module
            return False
        if definition.unit is not Unit.USERS:
            return True  # evaluated by its handler
        for inner in definition.criteria:
            found.setdefault(inner, f"c{len(found)}")
            if not visit(inner, (*resolving, name)):
                return False
        parts[criterion] = [found[inner] for inner in definition.criteria]
        return True

    for criterion in list(columns):
        if not visit(criterion, ()):
            return dict(columns), {}
    return found, parts


def with_member_of(
    flags: ir.Table, columns: Mapping[Criterion, str], parts: Mapping[Criterion, list[str]]
) -> ir.Table:
    """``flags`` with each ``member-of`` column of ``parts`` computed from its parts' columns
    (in the order of ``parts``: inner ones first)."""
    for criterion, names in parts.items():
        flags = flags.mutate(**{columns[criterion]: all_of(flags, names)})
    return flags
