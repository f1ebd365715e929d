"""A series as publishable data: the tidy long table of every figure in every interval.

:func:`publish_series` takes the raw results of a series — per counting definition one
:class:`~threeml.engine.results.CountResult` per interval
(:func:`~threeml.engine.series.count_series`), per metric one
:class:`~threeml.metrics.contract.MetricResult` per interval
(:func:`~threeml.metrics.series.evaluate_metrics_series`) and the stock and flow
(:class:`~threeml.engine.flow.FlowResult`) — and gives a :class:`PublishedSeries`: one row
per figure, with the columns :data:`SERIES_COLUMNS`, every figure through the disclosure
policy, cell by cell. It is written in CSV, JSON and Parquet by the output formats and as a
pandas DataFrame by :meth:`PublishedSeries.to_pandas`, each audited first
(:mod:`threeml.publish.series_audit`).

The rule a series follows (see ``docs/explanation/disclosure.rst``, "Series"):

- a series is a breakdown by interval, so *every* figure of it goes through the policy,
  the totals over all areas of each interval included: no interval publishes an exact
  figure that could be subtracted from a total over the span published elsewhere (for
  figures that add up over intervals: connections, starts, ends), nor two intervals differ
  by an exact figure;
- a series publishes no figure over the whole span;
- the whole series is audited as one output, with the identities a reader can state
  across intervals (the stock and flow identity, one interval's closing being the next
  one's opening, groups adding up to all areas, ends by reason adding up to ends).

Metrics are published per interval as :func:`~threeml.publish.metrics.publish_metric`
publishes them (their figures derived from published cells), and audited with the
counts of the same interval.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from attrs import field, frozen

from threeml.definitions.policies import DisclosurePolicy
from threeml.engine.flow import FlowResult
from threeml.engine.results import CountResult
from threeml.errors import ThreemlError
from threeml.metrics.cells import MetricRow
from threeml.metrics.contract import MetricResult
from threeml.publish.counts import ALL_AREAS, PublishedCount, publish_count
from threeml.publish.metrics import PublishedMetric, publish_metric
from threeml.publish.numbers import json_number
from threeml.publish.provenance import NOT_AUDITED, Provenance, stamp_data, stamp_items
from threeml.publish.stock_flow import (
    FLOW_FIGURES,
    PublishedFlow,
    flow_figures,
    flow_key,
    publish_flow,
)
from threeml.records.intervals import Interval

__all__ = [
    "ALL_GROUPS",
    "FLOW_FIGURES",
    "FLOW_NOTE",
    "SERIES_COLUMNS",
    "SERIES_NOTES",
    "PublishedFlow",
    "PublishedSeries",
    "flow_figures",
    "flow_key",
    "publish_flow",
    "publish_series",
    "series_total",
]

#: The columns of the long table, in order (``disclosure`` states the policy per row).
SERIES_COLUMNS = (
    "interval",
    "interval_start",
    "interval_end",
    "kind",
    "name",
    "group_by",
    "group",
    "figure",
    "value",
    "disclosure",
)

#: The ``group`` of a figure over all groups (its ``group_by`` is empty).
ALL_GROUPS = "all"

#: The metric figures published per row, when the measure gives them.
METRIC_FIGURES = ("numerator", "denominator", "value", "ci_low", "ci_high")

#: What every series output says about itself.
SERIES_NOTES = (
    "every figure, the totals over all areas of each interval included, went through the "
    "disclosure policy cell by cell; no figure over the whole span is published",
)

#: What a series with stock and flow says besides.
FLOW_NOTE = (
    "flow: opening + starts - ends = closing holds exactly for the true figures, but need "
    "not hold for the published (rounded or suppressed) ones; net_change is the published "
    "starts less the published ends"
)

SUPPRESSED = "suppressed"


def _group(value: Any) -> str:
    return "(missing)" if value is None else str(value)


def series_total(published: PublishedCount) -> int | None:
    """A count's total over all areas in a series: always through the policy (by its cell
    key under a perturbing policy)."""
    result, policy = published.result, published.policy
    key = result.cell_keys.count if result.cell_keys is not None else None
    return policy.apply_keyed(int(result.count), key)


@frozen
class PublishedSeries:
    """A series' published figures: per interval its counts, metrics and stock and flow.

    ``counts[name][i]`` and ``metrics[name][i]`` belong to ``intervals[i]`` (a metric
    ``None`` where it could not be evaluated; ``errors`` says why). Written as the long
    table (:meth:`rows`), JSON (:meth:`data`), Parquet and pandas (:meth:`to_pandas`),
    each audited first.
    """

    intervals: tuple[Interval, ...]
    policy: DisclosurePolicy
    counts: Mapping[str, tuple[PublishedCount, ...]] = field(factory=dict)
    metrics: Mapping[str, tuple[PublishedMetric | None, ...]] = field(factory=dict)
    flow: PublishedFlow | None = None
    errors: Mapping[str, str] = field(factory=dict)
    notes: tuple[str, ...] = SERIES_NOTES
    provenance: Provenance | None = None
    audit: Any = NOT_AUDITED

    def columns(self) -> tuple[str, ...]:
        """The columns of :meth:`rows`: :data:`SERIES_COLUMNS`."""
        return SERIES_COLUMNS

    def figures(self) -> list[dict[str, Any]]:
        """The long table's figure rows (no notes or provenance), ``value`` ``None`` where
        suppressed and ``suppressed`` saying so."""
        rows = []
        for name, published in self.counts.items():
            for interval, count in zip(self.intervals, published, strict=True):
                rows += self._count_rows(interval, name, count)
        for name, published in self.metrics.items():
            for interval, metric in zip(self.intervals, published, strict=True):
                if metric is not None:
                    rows += self._metric_rows(interval, name, metric)
        if self.flow is not None:
            rows += self._flow_rows()
        return rows

    def _row(
        self,
        interval: Interval,
        kind: str,
        name: str,
        group_by: str,
        group: str,
        figure: str,
        value: Any,
        disclosure: str,
        suppressed: bool,
    ) -> dict[str, Any]:
        return {
            "interval": interval.label,
            "interval_start": interval.start.isoformat(),
            "interval_end": interval.end.isoformat(),
            "kind": kind,
            "name": name,
            "group_by": group_by,
            "group": group,
            "figure": figure,
            "value": value,
            "disclosure": disclosure,
            "suppressed": suppressed,
        }

    def _count_rows(self, interval: Interval, name: str, count: PublishedCount) -> list[dict]:
        stated = self.policy.describe()
        total = series_total(count)
        rows = [
            self._row(
                interval, "definition", name, "", ALL_GROUPS, "count", total, stated, total is None
            )
        ]
        for breakdown, cells in count.breakdowns.items():
            for cell in cells:
                rows.append(
                    self._row(
                        interval,
                        "definition",
                        name,
                        breakdown,
                        _group(cell.group),
                        "count",
                        cell.count,
                        stated,
                        cell.suppressed,
                    )
                )
        return rows

    def _metric_rows(self, interval: Interval, name: str, metric: PublishedMetric) -> list[dict]:
        stated = self.policy.describe()
        shown = [f for f in METRIC_FIGURES if getattr(metric.result.total, f) is not None]
        rows = []

        def add(row: MetricRow, group_by: str, group: str, disclosure: str) -> None:
            for figure in shown:
                value = json_number(getattr(row, figure))
                rows.append(
                    self._row(
                        interval,
                        "metric",
                        name,
                        group_by,
                        group,
                        figure,
                        value,
                        disclosure,
                        row.suppressed and value is None,
                    )
                )

        add(metric.total, "", ALL_GROUPS, stated if metric.total_published else ALL_AREAS)
        for breakdown, published in metric.breakdowns.items():
            for row in published:
                add(row, breakdown, _group(row.group), stated)
        return rows

    def _flow_rows(self) -> list[dict[str, Any]]:
        flow, stated = self.flow, self.policy.describe()
        assert flow is not None
        groups: list[tuple[int | None, str, str]] = [(None, "", ALL_GROUPS)]
        if not flow.withheld:
            by = flow.result.by or ""
            groups += [(g, by, _group(group)) for g, group in enumerate(flow.groups)]
        figures = FLOW_FIGURES
        rows = []
        for i, interval in enumerate(self.intervals):
            for g, group_by, group in groups:
                keys = {f: flow_key(i, g, f) for f in figures}
                values = {f: flow.values[k] for f, k in keys.items() if k in flow.values}
                if not values:
                    continue
                starts, ends = values["starts"], values["ends"]
                values["net_change"] = None if starts is None or ends is None else starts - ends
                rows += [
                    self._row(
                        interval,
                        "flow",
                        flow.result.name,
                        group_by,
                        group,
                        figure,
                        value,
                        stated,
                        value is None,
                    )
                    for figure, value in values.items()
                ]
        return rows

    def rows(self) -> list[dict[str, Any]]:
        """The long table as CSV rows: a suppressed figure's value is ``suppressed``; the
        notes (kind ``note``) and provenance (kind ``provenance``) follow the figures."""
        out = []
        for row in self.figures():
            suppressed = row.pop("suppressed")
            if suppressed:
                row["value"] = SUPPRESSED
            elif row["value"] is None:
                row["value"] = ""
            out.append(row)
        blank = dict.fromkeys(SERIES_COLUMNS, "")
        for number, note in enumerate(self.notes, 1):
            out.append({**blank, "kind": "note", "figure": f"note {number}", "value": note})
        for name, reason in self.errors.items():
            out.append(
                {**blank, "kind": "note", "name": name, "figure": "not evaluated", "value": reason}
            )
        for item, value in stamp_items(self.provenance, self.audit):
            out.append({**blank, "kind": "provenance", "figure": item, "value": value})
        return out

    def data(self) -> dict[str, Any]:
        """The series as one JSON-ready object: the policy, the notes and the long table."""
        return {
            "series": [
                {"label": i.label, "start": i.start.isoformat(), "end": i.end.isoformat()}
                for i in self.intervals
            ],
            "disclosure": self.policy.describe(),
            "policy": self.policy.to_dict(),
            "notes": list(self.notes),
            "errors": dict(self.errors),
            "columns": list(SERIES_COLUMNS),
            "rows": self.figures(),
            **stamp_data(self.provenance, self.audit),
        }

    def to_arrow(self) -> Any:
        """The long table, audited, as an Arrow table (:func:`threeml.publish.frames.to_arrow`);
        its metadata states the policy, the audit's outcome and the notes."""
        from threeml.publish.frames import to_arrow

        _register()
        table = to_arrow(self)
        metadata = dict(table.schema.metadata or {})
        metadata[b"threeml.notes"] = " | ".join(self.notes).encode()
        return table.replace_schema_metadata(metadata)

    def to_pandas(self) -> Any:
        """The long table, audited, as a pandas DataFrame: ``value`` numeric (missing where
        suppressed), ``value_suppressed`` beside it; the policy, audit and notes in ``attrs``."""
        table = self.to_arrow()
        frame = table.to_pandas()
        frame.attrs.update({k.decode(): v.decode() for k, v in table.schema.metadata.items()})
        return frame


