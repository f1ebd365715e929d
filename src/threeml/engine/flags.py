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

__all__ = [
    "enrolment_facts",
    "enrolment_facts_over",
    "enrolment_flags",
    "record_columns",
    "user_flags",
    "user_flags_over",
]


#: A criterion evaluated over one period: the period's compiler and the criterion.
Use = tuple[Compiler, Criterion]


def enrolment_facts(
    compiler: Compiler, criteria: Sequence[Criterion]
) -> tuple[ir.Table, dict[Criterion, str]]:
    """One row per enrolment with a column per enrolment criterion, and the columns' names.

    The column holds whether the enrolment matches the criterion (read from its row), or how
    many of its counting contacts count towards it. Every criterion read from contacts is
    counted in one group-by over the contacts, read once and only for the days needed.
    """
    if not criteria:
        return compiler.enrolments, {}
    facts, names = enrolment_facts_over([(compiler, c) for c in criteria])
    return facts, {c: name for (_, c), name in names.items()}


def enrolment_facts_over(uses: Sequence[Use]) -> tuple[ir.Table, dict[Use, str]]:
    """:func:`enrolment_facts` for criteria each over its own period (its compiler's): one
    row per enrolment with a column per (compiler, criterion), the contacts read once for
    every period's days. The compilers must share one dataset."""
    if not uses:
        raise ValueError("enrolment facts need at least one criterion")
    e = uses[0][0].enrolments
    names = {use: f"m{j}" for j, use in enumerate(uses)}
    handlers = {use: handler_for(use[1], use[0]) for use in uses}
    spans = {use: handlers[use].contact_span(use[1], use[0]) for use in uses}
    own: dict[str, ir.Value] = {}
    for use in uses:
        if spans[use] is None:
            own.update(handlers[use].fact_columns(use[1], use[0], e, names[use]))
    facts = e.mutate(**own)
    counted = [use for use in uses if spans[use] is not None]
    if not counted:
        return facts, names
    contacts = uses[0][0].counting_contacts
    contacts = contacts.filter(
        contacts.date >= date_literal(min(spans[use].start for use in counted)),
        contacts.date <= date_literal(max(spans[use].end for use in counted)),
    )
    counts = {
        names[use]: handlers[use].contact_test(use[1], use[0], contacts).sum() for use in counted
    }
    per_enrolment = contacts.group_by("enrolment_id").agg(**counts)
    per_enrolment = per_enrolment.rename(_eid="enrolment_id")
    joined = facts.left_join(per_enrolment, facts.enrolment_id == per_enrolment._eid)
    joined = joined.drop("_eid")
    return joined.mutate(**{names[use]: joined[names[use]].fill_null(0) for use in counted}), names


def user_flags(
    compiler: Compiler,
    facts: ir.Table,
    fact_names: Mapping[Criterion, str],
    columns: Mapping[Criterion, str],
    user_columns: Sequence[str],
) -> ir.Table:
    """One row per user with a boolean column per criterion (named by ``columns``)."""
    return user_flags_over(
        compiler,
        facts,
        {(compiler, c): name for c, name in fact_names.items()},
        {(compiler, c): name for c, name in columns.items()},
        user_columns,
    )


def user_flags_over(
    compiler: Compiler,
    facts: ir.Table | None,
    fact_names: Mapping[Use, str],
    columns: Mapping[Use, str],
    user_columns: Sequence[str],
    carry: Sequence[str] = (),
) -> ir.Table:
    """:func:`user_flags` for criteria each over its own period: one row per user with a
    boolean column per (compiler, criterion) of ``columns``; ``facts`` are
    :func:`enrolment_facts_over`'s (``None`` when no criterion is about enrolments). The
    breakdown columns are read over ``compiler``'s period; ``carry`` names users columns kept
    as they are, as ``_u_<name>``."""
    per_user = {
        m: handler_for(c, k).user_aggregate(c, k, facts, m) for (k, c), m in fact_names.items()
    }
    users = compiler.users
    if per_user:
        assert facts is not None
        grouped = facts.group_by("user_id").agg(**per_user).rename(_uid="user_id")
        users = users.left_join(grouped, users.user_id == grouped._uid)
    flags: dict[str, ir.Value] = {}
    for (k, c), name in columns.items():
        if (k, c) in fact_names:
            flags[name] = users[fact_names[k, c]].fill_null(False)
        else:
            flags[name] = handler_for(c, k).user_flag(c, k, users)
    grouping = {name: breakdown_value(users, name, compiler.period) for name in user_columns}
    grouping.update({f"_u_{name}": users[name] for name in carry})
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
