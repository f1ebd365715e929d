"""Relational checks: duplicate ids, references that point nowhere and cross-column rules.

Each check selects its problem rows (:mod:`threeml.data.checks.problems`) from typed tables
(:mod:`threeml.data.checks.cells`), as ibis expressions the engine runs.
"""

from __future__ import annotations

from collections.abc import Mapping

import ibis
import ibis.expr.types as ir

from threeml.data.checks.problems import ROW, problem_rows
from threeml.data.report import ProblemKind
from threeml.records.rows import BothOrNeither, DateOrder, MatchesReference, MinimumWhen
from threeml.records.schema import Table
from threeml.records.schema import table as table_spec

__all__ = ["checkable", "referenced_tables", "relational_checks"]


def referenced_tables(spec: Table) -> set[str]:
    """The tables whose rows the relational checks of ``spec`` read."""
    tables = {col.references[0] for col in spec.columns if col.references}
    return tables | {rule.table for rule in spec.rules if hasattr(rule, "table")}


def checkable(spec: Table, present: frozenset[str]) -> bool:
    """Whether the relational checks of ``spec`` can run: every table they read is present."""
    return referenced_tables(spec) <= present


def relational_checks(
    spec: Table, typed: ir.Table, tables: Mapping[str, ir.Table]
) -> list[ir.Table]:
    """Problem rows for duplicate keys, dangling references and cross-column rules.

    ``tables`` maps table names to typed tables, for references. Each returned expression
    is meant to run as one query.

    A :class:`~threeml.records.MatchesReference` rule (a contact's enrolment belongs to the
    contact's user) is checked with one anti-join of the table against the pairs it must
    match; only the rows that fail it — normally none — are then examined further. A row
    whose enrolment id is unknown is among them, so the reference check of ``via`` runs on
    them alone, and so does the reference check of a matched column that the other table
    references in the same way (a contact's user is its enrolment's user, whose own
    reference is checked on the enrolments). That keeps a large table such as the contacts
    to a single pass for all three checks; the only report lost is a contact-level
    "unknown user" when the contact's enrolment already names that unknown user (the
    enrolment is reported, and in lenient mode the contact goes with it).
    """
    problems: list[ir.Table] = []
    if spec.key:
        problems.append(_duplicates(spec, typed))
    suspects: dict[str, ir.Table] = {}  # column -> the only rows that may fail its reference
    matched: list[ir.Table] = []
    for rule in spec.rules:
        if not isinstance(rule, MatchesReference) or not spec.column(rule.via).references:
            continue
        rows, checks = _matching_rule(spec, rule, typed, tables)
        suspects[rule.via] = rows
        other = table_spec(rule.table)
        for c in rule.columns:
            if (
                spec.column(c).references
                and spec.column(c).references == other.column(c).references
            ):
                suspects[c] = rows
        matched.append(checks)
    for col in spec.columns:
        if not col.references:
            continue
        other_name, other_col = col.references
        other = tables[other_name]
        rows = suspects.get(col.name, typed)
        dangling = rows.filter(rows[col.name].notnull()).anti_join(
            other, rows[col.name] == other[other_col]
        )
        problem = problem_rows(
            dangling,
            spec.name,
            col.name,
            dangling[col.name],
            ProblemKind.UNKNOWN_REFERENCE,
            f"no {other_name} row has this {other_col}; add it to {other_name} or correct the id",
        )
        if col.name in suspects:
            matched.append(problem)
        else:
            problems.append(problem)
    if matched:
        problems.append(ibis.union(*matched, distinct=False))
    for rule in spec.rules:
        if not (isinstance(rule, MatchesReference) and rule.via in suspects):
            problems.extend(_rule_problems(spec, rule, typed, tables))
    return problems


def _duplicates(spec: Table, typed: ir.Table) -> ir.Table:
    """Every row whose key an earlier row already holds, naming the first row that holds it.

    One aggregate finds the keys used more than once (normally none) with their first row;
    only the rows holding those keys are then joined back: no window over the whole table.
    """
    key = spec.key
    used = typed.filter(typed[key].notnull())
    repeated = (
        used.group_by(_key=used[key])
        .aggregate(_first=used[ROW].min(), _times=used.count())
        .filter(lambda t: t._times > 1)
    )
    joined = used.inner_join(repeated, used[key] == repeated._key)
    dupes = joined.filter(joined[ROW] != joined._first)
    return problem_rows(
        dupes,
        spec.name,
        key,
        dupes[key],
        ProblemKind.DUPLICATE_ID,
        ibis.literal(f"{key} already used on row ")
        + dupes._first.cast("string")
        + ibis.literal("; ids must be unique"),
    )


