"""``threeml validate``: check an extract and print what is wrong, where."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table as RichTable

from threeml.cli.app import cli
from threeml.cli.extract import revalidate_option, schema_option, validate_data
from threeml.data.report import Mode, ProblemKind, Severity, ValidationReport, report_to_dict
from threeml.publish.safe import terminal_text


@cli.command()
@click.argument("extract", metavar="DATA")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="How to print the report.",
)
@click.option(
    "--max-per-kind",
    default=5,
    show_default=True,
    type=click.IntRange(0),
    help="How many problems of each kind to list before the totals.",
)
@click.option(
    "--mode",
    type=click.Choice([m.value for m in Mode]),
    default=Mode.STRICT.value,
    show_default=True,
    help="lenient also shows how many rows would be set aside, and why.",
)
@schema_option
@revalidate_option
def validate(extract: str, fmt: str, max_per_kind: int, mode: str) -> None:
    """Check the extract DATA against the interchange schema.

    DATA is what --data takes elsewhere: a folder of CSV/Parquet files, a DuckDB
    database file, a database URL or what a plugin's loader opens (with --schema, the
    schema of a database or DuckDB file holding the tables).

    Lists the first problems of each kind (file, row as numbered in the file
    with the header as row 1, column, value and what was expected), then the
    totals. Exits 0 when there are no errors (warnings allowed), 1 otherwise.
    """
    report = validate_data(extract, mode)
    if fmt == "json":
        click.echo(json.dumps(report_to_dict(report), indent=2, default=str))
    else:
        print_report(report, max_per_kind=max_per_kind, console=Console(highlight=False))
    if not report.ok:
        raise click.exceptions.Exit(1)


def _m(value: object) -> str:
    """A value from the extract as markup that prints literally."""
    return terminal_text(value)


def print_report(report: ValidationReport, *, max_per_kind: int, console: Console) -> None:
    """Print a validation report for people: examples per kind, then totals."""
    rows = ", ".join(f"{name} {n:,}" for name, n in report.rows.items())
    console.print(f"[bold]{_m(report.source)}[/bold]: rows read: {_m(rows or 'none')}")
    shown: dict[tuple[str, ProblemKind], int] = {}
    for problem in sorted(
        report.examples,
        key=lambda p: (p.severity != Severity.ERROR, list(ProblemKind).index(p.kind)),
    ):
        key = (problem.table, problem.kind)
        if shown.get(key, 0) >= max_per_kind:
            continue
        shown[key] = shown.get(key, 0) + 1
        value = f" (value {problem.value!r})" if problem.value is not None else ""
        style = "red" if problem.severity is Severity.ERROR else "yellow"
        console.print(
            f"[{style}]{problem.severity.value}[/{style}] {_m(problem.location())}: "
            f"{problem.kind.value}{_m(value)}: {_m(problem.message)}",
            soft_wrap=True,
        )
    if report.counts:
        totals = RichTable(title="Problems by table and kind", title_justify="left")
        for name in ("table", "kind", "severity", "count"):
            totals.add_column(name, justify="right" if name == "count" else "left")
        for (table, kind), n in sorted(
            report.counts.items(),
            key=lambda item: (item[0][0], list(ProblemKind).index(item[0][1])),
        ):
            totals.add_row(_m(table), kind.value, kind.severity.value, f"{n:,}")
        console.print(totals)
    if report.set_aside:
        aside = RichTable(title="Rows set aside (lenient mode)", title_justify="left")
        for name in ("table", "first problem", "rows"):
            aside.add_column(name, justify="right" if name == "rows" else "left")
        for (table, kind), n in sorted(report.set_aside.items(), key=lambda item: item[0]):
            aside.add_row(_m(table), kind.value, f"{n:,}")
        console.print(aside)
    verdict = "[green]valid[/green]" if report.ok else "[red]not valid[/red]"
    console.print(f"{verdict}: {report.errors:,} error(s), {report.warnings:,} warning(s)")
