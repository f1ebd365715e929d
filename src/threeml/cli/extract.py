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
from contextlib import contextmanager, suppress
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import click

from threeml.cli.options import ALLOW_SET_ASIDE, MAX_SET_ASIDE
from threeml.data.cache import ValidationCacheNotice, revalidating
from threeml.data.loaders import (
    BUILTIN_LOADERS,
    DEFAULT_MAX_SET_ASIDE,
    Loader,
    is_duckdb_file,
    open_dataset,
    validate_extract,
)
from threeml.data.report import Mode, ValidationReport
from threeml.plugins.registry import default_registry
from threeml.publish.safe import plain_text

if TYPE_CHECKING:
    from threeml.data.dataset import Dataset

__all__ = [
    "data_option",
    "finish_set_aside",
    "installed_loaders",
    "load_dataset",
    "revalidate_option",
    "schema_option",
    "set_aside_words",
    "validate_data",
    "with_schema",
]

#: Where ``--schema`` is kept for :func:`load_dataset` (in the click context's ``meta``).
SCHEMA_KEY = "threeml.schema"


def _remember_schema(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value:
        ctx.meta[SCHEMA_KEY] = value


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
    "database file, a database URL (postgresql://user@host:port/db) or what a plugin's "
    "loader opens.",
)
_schema = click.option(
    "--schema",
    metavar="NAME",
    expose_value=False,
    callback=_remember_schema,
    help="With a database URL or a DuckDB file: the schema holding the tables "
    "(PostgreSQL's search path; as `threeml load --schema` wrote them).",
)
#: ``--schema NAME`` alone, for a command that takes the extract as an argument.
schema_option = _schema


def with_schema(target: str, schema: str | None) -> str:
    """``target`` with ``schema`` added as the URL's ``schema=`` parameter (for the loader).

    Only a URL takes a schema; for a folder or a file it is refused with what to do.
    """
    if not schema:
        return target
    if "://" not in target and is_duckdb_file(target):
        path = Path(target).resolve().as_posix()
        return f"duckdb://{path}?{urlencode({'schema': schema})}"
    if "://" not in target:
        raise click.UsageError(
            f"--schema {schema} applies to a database URL or a DuckDB file, and {target} is "
            "neither: leave --schema out, or give --data postgresql://user@host:port/database "
            "or a DuckDB file written by `threeml load`"
        )
    parts = urlsplit(target)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "schema"]
    return urlunsplit(parts._replace(query=urlencode([*query, ("schema", schema)])))


def _schema_given() -> str | None:
    ctx = click.get_current_context(silent=True)
    return None if ctx is None else ctx.find_root().meta.get(SCHEMA_KEY)


def data_option(function: Callable[..., Any]) -> Callable[..., Any]:
    """``--data TARGET``, required (the parameter is called ``data``), ``--schema NAME`` and
    ``--revalidate``."""
    return _data(_schema(revalidate_option(function)))


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


def installed_loaders(target: str | None = None) -> tuple[Loader, ...]:
    """The loaders ``--data`` tries, in order: threeml's own, then those of plugins by name.

    Given the ``target``, only threeml's own when one of them opens it (a folder, a DuckDB
    file, a database URL): they come first, so the plugins' could not be chosen, and the
    plugins are then not loaded at all (``threeml validate`` on a folder imports no
    definition or metric).
    """
    if target is not None:
        for loader in BUILTIN_LOADERS:
            with suppress(Exception):  # a loader that cannot tell is asked again below
                if loader.accepts(target):
                    return BUILTIN_LOADERS
    return default_registry().loaders()


def load_dataset(target: str, lenient: bool, *, extract_date: date | None = None) -> Dataset:
    """Open and validate the extract ``target`` (strict unless ``lenient``), in
    ``--schema`` when one is given.

    In lenient mode the share of a table's rows that may be set aside is the command's
    ``--max-set-aside`` (default 1%).
    """
    meta = _meta()
    with _cache_notices():
        target = with_schema(target, _schema_given())
        return open_dataset(
            target,
            loaders=installed_loaders(target),
            mode=Mode.LENIENT if lenient else Mode.STRICT,
            extract_date=extract_date,
            max_set_aside=meta.get(MAX_SET_ASIDE, DEFAULT_MAX_SET_ASIDE),
        )


def set_aside_words(report: ValidationReport) -> str:
    """The rows set aside per table and why: ``contacts 12 (not a date 10, …)``."""
    tables: dict[str, list[str]] = {}
    for (table, kind), n in sorted(report.set_aside.items(), key=lambda item: item[0]):
        if n:
            tables.setdefault(table, []).append(f"{kind.value} {n:,}")
    return "; ".join(
        f"{table} {report.rows_set_aside(table):,} ({', '.join(reasons)})"
        for table, reasons in tables.items()
    )


def finish_set_aside(dataset: Dataset) -> None:
    """After a command's output: when rows were set aside, say so on standard error and exit
    with status 1, unless the command was given ``--allow-set-aside``."""
    report = dataset.report
    if not any(report.set_aside.values()):
        return
    allowed = _meta().get(ALLOW_SET_ASIDE, False)
    click.echo(
        f"note: lenient mode set rows aside: {plain_text(set_aside_words(report))}; see "
        f"`threeml validate {plain_text(report.source)}`"
        + ("" if allowed else " (exit status 1; pass --allow-set-aside to exit with 0)"),
        err=True,
    )
    if not allowed:
        raise click.exceptions.Exit(1)


def _meta() -> dict:
    ctx = click.get_current_context(silent=True)
    return ctx.meta if ctx is not None else {}


def validate_data(target: str, mode: str) -> ValidationReport:
    """The validation report of the extract ``target``, whatever it finds."""
    with _cache_notices():
        target = with_schema(target, _schema_given())
        return validate_extract(target, loaders=installed_loaders(target), mode=mode)