def _matching_rule(
    spec: Table, rule: MatchesReference, typed: ir.Table, tables: Mapping[str, ir.Table]
) -> tuple[ir.Table, ir.Table]:
    """The rows failing ``rule`` or its reference (one anti-join), and the rule's problems."""
    pairs = _owner_pairs(rule, tables)
    rows = typed.filter(typed[rule.via].notnull())
    rows = rows.anti_join(
        pairs,
        [rows[rule.via] == pairs._ref, *(rows[c] == pairs[f"_other_{c}"] for c in rule.columns)],
    )
    # The filter ends ibis's join chain, so the checks below share these few rows (one common
    # table expression) instead of each folding the anti-join into a join of its own.
    rows = rows.filter(ibis.literal(True)).select(*typed.columns)
    return rows, _mismatches(spec, rule, rows, pairs.view())


def _owner_pairs(rule: MatchesReference, tables: Mapping[str, ir.Table]) -> ir.Table:
    """The other table's key (``_ref``) with the columns ``rule`` matches (``_other_<c>``)."""
    other = tables[rule.table]
    other_key = next(c.name for c in table_spec(rule.table).columns if c.key)
    return other.select(_ref=other[other_key], **{f"_other_{c}": other[c] for c in rule.columns})


def _mismatches(spec: Table, rule: MatchesReference, rows: ir.Table, owners: ir.Table) -> ir.Table:
    """Problem rows for the ``rows`` whose matched columns differ from their owner's."""
    joined = rows.inner_join(owners, rows[rule.via] == owners._ref)
    mismatch = ibis.literal(False)
    for c in rule.columns:
        mismatch |= joined[c] != joined[f"_other_{c}"]
    bad = joined.filter(mismatch)
    first = rule.columns[0]
    return problem_rows(
        bad,
        spec.name,
        first,
        bad[first],
        ProblemKind.INCONSISTENT_REFERENCE,
        ibis.literal(f"{rule.reason}: {rule.via} ")
        + bad[rule.via]
        + ibis.literal(f" belongs to {first} ")
        + bad[f"_other_{first}"],
    )


def _rule_problems(
    spec: Table, rule, typed: ir.Table, tables: Mapping[str, ir.Table]
) -> list[ir.Table]:
    if isinstance(rule, BothOrNeither):
        first, second = typed[rule.first], typed[rule.second]
        bad = typed.filter(first.isnull() != second.isnull())
        given = bad[rule.first].isnull().ifelse(rule.second, rule.first)
        missing = bad[rule.first].isnull().ifelse(rule.first, rule.second)
        return [
            problem_rows(
                bad,
                spec.name,
                rule.second,
                ibis.coalesce(bad[rule.first].cast("string"), bad[rule.second].cast("string")),
                ProblemKind.INCONSISTENT_END,
                given
                + ibis.literal(" is given but ")
                + missing
                + ibis.literal(
                    " is empty; the row is kept (an enrolment ends on its ended_on, whatever"
                    " its end_reason): fill in both or neither"
                ),
            )
        ]
    if isinstance(rule, DateOrder):
        bad = typed.filter(typed[rule.later] < typed[rule.earlier])
        return [
            problem_rows(
                bad,
                spec.name,
                rule.later,
                bad[rule.later],
                ProblemKind.DATE_ORDER,
                ibis.literal(f"{rule.later} is before {rule.earlier} (")
                + bad[rule.earlier].cast("string")
                + ibis.literal(")"),
            )
        ]
    if isinstance(rule, MinimumWhen):
        bad = typed.filter(
            typed[rule.when_column].isin(sorted(rule.when_in)) & (typed[rule.column] < rule.minimum)
        )
        return [
            problem_rows(
                bad,
                spec.name,
                rule.column,
                bad[rule.column],
                ProblemKind.OUT_OF_RANGE,
                f"{rule.reason}: expected at least {rule.minimum:g} for "
                f"{', '.join(sorted(rule.when_in))}",
            )
        ]
    if isinstance(rule, MatchesReference):
        return [_mismatches(spec, rule, typed, _owner_pairs(rule, tables))]
    raise TypeError(f"no check for rule {rule!r}")  # pragma: no cover
