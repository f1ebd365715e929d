"""From problem rows to a :class:`~threeml.data.ValidationReport`, and what a check leaves.

Both ways of checking an extract (on the embedded DuckDB threeml owns, and on a connection
it does not own) end here: the problem rows sit in a DuckDB relation, and the counts per
table and kind, the first few examples of each and the rows set aside per first problem
are read from it the same way. :class:`Checked` is what a check hands to
:class:`~threeml.data.Dataset`: the report and, unless the extract is refused, the tables.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import date
from typing import Any

import ibis.expr.types as ir
from attrs import frozen

from threeml.data.plausible import condition_hint
from threeml.data.report import Mode, Problem, ProblemKind, Severity, ValidationReport
from threeml.data.sql import literal
from threeml.records.schema import TABLES

__all__ = [
    "EXAMPLES_PER_KIND",
    "Checked",
    "build_report",
    "refused",
    "set_aside_counts",
    "summarise",
]

#: How many example problems of each kind and table a report keeps.
EXAMPLES_PER_KIND = 20

_KIND_ORDER = list(ProblemKind)
_UNKNOWN_CONDITION = ProblemKind.UNKNOWN_CONDITION.value


@frozen
class Checked:
    """An extract after validation: its report and, unless it is refused, its tables.

    ``tables`` maps every table of :data:`~threeml.records.schema.TABLES` to an ibis table
    on ``backend`` (``None`` when the extract is refused); ``extract_date`` is the date
    given, else the latest event date kept.
    """

    backend: Any
    report: ValidationReport
    tables: Mapping[str, ir.Table] | None = None
    extract_date: date | None = None
    #: The validation cache's entry and result (:class:`threeml.data.cache.KeptValidation`).
    kept: Any = None
    #: The stamp of each table file of a folder (:class:`threeml.data.stamps.FileStamp`),
    #: taken before a row was read; ``None`` for other sources.
    stamps: tuple[Any, ...] | None = None


def summarise(
    con: Any, relation: str, files: Mapping[str, str]
) -> tuple[dict[tuple[str, ProblemKind], int], list[Problem]]:
    """Problem counts per table and kind, and the first few problems of each as examples."""
    grouped = con.execute(f'SELECT "table", kind, count(*) FROM {relation} GROUP BY ALL').fetchall()
    counts = {(table, ProblemKind(kind)): int(n) for table, kind, n in grouped}
    sample = con.execute(
        f'SELECT "table", kind, message, row, "column", value FROM ('
        f'SELECT *, row_number() OVER (PARTITION BY "table", kind ORDER BY row, "column") AS _rank '
        f"FROM {relation}) WHERE _rank <= {EXAMPLES_PER_KIND} "
        'ORDER BY "table", kind, row, "column"'
    ).fetchall()
    examples = [
        Problem(
            table=table,
            kind=ProblemKind(kind),
            message=condition_hint(message) if kind == _UNKNOWN_CONDITION else message,
            file=files.get(table),
            row=row,
            column=column,
            value=value,
        )
        for table, kind, message, row, column, value in sample
    ]
    return counts, examples


def set_aside_counts(
    con: Any, rows_sql: str | None, malformed: Mapping[str, int]
) -> dict[tuple[str, ProblemKind], int]:
    """Rows set aside per table, each counted once under the first kind of problem it has.

    ``rows_sql`` selects the rows set aside as ``(table, row, kind)``; ``malformed`` holds
    the CSV lines that could not be read, per table (set aside before the engine saw them).
    """
    result: dict[tuple[str, ProblemKind], int] = {}
    if rows_sql:
        order = " ".join(f"WHEN {literal(k.value)} THEN {i}" for i, k in enumerate(_KIND_ORDER))
        counted = con.execute(
            f'SELECT "table", first, count(*) FROM (SELECT "table", row, '
            f"min(CASE kind {order} ELSE 999 END) AS first FROM ({rows_sql}) GROUP BY ALL) "
            "GROUP BY ALL"
        ).fetchall()
        result = {(table, _KIND_ORDER[first]): int(n) for table, first, n in counted}
    for name, n in malformed.items():
        result[(name, ProblemKind.MALFORMED_ROW)] = n
    return result


def build_report(
    source: str,
    row_counts: dict[str, int],
    counts: dict[tuple[str, ProblemKind], int],
    examples: list[Problem],
    staged: list[Problem],
    malformed: Mapping[str, int],
    set_aside: dict[tuple[str, ProblemKind], int],
) -> ValidationReport:
    """The report: the engine's problem counts and examples with those found before it.

    ``staged`` holds the problems found before the engine saw any row (missing files,
    headers) and the first few malformed CSV lines; ``malformed`` the exact number of
    malformed lines per table.
    """
    for problem in staged:
        if problem.kind is not ProblemKind.MALFORMED_ROW:
            key = (problem.table, problem.kind)
            counts[key] = counts.get(key, 0) + 1
    for name, n in malformed.items():
        counts[(name, ProblemKind.MALFORMED_ROW)] = n
    staged_examples = [
        p
        for _, group in itertools.groupby(
            sorted(staged, key=lambda p: (p.table, _KIND_ORDER.index(p.kind))),
            key=lambda p: (p.table, p.kind),
        )
        for p in list(group)[:EXAMPLES_PER_KIND]
    ]
    return ValidationReport(
        source=source,
        rows=row_counts,
        counts=counts,
        examples=tuple(sorted(staged_examples + examples, key=_example_order)),
        set_aside=set_aside,
    )


def refused(report: ValidationReport, staged: list[Problem], mode: Mode) -> bool:
    """Whether the dataset cannot be used: a structural error, or any error in strict mode."""
    structural = any(
        p.severity is Severity.ERROR for p in staged if p.kind is not ProblemKind.MALFORMED_ROW
    )
    return structural or (mode is Mode.STRICT and not report.ok)


def _example_order(problem: Problem) -> tuple[Any, ...]:
    table_order = list(TABLES).index(problem.table) if problem.table in TABLES else -1
    return (table_order, problem.row or 0, problem.column or "", _KIND_ORDER.index(problem.kind))
