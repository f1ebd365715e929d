"""What the reference evaluator reads and says: a dataset's rows as plain values, and outcomes.

:class:`ReferenceData` holds the rows of a dataset as dicts, indexed by user, with each
contact marked as counting or not (dated inside its own enrolment's installed window).
:class:`Outcome` is one criterion's verdict for one unit with the evidence in words. Both are
what a criterion kind's ``reference`` function works with (see
:class:`threeml.definitions.kinds.CriterionKind`).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date
from typing import Any, overload

from attrs import frozen

from threeml.data import Dataset

__all__ = ["ContactRows", "Outcome", "ReferenceData", "installed_contains"]


@frozen
class Outcome:
    """Whether a unit passed one criterion, and the evidence, in words."""

    passed: bool
    evidence: str


def installed_contains(enrolment: Mapping[str, Any], day: date) -> bool:
    """Whether ``day`` lies in the enrolment's installed window."""
    start, end = enrolment["installed_on"], enrolment["ended_on"]
    return start is not None and start <= day and (end is None or day <= end)


class ContactRows(Sequence[dict[str, Any]]):
    """One person's contacts: a sequence of rows in which identical rows are held once.

    Iterating, indexing and ``len`` see every contact, as a list of them would; a row that
    occurs ``n`` times is the same dict ``n`` times. :meth:`groups` gives each distinct row
    once with its number, which is how a person with millions of contacts (the same
    enrolment, day and kind, over and over) is examined in a few thousand steps.
    """

    def __init__(self) -> None:
        self._rows: list[dict[str, Any]] = []
        self._ends: list[int] = []  # running totals: the index after each row's copies

    def add(self, row: dict[str, Any], n: int = 1) -> None:
        """Add ``n`` contacts equal to ``row``."""
        if n > 0:
            self._rows.append(row)
            self._ends.append((self._ends[-1] if self._ends else 0) + n)

    def groups(self) -> Iterator[tuple[dict[str, Any], int]]:
        """Each distinct row once, with how many contacts it stands for."""
        previous = 0
        for row, end in zip(self._rows, self._ends, strict=True):
            yield row, end - previous
            previous = end

    def __len__(self) -> int:
        return self._ends[-1] if self._ends else 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for row, n in self.groups():
            for _ in range(n):
                yield row

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("contact index out of range")
        return self._rows[bisect.bisect_right(self._ends, index)]


def weighted(contacts: Sequence[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], int]]:
    """``(row, n)`` for each distinct contact row of ``contacts`` (any sequence of rows)."""
    if isinstance(contacts, ContactRows):
        return contacts.groups()
    return ((row, 1) for row in contacts)


class ReferenceData:
    """The rows of a dataset as plain Python values, indexed for the reference evaluator.

    ``users`` maps each user id to its row; ``enrolments`` lists the enrolments with their
    service's ``service_kind`` and ``sector``, ``by_user`` the same by user id; ``contacts``
    maps each user id to their contacts (a :class:`ContactRows`), each with ``counts``
    (dated inside its own enrolment's installed window) and its enrolment's
    ``service_kind``. A contact row with a column ``n`` stands for ``n`` identical contacts.

    ``focus`` is ``None`` when every user of the dataset was read, else the users that
    were (:meth:`from_dataset` with ``user_ids``, as ``explain`` reads one person).
    """

    focus: frozenset[str] | None = None

    def __init__(self, tables: Mapping[str, list[dict[str, Any]]], full_tables: Any = None) -> None:
        self.users = {row["user_id"]: row for row in tables["users"]}
        services = {row["service_id"]: row for row in tables["services"]}
        self.enrolments = [
            {
                **row,
                "service_kind": services[row["service_id"]]["kind"],
                "sector": services[row["service_id"]]["sector"],
            }
            for row in tables["enrolments"]
            if row["service_id"] in services
        ]
        self.by_user: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in self.enrolments:
            self.by_user[row["user_id"]].append(row)
        by_id = {row["enrolment_id"]: row for row in self.enrolments}
        self.contacts: dict[str, ContactRows] = defaultdict(ContactRows)
        for contact in tables["contacts"]:
            enrolment = by_id.get(contact["enrolment_id"])
            counts = enrolment is not None and installed_contains(enrolment, contact["date"])
            row = {k: v for k, v in contact.items() if k != "n"}
            self.contacts[contact["user_id"]].add(
                {
                    **row,
                    "counts": counts,
                    "service_kind": enrolment["service_kind"] if enrolment else None,
                },
                int(contact.get("n", 1)),
            )
        self.full_tables = full_tables
        self._risk_rank: Callable[[float], tuple[int, int]] | None = None

    @classmethod
    def from_dataset(cls, dataset: Dataset, user_ids: list[str] | None = None) -> ReferenceData:
        """Read the dataset's rows (only those of ``user_ids`` when given).

        With ``user_ids`` every table is filtered to those users in the engine before any
        row reaches Python, identical contacts arrive once with their number (``n``), and
        the risk ranking (:meth:`risk_rank`) is computed in the engine: the time and memory
        of reading one person grow with neither the extract nor that person's contacts.
        """
        tables = {}
        for name in ("users", "services", "enrolments", "contacts"):
            table = dataset.table(name)
            if user_ids is not None and "user_id" in table.columns:
                table = table.filter(table.user_id.isin(list(user_ids)))
            if user_ids is not None and name == "contacts":
                table = table.group_by(["user_id", "enrolment_id", "date", "kind"]).agg(
                    n=table.count()
                )
            tables[name] = table.to_pyarrow().to_pylist()
        data = cls(tables, full_tables=dataset.tables)
        if user_ids is None:
            data.all_risk_scores = [
                row["risk_score"]
                for row in dataset.table("users").select("risk_score").to_pyarrow().to_pylist()
                if row["risk_score"] is not None
            ]
        else:
            data.focus = frozenset(user_ids)
            data._risk_rank = _engine_risk_rank(dataset)
        return data

    all_risk_scores: list[float] = []

    def risk_rank(self, score: float) -> tuple[int, int]:
        """How many users score strictly higher than ``score``, and how many have a score."""
        if self._risk_rank is not None:
            return self._risk_rank(score)
        scores = self.all_risk_scores
        return sum(s > score for s in scores), len(scores)


def _engine_risk_rank(dataset: Dataset) -> Callable[[float], tuple[int, int]]:
    """A risk ranking counted by the engine over every user, without reading their rows."""

    def rank(score: float) -> tuple[int, int]:
        import ibis

        users = dataset.table("users")
        scored = users.filter(users.risk_score.notnull())
        above = (scored.risk_score > ibis.literal(score, type="float64")).ifelse(1, 0)
        row = scored.aggregate(higher=above.sum(), scored=scored.count()).to_pyarrow()
        found = row.to_pylist()[0]
        return int(found["higher"] or 0), int(found["scored"] or 0)

    return rank
