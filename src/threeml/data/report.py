"""What validation found: problems, their counts, and the rows set aside.

A :class:`ValidationReport` keeps every problem *count* but only the first few
problems of each kind as examples, so a file with millions of bad rows still
gives a short report.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any

from attrs import field, frozen

from threeml.errors import DataError

__all__ = [
    "DEFAULT_MAX_SET_ASIDE",
    "STRUCTURAL_KINDS",
    "InvalidDataset",
    "Mode",
    "Problem",
    "ProblemKind",
    "Severity",
    "TooManySetAside",
    "ValidationReport",
    "check_set_aside_share",
    "report_to_dict",
]


class Mode(StrEnum):
    """What to do with rows that fail validation."""

    STRICT = "strict"
    LENIENT = "lenient"


class Severity(StrEnum):
    """Whether a problem stops evaluation (error) or only deserves attention (warning)."""

    ERROR = "error"
    WARNING = "warning"


class ProblemKind(StrEnum):
    """The kinds of problem validation reports, each with a fixed severity."""

    MISSING_TABLE = "missing table"
    AMBIGUOUS_TABLE = "ambiguous table"
    UNREADABLE_FILE = "unreadable file"
    EMPTY_FILE = "empty file"
    MISSING_COLUMN = "missing column"
    DUPLICATE_COLUMN = "duplicate column"
    UNKNOWN_COLUMN = "unknown column"
    UNKNOWN_FILE = "unknown file"
    MALFORMED_ROW = "malformed row"
    MISSING_VALUE = "missing value"
    NOT_A_DATE = "not a date"
    NOT_AN_INTEGER = "not an integer"
    NOT_A_NUMBER = "not a number"
    UNKNOWN_CODE = "unknown code"
    OUT_OF_RANGE = "out of range"
    DUPLICATE_ID = "duplicate id"
    UNKNOWN_REFERENCE = "unknown reference"
    DATE_ORDER = "dates out of order"
    INCONSISTENT_REFERENCE = "inconsistent reference"
    REFERS_TO_SET_ASIDE = "refers to a row set aside"
    CONTROL_CHARACTER = "control character"
    TEXT_TOO_LONG = "text too long"
    IMPLAUSIBLE_DATE = "implausible date"
    AFTER_EXTRACT_DATE = "after the extract date"
    UNKNOWN_CONDITION = "unknown condition"
    INCONSISTENT_END = "inconsistent end"
    TIME_ZONE = "time zone"

    @property
    def severity(self) -> Severity:
        return Severity.WARNING if self in _WARNINGS else Severity.ERROR


#: The problem kinds that are warnings: reported, never refusing an extract or setting a row aside.
_WARNINGS = frozenset(
    {
        ProblemKind.UNKNOWN_COLUMN,
        ProblemKind.UNKNOWN_FILE,
        ProblemKind.AFTER_EXTRACT_DATE,
        ProblemKind.UNKNOWN_CONDITION,
        ProblemKind.INCONSISTENT_END,
    }
)


#: Problems about a whole file or column, which no row can be set aside for: they refuse an
#: extract in lenient mode too, and lenient mode is never suggested for them.
STRUCTURAL_KINDS = frozenset(
    {
        ProblemKind.MISSING_TABLE,
        ProblemKind.AMBIGUOUS_TABLE,
        ProblemKind.UNREADABLE_FILE,
        ProblemKind.EMPTY_FILE,
        ProblemKind.MISSING_COLUMN,
        ProblemKind.DUPLICATE_COLUMN,
        ProblemKind.TIME_ZONE,
    }
)

#: The largest share of a table's rows lenient mode sets aside before it refuses the extract.
DEFAULT_MAX_SET_ASIDE = 0.01


@frozen
class Problem:
    """One problem at one place: a file, a row as the user sees it, a column."""

    table: str
    kind: ProblemKind = field(converter=ProblemKind)
    message: str
    file: str | None = None
    row: int | None = None
    column: str | None = None
    value: str | None = None

    @property
    def severity(self) -> Severity:
        return self.kind.severity

    def location(self) -> str:
        """Where the problem is, as ``file, row N, column C``."""
        parts = [self.file or self.table]
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column {self.column}")
        return ", ".join(parts)


@frozen
class ValidationReport:
    """The outcome of validating one extract.

    ``counts`` holds the number of problems per ``(table, kind)``; ``examples``
    the first few problems of each; ``rows`` the rows read per table; and
    ``set_aside`` the rows left out per ``(table, kind)`` in lenient mode
    (empty in strict mode, where a dataset with errors is refused instead).
    """

    source: str
    rows: Mapping[str, int]
    counts: Mapping[tuple[str, ProblemKind], int]
    examples: tuple[Problem, ...]
    set_aside: Mapping[tuple[str, ProblemKind], int] = field(factory=dict)

    @property
    def errors(self) -> int:
        """How many error problems were found in all."""
        return sum(n for (_, kind), n in self.counts.items() if kind.severity is Severity.ERROR)

    @property
    def warnings(self) -> int:
        """How many warnings were found in all."""
        return sum(n for (_, kind), n in self.counts.items() if kind.severity is Severity.WARNING)

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return self.errors == 0

    def rows_set_aside(self, table: str) -> int:
        """How many rows of ``table`` were set aside (lenient mode)."""
        return sum(n for (name, _), n in self.set_aside.items() if name == table)

    def examples_of(self, kind: ProblemKind) -> tuple[Problem, ...]:
        return tuple(problem for problem in self.examples if problem.kind is kind)

    @classmethod
    def merge(cls, source: str, parts: Iterable[ValidationReport]) -> ValidationReport:
        """Combine the reports of several stages of one validation."""
        rows: dict[str, int] = {}
        counts: dict[tuple[str, ProblemKind], int] = {}
        set_aside: dict[tuple[str, ProblemKind], int] = {}
        examples: list[Problem] = []
        for part in parts:
            rows.update(part.rows)
            for key, n in part.counts.items():
                counts[key] = counts.get(key, 0) + n
            for key, n in part.set_aside.items():
                set_aside[key] = set_aside.get(key, 0) + n
            examples.extend(part.examples)
        return cls(
            source=source, rows=rows, counts=counts, examples=tuple(examples), set_aside=set_aside
        )


class InvalidDataset(DataError):
    """Raised in strict mode when an extract has errors; holds the full report."""

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        kinds = sorted(
            {
                kind.value
                for (_, kind), n in report.counts.items()
                if n and kind.severity is Severity.ERROR
            }
        )
        first = next((p for p in report.examples if p.severity is Severity.ERROR), None)
        example = f" First: {first.location()}: {first.message}." if first else ""
        structural = sorted(
            {kind.value for (_, kind), n in report.counts.items() if n and kind in STRUCTURAL_KINDS}
        )
        advice = (
            f" Lenient mode cannot help with {', '.join(structural)}: fix the files first."
            if structural
            else " Or load it in lenient mode (--lenient) to set the bad rows aside."
        )
        super().__init__(
            f"{report.source} has {report.errors} error(s) ({', '.join(kinds)}).{example} "
            f"Run `threeml validate {report.source}` for the full list.{advice}"
        )


class TooManySetAside(DataError):
    """Raised in lenient mode when more than the allowed share of a table's rows was set aside."""

    def __init__(self, report: ValidationReport, table: str, share: float, limit: float) -> None:
        self.report = report
        self.table = table
        self.share = share
        self.limit = limit
        reasons = ", ".join(
            f"{n:,} {kind.value}"
            for (name, kind), n in sorted(report.set_aside.items(), key=lambda item: -item[1])
            if name == table
        )
        super().__init__(
            f"lenient mode would set aside {report.rows_set_aside(table):,} of "
            f"{report.rows.get(table, 0):,} rows of {table} ({share:.1%}; {reasons}), more "
            f"than the {limit:.1%} it allows: that is no longer a few bad rows but a problem "
            f"with the whole extract (dates written DD/MM/YYYY?). Run `threeml validate "
            f"{report.source}`, fix the export, or allow more with --max-set-aside "
            f"(Python: max_set_aside=)"
        )


