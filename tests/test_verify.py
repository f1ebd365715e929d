"""`threeml verify`: a published file checked against its extract and its definitions."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import attrs
import pytest

from threeml.cli import main
from threeml.data import Dataset
from threeml.data.demo import demo_folder
from threeml.plugins.registry import default_registry
from threeml.publish.provenance import definition_hash
from threeml.publish.verify import verify

PERIOD = "2013"


@pytest.fixture
def extract(tmp_path: Path) -> Path:
    folder = tmp_path / "extract"
    shutil.copytree(demo_folder(), folder)
    return folder


def _count_json(capsys, folder: Path, out: Path, *extra: str) -> dict:
    args = ["count", "in-receipt", "--data", str(folder), "--period", PERIOD]
    assert main([*args, "--format", "json", *extra]) == 0
    out.write_text(capsys.readouterr().out, encoding="utf-8")
    return json.loads(out.read_text(encoding="utf-8"))


def _verify(capsys, results: Path, folder: Path) -> tuple[int, str]:
    status = main(["verify", str(results), "--data", str(folder)])
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def test_verify_passes_on_a_fresh_count(capsys, extract: Path, tmp_path: Path) -> None:
    results = tmp_path / "count.json"
    data = _count_json(capsys, extract, results)
    assert data["audit"]["solver"].startswith("HiGHS")
    stamps = data["provenance"]["definitions"]
    assert stamps[0]["sha256"] == definition_hash(default_registry().counting("in-receipt"))
    status, out = _verify(capsys, results, extract)
    assert status == 0, out
    assert "matches" in out


def test_verify_passes_on_a_fresh_report(capsys, extract: Path, tmp_path: Path) -> None:
    folder = tmp_path / "report"
    args = ["report", "--data", str(extract), "--period", PERIOD, "--out", str(folder)]
    assert main([*args, "--definitions", "in-receipt,telehealth", "--metrics", "none"]) == 0
    capsys.readouterr()
    status, out = _verify(capsys, folder / "results.json", extract)
    assert status == 0, out


def test_verify_passes_on_a_report_of_one_area(capsys, extract: Path, tmp_path: Path) -> None:
    folder = tmp_path / "report"
    args = ["report", "--data", str(extract), "--period", PERIOD, "--out", str(folder)]
    extra = ["--definitions", "in-receipt", "--metrics", "none", "--area", "Kent"]
    assert main([*args, *extra]) == 0
    capsys.readouterr()
    status, out = _verify(capsys, folder / "results.json", extract)
    assert status == 0, out


def test_verify_fails_naming_the_figure_when_one_row_changed(
    capsys, extract: Path, tmp_path: Path
) -> None:
    results = tmp_path / "count.json"
    _count_json(capsys, extract, results, "--disclosure", "none")
    dataset = Dataset.from_folder(extract)
    from threeml.engine.evaluate import count

    member = sorted(count(default_registry().counting("in-receipt"), dataset, PERIOD).members())[0]
    users = extract / "users.csv"
    rows = list(csv.DictReader(users.open(encoding="utf-8")))
    before = next(row for row in rows if row["user_id"] == member)
    after = next(row["area"] for row in rows if row["area"] != before["area"])
    old = before["area"]
    before["area"] = after
    with users.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    status, out = _verify(capsys, results, extract)
    assert status == 1
    assert "extract table users content" in out
    assert f"breakdown.area[{old}].count" in out
    assert f"breakdown.area[{after}].count" in out


def test_verify_refuses_naming_a_definition_changed_under_the_same_version(
    capsys, extract: Path, tmp_path: Path
) -> None:
    results = tmp_path / "count.json"
    data = _count_json(capsys, extract, results)
    registry = default_registry()
    original = registry.counting("in-receipt")
    changed = attrs.evolve(original, criteria=original.criteria[:0] or original.criteria[:1])
    changed = attrs.evolve(changed, title=original.title + " (changed)")
    assert changed.version == original.version

    class Changed:
        def counting(self, name: str):
            return changed if name == "in-receipt" else registry.counting(name)

        def metric(self, name: str):
            return registry.metric(name)

    outcome = verify(data, Dataset.from_folder(extract), Changed())
    assert not outcome.ok and not outcome.recomputed
    assert outcome.lines()[0].startswith("definition in-receipt (version 1, content hash)")


def test_a_file_without_provenance_cannot_be_verified(capsys, extract, tmp_path) -> None:
    results = tmp_path / "old.json"
    data = _count_json(capsys, extract, results)
    del data["provenance"]
    results.write_text(json.dumps(data), encoding="utf-8")
    status, out = _verify(capsys, results, extract)
    assert status == 2
    assert "records no provenance" in out


@pytest.mark.parametrize(
    "command",
    [
        ("compare", "in-receipt", "telehealth", "--by", "sex"),
        ("compare", "in-receipt", "telehealth", "--diff"),
    ],
    ids=["compare", "diff"],
)
def test_verify_passes_on_a_fresh_comparison(capsys, extract, tmp_path, command) -> None:
    results = tmp_path / "compare.json"
    args = [*command, "--data", str(extract), "--period", PERIOD, "--format", "json"]
    assert main(args) == 0
    results.write_text(capsys.readouterr().out, encoding="utf-8")
    status, out = _verify(capsys, results, extract)
    assert status == 0, out
