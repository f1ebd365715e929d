"""``threeml metric``: one metric over one extract, with its breakdowns under disclosure control."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

from threeml.cli.app import cli
from threeml.cli.count import data_option, period_option
from threeml.cli.extract import load_dataset
from threeml.cli.lookup import resolve
from threeml.cli.options import disclosure_option, format_option, lenient_option
from threeml.definitions import MetricDefinition
from threeml.errors import ThreemlError
from threeml.metrics.measures import (
    MetricResult,
    evaluate_metric,
    metric_breakdowns,
    metric_rows,
    metric_to_dict,
)
from threeml.publish.disclosure import DisclosurePolicy, policy_named
from threeml.records.periods import parse_date

__all__ = ["format_figure", "parse_options", "print_metric"]


def parse_options(values: Sequence[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs as measure options.

    A value is read as JSON when it can be (``91``, ``true``, ``["telehealth"]``),
    as a list when it holds commas (``telehealth,telecare``), else as text.
    """
    options: dict[str, Any] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise click.BadParameter(f"{item!r}: write options as KEY=VALUE", param_hint="--option")
        raw = raw.strip()
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = [v.strip() for v in raw.split(",") if v.strip()] if "," in raw else raw
        options[key] = value
    return options


def _extract_date(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    if value is None:
        return None
    try:
        return parse_date(value)
    except ThreemlError as error:
        raise click.BadParameter(str(error)) from None


def resolve_metric(name: str | None, definition_file: Path | None):
    """The metric named, or read from a file, and a registry that knows it."""
    return resolve(name, definition_file, MetricDefinition)


@cli.command()
@click.argument("name", required=False)
@data_option
@period_option
@click.option(
    "--by",
    multiple=True,
    help="Break down by a users column such as area (repeatable); "
    "cells go through disclosure control.",
)
@click.option(
    "--population",
    help="Evaluate over this counting definition instead of the metric's own population.",
)
@click.option(
    "--option",
    "option_values",
    multiple=True,
    metavar="KEY=VALUE",
    help="Change one of the measure's options for this run, e.g. outcome=emergency_admission "
    "or trial=wsd (repeatable; threeml definitions NAME lists them).",
)
@click.option(
    "--definition",
    "definition_file",
    type=click.Path(path_type=Path, exists=True),
    help="Read the metric definition from a TOML or JSON file instead of a plugin.",
)
@click.option(
    "--extract-date",
    callback=_extract_date,
    help="The last day the extract covers (default: the latest date in it); follow-up stops there.",
)
@format_option
@disclosure_option
@lenient_option
def metric(
    name,
    data,
    period,
    by,
    population,
    option_values,
    definition_file,
    extract_date,
    fmt,
    disclosure,
    lenient,
) -> None:
    """Evaluate the metric NAME on an extract: numerator, denominator, value and interval.

    The total over all areas is published unrounded; breakdowns below all areas
    go through disclosure control (counts 1-7 suppressed, others rounded to the
    nearest 5, proportions and rates computed from the rounded figures and
    suppressed when either is). `threeml definitions NAME` says exactly what a
    metric measures.
    """
    definition, registry = resolve_metric(name, definition_file)
    options = parse_options(option_values)
    policy = policy_named(disclosure)
    dataset = load_dataset(data, lenient, extract_date=extract_date)
    result = evaluate_metric(
        definition, dataset, period, registry, population=population, by=by, options=options
    )
    if fmt == "json":
        click.echo(json.dumps(metric_to_dict(result, policy), indent=2, default=str))
        return
    if fmt == "csv":
        rows = metric_rows(result, policy)
        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return
    console = Console(highlight=False)
    print_metric(result, policy, console)
    if dataset.report.set_aside:
        aside = sum(dataset.report.set_aside.values())
        console.print(
            f"[yellow]{aside:,} row(s) were set aside by validation; "
            f"see `threeml validate {data}`[/yellow]"
        )


# Rendering, reusable by other commands.


def format_figure(value: Any) -> str:
    """A figure for people: thousands separated, four significant digits for small floats."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value.is_integer() and abs(value) >= 1:
            return f"{value:,.0f}"
        if abs(value) >= 100:
            return f"{value:,.1f}"
        return f"{value:.4g}"
    return str(value)


def format_interval(low: Any, high: Any) -> str:
    if low is None or high is None:
        return ""
    return f"{format_figure(low)} to {format_figure(high)}"


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


def print_metric(result: MetricResult, policy: DisclosurePolicy, console: Console) -> None:
    """A metric result for people: the headline, its details, the breakdowns and the policy."""
    metric = result.metric
    labels = result.labels
    direction = {True: "higher is better", False: "lower is better", None: ""}
    console.print(
        Text.assemble(
            (metric.name, "bold"),
            f" (version {metric.version}) — {metric.title}\n",
            f"population {result.population}, period {result.period}",
            f", extract date {result.extract_date}" if result.extract_date else "",
        )
    )
    headline = RichTable(show_header=False, box=None, pad_edge=False)
    headline.add_column(style="bold")
    headline.add_column(justify="right")
    headline.add_column()
    headline.add_row(
        "value",
        format_figure(result.value),
        Text(
            f"{labels.get('value', '')}"
            + (
                f" (95% CI {format_interval(result.ci_low, result.ci_high)})"
                if result.ci_low is not None
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
        "numerator", format_figure(result.numerator), Text(labels.get("numerator", ""))
    )
    headline.add_row(
        "denominator", format_figure(result.denominator), Text(labels.get("denominator", ""))
    )
    console.print(headline)
    if result.value is None and result.reason:
        console.print(Text(f"no value: {result.reason}", style="yellow"))
    shown = dict(result.details)
    if len(shown.get("trials") or {}) == 1 and "trial" in shown:
        del shown["trials"]  # the only trial is the headline
    details = _detail_rows("", shown)
    if details:
        table = RichTable(title="Details (all areas, unrounded)", title_justify="left")
        table.add_column("figure")
        table.add_column("value", justify="right")
        table.add_column("95% CI", justify="right")
        table.add_column("note")
        for key, value, interval, note in details:
            table.add_row(Text(key), Text(format_figure(value)), interval, Text(note))
        console.print(table)
    for name, rows in metric_breakdowns(result, policy).items():
        table = RichTable(title=f"By {name}", title_justify="left")
        for column in (name, "numerator", "denominator", "value", "95% CI", "note"):
            table.add_column(column, justify="left" if column in (name, "note") else "right")
        for row in rows:
            table.add_row(
                Text(str(row["group"])),
                _published(row["numerator"]),
                _published(row["denominator"]),
                format_figure(row["value"]),
                format_interval(row["ci_low"], row["ci_high"]),
                Text(row["reason"] or ""),
            )
        console.print(table)
    if result.breakdowns:
        console.print(f"disclosure control below all areas: {policy.describe()}")
        console.print(
            "proportions and rates below all areas are computed from the published (rounded) "
            "figures, and suppressed when either is"
        )


def _published(value: Any) -> str:
    return "suppressed" if value is None else format_figure(value)
