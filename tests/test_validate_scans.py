"""Validation in few scans (issue 19): what each check reports, whichever way it is folded.

A reference column's values are searched for control characters only where the reference is
not found (a value found equals a key checked in its own table), the rules a row keeps on its
own are one filter per table, and the problem rows are built only for the checks some row
failed. These cases pin what that reports, worked by hand, and that the embedded engine and a
connection threeml does not own report the same problems.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import duckdb
import ibis
import pytest
from conftest import VALID_CSV

from threeml.data import (
    Dataset,
    InvalidDataset,
    Mode,
    ProblemKind,
    ValidationReport,
    validate_folder,
)

MakeFolder = Callable[..., Path]

CONTROL = (
    "{} holds a control character (a NUL byte, a line break, a tab or an escape sequence); "
    "remove it from the source system or the export"
)


def replaced(table: str, number: int, line: str) -> str:
    """VALID_CSV[table] with line ``number`` (the header is line 1) replaced."""
    lines = VALID_CSV[table].splitlines()
    lines[number - 1] = line
    return "\n".join(lines) + "\n"


#: Enrolment E2's id holds a BEL, and so does the contact made under it (row 4); a new contact
#: (row 6) names a user id with an ESC that no user has, under enrolment E1 (user U1's); and
#: enrolment E4 (row 5) ends before it was installed.
HOSTILE = {
    "enrolments": replaced(
        "enrolments", 3, "E2\x07,U2,S2,2013-02-01,2013-02-05,2013-06-30,moved"
    ).replace("E4,U1,S2,,2013-04-01,2013-09-30,died", "E4,U1,S2,,2013-04-01,2013-03-30,died"),
    "contacts": replaced("contacts", 4, "U2,E2\x07,2013-03-01,alarm_call")
    + "U9\x1b,E1,2013-01-13,reading\n",
}


#: Contacts that break the rule "a contact's enrolment belongs to its user" in every way the
#: check on distinct (enrolment, user) pairs has to tell apart (rows numbered as in the file,
#: the header being row 1): row 2 is consistent; rows 3 and 4 repeat one mismatched pair;
#: row 5 has no user and an unknown enrolment, row 6 an unknown enrolment; row 7 a user
#: nobody has, under U1's enrolment E1. Enrolment E5 (row 6 of enrolments) names user U8,
#: whom nobody has: contact row 8 names E5 with U8, as its enrolment does (reported on the
#: enrolment alone), and row 9 names E5 with U1 (a mismatch).
MISMATCHED = {
    "enrolments": VALID_CSV["enrolments"] + "E5,U8,S1,,2013-01-01,,\n",
    "contacts": (
        "user_id,enrolment_id,date,kind\n"
        "U1,E1,2013-01-11,reading\n"
        "U2,E1,2013-01-12,reading\n"
        "U2,E1,2013-01-13,reading\n"
        ",E9,2013-01-14,reading\n"
        "U1,E9,2013-01-15,reading\n"
        "U7,E1,2013-01-16,reading\n"
        "U8,E5,2013-01-17,reading\n"
        "U1,E5,2013-01-18,reading\n"
    ),
}


#: Users nobody has, named by three tables whose references to the users are checked by one
#: anti-join: enrolment E5 (row 6) names U8; outcome row 5 names U9; allocation row 4 names
#: U7 followed by an ESC.
DANGLING = {
    "enrolments": VALID_CSV["enrolments"] + "E5,U8,S1,,2013-01-01,,\n",
    "outcomes": VALID_CSV["outcomes"] + "U9,2013-08-02,ae_attendance,,\n",
    "allocations": VALID_CSV["allocations"] + "U7\x1b,wsd,control,2013-01-07\n",
}


def found(report: ValidationReport) -> Counter[tuple]:
    """Every problem reported, as (table, kind, column, value, message), without the row."""
    return Counter((p.table, p.kind, p.column, p.value, p.message) for p in report.examples)


def test_a_control_character_in_a_found_reference_is_reported_on_its_key_alone(
    make_folder: MakeFolder,
) -> None:
    report = validate_folder(make_folder(**HOSTILE), cache=False)
    on_rows = {(p.file, p.row, p.column, p.kind) for p in report.examples}
    assert ("enrolments.csv", 3, "enrolment_id", ProblemKind.CONTROL_CHARACTER) in on_rows
    # Contact row 4 names E2 exactly as the enrolment writes it: the enrolment is reported.
    assert not [p for p in report.examples if p.table == "contacts" and p.row == 4]
    assert report.counts[("enrolments", ProblemKind.CONTROL_CHARACTER)] == 1
    # The one contact whose id holds a control character is row 6, whose user is not found.
    assert report.counts[("contacts", ProblemKind.CONTROL_CHARACTER)] == 1


def test_a_reference_not_found_is_searched_for_control_characters(
    make_folder: MakeFolder,
) -> None:
    report = validate_folder(make_folder(**HOSTILE), cache=False)
    row6 = {(p.kind, p.column, p.message) for p in report.examples if p.table == "contacts"}
    assert row6 == {
        (ProblemKind.CONTROL_CHARACTER, "user_id", CONTROL.format("user_id")),
        (
            ProblemKind.UNKNOWN_REFERENCE,
            "user_id",
            "no users row has this user_id; add it to users or correct the id",
        ),
        (
            ProblemKind.INCONSISTENT_REFERENCE,
            "user_id",
            "a contact's enrolment must belong to the same user: enrolment_id E1 belongs to "
            "user_id U1",
        ),
    }
    assert {p.row for p in report.examples if p.table == "contacts"} == {6}
    assert {p.file for p in report.examples if p.table == "contacts"} == {"contacts.csv"}


def test_row_rules_are_reported_with_their_row_and_the_earlier_date(
    make_folder: MakeFolder,
) -> None:
    report = validate_folder(make_folder(**HOSTILE), cache=False)
    order = [p for p in report.examples if p.kind is ProblemKind.DATE_ORDER]
    assert [(p.file, p.row, p.column, p.value, p.message) for p in order] == [
        (
            "enrolments.csv",
            5,
            "ended_on",
            "2013-03-30",
            "ended_on is before installed_on (2013-04-01)",
        )
    ]


def test_lenient_sets_a_contact_aside_with_the_enrolment_it_names(
    make_folder: MakeFolder,
) -> None:
    dataset = Dataset.from_folder(
        make_folder(**HOSTILE), mode=Mode.LENIENT, cache=False, max_set_aside=1.0
    )
    aside = dataset.report.set_aside
    assert aside[("enrolments", ProblemKind.CONTROL_CHARACTER)] == 1
    assert aside[("enrolments", ProblemKind.DATE_ORDER)] == 1
    # Rows 4 (under E2) and 5 (under E4) go with their enrolments; row 6 has errors of its own.
    assert aside[("contacts", ProblemKind.REFERS_TO_SET_ASIDE)] == 2
    assert sum(n for (table, _), n in aside.items() if table == "contacts") == 3
    kept = dataset.table("contacts").to_pyarrow().to_pylist()
    assert [(c["user_id"], c["enrolment_id"]) for c in kept] == [("U1", "E1"), ("U1", "E1")]


def test_each_contact_failing_its_enrolment_s_user_is_reported_once_by_row(
    make_folder: MakeFolder,
) -> None:
    """Worked by hand: every row holding a pair that fails is named, with its problems."""

    def mismatch(row: int, user: str, enrolment: str, owner: str) -> tuple:
        message = (
            "a contact's enrolment must belong to the same user: "
            f"enrolment_id {enrolment} belongs to user_id {owner}"
        )
        return (row, "user_id", ProblemKind.INCONSISTENT_REFERENCE, user, message)

    def unknown(row: int, column: str, value: str, table: str) -> tuple:
        message = f"no {table} row has this {column}; add it to {table} or correct the id"
        return (row, column, ProblemKind.UNKNOWN_REFERENCE, value, message)

    report = validate_folder(make_folder(**MISMATCHED), cache=False)
    contacts = {
        (p.row, p.column, p.kind, p.value, p.message)
        for p in report.examples
        if p.table == "contacts"
    }
    assert contacts == {
        mismatch(3, "U2", "E1", "U1"),
        mismatch(4, "U2", "E1", "U1"),
        (5, "user_id", ProblemKind.MISSING_VALUE, None, "user_id is required and empty"),
        unknown(5, "enrolment_id", "E9", "enrolments"),
        unknown(6, "enrolment_id", "E9", "enrolments"),
        mismatch(7, "U7", "E1", "U1"),
        unknown(7, "user_id", "U7", "users"),
        mismatch(9, "U1", "E5", "U8"),
    }
    enrolments = {(p.row, p.column, p.kind) for p in report.examples if p.table == "enrolments"}
    assert enrolments == {(6, "user_id", ProblemKind.UNKNOWN_REFERENCE)}


def test_an_enrolment_id_held_twice_lets_a_contact_match_either_owner(
    make_folder: MakeFolder,
) -> None:
    """Worked by hand: enrolment E1 is held by U1 (row 2) and again by U2 (row 6). A contact
    naming either owner is consistent; one naming U3 matches neither and is reported once per
    owner, each time on its own row (not once more for every owner it was compared with)."""
    enrolments = VALID_CSV["enrolments"] + "E1,U2,S1,,2013-01-01,,\n"
    contacts = VALID_CSV["contacts"] + "U2,E1,2013-01-13,reading\nU3,E1,2013-01-14,reading\n"
    report = validate_folder(make_folder(enrolments=enrolments, contacts=contacts), cache=False)
    inconsistent = sorted(
        (p.row, p.value, p.message)
        for p in report.examples
        if p.kind is ProblemKind.INCONSISTENT_REFERENCE
    )
    message = "a contact's enrolment must belong to the same user: enrolment_id E1 belongs to "
    assert inconsistent == [(7, "U3", message + "user_id U1"), (7, "U3", message + "user_id U2")]
    assert report.counts[("contacts", ProblemKind.INCONSISTENT_REFERENCE)] == 2


def test_a_duplicate_id_names_the_first_row_holding_it(make_folder: MakeFolder) -> None:
    users = VALID_CSV["users"] + "U2,Kent,1951,M,,0.1\nU1,Kent,1941,F,,0.3\nU2,Kent,,,,\n"
    report = validate_folder(make_folder(users=users), cache=False)
    dupes = [
        (p.row, p.column, p.value, p.message)
        for p in report.examples
        if p.kind is ProblemKind.DUPLICATE_ID
    ]
    assert sorted(dupes) == [
        (5, "user_id", "U2", "user_id already used on row 3; ids must be unique"),
        (6, "user_id", "U1", "user_id already used on row 2; ids must be unique"),
        (7, "user_id", "U2", "user_id already used on row 3; ids must be unique"),
    ]


def test_users_named_by_three_tables_are_each_reported_on_their_own_row(
    make_folder: MakeFolder,
) -> None:
    """Worked by hand: one anti-join against the users finds each table's unknown user."""
    report = validate_folder(make_folder(**DANGLING), cache=False)
    unknown = "no users row has this user_id; add it to users or correct the id"
    assert {(p.file, p.row, p.column, p.kind, p.value, p.message) for p in report.examples} == {
        ("enrolments.csv", 6, "user_id", ProblemKind.UNKNOWN_REFERENCE, "U8", unknown),
        ("outcomes.csv", 5, "user_id", ProblemKind.UNKNOWN_REFERENCE, "U9", unknown),
        ("allocations.csv", 4, "user_id", ProblemKind.UNKNOWN_REFERENCE, "U7\x1b", unknown),
        (
            "allocations.csv",
            4,
            "user_id",
            ProblemKind.CONTROL_CHARACTER,
            "U7\x1b",
            CONTROL.format("user_id"),
        ),
    }


