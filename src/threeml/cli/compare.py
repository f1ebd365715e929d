"""``threeml compare``: definitions side by side, or the difference between two."""

from __future__ import annotations

import csv
import json
import sys

import click
from rich.console import Console
from rich.table import Table as RichTable

from threeml.cli.app import cli
from threeml.cli.count import data_option, load_dataset, period_option
from threeml.compare import Comparison, Diff
from threeml.compare import compare as compare_definitions
from threeml.compare import diff as diff_results
from threeml.disclosure import DisclosurePolicy, policy_named


@cli.command()
@click.argument("names", nargs=-1)
@data_option
@period_option
@click.option(
    "--by",
    multiple=True,
    help="Also break each count down by a users column, "
    "service_kind or sector (repeatable); cells go through disclosure control.",
)
@click.option(
    "--diff",
    "show_diff",
    is_flag=True,
    help="With exactly two NAMES: who is counted by one and not the other, and why.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
)
@click.option(
    "--disclosure",
    default="default",
    show_default=True,
    help="Disclosure policy for breakdowns below all areas: default or none.",
)
@click.option("--lenient", is_flag=True, help="Set rows that fail validation aside.")
def compare(names, data, period, by, show_diff, fmt, disclosure, lenient) -> None:
    """Count every installed definition (or the NAMES given) on one extract, side by side.

    One row per definition: people, records (enrolments) and the share of the
    loosest definition's people — how a headline of connections becomes a much
    smaller number of people actively using telehealth.
    """
    from threeml.registry import default_registry

    registry = default_registry()
    definitions = (
        [registry.counting(name) for name in names] if names else registry.counting_definitions()
    )
    if show_diff and len(definitions) != 2:
        raise click.UsageError("--diff compares exactly two definitions: give two NAMES")
    policy = policy_named(disclosure)
    dataset = load_dataset(data, lenient)
    comparison = compare_definitions(definitions, dataset, period, by=by, registry=registry)
    if show_diff:
        first, second = (comparison.results[d.name] for d in definitions)
        _print_diff(diff_results(first, second), fmt)
        return
    rows = _rows(comparison, policy)
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "period": {"start": period.start.isoformat(), "end": period.end.isoformat()},
                    "loosest": comparison.loosest.definition.name,
                    "disclosure": policy.describe(),
                    "definitions": rows,
                },
                indent=2,
                default=str,
            )
        )
        return
    if fmt == "csv":
        flat = [{k: v for k, v in row.items() if k != "breakdown"} for row in rows]
        writer = csv.DictWriter(sys.stdout, fieldnames=list(flat[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(flat)
        return
    print_comparison(comparison, policy, by, Console(highlight=False))


def _rows(comparison: Comparison, policy: DisclosurePolicy) -> list[dict]:
    rows = []
    for name, result in comparison.results.items():
        share = comparison.share_of_loosest(name)
        rows.append(
            {
                "definition": name,
                "version": result.definition.version,
                "unit": result.unit.value,
                "count": result.count,
                "users": result.users,
                "records": result.records,
                "share_of_loosest": None if share is None else round(share, 4),
                "breakdown": {
                    b: [{"group": row.value, "count": policy.apply(row.count)} for row in cells]
                    for b, cells in result.breakdowns.items()
                },
            }
        )
    return rows


def print_comparison(
    comparison: Comparison, policy: DisclosurePolicy, by, console: Console
) -> None:
    """Print definitions side by side (and per-group cells under ``policy``)."""
    rows = _rows(comparison, policy)
    table = RichTable(
        title=f"Definitions compared, {comparison.period} (all areas, unrounded)",
        title_justify="left",
    )
    for column in ("definition", "unit", "people", "records", "% of loosest"):
        table.add_column(column, justify="left" if column in ("definition", "unit") else "right")
    for row in rows:
        share = row["share_of_loosest"]
        table.add_row(
            row["definition"],
            row["unit"],
            f"{row['users']:,}",
            f"{row['records']:,}",
            "" if share is None else f"{100 * share:.1f}%",
        )
    console.print(table)
    console.print(
        f"loosest: {comparison.loosest.definition.name} ({comparison.loosest.users:,} people)"
    )
    for name in by:
        groups = sorted({str(cell["group"]) for row in rows for cell in row["breakdown"][name]})
        cells = RichTable(title=f"People by {name}", title_justify="left")
        cells.add_column("definition")
        for group in groups:
            cells.add_column(group, justify="right")
        for row in rows:
            found = {str(c["group"]): c["count"] for c in row["breakdown"][name]}
            cells.add_row(
                row["definition"],
                *[
                    "0"
                    if group not in found
                    else ("suppressed" if found[group] is None else f"{found[group]:,}")
                    for group in groups
                ],
            )
        console.print(cells)
        console.print(f"disclosure control: {policy.describe()}")


def _print_diff(result: Diff, fmt: str) -> None:
    a, b = result.first.definition.name, result.second.definition.name
    data = {
        "first": a,
        "second": b,
        "both": result.both,
        "only_first": result.only_first,
        "only_second": result.only_second,
        "only_first_failed": [
            {"step": i, "criterion": t, "users": n} for i, t, n in result.first_not_second_reasons
        ],
        "only_second_failed": [
            {"step": i, "criterion": t, "users": n} for i, t, n in result.second_not_first_reasons
        ],
    }
    if fmt == "json":
        click.echo(json.dumps(data, indent=2))
        return
    if fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["side", "step", "criterion", "users"])
        for side, key in (
            (f"{a} not {b}", "only_first_failed"),
            (f"{b} not {a}", "only_second_failed"),
        ):
            for row in data[key]:
                writer.writerow([side, row["step"], row["criterion"], row["users"]])
        return
    console = Console(highlight=False)
    console.print(f"people counted by both: {result.both:,}")
    for count, label, reasons, other in (
        (result.only_first, f"{a} but not {b}", result.first_not_second_reasons, b),
        (result.only_second, f"{b} but not {a}", result.second_not_first_reasons, a),
    ):
        console.print(f"[bold]{count:,}[/bold] people counted by {label}")
        for step, text, n in reasons[:5]:
            where = f"criterion {step} of {other}" if step else other
            console.print(f"  {n:,} failed {where}: {text}")
