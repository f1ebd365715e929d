"""Parity: the same extract, counted on DuckDB, PostgreSQL and Spark, gives the same results.

A small synthetic extract (written by :func:`threeml.data.synth.synthesise`) is loaded into a
PostgreSQL schema and into Spark temporary views; :meth:`Dataset.from_connection` validates
it there (in the database, on Spark), and every standard definition (counts, attrition,
breakdowns, membership) and lenient mode must match DuckDB's results exactly. A second,
hand-written extract holds condition codes beginning and ending with the letters Spark once
trimmed (f, v, t, n, r) and padded with white space.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from threeml import Period
from threeml.data import Dataset
from threeml.data.synth import synthesise
from threeml.definitions import (
    ContactsAtLeast,
    CountingDefinition,
    EnrolmentOverlaps,
    FirstInstalledIn,
    HasCondition,
    InstalledIn,
    ReferredIn,
    RiskAtLeast,
    RiskInTopPercent,
    SectorsAtLeast,
    Window,
)
from threeml.engine.evaluate import count_many
from threeml.records.schema import TABLES

ibis = pytest.importorskip("ibis")

ENGINES = [
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("spark", marks=pytest.mark.spark),
]
P = Period.parse("2013-04")
BY = ("area", "sector")


def _definition(name: str, *criteria: Any, unit: str = "users") -> CountingDefinition:
    return CountingDefinition(
        name=name, version="1", title=name, description=name, criteria=criteria, unit=unit
    )


DEFINITIONS = [
    _definition("connections", InstalledIn(), unit="enrolments"),
    _definition("referred", ReferredIn()),
    _definition("in-receipt", EnrolmentOverlaps()),
    _definition("census", EnrolmentOverlaps(window=Window(last_days=7))),
    _definition("new-users", FirstInstalledIn()),
    _definition("active", ContactsAtLeast(window=Window(last_days=28))),
    _definition("ltc", EnrolmentOverlaps(), HasCondition(conditions=["copd", "diabetes"])),
    _definition("high-risk", EnrolmentOverlaps(), RiskAtLeast(threshold=0.5)),
    _definition("multi-sector", SectorsAtLeast(count=2)),
    _definition("top-quarter", RiskInTopPercent(percent=25), EnrolmentOverlaps()),
    _definition("top-tenth", RiskInTopPercent(percent=10)),
]


def summary(result: Any) -> dict[str, Any]:
    membership = result.membership().to_pylist()
    return {
        "count": result.count,
        "users": result.users,
        "records": result.records,
        "considered": result.considered,
        "attrition": result.attrition,
        "breakdowns": dict(result.breakdowns),
        "membership": sorted(membership, key=lambda row: tuple(map(str, row.values()))),
    }


def postgres_backend(url: str, schema: str) -> Any:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    con = ibis.postgres.connect(
        user=parts.username,
        host=query["host"],
        port=int(query["port"]),
        database=parts.path.lstrip("/"),
    )
    con.raw_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    return ibis.postgres.connect(
        user=parts.username,
        host=query["host"],
        port=int(query["port"]),
        database=parts.path.lstrip("/"),
        schema=schema,
    )


def load(
    engine: str, tables: dict[str, pa.Table], name: str, request: Any, under: Path | None = None
) -> Any:
    """An ibis connection on ``engine`` holding ``tables`` (a schema or temporary views;
    Spark's Parquet files go in ``under``, by default the test's ``tmp_path``)."""
    if engine == "postgres":
        con = postgres_backend(request.getfixturevalue("postgres_url"), name)
        for table, data in tables.items():
            con.create_table(table, data, overwrite=True)
        return con
    session = request.getfixturevalue("spark")
    folder = (under or request.getfixturevalue("tmp_path")) / name
    folder.mkdir()
    for table, data in tables.items():
        pq.write_table(data, folder / f"{table}.parquet")
    return session


def _dataset(
    engine: str, tables: dict[str, pa.Table], name: str, request: Any, under: Path | None = None
) -> Dataset:
    """``tables`` on ``engine``, validated there: Spark through :meth:`Dataset.from_spark`
    with Parquet paths (in ``under``, as :func:`load`), PostgreSQL through
    :meth:`Dataset.from_connection`."""
    con = load(engine, tables, name, request, under)
    if engine == "spark":
        folder = (under or request.getfixturevalue("tmp_path")) / name
        paths = {table: str(folder / f"{table}.parquet") for table in tables}
        return Dataset.from_spark(con, tables=paths, source=engine)
    return Dataset.from_connection(con, source=engine)


@pytest.fixture(scope="module")
def extract(tmp_path_factory) -> dict[str, pa.Table]:
    folder: Path = tmp_path_factory.mktemp("extract")
    synthesise(folder, users=300, seed=7, areas=4)
    return {p.stem: pq.read_table(p) for p in sorted(folder.glob("*.parquet")) if p.stem in TABLES}


@pytest.fixture(scope="module")
def on_duckdb(extract) -> dict[str, Any]:
    dataset = Dataset.from_arrow(extract)
    return count_many(DEFINITIONS, dataset, P, by=BY)


@pytest.mark.parametrize("engine", ENGINES)
def test_standard_definitions_match_duckdb(engine, extract, on_duckdb, request) -> None:
    dataset = _dataset(engine, extract, "parity", request)
    assert dataset.report.ok
    results = count_many(DEFINITIONS, dataset, P, by=BY)
    assert on_duckdb["in-receipt"].count > 0
    for name in on_duckdb:
        assert summary(results[name]) == summary(on_duckdb[name]), name


#: Codes that begin or end with the letters Spark's TRIM literal held (v, f, t, n, r),
#: written with surrounding spaces in text (a database's text is taken as it is, but the
#: items of a code list are trimmed; tabs and other control characters are refused).
CODES = ["falls", "vision", "tremor", "nerve", "asthma"]
USERS = pa.table(
    {
        "user_id": ["u1", "u2", "u3", "u4"],
        "area": ["north", "north", "south", "south"],
        "conditions": [" falls ; vision", "tremor  ;nerve", "falls", "  vision; asthma "],
        "risk_score": ["0.5", "0.25", "0.75", "0.5"],
    }
)
SERVICES = pa.table(
    {"service_id": ["s"], "kind": ["telecare"], "sector": ["health"], "area": ["north"]}
)
ENROLMENTS = pa.table(
    {
        "enrolment_id": ["e1", "e2", "e3", "e4"],
        "user_id": ["u1", "u2", "u3", "u4"],
        "service_id": ["s", "s", "s", "s"],
        "installed_on": ["2013-01-01"] * 4,
        "ended_on": pa.array([None] * 4, pa.string()),
        "end_reason": pa.array([None] * 4, pa.string()),
    }
)
CONTACTS = pa.table(
    {
        "user_id": pa.array([], pa.string()),
        "enrolment_id": pa.array([], pa.string()),
        "date": pa.array([], pa.string()),
        "kind": pa.array([], pa.string()),
    }
)
TEXT_TABLES = {
    "users": USERS,
    "services": SERVICES,
    "enrolments": ENROLMENTS,
    "contacts": CONTACTS,
}
BY_CODE = [_definition(code, HasCondition(conditions=[code])) for code in CODES]
#: Who has each code, read off the table above by hand.
EXPECTED = {"falls": 2, "vision": 2, "tremor": 1, "nerve": 1, "asthma": 1}


@pytest.mark.parametrize("engine", [pytest.param("duckdb"), *ENGINES])
def test_codes_with_f_v_t_n_r_at_their_ends_are_kept_on_every_engine(engine, request) -> None:
    if engine == "duckdb":
        dataset = Dataset.from_connection(ibis.duckdb.connect() | _with(TEXT_TABLES))
    else:
        dataset = _dataset(engine, TEXT_TABLES, "codes", request)
    results = count_many(BY_CODE, dataset, P)
    assert {code: results[code].count for code in CODES} == EXPECTED
    lists = dataset.table("users").conditions.execute().tolist()
    assert sorted(code for codes in lists for code in codes) == sorted(
        ["falls", "vision", "tremor", "nerve", "falls", "vision", "asthma"]
    )


class _with:
    """``con | _with(tables)``: a DuckDB connection holding ``tables``."""

    def __init__(self, tables: dict[str, pa.Table]) -> None:
        self.tables = tables

    def __ror__(self, con: Any) -> Any:
        for name, data in self.tables.items():
            con.create_table(name, data)
        return con


@pytest.mark.postgres
def test_count_on_the_command_line_reads_a_postgresql_schema(
    extract, on_duckdb, request, capsys
) -> None:
    from threeml.cli import main

    url = request.getfixturevalue("postgres_url")
    load("postgres", extract, "cli", request)
    args = ["count", "in-receipt", "--data", url, "--schema", "cli", "--period", "2013-04"]
    args += ["--disclosure", "none"]  # the exact figure (with a breakdown it is rounded)
    assert main(args) == 0
    out = capsys.readouterr().out
    expected = on_duckdb["in-receipt"].count
    assert f"{expected:,}" in out or str(expected) in out
