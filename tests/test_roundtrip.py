"""Random valid extracts survive CSV and Parquet; random damage to a CSV file is reported.

The oracle for damaged files is the record types themselves: the file is read with
Python's ``csv`` module, each row is built into a record (cells trimmed, empty cells
empty) and the relations between the tables are checked in Python. The loader must
either report a problem or load exactly that data.
"""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from enum import Enum
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from threeml import (
    Allocation,
    Arm,
    Contact,
    ContactKind,
    EndReason,
    Enrolment,
    Outcome,
    OutcomeKind,
    Sector,
    Service,
    ServiceKind,
    Target,
    User,
)
from threeml.data import Dataset, InvalidDataset, ProblemKind
from threeml.errors import DataError
from threeml.records.codes import ADMISSION_KINDS, CONDITIONS
from threeml.records.schema import TABLES

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Text that needs quoting in CSV (commas, quotes), looks like other types ("001", "NULL",
# "2013-01-01") or is not ASCII; never surrounding white space, which the records strip, nor
# control characters such as a line break, which no text value may hold (issue 14).
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 ,;\"'-_.é中"
_text = st.text(ALPHABET, min_size=1, max_size=8).map(str.strip).filter(bool)
words = st.one_of(_text, st.sampled_from(["001", "NULL", "NA", "2013-01-01", "1e5", "true"]))
# Known condition codes, some written as people write them (read back in their one form);
# unknown codes would be reported as warnings.
condition_codes = st.sampled_from([*CONDITIONS, "COPD", "Heart failure", "heart-failure"])
days = st.dates(min_value=date(2010, 1, 1), max_value=date(2015, 12, 31))
finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
non_negative = st.floats(min_value=0, allow_nan=False, allow_infinity=False)


def _maybe(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.none() | strategy


@st.composite
def _later(draw: st.DrawFn, *earlier: date | None) -> date | None:
    """An optional date not before any of ``earlier``."""
    floor = max((d for d in earlier if d is not None), default=date(2010, 1, 1))
    return draw(_maybe(st.dates(min_value=floor, max_value=floor + timedelta(days=900))))


@st.composite
def extracts(draw: st.DrawFn) -> dict[str, list[Any]]:
    """A random valid extract as record objects, keyed by table name."""
    areas = draw(st.lists(words, min_size=1, max_size=3, unique=True))
    user_ids = draw(st.lists(words, min_size=1, max_size=6, unique=True))
    users = [
        User(
            user_id=uid,
            area=draw(st.sampled_from(areas)),
            birth_year=draw(_maybe(st.integers(1880, 2100))),
            sex=draw(_maybe(words)),
            conditions=draw(st.lists(condition_codes, max_size=3)),
            risk_score=draw(_maybe(st.floats(0, 1))),
        )
        for uid in user_ids
    ]
    service_ids = draw(st.lists(words, min_size=1, max_size=4, unique=True))
    services = [
        Service(
            service_id=sid,
            kind=draw(st.sampled_from(ServiceKind)),
            sector=draw(st.sampled_from(Sector)),
            area=draw(st.sampled_from(areas)),
            provider=draw(_maybe(words)),
            annual_cost=draw(_maybe(non_negative)),
        )
        for sid in service_ids
    ]
    enrolment_ids = draw(st.lists(words, max_size=6, unique=True))
    enrolments = []
    for eid in enrolment_ids:
        referred = draw(_maybe(days))
        installed = draw(_later(referred))
        ended = draw(_later(referred, installed))
        enrolments.append(
            Enrolment(
                enrolment_id=eid,
                user_id=draw(st.sampled_from(user_ids)),
                service_id=draw(st.sampled_from(service_ids)),
                referred_on=referred,
                installed_on=installed,
                ended_on=ended,
                # An end date and a reason come together (one alone is a warning).
                end_reason=draw(st.sampled_from(EndReason)) if ended else None,
            )
        )
    contacts = []
    if enrolments:
        for _ in range(draw(st.integers(0, 8))):
            enrolment = draw(st.sampled_from(enrolments))
            contacts.append(
                Contact(
                    user_id=enrolment.user_id,
                    enrolment_id=enrolment.enrolment_id,
                    date=draw(days),
                    kind=draw(st.sampled_from(ContactKind)),
                )
            )
    outcomes = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(OutcomeKind))
        value = draw(_maybe(non_negative if kind in ADMISSION_KINDS else finite))
        outcomes.append(
            Outcome(
                user_id=draw(st.sampled_from(user_ids)),
                date=draw(days),
                kind=kind,
                value=value,
                cost=draw(_maybe(non_negative)),
            )
        )
    allocations = [
        Allocation(
            user_id=draw(st.sampled_from(user_ids)),
            trial=draw(words),
            arm=draw(st.sampled_from(Arm)),
            allocated_on=draw(days),
        )
        for _ in range(draw(st.integers(0, 3)))
    ]
    targets = [
        Target(
            definition=draw(words),
            area=draw(st.sampled_from([*areas, "all"])),
            value=draw(non_negative),
            due=draw(days),
        )
        for _ in range(draw(st.integers(0, 2)))
    ]
    return {
        "users": users,
        "services": services,
        "enrolments": enrolments,
        "contacts": contacts,
        "outcomes": outcomes,
        "allocations": allocations,
        "targets": targets,
    }


# --- writing ------------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    """A value as a CSV cell: empty for None, codes as codes, ``;`` between conditions."""
    if value is None:
        return ""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple):
        return ";".join(value)
    if isinstance(value, float):
        return repr(value)  # the shortest text that reads back as the same float
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _csv_text(name: str, records: list[Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(TABLES[name].column_names)
    for record in records:
        writer.writerow([_cell(getattr(record, c)) for c in TABLES[name].column_names])
    return out.getvalue()


def _python_value(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple):
        return list(value)
    return value


def _arrow(name: str, records: list[Any]) -> pa.Table:
    rows = [
        {c: _python_value(getattr(record, c)) for c in TABLES[name].column_names}
        for record in records
    ]
    return pa.Table.from_pylist(rows, schema=TABLES[name].arrow_schema())


@contextmanager
def _folder() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="threeml-roundtrip-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# --- comparing ----------------------------------------------------------------------------------


def _expected_rows(name: str, records: list[Any]) -> list[tuple]:
    columns = TABLES[name].column_names
    rows = [tuple(_comparable(_python_value(getattr(r, c))) for c in columns) for r in records]
    return sorted(rows, key=repr)


def _loaded_rows(dataset: Dataset, name: str) -> list[tuple]:
    columns = TABLES[name].column_names
    table = dataset.table(name).to_pyarrow().to_pylist()
    return sorted((tuple(_comparable(row[c]) for c in columns) for row in table), key=repr)


def _comparable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _latest_event(extract: dict[str, list[Any]]) -> date | None:
    dates = [
        getattr(record, col.name)
        for name, records in extract.items()
        if name != "targets"
        for record in records
        for col in TABLES[name].columns
        if col.type.value == "date" and getattr(record, col.name) is not None
    ]
    return max(dates, default=None)


def _assert_same(
    dataset: Dataset, extract: dict[str, list[Any]], *, warnings: bool = False
) -> None:
    assert dataset.report.ok, dataset.report.examples
    if not warnings:
        assert dataset.report.warnings == 0, dataset.report.examples
    for name, records in extract.items():
        assert _loaded_rows(dataset, name) == _expected_rows(name, records), name
    assert dataset.extract_date == _latest_event(extract)


# --- the round trip -----------------------------------------------------------------------------


@SETTINGS
@given(extracts())
def test_valid_extracts_round_trip_through_csv_and_parquet(extract) -> None:
    with _folder() as folder:
        for name, records in extract.items():
            (folder / f"{name}.csv").write_bytes(_csv_text(name, records).encode("utf-8"))
        _assert_same(Dataset.from_folder(folder), extract)
    with _folder() as folder:
        for name, records in extract.items():
            pq.write_table(_arrow(name, records), folder / f"{name}.parquet")
        _assert_same(Dataset.from_folder(folder), extract)


# --- damaged files ------------------------------------------------------------------------------

RECORDS = {name: spec.record for name, spec in TABLES.items()}


def _interpret(texts: dict[str, str]) -> dict[str, list[Any]] | None:
    """What the CSV texts mean, by the record types; ``None`` when they are not valid.

    Read as the loader reads CSV: columns found by their (trimmed) header names, columns
    the schema does not know ignored, optional columns that are absent empty; cells
    trimmed of surrounding white space, and empty cells empty.
    """
    extract: dict[str, list[Any]] = {}
    for name, text in texts.items():
        rows = list(csv.reader(io.StringIO(text)))
        spec = TABLES[name]
        if not rows:
            return None
        header = [cell.strip() for cell in rows[0]]
        if len(set(header)) != len(header):
            return None
        if any(not c.may_be_absent and c.name not in header for c in spec.columns):
            return None
        records = []
        for row in rows[1:]:
            if not row:
                continue  # a blank line
            if len(row) != len(header):
                return None
            cells = {
                column: value.strip(" \t\r\n\x0b\x0c")
                for column, value in zip(header, row, strict=True)
                if column in spec.column_names
            }
            given = {column: value for column, value in cells.items() if value}
            if any(c.required and c.name not in given for c in spec.columns):
                return None
            try:
                records.append(RECORDS[name](**given))
            except ValueError:
                return None
        extract[name] = records
    return extract if _relations_hold(extract) else None


def _relations_hold(extract: dict[str, list[Any]]) -> bool:
    keys: dict[str, set[str]] = {}
    for name, records in extract.items():
        spec = TABLES[name]
        if spec.key:
            values = [getattr(r, spec.key) for r in records]
            if len(values) != len(set(values)):
                return False
            keys[name] = set(values)
    for name, records in extract.items():
        for col in TABLES[name].columns:
            if col.references:
                other, _ = col.references
                if any(getattr(r, col.name) not in keys[other] for r in records):
                    return False
    owner = {e.enrolment_id: e.user_id for e in extract["enrolments"]}
    return all(owner[c.enrolment_id] == c.user_id for c in extract["contacts"])


@st.composite
def damage(draw: st.DrawFn, text: str) -> str:
    """``text`` with one random change: a cell replaced, padded with spaces or deleted, a line
    doubled, a quote inserted anywhere."""
    lines = text.split("\n")[:-1]
    how = draw(st.sampled_from(["replace", "pad", "delete", "duplicate", "quote"]))
    event(f"damage: {how}")
    number = draw(st.integers(0, len(lines) - 1))
    if how == "duplicate":
        lines.insert(number, lines[number])
        return "\n".join(lines) + "\n"
    if how == "quote":
        position = draw(st.integers(0, len(text)))
        return text[:position] + '"' + text[position:]
    cells = next(csv.reader([lines[number]])) if lines[number] else [""]
    index = draw(st.integers(0, len(cells) - 1))
    if how == "delete":
        del cells[index]
    elif how == "pad":
        cells[index] = draw(st.sampled_from([" ", "\t", "  "])) + cells[index] + " "
    else:
        cells[index] = draw(
            st.one_of(
                st.text(ALPHABET, max_size=6),
                st.sampled_from(
                    ["13/01/2013", "2013-02-30", "high", "-1", "1.5", "Telecare", " ", "x,y"]
                ),
            )
        )
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    lines[number] = out.getvalue()
    return "\n".join(lines) + "\n"


@settings(SETTINGS, max_examples=30)
@given(st.data())
def test_damaged_csv_is_reported_or_read_as_written(data) -> None:
    extract = data.draw(extracts())
    texts = {name: _csv_text(name, records) for name, records in extract.items()}
    name = data.draw(st.sampled_from(sorted(texts)))
    texts[name] = data.draw(damage(texts[name]), label=f"damaged {name}")
    with _folder() as folder:
        for table, text in texts.items():
            (folder / f"{table}.csv").write_bytes(text.encode("utf-8"))
        try:
            dataset = Dataset.from_folder(folder, mode="lenient", max_set_aside=1.0)
        except InvalidDataset as refused:  # a structural problem, such as a damaged header
            report = refused.report
            assert not report.ok
            dataset = None
        except DataError as unreadable:  # a header that is not CSV: the file is refused whole
            assert f"{name}.csv" in str(unreadable)
            event("refused as unreadable")
            return
        else:
            report = dataset.report
    meaning = _interpret(texts)
    event("loaded as written" if report.ok else "reported")
    if report.ok:
        assert meaning is not None, f"accepted, but the records refuse it: {texts[name]!r}"
        assert dataset is not None
        _assert_same(dataset, meaning, warnings=True)
    else:
        assert report.errors > 0
        lines = {f"{table}.csv": text.count("\n") + 1 for table, text in texts.items()}
        for problem in report.examples:
            assert problem.kind is ProblemKind.MISSING_TABLE or problem.file in lines, problem
            if problem.row is not None:
                assert 1 <= problem.row <= lines[problem.file], problem


def test_the_strategy_makes_varied_extracts() -> None:
    """Guard against a strategy that quietly stops producing the interesting cases."""
    seen: dict[str, int] = dict.fromkeys(["contacts", "never installed", "open", "comma"], 0)

    @settings(max_examples=60, deadline=None, database=None)
    @given(extracts())
    def collect(extract) -> None:
        seen["contacts"] += bool(extract["contacts"])
        seen["never installed"] += any(e.installed_on is None for e in extract["enrolments"])
        seen["open"] += any(
            e.installed_on is not None and e.ended_on is None for e in extract["enrolments"]
        )
        ids = [u.user_id for u in extract["users"]]
        seen["comma"] += any("," in i or '"' in i or "\n" in i for i in ids)

    collect()
    assert all(seen.values()), seen
