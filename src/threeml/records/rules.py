"""Cross-column rules of the record types, declared once and checked both on Python records
(``holds``) and in the engine (:mod:`threeml.data.checks`)."""

from __future__ import annotations

from typing import Any

from attrs import frozen

__all__ = ["BothOrNeither", "DateOrder", "MatchesReference", "MinimumWhen"]


@frozen
class DateOrder:
    """``later`` may not be before ``earlier`` when both are present."""

    earlier: str
    later: str

    def describe(self) -> str:
        return f"{self.later} must not be before {self.earlier}"

    def holds(self, record: Any) -> bool:
        first, second = getattr(record, self.earlier), getattr(record, self.later)
        return first is None or second is None or second >= first


@frozen
class BothOrNeither:
    """``first`` and ``second`` are both given or both empty; otherwise a *warning*.

    A record holding only one of them is accepted (a reason may be unknown), so this rule
    has no ``holds``: validation reports it as *inconsistent end* and keeps the row.
    """

    first: str
    second: str

    def describe(self) -> str:
        return f"{self.first} and {self.second} are given together"


@frozen
class MinimumWhen:
    """``column`` must be at least ``minimum`` on rows whose ``when_column`` is in ``when_in``."""

    column: str
    minimum: float
    when_column: str
    when_in: frozenset[str]
    reason: str

    def describe(self) -> str:
        return f"{self.column} must be at least {self.minimum:g} ({self.reason})"

    def holds(self, record: Any) -> bool:
        value = getattr(record, self.column)
        return (
            value is None
            or getattr(record, self.when_column) not in self.when_in
            or (value >= self.minimum)
        )


@frozen
class MatchesReference:
    """The row's ``columns`` must equal those of the row it references in ``table``.

    Used for a contact whose enrolment must belong to the same user.
    """

    table: str
    columns: tuple[str, ...]
    via: str  # the column holding the reference, e.g. "enrolment_id"
    reason: str

    def describe(self) -> str:
        return self.reason
