"""Published documents as tables for a terminal (the ``table`` output format), drawn with rich.

:func:`show` draws any published document; each kind of document has its
drawing registered here. Figures are formatted by :mod:`threeml.publish.numbers`,
as in the HTML report.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import singledispatch
from typing import Any

from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

from threeml.publish.audit import AuditOutcome
from threeml.publish.compare import PublishedComparison, PublishedDiff
from threeml.publish.counts import ALL_AREAS, PublishedCount
from threeml.publish.metrics import PublishedMetric
from threeml.publish.numbers import (
    MISSING,
    format_figure,
    format_interval,
    format_published,
    format_share,
)
from threeml.publish.provenance import stamp_items
from threeml.publish.safe import plain_text, terminal_text
from threeml.publish.trajectories import PublishedTrajectories

__all__ = [
    "progress_table",
    "show",
    "show_comparison",
    "show_count",
    "show_diff",
    "show_metric",
    "show_stamp",
    "show_trajectories",
]


@singledispatch
def show(document: Any, console: Console) -> None:
    """Draw a published document on ``console``."""
    raise TypeError(f"no terminal table for a {type(document).__name__}")


def _m(value: Any) -> str:
    """A value from data or a plugin as markup that prints literally."""
    return terminal_text(value)


def _text(value: Any, style: str = "") -> Text:
    """A value from data or a plugin as a rich Text, control characters escaped."""
    return Text(plain_text(value), style=style)


#: How many cells the audit added a terminal names one by one (more are summed up per table:
#: :meth:`~threeml.publish.audit.AuditOutcome.describe`).
LISTED_CELLS = 10


def show_stamp(document: Any, console: Console) -> None:
    """The audit's outcome and the provenance of ``document``, one line each (the audit's
    added cells summed up per table when there are many)."""
    items = stamp_items(document.provenance, document.audit)
    if isinstance(document.audit, AuditOutcome) and items and items[0][0] == "audit":
        items[0] = ("audit", document.audit.describe(listed=LISTED_CELLS))
    if items:
        console.print(_text("provenance", style="bold"))
    for item, value in items:
        console.print(_text(f"  {item}: {value}"), soft_wrap=True)


@show.register
def show_count(document: PublishedCount, console: Console) -> None:
    """A count: the headline, the attrition table, each breakdown and the policy."""
    result, totals = document.result, document.totals
    definition = result.definition
    totals = {name: format_published(value) for name, value in document.totals.items()}
    console.print(
        f"[bold]{_m(definition.name)}[/bold] (version {_m(definition.version)}) — "
        f"{_m(definition.title)}\n"
        f"period {result.period}: [bold]{format_published(totals['count'])}[/bold] "
        f"{definition.unit.value} ({format_published(totals['users'])} people, "
        f"{format_published(totals['records'])} enrolments) "
        f"of {format_published(totals['considered'])} considered"
    )
    attrition = RichTable(title="Attrition", title_justify="left")
    for column in ("#", "criterion", "remaining", "excluded", "would add if dropped"):
        attrition.add_column(column, justify="left" if column == "criterion" else "right")
    for step in document.attrition():
        attrition.add_row(
            str(step["step"]),
            _m(step["criterion"]),
            format_published(step["remaining"]),
            format_published(step["excluded"]),
            format_published(step["leave_one_out"]),
        )
    console.print(attrition)
    for name, cells in document.breakdowns.items():
        table = RichTable(title=f"By {_m(name)}", title_justify="left")
        table.add_column(_m(name))
        table.add_column(definition.unit.value, justify="right")
        for cell in cells:
            table.add_row(_m(cell.group), format_published(cell.count))
        console.print(table)
    console.print(f"disclosure control: {document.policy.describe()}")
    if document.totals_published and not document.perturbed:
        console.print(
            "the totals and attrition above went through the same rule (a breakdown is beside them)"
        )
    show_stamp(document, console)


_MAIN = ("value", "rate", "proportion", "events_per_head")


def _detail_rows(prefix: str, value: Any) -> list[tuple[str, Any, str, str]]:
    """Details as (figure, value, interval, note) rows.

    A figure with an interval (an estimate, a window's rate, an arm's proportion)
    is one row, its other numbers in the note.
    """
    if isinstance(value, Mapping):
        main = next((key for key in _MAIN if key in value), None)
        if main is not None and "ci_low" in value and "ci_high" in value:
            others = [
                f"{key.replace('_', ' ')} {format_figure(inner)}"
                for key, inner in value.items()
                if key not in (main, "ci_low", "ci_high", "reason")
            ]
            if value.get("reason"):
                others.append(str(value["reason"]))
            interval = format_interval(value["ci_low"], value["ci_high"])
            return [(prefix, value[main], interval, "; ".join(others))]
        rows: list[tuple[str, Any, str, str]] = []
        for key, inner in value.items():
            rows += _detail_rows(f"{prefix} {key}".strip(), inner)
        return rows
    if isinstance(value, list | tuple):
        return [(prefix, ", ".join(str(v) for v in value), "", "")]
    return [(prefix, value, "", "")]


def _intervals_of(row: Mapping[str, Any]) -> str:
    """A group's other figures with an interval (a coverage row's crude rate), as a note."""
    found = []
    for key, value in row.items():
        if isinstance(value, Mapping) and "ci_low" in value and "ci_high" in value:
            main = next((name for name in _MAIN if name in value), None)
            if main is not None and value[main] is not None:
                interval = format_interval(value["ci_low"], value["ci_high"])
                found.append(f"{key.replace('_', ' ')} {format_figure(value[main])} ({interval})")
    return "; ".join(found)


@show.register
def show_metric(document: PublishedMetric, console: Console) -> None:
    """A metric: the headline, its details, the breakdowns and the policy."""
    result, policy, total = document.result, document.policy, document.total
    metric = result.metric
    labels = result.labels
    direction = {True: "higher is better", False: "lower is better", None: ""}
    console.print(
        Text.assemble(
            (plain_text(metric.name), "bold"),
            plain_text(f" (version {metric.version}) — {metric.title}"),
            "\n",
            plain_text(f"population {result.population}, period {result.period}"),
            f", extract date {result.extract_date}" if result.extract_date else "",
        )
    )
    headline = RichTable(show_header=False, box=None, pad_edge=False)
    headline.add_column(style="bold")
    headline.add_column(justify="right")
    headline.add_column()
    headline.add_row(
        "value",
        format_figure(total.value),
        _text(
            f"{labels.get('value', '')}"
            + (
                f" (95% CI {format_interval(total.ci_low, total.ci_high)})"
                if total.ci_low is not None
                else ""
            )
            + (
                f"; {direction[metric.higher_is_better]}"
                if metric.higher_is_better is not None
                else ""
            )
        ),
    )
    headline.add_row(
        "numerator", format_figure(total.numerator), _text(labels.get("numerator", ""))
    )
    headline.add_row(
        "denominator", format_figure(total.denominator), _text(labels.get("denominator", ""))
    )
    console.print(headline)
    if total.value is None and total.reason:
        console.print(_text(f"no value: {total.reason}", style="yellow"))
    shown = dict(total.details)
    if len(shown.get("trials") or {}) == 1 and "trial" in shown:
        del shown["trials"]  # the only trial is the headline
    details = _detail_rows("", shown)
    if details:
        table = RichTable(
            title="Details (all areas, rounded)"
            if document.total_published
            else "Details (all areas)",
            title_justify="left",
        )
        table.add_column("figure")
        table.add_column("value", justify="right")
        table.add_column("95% CI", justify="right")
        table.add_column("note")
        for key, value, interval, note in details:
            table.add_row(_text(key), _text(format_figure(value)), interval, _text(note))
        console.print(table)
    for name, rows in document.breakdown_data().items():
        if any("projection" in row for row in rows):
            _show_progress(f"By {name}", name, rows, console)
            continue
        table = RichTable(title=f"By {name}", title_justify="left")
        for column in (name, "numerator", "denominator", "value", "95% CI", "note"):
            table.add_column(column, justify="left" if column in (name, "note") else "right")
        for row in rows:
            table.add_row(
                _text(str(row["group"])),
                format_published(row["numerator"]),
                format_published(row["denominator"]),
                format_figure(row["value"]),
                format_interval(row["ci_low"], row["ci_high"]),
                _text("; ".join(filter(None, [row["reason"], _intervals_of(row)]))),
            )
        console.print(table)
    if policy.perturbs:
        console.print(
            f"disclosure control: {policy.describe()}; metric counts carry no cell keys, so "
            f"they are suppressed or rounded to the nearest {policy.rounding}, the total too"
        )
    elif result.breakdowns:
        console.print(f"disclosure control below all areas: {policy.describe()}")
        console.print(
            "proportions and rates below all areas are computed from the published (rounded) "
            "figures, and suppressed when either is"
        )
        if document.total_published:
            console.print("the total above went through the same rule, beside its breakdowns")
    else:
        console.print(f"disclosure control: {ALL_AREAS}; policy {policy.describe()}")
    show_stamp(document, console)


def _on_track(value: Any) -> str:
    return MISSING if value is None else ("yes" if value else "no")


#: The columns of a progress table; the due date (and the interval) go below it when every
#: row shares them, into the note otherwise, so the table fits 80 columns.
_PROGRESS = ("counted", "target", "share", "projected", "on track")


def _progress(
    title: str, name: str, rows: list[tuple[Any, ...]], shared: dict[str, set[str]]
) -> tuple[RichTable, list[str]]:
    """A progress table of ``rows`` (group, counted, target, share, projected, on track,
    extras (a mapping), note) and the lines to print below it."""
    table = RichTable(title=title, title_justify="left")
    table.add_column(name)
    for column in _PROGRESS:
        table.add_column(column, justify="right")
    table.add_column("note")
    below = [f"{key}: {next(iter(values))}" for key, values in shared.items() if len(values) == 1]
    for group, counted, target, share, projected, on_track, extras, note in rows:
        parts = [f"{k} {v}" for k, v in extras.items() if v and len(shared[k]) > 1]
        table.add_row(
            _text(str(group)),
            format_published(counted),
            format_figure(target),
            format_share(share, 1),
            format_figure(projected),
            _on_track(on_track),
            _text("; ".join(filter(None, [*parts, note]))),
        )
    return table, below


def progress_table(title: str, name: str, rows: list[dict[str, Any]]) -> RichTable:
    """Progress to target per group (published rows): counted, target, share reached, the
    projection to the due date and whether the group is on track (the due date in the note
    when the groups' differ)."""
    table, _ = _progress(title, name, *_progress_rows(rows))
    return table


def _progress_rows(rows: list[dict[str, Any]]) -> tuple[list[tuple[Any, ...]], dict]:
    shared: dict[str, set[str]] = {"due": {str(r.get("due")) for r in rows if r.get("due")}}
    out = [
        (
            row["group"],
            row["numerator"],
            row["denominator"],
            row["value"],
            row.get("projection"),
            row.get("on_track"),
            {"due": row.get("due")},
            row.get("projection_note") or row["reason"] or "",
        )
        for row in rows
    ]
    return out, shared


def _show_progress(title: str, name: str, rows: list[dict[str, Any]], console: Console) -> None:
    table, below = _progress(title, name, *_progress_rows(rows))
    console.print(table)
    for line in below:
        console.print(_text(line))


@show.register
def show_trajectories(document: PublishedTrajectories, console: Console) -> None:
    """Progress to target over a series: per area the latest published count, the target,
    the share reached, the projection to the due date and whether the area is on track."""
    rows = []
    shared: dict[str, set[str]] = {"due": set(), "latest": set()}
    for t in document.trajectories:
        latest = t.latest
        extras = {
            "due": t.due.isoformat() if t.due else None,
            "latest": latest.label if latest else None,
        }
        for key, value in extras.items():
            if value:
                shared[key].add(value)
        rows.append(
            (
                "all areas" if t.group is None else t.group,
                latest.count if latest else None,
                t.target,
                latest.share if latest else None,
                t.projection,
                t.on_track,
                extras,
                t.note or "",
            )
        )
    title = f"{document.metric}: {document.population} against each area's target"
    table, below = _progress(title, document.by or "group", rows, shared)
    console.print(table)
    for line in below:
        console.print(_text(line.replace("latest:", "counted in")))
    console.print(
        f"projected: the least-squares line through the published counts of the last "
        f"{document.recent} intervals, read off at the due date; on track: it reaches the target"
    )
    console.print(f"disclosure control below all areas: {document.policy.describe()}")
    show_stamp(document, console)


@show.register
def show_comparison(document: PublishedComparison, console: Console) -> None:
    """Definitions side by side (and per-group cells), then any metrics."""
    comparison, policy = document.comparison, document.policy
    rows = document.definitions()
    table = RichTable(
        title=f"Definitions compared, {comparison.period} (all areas)",
        title_justify="left",
    )
    for column in ("definition", "unit", "people", "records", "% of loosest"):
        table.add_column(column, justify="left" if column in ("definition", "unit") else "right")
    for row in rows:
        share = row["share_of_loosest"]
        table.add_row(
            _m(row["definition"]),
            _m(row["unit"]),
            format_published(row["users"]),
            format_published(row["records"]),
            "" if share is None else format_share(share, 1),
        )
    console.print(table)
    loosest = comparison.loosest.definition.name
    loosest_users = document.counts[loosest].totals["users"]
    console.print(f"loosest: {_m(loosest)} ({format_published(loosest_users)} people)")
    for name in document.by:
        groups = sorted({str(cell["group"]) for row in rows for cell in row["breakdown"][name]})
        cells = RichTable(title=f"People by {name}", title_justify="left")
        cells.add_column("definition")
        for group in groups:
            cells.add_column(_text(group), justify="right")
        for row in rows:
            found = {str(c["group"]): c["count"] for c in row["breakdown"][name]}
            cells.add_row(
                _m(row["definition"]),
                *[
                    "0" if group not in found else format_published(found[group])
                    for group in groups
                ],
            )
        console.print(cells)
        console.print(f"disclosure control: {policy.describe()}")
    if any(count.totals_published for count in document.counts.values()):
        console.print("totals over all areas went through the same rule, beside the breakdowns")
    if document.metrics:
        _show_metrics(document, console)
    if not document.by and not document.metric_by:
        console.print(f"disclosure control: {ALL_AREAS}; policy {policy.describe()}")
    show_stamp(document, console)


def _show_metrics(document: PublishedComparison, console: Console) -> None:
    """Metrics one per row (totals), then their values per group under the policy."""
    table = RichTable(title="Metrics (all areas)", title_justify="left")
    for column in ("metric", "population", "numerator", "denominator", "value", "95% CI", "note"):
        left = column in ("metric", "population", "note")
        table.add_column(column, justify="left" if left else "right")
    for published in document.metrics:
        result, total = published.result, published.total
        table.add_row(
            _text(result.metric.name),
            _text(result.population),
            format_figure(total.numerator),
            format_figure(total.denominator),
            format_figure(total.value),
            format_interval(total.ci_low, total.ci_high),
            _text(total.reason or result.labels.get("value", "")),
        )
    console.print(table)
    for name in document.metric_by:
        cells = RichTable(title=f"Metric values by {name}", title_justify="left")
        published = [metric.breakdown_data()[name] for metric in document.metrics]
        groups = sorted({str(row["group"]) for rows in published for row in rows})
        cells.add_column("metric")
        for group in groups:
            cells.add_column(_text(group), justify="right")
        for metric, rows in zip(document.metrics, published, strict=True):
            found = {str(row["group"]): row for row in rows}
            cells.add_row(
                _text(metric.result.metric.name),
                *[
                    "–"
                    if group not in found
                    else (
                        "suppressed"
                        if found[group]["value"] is None and found[group]["suppressed"]
                        else format_figure(found[group]["value"])
                    )
                    for group in groups
                ],
            )
        console.print(cells)
        console.print(
            f"disclosure control: {document.policy.describe()}; "
            "values computed from the published figures"
        )


@show.register
def show_diff(document: PublishedDiff, console: Console) -> None:
    """Who is counted by both, by one only, and the criteria that left them out."""
    figures = document.figures()
    a, b = (_m(name) for name in document.names)
    console.print(f"people counted by both: {format_published(figures['both'])}")
    for count, label, reasons, other in (
        (figures["only_first"], f"{a} but not {b}", figures["only_first_failed"], b),
        (figures["only_second"], f"{b} but not {a}", figures["only_second_failed"], a),
    ):
        console.print(f"[bold]{format_published(count)}[/bold] people counted by {label}")
        for step, text, n in reasons[:5]:
            where = f"criterion {step} of {other}" if step else other
            console.print(f"  {format_published(n)} failed {where}: {_m(text)}")
    console.print(f"disclosure control: {document.disclosure()}")
    show_stamp(document, console)
