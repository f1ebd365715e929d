"""``threeml report``: the whole catalogue (or part of it) on one extract, written to a folder."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn
from rich.text import Text

from threeml.cli.app import cli
from threeml.cli.count import data_option, period_option
from threeml.cli.definition_files import (
    definition_files_option,
    definition_paths,
    registry_with_files,
)
from threeml.cli.extract import finish_set_aside, load_dataset
from threeml.cli.metric import _extract_date
from threeml.cli.options import area_option, lenient_option, with_area
from threeml.definitions import CountingDefinition, MetricDefinition
from threeml.errors import ThreemlError
from threeml.publish.audited import audited
from threeml.publish.disclosure import policy_named
from threeml.publish.formats import FORMATS, write
from threeml.publish.safe import terminal_text
from threeml.records.intervals import Every
from threeml.report import DEFAULT_FORMATS, build_report, publish_report, report_formats
from threeml.report.areas import report_areas
from threeml.report.files import remove_stale, write_files

#: Extracts with more users than this get a progress bar on the terminal.
BIG = 50_000


class StepsColumn(ProgressColumn):
    """``done/total`` steps, or nothing while the total is not known yet (never ``0/None``)."""

    def render(self, task: Task) -> Text:
        if task.total is None:
            return Text("")
        return Text(f"{int(task.completed)}/{int(task.total)}")


def _names(values: tuple[str, ...]) -> list[str] | None:
    names = [n.strip() for value in values for n in value.split(",") if n.strip()]
    return names or None


@cli.command()
@data_option
@period_option
@click.option(
    "--by",
    multiple=True,
    default=("area",),
    show_default=True,
    help="Break down by a users column (age_band or birth_year: age bands; risk_band or "
    "risk_score: fifths), service_kind or sector (repeatable).",
)
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("threeml-report"),
    show_default=True,
    help="Folder to write results.csv, results.json, report.html and measurereport.json into.",
)
@click.option(
    "--definitions",
    "definition_names",
    multiple=True,
    metavar="NAMES",
    help="Counting definitions to report (comma-separated or repeated; default: all).",
)
@click.option(
    "--metrics",
    "metric_names",
    multiple=True,
    metavar="NAMES",
    help="Metrics to report (comma-separated or repeated; default: all; 'none' for none).",
)
@click.option(
    "--disclosure",
    default="default",
    show_default=True,
    help="Disclosure policy below all areas: default, nhs-digital, round10, cell-key "
    "(perturbs totals too), none, custom:THRESHOLD:ROUNDING (optionally :SETTING=VALUE), "
    "or one a plugin supplies.",
)
@click.option(
    "--format",
    "formats",
    multiple=True,
    type=click.Choice(list(report_formats())),
    default=DEFAULT_FORMATS,
    show_default=True,
    help="The files to write, one per output format (repeatable): "
    + ", ".join(f"{name} ({FORMATS[name].file})" for name in report_formats())
    + ".",
)
@click.option(
    "--membership",
    is_flag=True,
    help="Also write membership.parquet: every unit, whether it counted and why not "
    "(row-level: for a secure environment only).",
)
@click.option(
    "--extract-date",
    callback=_extract_date,
    help="The last day the extract covers (default: the latest date in it).",
)
@click.option("--title", default="threeml report", show_default=True, help="The report's title.")
@click.option(
    "--every",
    type=click.Choice([e.value for e in Every]),
    default=None,
    help="Cut the period into months, quarters, years or financial years for the section "
    "over time (default: quarters, months when the period is shorter than half a year).",
)
@click.option(
    "--over-time/--no-over-time",
    default=True,
    show_default=True,
    help="Count every definition in each interval of the period, with the stock and flow "
    "(the section over time), or leave that section out.",
)
@area_option
@definition_files_option
@lenient_option
def report(
    data,
    period,
    by,
    areas,
    out,
    definition_names,
    metric_names,
    disclosure,
    formats,
    membership,
    extract_date,
    title,
    every,
    over_time,
    definition_files,
    lenient,
) -> None:
    """Evaluate the catalogue on an extract and write the report files into a folder.

    Writes results.csv and results.json (machine-readable), report.html (one
    self-contained page with charts) and measurereport.json (FHIR R4
    MeasureReport), all under the disclosure policy, which each states; and
    prints a summary. The same extract and options give identical files. With --area,
    every section shows only those areas' rows (figures over all areas stay as published).
    """
    registry, _ = registry_with_files(definition_files)
    explicit = {str(p) for p in definition_paths(definition_files, environ={})}
    mine = [
        d
        for d in registry.definitions()
        if d.source is not None and d.source.path is not None and d.source.path in explicit
    ]
    policy = policy_named(disclosure, registry)
    names = _names(definition_names)
    if names:
        names += [d.name for d in mine if isinstance(d, CountingDefinition)]
    definitions = (
        [registry.counting(n) for n in dict.fromkeys(names)]
        if names
        else list(registry.counting_definitions())
    )
    wanted = _names(metric_names)
    if wanted == ["none"]:
        metrics = []
    elif wanted:
        wanted += [d.name for d in mine if isinstance(d, MetricDefinition)]
        metrics = [registry.metric(n) for n in dict.fromkeys(wanted)]
    else:
        metrics = list(registry.metric_definitions())
    if not definitions and not metrics:
        raise ThreemlError("nothing to report: no counting definitions or metrics are installed")
    dataset = load_dataset(data, lenient, extract_date=extract_date)
    by = with_area(by, areas)
    console = Console(highlight=False)
    err = Console(stderr=True, highlight=False)
    big = dataset.report.rows.get("users", 0) > BIG
    if big and err.is_terminal:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            StepsColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as bar:
            task = bar.add_task("reading the extract", total=None)

            def progress(what: str, done: int, total: int) -> None:
                bar.update(task, description=what, completed=done, total=total)

            result = build_report(
                dataset, period, registry=registry, definitions=definitions, metrics=metrics,
                by=by, progress=progress, cell_keys=policy.cell_key, every=every,
                over_time=over_time,
            )  # fmt: skip
    else:
        result = build_report(
            dataset, period, registry=registry, definitions=definitions, metrics=metrics, by=by,
            cell_keys=policy.cell_key, every=every, over_time=over_time,
        )  # fmt: skip
    # Audited once: the files and the terminal summary carry the same figures.
    document = audited(publish_report(result, policy, title=title))
    if areas:
        # After the audit of the whole report: every figure left is one it published.
        document = report_areas(document, areas)
    names = [*formats, "membership"] if membership else list(formats)
    written = write_files(document, out, names)
    removed = remove_stale(out, names)
    write(document, "table", sys.stdout)
    console.print("wrote " + ", ".join(terminal_text(path) for path in written.values()))
    for path in removed:
        console.print(
            f"[yellow]removed {terminal_text(path)}: row-level membership from an earlier run, "
            "not written by this one (ask for it with --membership)[/yellow]",
            soft_wrap=True,
        )
    finish_set_aside(dataset)
