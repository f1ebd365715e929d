"""``threeml metric``: one metric over one extract, with its breakdowns under disclosure control."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from threeml.cli.app import cli
from threeml.cli.count import data_option, period_option
from threeml.cli.definition_files import definition_files_option
from threeml.cli.extract import finish_set_aside, load_dataset
from threeml.cli.lookup import resolve
from threeml.cli.options import (
    area_option,
    disclosure_option,
    format_option,
    lenient_option,
    with_area,
)
from threeml.cli.series import (
    every_option,
    intervals_of,
    metric_for_series,
    write_out,
)
from threeml.definitions import MetricDefinition
from threeml.errors import ThreemlError
from threeml.metrics.contract import MetricResult
from threeml.metrics.evaluate import evaluate_metric
from threeml.metrics.series import evaluate_metrics_series
from threeml.publish.areas import only_areas
from threeml.publish.disclosure import DisclosurePolicy, policy_named
from threeml.publish.metrics import PublishedMetric, publish_metric
from threeml.publish.numbers import format_figure, format_interval
from threeml.publish.provenance import provenance_of
from threeml.publish.series import PublishedSeries, publish_series
from threeml.publish.terminal import show_metric
from threeml.records.periods import parse_date

__all__ = ["format_figure", "format_interval", "parse_options", "print_metric"]


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


def resolve_metric(name: str | None, definition_files: Path | Sequence[Path] | None):
    """The metric named, or read from a file, and a registry that knows it (every
    ``--definition`` file or folder, and ``THREEML_DEFINITIONS``, added to it)."""
    return resolve(name, definition_files, MetricDefinition)


@cli.command()
@click.argument("name", required=False)
@data_option
@period_option
@click.option(
    "--by",
    multiple=True,
    help="Break down by a users column such as area (birth_year in age bands, risk_score "
    "in fifths; repeatable); cells go through disclosure control.",
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
@definition_files_option
@click.option(
    "--extract-date",
    callback=_extract_date,
    help="The last day the extract covers (default: the latest date in it); follow-up stops there.",
)
@area_option
@every_option
@format_option(PublishedMetric, PublishedSeries)
@disclosure_option
@lenient_option
def metric(
    name,
    data,
    period,
    by,
    areas,
    population,
    option_values,
    definition_files,
    extract_date,
    every,
    fmt,
    disclosure,
    lenient,
) -> None:
    """Evaluate the metric NAME on an extract: numerator, denominator, value and interval.

    The total over all areas is published unrounded; breakdowns below all areas
    go through disclosure control (counts 1-7 suppressed, others rounded to the
    nearest 5, proportions and rates computed from the rounded figures and
    suppressed when either is). `threeml definitions NAME` says exactly what a
    metric measures. With --every, the metric in each interval of the period, as a long
    table (totals beside a breakdown rounded too).
    """
    definition, registry = resolve_metric(name, definition_files)
    options = parse_options(option_values)
    policy = policy_named(disclosure)
    dataset = load_dataset(data, lenient, extract_date=extract_date)
    by = with_area(by, areas)
    if every:
        intervals = intervals_of(period, every)
        metric = metric_for_series(definition, population, options)
        errors: dict[str, str] = {}
        found = evaluate_metrics_series(
            [metric], dataset, intervals, registry, by=by, errors=errors
        )
        used = [definition, registry.counting(metric.population)]
        provenance = provenance_of(dataset, used, policy)
        document = publish_series(
            intervals, policy, metrics=found, errors=errors, provenance=provenance
        )
        write_out(only_areas(document, areas), fmt)
        finish_set_aside(dataset)
        return
    result = evaluate_metric(
        definition, dataset, period, registry, population=population, by=by, options=options
    )
    used = [definition, registry.counting(result.population)]
    provenance = provenance_of(dataset, used, policy)
    document = only_areas(publish_metric(result, policy, provenance=provenance), areas)
    write_out(document, fmt)
    finish_set_aside(dataset)


def print_metric(result: MetricResult, policy: DisclosurePolicy, console: Console) -> None:
    """A metric result for people: the headline, its details, the breakdowns and the policy."""
    show_metric(publish_metric(result, policy), console)