def check_set_aside_share(report: ValidationReport, limit: float) -> None:
    """Raise :class:`TooManySetAside` when more than ``limit`` of a table's rows were set aside.

    The share is counted per table (rows set aside over rows read), the largest first.
    """
    shares = sorted(
        (
            (report.rows_set_aside(table) / rows, table)
            for table, rows in report.rows.items()
            if rows and report.rows_set_aside(table)
        ),
        reverse=True,
    )
    if shares and shares[0][0] > limit:
        share, table = shares[0]
        raise TooManySetAside(report, table, share, limit)


def report_to_dict(report: ValidationReport) -> dict[str, Any]:
    """The report as plain JSON-ready data (used by ``threeml validate --format json``)."""
    return {
        "source": report.source,
        "ok": report.ok,
        "errors": report.errors,
        "warnings": report.warnings,
        "rows": dict(report.rows),
        "summary": [
            {"table": table, "kind": kind.value, "severity": kind.severity.value, "count": n}
            for (table, kind), n in sorted(report.counts.items(), key=lambda item: item[0])
        ],
        "problems": [
            {
                "table": p.table,
                "file": p.file,
                "row": p.row,
                "column": p.column,
                "value": p.value,
                "kind": p.kind.value,
                "severity": p.severity.value,
                "message": p.message,
            }
            for p in report.examples
        ],
        "set_aside": [
            {"table": table, "kind": kind.value, "rows": n}
            for (table, kind), n in sorted(report.set_aside.items(), key=lambda item: item[0])
        ],
    }
