"""The synthetic generator: deterministic, valid, shaped like the schema and like real data."""

from __future__ import annotations

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from threeml.cli import main
from threeml.data import Dataset
from threeml.data.synth import Mix, synthesise
from threeml.engine.evaluate import count
from threeml.plugins.registry import default_registry
from threeml.records.schema import TABLES


@pytest.fixture(scope="module")
def extract(tmp_path_factory):
    folder = tmp_path_factory.mktemp("synth")
    summary = synthesise(folder, users=3000, seed=7)
    return folder, summary


def test_same_size_and_seed_give_byte_identical_files(extract, tmp_path) -> None:
    folder, summary = extract
    again = synthesise(tmp_path, users=3000, seed=7)
    for path in summary.files:
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name
    other = synthesise(tmp_path / "other", users=3000, seed=8)
    assert (other.folder / "contacts.parquet").read_bytes() != (
        folder / "contacts.parquet"
    ).read_bytes()
    assert again.rows == summary.rows


def test_files_follow_the_record_types_schema(extract) -> None:
    folder, _ = extract
    for name, spec in TABLES.items():
        schema = pq.read_schema(folder / f"{name}.parquet")
        assert schema.names == list(spec.column_names)
        assert [f.type for f in schema] == [f.type for f in spec.arrow_schema()]


def test_extract_is_valid_in_strict_mode_in_both_formats(extract, tmp_path) -> None:
    folder, _ = extract
    assert Dataset.from_folder(folder).report.ok
    synthesise(tmp_path, users=500, seed=3, fmt="csv")
    assert Dataset.from_folder(tmp_path).report.ok


def test_contacts_are_in_date_order_and_some_fall_outside_their_window(extract) -> None:
    folder, _ = extract
    contacts = pq.read_table(folder / "contacts.parquet")
    days = contacts["date"]
    assert pc.all(pc.greater_equal(days[1:], days[:-1])).as_py()
    dataset = Dataset.from_folder(folder)
    joined = dataset.table("contacts").join(dataset.table("enrolments"), "enrolment_id")
    outside = (
        joined.filter(
            joined.installed_on.isnull()
            | (joined.date < joined.installed_on)
            | (joined.ended_on.notnull() & (joined.date > joined.ended_on))
        )
        .count()
        .execute()
    )
    share = outside / contacts.num_rows
    assert 0.005 < share < 0.08


def test_the_mix_of_service_kinds_is_configurable(tmp_path) -> None:
    synthesise(
        tmp_path, users=4000, seed=1, mix=Mix(telecare=0.5, telehealth=0.5, telecoaching=0.0)
    )
    dataset = Dataset.from_folder(tmp_path)
    e = dataset.table("enrolments").join(dataset.table("services"), "service_id")
    shares = e.group_by("kind").agg(n=e.count()).to_pyarrow().to_pylist()
    by_kind = {row["kind"]: row["n"] for row in shares}
    total = sum(by_kind.values())
    assert "telecoaching" not in by_kind
    assert 0.35 < by_kind["telehealth"] / total < 0.65


def test_the_data_gives_every_standard_definition_something_to_count(extract) -> None:
    folder, _ = extract
    dataset = Dataset.from_folder(folder)
    registry = default_registry()
    for definition in registry.counting_definitions():
        if definition.source and definition.source.plugin == "counting":
            assert count(definition, dataset, "FY2013/14", registry=registry).count > 0


def test_synth_command_writes_csv(tmp_path, capsys) -> None:
    assert (
        main(["synth", "--users", "300", "--seed", "1", "--out", str(tmp_path), "--format", "csv"])
        == 0
    )
    assert "wrote" in capsys.readouterr().out
    header = (tmp_path / "users.csv").read_text().splitlines()[0]
    assert header == ",".join(TABLES["users"].column_names)


def test_demo_generates_and_reuses_its_extract(tmp_path, monkeypatch, capsys) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("THREEML_CACHE", str(cache))
    report = tmp_path / "report"
    assert main(["demo", "--users", "2000", "--out", str(report)]) == 0
    out = capsys.readouterr().out
    for definition in default_registry().counting_definitions():
        assert definition.name in out
    assert (report / "report.html").read_text().startswith("<!DOCTYPE html>")
    generated = sorted(p.name for p in cache.iterdir())
    assert main(["demo", "--users", "2000", "--no-report"]) == 0
    assert sorted(p.name for p in cache.iterdir()) == generated
