"""Definitions side by side, and the difference between two, as publishable data.

A :class:`PublishedComparison` is what ``threeml compare`` publishes: every
definition's :class:`~threeml.publish.counts.PublishedCount` with its share of
the loosest, and any metrics asked for as
:class:`~threeml.publish.metrics.PublishedMetric`. A :class:`PublishedDiff` is
what ``threeml compare --diff`` publishes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from attrs import field, frozen

from threeml.definitions.policies import DisclosurePolicy
from threeml.engine.compare import Comparison, Diff
from threeml.metrics.contract import MetricResult
from threeml.publish.counts import ALL_AREAS, PublishedCount, publish_count
from threeml.publish.metrics import PublishedMetric, publish_metric
from threeml.publish.provenance import (
    NOT_AUDITED,
    Provenance,
    audit_text,
    stamp_data,
    stamp_items,
)

__all__ = ["STATED_COLUMNS", "PublishedComparison", "PublishedDiff", "publish_comparison"]

#: The columns of the comparison's CSV form, one row per definition.
DEFINITION_COLUMNS = (
    "definition",
    "version",
    "unit",
    "count",
    "users",
    "records",
    "share_of_loosest",
)
#: The columns metric rows add to the comparison's CSV form.
METRIC_COLUMNS = ("population", "numerator", "denominator", "value", "ci_low", "ci_high")
#: The columns every row of the comparison's CSV form ends with: which breakdown cell a row
#: is (empty for totals), the disclosure control applied to it, the audit's outcome and the
#: provenance (the definition's content hash and source, the extract's fingerprint).
STATED_COLUMNS = ("breakdown", "group", "disclosure", "audit", "provenance")


@frozen
class PublishedComparison:
    """Definitions counted side by side (and metrics), as they may be published.

    ``by`` are the breakdowns of the counts; ``metric_by`` those of the metrics
    (users columns only). ``audit`` is the disclosure audit's outcome (of every
    definition and metric together), set when the comparison is written.
    """

    comparison: Comparison
    policy: DisclosurePolicy
    counts: Mapping[str, PublishedCount]
    metrics: tuple[PublishedMetric, ...] = ()
    by: tuple[str, ...] = ()
    metric_by: tuple[str, ...] = ()
    #: Where the figures came from (:mod:`threeml.publish.provenance`); ``None``: not known.
    provenance: Provenance | None = None
    #: The disclosure audit's outcome (a text, or a value with ``describe()``/``to_dict()``).
    audit: Any = field(default=NOT_AUDITED)

    def definitions(self) -> list[dict[str, Any]]:
        """One object per definition: its totals, share of the loosest and published cells."""
        rows = []
        loosest = self.counts[self.comparison.loosest.definition.name].totals["users"]
        for name, published in self.counts.items():
            result, totals = published.result, published.totals
            # From the published totals, so a rounded total is not undone by its share.
            users = totals["users"]
            share = users / loosest if users is not None and loosest else None
            rows.append(
                {
                    "definition": name,
                    "version": result.definition.version,
                    "unit": result.unit.value,
                    "count": totals["count"],
                    "users": users,
                    "records": totals["records"],
                    "share_of_loosest": None if share is None else round(share, 4),
                    "breakdown": {
                        b: [{"group": cell.group, "count": cell.count} for cell in cells]
                        for b, cells in published.breakdowns.items()
                    },
                }
            )
        return rows

    def data(self) -> dict[str, Any]:
        """The comparison as one JSON-ready object."""
        period = self.comparison.period
        data: dict[str, Any] = {
            "period": {"start": period.start.isoformat(), "end": period.end.isoformat()},
            "loosest": self.comparison.loosest.definition.name,
            "disclosure": self.policy.describe(),
            "definitions": self.definitions(),
        }
        if self.metrics:
            data["metrics"] = [metric.data() for metric in self.metrics]
        data.update(stamp_data(self.provenance, self.audit))
        return data

    def columns(self) -> tuple[str, ...]:
        """The columns of :meth:`rows`: a metric's figures are added when there are metrics."""
        head = DEFINITION_COLUMNS + METRIC_COLUMNS if self.metrics else DEFINITION_COLUMNS
        return head + STATED_COLUMNS

    def _stated(self, name: str) -> str:
        """The provenance column of the row of the definition or metric ``name``."""
        if self.provenance is None:
            return "not recorded"
        stamps = [d for d in self.provenance.definitions if d.name == name]
        parts = [f"sha256 {d.sha256}" + (f"; {d.source}" if d.source else "") for d in stamps]
        extract = self.provenance.extract
        if extract is not None:
            rows = sum(t.rows for t in extract.tables)
            parts.append(
                f"extract {extract.source} ({extract.extract_date}, {rows} rows, "
                f"sha256 {extract.digest})"
            )
        aside = ", ".join(f"{a.table} {a.rows} ({a.reason})" for a in self.provenance.set_aside)
        parts.append(f"set aside: {aside or 'none'}")
        parts.append(f"threeml {self.provenance.threeml_version}")
        return "; ".join(parts)

    def rows(self) -> list[dict[str, Any]]:
        """One row per definition (totals), one per breakdown cell of ``by``, one per metric.

        Totals over all areas say in ``disclosure`` whether they went through the policy
        (beside a breakdown, under the default) or not; a breakdown cell (``breakdown``,
        ``group``) holds its published ``count`` (``suppressed`` when withheld) under the
        policy. Every row states the audit's outcome and its provenance.
        """
        columns = self.columns()
        audit = audit_text(self.audit)
        stated = self.policy.describe()
        flat = []
        for row in self.definitions():
            rounded = self.counts[row["definition"]].totals_published
            base = {
                **dict.fromkeys(columns, ""),
                **{key: row[key] for key in DEFINITION_COLUMNS},
                "disclosure": stated if rounded else ALL_AREAS,
                "audit": audit,
                "provenance": self._stated(row["definition"]),
            }
            flat.append(base)
            for name in self.by:
                for cell in row["breakdown"].get(name, ()):
                    flat.append(
                        {
                            **base,
                            **dict.fromkeys(("count", "users", "records", "share_of_loosest"), ""),
                            "count": "suppressed" if cell["count"] is None else cell["count"],
                            "breakdown": name,
                            "group": "" if cell["group"] is None else cell["group"],
                            "disclosure": stated,
                        }
                    )
        return flat + [self._metric_row(metric, columns, audit) for metric in self.metrics]

    def _metric_row(
        self, metric: PublishedMetric, columns: Sequence[str], audit: str
    ) -> dict[str, Any]:
        """A metric as one row of the comparison's CSV: unit ``metric``, count columns empty."""
        head = metric.data()
        row = dict.fromkeys(columns, "")
        row.update(
            {
                "definition": metric.result.metric.name,
                "version": metric.result.metric.version,
                "unit": "metric",
                **{key: "" if head[key] is None else head[key] for key in METRIC_COLUMNS},
                "disclosure": self.policy.describe() if metric.total_published else ALL_AREAS,
                "audit": audit,
                "provenance": self._stated(metric.result.metric.name),
            }
        )
        return row


