"""Loaders: `--data` takes a folder, a DuckDB file, a database URL or what a plugin's loader opens.

The demo extract is written to a DuckDB database file; every command that reads an extract
must give the same figures on it as on the folder (the paths aside).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from threeml.cli import main
from threeml.data import Dataset, Loader, NoLoader, open_dataset, validate_extract
from threeml.data.demo import demo_folder
from threeml.data.loaders import (
    BUILTIN_LOADERS,
    CONNECTION_LOADER,
    DUCKDB_LOADER,
    FOLDER_LOADER,
    LoaderFailed,
    choose_loader,
)
from threeml.errors import DataError
from threeml.plugins.hookspecs import hookimpl
from threeml.plugins.registry import default_registry, load_registry
from threeml.records.schema import TABLES

FOLDER = str(demo_folder())
HEARTBEAT = "example.pendant-heartbeat-7d"


def _write_duckdb(dataset: Dataset, path: Path) -> Path:
    with duckdb.connect(str(path)) as con:
        for name in TABLES:
            table = dataset.table(name).to_pyarrow()
            con.register("source", table)
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM source")
            con.unregister("source")
    return path


@pytest.fixture(scope="module")
def demo() -> Dataset:
    return Dataset.from_folder(FOLDER)


@pytest.fixture(scope="module")
def database(demo: Dataset, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The demo extract as a DuckDB database file, with a name DuckDB does not require."""
    return str(_write_duckdb(demo, tmp_path_factory.mktemp("db") / "extract.data"))


def _rows(dataset: Dataset, name: str) -> list[str]:
    return sorted(map(str, dataset.table(name).to_pyarrow().to_pylist()))


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out + captured.err


_FILES = re.compile(r"\b(" + "|".join(TABLES) + r")\.csv\b")


#: A table's content hash in a provenance line ("…; 400 rows; sha256 …") or in JSON.
_TABLE_HASH = re.compile(r'(\d+ rows; sha256 |"rows": \d+,\s*"sha256": ")[0-9a-f]{64}')
#: The extract's hash method and digest in JSON.
_EXTRACT_HASH = re.compile(r'("method": ")[^"]*(",\s*"sha256": ")[0-9a-f]{64}')


def _paths_aside(text: str, data: str) -> str:
    """``text`` with the extract's path as ``DATA``, its tables' file names as table names and
    their content hashes as ``HASH`` (a folder's are its files', a database's its rows')."""
    text = _FILES.sub(r"\1", text.replace(data, "DATA"))
    text = _EXTRACT_HASH.sub(r"\1METHOD\2HASH", text)
    return _TABLE_HASH.sub(r"\1HASH", text)


def _sources_aside(document: dict) -> dict:
    """A published JSON document with the extract's and its tables' sources and content
    hashes left out (a folder's are its files', other sources' their rows')."""
    extract = (document.get("provenance") or {}).get("extract") or {}
    for key in ("source", "method", "sha256"):
        extract.pop(key, None)
    for table in extract.get("tables", ()):
        table.pop("source", None)
        table.pop("sha256", None)
    return document


def _same_output(
    capsys: pytest.CaptureFixture[str], database: str, *args: str, status: int = 0
) -> str:
    """Run the command on the folder and on the database; the outputs, paths aside, agree.

    The provenance names a folder's tables by file (``users.csv``) and a database's by table
    (``users``): file names count as paths. The tables' rows must agree; their content hashes
    differ by design (a folder's are its files', a database's its rows').
    """
    outputs = []
    for data in (FOLDER, database):
        code, out = _run(capsys, *(data if a == "DATA" else a for a in args))
        assert code == status, out
        outputs.append(_paths_aside(out, data))
    assert outputs[0] == outputs[1]
    return outputs[0]


# --- the built-in loaders -------------------------------------------------------------------


def test_the_database_file_holds_the_same_extract(demo: Dataset, database: str) -> None:
    opened = open_dataset(database)
    assert opened.source == database
    assert opened.report.ok
    assert opened.extract_date == demo.extract_date
    for name in TABLES:
        assert _rows(opened, name) == _rows(demo, name), name


