"""``threeml synth``: write a synthetic extract."""

from __future__ import annotations

import time
from pathlib import Path

import click

from threeml.cli.app import cli
from threeml.data.synth import Mix, synthesise


@cli.command()
@click.option("--users", required=True, type=click.IntRange(1), help="How many people.")
@click.option(
    "--seed",
    default=2012,
    show_default=True,
    type=int,
    help="Random seed: the same users and seed give byte-identical files.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path),
    help="Folder to write the tables into (existing table files are replaced).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["parquet", "csv"]), default="parquet", show_default=True
)
@click.option(
    "--telecare",
    default=0.90,
    show_default=True,
    type=click.FloatRange(0, 1),
    help="Share of enrolments that are telecare.",
)
@click.option(
    "--telehealth",
    default=0.07,
    show_default=True,
    type=click.FloatRange(0, 1),
    help="Share of enrolments that are telehealth.",
)
@click.option(
    "--telecoaching",
    default=0.03,
    show_default=True,
    type=click.FloatRange(0, 1),
    help="Share of enrolments that are telecoaching.",
)
def synth(users, seed, out, fmt, telecare, telehealth, telecoaching) -> None:
    """Write a realistic synthetic extract of USERS people into OUT.

    About 200 areas of log-normal sizes, mostly telecare with some telehealth and
    telecoaching, referrals never installed, ended and open enrolments, over-dispersed
    contacts (a few outside their installed window), risk-driven admissions and deaths, a
    trial and area targets. Deterministic and vectorised: 3 million people take minutes.
    """
    started = time.perf_counter()
    summary = synthesise(
        out,
        users=users,
        seed=seed,
        fmt=fmt,
        mix=Mix(telecare=telecare, telehealth=telehealth, telecoaching=telecoaching),
    )
    rows = ", ".join(f"{name} {n:,}" for name, n in summary.rows.items())
    click.echo(f"wrote {out} in {time.perf_counter() - started:.1f} s: {rows}")
