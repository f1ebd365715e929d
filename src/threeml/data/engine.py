"""The embedded engine threeml runs on by default: DuckDB through ibis, with bounded memory.

DuckDB would otherwise use up to 80 % of the machine's memory. threeml caps it
(``THREEML_MEMORY_LIMIT``, default ``1.25GB``; an empty value means DuckDB's own
default) and lets it spill to a private temporary folder instead, so a national
extract is counted within about 2 GiB on a laptop. ``THREEML_THREADS`` sets the
number of threads (default: DuckDB's, one per core).
"""

from __future__ import annotations

import functools
import os
import tempfile
from typing import Any

import ibis

__all__ = ["DEFAULT_MEMORY_LIMIT", "connect"]

DEFAULT_MEMORY_LIMIT = "1.25GB"


@functools.cache
def _spill_folder() -> str:
    """One private folder per process for what DuckDB spills to disk."""
    return tempfile.mkdtemp(prefix="threeml-spill-")


def connect(database: str | None = None, *, read_only: bool = False) -> Any:
    """A DuckDB backend for ibis, with threeml's memory limit and spill folder applied."""
    backend = (
        ibis.duckdb.connect(database, read_only=read_only) if database else ibis.duckdb.connect()
    )
    limit = os.environ.get("THREEML_MEMORY_LIMIT", DEFAULT_MEMORY_LIMIT).strip()
    if limit:
        backend.raw_sql(f"SET memory_limit = '{limit.replace(chr(39), '')}'")
        backend.raw_sql(f"SET temp_directory = '{_spill_folder()}'")
    threads = os.environ.get("THREEML_THREADS", "").strip()
    if threads.isdigit() and int(threads) > 0:
        backend.raw_sql(f"SET threads = {int(threads)}")
    return backend
