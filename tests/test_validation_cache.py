"""Validation once per extract: the cache's hits, misses, invalidation and distrust."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import VALID_CSV

import threeml.data.owned as owned
from threeml.cli import main
from threeml.data import Dataset
from threeml.data.cache import (
    CACHE_DIR_VARIABLE,
    LOCAL_FOLDER,
    NO_CACHE_VARIABLE,
    CacheSettingError,
    ValidationCacheNotice,
    revalidating,
)
from threeml.data.report import report_to_dict

MakeFolder = Callable[..., Path]


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The sources whose rows were checked (not answered from the cache), in order."""
    seen: list[str] = []
    real = owned.summarise

    def spy(con, relation, files):
        seen.append(relation)
        return real(con, relation, files)

    monkeypatch.setattr(owned, "summarise", spy)
    monkeypatch.delenv(NO_CACHE_VARIABLE, raising=False)
    monkeypatch.delenv(CACHE_DIR_VARIABLE, raising=False)
    return seen


def _cache_files(folder: Path) -> list[Path]:
    return sorted((folder / LOCAL_FOLDER).glob("validation-*.json"))


def _kept_rows(dataset: Dataset) -> dict[str, list[dict]]:
    return {
        name: sorted(table.to_pyarrow().to_pylist(), key=repr)
        for name, table in dataset.tables.items()
    }


def test_a_second_load_of_an_unchanged_folder_checks_no_row(
    make_folder: MakeFolder, checks: list[str]
) -> None:
    folder = make_folder()
    first = Dataset.from_folder(folder)
    second = Dataset.from_folder(folder)
    assert len(checks) == 1
    assert len(_cache_files(folder)) == 1
    assert report_to_dict(second.report) == report_to_dict(first.report)
    assert second.extract_date == first.extract_date
    assert _kept_rows(second) == _kept_rows(first)


