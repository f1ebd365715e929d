"""``--area`` on ``count`` and ``metric``, and the progress-to-target table at 80 columns."""

from __future__ import annotations

import json

import pytest

from threeml.cli import main
from threeml.data.demo import demo_folder
from threeml.publish.areas import UnknownArea, only_areas
from threeml.publish.counts import PublishedCell, publish_count
from threeml.publish.disclosure import DEFAULT_POLICY

PERIOD = ("--period", "FY2013/14")


def _data() -> tuple[str, str]:
    return ("--data", str(demo_folder()))


def test_count_keeps_only_the_chosen_area(capsys) -> None:
    args = ["count", "telehealth", *_data(), *PERIOD, "--format", "json"]
    assert main([*args, "--by", "area", "--by", "sex"]) == 0
    whole = json.loads(capsys.readouterr().out)
    assert main([*args, "--by", "sex", "--area", "Kent"]) == 0
    kent = json.loads(capsys.readouterr().out)
    assert [c["group"] for c in kent["breakdown"]["area"]] == ["Kent"]
    (row,) = [c for c in whole["breakdown"]["area"] if c["group"] == "Kent"]
    assert kent["breakdown"]["area"] == [row]
    # The other breakdown and the totals are those of the whole publication.
    assert kent["breakdown"]["sex"] == whole["breakdown"]["sex"]
    assert kent["count"] == whole["count"]


def test_metric_area_filter_draws_the_progress_table(capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    args = ["metric", "progress-to-target", *_data(), *PERIOD]
    assert main([*args, "--area", "Kent", "--area", "Newham"]) == 0
    out = capsys.readouterr().out
    table = [line for line in out.splitlines() if line[:1] in "┏┃┡│└"]
    assert table and all(len(line.rstrip()) <= 80 for line in table)
    assert "…" not in out
    header = next(line for line in table if "projected" in line)
    for column in ("area", "counted", "target", "share", "projected", "on track"):
        assert column in header
    assert "│ Kent " in out and "│ Newham " in out and "Cornwall" not in out
    assert "due: 2014-03-31" in out
    assert main([*args, "--area", "Kent", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    (kent,) = data["breakdown"]["area"]
    assert kent["group"] == "Kent" and "projection" in kent and "on_track" in kent


def test_an_unknown_area_is_named_with_the_areas_there_are(capsys) -> None:
    code = main(["count", "telehealth", *_data(), *PERIOD, "--area", "Narnia"])
    err = capsys.readouterr().err
    assert code != 0
    assert "'Narnia'" in err and "'Kent'" in err and "internal error" not in err


def test_a_left_out_suppressed_row_keeps_the_totals_rounded() -> None:
    from threeml.engine.evaluate import count
    from threeml.plugins.registry import default_registry
    from threeml.testing import make_dataset

    dataset = make_dataset(
        users="\n".join(["user_id area", *(f"u{i} {'A' if i < 3 else 'B'}" for i in range(15))]),
        enrolments="\n".join(
            ["enrolment_id user_id service_id installed_on"]
            + [f"e{i} u{i} th 2013-01-01" for i in range(15)]
        ),
    )
    result = count(default_registry().counting("in-receipt"), dataset, "2013")
    whole = publish_count(result, DEFAULT_POLICY)
    kept = only_areas(whole, ["B"])
    assert [c.group for c in kept.breakdowns["area"]] == ["B"]
    assert isinstance(kept.breakdowns["area"][0], PublishedCell)
    assert kept.withheld_suppressed  # A (3 people) was suppressed
    assert kept.totals == only_areas(whole, ["A", "B"]).totals
    with pytest.raises(UnknownArea, match="'C'"):
        only_areas(whole, ["C"])
