"""`threeml count` and `threeml explain` from the command line, on the demo extract."""

from __future__ import annotations

import csv
import io
import json

import pytest

from threeml.cli import main
from threeml.data import Dataset
from threeml.data.demo import demo_folder
from threeml.definitions import ContactsAtLeast, CountingDefinition, EnrolmentOverlaps, to_toml
from threeml.definitions.policies import DEFAULT_POLICY
from threeml.engine.evaluate import count
from threeml.engine.reference import ReferenceData, reference_count
from threeml.records.periods import Period

HEARTBEAT = "example.pendant-heartbeat-7d"


@pytest.fixture(scope="module")
def demo() -> Dataset:
    return Dataset.from_folder(demo_folder())


@pytest.fixture()
def rule_file(tmp_path):
    definition = CountingDefinition(
        name="local.active-alarms",
        version="2",
        title="Telecare users with an alarm call in the period",
        description="A local rule written in TOML.",
        criteria=(
            EnrolmentOverlaps(service_kinds={"telecare"}),
            ContactsAtLeast(count=1, contact_kinds={"alarm_call"}, service_kinds={"telecare"}),
        ),
    )
    path = tmp_path / "rule.toml"
    path.write_text(to_toml(definition))
    return path, definition


def run_json(capsys, *args: str) -> dict:
    assert main(list(args)) == 0
    return json.loads(capsys.readouterr().out)


def test_count_json_has_the_documented_keys_and_the_engine_figures(capsys, demo) -> None:
    out = run_json(
        capsys,
        "count",
        HEARTBEAT,
        "--data",
        str(demo_folder()),
        "--period",
        "2013-Q4",
        "--format",
        "json",
        "--disclosure",
        "none",  # the engine's figures, unrounded (the totals beside a breakdown are rounded)
    )
    for key in (
        "definition",
        "version",
        "period",
        "unit",
        "count",
        "records",
        "attrition",
        "breakdown",
        "disclosure",
    ):
        assert key in out
    assert out["period"] == {"start": "2013-10-01", "end": "2013-12-31"}
    from threeml.plugins.registry import default_registry

    definition = default_registry().counting(HEARTBEAT)
    reference = reference_count(
        definition, ReferenceData.from_dataset(demo), Period.parse("2013-Q4")
    )
    assert out["count"] == reference.count > 0
    assert out["records"] == reference.records
    assert [s["remaining"] for s in out["attrition"]] == reference.sequential()


def test_breakdowns_below_all_areas_go_through_disclosure_control(capsys) -> None:
    out = run_json(
        capsys,
        "count",
        HEARTBEAT,
        "--data",
        str(demo_folder()),
        "--period",
        "2013-Q4",
        "--format",
        "json",
        "--by",
        "area",
        "--by",
        "sex",
    )
    cells = [row for rows in out["breakdown"].values() for row in rows]
    assert cells
    for cell in cells:
        if cell["suppressed"]:
            assert cell["count"] is None
        else:
            assert cell["count"] % 5 == 0 and cell["count"] not in range(1, 8)
    assert "suppressed" in out["disclosure"]


def test_count_csv_is_long_format_with_totals(capsys) -> None:
    assert (
        main(
            [
                "count",
                HEARTBEAT,
                "--data",
                str(demo_folder()),
                "--period",
                "2013",
                "--format",
                "csv",
            ]
        )
        == 0
    )
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    totals = {row["item"]: row["value"] for row in rows if row["section"] == "total"}
    assert set(totals) == {"count", "users", "records", "considered"}
    assert any(row["section"] == "breakdown:area" for row in rows)


def test_count_a_definition_from_a_toml_file(capsys, rule_file, demo) -> None:
    path, definition = rule_file
    out = run_json(
        capsys,
        "count",
        "--definition",
        str(path),
        "--data",
        str(demo_folder()),
        "--period",
        "2013",
        "--format",
        "json",
    )
    assert out["definition"] == "local.active-alarms"
    assert out["version"] == "2"
    # beside its breakdown by area the total goes through the default policy
    assert out["count"] == DEFAULT_POLICY.apply(count(definition, demo, "2013").count)


def test_explain_agrees_with_the_engine_on_first_failed(capsys, rule_file, demo) -> None:
    path, definition = rule_file
    membership = count(definition, demo, "2013").membership().to_pylist()
    counted = next(row for row in membership if row["counted"])
    failed = next(row for row in membership if row["first_failed"] == 2)
    assert (
        main(
            [
                "explain",
                counted["user_id"],
                "--definition",
                str(path),
                "--data",
                str(demo_folder()),
                "--period",
                "2013",
            ]
        )
        == 0
    )
    assert f"{counted['user_id']} is counted" in capsys.readouterr().out
    assert (
        main(
            [
                "explain",
                failed["user_id"],
                "--definition",
                str(path),
                "--data",
                str(demo_folder()),
                "--period",
                "2013",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "is not counted" in text
    assert "  1. [pass]" in text and "  2. [FAIL]" in text


def test_unknown_definition_suggests_the_closest_name(capsys) -> None:
    status = main(
        ["count", "example.pendant-heartbeat", "--data", str(demo_folder()), "--period", "2013"]
    )
    err = capsys.readouterr().err
    assert status == 2
    assert HEARTBEAT in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--period", "2013-13"], "month 13"),
        (["--period", "2014:2013"], "period"),
    ],
)
def test_bad_period_is_one_clear_line(capsys, args, fragment) -> None:
    status = main(["count", HEARTBEAT, "--data", str(demo_folder()), *args])
    err = capsys.readouterr().err
    assert status == 2
    assert fragment in err
    assert "Traceback" not in err


def test_missing_data_folder_is_one_clear_line(capsys, tmp_path) -> None:
    status = main(["count", HEARTBEAT, "--data", str(tmp_path / "nowhere"), "--period", "2013"])
    err = capsys.readouterr().err
    assert status == 2
    assert "no data folder" in err


def test_unknown_breakdown_is_reported(capsys) -> None:
    status = main(
        ["count", HEARTBEAT, "--data", str(demo_folder()), "--period", "2013", "--by", "postcode"]
    )
    assert status == 2
    assert "cannot break down by 'postcode'" in capsys.readouterr().err


def test_a_lone_suppressed_area_is_protected_by_secondary_suppression() -> None:
    from threeml.engine.results import BreakdownRow
    from threeml.publish.counts import published_breakdown
    from threeml.publish.disclosure import DEFAULT_POLICY

    rows = [BreakdownRow("a", 3), BreakdownRow("b", 20), BreakdownRow("c", 31)]
    # Alone, the 3 could be recovered as the total minus 20 and 30; the next smallest goes too.
    assert published_breakdown(rows, DEFAULT_POLICY) == [None, None, 30]
    assert published_breakdown(rows[1:], DEFAULT_POLICY) == [20, 30]


def test_a_definition_file_naming_code_is_refused_on_the_command_line(tmp_path, capsys) -> None:
    path = tmp_path / "hostile.toml"
    path.write_text(
        'name = "local.hostile"\nversion = "1"\ntitle = "t"\ndescription = "d"\n\n'
        '[[criteria]]\nkind = "query"\nfunction = "this:s"\ndescription = "runs code"\n'
    )
    code = main(
        ["count", "--definition", str(path), "--data", str(demo_folder()), "--period", "2013"]
    )
    captured = capsys.readouterr()
    assert code == 2
    assert "cannot use a 'query' criterion" in captured.err
    assert str(path) in captured.err
    assert "internal error" not in captured.err + captured.out
    assert "Beautiful is better than ugly" not in captured.err + captured.out