@pytest.mark.parametrize(
    "tables",
    [HOSTILE, MISMATCHED, DANGLING, {}],
    ids=["hostile", "mismatched", "dangling", "valid"],
)
def test_a_connection_reports_what_a_folder_does(
    make_folder: MakeFolder, tables: dict[str, str]
) -> None:
    """The same checks, run by the embedded engine on files and in place on a connection."""
    folder = make_folder(**tables)
    from_folder = validate_folder(folder, cache=False)
    con = duckdb.connect()
    for path in sorted(folder.glob("*.csv")):
        con.execute(
            f"CREATE TABLE {path.stem} AS SELECT * FROM read_csv('{path}', all_varchar = true, "
            "header = true)"
        )
    try:
        in_place = Dataset.from_connection(ibis.duckdb.from_connection(con)).report
    except InvalidDataset as refused:
        in_place = refused.report
    assert found(in_place) == found(from_folder)
    assert bool(tables) == bool(found(in_place))


@pytest.mark.parametrize("trim", [True, False], ids=["csv", "typed"])
def test_each_check_names_the_parsed_value_as_a_column_not_the_whole_parse(trim: bool) -> None:
    """The cell checks read each column's cleaned text and typed value as columns of an
    inner projection: written inline, the enrolments' checks were 823 KB of SQL (a date's
    parse names its trimmed text some twenty times, and every check repeats the parse),
    which DuckDB took over a second to plan for a file of three rows, and Spark longer."""
    from datetime import date

    from threeml.data.checks import cell_checks
    from threeml.data.plausible import DateWindow
    from threeml.records.schema import TABLES

    window = DateWindow(latest=date(2027, 1, 1), given=date(2014, 3, 31))
    for name, spec in TABLES.items():
        raw = ibis.table(
            {"_row": "int64", **{c.name: "string" for c in spec.columns}}, name=f"raw_{name}"
        )
        typed, checks = cell_checks(spec, raw, trim=trim, window=window)
        assert checks is not None
        flagged = str(ibis.to_sql(checks.flagged, dialect="duckdb"))
        assert len(flagged) < 100_000, (name, len(flagged))
        assert len(str(ibis.to_sql(typed, dialect="duckdb"))) < 60_000, name


