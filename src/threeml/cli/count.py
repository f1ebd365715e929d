"""``threeml count`` and ``threeml explain``: one definition over one extract."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from threeml.cli.app import cli
from threeml.cli.definition_files import definition_files_option
from threeml.cli.extract import data_option, finish_set_aside, load_dataset
from threeml.cli.lookup import resolve
from threeml.cli.options import (
    area_option,
    disclosure_option,
    format_option,
    lenient_option,
    with_area,
)
from threeml.cli.series import every_option, intervals_of, write_out
from threeml.definitions import CountingDefinition
from threeml.definitions.kinds import plugin_kinds
from threeml.engine.evaluate import count as count_definition
from threeml.engine.explain import explain as explain_user
from threeml.engine.series import count_series
from threeml.errors import ThreemlError
from threeml.publish.areas import only_areas
from threeml.publish.counts import PublishedCount, publish_count
from threeml.publish.disclosure import policy_named
from threeml.publish.provenance import provenance_of
from threeml.publish.series import PublishedSeries, publish_series
from threeml.records.periods import Period


def _period(ctx: click.Context, param: click.Parameter, value: str) -> Period:
    try:
        return Period.parse(value)
    except ThreemlError as error:
        raise click.BadParameter(str(error)) from None


def period_option(function):
    return click.option(
        "--period",
        required=True,
        callback=_period,
        help="Evaluation period: 2013, 2013-Q2, 2013-05, FY2013/14 or START:END.",
    )(function)


def resolve_definition(name: str | None, definition_files: Path | Sequence[Path] | None):
    """The counting definition named, or read from a file, and a registry that knows it."""
    return resolve(name, definition_files, CountingDefinition)


@cli.command()
@click.argument("name", required=False)
@data_option
@period_option
@definition_files_option
@click.option(
    "--by",
    multiple=True,
    default=("area",),
    show_default=True,
    help="Break down by a users column (age_band or birth_year: age bands; risk_band or "
    "risk_score: fifths), service_kind or sector (repeatable).",
)
@area_option
@every_option
@format_option(PublishedCount, PublishedSeries)
@disclosure_option
@lenient_option
def count(name, data, period, definition_files, by, areas, every, fmt, disclosure, lenient) -> None:
    """Count NAME (a registered definition) on an extract, with attrition and breakdowns.

    `count` is the unrounded total over all areas; breakdowns below all areas go
    through disclosure control (counts 1-7 suppressed, others rounded to 5). With
    --every, the count in each interval of the period, as a long table (totals rounded too).
    """
    definition, registry = resolve_definition(name, definition_files)
    policy = policy_named(disclosure)
    dataset = load_dataset(data, lenient)
    by = with_area(by, areas)
    if every:
        intervals = intervals_of(period, every)
        found = count_series(
            [definition], dataset, intervals, by=by, registry=registry, cell_keys=policy.cell_key
        )
        provenance = provenance_of(dataset, [definition], policy)
        document = publish_series(intervals, policy, counts=found, provenance=provenance)
        write_out(only_areas(document, areas), fmt)
        finish_set_aside(dataset)
        return
    result = count_definition(
        definition, dataset, period, by=by, registry=registry, cell_keys=policy.cell_key
    )
    provenance = provenance_of(dataset, [definition], policy)
    document = only_areas(publish_count(result, policy, provenance=provenance), areas)
    write_out(document, fmt)
    finish_set_aside(dataset)


@cli.command()
@click.argument("words", nargs=-1, metavar="NAME USER_ID")
@data_option
@period_option
@click.option(
    "--definition",
    "definition_file",
    type=click.Path(path_type=Path, exists=True),
    help="Read the counting definition from a TOML or JSON file instead of a plugin.",
)
@lenient_option
def explain(words, data, period, definition_file, lenient) -> None:
    """Say why USER_ID is or is not counted by NAME, criterion by criterion.

    With --definition FILE, NAME may be left out: `threeml explain USER_ID --definition FILE …`.
    """
    if len(words) == 2:
        name, user_id = words
    elif len(words) == 1 and definition_file is not None:
        name, user_id = None, words[0]
    else:
        raise click.UsageError("give a definition NAME and a USER_ID")
    definition, registry = resolve_definition(name, definition_file)
    dataset = load_dataset(data, lenient)
    explanation = explain_user(
        definition,
        user_id,
        dataset,
        period,
        resolve=registry.counting,
        kinds=plugin_kinds(registry),
    )
    click.echo(explanation.text())
    finish_set_aside(dataset)
