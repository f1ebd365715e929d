"""A :class:`~threeml.engine.results.CountResult` as publishable data.

Totals over all areas are published as they are (DESIGN.md applies disclosure
control below "all areas"); every breakdown row goes through the policy, and
the policy applied is stated in the output.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from threeml.engine.results import BreakdownRow, CountResult
from threeml.publish.disclosure import DisclosurePolicy

__all__ = ["count_rows", "count_to_dict", "published_breakdown"]


def published_breakdown(rows: Sequence[BreakdownRow], policy: DisclosurePolicy) -> list[int | None]:
    """The publishable cells of one breakdown: the policy, with secondary suppression."""
    return policy.apply_breakdown([row.count for row in rows])


def count_to_dict(result: CountResult, policy: DisclosurePolicy) -> dict[str, Any]:
    """The result as one JSON-ready object."""
    definition = result.definition
    return {
        "definition": definition.name,
        "version": definition.version,
        "title": definition.title,
        "period": {"start": result.period.start.isoformat(), "end": result.period.end.isoformat()},
        "unit": definition.unit.value,
        "count": result.count,
        "users": result.users,
        "records": result.records,
        "considered": result.considered,
        "attrition": [
            {
                "step": step.index,
                "criterion": step.criterion,
                "remaining": step.remaining,
                "excluded": step.excluded,
                "leave_one_out": step.leave_one_out,
            }
            for step in result.attrition
        ],
        "breakdown": {
            name: [
                {"group": row.value, "count": published, "suppressed": published is None}
                for row, published in zip(rows, published_breakdown(rows, policy), strict=True)
            ]
            for name, rows in result.breakdowns.items()
        },
        "disclosure": policy.describe(),
        "source": definition.source.describe() if definition.source else None,
    }


def count_rows(result: CountResult, policy: DisclosurePolicy) -> list[dict[str, Any]]:
    """The result as long-format rows (one figure per row), for CSV.

    Columns: definition, version, start, end, unit, section (``total``,
    ``attrition`` or ``breakdown:<name>``), item, value, disclosure.
    """
    base = {
        "definition": result.definition.name,
        "version": result.definition.version,
        "start": result.period.start.isoformat(),
        "end": result.period.end.isoformat(),
        "unit": result.definition.unit.value,
    }
    stated = policy.describe()
    rows = [
        {
            **base,
            "section": "total",
            "item": name,
            "value": value,
            "disclosure": "not applied (all areas)",
        }
        for name, value in (
            ("count", result.count),
            ("users", result.users),
            ("records", result.records),
            ("considered", result.considered),
        )
    ]
    for step in result.attrition:
        rows.append(
            {
                **base,
                "section": "attrition",
                "item": f"{step.index}. {step.criterion}",
                "value": step.remaining,
                "disclosure": "not applied (all areas)",
            }
        )
    for name, breakdown in result.breakdowns.items():
        for row, published in zip(breakdown, published_breakdown(breakdown, policy), strict=True):
            rows.append(
                {
                    **base,
                    "section": f"breakdown:{name}",
                    "item": row.value,
                    "value": "suppressed" if published is None else published,
                    "disclosure": stated,
                }
            )
    return rows
