"""Loaders: how an extract is opened from what ``--data`` names.

A :class:`Loader` is a value: a name, a line saying what it opens, a test of whether it accepts a
target (a path or a URL, as written after ``--data``) and the function that opens it as a
:class:`~threeml.data.Dataset`. threeml's built-in loaders (:data:`BUILTIN_LOADERS`) and those
plugins supply through the ``threeml_loaders`` hook are tried in order; the first that accepts
the target opens it (:func:`open_dataset`), or says what it found (:func:`validate_extract`).

This module loads no engine: the registry reads :data:`BUILTIN_LOADERS` to list plugins, and
the built-in loaders import :mod:`threeml.data.dataset` (ibis, DuckDB) only to open an extract.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Sequence
from datetime import date
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from attrs import field, frozen

from threeml.data.report import (
    DEFAULT_MAX_SET_ASIDE,
    InvalidDataset,
    ValidationReport,
    check_set_aside_share,
)
from threeml.errors import DataError, ThreemlError

if TYPE_CHECKING:  # opening an extract needs the engine; choosing a loader does not
    from threeml.data.dataset import Dataset

__all__ = [
    "BUILTIN_LOADERS",
    "CONNECTION_LOADER",
    "DUCKDB_LOADER",
    "FOLDER_LOADER",
    "Loader",
    "LoaderFailed",
    "NoLoader",
    "choose_loader",
    "is_duckdb_file",
    "open_dataset",
    "validate_extract",
]

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


def _check_name(instance: Any, attribute: Any, value: str) -> None:
    if not isinstance(value, str) or not _NAME.match(value):
        raise ValueError(
            f"a loader's name is lower-case letters, digits, '.', '_' or '-' "
            f"(such as 'acme.sqlserver'), got {value!r}"
        )


@frozen
class Loader:
    """A way to open an extract: ``accepts(target)`` says whether it can, ``load`` opens it.

    - ``name``: how the loader is known (prefix a plugin's with its own name, ``acme.mssql``);
    - ``description``: one line saying what it opens, for listings and error messages;
    - ``accepts(target)``: whether this loader opens ``target``, the text after ``--data``
      (a path or a URL). It must be quick, must not raise and must not open the extract;
    - ``load(target, *, mode, extract_date)``: the :class:`~threeml.data.Dataset`
      (``mode`` is ``"strict"`` or ``"lenient"``, ``extract_date`` a date or ``None``),
      usually through :meth:`Dataset.from_connection <threeml.data.Dataset.from_connection>`
      or :meth:`~threeml.data.Dataset.from_arrow`, which validate the tables;
    - ``validate(target, *, mode)``, optional: the
      :class:`~threeml.data.ValidationReport` alone, whatever it finds, for
      ``threeml validate``. Without it the extract is loaded and its report kept.
    """

    name: str = field(validator=_check_name)
    description: str = field()
    accepts: Callable[[str], bool] = field()
    load: Callable[..., Dataset] = field()
    validate: Callable[..., ValidationReport] | None = field(default=None, kw_only=True)

    def describe(self) -> str:
        """``name: description``, as listed in messages."""
        return _describe(self)


def _describe(loader: Loader) -> str:
    """``name: description`` (the registry also takes objects shaped like a loader)."""
    description = getattr(loader, "description", "")
    return f"{loader.name}: {description}" if description else loader.name


class NoLoader(DataError):
    """No loader accepts the target given (``--data``); names it and the loaders tried."""

    def __init__(self, target: str, loaders: Sequence[Loader]) -> None:
        self.target = target
        self.loaders = tuple(loaders)
        super().__init__(str(self))

    def __str__(self) -> str:
        tried = "; ".join(_describe(loader) for loader in self.loaders) or "none"
        if _is_url(self.target):
            what = f"no installed loader opens {self.target}"
        elif Path(self.target).exists():
            what = f"{self.target} is not a folder, a DuckDB database or anything a loader opens"
        else:
            what = f"no data folder or file at {self.target}: it does not exist"
        return (
            f"{what}. Give a folder of users.csv, services.csv … (or .parquet), a DuckDB "
            f"database file, or what a plugin's loader opens. Loaders tried: {tried}"
        )


class LoaderFailed(DataError):
    """A loader's ``accepts`` or ``load`` raised something other than a threeml error; names
    the loader, the target and what it was doing."""

    def __init__(
        self, loader: Loader, target: str, error: Exception, step: str = "accepts"
    ) -> None:
        self.loader = loader
        self.target = target
        self.error = error
        self.step = step
        super().__init__(str(self))

    def __str__(self) -> str:
        doing = "testing" if self.step == "accepts" else "opening"
        must = (
            "Its accepts() must answer True or False"
            if self.step == "accepts"
            else "Its load() must return a Dataset or raise a threeml error saying what is wrong"
        )
        return (
            f"loader {self.loader.name!r} failed while {doing} {self.target}: "
            f"{type(self.error).__name__}: {self.error}. {must}; report this to the plugin's "
            "authors, or disable the plugin"
        )


def _load(loader: Loader, text: str, **options: Any) -> Any:
    """``loader.load``, with anything but a threeml error reported as the loader's failure."""
    try:
        return loader.load(text, **options)
    except ThreemlError:
        raise
    except Exception as error:
        if loader in BUILTIN_LOADERS:
            raise
        raise LoaderFailed(loader, text, error, step="load") from error


def choose_loader(target: str | os.PathLike[str], loaders: Sequence[Loader]) -> Loader:
    """The first of ``loaders`` that accepts ``target``; :class:`NoLoader` when none does."""
    text = os.fspath(target)
    for loader in loaders:
        try:
            accepted = loader.accepts(text)
        except Exception as error:
            raise LoaderFailed(loader, text, error) from error
        if accepted:
            return loader
    raise NoLoader(text, loaders)


def open_dataset(
    target: str | os.PathLike[str],
    *,
    loaders: Sequence[Loader] | None = None,
    mode: str = "strict",
    extract_date: date | str | None = None,
    max_set_aside: float = DEFAULT_MAX_SET_ASIDE,
) -> Dataset:
    """Open the extract at ``target`` with the first of ``loaders`` that accepts it.

    ``loaders`` defaults to :data:`BUILTIN_LOADERS`; pass ``registry.loaders()`` to include
    those plugins supply. Validation runs on the way in, as for every
    :class:`~threeml.data.Dataset` (``mode``: ``"strict"`` or ``"lenient"``). In lenient
    mode, more than ``max_set_aside`` of a table's rows set aside refuses the extract
    (:class:`~threeml.data.report.TooManySetAside`).
    """
    text = os.fspath(target)
    loader = choose_loader(text, BUILTIN_LOADERS if loaders is None else loaders)
    dataset = _load(loader, text, mode=mode, extract_date=extract_date)
    check_set_aside_share(dataset.report, max_set_aside)
    return dataset


def validate_extract(
    target: str | os.PathLike[str],
    *,
    loaders: Sequence[Loader] | None = None,
    mode: str = "strict",
) -> ValidationReport:
    """The validation report of the extract at ``target``, whatever it finds.

    Like :func:`open_dataset`, with the first loader that accepts ``target``; an extract
    with errors gives its report instead of raising
    :class:`~threeml.data.InvalidDataset`.
    """
    text = os.fspath(target)
    loader = choose_loader(text, BUILTIN_LOADERS if loaders is None else loaders)
    validate = getattr(loader, "validate", None)  # optional, also for loaders shaped like one
    if validate is not None:
        return validate(text, mode=mode)
    try:
        return _load(loader, text, mode=mode, extract_date=None).report
    except InvalidDataset as refused:
        return refused.report


# --- the built-in loaders ------------------------------------------------------------------

#: The bytes at offset 8 of every DuckDB database file.
_DUCKDB_MAGIC = b"DUCK"


def _duckdb_url(target: str) -> tuple[str, str | None] | None:
    """``(path, schema)`` of a ``duckdb:///path.db?schema=NAME`` URL, else ``None``."""
    if not target.lower().startswith("duckdb://"):
        return None
    parts = urlsplit(target)
    schema = dict(parse_qsl(parts.query)).get("schema")
    return parts.netloc + parts.path, schema


def is_duckdb_file(target: str) -> bool:
    url = _duckdb_url(target)
    if url is not None:
        target = url[0]
    try:
        with open(target, "rb") as file:
            header = file.read(12)
    except OSError:  # not a file, or not readable: another loader's, or nobody's
        return False
    return header[8:12] == _DUCKDB_MAGIC


def _load_duckdb(target: str, *, mode: str, extract_date: date | str | None) -> Dataset:
    from threeml.data.dataset import Dataset

    path, schema = _duckdb_url(target) or (target, None)
    return Dataset.from_duckdb(
        path, mode=mode, extract_date=extract_date, max_set_aside=1.0, schema=schema
    )


def _is_folder(target: str) -> bool:
    return Path(target).is_dir()


def _load_folder(target: str, *, mode: str, extract_date: date | str | None) -> Dataset:
    from threeml.data.dataset import Dataset

    return Dataset.from_folder(target, mode=mode, extract_date=extract_date, max_set_aside=1.0)


def _validate_folder(target: str, *, mode: str) -> ValidationReport:
    from threeml.data.dataset import validate_folder

    return validate_folder(target, mode=mode)


_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def _is_url(target: str) -> bool:
    return bool(_URL.match(target))


@functools.cache
def _ibis_backends() -> frozenset[str]:
    """The URL schemes ibis has a backend for (declared by ibis, installed or not)."""
    return frozenset(entry.name for entry in entry_points(group="ibis.backends"))


def _is_database_url(target: str) -> bool:
    if not _is_url(target):
        return False
    scheme = target.split("://", 1)[0].lower().replace("postgresql", "postgres")
    return scheme in _ibis_backends()


def _without_password(url: str) -> str:
    """``url`` with any password replaced by ``***``, to name it in reports and messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def _load_connection(target: str, *, mode: str, extract_date: date | str | None) -> Dataset:
    import ibis

    from threeml.data.dataset import Dataset

    shown = _without_password(target)
    try:
        backend = ibis.connect(target)
    except Exception as error:
        scheme = target.split("://", 1)[0]
        raise DataError(
            f"cannot connect to {shown}: {type(error).__name__}: {error}. Check the URL, and "
            f"that ibis's backend for {scheme!r} is installed "
            f"(pip install 'ibis-framework[{scheme}]')"
        ) from error
    return Dataset.from_connection(
        backend, mode=mode, extract_date=extract_date, source=shown, max_set_aside=1.0
    )


#: A DuckDB database file holding tables named ``users``, ``services`` … (opened read-only),
#: given as a path or as ``duckdb:///path.db`` (``?schema=NAME``: the tables' schema).
DUCKDB_LOADER = Loader(
    name="duckdb",
    description="a DuckDB database file with tables named users, services, enrolments …",
    accepts=is_duckdb_file,
    load=_load_duckdb,
)

#: A folder of ``<table>.csv`` / ``<table>.parquet`` files.
FOLDER_LOADER = Loader(
    name="folder",
    description="a folder of users.csv, services.csv … (or .parquet) files",
    accepts=_is_folder,
    load=_load_folder,
    validate=_validate_folder,
)

#: A database URL whose scheme names an ibis backend (``postgres://user@host/db``,
#: ``sqlite:///x.db`` …); the backend's driver must be installed.
CONNECTION_LOADER = Loader(
    name="connection",
    description="a database URL ibis can connect to, such as postgres://user@host/database",
    accepts=_is_database_url,
    load=_load_connection,
)

#: threeml's own loaders, tried before those of plugins, in this order.
BUILTIN_LOADERS: tuple[Loader, ...] = (DUCKDB_LOADER, FOLDER_LOADER, CONNECTION_LOADER)
