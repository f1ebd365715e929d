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
    "InvalidDataset",
    "Mode",
    "Problem",
    "ProblemKind",
    "Severity",
    "ValidationReport",
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
        super().__init__(
            f"{report.source} has {report.errors} error(s) ({', '.join(kinds)}).{example} "
            f"Run `threeml validate {report.source}` for the full list, or load it in lenient "
            "mode to set the bad rows aside."
        )


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
