"""A :class:`~threeml.engine.results.CountResult` as publishable data.

Totals over all areas are published as they are (DESIGN.md applies disclosure
control below "all areas") unless a breakdown is published beside them: then
they go through the policy too (:meth:`DisclosurePolicy.rounds_totals
<threeml.definitions.policies.DisclosurePolicy.rounds_totals>`), so a lone
suppressed group never equals the total and two publications of nearly the same
people never differ by an exact figure (issue 13, routes 3 to 5). Every breakdown
row goes through the policy, and
the policy applied is stated in the output. :func:`publish_count` computes the
published figures once (:class:`PublishedCount`); the command line's JSON and
CSV (:func:`count_to_dict`, :func:`count_rows`), its tables, ``threeml compare``
and the report are all written from it.

Under a perturbing policy (``cell-key``) every figure of a count is published through
its cell key instead: totals, attrition steps and breakdown cells alike (the excluded and
"would add if dropped" columns are differences of published figures), so the result must
have been evaluated with ``cell_keys=policy.cell_key``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from attrs import field, frozen

from threeml.definitions.policies import DisclosurePolicy
from threeml.engine.results import BreakdownRow, CountResult
from threeml.errors import ThreemlError
from threeml.publish.provenance import NOT_AUDITED, Provenance, stamp_data, stamp_items

__all__ = [
    "ALL_AREAS",
    "MissingCellKeys",
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


class MissingCellKeys(ThreemlError):
    """A perturbing policy was asked to publish a result evaluated without cell keys."""


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
    #: Where the figures came from (:mod:`threeml.publish.provenance`); ``None``: not known.
    provenance: Provenance | None = None
    #: The disclosure audit's outcome (a text, or a value with ``describe()``/``to_dict()``).
    audit: Any = field(default=NOT_AUDITED)
    #: Whether rows left out by an area filter (:func:`threeml.publish.areas.only_areas`)
    #: held a suppressed cell: the totals keep the treatment the whole breakdown gave them.
    withheld_suppressed: bool = False

    @property
    def perturbed(self) -> bool:
        """Whether totals and attrition go through the policy's cell-key perturbation."""
        return self.policy.perturbs

    @property
    def beside_suppressed(self) -> bool:
        """Whether a breakdown published beside the totals has a suppressed cell."""
        if self.withheld_suppressed:
            return True
        return any(cell.suppressed for cells in self.breakdowns.values() for cell in cells)

    @property
    def totals_published(self) -> bool:
        """Whether the totals and attrition go through the policy (rather than as they are).

        Decided by the policy from the breakdowns *asked for* (a breakdown the audit later
        withholds still counts) and their suppressed cells; a perturbing policy perturbs
        them by their cell keys instead.
        """
        if self.perturbed:
            return True
        return self.policy.rounds_totals(bool(self.result.breakdowns), self.beside_suppressed)

    def _total(self, value: int) -> int | None:
        if self.totals_published:
            return self.policy.apply(int(value))
        return value

    @property
    def totals(self) -> dict[str, int | None]:
        """The totals over all areas: count, users, records, considered.

        Unrounded, unless a breakdown is published beside them (or, under a policy whose
        ``totals`` is ``"suppressed"``, one with a suppressed cell): then count, users and
        records go through the policy too (:attr:`totals_published`), so that a lone
        suppressed group never equals the total and two publications never differ by
        an exact figure. ``considered`` (every unit examined) is not about the
        counted people and stays as it is. Under a perturbing policy every figure is
        perturbed by its cell key instead.
        """
        result = self.result
        keys = result.cell_keys
        if self.perturbed and keys is not None:
            raw = {
                "count": result.count,
                "users": result.users,
                "records": result.records,
                "considered": result.considered,
            }
            return {
                name: self.policy.apply_keyed(value, getattr(keys, name))
                for name, value in raw.items()
            }
        return {
            "count": self._total(result.count),
            "users": self._total(result.users),
            "records": self._total(result.records),
            "considered": result.considered,
        }

    def attrition(self) -> list[dict[str, Any]]:
        """The attrition table (about all areas), one object per criterion.

        Unrounded, unless the totals go through the policy (:attr:`totals_published`):
        then each step's ``remaining`` goes through it like a total (perturbed by its cell
        key under a perturbing policy), ``excluded`` is the published previous step less
        it (at least 0), and ``leave_one_out`` the published count without the criterion
        less the published count (``None`` where a figure it needs is suppressed). Every
        figure of the table is then a published figure or a difference of two, so it
        cannot give back a rounded total.
        """
        if self.totals_published:
            return self._published_attrition()
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

    def _step(self, value: int, key: int | None) -> int | None:
        if self.perturbed and self.result.cell_keys is not None:
            return self.policy.apply_keyed(value, key)
        return self.policy.apply(int(value))

    def _published_attrition(self) -> list[dict[str, Any]]:
        result = self.result
        totals = self.totals
        previous, count = totals["considered"], totals["count"]
        steps = []
        for step in result.attrition:
            remaining = self._step(step.remaining, step.key)
            without = self._step(step.leave_one_out + result.count, step.leave_one_out_key)
            steps.append(
                {
                    "step": step.index,
                    "criterion": step.criterion,
                    "remaining": remaining,
                    "excluded": _difference(previous, remaining),
                    "leave_one_out": _difference(without, count),
                }
            )
            previous = remaining
        return steps

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
            "source": definition.source.describe() if definition.source else None,
            **stamp_data(self.provenance, self.audit),
        }

    def columns(self) -> tuple[str, ...]:
        """The columns of :meth:`rows`."""
        return COUNT_COLUMNS

    def rows(self) -> list[dict[str, Any]]:
        """The count as long-format rows (one figure per row), for CSV.

        Columns: definition, version, start, end, unit, section (``total``,
        ``attrition``, ``breakdown:<name>`` or ``provenance``), item, value, disclosure.
        """
        result = self.result
        base = {
            "definition": result.definition.name,
            "version": result.definition.version,
            "start": result.period.start.isoformat(),
            "end": result.period.end.isoformat(),
            "unit": result.definition.unit.value,
        }
        stated = self.policy.describe()
        about_all = stated if self.totals_published else ALL_AREAS
        rows = [
            {
                **base,
                "section": "total",
                "item": name,
                "value": "suppressed" if value is None else value,
                "disclosure": about_all,
            }
            for name, value in self.totals.items()
        ]
        for step in self.attrition():
            rows.append(
                {
                    **base,
                    "section": "attrition",
                    "item": f"{step['step']}. {step['criterion']}",
                    "value": "suppressed" if step["remaining"] is None else step["remaining"],
                    "disclosure": about_all,
                }
            )
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
        for item, value in stamp_items(self.provenance, self.audit):
            rows.append(
                {**base, "section": "provenance", "item": item, "value": value, "disclosure": ""}
            )
        return rows


