"""One table of output formats, one published model, one way to format a number.

Every command's ``--format`` choices come from :data:`threeml.publish.formats.FORMATS`,
and ``count``, ``compare``, ``metric`` and ``report`` publish the same figures for
the same definition, because they are all written from one published model.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from threeml.cli import cli, main
from threeml.data import Dataset
from threeml.data.demo import demo_folder
from threeml.engine.evaluate import count
from threeml.plugins.registry import default_registry
from threeml.publish.compare import PublishedComparison
from threeml.publish.counts import PublishedCount, publish_count
from threeml.publish.disclosure import DEFAULT_POLICY
from threeml.publish.formats import FORMATS, UnsupportedFormat, formats_for, write
from threeml.publish.metrics import PublishedMetric
from threeml.publish.numbers import format_figure, format_interval, format_share
from threeml.publish.series import PublishedSeries
from threeml.report import report_formats
from threeml.report.publish import PublishedReport

DATA = str(demo_folder())
PERIOD = "FY2013/14"


def _choices(command: str) -> list[str]:
    found = cli.get_command(click.Context(cli), command)
    (option,) = [p for p in found.params if "--format" in getattr(p, "opts", ())]
    assert isinstance(option.type, click.Choice)
    return list(option.type.choices)


@pytest.mark.parametrize(
    ("command", "document"),
    [("count", PublishedCount), ("compare", PublishedComparison), ("metric", PublishedMetric)],
)
def test_each_command_offers_the_formats_the_table_has_for_its_document(command, document) -> None:
    # A single period's document, and a series' long table (--every).
    offered = list(dict.fromkeys([*formats_for(document), *formats_for(PublishedSeries)]))
    assert _choices(command) == offered
    assert _choices(command) == ["table", "json", "csv", "parquet"]


def test_the_report_offers_every_file_format_of_the_table() -> None:
    assert _choices("report") == list(report_formats())
    assert report_formats() == tuple(
        name for name, entry in FORMATS.items() if entry.file and entry.supports(PublishedReport)
    )
    offered = {
        name for command in ("count", "compare", "metric", "report") for name in _choices(command)
    }
    assert offered == set(FORMATS), "every format in the table is offered by some command"


def test_a_format_that_cannot_write_a_document_says_which_can() -> None:
    registry = default_registry()
    result = count(
        registry.counting("in-receipt"), Dataset.from_folder(DATA), PERIOD, registry=registry
    )
    with pytest.raises(UnsupportedFormat, match="formats that can: table, json, csv"):
        write(publish_count(result, DEFAULT_POLICY), "html", io.StringIO())
    with pytest.raises(UnsupportedFormat, match="'pdf'"):
        write(publish_count(result, DEFAULT_POLICY), "pdf", io.StringIO())


def _json(capsys, *args: str) -> dict:
    assert main([*args, "--data", DATA, "--period", PERIOD, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_count_compare_and_report_publish_the_same_cells(capsys, tmp_path: Path) -> None:
    counted = _json(capsys, "count", "ltc-telehealth", "--by", "area")
    compared = _json(capsys, "compare", "ltc-telehealth", "active", "--by", "area")
    assert (
        main(
            [
                "report",
                "--data",
                DATA,
                "--period",
                PERIOD,
                "--out",
                str(tmp_path),
                "--definitions",
                "ltc-telehealth",
                "--metrics",
                "none",
                "--format",
                "json",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]
    reported = json.loads((tmp_path / "results.json").read_text())["definitions"][0]

    cells = {row["group"]: row["count"] for row in counted["breakdown"]["area"]}
    assert any(value is None for value in cells.values()), "the demo has suppressed areas"
    (beside,) = [row for row in compared["definitions"] if row["definition"] == "ltc-telehealth"]
    assert {row["group"]: row["count"] for row in beside["breakdown"]["area"]} == cells
    assert {row["group"]: row["count"] for row in reported["breakdowns"]["area"]} == cells
    for key in ("count", "users", "records"):
        assert counted[key] == beside[key] == reported[key]


@pytest.mark.skipif(
    "multi-sector-share" not in default_registry(),
    reason="the threeml-integrated-care plugin is not installed",
)
def test_metric_compare_and_report_publish_the_same_rows(capsys, tmp_path: Path) -> None:
    figures = ("numerator", "denominator", "value", "ci_low", "ci_high", "suppressed")
    metric = _json(capsys, "metric", "multi-sector-share", "--by", "area")
    compared = _json(
        capsys, "compare", "in-receipt", "--by", "area", "--metric", "multi-sector-share"
    )
    assert (
        main(
            [
                "report",
                "--data",
                DATA,
                "--period",
                PERIOD,
                "--out",
                str(tmp_path),
                "--definitions",
                "in-receipt",
                "--metrics",
                "multi-sector-share",
            ]
        )
        == 0
    )
    capsys.readouterr()
    (reported,) = json.loads((tmp_path / "results.json").read_text())["metrics"]

    def rows(found: list[dict]) -> dict:
        return {str(row["group"]): tuple(row[key] for key in figures) for row in found}

    published = rows(metric["breakdown"]["area"])
    assert rows(compared["metrics"][0]["breakdown"]["area"]) == published
    assert rows(reported["breakdowns"]["area"]) == published
    for key in figures[:-1]:
        assert metric[key] == compared["metrics"][0][key] == reported[key]


def test_figures_read_the_same_on_the_terminal_and_in_html() -> None:
    from threeml.report import html

    cases = [None, True, 0, 12345, 12345.0, 1234.56, 0.123456, 3e-05, "Kent & Co"]
    assert [format_figure(v) for v in cases] == [
        "–",
        "yes",
        "0",
        "12,345",
        "12,345",
        "1,234.6",
        "0.1235",
        "3e-05",
        "Kent & Co",
    ]
    assert [html._fmt(v) for v in cases[:-1]] == [format_figure(v) for v in cases[:-1]]
    assert html._fmt(cases[-1]) == "Kent &amp; Co"
    assert format_interval(0.1, None) == "" and format_interval(0.1, 0.25) == "0.1 to 0.25"
    assert format_share(0.4567) == "46%" and format_share(0.4567, 1) == "45.7%"
    assert format_share(None) == "–"


def test_the_metric_contract_does_not_load_the_engine() -> None:
    code = (
        "import sys, threeml.metrics.proportion, threeml.metrics.contract; "
        "print('ibis' in sys.modules, 'duckdb' in sys.modules, 'threeml.publish' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False", "False"]


def test_the_report_writes_the_formats_asked_for(tmp_path: Path) -> None:
    from threeml.errors import ThreemlError
    from threeml.report import DEFAULT_FORMATS, FILES, build_report, publish_report, write_files

    published = {n for n in report_formats() if not FORMATS[n].row_level}
    assert set(DEFAULT_FORMATS) == published
    assert tuple(FORMATS[name].file for name in DEFAULT_FORMATS) == FILES
    registry = default_registry()
    report = build_report(
        Dataset.from_folder(DATA),
        PERIOD,
        registry=registry,
        definitions=[registry.counting("in-receipt")],
        metrics=[],
        over_time=False,
    )
    document = publish_report(report, DEFAULT_POLICY)
    written = write_files(document, tmp_path, ["json", "membership"])
    assert list(written) == ["results.json", "membership.parquet"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["membership.parquet", "results.json"]
    with pytest.raises(ThreemlError, match="'table' output format is not written to a file"):
        write_files(document, tmp_path, ["table"])