#: Every row rule broken, with the values a typed table reads differently from the file
#: (rows numbered as in a Parquet file, from 1; a CSV file's header is its row 1): enrolment
#: 5 was referred after it was installed and installed after it ended; enrolment 6 ends with
#: an empty end_reason (empty text is no reason); enrolment 7 has a reason but no end;
#: enrolment 8 has neither (its empty end_reason is no reason either: nothing to report);
#: outcome 4 is an admission of negative length.
RULES = {
    "enrolments": VALID_CSV["enrolments"]
    + "E5,U2,S1,2013-05-09,2013-05-08,2013-05-01,moved\n"
    + "E6,U3,S1,,2013-01-01,2013-02-01,\n"
    + "E7,U3,S1,,2013-01-01,,died\n"
    + "E8,U2,S1,,2013-01-02,,\n",
    "outcomes": VALID_CSV["outcomes"] + "U2,2013-08-02,emergency_admission,-2,\n",
}

_RULES_BY_HAND = {
    ("enrolments", 5, "installed_on", ProblemKind.DATE_ORDER, "2013-05-08"),
    ("enrolments", 5, "ended_on", ProblemKind.DATE_ORDER, "2013-05-01"),
    ("enrolments", 6, "end_reason", ProblemKind.INCONSISTENT_END, "2013-02-01"),
    ("enrolments", 7, "end_reason", ProblemKind.INCONSISTENT_END, "died"),
    ("outcomes", 4, "value", ProblemKind.OUT_OF_RANGE, "-2.0"),
}


