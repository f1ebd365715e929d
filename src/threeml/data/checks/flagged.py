"""Checks run as one filter over a table: the failing rows, flagged, then spread into problems.

A table's row-local checks (each cell parses, each row keeps its own rules) are boolean
terms of one filter, so the table is scanned once however many checks it has. Only the
rows failing some check are kept, with one boolean column per check and the columns the
messages are built from (:attr:`FlaggedChecks.flagged`); :meth:`FlaggedChecks.problems`
then spreads those rows — normally none — into problem rows
(:mod:`threeml.data.checks.problems`), one per failing check. An engine that keeps the
flagged rows as a table of its own reads the large table once, and only has to build the
problem rows of the checks that some row failed.

Before that filter, an engine may count the rows that pass every check by its cheap test
(:meth:`FlaggedChecks.passing_rows`): a test that holds only where the check's flag does not,
written as plain comparisons the engine can push into its scan of the file. When every row
passes so, no row is flagged and the filter need not run; when some do not, the filter runs
as before and finds exactly which rows fail which check.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Collection, Mapping
from typing import Any

import ibis
import ibis.expr.types as ir
from attrs import field, frozen

from threeml.data.checks.problems import problem_rows
from threeml.data.report import ProblemKind

__all__ = ["Check", "FlaggedChecks", "flag_rows"]

#: A message: fixed text, or built from the flagged rows (and the extra columns they carry).
Message = str | Callable[[ir.Table], ir.StringValue]


@frozen(eq=False)
class Check:
    """One row-local check: the rows where ``flag`` holds have a problem of ``kind`` in
    ``column``.

    ``value`` builds the value the problem quotes from the flagged rows (by default the
    row's ``column``); ``extras`` are columns a message or value is built from, computed
    on the flagged rows only.
    """

    flag: ir.BooleanValue
    column: str
    kind: ProblemKind
    message: Message
    value: Callable[[ir.Table], ir.Value] | None = None
    extras: Mapping[str, ir.Value] = field(factory=dict)
    #: A test that holds only on rows where ``flag`` does not (true there, false or NULL
    #: anywhere else is allowed), cheaper to work out than ``flag``; ``None``: the negation
    #: of ``flag``, NULL read as not flagged.
    passes: ir.BooleanValue | None = None

    @property
    def passing(self) -> ir.BooleanValue:
        """The test a row passes only when this check does not flag it (:attr:`passes`)."""
        return ~self.flag.fill_null(False) if self.passes is None else self.passes


@frozen(eq=False)
class FlaggedChecks:
    """The row-local checks of one table, in two steps the engine can run apart.

    ``flagged`` selects, in one pass over the table, only the rows failing some check,
    with one boolean column per check (named in ``checks``) and the columns the messages
    are built from; :meth:`problems` spreads such rows into problem rows. ``source`` is
    the table checked.
    """

    table: str
    flagged: ir.Table
    #: (flag column, check), in the order the checks were given
    checks: tuple[tuple[str, Check], ...]
    source: ir.Table

    @property
    def flag_names(self) -> tuple[str, ...]:
        """The flag columns of :attr:`flagged`, one per check."""
        return tuple(name for name, _ in self.checks)

    @property
    def cheaply_tested(self) -> bool:
        """Whether every check has a cheap test of its own (:attr:`Check.passes`).

        Only then is :meth:`passing_rows` worth a scan before :attr:`flagged`: a check's
        flag negated (a regular expression, a test of NaN) costs the engine more as a
        filter in its scan than as a column, measured on DuckDB 1.5.
        """
        return all(check.passes is not None for _, check in self.checks)

    def passing_rows(self) -> ir.IntegerScalar:
        """How many rows of :attr:`source` pass every check's cheap test (:attr:`Check.passing`).

        A row that passes them all is flagged by no check, so when this equals the number of
        rows, :attr:`flagged` is empty; when it is smaller, some row *may* be flagged (a cheap
        test may turn away a row its check accepts), and only :attr:`flagged` says which.
        The tests are one conjunction, which an engine scanning a file can test in the scan.
        """
        return self.source.filter(*(check.passing for _, check in self.checks)).count()

    def problems(
        self, flagged: ir.Table | None = None, failing: Collection[str] | None = None
    ) -> ir.Table:
        """The problem rows of ``flagged`` (a table holding :attr:`flagged`'s rows), for the
        checks whose flags are in ``failing`` (by default every check; at least one must be
        named).

        Without ``flagged``, each check's part selects its own failing rows from
        :attr:`source` by its own flag: the query then names each check once, not the
        whole filter once per check (a query that a distributed engine plans in seconds
        per kilobyte).
        """
        parts = []
        for name, check in self.checks:
            if failing is not None and name not in failing:
                continue
            if flagged is None:
                rows = self.source.filter(check.flag)
                rows = rows.mutate(**check.extras) if check.extras else rows
            else:
                rows = flagged.filter(flagged[name])
            message = check.message(rows) if callable(check.message) else check.message
            value = rows[check.column] if check.value is None else check.value(rows)
            parts.append(problem_rows(rows, self.table, check.column, value, check.kind, message))
        if not parts:
            raise ValueError(f"no check of {self.table} is named in {sorted(failing or ())}")
        return ibis.union(*parts, distinct=False)


def flag_rows(table: str, source: ir.Table, checks: list[Check]) -> FlaggedChecks | None:
    """The rows of ``source`` failing any of ``checks``, flagged (``None``: no checks).

    Every check is one boolean column, written once; the filter names those columns, and
    the engine works them out on every row but keeps (and computes the extra columns for)
    the failing rows only.
    """
    if not checks:
        return None
    flags: dict[str, ir.BooleanValue] = {}
    extras: dict[str, Any] = {}
    named: list[tuple[str, Check]] = []
    for check in checks:
        name = f"_check{len(named)}"
        flags[name] = check.flag  # NULL (unknown) selects no row, as FALSE does
        extras.update(check.extras)
        named.append((name, check))
    flagged = source.mutate(**flags)
    flagged = flagged.filter(functools.reduce(operator.or_, (flagged[n] for n in flags)))
    flagged = flagged.mutate(**extras) if extras else flagged
    return FlaggedChecks(table, flagged, tuple(named), source)