@pytest.mark.parametrize(
    "change",
    ["touch", "modify", "add", "remove"],
)
def test_any_change_to_a_file_validates_again(
    make_folder: MakeFolder, checks: list[str], change: str
) -> None:
    folder = make_folder(targets=None)
    before = Dataset.from_folder(folder)
    if change == "touch":
        stat = (folder / "users.csv").stat()
        os.utime(folder / "users.csv", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    elif change == "modify":
        with open(folder / "users.csv", "a", encoding="utf-8") as out:
            out.write("U4,Kent,1960,F,,0.1\n")
    elif change == "add":
        (folder / "targets.csv").write_text(VALID_CSV["targets"], encoding="utf-8")
    else:
        (folder / "allocations.csv").unlink()
    after = Dataset.from_folder(folder)
    assert len(checks) == 2
    rows = after.count_rows()
    if change == "modify":
        assert rows["users"] == before.count_rows()["users"] + 1
    if change == "add":
        assert rows["targets"] == 2
    if change == "remove":
        assert rows["allocations"] == 0
    # The entry was replaced, not added to.
    assert len(_cache_files(folder)) == 1
    Dataset.from_folder(folder)
    assert len(checks) == 2


def test_a_changed_file_of_the_same_size_and_time_is_seen(
    make_folder: MakeFolder, checks: list[str]
) -> None:
    folder = make_folder()
    Dataset.from_folder(folder)
    path = folder / "users.csv"
    stat = path.stat()
    path.write_text(VALID_CSV["users"].replace("Kent,1940", "Kant,1940"), encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    dataset = Dataset.from_folder(folder)
    assert len(checks) == 2
    areas = {row["area"] for row in dataset.table("users").to_pyarrow().to_pylist()}
    assert "Kant" in areas


def test_a_rewritten_parquet_file_is_seen(tmp_path: Path, checks: list[str]) -> None:
    csv_folder = tmp_path / "csv"
    csv_folder.mkdir()
    for name, text in VALID_CSV.items():
        (csv_folder / f"{name}.csv").write_text(text, encoding="utf-8")
    folder = tmp_path / "parquet"
    folder.mkdir()
    source = Dataset.from_folder(csv_folder, cache=False)
    for name, table in source.tables.items():
        pq.write_table(table.to_pyarrow(), folder / f"{name}.parquet")
    checks.clear()
    Dataset.from_folder(folder)
    Dataset.from_folder(folder)
    assert len(checks) == 1
    users = pq.read_table(folder / "users.parquet")
    pq.write_table(users.slice(0, 2), folder / "users.parquet")
    with pytest.raises(Exception, match="error"):  # U3's enrolment now refers to no user
        Dataset.from_folder(folder)
    assert len(checks) == 2


def test_a_damaged_cache_file_is_ignored_with_a_notice(
    make_folder: MakeFolder, checks: list[str]
) -> None:
    folder = make_folder()
    Dataset.from_folder(folder)
    (path,) = _cache_files(folder)
    path.write_text("{not json", encoding="utf-8")
    with pytest.warns(ValidationCacheNotice, match="cannot be read as JSON"):
        dataset = Dataset.from_folder(folder)
    assert len(checks) == 2
    assert dataset.report.rows["users"] == 3
    # ... and replaced by a good one.
    Dataset.from_folder(folder)
    assert len(checks) == 2


def test_an_edited_cache_file_is_not_trusted(make_folder: MakeFolder, checks: list[str]) -> None:
    folder = make_folder()
    Dataset.from_folder(folder)
    (path,) = _cache_files(folder)
    document = json.loads(path.read_text(encoding="utf-8"))
    document["result"]["report"]["rows"] = [["users", 999]]
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.warns(ValidationCacheNotice, match="does not match its own hash"):
        dataset = Dataset.from_folder(folder)
    assert dataset.report.rows["users"] == 3
    assert len(checks) == 2


def test_a_foreign_json_file_is_not_trusted(make_folder: MakeFolder, checks: list[str]) -> None:
    folder = make_folder()
    Dataset.from_folder(folder)
    (path,) = _cache_files(folder)
    path.write_text(json.dumps({"rows": {"users": 999}}), encoding="utf-8")
    with pytest.warns(ValidationCacheNotice, match="not a threeml validation cache"):
        Dataset.from_folder(folder)
    assert len(checks) == 2


def test_revalidating_checks_again_and_replaces_the_entry(
    make_folder: MakeFolder, checks: list[str]
) -> None:
    folder = make_folder()
    Dataset.from_folder(folder)
    with revalidating():
        Dataset.from_folder(folder)
    assert len(checks) == 2
    Dataset.from_folder(folder)
    assert len(checks) == 2


def test_revalidate_on_the_command_line(
    make_folder: MakeFolder, checks: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    folder = make_folder()
    for args in (
        ["validate", str(folder)],
        ["validate", str(folder)],
        ["validate", str(folder), "--revalidate"],
        ["count", "in-receipt", "--data", str(folder), "--period", "2013"],
        ["count", "in-receipt", "--data", str(folder), "--period", "2013", "--revalidate"],
        ["explain", "in-receipt", "U1", "--data", str(folder), "--period", "2013", "--revalidate"],
    ):
        assert main(args) == 0, capsys.readouterr()
    assert len(checks) == 4


def test_a_damaged_cache_is_a_notice_on_the_command_line(
    make_folder: MakeFolder, checks: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    folder = make_folder()
    assert main(["validate", str(folder)]) == 0
    (path,) = _cache_files(folder)
    path.write_bytes(b"\x00\xff")
    capsys.readouterr()
    assert main(["validate", str(folder)]) == 0
    err = capsys.readouterr().err
    assert err.startswith("notice: ignored the validation cache file")
    assert "validated again" in err


def test_no_cache_keeps_nothing(
    make_folder: MakeFolder, checks: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(NO_CACHE_VARIABLE, "1")
    folder = make_folder()
    Dataset.from_folder(folder)
    Dataset.from_folder(folder)
    assert len(checks) == 2
    assert not (folder / LOCAL_FOLDER).exists()


def test_a_bad_no_cache_value_is_named(
    make_folder: MakeFolder,
    checks: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(NO_CACHE_VARIABLE, "perhaps")
    folder = make_folder()
    with pytest.raises(CacheSettingError, match="THREEML_NO_CACHE='perhaps'"):
        Dataset.from_folder(folder)
    assert main(["validate", str(folder)]) == 2
    assert "THREEML_NO_CACHE='perhaps' is not a switch" in capsys.readouterr().err


def test_the_cache_folder_can_be_chosen(
    make_folder: MakeFolder, checks: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    chosen = tmp_path / "kept"
    monkeypatch.setenv(CACHE_DIR_VARIABLE, str(chosen))
    folder = make_folder()
    Dataset.from_folder(folder)
    Dataset.from_folder(folder)
    assert len(checks) == 1
    assert len(list(chosen.glob("validation-*.json"))) == 1
    assert not (folder / LOCAL_FOLDER).exists()
    # Deleting the cache is safe: the next load validates again.
    for path in chosen.iterdir():
        path.unlink()
    Dataset.from_folder(folder)
    assert len(checks) == 2


def test_a_cache_folder_that_is_a_file_is_named(
    make_folder: MakeFolder, checks: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    monkeypatch.setenv(CACHE_DIR_VARIABLE, str(tmp_path / "a-file"))
    with pytest.raises(CacheSettingError, match=r"THREEML_CACHE_DIR=.* is a file, not a folder"):
        Dataset.from_folder(make_folder())


def test_options_are_part_of_the_key(make_folder: MakeFolder, checks: list[str]) -> None:
    folder = make_folder()
    Dataset.from_folder(folder)
    Dataset.from_folder(folder, mode="lenient")
    Dataset.from_folder(folder, extract_date="2013-12-31")
    assert len(checks) == 3
    dated = Dataset.from_folder(folder, extract_date="2013-12-31")
    assert len(checks) == 3
    assert str(dated.extract_date) == "2013-12-31"


def _bad_users() -> str:
    return VALID_CSV["users"].replace("U2,Kent,1950,M,,0.7", "U2,Kent,1950,M,,high")


def test_lenient_rows_set_aside_come_back_identical(
    make_folder: MakeFolder, checks: list[str]
) -> None:
    contacts = VALID_CSV["contacts"] + "U1,E1,2013-13-01,reading\nU1,E4,not a date,alarm_call\n"
    folder = make_folder(users=_bad_users(), contacts=contacts)
    first = Dataset.from_folder(folder, mode="lenient", max_set_aside=1.0)
    second = Dataset.from_folder(folder, mode="lenient", max_set_aside=1.0)
    assert len(checks) == 1
    assert report_to_dict(second.report) == report_to_dict(first.report)
    assert second.report.rows_set_aside("users") == 1
    assert second.report.rows_set_aside("contacts") == 3  # U2's, and the two bad dates
    assert _kept_rows(second) == _kept_rows(first)
    users = {row["user_id"] for row in second.table("users").to_pyarrow().to_pylist()}
    assert users == {"U1", "U3"}
    con = second.backend.con
    assert sorted(con.execute("SELECT row, kind FROM aside_contacts").fetchall()) == sorted(
        first.backend.con.execute("SELECT row, kind FROM aside_contacts").fetchall()
    )


def test_a_refused_extract_is_refused_again_from_the_cache(
    make_folder: MakeFolder, checks: list[str]
) -> None:
    folder = make_folder(users=_bad_users())
    with pytest.raises(Exception, match="1 error"):
        Dataset.from_folder(folder)
    with pytest.raises(Exception, match="1 error"):
        Dataset.from_folder(folder)
    assert len(checks) == 1


def test_the_fingerprint_is_the_files_stamps_and_reads_no_row(
    make_folder: MakeFolder, checks: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import threeml.data.fingerprint as fingerprints
    import threeml.data.stamps as stamps

    folder = make_folder()
    computed = fingerprints.fingerprint(Dataset.from_folder(folder))
    hashed: list[str] = []
    real_hash = stamps.content_hash

    def spy_hash(path, file_format):
        hashed.append(Path(path).name)
        return real_hash(path, file_format)

    def no_rows(dataset):
        raise AssertionError("a folder's fingerprint hashes no row")

    monkeypatch.setattr(stamps, "content_hash", spy_hash)
    monkeypatch.setattr(fingerprints, "_duckdb_sums", no_rows)
    again = Dataset.from_folder(folder)  # answered from the cache
    assert len(checks) == 1
    loaded = len(hashed)  # each file hashed once, for the cache's key
    assert loaded == len(list(folder.glob("*.csv")))
    assert fingerprints.fingerprint(again) == computed
    assert len(hashed) == loaded  # the provenance reads the stamps taken at loading
    # Asked not to trust them (as verify does), the files are hashed again, to the same result.
    assert fingerprints.fingerprint(again, kept=False) == computed
    assert len(hashed) == 2 * loaded
    # Without the cache the fingerprint is the same (the stamps are taken all the same).
    assert fingerprints.fingerprint(Dataset.from_folder(folder, cache=False)) == computed
    users = computed.table("users")
    assert (users.source, users.rows) == ("users.csv", again.count_rows()["users"])
    assert users.sha256 == stamps.content_hash(folder / "users.csv", "csv")
    # A changed file changes its table's hash, and only that.
    with open(folder / "contacts.csv", "a", encoding="utf-8") as out:
        out.write("U1,E1,2013-01-13,reading\n")
    changed = fingerprints.fingerprint(Dataset.from_folder(folder))
    assert changed.table("contacts") != computed.table("contacts")
    assert changed.table("contacts").rows == computed.table("contacts").rows + 1
    assert changed.table("users") == computed.table("users")
    assert changed.digest != computed.digest


def test_a_fingerprint_counts_the_rows_kept_after_set_aside(
    make_folder: MakeFolder, checks: list[str]
) -> None:
    import threeml.data.fingerprint as fingerprints

    folder = make_folder(users=_bad_users())
    dataset = Dataset.from_folder(folder, mode="lenient", max_set_aside=1.0)
    found = fingerprints.fingerprint(dataset)
    kept = dataset.count_rows()
    assert {t.table: t.rows for t in found.tables} == kept
    assert found.table("users").rows < dataset.report.rows["users"]
