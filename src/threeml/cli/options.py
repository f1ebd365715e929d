"""Options shared by several ``threeml`` commands, declared once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import click

__all__ = [
    "ALLOW_SET_ASIDE",
    "MAX_SET_ASIDE",
    "area_option",
    "disclosure_option",
    "format_option",
    "lenient_option",
    "with_area",
]


def format_option(*documents: type) -> Callable[[Any], Any]:
    """``--format NAME`` (the parameter is called ``fmt``), one choice per output format
    that can write one of the command's ``documents`` (see :mod:`threeml.publish.formats`)."""
    from threeml.publish.formats import formats_for  # the publishing layer: not for validate

    choices = list(dict.fromkeys(name for d in documents for name in formats_for(d)))
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(choices),
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

#: Where ``--max-set-aside`` and ``--allow-set-aside`` leave their values (``ctx.meta``).
MAX_SET_ASIDE = "threeml.max_set_aside"
ALLOW_SET_ASIDE = "threeml.allow_set_aside"


def _share(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """Store ``--max-set-aside``: ``5%`` or ``0.05``, from 0 to 100%."""
    if value is None:
        return
    text = value.strip()
    try:
        share = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        share = -1.0
    if not 0 <= share <= 1:
        raise click.BadParameter(
            f"{value!r} is not a share of rows: give a percentage such as 5% or a fraction "
            "such as 0.05 (from 0 to 100%)"
        )
    ctx.meta[MAX_SET_ASIDE] = share


def _allow(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    ctx.meta[ALLOW_SET_ASIDE] = value


def lenient_option(function: Callable[..., Any]) -> Callable[..., Any]:
    """``--lenient`` (the parameter ``lenient``), with ``--max-set-aside SHARE`` and
    ``--allow-set-aside``, which :func:`threeml.cli.extract.load_dataset` and
    :func:`threeml.cli.extract.finish_set_aside` read from the context."""
    function = click.option(
        "--allow-set-aside",
        is_flag=True,
        expose_value=False,
        callback=_allow,
        help="In lenient mode, exit with 0 even when rows were set aside (by default 1).",
    )(function)
    function = click.option(
        "--max-set-aside",
        metavar="SHARE",
        expose_value=False,
        callback=_share,
        help="In lenient mode, refuse the extract when more than SHARE of a table's rows "
        "would be set aside (default 1%; e.g. 5% or 0.05).",
    )(function)
    return click.option(
        "--lenient",
        is_flag=True,
        help="Set rows that fail validation aside instead of refusing the extract (at most 1% "
        "of a table unless told otherwise; the outputs say how many and why).",
    )(function)


def _areas(ctx: click.Context, param: click.Parameter, values: Sequence[str]) -> tuple[str, ...]:
    from threeml.publish.areas import areas_asked  # the publishing layer: not for validate

    return areas_asked(values)


def area_option(function: Callable[..., Any]) -> Callable[..., Any]:
    """``--area AREA`` (repeatable or a comma-separated list; the parameter ``areas``): only
    those areas' rows of the breakdown by area (:func:`threeml.publish.areas.only_areas`)."""
    return click.option(
        "--area",
        "areas",
        multiple=True,
        metavar="AREA",
        callback=_areas,
        help="Show only the rows of this area in every breakdown by area, and in the stock and "
        "flow of a series (repeatable or a comma-separated list; breaks down by area when that "
        "was not asked for). Figures over all areas stay as published with every area, and "
        "the output says which areas it shows.",
    )(function)


def with_area(by: Sequence[str], areas: Sequence[str]) -> tuple[str, ...]:
    """``by`` with ``area`` added when an area filter is given and it is not there."""
    return (*by, "area") if areas and "area" not in by else tuple(by)
