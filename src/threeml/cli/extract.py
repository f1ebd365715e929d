"""``--data``: where every command that reads an extract finds it, and how it is opened.

The text after ``--data`` (or ``threeml validate``'s argument) is handed as it is to the
installed loaders (:mod:`threeml.data.loaders`): a folder of CSV/Parquet files, a DuckDB
database file, a database URL, or whatever a plugin's loader accepts.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import click

from threeml.data.loaders import Loader, open_dataset, validate_extract
from threeml.data.report import Mode, ValidationReport
from threeml.plugins.registry import default_registry

if TYPE_CHECKING:
    from threeml.data.dataset import Dataset

__all__ = ["data_option", "installed_loaders", "load_dataset", "validate_data"]

#: ``--data TARGET``, required (the parameter is called ``data``).
data_option = click.option(
    "--data",
    "data",
    required=True,
    metavar="PATH|URL",
    help="The extract: a folder of users.csv, services.csv … (or .parquet), a DuckDB "
    "database file, a database URL (postgres://…) or what a plugin's loader opens.",
)


def installed_loaders() -> tuple[Loader, ...]:
    """The loaders ``--data`` tries, in order: threeml's own, then those of plugins by name."""
    return default_registry().loaders()


def load_dataset(target: str, lenient: bool, *, extract_date: date | None = None) -> Dataset:
    """Open and validate the extract ``target`` (strict unless ``lenient``)."""
    return open_dataset(
        target,
        loaders=installed_loaders(),
        mode=Mode.LENIENT if lenient else Mode.STRICT,
        extract_date=extract_date,
    )


def validate_data(target: str, mode: str) -> ValidationReport:
    """The validation report of the extract ``target``, whatever it finds."""
    return validate_extract(target, loaders=installed_loaders(), mode=mode)
