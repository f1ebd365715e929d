"""Loading extracts: every kind of bad input is named by file, row, column and value.

Row numbers are those a person sees in the file: in a CSV file the header is row 1 and
the first record row 2; in a Parquet file the first record is row 1.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb
import ibis
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import VALID_CSV, VALID_LATEST

from threeml import Contact, Enrolment, Outcome, Service, User
from threeml.cli import main
from threeml.data import (
    Dataset,
    InvalidDataset,
    Problem,
    ProblemKind,
    Severity,
    ValidationReport,
    validate_folder,
)
from threeml.data.dataset import EXAMPLES_PER_KIND
from threeml.errors import DataError
from threeml.records.schema import TABLES

MakeFolder = Callable[..., Path]


def the_problem(report: ValidationReport, kind: ProblemKind, table: str | None = None) -> Problem:
    """The one example of ``kind`` (in ``table``); fails when there is none or several."""
    found = [p for p in report.examples if p.kind is kind and (table is None or p.table == table)]
    assert len(found) == 1, f"expected one {kind.value} problem, got {found} in {report.examples}"
    return found[0]


def kinds(report: ValidationReport) -> dict[tuple[str, str], int]:
    return {(table, kind.value): n for (table, kind), n in report.counts.items()}


def rows_of(dataset: Dataset, name: str) -> list[dict]:
    return dataset.table(name).to_pyarrow().to_pylist()


def replace_line(table: str, number: int, line: str) -> str:
    """VALID_CSV[table] with line ``number`` (the header is line 1) replaced."""
    lines = VALID_CSV[table].splitlines()
    lines[number - 1] = line
    return "\n".join(lines) + "\n"


def append_lines(table: str, *lines: str) -> str:
    return VALID_CSV[table] + "".join(line + "\n" for line in lines)


# --- the valid extract ------------------------------------------------------------------------


def test_valid_folder_loads_with_exact_rows(make_folder: MakeFolder) -> None:
    dataset = Dataset.from_folder(make_folder())
    report = dataset.report
    assert report.ok
    assert (report.errors, report.warnings) == (0, 0)
    assert report.examples == ()
    expected = {name: text.count("\n") - 1 for name, text in VALID_CSV.items()}
    assert dict(report.rows) == expected
    assert dataset.count_rows() == expected
    users = {row["user_id"]: row for row in rows_of(dataset, "users")}
    assert users["U1"] == {
        "user_id": "U1",
        "area": "Kent",
        "birth_year": 1940,
        "sex": "F",
        "conditions": ["copd", "diabetes"],
        "risk_score": 0.2,
    }
    assert users["U3"]["birth_year"] is None
    assert users["U3"]["risk_score"] is None
    assert users["U2"]["conditions"] == []
    enrolments = {row["enrolment_id"]: row for row in rows_of(dataset, "enrolments")}
    assert enrolments["E3"]["installed_on"] is None
    assert enrolments["E2"]["ended_on"] == date(2013, 6, 30)
    assert enrolments["E4"]["referred_on"] is None


def test_tables_have_exactly_the_schema_columns_and_types(make_folder: MakeFolder) -> None:
    dataset = Dataset.from_folder(make_folder())
    for name, spec in TABLES.items():
        arrow = dataset.table(name).to_pyarrow()
        assert arrow.schema.names == list(spec.column_names)
        for col in spec.columns:
            assert arrow.schema.field(col.name).type == col.arrow_type, (name, col.name)


# --- bad input, one test each -------------------------------------------------------------------


def test_missing_required_column(make_folder: MakeFolder) -> None:
    text = "user_id,birth_year,sex,conditions,risk_score\nU1,1940,F,,0.2\nU2,1950,M,,\nU3,,,,\n"
    report = validate_folder(make_folder(users=text))
    assert not report.ok
    problem = the_problem(report, ProblemKind.MISSING_COLUMN)
    assert (problem.file, problem.row, problem.column) == ("users.csv", 1, "area")
    assert "user_id, birth_year, sex, conditions, risk_score" in problem.message
    with pytest.raises(InvalidDataset, match="missing column"):
        Dataset.from_folder(make_folder(users=text))


def test_missing_required_column_written_in_another_case(make_folder: MakeFolder) -> None:
    text = VALID_CSV["users"].replace("user_id,area,", "user_id,Area,", 1)
    problem = the_problem(validate_folder(make_folder(users=text)), ProblemKind.MISSING_COLUMN)
    assert problem.column == "area"
    assert "'Area'" in problem.message and "case" in problem.message


def test_missing_required_column_stops_even_lenient_loading(make_folder: MakeFolder) -> None:
    text = "user_id,birth_year\nU1,1940\n"
    with pytest.raises(InvalidDataset):
        Dataset.from_folder(make_folder(users=text), mode="lenient")


def test_header_shorter_than_its_rows_is_refused(make_folder: MakeFolder) -> None:
    # referred_on (a column a file may leave out) is missing from the header; as end_reason
    # is empty in every row, a CSV reader that drops empty trailing fields would read
    # every date one column to the left.
    lines = VALID_CSV["enrolments"].splitlines()
    text = "\n".join([lines[0].replace("referred_on,", ""), *lines[1:]]) + "\n"
    text = text.replace(",died\n", ",\n").replace(",moved\n", ",\n")
    report = validate_folder(make_folder(enrolments=text))
    problem = the_problem(report, ProblemKind.MISSING_COLUMN)
    assert (problem.file, problem.row) == ("enrolments.csv", 1)
    assert "the header names 6 columns but rows have more fields" in problem.message
    assert "enrolments" not in report.rows  # nothing was read under the wrong names
    with pytest.raises(InvalidDataset):
        Dataset.from_folder(make_folder(enrolments=text), mode="lenient")


def test_a_trailing_separator_on_header_and_rows_is_an_unnamed_column(
    make_folder: MakeFolder,
) -> None:
    text = VALID_CSV["services"].replace("\n", ",\n")
    dataset = Dataset.from_folder(make_folder(services=text))
    assert dataset.report.warnings == 1
    assert the_problem(dataset.report, ProblemKind.UNKNOWN_COLUMN).column == ""
    assert dataset.count_rows()["services"] == 3


def test_unknown_extra_column_is_a_warning_and_the_dataset_loads(make_folder: MakeFolder) -> None:
    # Only the users table keeps extra columns (tests/test_extra_user_columns.py).
    lines = VALID_CSV["services"].splitlines()
    text = "\n".join([lines[0] + ",contract"] + [line + ",123" for line in lines[1:]]) + "\n"
    dataset = Dataset.from_folder(make_folder(services=text))
    report = dataset.report
    assert report.ok
    assert (report.errors, report.warnings) == (0, 1)
    problem = the_problem(report, ProblemKind.UNKNOWN_COLUMN)
    assert problem.severity is Severity.WARNING
    assert (problem.file, problem.row, problem.column) == ("services.csv", 1, "contract")
    assert dataset.count_rows()["services"] == 3
    assert "contract" not in dataset.table("services").columns


def test_utf8_bom_is_not_part_of_the_first_column(make_folder: MakeFolder) -> None:
    dataset = Dataset.from_folder(make_folder(users="\ufeff" + VALID_CSV["users"]))
    assert dataset.report.ok
    assert dataset.report.warnings == 0
    ids = sorted(row["user_id"] for row in rows_of(dataset, "users"))
    assert ids == ["U1", "U2", "U3"]


def test_utf8_bom_before_a_quoted_header(make_folder: MakeFolder) -> None:
    text = (
        '\ufeff"service_id","kind",sector,area,provider,annual_cost\n'
        + (VALID_CSV["services"].split("\n", 1)[1])
    )
    dataset = Dataset.from_folder(make_folder(services=text))
    assert dataset.report.ok and dataset.report.warnings == 0
    assert dataset.count_rows()["services"] == 3


def test_windows_line_endings(make_folder: MakeFolder) -> None:
    crlf = {name: text.replace("\n", "\r\n") for name, text in VALID_CSV.items()}
    dataset = Dataset.from_folder(make_folder(**crlf))
    expected = Dataset.from_folder(make_folder())
    assert dataset.report.ok
    for name in TABLES:
        assert rows_of(dataset, name) == rows_of(expected, name), name
    # The last column of each line carries no "\r".
    assert sorted(row["kind"] for row in rows_of(dataset, "contacts"))[0] == "alarm_call"


def test_windows_line_endings_keep_row_numbers(make_folder: MakeFolder) -> None:
    text = append_lines("users", "U4,Kent,1930,F,,high").replace("\n", "\r\n")
    problem = the_problem(validate_folder(make_folder(users=text)), ProblemKind.NOT_A_NUMBER)
    assert (problem.row, problem.column, problem.value) == (5, "risk_score", "high")


def test_empty_file(make_folder: MakeFolder) -> None:
    report = validate_folder(make_folder(services=""))
    assert not report.ok
    problem = the_problem(report, ProblemKind.EMPTY_FILE)
    assert (problem.file, problem.row) == ("services.csv", 1)
    assert "service_id, kind, sector" in problem.message
    with pytest.raises(InvalidDataset, match="empty file"):
        Dataset.from_folder(make_folder(services=""))


def test_file_with_only_a_header_loads_with_zero_rows(make_folder: MakeFolder) -> None:
    header = VALID_CSV["contacts"].split("\n", 1)[0] + "\n"
    dataset = Dataset.from_folder(make_folder(contacts=header))
    assert dataset.report.ok
    assert dataset.report.rows["contacts"] == 0
    assert dataset.count_rows()["contacts"] == 0
    assert dataset.count_rows()["users"] == 3


def test_quoted_fields_with_commas_and_quotes(make_folder: MakeFolder) -> None:
    text = replace_line(
        "services", 2, 'S1,telehealth,health,Kent,"Kent, Medway and ""East"" NHS","1,000"'
    )
    report = validate_folder(make_folder(services=text))
    # The provider is read whole; "1,000" is one cell, and not a number.
    problem = the_problem(report, ProblemKind.NOT_A_NUMBER)
    assert (problem.row, problem.column, problem.value) == (2, "annual_cost", "1,000")
    text = replace_line("services", 2, 'S1,telehealth,health,Kent,"Kent, Medway and ""East"" NHS",')
    dataset = Dataset.from_folder(make_folder(services=text))
    providers = {row["service_id"]: row["provider"] for row in rows_of(dataset, "services")}
    assert providers["S1"] == 'Kent, Medway and "East" NHS'


def test_quoted_field_with_a_line_break_counts_as_one_row(make_folder: MakeFolder) -> None:
    text = append_lines(
        "services",
        'S4,telecare,health,Kent,"Two\nlines",',
        "S5,telecare,nhs,Kent,,",
    )
    problem = the_problem(validate_folder(make_folder(services=text)), ProblemKind.UNKNOWN_CODE)
    # Rows, not physical lines: header 1, S1-S3 rows 2-4, S4 row 5, S5 row 6.
    assert (problem.row, problem.column, problem.value) == (6, "sector", "nhs")


def test_spaces_around_csv_cells_are_trimmed(make_folder: MakeFolder) -> None:
    text = replace_line("users", 2, " U1 , Kent ,1940 ,F, copd ; diabetes ,0.2 ")
    dataset = Dataset.from_folder(make_folder(users=text))
    users = {row["user_id"]: row for row in rows_of(dataset, "users")}
    assert users["U1"]["area"] == "Kent"
    assert users["U1"]["birth_year"] == 1940
    assert users["U1"]["conditions"] == ["copd", "diabetes"]
    assert users["U1"]["risk_score"] == 0.2


def test_conditions_are_normalised_like_the_records(make_folder: MakeFolder) -> None:
    text = replace_line("users", 2, "U1,Kent,1940,F,diabetes;copd;;copd,0.2")
    dataset = Dataset.from_folder(make_folder(users=text))
    users = {row["user_id"]: row for row in rows_of(dataset, "users")}
    assert users["U1"]["conditions"] == ["copd", "diabetes"]
    assert list(User("U1", "Kent", conditions="diabetes;copd;;copd").conditions) == [
        "copd",
        "diabetes",
    ]


def test_day_month_year_date(make_folder: MakeFolder) -> None:
    text = replace_line("enrolments", 3, "E2,U2,S2,2013-02-01,13/01/2013,2013-06-30,moved")
    report = validate_folder(make_folder(enrolments=text))
    problem = the_problem(report, ProblemKind.NOT_A_DATE)
    assert (problem.file, problem.row, problem.column, problem.value) == (
        "enrolments.csv",
        3,
        "installed_on",
        "13/01/2013",
    )
    assert "YYYY-MM-DD" in problem.message
    assert kinds(report) == {("enrolments", "not a date"): 1}


def test_impossible_calendar_date(make_folder: MakeFolder) -> None:
    text = replace_line("contacts", 4, "U2,E2,2013-02-30,alarm_call")
    problem = the_problem(validate_folder(make_folder(contacts=text)), ProblemKind.NOT_A_DATE)
    assert (problem.file, problem.row, problem.column, problem.value) == (
        "contacts.csv",
        4,
        "date",
        "2013-02-30",
    )
    assert "real calendar date" in problem.message


def test_risk_score_that_is_not_a_number(make_folder: MakeFolder) -> None:
    text = replace_line("users", 3, "U2,Kent,1950,M,,high")
    report = validate_folder(make_folder(users=text))
    problem = the_problem(report, ProblemKind.NOT_A_NUMBER)
    assert (problem.file, problem.row, problem.column, problem.value) == (
        "users.csv",
        3,
        "risk_score",
        "high",
    )
    assert kinds(report) == {("users", "not a number"): 1}


def test_risk_score_out_of_range(make_folder: MakeFolder) -> None:
    text = replace_line("users", 3, "U2,Kent,1950,M,,1.5")
    problem = the_problem(validate_folder(make_folder(users=text)), ProblemKind.OUT_OF_RANGE)
    assert (problem.row, problem.column, problem.value) == (3, "risk_score", "1.5")
    assert "0 to 1" in problem.message


def test_birth_year_that_is_not_whole(make_folder: MakeFolder) -> None:
    text = replace_line("users", 4, "U3,Cornwall,1940.5,,,")
    problem = the_problem(validate_folder(make_folder(users=text)), ProblemKind.NOT_AN_INTEGER)
    assert (problem.row, problem.column, problem.value) == (4, "birth_year", "1940.5")


def test_unknown_service_kind_differing_in_case(make_folder: MakeFolder) -> None:
    text = replace_line("services", 3, "S2,Telecare,social_care,Kent,,120.5")
    report = validate_folder(make_folder(services=text))
    problem = the_problem(report, ProblemKind.UNKNOWN_CODE)
    assert (problem.file, problem.row, problem.column, problem.value) == (
        "services.csv",
        3,
        "kind",
        "Telecare",
    )
    assert "differs only in case" in problem.message
    assert "'telecare'" in problem.message


def test_unknown_code_lists_the_allowed_codes(make_folder: MakeFolder) -> None:
    text = replace_line("services", 3, "S2,pendant,social_care,Kent,,120.5")
    problem = the_problem(validate_folder(make_folder(services=text)), ProblemKind.UNKNOWN_CODE)
    assert problem.value == "pendant"
    assert "differs only in case" not in problem.message
    for code in ("telehealth", "telecare", "telecoaching", "telemedicine", "self_care_app"):
        assert code in problem.message


def test_id_referenced_but_never_defined(make_folder: MakeFolder) -> None:
    text = append_lines("enrolments", "E5,U9,S1,2013-01-01,2013-01-02,,")
    report = validate_folder(make_folder(enrolments=text))
    problem = the_problem(report, ProblemKind.UNKNOWN_REFERENCE)
    assert (problem.file, problem.row, problem.column, problem.value) == (
        "enrolments.csv",
        6,
        "user_id",
        "U9",
    )
    assert "users" in problem.message
    assert kinds(report) == {("enrolments", "unknown reference"): 1}


def test_contact_on_another_users_enrolment(make_folder: MakeFolder) -> None:
    text = append_lines("contacts", "U2,E1,2013-01-20,reading")
    report = validate_folder(make_folder(contacts=text))
    problem = the_problem(report, ProblemKind.INCONSISTENT_REFERENCE)
    assert (problem.file, problem.row, problem.column, problem.value) == (
        "contacts.csv",
        6,
        "user_id",
        "U2",
    )
    assert "E1" in problem.message and "U1" in problem.message
    assert kinds(report) == {("contacts", "inconsistent reference"): 1}


def test_duplicate_ids(make_folder: MakeFolder) -> None:
    text = append_lines("users", "U4,Kent,,,,", "U2,Cornwall,,,,")
    report = validate_folder(make_folder(users=text))
    problem = the_problem(report, ProblemKind.DUPLICATE_ID)
    assert (problem.file, problem.row, problem.column, problem.value) == (
        "users.csv",
        6,
        "user_id",
        "U2",
    )
    assert "row 3" in problem.message
    assert kinds(report) == {("users", "duplicate id"): 1}


def test_ended_before_installed(make_folder: MakeFolder) -> None:
    text = replace_line("enrolments", 3, "E2,U2,S2,2013-02-01,2013-02-05,2013-02-04,moved")
    report = validate_folder(make_folder(enrolments=text))
    problem = the_problem(report, ProblemKind.DATE_ORDER)
    assert (problem.file, problem.row, problem.column, problem.value) == (
        "enrolments.csv",
        3,
        "ended_on",
        "2013-02-04",
    )
    assert "installed_on" in problem.message and "2013-02-05" in problem.message


def test_installed_before_referred(make_folder: MakeFolder) -> None:
    text = replace_line("enrolments", 2, "E1,U1,S1,2013-01-11,2013-01-10,,")
    problem = the_problem(validate_folder(make_folder(enrolments=text)), ProblemKind.DATE_ORDER)
    assert (problem.row, problem.column, problem.value) == (2, "installed_on", "2013-01-10")


def test_an_enrolment_may_end_on_the_day_it_was_installed(make_folder: MakeFolder) -> None:
    text = replace_line("enrolments", 3, "E2,U2,S2,2013-02-05,2013-02-05,2013-02-05,moved")
    assert validate_folder(make_folder(enrolments=text)).ok


def test_negative_length_of_stay(make_folder: MakeFolder) -> None:
    text = replace_line("outcomes", 2, "U1,2013-08-01,emergency_admission,-2,1550")
    report = validate_folder(make_folder(outcomes=text))
    problem = the_problem(report, ProblemKind.OUT_OF_RANGE)
    assert (problem.file, problem.row, problem.column) == ("outcomes.csv", 2, "value")
    assert float(problem.value) == -2
    assert "length of stay" in problem.message
    assert kinds(report) == {("outcomes", "out of range"): 1}


def test_negative_quality_of_life_score_is_allowed(make_folder: MakeFolder) -> None:
    # VALID_CSV already holds a qol of -0.25; a more negative one is still fine.
    text = append_lines("outcomes", "U3,2013-07-01,qol,-3,")
    assert validate_folder(make_folder(outcomes=text)).ok


def test_negative_cost_is_out_of_range(make_folder: MakeFolder) -> None:
    text = append_lines("outcomes", "U3,2013-07-01,ae_attendance,,-10")
    problem = the_problem(validate_folder(make_folder(outcomes=text)), ProblemKind.OUT_OF_RANGE)
    assert (problem.row, problem.column, problem.value) == (5, "cost", "-10")


def test_required_value_missing(make_folder: MakeFolder) -> None:
    text = replace_line("contacts", 3, "U1,  ,2013-01-12,reading")
    problem = the_problem(validate_folder(make_folder(contacts=text)), ProblemKind.MISSING_VALUE)
    assert (problem.file, problem.row, problem.column) == ("contacts.csv", 3, "enrolment_id")


def test_malformed_line_is_reported_and_later_rows_keep_their_numbers(
    make_folder: MakeFolder,
) -> None:
    text = append_lines(
        "contacts",
        "U1,E1,2013-01-13,reading,oops,more",  # row 6: too many fields
        "U1,E1,2013-01-14,reading",  # row 7: fine
        "U1,E1,14/01/2013,reading",  # row 8: a bad date
        "U1,E1,2013-01-15,Reading",  # row 9: a code in the wrong case
    )
    report = validate_folder(make_folder(contacts=text))
    malformed = the_problem(report, ProblemKind.MALFORMED_ROW)
    assert (malformed.file, malformed.row) == ("contacts.csv", 6)
    assert malformed.value == "U1,E1,2013-01-13,reading,oops,more"
    assert "4 columns" in malformed.message
    assert the_problem(report, ProblemKind.NOT_A_DATE).row == 8
    assert the_problem(report, ProblemKind.UNKNOWN_CODE).row == 9
    assert report.rows["contacts"] == 8  # every record, the malformed one included
    assert kinds(report) == {
        ("contacts", "malformed row"): 1,
        ("contacts", "not a date"): 1,
        ("contacts", "unknown code"): 1,
    }


def test_malformed_lines_in_lenient_mode(make_folder: MakeFolder) -> None:
    text = append_lines(
        "contacts",
        "U1,E1,2013-01-13",  # too few fields
        "U1,E1,2013-01-14,reading",
        "U1,E1,2013-01-15,reading,x",  # too many
        "U1,E1,2013-01-16,reading",
    )
    dataset = Dataset.from_folder(make_folder(contacts=text), mode="lenient", max_set_aside=1.0)
    assert dataset.report.set_aside == {("contacts", ProblemKind.MALFORMED_ROW): 2}
    dates = sorted(row["date"] for row in rows_of(dataset, "contacts"))
    assert date(2013, 1, 14) in dates and date(2013, 1, 16) in dates
    assert len(dates) == 6
    rows = sorted(p.row for p in dataset.report.examples_of(ProblemKind.MALFORMED_ROW))
    assert rows == [6, 8]


def test_unterminated_quote(make_folder: MakeFolder) -> None:
    text = append_lines("contacts", 'U1,E1,2013-01-13,"reading')
    report = validate_folder(make_folder(contacts=text))
    problem = the_problem(report, ProblemKind.MALFORMED_ROW)
    assert problem.row == 6
    assert "quote" in problem.message


def test_file_that_is_not_utf8(make_folder: MakeFolder) -> None:
    text = append_lines("services", "S4,telecare,health,Kent,Caf\u00e9 Care,").encode("latin-1")
    report = validate_folder(make_folder(services=text))
    assert not report.ok
    problem = the_problem(report, ProblemKind.MALFORMED_ROW)
    assert (problem.file, problem.row) == ("services.csv", 5)
    assert "UTF-8" in problem.message


def test_ten_thousand_bad_rows_give_a_short_report_with_exact_counts(
    make_folder: MakeFolder,
) -> None:
    bad = [f"U1,E1,2013-01-{1 + i % 28:02d},Reading" for i in range(10_000)]
    bad += [f"U1,E1,2013-13-{1 + i % 28:02d},reading" for i in range(10_000)]
    report = validate_folder(make_folder(contacts=append_lines("contacts", *bad)))
    assert kinds(report) == {
        ("contacts", "unknown code"): 10_000,
        ("contacts", "not a date"): 10_000,
    }
    assert report.errors == 20_000
    assert report.rows["contacts"] == 20_004
    codes = report.examples_of(ProblemKind.UNKNOWN_CODE)
    dates = report.examples_of(ProblemKind.NOT_A_DATE)
    assert len(codes) == len(dates) == EXAMPLES_PER_KIND
    # The examples are the first rows of each kind, in file order.
    assert [p.row for p in codes] == list(range(6, 6 + EXAMPLES_PER_KIND))
    assert [p.row for p in dates] == list(range(10_006, 10_006 + EXAMPLES_PER_KIND))


def test_ten_thousand_malformed_lines_give_a_short_report(make_folder: MakeFolder) -> None:
    lines = []
    for i in range(10_000):
        lines += [f"U1,E1,2013-01-{1 + i % 28:02d},reading,extra", "U1,E1,2013-01-02,reading"]
    lines.append("U1,E1,not a date,reading")
    report = validate_folder(make_folder(contacts=append_lines("contacts", *lines)))
    assert kinds(report) == {("contacts", "malformed row"): 10_000, ("contacts", "not a date"): 1}
    malformed = report.examples_of(ProblemKind.MALFORMED_ROW)
    assert [p.row for p in malformed] == list(range(6, 6 + 2 * EXAMPLES_PER_KIND, 2))
    # Rows 6..20005 alternate bad and good lines; the bad date comes right after them.
    assert the_problem(report, ProblemKind.NOT_A_DATE).row == 20_006
    assert report.rows["contacts"] == 20_005


def test_cli_report_stays_short_for_many_bad_rows(
    make_folder: MakeFolder, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = [f"U1,E1,2013-01-{1 + i % 28:02d},Reading" for i in range(10_000)]
    folder = make_folder(contacts=append_lines("contacts", *bad))
    assert main(["validate", str(folder), "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["errors"] == 10_000
    assert len(data["problems"]) == EXAMPLES_PER_KIND
    assert data["summary"] == [
        {"table": "contacts", "kind": "unknown code", "severity": "error", "count": 10_000}
    ]


def test_two_files_for_one_table(make_folder: MakeFolder) -> None:
    folder = make_folder()
    (folder / "users.parquet").write_bytes(b"")
    problem = the_problem(validate_folder(folder), ProblemKind.AMBIGUOUS_TABLE)
    assert "users.csv" in problem.message and "users.parquet" in problem.message


def test_unknown_file_is_a_warning_with_a_hint(make_folder: MakeFolder) -> None:
    folder = make_folder()
    (folder / "user.csv").write_text("x\n1\n")
    report = validate_folder(folder)
    assert report.ok
    problem = the_problem(report, ProblemKind.UNKNOWN_FILE)
    assert problem.severity is Severity.WARNING
    assert "users.csv" in problem.message


def test_unreadable_parquet_file(make_folder: MakeFolder) -> None:
    folder = make_folder(services=None)
    (folder / "services.parquet").write_bytes(b"this is not parquet")
    report = validate_folder(folder)
    problem = the_problem(report, ProblemKind.UNREADABLE_FILE)
    assert problem.file == "services.parquet"


# --- strict and lenient modes ----------------------------------------------------------------


def test_strict_mode_raises_with_a_message_naming_a_problem(make_folder: MakeFolder) -> None:
    text = replace_line("users", 3, "U2,Kent,1950,M,,high")
    folder = make_folder(users=text)
    with pytest.raises(InvalidDataset) as caught:
        Dataset.from_folder(folder)
    message = str(caught.value)
    assert "users.csv, row 3, column risk_score" in message
    assert "not a number" in message
    assert "1 error" in message
    assert isinstance(caught.value, DataError)
    assert caught.value.report.counts == {("users", ProblemKind.NOT_A_NUMBER): 1}


def test_lenient_mode_sets_bad_rows_aside_and_says_why(make_folder: MakeFolder) -> None:
    users = replace_line("users", 3, "U2,Kent,1950,M,,high")  # U2 set aside
    contacts = append_lines("contacts", "U1,E1,2013-01-20,Reading")  # row 6 set aside
    dataset = Dataset.from_folder(
        make_folder(users=users, contacts=contacts), mode="lenient", max_set_aside=1.0
    )
    report = dataset.report
    assert not report.ok
    assert report.set_aside == {
        ("users", ProblemKind.NOT_A_NUMBER): 1,
        # E2 belongs to U2; the contact on E2 belongs to U2 and to E2; the allocation and
        # the qol outcome to U2.
        ("enrolments", ProblemKind.REFERS_TO_SET_ASIDE): 1,
        ("contacts", ProblemKind.UNKNOWN_CODE): 1,
        ("contacts", ProblemKind.REFERS_TO_SET_ASIDE): 1,
        ("outcomes", ProblemKind.REFERS_TO_SET_ASIDE): 1,
        ("allocations", ProblemKind.REFERS_TO_SET_ASIDE): 1,
    }
    assert report.rows_set_aside("contacts") == 2
    counts = dataset.count_rows()
    assert counts["users"] == 2
    assert counts["enrolments"] == 3
    assert counts["contacts"] == 3
    assert "U2" not in {row["user_id"] for row in rows_of(dataset, "contacts")}
    assert "E2" not in {row["enrolment_id"] for row in rows_of(dataset, "enrolments")}


def test_lenient_cascade_through_a_set_aside_enrolment(make_folder: MakeFolder) -> None:
    enrolments = replace_line("enrolments", 2, "E1,U1,S1,2013-01-01,2013-13-10,,")
    dataset = Dataset.from_folder(
        make_folder(enrolments=enrolments), mode="lenient", max_set_aside=1.0
    )
    assert dataset.report.set_aside == {
        ("enrolments", ProblemKind.NOT_A_DATE): 1,
        ("contacts", ProblemKind.REFERS_TO_SET_ASIDE): 2,
    }
    contacts = rows_of(dataset, "contacts")
    assert {row["enrolment_id"] for row in contacts} == {"E2", "E4"}
    assert dataset.count_rows()["users"] == 3  # U1 keeps its other enrolment


def test_lenient_duplicate_keeps_the_first_row_and_its_dependants(make_folder: MakeFolder) -> None:
    users = append_lines("users", "U1,Cornwall,1930,,,")
    dataset = Dataset.from_folder(make_folder(users=users), mode="lenient", max_set_aside=1.0)
    assert dataset.report.set_aside == {("users", ProblemKind.DUPLICATE_ID): 1}
    users_kept = {row["user_id"]: row["area"] for row in rows_of(dataset, "users")}
    assert users_kept["U1"] == "Kent"
    assert dataset.count_rows()["contacts"] == 4


def test_lenient_report_in_cli_json(make_folder: MakeFolder, capsys) -> None:
    enrolments = replace_line("enrolments", 2, "E1,U1,S1,2013-01-01,2013-13-10,,")
    folder = make_folder(enrolments=enrolments)
    assert main(["validate", str(folder), "--format", "json", "--mode", "lenient"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert sorted(data["set_aside"], key=lambda item: item["table"]) == [
        {"table": "contacts", "kind": "refers to a row set aside", "rows": 2},
        {"table": "enrolments", "kind": "not a date", "rows": 1},
    ]


def test_strict_mode_sets_nothing_aside(make_folder: MakeFolder) -> None:
    text = replace_line("users", 3, "U2,Kent,1950,M,,high")
    assert validate_folder(make_folder(users=text)).set_aside == {}


# --- Parquet ---------------------------------------------------------------------------------


def _arrow_tables(make_folder: MakeFolder) -> dict[str, pa.Table]:
    """The valid extract as Arrow tables with the schema's types."""
    dataset = Dataset.from_folder(make_folder())
    return {
        name: pa.Table.from_pylist(rows_of(dataset, name), schema=spec.arrow_schema())
        for name, spec in TABLES.items()
    }


