"""The catalogue of malformed and hostile inputs (issue 14), each with its exact answer.

Every case runs through the command line (``threeml.cli.main``, the boundary that turns user
errors into messages) and, where the Python API answers differently, through it too. A case
asserts the exact problem validation reports (kind, file, row, column and message), or the
exact refusal; none may produce "internal error", a traceback, silent loss or a live formula.
The property at the end corrupts a valid extract byte by byte and asks the same of
``validate`` and ``count``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import VALID_CSV
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from threeml import User
from threeml.cli import main
from threeml.data import Dataset, InvalidDataset, TooManySetAside
from threeml.data.plausible import MARGIN, DateWindow
from threeml.errors import DataError
from threeml.records.codes import CONDITIONS
from threeml.records.schema import TABLES
from threeml.settings import SettingError

MakeFolder = Callable[..., Path]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``threeml ARGS``: the exit status, standard output and standard error."""
    status = main([str(a) for a in args])
    captured = capsys.readouterr()
    assert "internal error" not in captured.err
    assert "Traceback" not in captured.err + captured.out
    return status, captured.out, captured.err


def problems(capsys: pytest.CaptureFixture[str], folder: Path) -> tuple[int, list[dict]]:
    """``threeml validate FOLDER --format json``: the exit status and the problems listed."""
    status, out, _ = run(capsys, "validate", folder, "--format", "json")
    return status, json.loads(out)["problems"]


def the_problem(found: list[dict], kind: str) -> tuple[Any, ...]:
    """The one problem of ``kind``, as (file, row, column, message)."""
    matching = [p for p in found if p["kind"] == kind]
    assert len(matching) == 1, found
    p = matching[0]
    return p["file"], p["row"], p["column"], p["message"]


def with_line(table: str, number: int, line: str) -> str:
    """VALID_CSV[table] with line ``number`` (the header is line 1) replaced."""
    lines = VALID_CSV[table].splitlines()
    lines[number - 1] = line
    return "\n".join(lines) + "\n"


def latest() -> str:
    return DateWindow.for_run().latest.isoformat()


DATE_ADVICE = (
    ", which no extract holds: correct the date (left as it is, a typing error such as "
    "9999-12-31 or 0000-01-01 would end every follow-up period there)"
)
CONTROL = (
    "{} holds a control character (a NUL byte, a line break, a tab or an escape sequence); "
    "remove it from the source system or the export"
)
TOO_LONG = (
    "area is longer than 200 characters; an id, area or label is never that long: check "
    "that the file's columns and quotes are as meant"
)
DATE_WORDS = "expected a real calendar date written YYYY-MM-DD (for example 2013-01-31)"
KNOWN = ", ".join(CONDITIONS)

# --- values that parse but cannot be meant (item 3) ------------------------------------------

