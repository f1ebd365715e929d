"""Intermediate tables kept in the engine, and released after: one helper for every engine.

A step whose result several later queries read (the flags table of :mod:`threeml.engine`,
a metric session's shared per-person facts) is stored once instead of being recomputed from
the files by each query. :func:`keep` stores it where the engine can:

- DuckDB and PostgreSQL: a temporary table (``CREATE TEMPORARY TABLE … AS``), private to the
  connection;
- Spark: the DataFrame is ``cache()``-d and registered as a temporary view;
- any other engine: the expression is returned as it is (recomputed when read).

The stored table is released (the temporary table dropped; Spark's view dropped and its
DataFrame unpersisted) by :func:`release`, or else when no expression refers to it any more
(ibis's ``CachedTable``). Nothing is brought into Python.
"""

from __future__ import annotations

from typing import Any

import ibis.expr.types as ir

__all__ = ["CACHING_ENGINES", "keep", "kept", "release"]

#: The ibis backends whose intermediate tables are stored (by name).
CACHING_ENGINES = frozenset({"duckdb", "postgres", "pyspark"})


def keep(backend: Any, expr: ir.Table) -> ir.Table:
    """``expr`` stored in ``backend`` when it is one of :data:`CACHING_ENGINES`, else as given.

    The result reads like ``expr``; pass it to :func:`release` when done with it.
    """
    name = getattr(backend, "name", None)
    if name not in CACHING_ENGINES:
        return expr
    if name == "pyspark":
        # ibis's Spark backend caches a query without registering the in-memory tables it
        # reads (an intervals table, say) as views first; every other query path does.
        backend._register_in_memory_tables(expr)
    return expr.cache()


def kept(table: ir.Table) -> bool:
    """Whether ``table`` is stored in its engine by :func:`keep`."""
    return isinstance(table, ir.CachedTable)


def release(table: ir.Table) -> None:
    """Release ``table`` if :func:`keep` stored it (the same table twice is harmless)."""
    if isinstance(table, ir.CachedTable):
        table.release()
