"""The root ``threeml`` command group and the options shared by commands."""

from __future__ import annotations

import click

from threeml._version import __version__

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, prog_name="threeml")
def cli() -> None:
    """Count people using technology-enabled care, precisely and comparably.

    Point threeml at a folder of CSV or Parquet extracts (users, services,
    enrolments, contacts, and optionally outcomes, allocations, targets).
    Start with `threeml validate DIR`, or try `threeml demo`.
    """
