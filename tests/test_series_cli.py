"""``--every`` on ``count``, ``compare``, ``metric`` and ``report`` (issue 15, parts 1 and 5).

Each command's series must publish, interval by interval, exactly the figures the same
command publishes for that interval alone (``--period 2013-Q2`` …): the series is the
per-interval evaluation, and its joint audit adds nothing when no identity ties intervals.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from threeml.cli import main
from threeml.data.demo import demo_folder
from threeml.publish.series import SERIES_COLUMNS

DATA = str(demo_folder())
QUARTERS = ("2013-Q1", "2013-Q2", "2013-Q3", "2013-Q4")


def _args(line: str) -> list[str]:
    """A command line as its words, ``DATA`` standing for the demo extract's folder."""
    return [DATA if word == "DATA" else word for word in line.split()]


def run(capsys, line: str) -> str:
    assert main(_args(line)) == 0
    return capsys.readouterr().out


def run_json(capsys, line: str) -> dict:
    return json.loads(run(capsys, line + " --format json"))


def _series(data: dict, kind: str, name: str) -> dict[str, dict[tuple[str, str], dict]]:
    """Rows of ``kind``/``name`` by interval, then by (group_by, group) → {figure: value}."""
    out: dict[str, dict[tuple[str, str], dict]] = {}
    for row in data["rows"]:
        if row["kind"] == kind and row["name"] == name:
            cell = out.setdefault(row["interval"], {}).setdefault(
                (row["group_by"], row["group"]), {}
            )
            cell[row["figure"]] = row["value"]
    return out


def _same_counts(found: dict, total: int | None, cells: list[dict]) -> None:
    """A definition's figures in one interval of a series equal those published alone."""
    assert found[("", "all")] == {"count": total}
    for cell in cells:
        assert found[("area", cell["group"])] == {"count": cell["count"]}


def test_count_every_quarter_publishes_each_quarters_own_figures(capsys) -> None:
    series = run_json(capsys, "count connections --data DATA --period 2013 --every quarter")
    assert [i["label"] for i in series["series"]] == list(QUARTERS)
    found = _series(series, "definition", "connections")
    assert list(found) == list(QUARTERS)
    suppressed = 0
    for quarter in QUARTERS:
        alone = run_json(capsys, f"count connections --data DATA --period {quarter}")
        _same_counts(found[quarter], alone["count"], alone["breakdown"]["area"])
        suppressed += sum(cell["count"] is None for cell in alone["breakdown"]["area"])
    assert suppressed, "the demo's fourth quarter has suppressed areas: the test must see one"


def test_compare_every_quarter_equals_compare_of_each_quarter(capsys) -> None:
    # One definition nested in the other: audited together, in a series as alone.
    line = "compare active-telehealth ltc-telehealth --by area --metric user-years --data DATA"
    series = run_json(capsys, f"{line} --period 2013 --every quarter")
    for quarter in QUARTERS:
        alone = run_json(capsys, f"{line} --period {quarter}")
        for definition in alone["definitions"]:
            found = _series(series, "definition", definition["definition"])[quarter]
            _same_counts(found, definition["count"], definition["breakdown"]["area"])
        (metric,) = alone["metrics"]
        found = _series(series, "metric", "user-years")[quarter]
        assert found[("", "all")]["denominator"] == metric["denominator"]
        assert found[("", "all")]["value"] == metric["value"]
    # The stock and flow is in the same table when the engine computes it, else said why not.
    flows = [row for row in series["rows"] if row["kind"] == "flow"]
    assert flows or "stock and flow" in series["errors"]


def test_metric_every_quarter_equals_the_metric_of_each_quarter(capsys) -> None:
    line = "metric user-years --by area --data DATA"
    found = _series(
        run_json(capsys, f"{line} --period 2013 --every quarter"), "metric", "user-years"
    )
    for quarter in QUARTERS:
        alone = run_json(capsys, f"{line} --period {quarter}")
        total = found[quarter][("", "all")]
        figures = ("numerator", "denominator", "value")
        assert [total[f] for f in figures] == [alone[f] for f in figures]
        for row in alone["breakdown"]["area"]:
            cell = found[quarter][("area", row["group"])]
            assert [cell[f] for f in figures[:2]] == [row[f] for f in figures[:2]]