def test_parquet_files_load(make_folder: MakeFolder, tmp_path: Path) -> None:
    arrow = _arrow_tables(make_folder)
    folder = tmp_path / "parquet"
    folder.mkdir()
    for name, table in arrow.items():
        pq.write_table(table, folder / f"{name}.parquet")
    dataset = Dataset.from_folder(folder)
    assert dataset.report.ok
    csv = Dataset.from_folder(make_folder())
    for name in TABLES:
        assert rows_of(dataset, name) == rows_of(csv, name), name
    assert str(dataset.extract_date) == VALID_LATEST


def test_mixing_csv_and_parquet(make_folder: MakeFolder) -> None:
    arrow = _arrow_tables(make_folder)
    folder = make_folder(contacts=None, users=None)
    pq.write_table(arrow["contacts"], folder / "contacts.parquet")
    pq.write_table(arrow["users"], folder / "users.parquet")
    dataset = Dataset.from_folder(folder)
    assert dataset.report.ok
    assert dataset.count_rows()["contacts"] == 4
    assert {row["user_id"] for row in rows_of(dataset, "users")} == {"U1", "U2", "U3"}


def test_parquet_errors_name_file_row_and_column(make_folder: MakeFolder) -> None:
    arrow = _arrow_tables(make_folder)
    folder = make_folder(users=None)
    users = arrow["users"].to_pylist()
    users[2]["risk_score"] = 2.0  # third record: row 3 in a Parquet file
    pq.write_table(
        pa.Table.from_pylist(users, schema=TABLES["users"].arrow_schema()),
        folder / "users.parquet",
    )
    problem = the_problem(validate_folder(folder), ProblemKind.OUT_OF_RANGE)
    assert (problem.file, problem.row, problem.column, problem.value) == (
        "users.parquet",
        3,
        "risk_score",
        "2.0",
    )


