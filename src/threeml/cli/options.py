"""Options shared by several ``threeml`` commands, declared once."""

from __future__ import annotations

import click

__all__ = ["disclosure_option", "format_option", "lenient_option"]

#: ``--format table|json|csv`` (the parameter is called ``fmt``).
format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
    help="How to print the result.",
)

#: ``--disclosure NAME``: the policy for published figures below all areas.
disclosure_option = click.option(
    "--disclosure",
    default="default",
    show_default=True,
    help="Disclosure policy for breakdowns below all areas: default, nhs-digital, round10, "
    "none, custom:THRESHOLD:ROUNDING or one a plugin supplies.",
)

#: ``--lenient``: set rows that fail validation aside instead of refusing the extract.
lenient_option = click.option(
    "--lenient",
    is_flag=True,
    help="Set rows that fail validation aside instead of "
    "refusing the extract (the report says how many).",
)
