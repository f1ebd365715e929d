"""`threeml compare`: definitions side by side, and the difference between two."""

from __future__ import annotations

import csv
import io
import json

import pytest

from threeml.cli import main
from threeml.data import Dataset
from threeml.data.demo import demo_folder
from threeml.definitions.policies import DEFAULT_POLICY
from threeml.engine.compare import compare, diff
from threeml.plugins.registry import default_registry

DATA = str(demo_folder())


@pytest.fixture(scope="module")
def demo() -> Dataset:
    return Dataset.from_folder(demo_folder())


def test_compare_lists_every_registered_definition_with_people_and_records(capsys) -> None:
    assert main(["compare", "--data", DATA, "--period", "2013", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    names = [row["definition"] for row in out["definitions"]]
    assert names == [d.name for d in default_registry().counting_definitions()]
    rows = {row["definition"]: row for row in out["definitions"]}
    loosest = rows[out["loosest"]]
    assert loosest["share_of_loosest"] == 1.0
    assert all(row["users"] <= loosest["users"] for row in rows.values())
    connections = rows["connections"]
    assert connections["unit"] == "enrolments" and connections["records"] >= connections["users"]
    assert rows["ltc-telehealth"]["users"] <= rows["active-telehealth"]["users"]


def test_compare_named_definitions_only_in_the_order_given(capsys) -> None:
    assert (
        main(
            [
                "compare",
                "telehealth",
                "connections",
                "--data",
                DATA,
                "--period",
                "2013",
                "--format",
                "csv",
            ]
        )
        == 0
    )
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [row["definition"] for row in rows] == ["telehealth", "connections"]


def test_compare_by_area_applies_disclosure_control(capsys) -> None:
    assert (
        main(
            [
                "compare",
                "in-receipt",
                "ltc-telehealth",
                "--data",
                DATA,
                "--period",
                "2013",
                "--by",
                "area",
                "--format",
                "json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    for row in out["definitions"]:
        for cell in row["breakdown"]["area"]:
            assert cell["count"] is None or (cell["count"] % 5 == 0 and cell["count"] > 7)


def test_diff_counts_each_side_with_the_reasons(demo, capsys) -> None:
    registry = default_registry()
    wide, narrow = registry.counting("in-receipt"), registry.counting("ltc-telehealth")
    comparison = compare([wide, narrow], demo, "2013", registry=registry)
    result = diff(comparison.results["in-receipt"], comparison.results["ltc-telehealth"])
    a = comparison.results["in-receipt"].members()
    b = comparison.results["ltc-telehealth"].members()
    assert (result.only_first, result.only_second, result.both) == (
        len(a - b),
        len(b - a),
        len(a & b),
    )
    assert sum(n for _, _, n in result.first_not_second_reasons) == result.only_first
    assert result.only_second == 0  # ltc-telehealth people are all in receipt
    assert (
        main(
            [
                "compare",
                "in-receipt",
                "ltc-telehealth",
                "--diff",
                "--data",
                DATA,
                "--period",
                "2013",
                "--format",
                "json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    # Under the default policy every figure of the difference goes through it (issue 13).
    assert out["only_first"] == DEFAULT_POLICY.apply(result.only_first)
    most_common = out["only_first_failed"][0]
    assert most_common["users"] == DEFAULT_POLICY.apply(
        max(n for _, _, n in result.first_not_second_reasons)
    )
    assert out["audit"]["status"] in ("passed", "cells added")


def test_diff_with_an_enrolment_unit_definition_is_about_people(demo) -> None:
    registry = default_registry()
    comparison = compare(
        [registry.counting("connections"), registry.counting("new-users")],
        demo,
        "2013",
        registry=registry,
    )
    result = diff(comparison.results["connections"], comparison.results["new-users"])
    assert result.only_second == 0  # a new user's first installation is a connection
    assert result.both == comparison.results["new-users"].users


def test_diff_needs_exactly_two_names(capsys) -> None:
    assert main(["compare", "in-receipt", "--diff", "--data", DATA, "--period", "2013"]) == 2
    assert "exactly two" in capsys.readouterr().err