def test_parquet_date_stored_as_text_is_parsed_and_checked(make_folder: MakeFolder) -> None:
    folder = make_folder(contacts=None)
    table = pa.table(
        {
            "user_id": ["U1", "U1", "U2"],
            "enrolment_id": ["E1", "E1", "E2"],
            "date": ["2013-01-11", "2013-02-30", "2013-03-01"],
            "kind": ["reading", "reading", "alarm_call"],
        }
    )
    pq.write_table(table, folder / "contacts.parquet")
    report = validate_folder(folder)
    problem = the_problem(report, ProblemKind.NOT_A_DATE)
    assert (problem.file, problem.row, problem.column, problem.value) == (
        "contacts.parquet",
        2,
        "date",
        "2013-02-30",
    )
    pq.write_table(table.slice(0, 1), folder / "contacts.parquet")
    dataset = Dataset.from_folder(folder)
    assert rows_of(dataset, "contacts")[0]["date"] == date(2013, 1, 11)
    assert dataset.table("contacts").schema()["date"].is_date()


def test_parquet_written_by_pandas_with_float_years(make_folder: MakeFolder) -> None:
    # pandas stores a whole-number column with gaps as float64; whole values are accepted.
    folder = make_folder(users=None)
    table = pa.table(
        {
            "user_id": ["U1", "U2", "U3"],
            "area": ["Kent", "Kent", "Cornwall"],
            "birth_year": pa.array([1940.0, None, 1950.5]),
            "conditions": [["copd"], [], None],
        }
    )
    pq.write_table(table, folder / "users.parquet")
    report = validate_folder(folder)
    problem = the_problem(report, ProblemKind.NOT_AN_INTEGER)
    assert (problem.row, problem.column) == (3, "birth_year")
    assert kinds(report) == {("users", "not an integer"): 1}
    # Without U3 (and its enrolment E3) the extract is valid.
    pq.write_table(table.slice(0, 2), folder / "users.parquet")
    (folder / "enrolments.csv").write_text(
        VALID_CSV["enrolments"].replace("E3,U3,S3,2013-03-01,,,\n", "")
    )
    dataset = Dataset.from_folder(folder)
    users = {row["user_id"]: row for row in rows_of(dataset, "users")}
    assert users["U1"]["birth_year"] == 1940
    assert users["U1"]["conditions"] == ["copd"]
    assert users["U2"]["birth_year"] is None
    assert users["U1"]["risk_score"] is None  # an optional column left out of the file


