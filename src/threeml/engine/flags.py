"""The shared tables of one evaluation: enrolment facts, and a flag per criterion per unit.

Every distinct criterion of every definition being evaluated becomes one column, computed
once: a column of the *enrolment facts* (one row per enrolment) for an enrolment criterion,
then one boolean column of the *user flags* (one row per user) for every criterion, and, when
a definition counts enrolments, of the *enrolment flags* (one row per enrolment). Counts, both
attrition forms and breakdowns are then aggregates over these tables
(:mod:`threeml.engine.evaluate`), as OHDSI does with inclusion-rule masks. What each column
holds is asked of the criterion's handler (:mod:`threeml.engine.criteria`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import ibis.expr.types as ir

from threeml.definitions import Criterion
from threeml.engine.breakdowns import breakdown_value
from threeml.engine.compiler import Compiler, date_literal
from threeml.engine.criteria import handler_for

__all__ = ["enrolment_facts", "enrolment_flags", "record_columns", "user_flags"]


def enrolment_facts(
    compiler: Compiler, criteria: Sequence[Criterion]
) -> tuple[ir.Table, dict[Criterion, str]]:
    """One row per enrolment with a column per enrolment criterion, and the columns' names.

    The column holds whether the enrolment matches the criterion (read from its row), or how
    many of its counting contacts count towards it. Every criterion read from contacts is
    counted in one group-by over the contacts, read once and only for the days needed.
    """
    e = compiler.enrolments
    names = {c: f"m{j}" for j, c in enumerate(criteria)}
    handlers = {c: handler_for(c, compiler) for c in criteria}
    spans = {c: handlers[c].contact_span(c, compiler) for c in criteria}
    own: dict[str, ir.Value] = {}
    for c in criteria:
        if spans[c] is None:
            own.update(handlers[c].fact_columns(c, compiler, e, names[c]))
    facts = e.mutate(**own)
    counted = [c for c in criteria if spans[c] is not None]
    if not counted:
        return facts, names
    contacts = compiler.counting_contacts
    contacts = contacts.filter(
        contacts.date >= date_literal(min(spans[c].start for c in counted)),
        contacts.date <= date_literal(max(spans[c].end for c in counted)),
    )
    counts = {names[c]: handlers[c].contact_test(c, compiler, contacts).sum() for c in counted}
    per_enrolment = contacts.group_by("enrolment_id").agg(**counts)
    per_enrolment = per_enrolment.rename(_eid="enrolment_id")
    joined = facts.left_join(per_enrolment, facts.enrolment_id == per_enrolment._eid)
    joined = joined.drop("_eid")
    return joined.mutate(**{names[c]: joined[names[c]].fill_null(0) for c in counted}), names


def user_flags(
    compiler: Compiler,
    facts: ir.Table,
    fact_names: Mapping[Criterion, str],
    columns: Mapping[Criterion, str],
    user_columns: Sequence[str],
) -> ir.Table:
    """One row per user with a boolean column per criterion (named by ``columns``)."""
    per_user = {
        m: handler_for(c, compiler).user_aggregate(c, compiler, facts, m)
        for c, m in fact_names.items()
    }
    users = compiler.users
    if per_user:
        grouped = facts.group_by("user_id").agg(**per_user).rename(_uid="user_id")
        users = users.left_join(grouped, users.user_id == grouped._uid)
    flags: dict[str, ir.Value] = {}
    for c, name in columns.items():
        if c in fact_names:
            flags[name] = users[fact_names[c]].fill_null(False)
        else:
            flags[name] = handler_for(c, compiler).user_flag(c, compiler, users)
    grouping = {name: breakdown_value(users, name, compiler.period) for name in user_columns}
    return users.select("user_id", **grouping, **flags)


def enrolment_flags(
    compiler: Compiler,
    facts: ir.Table,
    fact_names: Mapping[Criterion, str],
    flags: ir.Table,
    columns: Mapping[Criterion, str],
    user_columns: Sequence[str],
) -> ir.Table:
    """One row per enrolment with a boolean column per criterion, for enrolment units.

    The has-enrolment family and contacts test the enrolment itself; every other criterion is
    about its user, whose flag (from the user ``flags``) the enrolment takes.
    """
    owners = flags.select(*user_columns, *columns.values(), _uid="user_id")
    owners = owners.rename(**{f"_u_{n}": n for n in columns.values()})
    joined = facts.left_join(owners, facts.user_id == owners._uid)
    verdicts = {
        name: handler_for(c, compiler).enrolment_flag(
            c, joined, fact_names.get(c), joined[f"_u_{name}"].fill_null(False)
        )
        for c, name in columns.items()
    }
    return joined.select(
        "enrolment_id", "user_id", "service_kind", "sector", *user_columns, **verdicts
    )


def record_columns(
    compiler: Compiler, facts: ir.Table, fact_names: Mapping[Criterion, str]
) -> dict[str, ir.BooleanValue]:
    """Per enrolment criterion, whether each enrolment of ``facts`` contributes to it.

    Named ``k<j>`` after the criterion's fact column ``m<j>``.
    """
    return {
        f"k{m[1:]}": handler_for(c, compiler).contributes(c, facts, m)
        for c, m in fact_names.items()
    }
