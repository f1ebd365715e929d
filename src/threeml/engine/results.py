"""What evaluating a counting definition returns: counts, attrition, breakdowns, membership.

Results hold raw, unrounded figures for use inside a secure environment;
anything published goes through :mod:`threeml.publish.disclosure` first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from html import escape
from typing import Any

import pyarrow as pa
from attrs import field, frozen

from threeml.definitions import CountingDefinition
from threeml.records.codes import Unit
from threeml.records.periods import Period

__all__ = ["AttritionStep", "BreakdownRow", "CellKeys", "CountResult"]


@frozen
class AttritionStep:
    """One criterion's line in the attrition table.

    ``remaining`` is how many units pass this criterion and every one before it
    (sequential form); ``excluded`` how many the criterion removed from those
    that passed the ones before; ``leave_one_out`` how many more would count
    if this criterion alone were dropped.
    """

    index: int
    criterion: str
    remaining: int
    excluded: int
    leave_one_out: int
    #: Cell keys (raw, for the cell-key policy): of the units remaining, and of the units
    #: passing every criterion but this one; ``None`` unless cell keys were asked for.
    key: int | None = None
    leave_one_out_key: int | None = None


@frozen
class BreakdownRow:
    """The count for one value of a breakdown (an area, a service kind …)."""

    value: Any
    count: int
    #: The cell key (raw, for the cell-key policy); ``None`` unless cell keys were asked for.
    key: int | None = None


@frozen
class CellKeys:
    """The cell keys of a count's totals (raw: the cell-key policy's input, never published).

    Each is the sum of the record keys of the units in that figure, modulo the key range.
    """

    count: int
    users: int
    records: int
    considered: int


@frozen
class CountResult:
    """The result of one counting definition over one period of one dataset.

    ``count`` is in the definition's unit (people for ``users``, enrolments for
    ``enrolments``); ``users`` is always the distinct people and ``records``
    the enrolments behind the count (see :mod:`threeml.definitions.criteria`).
    ``considered`` is how many units were examined (every user, or every
    enrolment). Breakdowns by service kind or sector count a person once per
    kind, so they need not sum to the total; those by area or another user
    column do.
    """

    definition: CountingDefinition
    period: Period
    count: int
    users: int
    records: int
    considered: int
    attrition: tuple[AttritionStep, ...]
    breakdowns: Mapping[str, tuple[BreakdownRow, ...]] = field(factory=dict)
    _membership: Callable[[], pa.Table] | None = field(
        default=None, repr=False, eq=False, alias="membership"
    )
    #: The totals' cell keys when the evaluation was asked for them (``cell_keys=``).
    cell_keys: CellKeys | None = field(default=None, repr=False)
    _members_expr: Callable[[], Any] | None = field(
        default=None, repr=False, eq=False, alias="members_expr"
    )

    @property
    def unit(self) -> Unit:
        return self.definition.unit

    def membership(self) -> pa.Table:
        """Every unit considered, whether it counted, and the first criterion it failed.

        Columns: the unit's id (``user_id``, or ``enrolment_id`` and ``user_id``),
        ``counted`` and ``first_failed`` (1-based criterion number, null when counted).
        """
        if self._membership is None:
            raise ValueError("this result carries no membership")
        return self._membership()

    def members_expr(self) -> Any | None:
        """The people counted, as an engine expression (ibis table, one column ``user_id``).

        It reads the evaluation's own tables, so nothing comes back into Python; ``None``
        when the result was not made by the engine (then use :meth:`membership`).
        """
        return None if self._members_expr is None else self._members_expr()

    def members(self) -> set[str]:
        """The ids of the units that count."""
        table = self.membership()
        key = "enrolment_id" if self.unit is Unit.ENROLMENTS else "user_id"
        return {row[key] for row in table.to_pylist() if row["counted"]}

    # Reading in a console or a notebook (raw figures: for a secure environment).

    def __repr__(self) -> str:
        breakdowns = ", ".join(f"{name} ({len(rows)})" for name, rows in self.breakdowns.items())
        return (
            f"<CountResult {self.definition.name} v{self.definition.version} "
            f"{self.period.start}..{self.period.end}: {self.count:,} {self.unit.value} "
            f"({self.users:,} people, {self.records:,} enrolments) of {self.considered:,} "
            f"considered; {len(self.attrition)} criteria"
            + (f"; by {breakdowns}" if breakdowns else "")
            + "; raw figures>"
        )

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{step.index}</td><td>{escape(step.criterion)}</td>"
            f"<td style='text-align:right'>{step.remaining:,}</td>"
            f"<td style='text-align:right'>{step.excluded:,}</td>"
            f"<td style='text-align:right'>{step.leave_one_out:,}</td></tr>"
            for step in self.attrition
        )
        return (
            f"<div><b>{escape(self.definition.name)}</b> (v{escape(self.definition.version)}) "
            f"— {escape(self.definition.title)}<br>period {self.period.start} to "
            f"{self.period.end}: <b>{self.count:,}</b> {self.unit.value} ({self.users:,} people, "
            f"{self.records:,} enrolments) of {self.considered:,} considered"
            "<table><tr><th>#</th><th>criterion</th><th>remaining</th><th>excluded</th>"
            f"<th>would add if dropped</th></tr>{rows}</table>"
            "<small>raw figures, no disclosure control: for use inside a secure environment"
            "</small></div>"
        )

    def to_arrow(self) -> pa.Table:
        """The figures as a long Arrow table (raw, unrounded): one figure per row.

        Columns: ``definition``, ``section`` (``total``, ``attrition`` or
        ``breakdown``), ``breakdown`` (its name, else null), ``item`` (the figure,
        criterion or group), ``value`` (int64), ``excluded`` and ``leave_one_out``
        (for attrition rows).
        """
        rows: list[dict[str, Any]] = []
        for item, value in (
            ("count", self.count),
            ("users", self.users),
            ("records", self.records),
            ("considered", self.considered),
        ):
            rows.append({"section": "total", "breakdown": None, "item": item, "value": value})
        for step in self.attrition:
            rows.append(
                {
                    "section": "attrition",
                    "breakdown": None,
                    "item": f"{step.index}. {step.criterion}",
                    "value": step.remaining,
                    "excluded": step.excluded,
                    "leave_one_out": step.leave_one_out,
                }
            )
        for name, breakdown in self.breakdowns.items():
            for row in breakdown:
                rows.append(
                    {
                        "section": "breakdown",
                        "breakdown": name,
                        "item": None if row.value is None else str(row.value),
                        "value": row.count,
                    }
                )
        schema = pa.schema(
            [
                ("definition", pa.string()),
                ("section", pa.string()),
                ("breakdown", pa.string()),
                ("item", pa.string()),
                ("value", pa.int64()),
                ("excluded", pa.int64()),
                ("leave_one_out", pa.int64()),
            ]
        )
        for row in rows:
            row["definition"] = self.definition.name
        return pa.Table.from_pylist(rows, schema=schema)

    def to_pandas(self) -> Any:
        """:meth:`to_arrow` as a pandas DataFrame (needs pandas)."""
        return self.to_arrow().to_pandas()
