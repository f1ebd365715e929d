"""Intermediate tables: stored once in the engine by :func:`keep`, gone after :func:`release`.

On DuckDB a kept table is a temporary table (Spark's cached views and PostgreSQL's temporary
tables are checked in tests/engines/test_full_parity.py)."""

from __future__ import annotations

import ibis
import pyarrow as pa

from threeml.data.intermediate import keep, kept, release


def _temporary(con) -> set[str]:
    rows = con.raw_sql("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()
    return {name for (name,) in rows}


def test_keep_stores_a_temporary_table_and_release_drops_it() -> None:
    con = ibis.duckdb.connect()
    source = con.create_table("t", pa.table({"u": ["a", "b", "b"], "n": [1, 2, 3]}))
    expr = source.group_by("u").aggregate(total=source.n.sum())
    table = keep(con, expr)
    assert kept(table)
    (name,) = _temporary(con)
    assert table.get_name().endswith(name)
    assert dict(table.order_by("u").to_pyarrow().to_pylist()[1]) == {"u": "b", "total": 5}
    release(table)
    release(table)  # twice is harmless
    assert _temporary(con) == set()


def test_an_engine_that_stores_nothing_gets_the_expression_back() -> None:
    class Other:
        name = "sqlite"

    expr = ibis.table({"u": "string"}, name="t")
    assert keep(Other(), expr) is expr
    assert not kept(expr)
    release(expr)  # nothing to release