def test_parquet_floats_that_are_not_finite_numbers(make_folder: MakeFolder) -> None:
    folder = make_folder(users=None)
    table = pa.table(
        {
            "user_id": ["U1", "U2", "U3"],
            "area": ["Kent", "Kent", "Cornwall"],
            "birth_year": [1940.0, float("inf"), 1e30],
            "conditions": [None, None, None],
            "risk_score": [float("nan"), 0.5, float("inf")],
        }
    )
    pq.write_table(table, folder / "users.parquet")
    report = validate_folder(folder)  # completes: no overflow casting inf or 1e30
    found = sorted((p.row, p.column, p.kind.value) for p in report.examples)
    assert found == [
        (1, "risk_score", "not a number"),
        (2, "birth_year", "not an integer"),
        (3, "birth_year", "not an integer"),
        (3, "risk_score", "not a number"),
    ]


def test_parquet_with_a_missing_required_column(make_folder: MakeFolder) -> None:
    folder = make_folder(services=None)
    pq.write_table(pa.table({"service_id": ["S1"], "kind": ["telehealth"]}), folder / "s.parquet")
    (folder / "s.parquet").rename(folder / "services.parquet")
    report = validate_folder(folder)
    missing = sorted(p.column for p in report.examples_of(ProblemKind.MISSING_COLUMN))
    assert missing == ["area", "sector"]


