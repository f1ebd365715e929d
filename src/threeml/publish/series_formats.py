"""A series' long table on the terminal (JSON, CSV and Parquet: :mod:`threeml.publish.formats`).

Registers :class:`~threeml.publish.series.PublishedSeries` with the ``table`` writer;
:func:`~threeml.publish.formats.write` audits the series before it runs. The table shows each
definition, metric and the stock and flow as one row per name, group and figure, one column
per interval.
"""

from __future__ import annotations

from typing import IO, Any

from rich.console import Console
from rich.table import Table as RichTable

from threeml.publish.formats import write_table
from threeml.publish.numbers import format_published
from threeml.publish.provenance import audit_text
from threeml.publish.safe import terminal_text
from threeml.publish.series import PublishedSeries

__all__: list[str] = []

#: The most intervals the terminal table shows as columns (the latest ones).
TERMINAL_INTERVALS = 12


@write_table.register
def _table(document: PublishedSeries, stream: IO) -> None:
    console = Console(file=stream, highlight=False, width=max(100, 24 + 9 * TERMINAL_INTERVALS))
    labels = [i.label for i in document.intervals]
    shown = labels[-TERMINAL_INTERVALS:]
    if len(shown) < len(labels):
        console.print(
            f"the latest {len(shown)} of {len(labels)} intervals; --format csv, json or "
            "parquet gives them all"
        )
    table = RichTable(title="Series", title_justify="left")
    for column in ("kind", "name", "group", "figure"):
        table.add_column(column)
    for label in shown:
        table.add_column(label, justify="right")
    lines: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for row in document.figures():
        group = row["group"] if not row["group_by"] else f"{row['group_by']}={row['group']}"
        line = lines.setdefault((row["kind"], row["name"], group, row["figure"]), {})
        line[row["interval"]] = row["value"]
    for (kind, name, group, figure), values in lines.items():
        table.add_row(
            kind,
            terminal_text(name),
            terminal_text(group),
            figure,
            *(format_published(values[label]) if label in values else "" for label in shown),
        )
    console.print(table)
    console.print(f"disclosure: {terminal_text(document.policy.describe())}")
    for note in document.notes:
        console.print(f"note: {terminal_text(note)}")
    for name, reason in document.errors.items():
        console.print(f"not evaluated: {terminal_text(name)}: {terminal_text(reason)}")
    console.print(f"disclosure audit: {terminal_text(audit_text(document.audit))}")
