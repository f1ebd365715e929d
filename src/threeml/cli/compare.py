"""``threeml compare``: definitions side by side, or the difference between two."""

from __future__ import annotations

import sys

import click
from rich.console import Console

from threeml.cli.app import cli
from threeml.cli.count import data_option, load_dataset, period_option
from threeml.cli.options import disclosure_option, format_option
from threeml.engine.compare import Comparison
from threeml.engine.compare import compare as compare_definitions
from threeml.engine.compare import diff as diff_results
from threeml.engine.evaluate import ENROLMENT_BREAKDOWNS
from threeml.metrics.evaluate import evaluate_metrics
from threeml.publish.compare import PublishedComparison, PublishedDiff, publish_comparison
from threeml.publish.disclosure import DisclosurePolicy, policy_named
from threeml.publish.formats import write
from threeml.publish.provenance import provenance_of
from threeml.publish.terminal import show_comparison

__all__ = ["print_comparison"]


@cli.command()
@click.argument("names", nargs=-1)
@data_option
@period_option
@click.option(
    "--by",
    multiple=True,
    help="Also break each count down by a users column (birth_year in age bands, "
    "risk_score in fifths), service_kind or sector (repeatable); cells go through "
    "disclosure control.",
)
@click.option(
    "--diff",
    "show_diff",
    is_flag=True,
    help="With exactly two NAMES: who is counted by one and not the other, and why.",
)
@format_option(PublishedComparison)
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
    comparison = compare_definitions(
        definitions, dataset, period, by=by, registry=registry, cell_keys=policy.cell_key
    )
    provenance = provenance_of(dataset, [*definitions, *metrics], policy)
    if show_diff:
        first, second = (comparison.results[d.name] for d in definitions)
        diff = PublishedDiff(diff_results(first, second), policy, provenance)
        write(diff, fmt, sys.stdout)
        return
    # Metrics break down by users columns only.
    metric_by = [b for b in by if b not in ENROLMENT_BREAKDOWNS]
    together = evaluate_metrics(metrics, dataset, period, registry, by=metric_by)
    results = [together[metric.name] for metric in metrics]
    published = publish_comparison(
        comparison, policy, metrics=results, by=by, metric_by=metric_by, provenance=provenance
    )
    write(published, fmt, sys.stdout)


def print_comparison(
    comparison: Comparison, policy: DisclosurePolicy, by, console: Console
) -> None:
    """Print definitions side by side (and per-group cells under ``policy``)."""
    show_comparison(publish_comparison(comparison, policy, by=by), console)
