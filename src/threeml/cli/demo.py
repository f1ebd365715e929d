"""``threeml demo``: the main job on the built-in demo extract."""

from __future__ import annotations

import click
from rich.console import Console

from threeml.cli.app import cli
from threeml.cli.validate import print_report
from threeml.data import Dataset
from threeml.demo import demo_folder


@cli.command()
def demo() -> None:
    """Load and validate the built-in demo extract and summarise it.

    Use it to see what threeml does before pointing it at your own folder.
    """
    console = Console(highlight=False)
    folder = demo_folder()
    dataset = Dataset.from_folder(folder)
    print_report(dataset.report, max_per_kind=5, console=console)
    console.print(f"extract date: {dataset.extract_date}")
    click.echo(f"demo data folder: {folder}")