def _register() -> None:
    """Register the series with the audit and the output formats (imported here, lazily,
    because both import this module)."""
    from threeml.publish import series_audit, series_formats  # noqa: F401


def publish_series(
    intervals: Sequence[Interval],
    policy: DisclosurePolicy,
    *,
    counts: Mapping[str, Sequence[CountResult]] | None = None,
    metrics: Mapping[str, Sequence[MetricResult | None]] | None = None,
    flow: FlowResult | None = None,
    errors: Mapping[str, str] | None = None,
    provenance: Provenance | None = None,
) -> PublishedSeries:
    """A series' raw results as they may be published under ``policy`` (not yet audited:
    the output formats and :meth:`PublishedSeries.to_pandas` audit it before writing)."""
    _register()
    intervals = tuple(intervals)
    published_counts = {
        name: tuple(publish_count(result, policy) for result in results)
        for name, results in (counts or {}).items()
    }
    published_metrics = {
        name: tuple(None if r is None else publish_metric(r, policy) for r in results)
        for name, results in (metrics or {}).items()
    }
    for name, found in [*published_counts.items(), *published_metrics.items()]:
        if len(found) != len(intervals):
            raise ThreemlError(
                f"{name} has {len(found)} result(s) for {len(intervals)} interval(s): "
                "give one result per interval, in the order of the intervals"
            )
    if flow is not None and tuple(flow.intervals) != intervals:
        raise ThreemlError(
            f"the stock and flow {flow.name} was computed over other intervals than the "
            "series: compute it over the same intervals"
        )
    return PublishedSeries(
        intervals,
        policy,
        published_counts,
        published_metrics,
        None if flow is None else publish_flow(flow, policy),
        dict(errors or {}),
        SERIES_NOTES if flow is None else (*SERIES_NOTES, FLOW_NOTE),
        provenance=provenance,
    )