def test_every_month_cuts_a_financial_year_into_twelve(capsys) -> None:
    out = run(
        capsys,
        "count in-receipt --data DATA --period 2013-04-01:2014-03-31 --every month --format csv",
    )
    rows = list(csv.DictReader(io.StringIO(out)))
    labels = list(dict.fromkeys(r["interval"] for r in rows if r["kind"] == "definition"))
    assert labels == [f"2013-{m:02d}" for m in range(4, 13)] + [f"2014-{m:02d}" for m in (1, 2, 3)]


def test_every_with_an_unknown_length_is_refused_naming_the_choices(capsys) -> None:
    assert main(_args("count in-receipt --data DATA --period 2013 --every week")) != 0
    err = capsys.readouterr().err
    assert "week" in err and "quarter" in err and "financial-year" in err


def test_every_and_diff_together_are_refused(capsys) -> None:
    line = "compare in-receipt active --diff --data DATA --period 2013 --every quarter"
    assert main(_args(line)) != 0
    assert "--every" in capsys.readouterr().err


def test_parquet_is_for_a_series_only(capsys) -> None:
    assert main(_args("count in-receipt --data DATA --period 2013 --format parquet"))
    assert "cannot write a PublishedCount" in capsys.readouterr().err


def test_count_every_as_csv_has_the_long_table_columns_and_states_the_policy(capsys) -> None:
    out = run(capsys, "count ltc-telehealth --data DATA --period 2013 --every quarter --format csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert tuple(rows[0]) == SERIES_COLUMNS
    figures = [r for r in rows if r["kind"] == "definition"]
    assert all(r["disclosure"].startswith("default: counts 1-7 suppressed") for r in figures)
    values = [r["value"] for r in figures]
    assert "suppressed" in values
    assert all(v == "suppressed" or int(v) % 5 == 0 for v in values)
    notes = [r["value"] for r in rows if r["kind"] == "note"]
    assert any("no figure over the whole span" in n for n in notes)
    assert any(r["kind"] == "provenance" and r["figure"] == "audit" for r in rows)


def test_report_every_month_draws_small_multiples_on_one_time_axis(tmp_path: Path, capsys) -> None:
    out = tmp_path / "report"
    run(
        capsys,
        "report --data DATA --period 2013 --every month --definitions "
        f"in-receipt,active,connections --metrics none --out {out} --format html "
        "--format json",
    )
    data = json.loads((out / "results.json").read_text())
    over = data["over_time"]
    assert over["every"] == "month" and len(over["periods"]) == 12
    assert set(over["counts"]) == {"in-receipt", "active", "connections"}
    assert set(over["breakdowns"]["connections"]["area"]) == {"Cornwall", "Kent", "Newham"}
    html = (out / "report.html").read_text()
    section = html[html.index('<h2 id="over-time">') :]
    section = section[: section.index("<h2", 10)] if "<h2" in section[10:] else section
    chart = section[section.index("<svg") : section.index("</svg>")]
    # One small panel per definition, each named, sharing the time axis (two tick labels).
    for name in ("in-receipt", "active", "connections"):
        assert f">{name}<" in chart
    assert chart.count(">2013-01<") == chart.count(">2013-12<") >= 1
    assert "connections by area" in section
    # Every count of the section went through the policy: rounded to 5 or suppressed.
    for values in over["counts"].values():
        assert all(v is None or v % 5 == 0 for v in values)


@pytest.mark.parametrize(
    ("every", "intervals"), [("quarter", 8), ("year", 3), ("financial-year", 2)]
)
def test_report_labels_follow_every(tmp_path: Path, capsys, every: str, intervals: int) -> None:
    out = tmp_path / every
    run(
        capsys,
        f"report --data DATA --period 2012-04-01:2014-03-31 --every {every} "
        f"--definitions in-receipt --metrics none --out {out} --format json",
    )
    over = json.loads((out / "results.json").read_text())["over_time"]
    assert len(over["periods"]) == intervals and over["every"] == every
