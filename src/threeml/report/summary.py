"""The report on a terminal: definitions side by side, metrics, the policy (its ``table`` form)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

from threeml.publish.numbers import format_figure, format_interval, format_published
from threeml.publish.safe import safe_text
from threeml.publish.terminal import show
from threeml.report.provenance import provenance_items
from threeml.report.publish import PublishedReport

__all__ = ["print_summary", "show_report"]


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
        table = RichTable(title=title, title_justify="left")
        table.add_column("definition", no_wrap=True)
        for column in ("count", "people", "enrolments", "considered"):
            table.add_column(column, justify="right", no_wrap=True)
        for d in published["definitions"]:
            unit = "" if d["unit"] == "users" else f" {d['unit']}"
            table.add_row(
                safe_text(d["name"]),
                f"{format_published(d['count'])}{unit}",
                format_published(d["users"]),
                format_published(d["records"]),
                format_published(d["considered"]),
            )
        console.print(table)
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
        table = RichTable(title=title, title_justify="left")
        table.add_column("metric", no_wrap=True)
        for column in ("value", "95% CI", "numerator", "denominator"):
            table.add_column(column, justify="right", no_wrap=True)
        table.add_column("note", overflow="ellipsis", no_wrap=True, max_width=40)
        for m in published["metrics"]:
            if not m["evaluated"]:
                table.add_row(
                    safe_text(m["name"]), "", "", "", "", safe_text(f"not evaluated: {m['error']}")
                )
                continue
            table.add_row(
                safe_text(m["name"]),
                format_figure(m["value"]),
                format_interval(m["ci_low"], m["ci_high"]),
                format_figure(m["numerator"]),
                format_figure(m["denominator"]),
                safe_text(m["reason"] or m["labels"].get("value", "")),
            )
        console.print(table)
    console.print(f"disclosure control: {published['disclosure']['description']}")
    items = provenance_items(published)
    definitions = sum(item.startswith("definition ") for item, _ in items)
    console.print(safe_text("provenance", style="bold"))
    for item, value in items:
        if not item.startswith("definition "):
            console.print(safe_text(f"  {item}: {value}"), soft_wrap=True)
    console.print(
        f"  definitions: {definitions:,}, each with its version, content hash and source "
        "in results.json, results.csv and report.html"
    )


@show.register
def show_report(document: PublishedReport, console: Console) -> None:
    """The report's terminal summary."""
    print_summary(document.data, console)