ROW_CASES = [
    pytest.param(
        {"contacts": VALID_CSV["contacts"] + "U1,E1,9999-12-31,reading\n"},
        "implausible date",
        lambda: (
            "contacts.csv",
            6,
            "date",
            f"date is after {latest()} (the day of the run plus {MARGIN.days} days)" + DATE_ADVICE,
        ),
        id="contact-dated-9999-12-31",
    ),
    pytest.param(
        {"enrolments": with_line("enrolments", 5, "E4,U1,S2,,0000-01-01,2013-09-30,died")},
        "implausible date",
        lambda: (
            "enrolments.csv",
            5,
            "installed_on",
            "installed_on is before 1900-01-01" + DATE_ADVICE,
        ),
        id="installed-on-0000-01-01",
    ),
    pytest.param(
        {"enrolments": with_line("enrolments", 3, "E2,U2,S2,1899-12-31,,,")},
        "implausible date",
        lambda: (
            "enrolments.csv",
            3,
            "referred_on",
            "referred_on is before 1900-01-01" + DATE_ADVICE,
        ),
        id="referred-in-1899",
    ),
    pytest.param(
        {"users": with_line("users", 4, "U3,Corn\x00wall,,,,")},
        "control character",
        lambda: ("users.csv", 4, "area", CONTROL.format("area")),
        id="nul-byte-in-an-area",
    ),
    pytest.param(
        {"users": with_line("users", 4, 'U3,"Corn\nwall",,,,')},
        "control character",
        lambda: ("users.csv", 4, "area", CONTROL.format("area")),
        id="embedded-line-break-in-an-area",
    ),
    pytest.param(
        {"users": with_line("users", 4, "U3,\x1b[31mCornwall,,,,")},
        "control character",
        lambda: ("users.csv", 4, "area", CONTROL.format("area")),
        id="ansi-escape-in-an-area",
    ),
    pytest.param(
        {"users": with_line("users", 4, 'U3,"Corn\twall",,,,')},
        "control character",
        lambda: ("users.csv", 4, "area", CONTROL.format("area")),
        id="tab-in-an-area",
    ),
    pytest.param(
        {"services": with_line("services", 2, "S1\x07,telehealth,health,Kent,Kent NHS,900")},
        "control character",
        lambda: ("services.csv", 2, "service_id", CONTROL.format("service_id")),
        id="bell-in-an-id",
    ),
    pytest.param(
        {"users": with_line("users", 4, "U3," + "x" * 1_000_000 + ",,,,")},
        "text too long",
        lambda: ("users.csv", 4, "area", TOO_LONG),
        id="one-megabyte-area-name",
    ),
    pytest.param(
        {"users": with_line("users", 4, "U3,Cornwall,,,diabetis;copd,")},
        "unknown condition",
        lambda: (
            "users.csv",
            4,
            "conditions",
            "unknown condition code(s): diabetis; "
            "'diabetis': did you mean diabetes?; kept as written, but no standard "
            f"definition counts them (known codes: {KNOWN}; case, spaces and hyphens "
            "are normalised, so COPD reads as copd)",
        ),
        id="misspelt-condition",
    ),
    pytest.param(
        {"enrolments": with_line("enrolments", 3, "E2,U2,S2,2013-02-01,2013-02-05,,moved")},
        "inconsistent end",
        lambda: (
            "enrolments.csv",
            3,
            "end_reason",
            "end_reason is given but ended_on is "
            "empty; the row is kept (an enrolment ends on its ended_on, whatever its "
            "end_reason): fill in both or neither",
        ),
        id="end-reason-without-ended-on",
    ),
    pytest.param(
        {"enrolments": with_line("enrolments", 3, "E2,U2,S2,2013-02-01,2013-02-05,2013-06-30,")},
        "inconsistent end",
        lambda: (
            "enrolments.csv",
            3,
            "end_reason",
            "ended_on is given but end_reason is "
            "empty; the row is kept (an enrolment ends on its ended_on, whatever its "
            "end_reason): fill in both or neither",
        ),
        id="ended-on-without-end-reason",
    ),
    pytest.param(
        {"contacts": with_line("contacts", 2, "U1,E1,11/01/2013,reading")},
        "not a date",
        lambda: ("contacts.csv", 2, "date", DATE_WORDS),
        id="day-month-year-date",
    ),
    pytest.param(
        {"contacts": with_line("contacts", 2, "U1,E1,2013-02-30,reading")},
        "not a date",
        lambda: ("contacts.csv", 2, "date", DATE_WORDS),
        id="impossible-calendar-date",
    ),
    pytest.param(
        {"contacts": with_line("contacts", 2, "U1,E1,2013-01-11T10:00:00+01:00,reading")},
        "not a date",
        lambda: ("contacts.csv", 2, "date", DATE_WORDS),
        id="csv-timestamp-with-a-time-zone",
    ),
    pytest.param(
        {"users": with_line("users", 2, "U1,Kent,1940,F,copd,high")},
        "not a number",
        lambda: ("users.csv", 2, "risk_score", "expected a number such as 0.25"),
        id="risk-score-not-a-number",
    ),
    pytest.param(
        {"users": with_line("users", 2, "U1,Kent,1940,F,copd,1.5")},
        "out of range",
        lambda: ("users.csv", 2, "risk_score", "expected 0 to 1"),
        id="risk-score-out-of-range",
    ),
    pytest.param(
        {"users": with_line("users", 2, "U1,Kent,1940.5,F,copd,0.2")},
        "not an integer",
        lambda: ("users.csv", 2, "birth_year", "expected a whole number"),
        id="birth-year-not-whole",
    ),
    pytest.param(
        {"services": with_line("services", 2, "S1,Telehealth,health,Kent,Kent NHS,900")},
        "unknown code",
        lambda: (
            "services.csv",
            2,
            "kind",
            "differs only in case from 'telehealth': codes are "
            "lower case (allowed: telehealth, telecare, telecoaching, telemedicine, "
            "self_care_app)",
        ),
        id="service-kind-in-another-case",
    ),
    pytest.param(
        {"contacts": with_line("contacts", 2, "U1,E1,2013-01-11,[/]")},
        "unknown code",
        lambda: (
            "contacts.csv",
            2,
            "kind",
            "unknown code; expected one of reading, alert, "
            "alarm_call, test_call, heartbeat, coaching_session, video_consultation",
        ),
        id="contact-kind-of-terminal-markup",
    ),
    pytest.param(
        {"contacts": with_line("contacts", 2, "U9,E1,2013-01-11,reading")},
        "inconsistent reference",
        lambda: (
            "contacts.csv",
            2,
            "user_id",
            "a contact's enrolment must belong to the "
            "same user: enrolment_id E1 belongs to user_id U1",
        ),
        id="contact-on-another-users-enrolment",
    ),
    pytest.param(
        {"enrolments": with_line("enrolments", 4, "E3,U7,S3,2013-03-01,,,")},
        "unknown reference",
        lambda: (
            "enrolments.csv",
            4,
            "user_id",
            "no users row has this user_id; add it to users or correct the id",
        ),
        id="enrolment-of-an-unknown-user",
    ),
    pytest.param(
        {"users": with_line("users", 3, "U1,Kent,1950,M,,0.7")},
        "duplicate id",
        lambda: ("users.csv", 3, "user_id", "user_id already used on row 2; ids must be unique"),
        id="duplicate-user-id",
    ),
    pytest.param(
        {"enrolments": with_line("enrolments", 3, "E2,U2,S2,,2013-02-05,2013-01-30,moved")},
        "dates out of order",
        lambda: ("enrolments.csv", 3, "ended_on", "ended_on is before installed_on (2013-02-05)"),
        id="ended-before-installed",
    ),
    pytest.param(
        {"outcomes": with_line("outcomes", 2, "U1,2013-08-01,emergency_admission,-3,1550")},
        "out of range",
        lambda: (
            "outcomes.csv",
            2,
            "value",
            "a length of stay cannot be "
            "negative: expected at least 0 for care_home_admission, elective_admission, "
            "emergency_admission",
        ),
        id="negative-length-of-stay",
    ),
    pytest.param(
        {"users": with_line("users", 3, "U2,,1950,M,,0.7")},
        "missing value",
        lambda: ("users.csv", 3, "area", "area is required and empty"),
        id="required-value-missing",
    ),
]


