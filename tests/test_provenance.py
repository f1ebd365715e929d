"""Provenance in every output, and the labelling gaps of route 7 (issue 13).

Every output states the policy, the audit's outcome, each definition's content hash, the
extract's fingerprint and the rows a lenient load set aside; ``compare --format csv`` has its
disclosure column and its ``--by`` cells; ``compare --diff`` states its policy; a stale
``membership.parquet`` is removed.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import attrs
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import VALID_CSV
from threeml.cli import main
from threeml.data import Dataset
from threeml.data.demo import demo_folder
from threeml.data.fingerprint import fingerprint
from threeml.definitions.policies import ROUND10_POLICY
from threeml.plugins.registry import default_registry
from threeml.publish.provenance import NOT_AUDITED, definition_hash

DATA = str(demo_folder())
#: One enrolment of an unknown service: set aside in lenient mode.
BAD_ENROLMENT = VALID_CSV["enrolments"] + "E9,U2,S9,2013-01-01,2013-01-02,,\n"


def _run(capsys, *args: str) -> str:
    assert main(list(args)) == 0
    return capsys.readouterr().out


# --- definitions' content hashes -------------------------------------------------------------


def test_a_definition_changed_under_the_same_version_has_another_hash() -> None:
    original = default_registry().counting("in-receipt")
    assert definition_hash(original) == definition_hash(attrs.evolve(original))
    changed = attrs.evolve(original, description=original.description + " Changed.")
    assert changed.version == original.version
    assert definition_hash(changed) != definition_hash(original)


def test_the_source_is_not_part_of_the_hash() -> None:
    original = default_registry().counting("in-receipt")
    assert definition_hash(attrs.evolve(original, source=None)) == definition_hash(original)


# --- the extract's fingerprint ---------------------------------------------------------------


_DEMO = Dataset.from_folder(demo_folder())
_TABLES = {name: _DEMO.table(name).to_pyarrow() for name in _DEMO.tables}
_USERS = _TABLES["users"].to_pylist()
#: The same rows given as Arrow tables: fingerprinted by their rows (a folder by its files).
_ARROW = Dataset.from_arrow(_TABLES)


def _users(rows: list[dict]) -> Dataset:
    """The demo extract with its users table replaced by ``rows``."""
    schema = _TABLES["users"].schema
    return Dataset.from_arrow({**_TABLES, "users": pa.Table.from_pylist(rows, schema=schema)})


@settings(max_examples=8, deadline=None)
@given(st.permutations(range(len(_USERS))))
def test_the_fingerprint_does_not_depend_on_row_order(order: list[int]) -> None:
    shuffled = _users([_USERS[i] for i in order])
    assert fingerprint(shuffled).table("users").sha256 == fingerprint(_ARROW).table("users").sha256


@settings(max_examples=8, deadline=None)
@given(st.integers(0, len(_USERS) - 1), st.sampled_from(["area", "sex", "risk_score"]))
def test_one_changed_or_doubled_row_changes_the_fingerprint(index: int, column: str) -> None:
    before = fingerprint(_ARROW).table("users").sha256
    changed = [dict(row) for row in _USERS]
    value = changed[index][column]
    changed[index][column] = {"area": "Elsewhere", "sex": None, "risk_score": 0.999}[column]
    if changed[index][column] == value:
        changed[index][column] = None
    assert fingerprint(_users(changed)).table("users").sha256 != before


def test_a_doubled_row_changes_the_fingerprint() -> None:
    contacts = _TABLES["contacts"]
    doubled = pa.concat_tables([contacts, contacts.slice(0, 1)])
    dataset = Dataset.from_arrow({**_TABLES, "contacts": doubled})
    assert fingerprint(dataset).table("contacts").rows == contacts.num_rows + 1
    before = fingerprint(_ARROW).table("contacts").sha256
    assert fingerprint(dataset).table("contacts").sha256 != before


def test_a_folder_is_fingerprinted_by_its_files(tmp_path: Path) -> None:
    import shutil

    import pyarrow.parquet as pq

    parquet = tmp_path / "parquet"
    parquet.mkdir()
    for name in _DEMO.tables:
        pq.write_table(_DEMO.table(name).to_pyarrow(), parquet / f"{name}.parquet")
    other = fingerprint(Dataset.from_folder(parquet, cache=False))
    mine = fingerprint(_DEMO)
    assert mine.method.startswith("sha256 of each file")
    # The same rows, other files: the same row counts, other hashes.
    assert [(t.table, t.rows) for t in other.tables] == [(t.table, t.rows) for t in mine.tables]
    assert other.table("users").source == "users.parquet"
    assert mine.table("users").source == "users.csv"
    assert other.table("users").sha256 != mine.table("users").sha256
    # Stable: loaded again, or copied elsewhere (another folder, other modification times).
    copy = tmp_path / "copy"
    shutil.copytree(demo_folder(), copy, ignore=shutil.ignore_patterns(".threeml-cache"))
    assert fingerprint(Dataset.from_folder(demo_folder())) == mine
    assert fingerprint(Dataset.from_folder(copy, cache=False)).digest == mine.digest
    # One changed byte of one file changes that table's hash and the extract's.
    text = (copy / "services.csv").read_text(encoding="utf-8")
    (copy / "services.csv").write_text(text.replace(",health,", ",housing,", 1), "utf-8")
    changed = fingerprint(Dataset.from_folder(copy, cache=False))
    assert changed.table("services").sha256 != mine.table("services").sha256
    assert changed.table("users") == mine.table("users")
    assert changed.digest != mine.digest


# --- provenance in every command format ------------------------------------------------------


def test_count_states_its_provenance_in_every_format(capsys) -> None:
    args = ("count", "in-receipt", "--data", DATA, "--period", "2013")
    data = json.loads(_run(capsys, *args, "--format", "json"))
    assert data["audit"]["solver"].startswith("HiGHS")  # every written output is audited
    provenance = data["provenance"]
    assert provenance["disclosure"]["name"] == "default"
    assert [d["name"] for d in provenance["definitions"]] == ["in-receipt"]
    assert provenance["extract"]["extract_date"] == "2013-12-31"
    users = provenance["extract"]["tables"][0]
    assert (users["table"], users["source"], users["rows"]) == ("users", "users.csv", 400)
    assert provenance["set_aside"] == []
    rows = list(csv.DictReader(io.StringIO(_run(capsys, *args, "--format", "csv"))))
    items = {row["item"]: row["value"] for row in rows if row["section"] == "provenance"}
    assert items["audit"].startswith("passed")
    assert items["definition in-receipt"].startswith("version 1; sha256 ")
    assert items["table users"].startswith("users.csv; 400 rows; sha256 ")
    assert items["set aside"] == "none"
    table = _run(capsys, *args)
    assert "audit: passed" in table and "table users: users.csv; 400 rows" in table


def test_compare_csv_has_a_disclosure_column_and_its_by_cells(capsys) -> None:
    args = ("compare", "in-receipt", "telehealth", "--data", DATA, "--period", "2013")
    out = _run(capsys, *args, "--by", "area", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    totals = [row for row in rows if not row["breakdown"]]
    cells = [row for row in rows if row["breakdown"] == "area"]
    assert [row["definition"] for row in totals] == ["in-receipt", "telehealth"]
    # Beside a breakdown the totals go through the policy too (route 5), and say so.
    assert all(row["disclosure"].startswith("default: counts 1-7") for row in totals)
    assert all(int(row["count"]) % 5 == 0 for row in totals)
    plain = _run(capsys, *args, "--format", "csv")
    unbroken = [row for row in csv.DictReader(io.StringIO(plain))]
    assert {row["disclosure"] for row in unbroken} == {"not applied (all areas)"}
    assert {row["group"] for row in cells} == {"Cornwall", "Kent", "Newham"}
    assert all(row["disclosure"].startswith("default: counts 1-7") for row in cells)
    assert all(r["count"] == "suppressed" or int(r["count"]) % 5 == 0 for r in cells)
    assert all(row["audit"] != NOT_AUDITED and "sha256" in row["provenance"] for row in rows)


def test_compare_diff_states_its_policy(capsys) -> None:
    args = ("compare", "in-receipt", "telehealth", "--diff", "--data", DATA, "--period", "2013")
    data = json.loads(_run(capsys, *args, "--format", "json", "--disclosure", "round10"))
    # Every figure of the difference goes through the policy, and the audit checks them.
    assert data["disclosure"] == ROUND10_POLICY.describe()
    assert data["both"] % 10 == 0 and data["audit"]["status"] != NOT_AUDITED
    assert data["provenance"]["definitions"]
    rows = list(csv.DictReader(io.StringIO(_run(capsys, *args, "--format", "csv"))))
    assert all(row["disclosure"] for row in rows)
    assert any(row["side"] == "provenance" and row["criterion"] == "audit" for row in rows)
    assert "disclosure control: default: counts 1-7 suppressed" in _run(capsys, *args)


# --- lenient runs: set-aside rows in every format --------------------------------------------


def test_lenient_runs_report_set_aside_rows_in_every_format(capsys, make_folder, tmp_path) -> None:
    folder = str(make_folder(enrolments=BAD_ENROLMENT))
    lenient = ("--lenient", "--max-set-aside", "50%", "--allow-set-aside")
    args = ("count", "in-receipt", "--data", folder, "--period", "2013", *lenient)
    data = json.loads(_run(capsys, *args, "--format", "json"))
    assert data["provenance"]["set_aside"] == [
        {"table": "enrolments", "reason": "unknown reference", "rows": 1}
    ]
    rows = list(csv.DictReader(io.StringIO(_run(capsys, *args, "--format", "csv"))))
    assert {"item": "set aside enrolments", "value": "1 rows: unknown reference"}.items() <= next(
        row for row in rows if row["item"] == "set aside enrolments"
    ).items()
    out = tmp_path / "report"
    report = ("report", "--data", folder, "--period", "2013", *lenient, "--out", str(out))
    _run(capsys, *report, "--definitions", "in-receipt", "--metrics", "none")
    published = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert published["provenance"]["set_aside"][0]["table"] == "enrolments"
    assert "set aside enrolments" in (out / "results.csv").read_text(encoding="utf-8")
    assert "set aside enrolments" in (out / "report.html").read_text(encoding="utf-8")
    fhir = json.loads((out / "measurereport.json").read_text(encoding="utf-8"))
    entries = {e["url"]: e for e in fhir["extension"]}
    stamp = entries["https://threeml.readthedocs.io/fhir/StructureDefinition/provenance"]
    found = {e["url"]: e["valueString"] for e in stamp["extension"]}
    assert found["set aside enrolments"] == "1 rows: unknown reference"
    assert found["audit"] != NOT_AUDITED  # the report is audited before it is written


# --- the report's files ----------------------------------------------------------------------


def test_a_stale_membership_file_is_removed_and_the_output_says_so(capsys, tmp_path) -> None:
    out = tmp_path / "report"
    args = ("report", "--data", DATA, "--period", "2013", "--out", str(out))
    args += ("--definitions", "in-receipt", "--metrics", "none")
    _run(capsys, *args, "--membership")
    assert (out / "membership.parquet").exists()
    said = _run(capsys, *args)
    assert not (out / "membership.parquet").exists()
    assert "removed" in said and "membership.parquet" in said


# --- the audit slot --------------------------------------------------------------------------


class _Outcome:
    """An audit outcome as the audit may record it: a line and its data."""

    def describe(self) -> str:
        return "passed: every suppressed cell's range is at least the protection interval"

    def to_dict(self) -> dict:
        return {"outcome": "passed", "cells": 3}


def test_an_audit_outcome_is_stated_in_every_format(tmp_path) -> None:
    from rich.console import Console

    from threeml.engine.evaluate import count
    from threeml.publish.counts import publish_count
    from threeml.publish.disclosure import DEFAULT_POLICY
    from threeml.publish.terminal import show
    from threeml.report import build_report, publish_report

    result = count(default_registry().counting("in-receipt"), _DEMO, "2013", by=["area"])
    document = attrs.evolve(publish_count(result, DEFAULT_POLICY), audit=_Outcome())
    assert document.data()["audit"]["outcome"] == "passed"
    audit = next(row for row in document.rows() if row["item"] == "audit")
    assert audit["value"].startswith("passed: every suppressed cell")
    console = Console(file=io.StringIO(), width=200)
    show(document, console)
    assert "audit: passed" in console.file.getvalue()
    registry = default_registry()
    report = build_report(
        _DEMO, "2013", registry=registry, definitions=[registry.counting("in-receipt")], metrics=[]
    )
    published = publish_report(report, DEFAULT_POLICY).with_audit(_Outcome())
    assert published.data["audit"]["cells"] == 3
    from threeml.report.files import write_files

    files = write_files(published, tmp_path)
    assert "passed: every suppressed cell" in files["report.html"].read_text(encoding="utf-8")
    assert "passed: every suppressed cell" in files["results.csv"].read_text(encoding="utf-8")
    fhir = files["measurereport.json"].read_text(encoding="utf-8")
    assert "passed: every suppressed cell" in fhir
