"""The report on a terminal: definitions side by side, metrics, the policy (its ``table`` form)."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

from threeml.publish.audit import AuditOutcome
from threeml.publish.numbers import format_figure, format_interval, format_published
from threeml.publish.safe import safe_text
from threeml.publish.terminal import LISTED_CELLS, show
from threeml.report.provenance import provenance_items
from threeml.report.publish import PublishedReport

__all__ = ["LEGEND", "fitted", "print_summary", "show_report"]

#: What a metric without a value shows, and what it means (printed under the table).
NO_VALUE = "–"
LEGEND = (
    f"{NO_VALUE} no value: the note above says why (not evaluated, no one in the population, "
    "or withheld by disclosure control); proportions are shown as percentages"
)
DEFINITION_COLUMNS = ("definition", "count", "people", "enrolments", "considered")
METRIC_COLUMNS = ("metric", "value", "95% CI", "numerator", "denominator")
#: Where the summary says every cell the audit added is named.
AUDIT_FILES = "the audit of results.json (audit.added), results.csv and report.html"


def is_share(metric: Mapping[str, Any]) -> bool:
    """Whether a metric's value is a share of a whole (a proportion), shown as a percentage."""
    label = str((metric.get("labels") or {}).get("value", "")).lower()
    return metric.get("measure") == "proportion" or label == "proportion" or "share of" in label


def _percent(value: Any) -> str:
    return NO_VALUE if value is None else f"{value * 100:.1f}%"


def format_metric_value(metric: Mapping[str, Any]) -> str:
    """A metric's value; a proportion (a share between 0 and 1) as a percentage."""
    value = metric["value"]
    if value is None:
        return NO_VALUE
    return _percent(value) if is_share(metric) else format_figure(value)


def format_metric_interval(metric: Mapping[str, Any]) -> str:
    """A metric's 95% interval, in percentages for a proportion."""
    low, high = metric["ci_low"], metric["ci_high"]
    if is_share(metric) and low is not None and high is not None:
        return f"{_percent(low)} to {_percent(high)}"
    return format_interval(low, high)


def fitted(
    console: Console, title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]
) -> None:
    """Print ``rows`` as a table when it fits the console's width, else one block per row
    (the first column as a heading, then ``column value`` pairs wrapped to the width): no
    value column is ever dropped or cut, at 80 columns or in piped output."""
    widths = [
        max([cell_len(column), *(cell_len(str(row[i])) for row in rows)])
        for i, column in enumerate(columns)
    ]
    if sum(widths) + 3 * len(widths) + 1 <= console.width:
        table = RichTable(title=title, title_justify="left")
        table.add_column(columns[0], no_wrap=True)
        for column in columns[1:]:
            table.add_column(column, justify="right", no_wrap=True)
        for row in rows:
            table.add_row(*(safe_text(str(cell)) for cell in row))
        console.print(table)
        return
    console.print(safe_text(title, style="italic"))
    for row in rows:
        console.print(safe_text(str(row[0]), style="bold"), soft_wrap=True)
        pairs = "  ".join(
            f"{column} {cell}" for column, cell in zip(columns[1:], row[1:], strict=True) if cell
        )
        console.print(
            Text(
                textwrap.fill(pairs, width=max(console.width - 2, 20), initial_indent="  ",
                              subsequent_indent="  ", break_on_hyphens=False)
            ),
            soft_wrap=True,
        )  # fmt: skip


def print_summary(published: Mapping[str, Any], console: Console) -> None:
    """The terminal summary of the published report data (:func:`~threeml.report.publish`)."""
    period = published["period"]
    console.print(
        Text.assemble(
            ("threeml report", "bold"),
            f" — period {period['start']} to {period['end']}, "
            f"extract date {published['extract_date']}",
        )
    )
    if published["definitions"]:
        perturbed = "cell_key" in published["disclosure"]
        title = "Definitions (all areas" + (", perturbed)" if perturbed else ")")
        rows = []
        for d in published["definitions"]:
            unit = "" if d["unit"] == "users" else f" {d['unit']}"
            rows.append(
                [
                    d["name"],
                    f"{format_published(d['count'])}{unit}",
                    format_published(d["users"]),
                    format_published(d["records"]),
                    format_published(d["considered"]),
                ]
            )
        fitted(console, title, DEFINITION_COLUMNS, rows)
        for breakdown in sorted({b for d in published["definitions"] for b in d["breakdowns"]}):
            cells = [
                c for d in published["definitions"] for c in d["breakdowns"].get(breakdown, ())
            ]
            groups = len({c["group"] for c in cells})
            hidden = sum(c["suppressed"] for c in cells)
            console.print(
                f"by {breakdown}: {groups:,} groups, {hidden:,} of {len(cells):,} cells "
                "suppressed (see report.html, results.csv)"
            )
    if published["metrics"]:
        rounded = "cell_key" in published["disclosure"]
        title = "Metrics (all areas" + (", rounded)" if rounded else ")")
        rows, notes = [], []
        for m in published["metrics"]:
            if not m["evaluated"]:
                rows.append([m["name"], NO_VALUE, "", "", ""])
                notes.append((m["name"], f"not evaluated: {m['error']}"))
                continue
            rows.append(
                [
                    m["name"],
                    format_metric_value(m),
                    format_metric_interval(m),
                    format_figure(m["numerator"]),
                    format_figure(m["denominator"]),
                ]
            )
            note = m["reason"] or m["labels"].get("value", "")
            if note:
                notes.append((m["name"], note))
        fitted(console, title, METRIC_COLUMNS, rows)
        for name, note in notes:
            console.print(safe_text(f"  {name}: {note}"), soft_wrap=False)
        console.print(LEGEND)
    console.print(f"disclosure control: {published['disclosure']['description']}")
    if published.get("areas"):
        console.print(safe_text(published["areas"]["note"]), soft_wrap=True)
    items = provenance_items(published)
    definitions = sum(item.startswith("definition ") for item, _ in items)
    console.print(safe_text("provenance", style="bold"))
    for item, value in items:
        if item == "audit":
            value = _audit_line(published.get("audit"), value)
        if not item.startswith("definition "):
            console.print(safe_text(f"  {item}: {value}"), soft_wrap=True)
    console.print(
        f"  definitions: {definitions:,}, each with its version, content hash and source "
        "in results.json, results.csv and report.html"
    )


def _audit_line(audit: Any, line: str) -> str:
    """The audit's outcome, its added cells summed up per table when there are many (every
    one is named in the files)."""
    if not isinstance(audit, Mapping) or "status" not in audit:
        return line
    return AuditOutcome.from_dict(audit).describe(listed=LISTED_CELLS, where=AUDIT_FILES)


@show.register
def show_report(document: PublishedReport, console: Console) -> None:
    """The report's terminal summary."""
    print_summary(document.data, console)
