"""``--data``: where every command that reads an extract finds it, and how it is opened.

The text after ``--data`` (or ``threeml validate``'s argument) is handed as it is to the
installed loaders (:mod:`threeml.data.loaders`): a folder of CSV/Parquet files, a DuckDB
database file, a database URL, or whatever a plugin's loader accepts.

Every command that reads an extract also takes ``--revalidate``: a folder's validation is
kept between commands (:mod:`threeml.data.cache`) and this validates it again. A cache file
that had to be ignored is named on standard error as a notice.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING, Any

import click

from threeml.data.cache import ValidationCacheNotice, revalidating
from threeml.data.loaders import Loader, open_dataset, validate_extract
from threeml.data.report import Mode, ValidationReport
from threeml.plugins.registry import default_registry

if TYPE_CHECKING:
    from threeml.data.dataset import Dataset

__all__ = [
    "data_option",
    "installed_loaders",
    "load_dataset",
    "revalidate_option",
    "validate_data",
]

_REVALIDATE = "threeml.revalidate"


def _remember_revalidate(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    ctx.meta[_REVALIDATE] = bool(value)


#: ``--revalidate``: validate the extract again instead of using the kept result. It sets
#: no parameter of the command: :func:`load_dataset` and :func:`validate_data` read it.
revalidate_option = click.option(
    "--revalidate",
    is_flag=True,
    expose_value=False,
    callback=_remember_revalidate,
    help="Validate the extract again even when a kept validation of the same, unchanged "
    "files exists (THREEML_NO_CACHE=1 keeps none).",
)

_data = click.option(
    "--data",
    "data",
    required=True,
    metavar="PATH|URL",
    help="The extract: a folder of users.csv, services.csv … (or .parquet), a DuckDB "
    "database file, a database URL (postgres://…) or what a plugin's loader opens.",
)


def data_option(function: Callable[..., Any]) -> Callable[..., Any]:
    """``--data TARGET``, required (the parameter is called ``data``), and ``--revalidate``."""
    return _data(revalidate_option(function))


def _asked_to_revalidate() -> bool:
    ctx = click.get_current_context(silent=True)
    return bool(ctx is not None and ctx.meta.get(_REVALIDATE))


@contextmanager
def _cache_notices() -> Iterator[None]:
    """Validation under ``--revalidate`` when given; cache notices echoed to standard error."""
    with warnings.catch_warnings(record=True) as caught, revalidating(_asked_to_revalidate()):
        warnings.simplefilter("always", ValidationCacheNotice)
        try:
            yield
        finally:
            for warning in caught:
                if issubclass(warning.category, ValidationCacheNotice):
                    click.echo(f"notice: {warning.message}", err=True)
                else:
                    warnings.showwarning(
                        warning.message, warning.category, warning.filename, warning.lineno
                    )


def installed_loaders() -> tuple[Loader, ...]:
    """The loaders ``--data`` tries, in order: threeml's own, then those of plugins by name."""
    return default_registry().loaders()


def load_dataset(target: str, lenient: bool, *, extract_date: date | None = None) -> Dataset:
    """Open and validate the extract ``target`` (strict unless ``lenient``)."""
    with _cache_notices():
        return open_dataset(
            target,
            loaders=installed_loaders(),
            mode=Mode.LENIENT if lenient else Mode.STRICT,
            extract_date=extract_date,
        )


def validate_data(target: str, mode: str) -> ValidationReport:
    """The validation report of the extract ``target``, whatever it finds."""
    with _cache_notices():
        return validate_extract(target, loaders=installed_loaders(), mode=mode)
