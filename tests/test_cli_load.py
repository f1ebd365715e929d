"""``threeml load``: a folder copied into a DuckDB file (the PostgreSQL case is in
tests/engines), validated first, typed from the schema, and read back by ``--data``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest

from threeml.cli import main
from threeml.data import Dataset
from threeml.data.copy import parse_target
from threeml.errors import DataError
from threeml.records.schema import TABLES

#: Rows per table of tests/conftest.py's VALID_CSV, counted by hand (optional tables too).
ROWS = {
    "users": 3,
    "services": 3,
    "enrolments": 4,
    "contacts": 4,
    "outcomes": 3,
    "allocations": 2,
    "targets": 2,
    "populations": 3,
}


def _count(data: list[str], capsys) -> dict:
    args = ["count", "in-receipt", *data, "--period", "2013", "--format", "json"]
    assert main([*args, "--disclosure", "none"]) == 0
    document = json.loads(capsys.readouterr().out)
    return {k: document[k] for k in ("count", "attrition")}


def test_load_copies_every_table_typed_and_count_reads_it(make_folder, tmp_path, capsys):
    folder = make_folder()
    target = tmp_path / "extract.duckdb"
    assert main(["load", str(folder), str(target), "--schema", "kent"]) == 0
    out = capsys.readouterr().out
    for name, rows in ROWS.items():
        assert re.search(rf"{name} +{rows} rows", out)
    with duckdb.connect(str(target), read_only=True) as con:
        types = dict(
            con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'kent' AND table_name = 'users'"
            ).fetchall()
        )
        enrolled = con.execute("SELECT typeof(installed_on) FROM kent.enrolments").fetchone()
        counted = {n: con.execute(f"SELECT count(*) FROM kent.{n}").fetchone()[0] for n in TABLES}
    assert types["conditions"] == "VARCHAR[]" and types["birth_year"] == "BIGINT"
    assert enrolled == ("DATE",)
    assert counted == ROWS
    on_file = _count(["--data", str(target), "--schema", "kent"], capsys)
    on_folder = _count(["--data", str(folder)], capsys)
    assert on_file == on_folder
    assert on_file["count"] == 2  # U1 and U2 (until June); U3 was never installed


def test_duckdb_url_with_a_schema_in_it_is_read_the_same(make_folder, tmp_path, capsys):
    folder = make_folder()
    target = tmp_path / "copy.db"
    assert main(["load", str(folder), f"duckdb://{target}", "--schema", "s"]) == 0
    capsys.readouterr()
    on_url = _count(["--data", f"duckdb://{target}?schema=s"], capsys)
    assert on_url == _count(["--data", str(folder)], capsys)


def test_load_refuses_an_extract_with_errors_unless_lenient(make_folder, tmp_path, capsys):
    bad = make_folder(
        contacts="user_id,enrolment_id,date,kind\nU1,E1,2013-01-11,reading\nU1,E1,notadate,reading\n"
    )
    target = tmp_path / "bad.duckdb"
    assert main(["load", str(bad), str(target)]) != 0
    assert "not a date" in capsys.readouterr().err.replace("_", " ")
    args = ["load", str(bad), str(target), "--lenient", "--max-set-aside", "100%"]
    assert main(args) == 1  # loaded, and says rows were set aside
    captured = capsys.readouterr()
    assert re.search(r"contacts +1 rows", captured.out)
    assert "set rows aside" in captured.err
    assert Dataset.from_duckdb(target).count_rows()["contacts"] == 1


def test_load_refuses_existing_tables_unless_replace(make_folder, tmp_path, capsys):
    folder = make_folder()
    target = tmp_path / "twice.duckdb"
    assert main(["load", str(folder), str(target)]) == 0
    capsys.readouterr()
    assert main(["load", str(folder), str(target)]) == 2
    err = capsys.readouterr().err
    assert "already holds table(s)" in err and "--replace" in err
    assert main(["load", str(folder), str(target), "--replace"]) == 0
    assert Dataset.from_duckdb(target).count_rows() == ROWS


def test_validate_reads_a_schema_of_a_duckdb_file(make_folder, tmp_path, capsys):
    target = tmp_path / "v.duckdb"
    assert main(["load", str(make_folder()), str(target), "--schema", "x"]) == 0
    capsys.readouterr()
    assert main(["validate", str(target), "--schema", "x"]) == 0
    assert "valid: 0 error(s)" in capsys.readouterr().out
    assert main(["validate", str(target), "--schema", "nope"]) == 2
    assert "has no schema 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("target", "schema", "message"),
    [
        ("out.csv", None, "is neither"),
        ("x.duckdb", "bad name;", "not a plain schema name"),
    ],
)
def test_bad_targets_are_named(target, schema, message):
    with pytest.raises(DataError, match=message):
        parse_target(target, schema)


def test_a_postgresql_url_keeps_its_schema_parameter_out_of_the_connection():
    target = parse_target("postgresql://me:secret@db/extracts?schema=kent&sslmode=require")
    assert target.schema == "kent"
    assert target.url == "postgresql://me:secret@db/extracts?sslmode=require"
    assert "secret" not in target.shown


def test_schema_on_a_folder_is_refused_with_what_to_do(make_folder, capsys):
    args = ["count", "in-receipt", "--data", str(make_folder()), "--schema", "s"]
    assert main([*args, "--period", "2013"]) == 2
    assert "DuckDB file written by `threeml load`" in capsys.readouterr().err


def test_the_copy_is_a_complete_extract_even_without_optional_files(make_folder, tmp_path):
    folder = make_folder(allocations=None, targets=None, populations=None)
    target = tmp_path / "min.duckdb"
    assert main(["load", str(folder), str(target)]) == 0
    rows = Dataset.from_duckdb(Path(target)).count_rows()
    assert rows["allocations"] == rows["targets"] == rows["populations"] == 0