# --- missing tables and the extract date -----------------------------------------------------


def test_missing_optional_tables_are_empty(make_folder: MakeFolder) -> None:
    dataset = Dataset.from_folder(make_folder(outcomes=None, allocations=None, targets=None))
    assert dataset.report.ok
    for name in ("outcomes", "allocations", "targets"):
        assert dataset.count_rows()[name] == 0
        assert dataset.table(name).columns == TABLES[name].column_names
        assert name not in dataset.report.rows


def test_missing_required_table_is_an_error(make_folder: MakeFolder) -> None:
    report = validate_folder(make_folder(services=None))
    assert not report.ok
    problem = the_problem(report, ProblemKind.MISSING_TABLE)
    assert problem.table == "services"
    assert "services.csv" in problem.message
    with pytest.raises(InvalidDataset, match="missing table"):
        Dataset.from_folder(make_folder(services=None))


def test_missing_folder_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no data folder"):
        Dataset.from_folder(tmp_path / "nowhere")
    file = tmp_path / "users.csv"
    file.write_text(VALID_CSV["users"])
    with pytest.raises(DataError, match="not a folder"):
        validate_folder(file)


def test_extract_date_defaults_to_the_latest_event(make_folder: MakeFolder) -> None:
    assert str(Dataset.from_folder(make_folder()).extract_date) == VALID_LATEST
    # Without outcomes the latest event is the end of E4; target due dates never count.
    dataset = Dataset.from_folder(make_folder(outcomes=None))
    assert dataset.extract_date == date(2013, 9, 30)


