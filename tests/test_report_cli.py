"""``threeml report``: the files it writes, their content, the policy in each, determinism."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from threeml.cli import main
from threeml.data.demo import demo_folder
from threeml.plugins.registry import default_registry

FILES = ("results.csv", "results.json", "report.html", "measurereport.json")


def _run(out: Path, *extra: str) -> int:
    return main(
        ["report", "--data", str(demo_folder()), "--period", "FY2013/14", "--out", str(out), *extra]
    )


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report")
    assert _run(out, "--membership") == 0
    return out


def test_writes_every_file_and_a_summary(written: Path) -> None:
    for name in (*FILES, "membership.parquet"):
        assert (written / name).stat().st_size > 0, name


def test_every_file_states_the_policy(written: Path) -> None:
    statement = json.loads((written / "results.json").read_text())["disclosure"]["description"]
    assert statement.startswith("default: counts 1-7 suppressed")
    for name in FILES:
        text = (written / name).read_text()
        if name == "report.html":
            text = text.replace("&#x27;", "'")
        assert statement in text, name
    import pyarrow.parquet as pq

    metadata = pq.read_schema(written / "membership.parquet").metadata
    assert b"not applied" in metadata[b"threeml.disclosure"]


def test_two_runs_write_identical_files(written: Path, tmp_path: Path) -> None:
    assert _run(tmp_path, "--membership") == 0
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (written / name).read_bytes(), name


def test_every_definition_and_metric_is_in_the_html(written: Path) -> None:
    html = (written / "report.html").read_text()
    registry = default_registry()
    for definition in registry.definitions():
        assert f">{definition.name}<" in html, definition.name
    assert "<script" not in html
    assert not re.search(r"(src|href)=[\"']https?:", html)  # opens offline
    assert "<link" not in html
    assert "<svg" in html


def test_suppressed_cells_read_suppressed_in_the_html_not_zero(written: Path) -> None:
    published = json.loads((written / "results.json").read_text())
    hidden = [
        (d["name"], c["group"])
        for d in published["definitions"]
        for c in d["breakdowns"]["area"]
        if c["suppressed"]
    ]
    assert hidden, "the demo extract should have small areas"
    html = (written / "report.html").read_text()
    assert '<span class="suppressed">suppressed</span>' in html
    section = html[html.index('id="by-area"') :]
    names = re.findall(r"<th class='n'>([^<]+)</th>", section[: section.index("</tr>")])
    rows = re.findall(r"<tr><td>([^<]+)</td>(.*?)</tr>", section, re.S)
    table = {group: re.findall(r"<td class=[^>]+>(.*?)</td>", cells) for group, cells in rows}
    for name, group in hidden:
        assert "suppressed" in table[group][names.index(name)], (name, group)


def test_csv_is_long_with_a_disclosure_column(written: Path) -> None:
    rows = list(csv.DictReader(io.StringIO((written / "results.csv").read_text())))
    assert rows[0]["item"] == "disclosure"
    sections = {row["section"] for row in rows}
    assert {"count", "attrition", "breakdown", "metric", "over-time"} <= sections
    for row in rows:
        if row["section"] in ("breakdown", "metric-breakdown"):
            assert row["disclosure"] == "applied: default"
        if row["section"] in ("count", "attrition", "metric", "over-time"):
            # beside the breakdowns by area, totals go through the policy too (route 5)
            assert row["disclosure"].startswith("default: counts 1-7 suppressed")


def test_choose_definitions_metrics_and_policy(tmp_path: Path) -> None:
    status = _run(
        tmp_path,
        "--definitions",
        "in-receipt,telehealth",
        "--metrics",
        "multi-sector-share",
        "--disclosure",
        "custom:10:5",
    )
    assert status == 0
    published = json.loads((tmp_path / "results.json").read_text())
    assert [d["name"] for d in published["definitions"]] == ["in-receipt", "telehealth"]
    assert [m["name"] for m in published["metrics"]] == ["multi-sector-share"]
    assert published["disclosure"]["threshold"] == 10


def test_no_over_time_leaves_out_that_section_only(tmp_path: Path) -> None:
    chosen = ("--definitions", "in-receipt,telehealth", "--metrics", "multi-sector-share")
    assert _run(tmp_path / "with", *chosen) == 0
    assert _run(tmp_path / "without", *chosen, "--no-over-time") == 0
    full = json.loads((tmp_path / "with" / "results.json").read_text())
    short = json.loads((tmp_path / "without" / "results.json").read_text())
    assert full["over_time"]["periods"] and full["over_time"]["counts"]
    assert not short["over_time"] or not short["over_time"].get("periods")
    for section in ("definitions", "metrics", "rows", "disclosure"):
        assert short[section] == full[section], section
    assert "over-time" not in (tmp_path / "without" / "results.csv").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--disclosure", "lax"), "unknown disclosure policy 'lax'"),
        (("--disclosure", "custom:x:5"), "must be a whole number of 0 or more"),
        (("--definitions", "nobody"), "no counting definition named 'nobody'"),
    ],
)
def test_bad_requests_are_one_line_errors(tmp_path: Path, capsys, args, message) -> None:
    assert _run(tmp_path, *args) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1
