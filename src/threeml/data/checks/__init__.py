"""Validation as set-based checks in the engine, one module per kind of check.

Each check is an ibis expression that selects the offending rows of a table as *problem rows*
(:mod:`~threeml.data.checks.problems`); nothing here loops over data rows in Python.
:func:`parse_table` (:mod:`~threeml.data.checks.cells`) turns a raw relation into typed columns
and reports cells that do not parse; :func:`row_checks` (:mod:`~threeml.data.checks.row_rules`)
reports the rules a row keeps on its own; both are one filter over the table
(:mod:`~threeml.data.checks.flagged`). :func:`relational_checks`
(:mod:`~threeml.data.checks.relational`) then reports duplicate ids and references that point
nowhere.
"""

from threeml.data.checks.cells import (
    CellChecks,
    cell_checks,
    parse_table,
    typed_schema,
    typed_table,
)
from threeml.data.checks.flagged import Check, FlaggedChecks, flag_rows
from threeml.data.checks.problems import PROBLEM_SCHEMA, ROW, VALUE_LIMIT, problem_rows
from threeml.data.checks.relational import (
    checkable,
    plain_references,
    referenced_tables,
    references_together,
    relational_checks,
)
from threeml.data.checks.row_rules import row_checks, row_rules

__all__ = [
    "PROBLEM_SCHEMA",
    "ROW",
    "VALUE_LIMIT",
    "CellChecks",
    "Check",
    "FlaggedChecks",
    "cell_checks",
    "checkable",
    "flag_rows",
    "parse_table",
    "plain_references",
    "problem_rows",
    "referenced_tables",
    "references_together",
    "relational_checks",
    "row_checks",
    "row_rules",
    "typed_schema",
    "typed_table",
]