def test_each_built_in_loader_accepts_its_own_kind_of_target(database: str, tmp_path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not an extract")
    assert choose_loader(database, BUILTIN_LOADERS) is DUCKDB_LOADER
    assert choose_loader(Path(FOLDER), BUILTIN_LOADERS) is FOLDER_LOADER
    assert choose_loader("postgresql://analyst@warehouse/tec", BUILTIN_LOADERS) is CONNECTION_LOADER
    # A duckdb:// URL names a DuckDB file, read (with its --schema) by the DuckDB loader.
    assert choose_loader(f"duckdb://{database}", BUILTIN_LOADERS) is DUCKDB_LOADER
    for target in (notes, tmp_path / "nowhere.duckdb", "s3://bucket/extract"):
        with pytest.raises(NoLoader):
            choose_loader(target, BUILTIN_LOADERS)


def test_a_database_url_is_opened_through_ibis(demo: Dataset, database: str) -> None:
    opened = open_dataset(f"duckdb://{database}")
    assert opened.report.ok
    for name in TABLES:
        assert _rows(opened, name) == _rows(demo, name), name


def test_a_url_that_cannot_be_opened_is_a_clear_error_without_its_password() -> None:
    with pytest.raises(DataError) as caught:
        open_dataset("mysql://analyst:s3cret@localhost:1/tec")
    message = str(caught.value)
    assert "cannot connect to mysql://analyst:***@localhost:1/tec" in message
    assert "s3cret" not in message


# --- the commands on a folder and on a DuckDB file ------------------------------------------


def test_count_on_a_duckdb_file(capsys, database: str) -> None:
    out = _same_output(
        capsys, database, "count", "in-receipt", "--data", "DATA", "--period", "2013"
    )
    assert "in-receipt" in out
    _same_output(
        capsys,
        database,
        "count",
        HEARTBEAT,
        "--data",
        "DATA",
        "--period",
        "2013",
        "--format",
        "json",
    )


def test_explain_on_a_duckdb_file(capsys, database: str) -> None:
    out = _same_output(
        capsys,
        database,
        "explain",
        "ltc-telehealth",
        "P00013",
        "--data",
        "DATA",
        "--period",
        "2013",
    )
    assert "P00013" in out


def test_compare_on_a_duckdb_file(capsys, database: str) -> None:
    args = ("--data", "DATA", "--period", "2013", "--format", "json")
    out = _same_output(
        capsys, database, "compare", "connections", "in-receipt", "telehealth", *args
    )
    assert json.loads(out)
    _same_output(capsys, database, "compare", "telehealth", "ltc-telehealth", "--diff", *args)


@pytest.mark.skipif(
    "multi-sector-share" not in default_registry(),
    reason="the threeml-integrated-care plugin is not installed",
)
def test_metric_on_a_duckdb_file(capsys, database: str) -> None:
    out = _same_output(
        capsys,
        database,
        "metric",
        "multi-sector-share",
        "--data",
        "DATA",
        "--period",
        "2013",
        "--format",
        "json",
    )
    assert json.loads(out)["metric"] == "multi-sector-share"


def test_validate_on_a_duckdb_file(capsys, database: str) -> None:
    out = _same_output(capsys, database, "validate", "DATA", "--format", "json")
    report = json.loads(out)
    assert report["ok"] and report["rows"]["users"] > 0


def test_validate_a_duckdb_file_with_errors(capsys, demo: Dataset, tmp_path) -> None:
    path = str(_write_duckdb(demo, tmp_path / "extract.duckdb"))
    with duckdb.connect(path) as con:
        con.execute("UPDATE users SET risk_score = 3 WHERE user_id = 'P00013'")
    status, out = _run(capsys, "validate", path, "--mode", "lenient", "--format", "json")
    assert status == 1
    report = json.loads(out)
    assert {(p["table"], p["kind"]) for p in report["problems"]} == {("users", "out of range")}
    assert {row["table"] for row in report["set_aside"]} >= {"users", "enrolments"}
    assert validate_extract(path).errors == 1
    status, out = _run(capsys, "count", "in-receipt", "--data", path, "--period", "2013")
    assert status == 2
    assert f"threeml validate {path}" in out


def test_report_on_a_duckdb_file(capsys, database: str, tmp_path) -> None:
    written = []
    for data, out in ((FOLDER, tmp_path / "folder"), (database, tmp_path / "database")):
        args = ["report", "--data", data, "--period", "2013", "--out", str(out)]
        status, text = _run(capsys, *args, "--definitions", "in-receipt,telehealth")
        assert status == 0, text
        written.append(_paths_aside((out / "results.json").read_text(encoding="utf-8"), data))
    assert written[0] == written[1]


# --- loaders a plugin supplies --------------------------------------------------------------

#: A loader of the kind a plugin would supply: extracts named ``memory:NAME``.
MEMORY_LOADER = Loader(
    name="test.memory",
    description="an extract held in this test module, named memory:NAME",
    accepts=lambda target: target.startswith("memory:"),
    load=lambda target, *, mode, extract_date: Dataset.from_arrow(
        _MEMORY[target.removeprefix("memory:")],
        mode=mode,
        extract_date=extract_date,
        source=target,
    ),
)

_MEMORY: dict[str, dict[str, pa.Table]] = {}


def test_a_loader_is_chosen_by_what_it_accepts(demo: Dataset) -> None:
    _MEMORY["demo"] = {name: demo.table(name).to_pyarrow() for name in TABLES}
    loaders = (*BUILTIN_LOADERS, MEMORY_LOADER)
    opened = open_dataset("memory:demo", loaders=loaders, extract_date="2014-03-31")
    assert opened.source == "memory:demo"
    assert str(opened.extract_date) == "2014-03-31"
    assert _rows(opened, "contacts") == _rows(demo, "contacts")
    assert validate_extract("memory:demo", loaders=loaders).ok
    assert open_dataset(FOLDER, loaders=loaders).source == FOLDER  # built-ins still first


class MemoryPlugin:
    """A plugin supplying :data:`MEMORY_LOADER` through the hook."""

    @hookimpl
    def threeml_loaders(self) -> list[Loader]:
        return [MEMORY_LOADER]


def test_a_plugin_loader_is_tried_after_the_built_in_ones(
    capsys, demo: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    _MEMORY["demo"] = {name: demo.table(name).to_pyarrow() for name in TABLES}
    registry = load_registry(environ={}, extra_plugins=[("memory", MemoryPlugin())])
    names = [loader.name for loader in registry.loaders()]
    assert names[: len(BUILTIN_LOADERS)] == [loader.name for loader in BUILTIN_LOADERS]
    assert "test.memory" in names[len(BUILTIN_LOADERS) :]
    assert registry.loader("test.memory") is MEMORY_LOADER
    monkeypatch.setattr("threeml.cli.extract.default_registry", lambda: registry)
    args = ("count", "in-receipt", "--period", "2013", "--format", "json")
    outputs = []
    for data in (FOLDER, "memory:demo"):
        status, out = _run(capsys, *args, "--data", data)
        assert status == 0, out
        outputs.append(_sources_aside(json.loads(out)))
    assert outputs[0] == outputs[1]
    status, out = _run(capsys, "validate", "memory:demo", "--format", "json")
    assert status == 0, out
    assert json.loads(out)["source"] == "memory:demo"


def test_no_loader_names_the_target_and_the_loaders_tried(tmp_path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not an extract")
    loaders = (*BUILTIN_LOADERS, MEMORY_LOADER)
    with pytest.raises(NoLoader) as caught:
        open_dataset(notes, loaders=loaders)
    message = str(caught.value)
    assert f"{notes} is not a folder" in message
    for loader in loaders:
        assert f"{loader.name}: {loader.description}" in message
    assert caught.value.target == str(notes)
    with pytest.raises(NoLoader, match=r"no data folder or file at .*nowhere: it does not exist"):
        open_dataset(tmp_path / "nowhere", loaders=loaders)
    with pytest.raises(NoLoader, match="no installed loader opens s3://bucket/x"):
        validate_extract("s3://bucket/x", loaders=loaders)


def test_a_loader_whose_accepts_raises_is_named(tmp_path) -> None:
    def broken(target: str) -> bool:
        raise RuntimeError("boom")

    loader = Loader(name="test.broken", description="never works", accepts=broken, load=print)
    with pytest.raises(LoaderFailed, match=r"loader 'test\.broken' failed while testing .*: boom"):
        open_dataset(tmp_path, loaders=(loader, *BUILTIN_LOADERS))


def test_a_loader_whose_load_raises_is_named_not_an_internal_error(tmp_path) -> None:
    def explode(target: str, **options: object) -> Dataset:
        raise KeyError("users")

    loader = Loader(name="test.exploding", description="opens nothing", accepts=bool, load=explode)
    with pytest.raises(
        LoaderFailed, match=r"loader 'test\.exploding' failed while opening .*users"
    ):
        open_dataset("s3://bucket/x", loaders=(loader,))
    with pytest.raises(LoaderFailed, match="must return a Dataset or raise a threeml error"):
        validate_extract("s3://bucket/x", loaders=(loader,))


@pytest.mark.parametrize("name", ["", "Acme", "acme loader", "-acme"])
def test_a_loader_name_is_checked(name: str) -> None:
    with pytest.raises(ValueError, match="loader's name"):
        Loader(name=name, description="x", accepts=bool, load=print)


def test_the_cli_says_when_nothing_opens_the_data(capsys, tmp_path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not an extract")
    status, out = _run(capsys, "count", "in-receipt", "--data", str(notes), "--period", "2013")
    assert status == 2
    assert "Traceback" not in out
    assert re.search(r"is not a folder.*Loaders tried: duckdb: .*; folder: ", out)


def _loader_names(loaders: tuple[Loader, ...]) -> list[str]:
    return [loader.name for loader in loaders]


def test_the_built_in_loaders_in_order() -> None:
    assert _loader_names(BUILTIN_LOADERS) == ["duckdb", "folder", "connection"]


def test_choosing_a_loader_loads_no_engine() -> None:
    import subprocess
    import sys

    code = (
        "import sys, threeml.data.loaders as loaders\n"
        "loaders.choose_loader('.', loaders.BUILTIN_LOADERS)\n"
        "print(sorted(m for m in ('ibis', 'duckdb', 'pyarrow') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
