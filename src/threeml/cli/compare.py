"""``threeml compare``: definitions side by side, or the difference between two."""

from __future__ import annotations

import csv
import json
import sys

import click
from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

from threeml.cli.app import cli
from threeml.cli.count import data_option, load_dataset, period_option
from threeml.cli.options import disclosure_option, format_option
from threeml.engine.compare import Comparison, Diff
from threeml.engine.compare import compare as compare_definitions
from threeml.engine.compare import diff as diff_results
from threeml.engine.evaluate import ENROLMENT_BREAKDOWNS
from threeml.metrics.measures import (
    MetricResult,
    evaluate_metric,
    metric_breakdowns,
    metric_to_dict,
)
from threeml.publish.counts import published_breakdown
from threeml.publish.disclosure import DisclosurePolicy, policy_named


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
@format_option
@disclosure_option
@click.option(
    "--metric",
    "metric_names",
    multiple=True,
    metavar="NAME",
    help="Also evaluate the metric NAME on the same extract and period and add its row "
    "(repeatable); breakdowns by a users column go through disclosure control.",
)
@click.option("--lenient", is_flag=True, help="Set rows that fail validation aside.")
def compare(names, data, period, by, show_diff, metric_names, fmt, disclosure, lenient) -> None:
    """Count every installed definition (or the NAMES given) on one extract, side by side.

    One row per definition: people, records (enrolments) and the share of the
    loosest definition's people — how a headline of connections becomes a much
    smaller number of people actively using telehealth. With --metric NAME,
    metrics are evaluated on the same extract and listed after the counts.
    """
    from threeml.plugins.registry import default_registry

    registry = default_registry()
    definitions = (
        [registry.counting(name) for name in names] if names else registry.counting_definitions()
    )
    if show_diff and len(definitions) != 2:
        raise click.UsageError("--diff compares exactly two definitions: give two NAMES")
    if show_diff and metric_names:
        raise click.UsageError("--diff compares two counting definitions; leave out --metric")
    metrics = [registry.metric(name) for name in metric_names]
    policy = policy_named(disclosure)
    dataset = load_dataset(data, lenient)
    comparison = compare_definitions(definitions, dataset, period, by=by, registry=registry)
    if show_diff:
        first, second = (comparison.results[d.name] for d in definitions)
        _print_diff(diff_results(first, second), fmt)
        return
    rows = _rows(comparison, policy)
    # Metrics break down by users columns only.
    metric_by = [b for b in by if b not in ENROLMENT_BREAKDOWNS]
    results = [
        evaluate_metric(metric, dataset, period, registry, by=metric_by) for metric in metrics
    ]
    if fmt == "json":
        data = {
            "period": {"start": period.start.isoformat(), "end": period.end.isoformat()},
            "loosest": comparison.loosest.definition.name,
            "disclosure": policy.describe(),
            "definitions": rows,
        }
        if metrics:
            data["metrics"] = [metric_to_dict(result, policy) for result in results]
        click.echo(json.dumps(data, indent=2, default=str))
        return
    if fmt == "csv":
        flat = [{k: v for k, v in row.items() if k != "breakdown"} for row in rows]
        if metrics:
            flat = [{**row, **dict.fromkeys(_METRIC_COLUMNS, "")} for row in flat]
            flat += [_metric_csv_row(result, flat[0]) for result in results]
        writer = csv.DictWriter(sys.stdout, fieldnames=list(flat[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(flat)
        return
    console = Console(highlight=False)
    print_comparison(comparison, policy, by, console)
    if metrics:
        print_metrics(results, policy, metric_by, console)


#: The columns metric rows add to the CSV form.
_METRIC_COLUMNS = ("population", "numerator", "denominator", "value", "ci_low", "ci_high")


def _metric_csv_row(result: MetricResult, template: dict) -> dict:
    """A metric as one row of the comparison's CSV: unit ``metric``, count columns empty."""
    head = metric_to_dict(result, DisclosurePolicy("none", 0, 0))
    row = dict.fromkeys(template, "")
    row.update(
        {
            "definition": result.metric.name,
            "version": result.metric.version,
            "unit": "metric",
            **{key: "" if head[key] is None else head[key] for key in _METRIC_COLUMNS},
        }
    )
    return row


def print_metrics(
    results: list[MetricResult], policy: DisclosurePolicy, by, console: Console
) -> None:
    """Print metrics one per row (totals), then their values per group under ``policy``."""
    from threeml.cli.metric import format_figure, format_interval

    table = RichTable(title="Metrics (all areas, unrounded)", title_justify="left")
    for column in ("metric", "population", "numerator", "denominator", "value", "95% CI", "note"):
        left = column in ("metric", "population", "note")
        table.add_column(column, justify="left" if left else "right")
    for result in results:
        table.add_row(
            Text(result.metric.name),
            Text(result.population),
            format_figure(result.numerator),
            format_figure(result.denominator),
            format_figure(result.value),
            format_interval(result.ci_low, result.ci_high),
            Text(result.reason or result.labels.get("value", "")),
        )
    console.print(table)
    for name in by:
        cells = RichTable(title=f"Metric values by {name}", title_justify="left")
        published = [metric_breakdowns(result, policy)[name] for result in results]
        groups = sorted({str(row["group"]) for rows in published for row in rows})
        cells.add_column("metric")
        for group in groups:
            cells.add_column(Text(group), justify="right")
        for result, rows in zip(results, published, strict=True):
            found = {str(row["group"]): row for row in rows}
            cells.add_row(
                Text(result.metric.name),
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
            f"disclosure control: {policy.describe()}; values computed from the published figures"
        )


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
                    b: [
                        {"group": row.value, "count": published}
                        for row, published in zip(
                            cells, published_breakdown(cells, policy), strict=True
                        )
                    ]
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