def publish_comparison(
    comparison: Comparison,
    policy: DisclosurePolicy,
    *,
    metrics: Sequence[MetricResult] = (),
    by: Sequence[str] = (),
    metric_by: Sequence[str] = (),
    provenance: Provenance | None = None,
) -> PublishedComparison:
    """``comparison`` (and ``metrics`` on the same extract) as they may be published."""
    return PublishedComparison(
        comparison,
        policy,
        {name: publish_count(result, policy) for name, result in comparison.results.items()},
        tuple(publish_metric(result, policy) for result in metrics),
        tuple(by),
        tuple(metric_by),
        provenance,
    )


#: A reason row of a difference: (criterion number, text, people).
Reason = tuple[int | None, str, int | None]


@frozen
class PublishedDiff:
    """Who is counted by one definition and not the other, and which criterion left them out.

    The figures are about all areas, and the reasons are a breakdown of each side by the
    criterion that left people out, so under a policy that is not raw every figure goes
    through it (:meth:`figures`): the reasons of each side as one breakdown (with
    secondary suppression), and ``both``, ``only_first`` and ``only_second`` as totals
    published beside them. Under a perturbing policy, which a difference carries no cell
    keys for, they are rounded. The audit (:mod:`threeml.publish.audited`) checks them
    with the identity that each side's reasons add up to it.
    """

    diff: Diff
    policy: DisclosurePolicy | None = None
    #: Where the figures came from (:mod:`threeml.publish.provenance`); ``None``: not known.
    provenance: Provenance | None = None
    #: The disclosure audit's outcome (a text, or a value with ``describe()``/``to_dict()``).
    audit: Any = field(default=NOT_AUDITED)
    #: Reason cells the audit suppressed: (side, index) with side ``first`` or ``second``.
    suppressed: frozenset[tuple[str, int]] = frozenset()
    #: Sides whose reasons the audit withheld whole.
    withheld: frozenset[str] = frozenset()

    @property
    def controlled(self) -> bool:
        """Whether the figures go through a policy (one is given, and it is not raw)."""
        return self.policy is not None and not self.policy.is_raw

    def disclosure(self) -> str:
        """What the output says of disclosure control: the policy applied to every figure."""
        if self.policy is None:
            return ALL_AREAS
        return self.policy.describe()

    @property
    def names(self) -> tuple[str, str]:
        """The two definitions' names."""
        return self.diff.first.definition.name, self.diff.second.definition.name

    def _reasons(self, side: str, reasons: Sequence[tuple[int | None, str, int]]) -> list[Reason]:
        if side in self.withheld:
            return []
        if not self.controlled:
            return list(reasons)
        assert self.policy is not None
        counts = [n for _, _, n in reasons]
        shown = self.policy.apply_breakdown(counts)
        return [
            (step, text, None if (side, i) in self.suppressed else value)
            for i, ((step, text, _), value) in enumerate(zip(reasons, shown, strict=True))
        ]

    def figures(self) -> dict[str, Any]:
        """The published figures: ``both``, ``only_first``, ``only_second`` (``None`` when
        suppressed) and each side's reasons as (criterion number, text, people or ``None``)."""
        diff = self.diff
        totals = {"both": diff.both, "only_first": diff.only_first, "only_second": diff.only_second}
        if self.controlled:
            assert self.policy is not None
            totals = {name: self.policy.apply(value) for name, value in totals.items()}
        return {
            **totals,
            "only_first_failed": self._reasons("first", diff.first_not_second_reasons),
            "only_second_failed": self._reasons("second", diff.second_not_first_reasons),
        }

    def data(self) -> dict[str, Any]:
        """The difference as one JSON-ready object."""
        diff = self.diff
        first, second = self.names
        period = diff.first.period
        figures = self.figures()
        return {
            "period": {"start": period.start.isoformat(), "end": period.end.isoformat()},
            "first": first,
            "second": second,
            "both": figures["both"],
            "only_first": figures["only_first"],
            "only_second": figures["only_second"],
            "only_first_failed": [
                {"step": i, "criterion": t, "users": n} for i, t, n in figures["only_first_failed"]
            ],
            "only_second_failed": [
                {"step": i, "criterion": t, "users": n} for i, t, n in figures["only_second_failed"]
            ],
            "disclosure": self.disclosure(),
            **stamp_data(self.provenance, self.audit),
        }

    def columns(self) -> tuple[str, ...]:
        """The columns of :meth:`rows`."""
        return ("side", "step", "criterion", "users", "disclosure")

    def rows(self) -> list[dict[str, Any]]:
        """One row per (side, criterion): how many people it left out of the other side.

        Then one row per provenance item: side ``provenance``, the item in ``criterion``
        and its value in ``disclosure``.
        """
        first, second = self.names
        data = self.data()
        stated = self.disclosure()
        rows = [
            {
                "side": side,
                "step": row["step"],
                "criterion": row["criterion"],
                "users": "suppressed" if row["users"] is None else row["users"],
                "disclosure": stated,
            }
            for side, key in (
                (f"{first} not {second}", "only_first_failed"),
                (f"{second} not {first}", "only_second_failed"),
            )
            for row in data[key]
        ]
        return rows + [
            {"side": "provenance", "step": "", "criterion": item, "users": "", "disclosure": value}
            for item, value in stamp_items(self.provenance, self.audit)
        ]