def _group_order(row: BreakdownRow) -> tuple[bool, str]:
    return row.value is None, str(row.value)


def _difference(first: int | None, second: int | None) -> int | None:
    if first is None or second is None:
        return None
    return max(0, first - second)


def published_breakdown(rows: Sequence[BreakdownRow], policy: DisclosurePolicy) -> list[int | None]:
    """The publishable cells of one breakdown: the policy (with each row's cell key when it
    perturbs), with secondary suppression."""
    keys = [row.key for row in rows] if policy.perturbs else None
    return policy.apply_breakdown([row.count for row in rows], keys)


def publish_count(
    result: CountResult, policy: DisclosurePolicy, *, provenance: Provenance | None = None
) -> PublishedCount:
    """``result`` as it may be published under ``policy``: every breakdown cell computed once.

    A perturbing policy needs the result's cell keys (``count(..., cell_keys=...)``).
    ``provenance`` (:func:`~threeml.publish.provenance.provenance_of`) is stated in every
    format.
    """
    if policy.perturbs and result.cell_keys is None:
        raise MissingCellKeys(
            f"the {policy.name} policy perturbs each figure by its cell key, and this result "
            f"of {result.definition.name} was evaluated without them: evaluate it with "
            "cell_keys=policy.cell_key (the command line does this for --disclosure cell-key)"
        )
    breakdowns = {}
    for name, rows in result.breakdowns.items():
        ordered = sorted(rows, key=_group_order)
        breakdowns[name] = tuple(
            PublishedCell(row.value, published)
            for row, published in zip(ordered, published_breakdown(ordered, policy), strict=True)
        )
    return PublishedCount(result, policy, breakdowns, provenance)


def count_to_dict(result: CountResult, policy: DisclosurePolicy) -> dict[str, Any]:
    """The result as one JSON-ready object."""
    return publish_count(result, policy).data()


def count_rows(result: CountResult, policy: DisclosurePolicy) -> list[dict[str, Any]]:
    """The result as long-format rows (one figure per row), for CSV.

    Columns: definition, version, start, end, unit, section (``total``,
    ``attrition`` or ``breakdown:<name>``), item, value, disclosure.
    """
    return publish_count(result, policy).rows()
