"""``threeml validate``: exit status, the printed report and its JSON form."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import VALID_CSV

from threeml.cli import main

MakeFolder = Callable[..., Path]


def _bad_users() -> str:
    return VALID_CSV["users"].replace("U2,Kent,1950,M,,0.7", "U2,Kent,1950,M,,high")


def test_clean_folder_exits_0(make_folder: MakeFolder, capsys: pytest.CaptureFixture[str]) -> None:
    folder = make_folder()
    assert main(["validate", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "valid: 0 error(s), 0 warning(s)" in out
    assert "users 3" in out


def test_warnings_alone_exit_0(make_folder: MakeFolder, capsys: pytest.CaptureFixture[str]) -> None:
    folder = make_folder()
    (folder / "notes.csv").write_text("a\n1\n")
    assert main(["validate", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "notes.csv" in out
    assert "1 warning(s)" in out


def test_errors_exit_1_and_name_file_row_column_value(
    make_folder: MakeFolder, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = make_folder(users=_bad_users())
    assert main(["validate", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "users.csv, row 3, column risk_score" in out
    assert "'high'" in out
    assert "not valid: 1 error(s)" in out


def test_max_per_kind_limits_the_listing_not_the_totals(
    make_folder: MakeFolder, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = "".join(f"U1,E1,2013-01-{day:02d},Reading\n" for day in range(1, 11))
    folder = make_folder(contacts=VALID_CSV["contacts"] + bad)
    assert main(["validate", str(folder), "--max-per-kind", "2"]) == 1
    out = capsys.readouterr().out
    assert out.count("contacts.csv, row") == 2
    assert "10 error(s)" in out


def test_missing_folder_exits_2_with_one_line_and_no_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere"
    assert main(["validate", str(missing)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert str(missing) in lines[0]
    assert "Traceback" not in captured.err


def test_a_file_instead_of_a_folder_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "users.csv"
    file.write_text(VALID_CSV["users"])
    assert main(["validate", str(file)]) == 2
    err = capsys.readouterr().err
    assert "not a folder" in err
    assert "Traceback" not in err


def test_json_for_a_clean_folder(
    make_folder: MakeFolder, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = make_folder()
    assert main(["validate", str(folder), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {
        "source",
        "ok",
        "errors",
        "warnings",
        "rows",
        "summary",
        "problems",
        "set_aside",
    }
    assert data["source"] == str(folder)
    assert data["ok"] is True
    assert (data["errors"], data["warnings"]) == (0, 0)
    assert data["rows"]["contacts"] == 4
    assert data["summary"] == data["problems"] == data["set_aside"] == []


def test_json_for_a_folder_with_errors(
    make_folder: MakeFolder, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = make_folder(users=_bad_users())
    assert main(["validate", str(folder), "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False
    assert data["errors"] == 1
    assert data["summary"] == [
        {"table": "users", "kind": "not a number", "severity": "error", "count": 1}
    ]
    assert data["problems"] == [
        {
            "table": "users",
            "file": "users.csv",
            "row": 3,
            "column": "risk_score",
            "value": "high",
            "kind": "not a number",
            "severity": "error",
            "message": "expected a number such as 0.25",
        }
    ]
    assert data["set_aside"] == []


def test_json_in_lenient_mode_lists_rows_set_aside(
    make_folder: MakeFolder, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = make_folder(users=_bad_users())
    assert main(["validate", str(folder), "--format", "json", "--mode", "lenient"]) == 1
    data = json.loads(capsys.readouterr().out)
    aside = {(item["table"], item["kind"]): item["rows"] for item in data["set_aside"]}
    assert aside[("users", "not a number")] == 1
    # U2's enrolment, contact, outcome and allocation go with it.
    assert aside[("enrolments", "refers to a row set aside")] == 1
    assert aside[("contacts", "refers to a row set aside")] == 1


def test_json_for_a_missing_required_table(
    make_folder: MakeFolder, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = make_folder(enrolments=None)
    assert main(["validate", str(folder), "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert {"table": "enrolments", "kind": "missing table", "severity": "error", "count": 1} in (
        data["summary"]
    )


def test_unknown_format_is_a_usage_error(
    make_folder: MakeFolder, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(make_folder()), "--format", "xml"]) == 2
    assert "xml" in capsys.readouterr().err
