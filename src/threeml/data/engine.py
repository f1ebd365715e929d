"""The embedded engine threeml runs on by default: DuckDB through ibis, with bounded memory.

DuckDB would otherwise use up to 80 % of the machine's memory. threeml caps it
(``THREEML_MEMORY_LIMIT``, default ``1.25GB``; an empty value means DuckDB's own
default) and lets it spill to a private temporary folder instead, so a national
extract is counted within about 2 GiB on a laptop. ``THREEML_THREADS`` sets the
number of threads (default: DuckDB's, one per core). A bad value of either
variable is an :class:`EngineSettingError` naming the variable and a good value.
The spill folder is removed when the process ends, also after an error.
"""

from __future__ import annotations

import atexit
import functools
import os
import re
import shutil
import tempfile
from typing import Any

import ibis

from threeml.settings import SettingError

__all__ = [
    "DEFAULT_MEMORY_LIMIT",
    "MEMORY_VARIABLE",
    "THREADS_VARIABLE",
    "EngineSettingError",
    "connect",
    "memory_limit",
    "out_of_memory_message",
    "threads",
]

DEFAULT_MEMORY_LIMIT = "1.25GB"
#: The environment variable capping the engine's memory.
MEMORY_VARIABLE = "THREEML_MEMORY_LIMIT"
#: The environment variable setting the engine's number of threads.
THREADS_VARIABLE = "THREEML_THREADS"

_MEMORY = re.compile(r"^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)$", re.IGNORECASE)


class EngineSettingError(SettingError):
    """An environment variable setting up the engine has a value threeml cannot use."""


def memory_limit() -> str:
    """The memory cap from ``THREEML_MEMORY_LIMIT`` (``""``: DuckDB's own default)."""
    given = os.environ.get(MEMORY_VARIABLE, DEFAULT_MEMORY_LIMIT).strip()
    if not given:
        return ""
    match = _MEMORY.match(given)
    if match is None or float(match.group(1)) <= 0:
        raise EngineSettingError(
            f"{MEMORY_VARIABLE}={given!r} is not a memory size threeml can use: give a "
            f"positive amount with a unit, e.g. {MEMORY_VARIABLE}=4GB or "
            f"{MEMORY_VARIABLE}=500MB (leave it empty for DuckDB's own default)"
        )
    return f"{match.group(1)}{match.group(2).upper().replace('I', 'i')}"


def threads() -> int | None:
    """The number of threads from ``THREEML_THREADS`` (``None``: one per core)."""
    given = os.environ.get(THREADS_VARIABLE, "").strip()
    if not given:
        return None
    if not given.isdigit() or int(given) <= 0:
        raise EngineSettingError(
            f"{THREADS_VARIABLE}={given!r} is not a number of threads: give a whole number "
            f"of at least 1, e.g. {THREADS_VARIABLE}=4 (leave it unset for one per core)"
        )
    return int(given)


def out_of_memory_message() -> str:
    """What to tell the user when the engine ran out of its memory cap."""
    limit = os.environ.get(MEMORY_VARIABLE, DEFAULT_MEMORY_LIMIT).strip() or "DuckDB's default"
    return (
        f"the engine ran out of its memory cap ({MEMORY_VARIABLE}={limit}): raise it, "
        f"e.g. {MEMORY_VARIABLE}=4GB, or count a smaller extract or fewer definitions at once"
    )


def _remove(folder: str) -> None:
    shutil.rmtree(folder, ignore_errors=True)


@functools.cache
def _spill_folder() -> str:
    """One private folder per process for what DuckDB spills to disk, removed at exit."""
    folder = tempfile.mkdtemp(prefix="threeml-spill-")
    atexit.register(_remove, folder)
    return folder


def connect(database: str | None = None, *, read_only: bool = False) -> Any:
    """A DuckDB backend for ibis, with threeml's memory limit and spill folder applied."""
    limit = memory_limit()
    count = threads()
    backend = (
        ibis.duckdb.connect(database, read_only=read_only) if database else ibis.duckdb.connect()
    )
    if limit:
        backend.raw_sql(f"SET memory_limit = '{limit}'")
        backend.raw_sql(f"SET temp_directory = '{_spill_folder()}'")
    if count is not None:
        backend.raw_sql(f"SET threads = {count}")
    return backend
