"""Relational checks: duplicate ids, references that point nowhere and rules across tables.

Each check selects its problem rows (:mod:`threeml.data.checks.problems`) from typed tables
(:mod:`threeml.data.checks.cells`), as ibis expressions the engine runs.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import ibis
import ibis.expr.types as ir

from threeml.data.checks.problems import ROW, problem_rows
from threeml.data.plausible import control_character_check
from threeml.data.report import ProblemKind
from threeml.records.rows import MatchesReference
from threeml.records.schema import Table
from threeml.records.schema import table as table_spec

__all__ = [
    "checkable",
    "plain_references",
    "referenced_tables",
    "references_together",
    "relational_checks",
]


def referenced_tables(spec: Table) -> set[str]:
    """The tables whose rows the relational checks of ``spec`` read."""
    tables = {col.references[0] for col in spec.columns if col.references}
    return tables | {rule.table for rule in spec.rules if isinstance(rule, MatchesReference)}


def checkable(spec: Table, present: frozenset[str]) -> bool:
    """Whether the relational checks of ``spec`` can run: every table they read is present."""
    return referenced_tables(spec) <= present


def plain_references(spec: Table) -> tuple[str, ...]:
    """The columns of ``spec`` whose reference :func:`relational_checks` checks on every
    row (not only on the rows failing a :class:`~threeml.records.MatchesReference` rule)."""
    suspects = _suspect_columns(spec)
    return tuple(c.name for c in spec.columns if c.references and c.name not in suspects)


def _suspect_columns(spec: Table) -> set[str]:
    """The reference columns checked only on the rows failing a matching rule."""
    columns: set[str] = set()
    for rule in spec.rules:
        if not isinstance(rule, MatchesReference) or not spec.column(rule.via).references:
            continue
        columns.add(rule.via)
        other = table_spec(rule.table)
        columns.update(
            c
            for c in rule.columns
            if spec.column(c).references and spec.column(c).references == other.column(c).references
        )
    return columns


def references_together(
    refs: Sequence[tuple[Table, str, ir.Table]], tables: Mapping[str, ir.Table]
) -> ir.Table:
    """Problem rows for the plain references ``refs`` (each a table's spec, a column of it
    and its typed table), all to one key, found by one anti-join against that key.

    The same problems as :func:`relational_checks` reports for each of them apart, but the
    key's table is read and hashed once rather than once per referring column (the
    enrolments', outcomes' and allocations' users).
    """
    targets = {spec.column(column).references for spec, column, _ in refs}
    if len(targets) != 1:
        raise ValueError(f"references_together needs references to one key, not {targets}")
    other_name, other_col = targets.pop()
    other = tables[other_name]
    keys = ibis.union(
        *(
            typed.select(
                _table=ibis.literal(spec.name, type="string"),
                _column=ibis.literal(column, type="string"),
                _row=typed[ROW],
                _value=typed[column].cast("string"),
            )
            for spec, column, typed in refs
        ),
        distinct=False,
    )
    keys = keys.filter(keys._value.notnull())
    dangling = keys.anti_join(other, keys._value == other[other_col])
    # The filter ends ibis's join chain, so that every part below reads these few rows.
    dangling = dangling.filter(ibis.literal(True)).select("_table", "_column", ROW, "_value")
    parts = []
    for spec, column, _ in refs:
        rows = dangling.filter((dangling._table == spec.name) & (dangling._column == column))
        parts.append(_dangling_problems(spec, column, rows.select(ROW, _value=rows._value)))
    return ibis.union(*parts, distinct=False)


def relational_checks(
    spec: Table,
    typed: ir.Table,
    tables: Mapping[str, ir.Table],
    *,
    checked_apart: Collection[str] = (),
) -> list[ir.Table]:
    """Problem rows for duplicate keys, dangling references and rules read across tables.

    ``tables`` maps table names to typed tables, for references. Each returned expression
    is meant to run as one query. (The rules a row keeps on its own are
    :func:`~threeml.data.checks.row_rules.row_checks`.)

    A :class:`~threeml.records.MatchesReference` rule (a contact's enrolment belongs to the
    contact's user) is checked with one anti-join of the table's key columns against the
    pairs it must match; only the rows that fail it — normally none — are then examined
    further. A row whose enrolment id is unknown is among them, so the reference check of
    ``via`` runs on them alone, and so does the reference check of a matched column that
    the other table references in the same way (a contact's user is its enrolment's user,
    whose own reference is checked on the enrolments). That keeps a large table such as
    the contacts to a single pass, reading only its key columns, for all three checks;
    the only report lost is a contact-level "unknown user" when the contact's enrolment
    already names that unknown user (the enrolment is reported, and in lenient mode the
    contact goes with it).

    A reference column's values are searched for control characters only on the rows
    whose value is not found in the other table (the cell checks leave that search out
    when the references are checked: see :func:`~threeml.data.checks.cells.cell_checks`).

    The plain references named in ``checked_apart`` are left out: the caller checks them
    with :func:`references_together`.
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
        if not col.references or (col.name in checked_apart and col.name not in suspects):
            continue
        rows = suspects.get(col.name, typed)
        problem = _dangling(spec, col.name, rows, tables)
        if col.name in suspects:
            matched.append(problem)
        else:
            problems.append(problem)
    if matched:
        problems.append(ibis.union(*matched, distinct=False))
    for rule in spec.rules:
        if isinstance(rule, MatchesReference) and rule.via not in suspects:
            problems.append(_mismatches(spec, rule, typed, _owner_pairs(rule, tables)))
    return problems


def _dangling(spec: Table, column: str, rows: ir.Table, tables: Mapping[str, ir.Table]) -> ir.Table:
    """Problem rows for the ``rows`` whose ``column`` names no row of the table it refers
    to, and for those of them whose value holds a control character."""
    other_name, other_col = spec.column(column).references
    other = tables[other_name]
    keys = rows.select(ROW, column)
    dangling = keys.filter(keys[column].notnull()).anti_join(
        other, keys[column] == other[other_col]
    )
    # The filter ends ibis's join chain, so that both problems below read these few rows.
    dangling = dangling.filter(ibis.literal(True))
    return _dangling_problems(spec, column, dangling.select(ROW, _value=dangling[column]))


def _dangling_problems(spec: Table, column: str, dangling: ir.Table) -> ir.Table:
    """Problem rows for ``dangling`` (``_row`` and ``_value``: rows whose ``column`` names
    no row of the table it refers to): each such value, and each holding a control
    character."""
    other_name, other_col = spec.column(column).references
    unknown = problem_rows(
        dangling,
        spec.name,
        column,
        dangling._value,
        ProblemKind.UNKNOWN_REFERENCE,
        f"no {other_name} row has this {other_col}; add it to {other_name} or correct the id",
    )
    flag, _, kind, message = control_character_check(column, dangling._value)
    control = dangling.filter(flag)
    return ibis.union(
        unknown,
        problem_rows(control, spec.name, column, control._value, kind, message),
        distinct=False,
    )


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
    # Only the key columns are read: the probe of the anti-join is the whole (large) table.
    keys = [ROW, rule.via, *(c for c in rule.columns if c != rule.via)]
    rows = typed.select(*keys)
    rows = rows.filter(rows[rule.via].notnull())
    rows = rows.anti_join(
        pairs,
        [rows[rule.via] == pairs._ref, *(rows[c] == pairs[f"_other_{c}"] for c in rule.columns)],
    )
    # The filter ends ibis's join chain, so the checks below share these few rows (one common
    # table expression) instead of each folding the anti-join into a join of its own.
    rows = rows.filter(ibis.literal(True)).select(*keys)
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
