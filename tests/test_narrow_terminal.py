"""Terminal tables at 80 columns and in piped output: nothing is cut, no value column dropped."""

from __future__ import annotations

import json
import re

import pytest

from threeml.cli import main
from threeml.data.demo import demo_folder
from threeml.plugins.registry import default_registry

ELLIPSIS = "…"


@pytest.fixture(params=["80", None], ids=["COLUMNS=80", "piped"])
def narrow(request, monkeypatch) -> None:
    """80 columns, set explicitly or as the width of output that is not a terminal."""
    if request.param is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", request.param)


def words(text: str) -> str:
    return " ".join(text.split())


def check_fits(out: str) -> None:
    assert ELLIPSIS not in out
    too_long = [line for line in out.splitlines() if len(line.rstrip()) > 80]
    assert not too_long, too_long


@pytest.mark.usefixtures("narrow")
def test_definitions_keeps_names_sources_and_titles_whole(capsys) -> None:
    assert main(["definitions"]) == 0
    out = capsys.readouterr().out
    check_fits(out)
    flat = words(out)
    for definition in default_registry().definitions():
        assert f"{definition.name}: {words(definition.title)}" in flat or (
            re.search(rf"│ {re.escape(definition.name)} +│", out)
            and words(definition.title) in flat
        )
        assert re.search(rf"│ {re.escape(definition.name)} +│", out), definition.name


@pytest.mark.usefixtures("narrow")
def test_plugins_lists_every_contribution_whole(capsys) -> None:
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    check_fits(out)
    assert main(["plugins", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    keys = ("counting", "metrics", "measure_kinds", "disclosure_policies", "criterion_kinds")
    for plugin in [*data["plugins"], {"name": "threeml", **data["builtin"]}]:
        for key in (*keys, "loaders"):
            for name in plugin[key]:
                assert re.search(
                    rf"│ {re.escape(plugin['name'])} +│ [a-z ]+ +│ {re.escape(name)} ", out
                ), (
                    plugin["name"],
                    name,
                )
    assert {"default", "nhs-digital", "cell-key"} <= set(data["builtin"]["disclosure_policies"])


@pytest.mark.usefixtures("narrow")
def test_the_report_summary_keeps_every_value_column(capsys, tmp_path) -> None:
    args = ["report", "--data", str(demo_folder()), "--period", "FY2013/14", "--out", str(tmp_path)]
    assert main([*args, "--definitions", "in-receipt,connections"]) == 0
    out = capsys.readouterr().out
    summary = out[: out.index("disclosure control:")]
    check_fits(summary)
    data = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    for metric in data["metrics"]:
        block = summary[summary.index(metric["name"]) :]
        assert "value" in block.splitlines()[1] or "│" in block.splitlines()[0]
        if metric.get("numerator") is not None:
            assert f"{metric['numerator']:,}".split(".")[0] in block
    for definition in data["definitions"]:
        assert f"{definition['considered']:,}" in summary
    assert "– no value" in out  # the legend


def test_the_report_progress_never_shows_none() -> None:
    from rich.progress import Progress

    from threeml.cli.report import StepsColumn

    with Progress(StepsColumn(), disable=True) as bar:
        task = bar.add_task("reading the extract", total=None)
        assert str(StepsColumn().render(bar.tasks[task])) == ""
        bar.update(task, total=4, completed=1)
        assert str(StepsColumn().render(bar.tasks[task])) == "1/4"
