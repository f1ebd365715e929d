"""``--area`` with ``--every`` on ``count`` and ``metric``, and on ``report`` (issue 15).

A filtered output holds only the chosen areas' rows, the figures over all areas exactly as
the whole publication has them (never a total of the areas kept), says which areas it shows,
and names no cell of an area left out; an unknown area is named, with how to see the areas.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from threeml.cli import main
from threeml.data.demo import demo_folder
from threeml.definitions.policies import DEFAULT_POLICY
from threeml.publish.areas import NOT_SHOWN, UnknownArea, areas_asked, only_areas
from threeml.publish.audit import AuditOutcome
from threeml.publish.series import publish_series
from threeml.records.intervals import split
from threeml.records.periods import Period

DATA = str(demo_folder())
AREAS = {"Cornwall", "Kent", "Newham"}


def _run(capsys, *args: str) -> str:
    assert main(list(args)) == 0
    return capsys.readouterr().out


def _rows(capsys, *args: str) -> list[dict]:
    return json.loads(_run(capsys, *args, "--format", "json"))["rows"]


def _all_areas(rows: list[dict]) -> dict:
    return {(r["interval"], r["name"], r["figure"]): r["value"] for r in rows if not r["group_by"]}


def test_areas_are_repeatable_or_comma_lists() -> None:
    assert areas_asked(["Kent,Newham", "Kent", " Cornwall "]) == ("Kent", "Newham", "Cornwall")


def test_count_every_area_keeps_the_chosen_areas_and_the_all_areas_figures(capsys) -> None:
    args = ("count", "in-receipt", "--data", DATA, "--period", "FY2013/14", "--every", "quarter")
    whole = json.loads(_run(capsys, *args, "--format", "json"))
    kent = json.loads(_run(capsys, *args, "--area", "Kent", "--format", "json"))
    groups = {r["group"] for r in kent["rows"] if r["group_by"] == "area"}
    assert groups == {"Kent"}
    assert {r["group"] for r in whole["rows"] if r["group_by"] == "area"} == AREAS
    # Kent's rows are the whole series' Kent rows; the 'all' rows are the whole series'.
    assert [r for r in kent["rows"] if r["group"] == "Kent"] == [
        r for r in whole["rows"] if r["group"] == "Kent"
    ]
    assert _all_areas(kent["rows"]) == _all_areas(whole["rows"])
    (note,) = [n for n in kent["notes"] if n.startswith("areas:")]
    assert "Kent" in note and "over all areas" in note
    text = json.dumps(kent)
    assert "Newham" not in text and "Cornwall" not in text


def test_metric_every_area_with_a_comma_list(capsys) -> None:
    out = _run(
        capsys,
        "metric", "user-years", "--data", DATA, "--period", "2013", "--every", "quarter",
        "--area", "Kent,Newham", "--format", "csv",
    )  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {r["group"] for r in rows if r["group_by"] == "area"} == {"Kent", "Newham"}
    assert any(r["kind"] == "metric" and r["group"] == "all" for r in rows)
    assert any(r["kind"] == "note" and r["value"].startswith("areas:") for r in rows)
    assert "Cornwall" not in out


@pytest.mark.parametrize(
    "command",
    [
        ("count", "in-receipt", "--every", "quarter"),
        ("metric", "user-years", "--every", "quarter"),
        ("report", "--definitions", "in-receipt", "--metrics", "none"),
    ],
)
def test_an_unknown_area_is_named_with_how_to_see_the_areas(capsys, tmp_path, command) -> None:
    out = ("--out", str(tmp_path / "r")) if command[0] == "report" else ()
    code = main([*command, "--data", DATA, "--period", "2013", "--area", "Narnia", *out])
    err = capsys.readouterr().err
    assert code != 0
    assert "'Narnia'" in err and "'Kent'" in err and "threeml count" in err
    assert "internal error" not in err


def test_report_area_restricts_every_section(tmp_path: Path, capsys) -> None:
    line = [
        "report", "--data", DATA, "--period", "2013", "--every", "quarter",
        "--definitions", "in-receipt,connections", "--metrics", "user-years,progress-to-target",
        "--format", "json", "--format", "csv", "--format", "html",
    ]  # fmt: skip
    _run(capsys, *line, "--out", str(tmp_path / "whole"))
    shown = _run(capsys, *line, "--out", str(tmp_path / "kent"), "--area", "Kent")
    whole = json.loads((tmp_path / "whole" / "results.json").read_text())
    kent = json.loads((tmp_path / "kent" / "results.json").read_text())
    assert kent["areas"]["shown"] == ["Kent"]
    assert "over all areas" in kent["areas"]["note"] and "Kent" in shown
    for section in ("definitions", "metrics"):
        for item in kent[section]:
            for row in item.get("breakdowns", {}).get("area", ()):
                assert row["group"] == "Kent"
    assert any(d["breakdowns"].get("area") for d in kent["definitions"])
    over = kent["over_time"]
    for groups in over["breakdowns"].values():
        assert set(groups.get("area", {})) <= {"Kent"}
    assert set(over["flow"]["groups"]) == {"Kent"}
    # Figures over all areas are the whole report's, not a total of Kent alone.
    for mine, theirs in zip(kent["definitions"], whole["definitions"], strict=True):
        assert mine["count"] == theirs["count"]
    assert over["counts"] == whole["over_time"]["counts"]
    assert over["flow"]["all"] == whole["over_time"]["flow"]["all"]
    # Kent's rows are those the whole report published.
    assert over["flow"]["groups"]["Kent"] == whole["over_time"]["flow"]["groups"]["Kent"]
    for name in ("results.json", "results.csv", "report.html"):
        text = (tmp_path / "kent" / name).read_text()
        assert "Newham" not in text and "Cornwall" not in text, name
    csv_text = (tmp_path / "kent" / "results.csv").read_text()
    assert "areas: only the rows of Kent" in csv_text
    assert "areas: only the rows of Kent" in (tmp_path / "kent" / "report.html").read_text()


def test_a_series_filter_keeps_the_all_areas_figures_and_hides_other_areas_labels() -> None:
    from flows import flow_from, trajectory

    intervals = split(Period.parse("2013"), "quarter")
    moves = [(3, {"died": 1}), (12, {"moved": 2}), (0, {}), (9, {"other": 9})]
    groups = {"A": trajectory(40, moves), "B": trajectory(3, moves), "C": trajectory(90, moves)}
    series = publish_series(intervals, DEFAULT_POLICY, flow=flow_from(intervals, groups))
    whole = only_areas(series, ())  # nothing asked: as it is
    assert whole is series
    kept = only_areas(series, ["A"])
    rows = kept.figures()
    assert {r["group"] for r in rows} == {"all", "A"}
    from threeml.publish.audited import audited

    audited_rows = audited(series).figures()
    assert [r for r in rows if r["group"] == "all"] == [
        r for r in audited_rows if r["group"] == "all"
    ]
    outcome = kept.audit
    assert isinstance(outcome, AuditOutcome)
    assert all(label == NOT_SHOWN or " A " in label for label in outcome.added)
    with pytest.raises(UnknownArea):
        only_areas(series, ["Z"])
