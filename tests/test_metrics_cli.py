"""`threeml metric` and `threeml compare --metric` on the demo extract.

The metrics come from the threeml-integrated-care plugin; without it these tests
are skipped.
"""

from __future__ import annotations

import csv
import io
import json

import pytest

from threeml.cli import main
from threeml.data.demo import demo_folder
from threeml.definitions import to_toml
from threeml.plugins.registry import default_registry

DATA = str(demo_folder())

pytestmark = pytest.mark.skipif(
    "arm-comparison" not in default_registry(),
    reason="the threeml-integrated-care plugin is not installed",
)


def run_json(capsys, *args: str) -> dict:
    assert main(["metric", *args, "--data", DATA, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_metric_json_has_the_figures_and_the_arm_comparison_its_arms(capsys) -> None:
    out = run_json(capsys, "arm-comparison-admissions", "--period", "2012-01-01:2013-12-31")
    for key in ("metric", "version", "population", "period", "value", "numerator", "denominator"):
        assert key in out
    assert out["metric"] == "arm-comparison-admissions"
    assert out["population"] == "trial-participants"
    assert out["period"] == {"start": "2012-01-01", "end": "2013-12-31"}
    assert set(out["arms"]) == {"intervention", "control"}
    assert (
        out["arms"]["intervention"]["people"] + out["arms"]["control"]["people"]
        == (out["denominator"])
    )
    assert set(out["rate_ratio"]) >= {"value", "ci_low", "ci_high"}
    binary = run_json(capsys, "arm-comparison", "--period", "2012-01-01:2013-12-31")
    assert set(binary["odds_ratio"]) >= {"value", "ci_low", "ci_high"}
    assert binary["trial"] == "wsd-demo"


def test_breakdowns_by_area_go_through_disclosure_control_and_say_so(capsys) -> None:
    out = run_json(capsys, "multi-sector-share", "--period", "2013", "--by", "area")
    rows = out["breakdown"]["area"]
    assert {row["group"] for row in rows} == {"Cornwall", "Kent", "Newham"}
    for row in rows:
        for figure in (row["numerator"], row["denominator"]):
            assert figure is None or figure % 5 == 0
        if row["numerator"] is not None and row["denominator"]:
            assert row["value"] == pytest.approx(row["numerator"] / row["denominator"], abs=1e-6)
    assert out["disclosure"] == "default: counts 1-7 suppressed, others rounded to the nearest 5"
    raw = run_json(
        capsys, "multi-sector-share", "--period", "2013", "--by", "area", "--disclosure", "none"
    )
    assert sum(row["numerator"] for row in raw["breakdown"]["area"]) == raw["numerator"]


def test_another_population_and_an_option_for_one_run(capsys) -> None:
    out = run_json(
        capsys,
        "mortality-12m",
        "--period",
        "2012",
        "--population",
        "telehealth",
        "--option",
        "days=180",
        "--option",
        "index_kinds=telehealth,telecare",
    )
    assert out["population"] == "telehealth"
    assert out["options"]["days"] == 180
    assert out["options"]["index_kinds"] == ["telehealth", "telecare"]


def test_extract_date_cuts_follow_up(capsys) -> None:
    full = run_json(capsys, "user-years", "--period", "2013")
    cut = run_json(capsys, "user-years", "--period", "2013", "--extract-date", "2013-06-30")
    assert cut["extract_date"] == "2013-06-30"
    assert cut["value"] < full["value"]


def test_metric_csv_is_long_with_the_total_and_the_breakdown(capsys) -> None:
    args = ["metric", "user-years", "--data", DATA, "--period", "2013", "--by", "area"]
    assert main([*args, "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert list(rows[0]) == [
        "metric",
        "version",
        "population",
        "start",
        "end",
        "section",
        "group",
        "item",
        "value",
        "disclosure",
    ]
    total = {row["item"]: row["value"] for row in rows if row["section"] == "total"}
    assert {"numerator", "denominator", "value"} <= set(total)
    assert {row["group"] for row in rows if row["section"] == "breakdown:area"} == {
        "Cornwall",
        "Kent",
        "Newham",
    }


def test_metric_table_states_the_value_and_the_policy(capsys) -> None:
    args = ["metric", "retention-91d", "--data", DATA, "--period", "2013", "--by", "area"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "retention-91d" in out
    assert "end_reasons" in out
    assert "By area" in out
    assert "counts 1-7 suppressed" in out


def test_metric_from_a_definition_file(tmp_path, capsys) -> None:
    import attrs

    base = default_registry().metric("mortality-12m")
    local = attrs.evolve(
        base,
        name="local.mortality-6m",
        measure=attrs.evolve(base.measure, options={**base.measure.options, "days": 182}),
        source=None,
    )
    path = tmp_path / "m.toml"
    path.write_text(to_toml(local))
    assert main(["metric", "--definition", str(path), "--data", DATA, "--period", "2012"]) == 0
    assert "local.mortality-6m" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["no-such-metric"], "no metric definition named 'no-such-metric'"),
        (["in-receipt"], "is a counting definition, not a metric"),
        (["user-years", "--by", "sector"], "cannot break down by 'sector'"),
        (["user-years", "--population", "nope"], "no counting definition named 'nope'"),
        (["mortality-12m", "--option", "days=soon"], "days must be a whole number"),
        (["mortality-12m", "--option", "nothing"], "KEY=VALUE"),
        (["arm-comparison", "--option", "trial=other"], "trial 'other'"),
    ],
)
def test_bad_requests_are_one_line_errors(capsys, args, message) -> None:
    status = main(["metric", *args, "--data", DATA, "--period", "2013"])
    assert status == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_compare_adds_metric_rows_where_asked(capsys) -> None:
    base = ["compare", "telehealth", "in-receipt", "--data", DATA, "--period", "2013"]
    assert main([*base, "--metric", "user-years", "--metric", "multi-sector-share",
                 "--format", "json", "--by", "area"]) == 0  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert [row["definition"] for row in out["definitions"]] == ["telehealth", "in-receipt"]
    assert [m["metric"] for m in out["metrics"]] == ["user-years", "multi-sector-share"]
    assert out["metrics"][1]["breakdown"]["area"]
    assert main([*base, "--metric", "user-years", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [row["definition"] for row in rows] == ["telehealth", "in-receipt", "user-years"]
    assert rows[2]["unit"] == "metric"
    assert float(rows[2]["value"]) > 0
    assert main([*base, "--metric", "multi-sector-share", "--by", "area"]) == 0
    text = capsys.readouterr().out
    assert "Metrics" in text and "multi-sector-share" in text


def test_compare_without_metric_is_unchanged(capsys) -> None:
    assert (
        main(["compare", "telehealth", "--data", DATA, "--period", "2013", "--format", "json"]) == 0
    )
    assert "metrics" not in json.loads(capsys.readouterr().out)
