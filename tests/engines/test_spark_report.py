"""``scripts/spark_report.py`` run as a cluster job would run it (``python`` with a local
master, in its own process and JVM) writes the report ``threeml report`` writes on DuckDB."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from threeml.cli import main
from threeml.data.synth import synthesise

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "spark_report.py"
ARGS = ["--period", "FY2013/14", "--definitions", "in-receipt,active,new-users"]
ARGS += ["--metrics", "user-years,multi-sector-share"]


def _script() -> Any:
    """``scripts/spark_report.py`` imported as a module."""
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import spark_report
    finally:
        sys.path.remove(str(SCRIPT.parent))
    return spark_report


def _figures(folder: Path) -> dict:
    """results.json without what names the source (the folder, or Spark)."""
    document = json.loads((folder / "results.json").read_text())
    document.pop("provenance", None)
    return document


@pytest.mark.spark
def test_the_spark_script_writes_the_duckdb_report(tmp_path) -> None:
    pytest.importorskip("pyspark", reason="pyspark is not installed (pip install '.[spark]')")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Spark needs Java (17), and there is none on PATH or in JAVA_HOME")
    extract = tmp_path / "extract"
    synthesise(extract, users=200, seed=5, areas=3)
    on_duckdb = tmp_path / "duckdb"
    definitions, metrics = ARGS[3], ARGS[5]
    args = ["report", "--data", str(extract), "--period", "FY2013/14", "--out", str(on_duckdb)]
    assert main([*args, "--definitions", definitions, "--metrics", metrics]) == 0
    on_spark = tmp_path / "spark"
    command = [sys.executable, str(SCRIPT), "--parquet", str(extract), "--master", "local[2]"]
    command += [*ARGS, "--out", str(on_spark)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    # A guard against a hang, not a speed test: Spark plans each query for seconds whatever
    # the rows (about 90 s for this report on the shared 2-core machine; over 800 s when the
    # script kept Spark's 200 shuffle partitions on a local master).
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1500)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "wrote" in done.stdout
    assert {p.name for p in on_spark.iterdir()} == {p.name for p in on_duckdb.iterdir()}
    assert _figures(on_spark) == _figures(on_duckdb)


def test_a_missing_required_table_is_named(tmp_path, capsys) -> None:
    pytest.importorskip("pyspark", reason="pyspark is not installed (pip install '.[spark]')")
    spark_report = _script()
    args = ["--parquet", str(tmp_path), "--period", "2013", "--out", str(tmp_path / "r")]
    with pytest.raises(Exception, match=r"no users\.parquet, services\.parquet"):
        spark_report._tables(spark_report._arguments(args))


def test_a_local_master_gets_one_shuffle_partition_per_core() -> None:
    spark_report = _script()
    assert spark_report._local_cores("local[2]") == 2
    assert spark_report._local_cores("local[*]") == (os.cpu_count() or 1)
    assert spark_report._local_cores("spark://cluster:7077") is None
    assert spark_report._local_cores(None) is None
