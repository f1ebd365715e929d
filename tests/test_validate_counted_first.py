"""A table's cell checks counted first (issue 19): the same problems, found either way.

On the embedded engine, a Parquet table whose every cell check has a cheap test of its own
(:attr:`threeml.data.checks.Check.passes`; the contacts) is first asked, in one scan that
tests plain comparisons as it reads, how many rows pass every test; only when some row does
not is the checks' filter run (:mod:`threeml.data.owned`). These cases compare that path with
the filter run always, on contacts drawn from values that break each check, pass it by a
narrow margin (a 150-character id of 300 bytes, the last plausible day) or are missing.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import VALID_CSV
from hypothesis import given, settings
from hypothesis import strategies as st

from threeml.data import Dataset, Mode, owned, validate_folder
from threeml.data.plausible import DateWindow
from threeml.data.report import ValidationReport

LATEST = DateWindow.for_run().latest
USERS = ["U1", "U2", "U3", "", None, "é" * 150, "U" * 201, "U9"]
ENROLMENTS = ["E1", "E2", "E4", "", None, "E9"]
DATES = [
    date(2013, 1, 11),
    date(1900, 1, 1),
    date(1899, 12, 31),
    LATEST,
    LATEST + timedelta(days=1),
    None,
]
KINDS = ["reading", "alarm_call", "READING", "pendant", "", None]

contact = st.tuples(
    st.sampled_from(USERS),
    st.sampled_from(ENROLMENTS),
    st.sampled_from(DATES),
    st.sampled_from(KINDS),
)


def _write(folder: Path, contacts: list[tuple]) -> Path:
    folder.mkdir()
    for name, text in VALID_CSV.items():
        if name != "contacts":
            (folder / f"{name}.csv").write_text(text)
    users, enrolments, dates, kinds = (list(c) for c in zip(*contacts, strict=True))
    table = pa.table(
        {"user_id": users, "enrolment_id": enrolments, "date": dates, "kind": kinds},
        schema=pa.schema(
            [
                ("user_id", pa.string()),
                ("enrolment_id", pa.string()),
                ("date", pa.date32()),
                ("kind", pa.string()),
            ]
        ),
    )
    pq.write_table(table, folder / "contacts.parquet")
    return folder


def _reported(report: ValidationReport) -> tuple:
    problems = sorted(
        (p.table, p.file or "", p.row or 0, p.column or "", p.kind.value, p.message, p.value or "")
        for p in report.examples
    )
    return problems, dict(report.counts), dict(report.rows), dict(report.set_aside)


def _both_ways(folder: Path, monkeypatch: pytest.MonkeyPatch, mode: Mode) -> tuple:
    first = validate_folder(folder, mode=mode, cache=False)
    with monkeypatch.context() as always:
        always.setattr(owned, "_every_row_passes", lambda *args: False)
        filtered = validate_folder(folder, mode=mode, cache=False)
    return _reported(first), _reported(filtered)


def test_a_clean_table_is_counted_and_not_filtered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    contacts = [("U1", "E1", date(2013, 1, 11), "reading"), ("U2", "E2", LATEST, "alarm_call")]
    folder = _write(tmp_path / "clean", contacts)
    ran: list[str] = []
    original = owned._run_flagged

    def spy(con: object, relation: str, *args: object) -> None:
        ran.append(relation)
        original(con, relation, *args)

    monkeypatch.setattr(owned, "_run_flagged", spy)
    dataset = Dataset.from_folder(folder, cache=False)
    assert dataset.report.ok
    assert "_flagged_contacts" not in ran
    assert "_flagged_users" in ran  # CSV text: filtered as before
    assert dataset.count_rows()["contacts"] == 2


def test_an_id_of_many_bytes_but_few_characters_is_not_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Worked by hand: 150 characters of two bytes each fail the cheap test (300 bytes) but
    not the check (at most 200 characters): the filter runs and reports nothing on it."""
    folder = _write(tmp_path / "wide", [("é" * 150, "E1", date(2013, 1, 11), "reading")])
    counted, filtered = _both_ways(folder, monkeypatch, Mode.STRICT)
    assert counted == filtered
    kinds = {(table, kind.value) for (table, kind), n in counted[1].items() if n}
    assert ("contacts", "text too long") not in kinds
    assert ("contacts", "unknown reference") in kinds  # no user has that id


@settings(max_examples=8, deadline=None)
@given(st.lists(contact, min_size=1, max_size=6), st.sampled_from([Mode.STRICT, Mode.LENIENT]))
def test_counted_first_reports_what_the_filter_reports(
    tmp_path_factory: pytest.TempPathFactory, contacts: list[tuple], mode: Mode
) -> None:
    folder = _write(tmp_path_factory.mktemp("drawn") / "extract", contacts)
    with pytest.MonkeyPatch.context() as monkeypatch:
        counted, filtered = _both_ways(folder, monkeypatch, mode)
    assert counted == filtered
