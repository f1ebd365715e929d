"""``threeml compare``: definitions side by side, or the difference between two."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from threeml.cli.app import cli
from threeml.cli.count import data_option, load_dataset, period_option
from threeml.cli.definition_files import (
    definition_files_option,
    definition_paths,
    looks_like_file,
    registry_with_files,
)
from threeml.cli.extract import finish_set_aside
from threeml.cli.options import disclosure_option, format_option, lenient_option
from threeml.cli.series import every_option, intervals_of, write_out
from threeml.definitions import CountingDefinition
from threeml.engine.compare import Comparison
from threeml.engine.compare import compare as compare_definitions
from threeml.engine.compare import diff as diff_results
from threeml.engine.evaluate import ENROLMENT_BREAKDOWNS
from threeml.errors import ThreemlError
from threeml.metrics.evaluate import evaluate_metrics
from threeml.publish.compare import PublishedComparison, PublishedDiff, publish_comparison
from threeml.publish.disclosure import DisclosurePolicy, policy_named
from threeml.publish.provenance import provenance_of
from threeml.publish.series import PublishedSeries
from threeml.publish.series_run import series
from threeml.publish.terminal import show_comparison

__all__ = ["print_comparison"]


@cli.command()
@click.argument("names", nargs=-1)
@data_option
@period_option
@click.option(
    "--by",
    multiple=True,
    help="Also break each count down by a users column (age_band or birth_year: age bands; "
    "risk_band or risk_score: fifths), service_kind or sector (repeatable); cells go through "
    "disclosure control.",
)
@click.option(
    "--diff",
    "show_diff",
    is_flag=True,
    help="With exactly two NAMES: who is counted by one and not the other, and why.",
)
@every_option
@format_option(PublishedComparison, PublishedSeries)
@disclosure_option
@click.option(
    "--metric",
    "metric_names",
    multiple=True,
    metavar="NAME",
    help="Also evaluate the metric NAME on the same extract and period and add its row "
    "(repeatable); breakdowns by a users column go through disclosure control.",
)
@definition_files_option
@lenient_option
def compare(
    names,
    data,
    period,
    by,
    show_diff,
    every,
    metric_names,
    fmt,
    disclosure,
    definition_files,
    lenient,
) -> None:
    """Count every installed definition (or the NAMES given) on one extract, side by side.

    One row per definition: people, records (enrolments) and the share of the
    loosest definition's people — how a headline of connections becomes a much
    smaller number of people actively using telehealth. With --metric NAME,
    metrics are evaluated on the same extract and listed after the counts.
    A NAME may be a definition file's path (`compare in-receipt ./rule.toml`);
    --definition PATH adds files (or a folder of them) to what is compared.
    With --every, every definition and metric in each interval of the period, and the
    stock and flow (by area when --by area), as one long table.
    """
    registry, definitions = _chosen(names, definition_files)
    if show_diff and every:
        raise click.UsageError("--diff compares one period: leave out --every")
    if show_diff and len(definitions) != 2:
        raise click.UsageError("--diff compares exactly two definitions: give two NAMES")
    if show_diff and metric_names:
        raise click.UsageError("--diff compares two counting definitions; leave out --metric")
    metrics = [registry.metric(name) for name in metric_names]
    policy = policy_named(disclosure)
    dataset = load_dataset(data, lenient)
    if every:
        _series(registry, definitions, metrics, dataset, period, every, by, policy, fmt)
        finish_set_aside(dataset)
        return
    comparison = compare_definitions(
        definitions, dataset, period, by=by, registry=registry, cell_keys=policy.cell_key
    )
    provenance = provenance_of(dataset, [*definitions, *metrics], policy)
    if show_diff:
        first, second = (comparison.results[d.name] for d in definitions)
        diff = PublishedDiff(diff_results(first, second), policy, provenance)
        write_out(diff, fmt)
        finish_set_aside(dataset)
        return
    # Metrics break down by users columns only.
    metric_by = [b for b in by if b not in ENROLMENT_BREAKDOWNS]
    together = evaluate_metrics(metrics, dataset, period, registry, by=metric_by)
    results = [together[metric.name] for metric in metrics]
    published = publish_comparison(
        comparison, policy, metrics=results, by=by, metric_by=metric_by, provenance=provenance
    )
    write_out(published, fmt)
    finish_set_aside(dataset)


def _series(registry, definitions, metrics, dataset, period, every, by, policy, fmt) -> None:
    """``compare --every``: the definitions, metrics and stock and flow in every interval."""
    document = series(
        dataset,
        intervals_of(period, every),
        definitions=definitions,
        metrics=metrics,
        by=by,
        policy=policy,
        registry=registry,
    )
    write_out(document, fmt)


def _chosen(names: Sequence[str], definition_files: Sequence[Path]) -> tuple[Any, list[Any]]:
    """The registry (with definition files added) and the counting definitions to compare:
    the NAMES (a path stands for the counting definitions its file holds) and those of every
    ``--definition`` file, or every registered one when neither is given."""
    paths = [Path(n) for n in names if looks_like_file(n)]
    registry, loaded = registry_with_files([*definition_files, *paths])
    if not names and not definition_files:
        return registry, list(registry.counting_definitions())
    by_path: dict[str, list[str]] = {}
    for definition in loaded:
        if isinstance(definition, CountingDefinition) and definition.source is not None:
            by_path.setdefault(str(definition.source.path), []).append(definition.name)
    chosen: list[str] = []
    for name in names:
        if looks_like_file(name):
            found = by_path.get(str(Path(name)))
            if not found:
                raise ThreemlError(f"{name} holds no counting definition")
            chosen += found
        else:
            chosen.append(name)
    for path in definition_paths(definition_files, environ={}):
        chosen += by_path.get(str(path), [])
    return registry, [registry.counting(name) for name in dict.fromkeys(chosen)]


def print_comparison(
    comparison: Comparison, policy: DisclosurePolicy, by, console: Console
) -> None:
    """Print definitions side by side (and per-group cells under ``policy``)."""
    show_comparison(publish_comparison(comparison, policy, by=by), console)