def test_extract_date_can_be_given(make_folder: MakeFolder) -> None:
    folder = make_folder()
    assert Dataset.from_folder(folder, extract_date="2014-03-31").extract_date == date(2014, 3, 31)
    given = date(2013, 12, 1)
    assert Dataset.from_folder(folder, extract_date=given).extract_date == given


# --- other sources ---------------------------------------------------------------------------


def _records() -> dict[str, list]:
    return {
        "users": [User("U1", "Kent", conditions="copd"), User("U2", "Kent", risk_score=0.9)],
        "services": [Service("S1", "telehealth", "health", "Kent")],
        "enrolments": [
            Enrolment("E1", "U1", "S1", installed_on="2013-01-10"),
            Enrolment("E2", "U2", "S1", referred_on="2013-02-01"),
        ],
        "contacts": [Contact("U1", "E1", "2013-03-01", "reading")],
        "outcomes": [Outcome("U2", "2013-05-01", "qol", value=-1)],
    }


def test_from_records() -> None:
    dataset = Dataset.from_records(**_records())
    assert dataset.report.ok
    assert dataset.count_rows() == {
        "users": 2,
        "services": 1,
        "enrolments": 2,
        "contacts": 1,
        "outcomes": 1,
        "allocations": 0,
        "targets": 0,
        "populations": 0,
    }
    assert dataset.extract_date == date(2013, 5, 1)
    users = {row["user_id"]: row for row in rows_of(dataset, "users")}
    assert users["U1"]["conditions"] == ["copd"]
    assert users["U2"]["risk_score"] == 0.9


