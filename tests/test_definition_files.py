"""Definition files beside the installed definitions: ``--definition PATH`` (repeatable, a file
or a folder), ``THREEML_DEFINITIONS``, and a path given as a NAME to ``compare``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from threeml.cli import main
from threeml.data import Dataset
from threeml.data.demo import demo_folder
from threeml.engine.evaluate import count
from threeml.plugins.registry import default_registry

DATA = ("--data", str(demo_folder()), "--period", "FY2013/14")

ALARMS = """\
type = "counting"
name = "local.alarms"
version = "1"
title = "People with a telecare enrolment in the period"
description = "Telecare users, whatever their contacts."

[[criteria]]
kind = "enrolment-overlaps"
service_kinds = ["telecare"]
"""

COACHING = ALARMS.replace("local.alarms", "local.coaching").replace("telecare", "telecoaching")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "alarms.toml").write_text(ALARMS, encoding="utf-8")
    (rules / "coaching.toml").write_text(COACHING, encoding="utf-8")
    (rules / "notes.txt").write_text("not a definition", encoding="utf-8")
    return rules


@pytest.fixture(autouse=True)
def no_variable(monkeypatch) -> None:
    monkeypatch.delenv("THREEML_DEFINITIONS", raising=False)


def compared(capsys, *args: str) -> dict[str, int]:
    assert main(["compare", *args, *DATA, "--format", "json"]) == 0, capsys.readouterr().err
    data = json.loads(capsys.readouterr().out)
    return {row["definition"]: row["users"] for row in data["definitions"]}


def test_compare_takes_a_definition_file_as_a_name(capsys, folder, monkeypatch) -> None:
    monkeypatch.chdir(folder)
    rows = compared(capsys, "in-receipt", "./alarms.toml")
    assert list(rows) == ["in-receipt", "local.alarms"]
    registry = default_registry()
    expected = count(
        registry.counting("in-receipt"),
        Dataset.from_folder(demo_folder()),
        "FY2013/14",
    )
    assert rows["in-receipt"] == expected.count
    assert 0 < rows["local.alarms"] < rows["in-receipt"]


def test_compare_takes_any_number_of_definition_files(capsys, folder) -> None:
    rows = compared(
        capsys,
        "in-receipt",
        "--definition",
        str(folder / "alarms.toml"),
        "--definition",
        str(folder / "coaching.toml"),
    )
    assert list(rows) == ["in-receipt", "local.alarms", "local.coaching"]


def test_a_folder_of_definition_files_through_the_option_or_the_variable(
    capsys, folder, monkeypatch
) -> None:
    rows = compared(capsys, "in-receipt", "--definition", str(folder))
    assert set(rows) == {"in-receipt", "local.alarms", "local.coaching"}
    monkeypatch.setenv("THREEML_DEFINITIONS", str(folder))
    assert set(compared(capsys, "local.coaching", "local.alarms")) == {
        "local.alarms",
        "local.coaching",
    }


def test_definitions_lists_file_definitions_with_the_file_as_source(
    capsys, folder, monkeypatch
) -> None:
    monkeypatch.setenv("THREEML_DEFINITIONS", str(folder))
    assert main(["definitions", "--format", "json"]) == 0
    found = {d["name"]: d for d in json.loads(capsys.readouterr().out)}
    (source,) = found["local.alarms"]["sources"]
    assert source["plugin"] == "file"
    assert main(["definitions", "local.coaching"]) == 0
    assert f"source: file {folder / 'coaching.toml'}" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("where", "problem"),
    [
        ("missing.toml", "does not exist"),
        ("empty", "holds no .toml or .json definition files"),
        ("rules/notes.txt", "is not a definition file"),
    ],
)
def test_bad_paths_are_named_with_where_they_came_from(
    capsys, folder, monkeypatch, where, problem
) -> None:
    (folder.parent / "empty").mkdir()
    path = str(folder.parent / where)
    assert main(["compare", "in-receipt", "--definition", path, *DATA]) == 2
    err = capsys.readouterr().err
    assert f"--definition names {path}" in err or f"--definition names the folder {path}" in err
    assert problem in err
    monkeypatch.setenv("THREEML_DEFINITIONS", path)
    assert main(["definitions"]) == 2
    err = capsys.readouterr().err
    assert "THREEML_DEFINITIONS names" in err and problem in err


def test_count_picks_a_name_among_several_files(capsys, folder) -> None:
    args = ["count", "local.coaching", "--definition", str(folder), *DATA, "--format", "json"]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["definition"] == "local.coaching"
    assert main(["count", "--definition", str(folder), *DATA]) == 2
    assert "name one" in capsys.readouterr().err


def test_report_includes_definition_files(tmp_path, folder) -> None:
    out = tmp_path / "out"
    args = ["report", *DATA, "--out", str(out), "--format", "json", "--metrics", "none"]
    assert main([*args, "--definitions", "in-receipt", "--definition", str(folder)]) == 0
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert [d["name"] for d in data["definitions"]] == [
        "in-receipt",
        "local.alarms",
        "local.coaching",
    ]


def test_metric_takes_any_number_of_definition_files_and_folders(capsys, folder, tmp_path) -> None:
    """A metric in one file over a counting definition from a folder named by another
    ``--definition``: both are added to the registry, as ``compare`` and ``count`` do."""
    import attrs

    from threeml.definitions import to_toml

    base = default_registry().metric("user-years")
    local = attrs.evolve(base, name="local.alarm-years", population="local.alarms", source=None)
    path = tmp_path / "alarm-years.toml"
    path.write_text(to_toml(local), encoding="utf-8")
    args = ["metric", "--definition", str(path), "--definition", str(folder), *DATA]
    assert main([*args, "--format", "json"]) == 0, capsys.readouterr().err
    found = json.loads(capsys.readouterr().out)
    assert (found["metric"], found["population"]) == ("local.alarm-years", "local.alarms")
    alarms = compared(capsys, "--definition", str(folder))["local.alarms"]
    assert found["denominator"] == alarms  # the folder's definition is the population
    # Named, the metric is found among several: the folder's files and the metric's.
    assert main(["metric", "local.alarm-years", *args[1:], "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["metric"] == "local.alarm-years"
