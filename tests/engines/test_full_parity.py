"""Parity beyond counts: metrics, ``explain``, lenient set-aside, validation, a series and
``threeml load`` give DuckDB's figures on PostgreSQL and on Spark.

The extract is small (300 people) so the suite stays within a few minutes; what is compared
is every figure a result holds (metric cells, breakdowns and details; explanations as
text; set-aside rows by table and reason; the validation report's counts).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from tests.test_metrics_shared import _same
from threeml import Period
from threeml.data import Dataset
from threeml.data.synth import synthesise
from threeml.engine.evaluate import count
from threeml.engine.explain import explain
from threeml.engine.series import count_series
from threeml.metrics.evaluate import evaluate_metrics
from threeml.metrics.series import evaluate_metrics_series
from threeml.plugins.registry import default_registry
from threeml.records.intervals import split
from threeml.records.schema import TABLES

from .test_parity import DEFINITIONS, ENGINES, _dataset, load, summary

ibis = pytest.importorskip("ibis")

YEAR = Period.parse("FY2013/14")
BY = ("area",)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    folder: Path = tmp_path_factory.mktemp("full")
    synthesise(folder, users=300, seed=11, areas=3)
    return folder


@pytest.fixture(scope="module")
def extract(folder) -> dict[str, pa.Table]:
    return {p.stem: pq.read_table(p) for p in sorted(folder.glob("*.parquet")) if p.stem in TABLES}


@pytest.fixture(scope="module")
def duckdb_dataset(extract) -> Dataset:
    return Dataset.from_arrow(extract)


@pytest.fixture(scope="module")
def on_engine(extract, tmp_path_factory, request) -> Callable[[str], Dataset]:
    """The extract loaded into an engine and validated there, once per engine for this
    module's tests (validation's parity is the lenient and schema tests' subject; a Spark
    validation costs tens of seconds whatever the rows)."""
    made: dict[str, Dataset] = {}

    def dataset(engine: str) -> Dataset:
        if engine not in made:
            under = tmp_path_factory.mktemp(f"on-{engine}")
            made[engine] = _dataset(engine, extract, "full", request, under)
        return made[engine]

    return dataset


def _figures(result: Any) -> dict[str, Any]:
    return {
        "cells": dict(result.cells),
        "value": result.value,
        "ci": (result.ci_low, result.ci_high),
        "details": {k: v for k, v in result.details.items() if not isinstance(v, str)},
        "breakdowns": {
            name: [(row.group, dict(row.cells)) for row in rows]
            for name, rows in result.breakdowns.items()
        },
    }


def _metrics(dataset: Dataset) -> dict[str, dict[str, Any]]:
    registry = default_registry()
    metrics = list(registry.metric_definitions())
    errors: dict[str, str] = {}
    results = evaluate_metrics(metrics, dataset, YEAR, registry, by=BY, errors=errors)
    assert not errors
    return {name: _figures(result) for name, result in results.items()}


@pytest.mark.parametrize("engine", ENGINES)
def test_every_metric_matches_duckdb(engine, duckdb_dataset, on_engine) -> None:
    expected = _metrics(duckdb_dataset)
    assert len(expected) >= 13
    assert any(figures["cells"] for figures in expected.values())
    found = _metrics(on_engine(engine))
    assert found.keys() == expected.keys()
    for name in expected:
        assert _same(found[name], expected[name]), name


def _explanations(dataset: Dataset, users: list[str]) -> list[str]:
    registry = default_registry()
    names = ["in-receipt", "active-telehealth", "high-risk", "multi-sector", "connections"]
    return [
        explain(registry.counting(name), user, dataset, YEAR, resolve=registry.counting).text()
        for name in names
        for user in users
    ]


@pytest.mark.parametrize("engine", ENGINES)
def test_explain_matches_duckdb(engine, extract, duckdb_dataset, on_engine) -> None:
    users = sorted(extract["users"].column("user_id").to_pylist())[:4]
    expected = _explanations(duckdb_dataset, users)
    assert any("counted" in text for text in expected)
    found = _explanations(on_engine(engine), users)
    assert found == expected


@pytest.mark.parametrize("engine", ENGINES)
def test_a_series_of_quarters_matches_duckdb(engine, duckdb_dataset, on_engine) -> None:
    quarters = split(YEAR, "quarter")
    assert len(quarters) == 4
    chosen = DEFINITIONS[:6]
    expected = count_series(chosen, duckdb_dataset, quarters, by=BY)
    found = count_series(chosen, on_engine(engine), quarters, by=BY)
    for name, results in expected.items():
        assert [summary(r) for r in found[name]] == [summary(r) for r in results], name
    assert len({r.count for r in expected["in-receipt"]}) > 1  # the quarters differ


#: Metrics whose series read the population's runs of intervals (person-time, bed days, a
#: proportion): their SQL (the runs' prefix sums, the pieces joined to the intervals they
#: overlap) runs on every engine.
RUN_METRICS = (
    "user-years",
    "ae-attendances-rate",
    "cost-per-user-year",
    "bed-days-per-head",
    "multi-sector-share",
)


def _metrics_series(dataset: Dataset) -> dict[str, list[dict[str, Any]]]:
    registry = default_registry()
    metrics = [registry.metric(name) for name in RUN_METRICS]
    errors: dict[str, str] = {}
    found = evaluate_metrics_series(
        metrics, dataset, split(YEAR, "quarter"), registry, by=BY, errors=errors
    )
    assert not errors
    return {name: [_figures(r) for r in results] for name, results in found.items()}


@pytest.mark.parametrize("engine", ENGINES)
def test_metrics_over_quarters_match_duckdb(engine, duckdb_dataset, on_engine) -> None:
    expected = _metrics_series(duckdb_dataset)
    found = _metrics_series(on_engine(engine))
    for name in RUN_METRICS:
        assert _same(found[name], expected[name]), name


def _as_text(table: pa.Table) -> pa.Table:
    """Every column as text (lists joined with ';'), as a raw extract holds them."""
    columns = {}
    for name in table.column_names:
        column = table.column(name)
        if pa.types.is_list(column.type):
            column = pc.binary_join(column, ";")
        columns[name] = pc.cast(column, pa.string())
    return pa.table(columns)


@pytest.fixture(scope="module")
def flawed(extract) -> dict[str, pa.Table]:
    """The extract as text, with three bad contacts and a user with a bad birth year."""
    tables = {name: _as_text(table) for name, table in extract.items()}
    contacts = tables["contacts"]
    first = contacts.slice(0, 3).to_pylist()
    first[0]["date"] = "2013-02-30"
    first[1]["kind"] = "carrier_pigeon"
    first[2]["enrolment_id"] = "no-such-enrolment"
    tables["contacts"] = pa.concat_tables(
        [contacts, pa.Table.from_pylist(first, schema=contacts.schema)]
    )
    users = tables["users"].to_pylist()
    users[0]["birth_year"] = "nineteen"
    tables["users"] = pa.Table.from_pylist(users, schema=tables["users"].schema)
    return tables


def _lenient(dataset: Dataset) -> dict[str, Any]:
    counted = summary(count(DEFINITIONS[5], dataset, YEAR, by=BY))
    return {
        "set_aside": dict(dataset.report.set_aside),
        "counts": dict(dataset.report.counts),
        "rows": dataset.count_rows(),
        "active": counted,
    }


@pytest.mark.parametrize("engine", ENGINES)
def test_lenient_mode_sets_the_same_rows_aside(engine, flawed, request) -> None:
    expected = _lenient(Dataset.from_arrow(flawed, mode="lenient", max_set_aside=1.0))
    assert sum(expected["set_aside"].values()) >= 4
    con = load(engine, flawed, "lenient", request)
    if engine == "spark":
        from threeml.data.spark import spark_views

        where = request.getfixturevalue("tmp_path") / "lenient"
        names = spark_views(con, {t: str(where / f"{t}.parquet") for t in flawed})
        con = ibis.pyspark.connect(con)
    else:
        names = None
    found = Dataset.from_connection(con, names=names, mode="lenient", max_set_aside=1.0)
    assert _lenient(found) == expected


@pytest.mark.postgres
def test_validate_with_a_schema_reports_as_on_the_folder(flawed, request, capsys) -> None:
    import json

    from threeml.cli import main

    url = request.getfixturevalue("postgres_url")
    load("postgres", flawed, "flawed", request)
    folder = request.getfixturevalue("tmp_path") / "flawed"
    folder.mkdir()
    for name, table in flawed.items():
        pq.write_table(table, folder / f"{name}.parquet")

    def report(*args: str) -> dict[str, Any]:
        assert main(["validate", *args, "--format", "json", "--mode", "lenient"]) == 1
        document = json.loads(capsys.readouterr().out)
        return {k: document[k] for k in ("rows", "summary", "set_aside", "errors")}

    on_postgres = report(url, "--schema", "flawed")
    assert on_postgres["errors"] >= 4
    assert on_postgres == report(str(folder))


@pytest.mark.postgres
def test_load_into_postgresql_then_count_and_report(folder, request, capsys) -> None:
    """``threeml load`` into a PostgreSQL schema, then ``count`` and ``report`` read it."""
    from threeml.cli import main

    url = request.getfixturevalue("postgres_url")
    assert main(["load", str(folder), url, "--schema", "loaded"]) == 0
    out = capsys.readouterr().out
    rows = {p.stem: pq.read_metadata(p).num_rows for p in folder.glob("*.parquet")}
    for name in TABLES:
        assert f"{rows.get(name, 0):,} rows" in out
    assert main(["load", str(folder), url, "--schema", "loaded"]) == 2
    assert "--replace" in capsys.readouterr().err

    def counted(*data: str) -> str:
        args = ["count", "in-receipt", *data, "--period", "FY2013/14", "--format", "json"]
        assert main([*args, "--disclosure", "none", "--by", "sector"]) == 0
        return capsys.readouterr().out.split('"provenance"')[0]

    assert counted("--data", url, "--schema", "loaded") == counted("--data", str(folder))
    out = request.getfixturevalue("tmp_path") / "report"
    args = ["report", "--data", url, "--schema", "loaded", "--period", "FY2013/14"]
    assert main([*args, "--out", str(out)]) == 0
    assert (out / "report.html").stat().st_size > 10_000
    assert "in-receipt" in (out / "results.csv").read_text()
