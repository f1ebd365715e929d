"""``threeml demo``: the main job on the built-in demo extract."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table as RichTable

from threeml.cli.app import cli
from threeml.cli.validate import print_report
from threeml.data import Dataset
from threeml.demo import demo_folder
from threeml.evaluate import count_many
from threeml.periods import Period


@cli.command()
@click.option("--period", default="2013", show_default=True, help="Evaluation period.")
def demo(period: str) -> None:
    """Validate the built-in demo extract and count it under every registered definition.

    Use it to see what threeml does before pointing it at your own folder.
    """
    from threeml.registry import default_registry

    console = Console(highlight=False)
    folder = demo_folder()
    dataset = Dataset.from_folder(folder)
    print_report(dataset.report, max_per_kind=5, console=console)
    console.print(f"extract date: {dataset.extract_date}")
    registry = default_registry()
    definitions = registry.counting_definitions()
    if not definitions:
        console.print("no counting definitions are installed; see `threeml plugins`")
        return
    chosen = Period.parse(period)
    results = count_many(definitions, dataset, chosen, by=(), registry=registry)
    table = RichTable(title=f"Counts for {chosen} (all areas, unrounded)", title_justify="left")
    for column in ("definition", "unit", "count", "people", "enrolments", "source"):
        table.add_column(
            column, justify="right" if column in ("count", "people", "enrolments") else "left"
        )
    for definition in definitions:
        result = results[definition.name]
        table.add_row(
            definition.name,
            definition.unit.value,
            f"{result.count:,}",
            f"{result.users:,}",
            f"{result.records:,}",
            definition.source.plugin if definition.source else "",
        )
    console.print(table)
    click.echo(f"demo data folder: {folder}")
    click.echo("next: threeml count NAME --data <folder> --period 2013 (see threeml definitions)")