def test_from_records_validates_relations() -> None:
    records = _records()
    records["contacts"] = [Contact("U2", "E1", "2013-03-01", "reading")]
    with pytest.raises(InvalidDataset, match="inconsistent reference"):
        Dataset.from_records(**records)
    dataset = Dataset.from_records(**records, mode="lenient", max_set_aside=1.0)
    assert dataset.report.set_aside == {("contacts", ProblemKind.INCONSISTENT_REFERENCE): 1}
    assert dataset.count_rows()["contacts"] == 0


def test_from_records_rejects_the_wrong_record_type() -> None:
    with pytest.raises(TypeError, match="User"):
        Dataset.from_records(users=[Service("S1", "telehealth", "health", "Kent")])


def test_from_arrow_without_a_required_table() -> None:
    users = pa.table({"user_id": ["U1"], "area": ["Kent"]})
    with pytest.raises(InvalidDataset, match="missing table"):
        Dataset.from_arrow({"users": users})


def _write_duckdb(path: Path, make_folder: MakeFolder) -> None:
    con = duckdb.connect(str(path))
    for name, table in _arrow_tables(make_folder).items():
        if name == "targets":
            continue  # an optional table the database does not have
        con.register("source", table)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM source")
        con.unregister("source")
    con.close()


def test_from_duckdb(make_folder: MakeFolder, tmp_path: Path) -> None:
    path = tmp_path / "extract.duckdb"
    _write_duckdb(path, make_folder)
    dataset = Dataset.from_duckdb(path)
    assert dataset.report.ok
    csv = Dataset.from_folder(make_folder())
    for name in TABLES:
        if name != "targets":
            assert sorted(map(str, rows_of(dataset, name))) == sorted(
                map(str, rows_of(csv, name))
            ), name
    assert dataset.count_rows()["targets"] == 0
    assert str(dataset.extract_date) == VALID_LATEST