@pytest.mark.parametrize(("tables", "kind", "expected"), ROW_CASES)
def test_a_row_level_problem_is_named_exactly(
    tables: dict[str, str],
    kind: str,
    expected: Callable[[], tuple[Any, ...]],
    make_folder: MakeFolder,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = make_folder(**tables)
    status, found = problems(capsys, folder)
    assert the_problem(found, kind) == expected()
    errors = [p for p in found if p["severity"] == "error"]
    assert status == (1 if errors else 0)
    if errors:  # strict loading refuses, naming the same problem first
        with pytest.raises(InvalidDataset, match="Or load it in lenient mode"):
            Dataset.from_folder(folder)


def test_an_implausible_date_never_moves_the_extract_date(make_folder: MakeFolder) -> None:
    folder = make_folder(contacts=VALID_CSV["contacts"] + "U1,E1,9999-12-31,reading\n")
    dataset = Dataset.from_folder(folder, mode="lenient", max_set_aside=0.5)
    assert dataset.extract_date == date(2013, 10, 2)  # the death in outcomes, as without it
    assert dataset.report.rows_set_aside("contacts") == 1


def test_a_date_after_a_given_extract_date_is_a_warning(
    make_folder: MakeFolder, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = Dataset.from_folder(make_folder(), extract_date="2013-06-30")
    late = [p for p in dataset.report.examples if p.kind.value == "after the extract date"]
    assert [(p.file, p.row, p.column) for p in late] == [
        ("enrolments.csv", 5, "ended_on"),
        ("outcomes.csv", 2, "date"),
        ("outcomes.csv", 4, "date"),
    ]
    assert late[1].message == (
        "date is after 2013-07-31, more than 31 days after the extract date given "
        "(2013-06-30); the row is kept but lies outside every period: check the extract date"
    )
    assert dataset.report.ok


def test_installed_on_0000_does_not_crash_explain_in_lenient_mode(
    make_folder: MakeFolder, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = make_folder(enrolments=with_line("enrolments", 2, "E1,U1,S1,,0000-01-01,,"))
    args = ["explain", "telehealth", "U1", "--data", folder, "--period", "2013", "--lenient"]
    status, out, err = run(capsys, *args, "--max-set-aside", "50%", "--allow-set-aside")
    assert status == 0
    assert "U1" in out
    assert "enrolments 2 (implausible date 1, refers to a row set aside 1)" not in err
    assert "enrolments 1 (implausible date 1)" in err


def test_condition_codes_are_normalised_and_counted(
    make_folder: MakeFolder, capsys: pytest.CaptureFixture[str]
) -> None:
    # COPD and "Heart failure" are read as copd and heart_failure: no warning, and counted.
    written = with_line("users", 2, "U1,Kent,1940,F,COPD;Heart failure,0.2")
    status, found = problems(capsys, make_folder(users=written))
    assert (status, found) == (0, [])
    dataset = Dataset.from_folder(make_folder(users=written))
    rows = dataset.table("users").to_pyarrow().to_pylist()
    assert next(r for r in rows if r["user_id"] == "U1")["conditions"] == ["copd", "heart_failure"]
    assert User("U1", "Kent", conditions="COPD; heart-failure").conditions == (
        "copd",
        "heart_failure",
    )


def test_row_numbers_count_physical_lines_after_blank_lines(
    make_folder: MakeFolder, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = VALID_CSV["contacts"].splitlines()
    text = "\n".join([*lines[:3], "", "", "", *lines[3:], "", "U1,E1,31/01/2013,reading"]) + "\n"
    # The bad date is on line 10: header, two records, three blank lines, two records, a blank.
    status, found = problems(capsys, make_folder(contacts=text))
    assert status == 1
    assert the_problem(found, "not a date") == ("contacts.csv", 10, "date", DATE_WORDS)
    crlf = text.replace("\n", "\r\n")
    status, found = problems(capsys, make_folder(contacts=crlf))
    assert the_problem(found, "not a date") == ("contacts.csv", 10, "date", DATE_WORDS)


def test_a_line_ending_in_a_carriage_return_alone_is_named(
    make_folder: MakeFolder, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = VALID_CSV["contacts"].splitlines()
    text = "\n".join([*lines[:3], "\r", *lines[3:]]) + "\n"
    status, found = problems(capsys, make_folder(contacts=text))
    assert status == 1
    assert the_problem(found, "unreadable file") == (
        "contacts.csv",
        None,
        None,
        "cannot read contacts.csv: the CSV reader cannot follow its layout: lines end in a mix "
        "of LF and a carriage return alone, or quotes are not written as in standard CSV; save "
        "it again as CSV UTF-8 with one kind of line ending",
    )


# --- the file itself (items 3, 4 and 6) ------------------------------------------------------

FILE_CASES = [
    pytest.param(
        {
            "enrolments": VALID_CSV["enrolments"]
            .replace(",installed_on", "")
            .replace(",2013-01-10,", ",")
            .replace(",2013-02-05,", ",")
            .replace(",,,", ",,")
            .replace(",2013-04-01,", ",")
        },
        (
            "enrolments.csv",
            1,
            "installed_on",
            "column installed_on is missing (its values may "
            "be empty, but the column must be there: leaving it out would silently read every "
            "value as empty); the header is enrolment_id, user_id, service_id, referred_on, "
            "ended_on, end_reason",
        ),
        id="installed-on-column-missing",
    ),
    pytest.param(
        {"users": "user_id,area\nU1,Kent\nU2,Kent\nU3,Cornwall\n"},
        (
            "users.csv",
            1,
            "conditions",
            "column conditions is missing (its values may be "
            "empty, but the column must be there: leaving it out would silently read every value "
            "as empty); the header is user_id, area",
        ),
        id="conditions-column-missing",
    ),
    pytest.param(
        {"users": "User_ID,area,conditions\nU1,Kent,\n"},
        (
            "users.csv",
            1,
            "user_id",
            "required column user_id is missing; the file has "
            "'User_ID', which differs only in case",
        ),
        id="required-column-in-another-case",
    ),
    pytest.param(
        {"users": "user_id,area,area,conditions\nU1,Kent,Kent,\n"},
        ("users.csv", 1, "area", "column area appears more than once"),
        id="duplicate-column",
    ),
    pytest.param(
        {"users": ""},
        (
            "users.csv",
            1,
            None,
            "users.csv is empty; it needs at least a header row: user_id, "
            "area, birth_year, sex, conditions, risk_score",
        ),
        id="empty-file",
    ),
]


@pytest.mark.parametrize(("tables", "expected"), FILE_CASES)
def test_a_file_level_problem_refuses_even_lenient_mode(
    tables: dict[str, str],
    expected: tuple[Any, ...],
    make_folder: MakeFolder,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = make_folder(**tables)
    status, found = problems(capsys, folder)
    assert status == 1
    first = next(p for p in found if p["severity"] == "error")
    assert (first["file"], first["row"], first["column"], first["message"]) == expected
    status, _, err = run(
        capsys, "count", "telehealth", "--data", folder, "--period", "2013", "--lenient"
    )
    assert status == 2
    assert "Lenient mode cannot help with" in err
    assert "Or load it in lenient mode" not in err


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(
            "user_id,area\n".encode("utf-16"),
            "is encoded as UTF-16; threeml reads CSV files in UTF-8: save it again as UTF-8 "
            "(e.g. 'CSV UTF-8' in a spreadsheet, or iconv -f UTF-16 -t UTF-8)",
            id="utf-16",
        ),
        pytest.param(
            "user_id,area\n".encode("utf-32"),
            "is encoded as UTF-32; threeml reads CSV files in UTF-8",
            id="utf-32",
        ),
        pytest.param(
            VALID_CSV["users"].replace("\n", "\r").encode(),
            "has carriage-return-only line endings (old Mac style); threeml reads lines ending "
            "in LF or CR LF: save it again with Windows or Unix line endings (e.g. tr '\\r' '\\n')",
            id="cr-only-line-endings",
        ),
        pytest.param(
            b"user_id," + b"x" * (1 << 21) + b"\n",
            "is longer than 1048576 bytes, which is no header threeml can read: check that the "
            "file is a CSV file with one header row",
            id="two-megabyte-header",
        ),
        pytest.param(
            # The quote opened in the header runs to the end of the file: a CSV reader takes
            # the data line as part of the header, and the row would vanish (Hypothesis found
            # it in tests/test_roundtrip.py).
            b'user_id,area,birth_year,sex,conditions,"risk_score\nU1,Kent,1940,F,,0.2\n',
            "cannot be read as CSV (unexpected end of data); a stray carriage return or quote "
            "sits inside it",
            id="header-quote-never-closed",
        ),
    ],
)
def test_an_unreadable_text_form_is_named(
    data: bytes, expected: str, make_folder: MakeFolder, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = make_folder(users=data)
    status, out, err = run(capsys, "validate", folder)
    assert (status, out) == (2, "")
    assert err.startswith("error: ")
    assert str(folder / "users.csv") in err
    assert expected in err
    with pytest.raises(DataError, match=r"users\.csv"):
        Dataset.from_folder(folder)


def test_a_missing_table_is_named_and_lenient_mode_not_suggested(
    make_folder: MakeFolder, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = make_folder(contacts=None)
    status, found = problems(capsys, folder)
    assert status == 1
    assert the_problem(found, "missing table")[3] == (
        f"required table contacts is missing: add contacts.csv or contacts.parquet to {folder}"
    )
    status, _, err = run(capsys, "count", "telehealth", "--data", folder, "--period", "2013")
    assert status == 2
    assert err.endswith("Lenient mode cannot help with missing table: fix the files first.\n")


def test_two_files_for_one_table(make_folder: MakeFolder, capsys: pytest.CaptureFixture[str]):
    folder = make_folder()
    (folder / "users.csv.gz").write_bytes(b"")
    _, found = problems(capsys, folder)
    assert the_problem(found, "ambiguous table")[3] == (
        "users.csv and users.csv.gz both hold table users; keep only one of them"
    )


def test_an_unknown_file_is_a_warning_with_a_hint(
    make_folder: MakeFolder, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = make_folder()
    (folder / "user.csv").write_text("x\n")
    status, found = problems(capsys, folder)
    assert status == 0
    assert the_problem(found, "unknown file")[3] == (
        "user.csv is not a threeml table and was ignored; did you mean users.csv? (tables are "
        "users, services, enrolments, contacts, outcomes, allocations, targets, populations)"
    )


def test_malformed_lines_and_bad_bytes_are_named_by_line(
    make_folder: MakeFolder, capsys: pytest.CaptureFixture[str]
) -> None:
    text = VALID_CSV["contacts"] + "U1,E1,2013-01-13,reading,extra\n" + "U1,E1,2013-01-14,re\xff\n"
    folder = make_folder(contacts=text.encode("utf-8").replace(b"\xc3\xbf", b"\xff"))
    status, found = problems(capsys, folder)
    assert status == 1
    rows = sorted(p["row"] for p in found if p["kind"] == "malformed row")
    assert rows == [6, 7]
    assert all(
        "check quotes, separators and that the file is saved as UTF-8" in p["message"]
        for p in found
        if p["kind"] == "malformed row"
    )


def test_an_unterminated_quote_is_named(
    make_folder: MakeFolder, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = make_folder(contacts=VALID_CSV["contacts"] + 'U1,E1,"2013-01-13,reading\n')
    status, found = problems(capsys, folder)
    assert status == 1
    assert [p["row"] for p in found if p["kind"] == "malformed row"] == [6]


def test_a_symlink_out_of_the_folder_is_refused_unread(
    make_folder: MakeFolder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = make_folder(outcomes=None)
    secret = tmp_path / "passwd"
    secret.write_text("root:SECRET\n")
    (folder / "outcomes.csv").symlink_to(secret)
    status, _, err = run(capsys, "count", "telehealth", "--data", folder, "--period", "2013")
    assert status == 2
    assert err == (
        f"error: outcomes.csv in {folder} is a symbolic link to a file outside the extract "
        "folder, which threeml does not follow: copy the file into the folder instead of "
        "linking it (from Python, Dataset.from_folder(..., follow_symlinks=True) follows such "
        "links)\n"
    )


def test_parquet_timestamps_with_a_time_zone_are_refused(
    make_folder: MakeFolder, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = make_folder(contacts=None)
    zoned = pa.array([1_357_945_200_000_000], pa.timestamp("us", tz="Europe/London"))
    table = pa.table({"user_id": ["U1"], "enrolment_id": ["E1"], "date": zoned, "kind": ["alert"]})
    pq.write_table(table, folder / "contacts.parquet")
    status, found = problems(capsys, folder)
    assert status == 1
    assert the_problem(found, "time zone") == (
        "contacts.parquet",
        None,
        "date",
        "column date holds timestamps with time zone Europe/London, which name an instant, "
        "not a day; threeml does not guess the day: write the column as dates (e.g. in "
        "pandas, .dt.tz_convert('Europe/London').dt.date, or in SQL, CAST(... AT TIME ZONE "
        "'Europe/London' AS DATE))",
    )
    with pytest.raises(InvalidDataset, match="Lenient mode cannot help with time zone"):
        Dataset.from_folder(folder, mode="lenient")
    arrow = {name: pq.read_table(folder / "contacts.parquet") for name in ["contacts"]}
    with pytest.raises(InvalidDataset, match="time zone"):
        Dataset.from_arrow(arrow)


def test_a_damaged_parquet_file_is_unreadable_not_internal(
    make_folder: MakeFolder, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = make_folder(outcomes=None)
    (folder / "outcomes.parquet").write_bytes(b"PAR1 this is not parquet PAR1")
    status, found = problems(capsys, folder)
    assert status == 1
    file, row, column, message = the_problem(found, "unreadable file")
    assert (file, row, column) == ("outcomes.parquet", None, None)
    assert message.startswith("cannot read outcomes.parquet: ")


# --- lenient mode (item 5) -------------------------------------------------------------------


def _day_month_year(folder: Path) -> None:
    path = folder / "contacts.csv"
    lines = path.read_text().splitlines()
    swapped = [lines[0]] + [
        ",".join(
            f"{c[8:10]}/{c[5:7]}/{c[:4]}" if i == 2 else c for i, c in enumerate(line.split(","))
        )
        for line in lines[1:]
    ]
    path.write_text("\n".join(swapped) + "\n")


def test_lenient_mode_refuses_to_set_aside_a_whole_table(
    make_folder: MakeFolder, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = make_folder()
    _day_month_year(folder)
    args = ("count", "telehealth", "--data", folder, "--period", "2013", "--lenient")
    status, out, err = run(capsys, *args)
    assert (status, out) == (2, "")
    assert err == (
        "error: lenient mode would set aside 4 of 4 rows of contacts (100.0%; 4 not a date), "
        "more than the 1.0% it allows: that is no longer a few bad rows but a problem with the "
        f"whole extract (dates written DD/MM/YYYY?). Run `threeml validate {folder}`, fix the "
        "export, or allow more with --max-set-aside (Python: max_set_aside=)\n"
    )
    with pytest.raises(TooManySetAside) as caught:
        Dataset.from_folder(folder, mode="lenient")
    assert (caught.value.table, caught.value.share, caught.value.limit) == ("contacts", 1.0, 0.01)


def test_lenient_mode_exits_1_when_rows_were_set_aside_and_every_format_says_so(
    make_folder: MakeFolder, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = make_folder(contacts=with_line("contacts", 3, "U1,E1,12/01/2013,reading"))
    args = (
        "count",
        "telehealth",
        "--data",
        folder,
        "--period",
        "2013",
        "--lenient",
        "--max-set-aside",
        "25%",
    )
    status, out, err = run(capsys, *args, "--format", "json")
    assert status == 1
    assert json.loads(out)["provenance"]["set_aside"] == [
        {"table": "contacts", "reason": "not a date", "rows": 1}
    ]
    assert err == (
        "note: lenient mode set rows aside: contacts 1 (not a date 1); see `threeml validate "
        f"{folder}` (exit status 1; pass --allow-set-aside to exit with 0)\n"
    )
    status, out, _ = run(capsys, *args, "--format", "csv", "--allow-set-aside")
    assert status == 0
    rows = list(csv.reader(io.StringIO(out)))
    cells = [c for c in next(r for r in rows if "set aside contacts" in r) if c]
    assert cells[-2:] == ["set aside contacts", "1 rows: not a date"]
    status, out, _ = run(capsys, *args, "--allow-set-aside")
    assert status == 0
    assert "set aside contacts: 1 rows: not a date" in out


@pytest.mark.parametrize(
    "command",
    [
        ("compare", "telehealth", "census"),
        ("metric", "ae-attendances-rate"),
        ("explain", "telehealth", "U1"),
    ],
    ids=["compare", "metric", "explain"],
)
def test_every_command_reports_rows_set_aside_and_exits_1(
    command: tuple[str, ...], make_folder: MakeFolder, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = make_folder(contacts=with_line("contacts", 3, "U1,E1,12/01/2013,reading"))
    args = (*command, "--data", folder, "--period", "2013", "--lenient", "--max-set-aside", "25%")
    json_form = () if command[0] == "explain" else ("--format", "json")
    status, out, err = run(capsys, *args, *json_form)
    assert status == 1
    assert "note: lenient mode set rows aside: contacts 1 (not a date 1)" in err
    if json_form:
        assert json.loads(out)["provenance"]["set_aside"] == [
            {"table": "contacts", "reason": "not a date", "rows": 1}
        ]
    assert run(capsys, *args, *json_form, "--allow-set-aside")[0] == 0


@pytest.mark.parametrize("share", ["abc", "150%", "-1"])
def test_a_bad_max_set_aside_is_named(
    share: str, make_folder: MakeFolder, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("count", "telehealth", "--data", make_folder(), "--period", "2013", "--lenient")
    status, _, err = run(capsys, *args, "--max-set-aside", share)
    assert status == 2
    assert f"{share!r} is not a share of rows: give a percentage such as 5%" in err


# --- environment variables (item 4) ----------------------------------------------------------


@pytest.mark.parametrize("variable", ["THREEML_NO_PLUGINS", "THREEML_DEBUG"])
def test_a_bad_on_off_variable_is_named(
    variable: str,
    make_folder: MakeFolder,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from threeml.plugins.registry import reset_default_registry

    monkeypatch.setenv(variable, "maybe")
    reset_default_registry()
    try:
        status, _, err = run(
            capsys, "count", "telehealth", "--data", make_folder(), "--period", "2013"
        )
    finally:
        monkeypatch.delenv(variable)
        reset_default_registry()
    assert status == 2
    assert err == (
        f"error: {variable}='maybe' is neither on nor off: give 1, true, yes or on to switch "
        "it on, or 0, false, no, off (or leave it unset) to switch it off\n"
    )


def test_a_bad_hypothesis_scale_is_named() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import threeml.testing.strategies"],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join(sys.path),
            "THREEML_HYPOTHESIS_SCALE": "lots",
        },
        check=False,
    )
    assert done.returncode == 1
    assert (
        "threeml.settings.SettingError: THREEML_HYPOTHESIS_SCALE='lots' is not a positive "
        "number: give one such as THREEML_HYPOTHESIS_SCALE=10 (leave it unset for 1)"
    ) in done.stderr


def test_a_cache_that_is_a_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from threeml.data.demo import demo_extract

    (tmp_path / "cache").write_text("")
    monkeypatch.setenv("THREEML_CACHE", str(tmp_path / "cache"))
    with pytest.raises(SettingError, match=r"THREEML_CACHE='.*cache' is not a folder"):
        demo_extract(users=10)


def test_a_blank_cell_key_seed_is_named(
    make_folder: MakeFolder, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("THREEML_CELL_KEY_SEED", "   ")
    args = ("count", "telehealth", "--data", make_folder(), "--period", "2013")
    status, _, err = run(capsys, *args, "--disclosure", "cell-key")
    assert status == 2
    assert err.startswith("error: THREEML_CELL_KEY_SEED is set but holds only white space")


# --- outputs (items 2 and 6) -----------------------------------------------------------------


def test_synth_never_writes_through_a_symlink(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    out.mkdir()
    target = tmp_path / "precious.txt"
    target.write_text("keep me\n")
    (out / "users.csv").symlink_to(target)
    status, _, _ = run(capsys, "synth", "--users", "5", "--out", out, "--format", "csv")
    assert status == 0
    assert target.read_text() == "keep me\n"
    assert not (out / "users.csv").is_symlink()
    assert (out / "users.csv").read_text().startswith("user_id,area")


def test_the_demo_marker_never_writes_through_a_symlink(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from threeml._version import __version__
    from threeml.data.demo import DEMO_REVISION, demo_extract

    monkeypatch.setenv("THREEML_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "cache" / f"demo-{__version__}-r{DEMO_REVISION}-10-1"
    folder.mkdir(parents=True)
    target = tmp_path / "precious.txt"
    target.write_text("keep me\n")
    (folder / ".complete").symlink_to(target)
    assert demo_extract(users=10, seed=1) == folder
    assert target.read_text() == "keep me\n"
    assert not (folder / ".complete").is_symlink()


def test_definitions_show_escapes_control_characters_from_plugins(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import threeml.cli.plugins as plugin_cli
    from threeml.definitions import CountingDefinition
    from threeml.definitions.criteria import EnrolmentOverlaps
    from threeml.testing import isolated_registry

    hostile = CountingDefinition(
        name="hostile",
        version="1",
        title="Hostile \x1b[2J title",
        description="Clears the screen \x1b[2J and rings \x07 [bold]loud[/bold].",
        criteria=(EnrolmentOverlaps(service_kinds={"telecare"}),),
    )
    registry = isolated_registry(definitions=[hostile])
    monkeypatch.setattr(plugin_cli, "default_registry", lambda: registry)
    status, out, _ = run(capsys, "definitions", "hostile")
    assert status == 0
    assert "\x1b" not in out and "\x07" not in out
    assert "Clears the screen \\x1b[2J and rings \\x07 [bold]loud[/bold]." in out


def test_a_definition_file_naming_code_is_refused(
    make_folder: MakeFolder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = tmp_path / "ran.txt"
    (tmp_path / "evil.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    toml = tmp_path / "d.toml"
    toml.write_text(
        'name = "evil"\ntitle = "x"\n[[criteria]]\nkind = "query"\nquery = "evil:run"\n'
    )
    monkeypatch_path = [str(tmp_path), *sys.path]
    sys.path[:] = monkeypatch_path
    try:
        args = ("count", "--definition", toml, "--data", make_folder(), "--period", "2013")
        status, _, err = run(capsys, *args)
    finally:
        sys.path.remove(str(tmp_path))
    assert status == 2
    assert not marker.exists()
    assert err.startswith("error: ")


# --- no internal error, whatever the bytes (item 8) ------------------------------------------

_TABLES = ["users", "services", "enrolments", "contacts", "outcomes"]


@st.composite
def corrupted(draw: st.DrawFn) -> tuple[str, bytes]:
    """A table of the valid extract with its bytes flipped, cut, inserted or deleted."""
    name = draw(st.sampled_from(_TABLES))
    data = bytearray(VALID_CSV[name].encode())
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["flip", "truncate", "insert", "delete"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if action == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif action == "truncate":
            del data[at:]
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif action == "delete":
            del data[at : at + draw(st.integers(1, 16))]
    return name, bytes(data)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(corruption=corrupted())
def test_byte_corruption_never_gives_an_internal_error(
    corruption: tuple[str, bytes], make_folder: MakeFolder, capsys: pytest.CaptureFixture[str]
) -> None:
    name, data = corruption
    folder = make_folder(**{name: data})
    status, _, err = run(capsys, "validate", folder)
    assert status in (0, 1, 2)
    assert status == 0 or err or status == 1
    status, out, err = run(capsys, "count", "telehealth", "--data", folder, "--period", "2013")
    assert status in (0, 2)
    assert (status == 0) == bool(out)
    assert status == 0 or err.startswith("error: ")


# --- the how-to lists every check with its message -------------------------------------------

HOWTO = Path(__file__).resolve().parents[1] / "docs" / "howto" / "validate.rst"


def documented_messages() -> list[re.Pattern[str]]:
    """The messages of the how-to's table of checks, as patterns (``…`` matches anything)."""
    text = HOWTO.read_text(encoding="utf-8")
    section = text.split("Every check and its message\n", 1)[1].split("\n\n\n", 1)[0]
    cells: list[str] = []
    for line in section.splitlines():
        if line.startswith(("   * - ", "     - ")):
            cells.append(line[7:].strip())
        elif line.startswith("       ") and cells:
            cells[-1] += " " + line.strip()
    messages = cells[5::3]  # after the header row: check, kind, message
    assert len(messages) >= 30
    patterns = []
    for message in messages:
        main_text = re.sub(r" \((or|in Parquet|for a CSV file)[^)]*\)$", "", message)
        parts = [re.escape(_any_column(part)) for part in main_text.split("…")]
        patterns.append(re.compile(".*".join(parts)))
    return patterns


_COLUMNS = re.compile(
    r"\b(" + "|".join(sorted({c.name for t in TABLES.values() for c in t.columns})) + r")\b"
)


def _any_column(text: str) -> str:
    """``text`` with every column name written ``COLUMN``: the table shows one column's case."""
    return _COLUMNS.sub("COLUMN", text)


def _messages_of_the_cases() -> list[str]:
    found = [case.values[2]()[3] for case in ROW_CASES]
    found += [case.values[1][3] for case in FILE_CASES]
    return found


@pytest.mark.parametrize("message", _messages_of_the_cases())
def test_the_howto_lists_every_check_with_its_message(message: str) -> None:
    patterns = documented_messages()
    assert any(p.fullmatch(_any_column(message)) for p in patterns), (
        f"not in the table of docs/howto/validate.rst: {message}"
    )