def _as_parquet(folder: Path) -> tuple[Path, duckdb.DuckDBPyConnection]:
    """The folder's CSV files as Parquet, typed as an exporter writes them (dates as dates,
    numbers as numbers) and an empty end_reason kept as empty text, not NULL; and the
    connection holding them as tables."""
    con = duckdb.connect()
    for path in sorted(folder.glob("*.csv")):
        con.execute(f"CREATE TABLE {path.stem} AS SELECT * FROM read_csv('{path}', header = true)")
    con.execute("UPDATE enrolments SET end_reason = '' WHERE end_reason IS NULL")
    target = folder.with_name(folder.name + "-parquet")
    target.mkdir()
    for path in sorted(folder.glob("*.csv")):
        con.execute(f"COPY {path.stem} TO '{target / path.stem}.parquet' (FORMAT parquet)")
    return target, con


@pytest.mark.parametrize("parquet", [False, True], ids=["csv", "parquet"])
def test_row_rules_in_the_cell_checks_filter_report_what_the_typed_table_keeps(
    make_folder: MakeFolder, parquet: bool
) -> None:
    """The row rules run in the cell checks' one filter, reading the typed values there;
    on a connection threeml does not own they run over the typed table, as before. Both
    report the problems worked out by hand, and lenient mode sets aside the same rows."""
    folder = make_folder(**RULES)
    if parquet:
        folder, con = _as_parquet(folder)
    else:
        con = duckdb.connect()
        for path in sorted(folder.glob("*.csv")):
            con.execute(
                f"CREATE TABLE {path.stem} AS SELECT * FROM read_csv('{path}', "
                "all_varchar = true, header = true)"
            )
    report = validate_folder(folder, cache=False)
    header = 0 if parquet else 1
    rules = {
        (p.table, p.row - header, p.column, p.kind, p.value)
        for p in report.examples
        if p.kind
        in (ProblemKind.DATE_ORDER, ProblemKind.INCONSISTENT_END, ProblemKind.OUT_OF_RANGE)
    }
    assert rules == _RULES_BY_HAND
    assert report.counts[("enrolments", ProblemKind.DATE_ORDER)] == 3
    assert report.counts[("enrolments", ProblemKind.INCONSISTENT_END)] == 2
    try:
        in_place = Dataset.from_connection(ibis.duckdb.from_connection(con)).report
    except InvalidDataset as refused:
        in_place = refused.report
    assert found(in_place) == found(report)
    lenient = Dataset.from_folder(folder, mode=Mode.LENIENT, cache=False, max_set_aside=1.0)
    kept = lenient.table("enrolments").to_pyarrow().column("enrolment_id").to_pylist()
    # Rows out of date order are set aside; an inconsistent end is reported and kept.
    assert sorted(kept) == ["E1", "E2", "E3", "E4", "E6", "E7", "E8"]
    aside = lenient.report.set_aside
    assert aside[("enrolments", ProblemKind.DATE_ORDER)] == 1


