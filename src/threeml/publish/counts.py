"""A :class:`~threeml.engine.results.CountResult` as publishable data.

Totals over all areas are published as they are (DESIGN.md applies disclosure
control below "all areas"); every breakdown row goes through the policy, and
the policy applied is stated in the output. :func:`publish_count` computes the
published figures once (:class:`PublishedCount`); the command line's JSON and
CSV (:func:`count_to_dict`, :func:`count_rows`), its tables, ``threeml compare``
and the report are all written from it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from attrs import frozen

from threeml.definitions.policies import DisclosurePolicy
from threeml.engine.results import BreakdownRow, CountResult
from threeml.publish.audit import AuditOutcome

__all__ = [
    "ALL_AREAS",
    "PublishedCell",
    "PublishedCount",
    "count_rows",
    "count_to_dict",
    "publish_count",
    "published_breakdown",
]

#: What outputs say about figures disclosure control does not apply to.
ALL_AREAS = "not applied (all areas)"

#: The columns of :func:`count_rows`.
COUNT_COLUMNS = (
    "definition",
    "version",
    "start",
    "end",
    "unit",
    "section",
    "item",
    "value",
    "disclosure",
)


@frozen
class PublishedCell:
    """One group of a breakdown as published: ``count`` is ``None`` when suppressed."""

    group: Any
    count: int | None

    @property
    def suppressed(self) -> bool:
        """Whether disclosure control withheld the count."""
        return self.count is None


@frozen
class PublishedCount:
    """A count's published figures: raw totals and attrition, breakdown cells under ``policy``.

    ``breakdowns`` keep the result's breakdowns in order, each group in group
    order (missing last). ``audit`` is the disclosure audit's outcome, set when the
    count is written (:func:`threeml.publish.audited.audited`).
    """

    result: CountResult
    policy: DisclosurePolicy
    breakdowns: Mapping[str, tuple[PublishedCell, ...]]
    audit: AuditOutcome | None = None

    @property
    def totals(self) -> dict[str, int]:
        """The unrounded totals over all areas: count, users, records, considered."""
        result = self.result
        return {
            "count": result.count,
            "users": result.users,
            "records": result.records,
            "considered": result.considered,
        }

    def attrition(self) -> list[dict[str, Any]]:
        """The attrition table (about all areas: unrounded), one object per criterion."""
        return [
            {
                "step": step.index,
                "criterion": step.criterion,
                "remaining": step.remaining,
                "excluded": step.excluded,
                "leave_one_out": step.leave_one_out,
            }
            for step in self.result.attrition
        ]

    def data(self) -> dict[str, Any]:
        """The count as one JSON-ready object (what ``threeml count --format json`` prints)."""
        result, definition = self.result, self.result.definition
        return {
            "definition": definition.name,
            "version": definition.version,
            "title": definition.title,
            "period": {
                "start": result.period.start.isoformat(),
                "end": result.period.end.isoformat(),
            },
            "unit": definition.unit.value,
            **self.totals,
            "attrition": self.attrition(),
            "breakdown": {
                name: [
                    {"group": cell.group, "count": cell.count, "suppressed": cell.suppressed}
                    for cell in cells
                ]
                for name, cells in self.breakdowns.items()
            },
            "disclosure": self.policy.describe(),
            "audit": self.audit.to_dict() if self.audit else None,
            "source": definition.source.describe() if definition.source else None,
        }

    def columns(self) -> tuple[str, ...]:
        """The columns of :meth:`rows`."""
        return COUNT_COLUMNS

    def rows(self) -> list[dict[str, Any]]:
        """The count as long-format rows (one figure per row), for CSV.

        Columns: definition, version, start, end, unit, section (``total``,
        ``attrition``, ``breakdown:<name>`` or, once audited, ``audit``), item,
        value, disclosure.
        """
        result = self.result
        base = {
            "definition": result.definition.name,
            "version": result.definition.version,
            "start": result.period.start.isoformat(),
            "end": result.period.end.isoformat(),
            "unit": result.definition.unit.value,
        }
        rows = [
            {**base, "section": "total", "item": name, "value": value, "disclosure": ALL_AREAS}
            for name, value in self.totals.items()
        ]
        for step in result.attrition:
            rows.append(
                {
                    **base,
                    "section": "attrition",
                    "item": f"{step.index}. {step.criterion}",
                    "value": step.remaining,
                    "disclosure": ALL_AREAS,
                }
            )
        stated = self.policy.describe()
        for name, cells in self.breakdowns.items():
            for cell in cells:
                rows.append(
                    {
                        **base,
                        "section": f"breakdown:{name}",
                        "item": cell.group,
                        "value": "suppressed" if cell.suppressed else cell.count,
                        "disclosure": stated,
                    }
                )
        if self.audit is not None:
            rows.append(
                {
                    **base,
                    "section": "audit",
                    "item": "disclosure audit",
                    "value": self.audit.describe(),
                    "disclosure": stated,
                }
            )
        return rows


def _group_order(row: BreakdownRow) -> tuple[bool, str]:
    return row.value is None, str(row.value)


def published_breakdown(rows: Sequence[BreakdownRow], policy: DisclosurePolicy) -> list[int | None]:
    """The publishable cells of one breakdown: the policy, with secondary suppression."""
    return policy.apply_breakdown([row.count for row in rows])


def publish_count(result: CountResult, policy: DisclosurePolicy) -> PublishedCount:
    """``result`` as it may be published under ``policy``: every breakdown cell computed once."""
    breakdowns = {}
    for name, rows in result.breakdowns.items():
        ordered = sorted(rows, key=_group_order)
        breakdowns[name] = tuple(
            PublishedCell(row.value, published)
            for row, published in zip(ordered, published_breakdown(ordered, policy), strict=True)
        )
    return PublishedCount(result, policy, breakdowns)


def count_to_dict(result: CountResult, policy: DisclosurePolicy) -> dict[str, Any]:
    """The result as one JSON-ready object."""
    return publish_count(result, policy).data()


def count_rows(result: CountResult, policy: DisclosurePolicy) -> list[dict[str, Any]]:
    """The result as long-format rows (one figure per row), for CSV.

    Columns: definition, version, start, end, unit, section (``total``,
    ``attrition`` or ``breakdown:<name>``), item, value, disclosure.
    """
    return publish_count(result, policy).rows()