def test_from_duckdb_reports_errors(make_folder: MakeFolder, tmp_path: Path) -> None:
    path = tmp_path / "extract.duckdb"
    _write_duckdb(path, make_folder)
    con = duckdb.connect(str(path))
    con.execute("UPDATE users SET risk_score = 3 WHERE user_id = 'U2'")
    con.close()
    with pytest.raises(InvalidDataset, match="risk_score"):
        Dataset.from_duckdb(path)
    dataset = Dataset.from_duckdb(path, mode="lenient", max_set_aside=1.0)
    assert ("users", ProblemKind.OUT_OF_RANGE) in dataset.report.set_aside


def test_from_duckdb_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no DuckDB database"):
        Dataset.from_duckdb(tmp_path / "nothing.duckdb")


def test_from_connection_on_sqlite(make_folder: MakeFolder, tmp_path: Path) -> None:
    # SQLite comes with Python; ibis's SQLite backend needs no extra package.
    sqlite = ibis.sqlite.connect(str(tmp_path / "extract.db"))
    for name, text in VALID_CSV.items():
        lines = [line.split(",") for line in text.splitlines()]
        header, body = lines[0], lines[1:]
        columns = {col: [row[i] or None for row in body] for i, col in enumerate(header)}
        sqlite.create_table(name, pa.table(columns))
    dataset = Dataset.from_connection(sqlite, source="sqlite extract")
    assert dataset.report.ok
    assert dataset.source == "sqlite extract"
    csv = Dataset.from_folder(make_folder())
    for name in TABLES:
        assert sorted(map(str, rows_of(dataset, name))) == sorted(map(str, rows_of(csv, name)))
    assert str(dataset.extract_date) == VALID_LATEST


def test_from_connection_with_renamed_tables_and_errors(tmp_path: Path) -> None:
    backend = ibis.duckdb.connect()
    backend.create_table(
        "people",
        pa.table({"user_id": ["U1", "U1"], "area": ["Kent", "Kent"], "conditions": ["", ""]}),
    )
    backend.create_table(
        "services",
        pa.table(
            {"service_id": ["S1"], "kind": ["telehealth"], "sector": ["health"], "area": ["K"]}
        ),
    )
    backend.create_table(
        "enrolments",
        pa.table(
            {
                "enrolment_id": ["E1"],
                "user_id": ["U1"],
                "service_id": ["S1"],
                **{name: [""] for name in ("installed_on", "ended_on", "end_reason")},
            }
        ),
    )
    with pytest.raises(InvalidDataset) as caught:
        Dataset.from_connection(backend, names={"users": "people"})
    report = caught.value.report
    assert kinds(report) == {("users", "duplicate id"): 1, ("contacts", "missing table"): 1}
