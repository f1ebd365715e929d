"""``threeml load``: copy a folder of CSV/Parquet into a database schema, validated first."""

from __future__ import annotations

import click

from threeml.cli.app import cli
from threeml.cli.extract import finish_set_aside, load_dataset
from threeml.cli.options import lenient_option
from threeml.data.copy import copy_dataset, parse_target
from threeml.publish.safe import plain_text


@cli.command()
@click.argument("folder", metavar="FOLDER")
@click.argument("target", metavar="TARGET")
@click.option(
    "--schema",
    "schema",
    metavar="NAME",
    help="The schema to create the tables in (created when absent; default: the "
    "database's own, such as PostgreSQL's public).",
)
@click.option(
    "--replace",
    is_flag=True,
    help="Overwrite tables of the extract that already exist in the target.",
)
@lenient_option
def load(folder: str, target: str, schema: str | None, replace: bool, lenient: bool) -> None:
    """Copy the extract FOLDER into the database TARGET, validated first.

    TARGET is a DuckDB file (path.duckdb, or duckdb:///path.db; created when absent)
    or a database URL (postgresql://user@host:port/database). Every table of the
    interchange schema is created, typed (dates as DATE, condition codes as a list),
    in --schema when given; an extract with errors is refused unless --lenient sets
    its bad rows aside. Prints the rows written per table. Afterwards read it with
    `--data TARGET --schema NAME` on any command.
    """
    where = parse_target(target, schema)
    dataset = load_dataset(folder, lenient)
    written = copy_dataset(dataset, where, replace=replace)
    place = f"{where.shown}" + (f", schema {where.schema}" if where.schema else "")
    click.echo(f"loaded {plain_text(dataset.source)} into {plain_text(place)}:")
    width = max(len(name) for name in written)
    for name, rows in written.items():
        click.echo(f"  {name:<{width}}  {rows:>12,} rows")
    finish_set_aside(dataset)
