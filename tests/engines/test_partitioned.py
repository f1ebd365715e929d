"""Every window function that the standard definitions and a database's validation compile
has a PARTITION BY: a window over a whole table runs in one partition on a cluster.

The queries are those ibis compiles on DuckDB (every ``compile`` call is recorded) while an
extract in a DuckDB connection is validated by :meth:`Dataset.from_connection` and counted
by every standard definition of the parity suite.
"""

from __future__ import annotations

import re

import pyarrow.parquet as pq
import pytest
from ibis.backends.sql import SQLBackend

from threeml.data import Dataset
from threeml.data.synth import synthesise
from threeml.engine.evaluate import count_many
from threeml.records.schema import TABLES

from . import test_parity

ibis = pytest.importorskip("ibis")

_OVER = re.compile(r"\bOVER\s*\(([^()]*)", re.IGNORECASE)


def unpartitioned(sql: str) -> list[str]:
    """The windows of ``sql`` (``OVER (…``) without ``PARTITION BY``."""
    return [w for w in _OVER.findall(sql) if "PARTITION BY" not in w.upper()]


def test_the_detector_finds_an_unpartitioned_window() -> None:
    assert unpartitioned("SELECT ROW_NUMBER() OVER (ORDER BY NULL) FROM t") == ["ORDER BY NULL"]
    assert unpartitioned("SELECT SUM(x) OVER (PARTITION BY u ORDER BY d) FROM t") == []


def test_no_query_of_validation_and_counting_has_an_unpartitioned_window(
    tmp_path, monkeypatch
) -> None:
    synthesise(tmp_path, users=200, seed=3, areas=3)
    seen: list[str] = []
    compile_ = SQLBackend.compile

    def recording(self, *args, **kwargs):
        sql = compile_(self, *args, **kwargs)
        seen.append(str(sql))
        return sql

    monkeypatch.setattr(SQLBackend, "compile", recording)
    con = ibis.duckdb.connect()
    for path in tmp_path.glob("*.parquet"):
        if path.stem in TABLES:
            con.create_table(path.stem, pq.read_table(path))
    dataset = Dataset.from_connection(con, mode="lenient")
    count_many(test_parity.DEFINITIONS, dataset, test_parity.P, by=test_parity.BY)
    assert len(seen) > 10
    bad = {w for sql in seen for w in unpartitioned(sql)}
    assert not bad, f"windows without PARTITION BY: {sorted(bad)}"