@pytest.mark.parametrize(
    ("users", "by_hand"),
    [
        (VALID_CSV["users"], set()),
        (
            VALID_CSV["users"]
            + "U4,Kent\x07,1960,F,,\nU5,Kent,1961,\x1bM,,\nU6,Kent\x07,1962,F,,\n",
            {(4, "area", "Kent\x07"), (5, "sex", "\x1bM"), (6, "area", "Kent\x07")},
        ),
    ],
    ids=["clean", "control"],
)
def test_few_valued_text_is_searched_on_its_distinct_values(
    make_folder: MakeFolder, users: str, by_hand: set[tuple]
) -> None:
    """A Parquet file's area and sex are searched for control characters on their distinct
    values; only a column where one holds one has its rows searched, and each row holding it
    is reported, as a connection threeml does not own (which searches every row) reports."""
    from threeml.data.few_values import free_of_control_characters
    from threeml.records.schema import TABLES

    folder, con = _as_parquet(make_folder(users=users))
    con.execute(f"CREATE VIEW raw_users AS FROM '{folder / 'users.parquet'}'")
    schema = ibis.duckdb.from_connection(con).get_schema("raw_users")
    free = free_of_control_characters(con, TABLES["users"], schema, "raw_users")
    assert free == {"area", "sex"} - {column for _, column, _ in by_hand}
    con.execute("DROP VIEW raw_users")
    report = validate_folder(folder, cache=False)
    control = {
        (p.row, p.column, p.value)
        for p in report.examples
        if p.kind is ProblemKind.CONTROL_CHARACTER
    }
    assert control == by_hand
    try:
        in_place = Dataset.from_connection(ibis.duckdb.from_connection(con)).report
    except InvalidDataset as refused:
        in_place = refused.report
    assert found(in_place) == found(report)
