"""Options shared by several ``threeml`` commands, declared once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from threeml.publish.formats import formats_for

__all__ = ["disclosure_option", "format_option", "lenient_option"]


def format_option(document: type) -> Callable[[Any], Any]:
    """``--format NAME`` (the parameter is called ``fmt``), one choice per output format
    that can write the command's ``document`` (see :mod:`threeml.publish.formats`)."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(formats_for(document))),
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
    "cell-key (perturbs totals too), none, custom:THRESHOLD:ROUNDING (optionally "
    ":SETTING=VALUE) or one a plugin supplies.",
)

#: ``--lenient``: set rows that fail validation aside instead of refusing the extract.
lenient_option = click.option(
    "--lenient",
    is_flag=True,
    help="Set rows that fail validation aside instead of "
    "refusing the extract (the report says how many).",
)
