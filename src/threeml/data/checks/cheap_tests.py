"""Cheap tests of cell checks: plain comparisons DuckDB applies inside its scan of a file.

A check's cheap test (:attr:`~threeml.data.checks.flagged.Check.passes`) passes only rows the
check would not flag, so a table whose every check has one is first counted in one scan, and
the checks' filter runs only when some row fails a test (:mod:`threeml.data.owned`).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from threeml.data.plausible import EARLIEST_DATE, TEXT_LIMIT, DateWindow
from threeml.data.report import ProblemKind
from threeml.records.schema import Column, Table

__all__ = ["cheap_pass", "or_missing"]


@ibis.udf.scalar.builtin(name="strlen")
def _bytes(text: str) -> int:
    """The length of ``text`` in bytes (DuckDB's ``strlen``: read from the string's header,
    where ``length`` counts its characters one by one); never fewer than its characters."""


def or_missing(col: Column, value: ir.Value, test: ir.BooleanValue) -> ir.BooleanValue:
    """``test``, or a missing ``value`` for an optional column (a required one that is
    missing fails its own check, so its cheap test may turn the row away)."""
    return test if col.required else value.isnull() | test


def cheap_pass(
    spec: Table,
    col: Column,
    kind: ProblemKind,
    text: ir.StringValue | None,
    parsed: ir.Value,
    window: DateWindow | None,
) -> ir.BooleanValue | None:
    """A plausibility check's cheap test for a typed source (:attr:`Check.passes`): plain
    comparisons of the value as stored, which DuckDB tests inside its scan of a Parquet
    file (``None``: the check's own flag, negated). Only DuckDB runs these tests
    (:mod:`threeml.data.owned`); other engines run the checks' filter alone."""
    if kind is ProblemKind.TEXT_TOO_LONG and text is not None:
        # A text of at most TEXT_LIMIT bytes has at most as many characters.
        return or_missing(col, text, _bytes(text) <= TEXT_LIMIT)
    if kind is ProblemKind.IMPLAUSIBLE_DATE and window is not None:
        within = parsed >= ibis.literal(EARLIEST_DATE)
        if spec.name != "targets":  # a target's due date is a plan: no upper bound
            within &= parsed <= ibis.literal(window.latest)
        return or_missing(col, parsed, within)
    return None
