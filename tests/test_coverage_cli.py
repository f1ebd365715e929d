"""Coverage from the command line and in the report, on the demo extract and its populations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from threeml.cli import main
from threeml.data.demo import demo_folder
from threeml.plugins.registry import default_registry

DATA = str(demo_folder())

pytestmark = pytest.mark.skipif(
    "coverage-in-receipt" not in default_registry(),
    reason="the threeml-integrated-care plugin is not installed",
)


def test_coverage_by_area_prints_crude_and_standardised_rates_with_limits(capsys) -> None:
    args = ["metric", "coverage-in-receipt", "--data", DATA, "--period", "FY2013/14"]
    assert main([*args, "--by", "area"]) == 0
    out = capsys.readouterr().out
    assert "By area" in out
    for area in ("Cornwall", "Kent", "Newham"):
        line = next(line for line in out.splitlines() if area in line)
        assert " to " in line and "crude rate" in line, line
    assert "esp2013" in out and "Dobson" in out and "Byar" in out
    assert "disclosure control below all areas" in out


def test_coverage_json_rows_are_under_disclosure_control(capsys) -> None:
    args = ["metric", "coverage-in-receipt", "--data", DATA, "--period", "FY2013/14"]
    assert main([*args, "--by", "area", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert "2013 European Standard Population" in out["standard_population"]
    rows = out["breakdown"]["area"]
    assert {row["group"] for row in rows} == {"Cornwall", "Kent", "Newham"}
    for row in rows:
        assert row["numerator"] % 5 == 0  # rounded to the nearest 5 by the default policy
        assert row["ci_low"] <= row["value"] <= row["ci_high"]
        crude = row["crude_rate"]
        # The crude rate is derived from the published (rounded) count.
        expected = row["numerator"] / row["denominator"] * 1000
        assert crude["rate"] == pytest.approx(expected, rel=1e-5)


def test_the_report_has_a_coverage_section_with_a_chart(tmp_path: Path) -> None:
    args = ["report", "--data", DATA, "--period", "FY2013/14", "--out", str(tmp_path)]
    assert main([*args, "--metrics", "coverage-in-receipt", "--format", "html"]) == 0
    html = (tmp_path / "report.html").read_text()
    section = html[html.index('id="coverage"') :]
    assert "Coverage of the population" in section
    assert "standard population: esp2013" in section and "Dobson" in section
    assert "standardised rate" in section and "crude rate" in section
    pytest.importorskip("matplotlib")
    assert "<svg" in section
