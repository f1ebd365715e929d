"""Hostile extract values reach no spreadsheet formula, terminal markup or mathtext (issue 14)."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest

from threeml.cli import main
from threeml.data.demo import demo_folder
from threeml.publish.safe import csv_cell, plain_text, terminal_text

# (Control characters such as ANSI escapes are refused by validation; see
# tests/test_hostile_catalogue.py.)
HOSTILE = ['=HYPERLINK("x")', "North[/]", "+cmd|x", "[link=http://x]y", "@SUM(A1)", r"$\frac$"]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Path:
    """The demo extract with every user's area one of the hostile names."""
    folder = tmp_path_factory.mktemp("hostile") / "extract"
    shutil.copytree(demo_folder(), folder, ignore=shutil.ignore_patterns("__init__.py"))
    path = folder / "users.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for number, row in enumerate(rows):
        row["area"] = HOSTILE[number % len(HOSTILE)]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return folder


def _cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def _assert_no_formula(text: str) -> None:
    cells = _cells(text)
    assert cells
    live = [c for c in cells if c.startswith(("=", "+", "@", "\t", "\r")) or c.startswith("-")]
    assert [c for c in live if not _number(c)] == []
    assert '\'=HYPERLINK("x")' in cells


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_the_csv_cell_rule() -> None:
    assert csv_cell("=1+1") == "'=1+1"
    assert csv_cell("+cmd|x") == "'+cmd|x"
    assert csv_cell("-x") == "'-x"
    assert csv_cell("@SUM(A1)") == "'@SUM(A1)"
    assert csv_cell("\tx") == "'\tx"
    assert csv_cell("\rx") == "'\rx"
    assert csv_cell("-3.5") == "-3.5"
    assert csv_cell(-3) == -3
    assert csv_cell("North") == "North"
    assert csv_cell(None) is None


def test_terminal_text_is_literal() -> None:
    assert terminal_text("North[/]") == "North\\[/]"
    assert plain_text("\x1b[31mred\n") == "\\x1b[31mred\\n"
    assert "\x1b" not in terminal_text("\x1b[31mred")


@pytest.mark.parametrize(
    "command",
    [
        ["count", "example.pendant-heartbeat-7d", "--by", "area"],
        ["compare", "example.pendant-heartbeat-7d", "example.heartbeat-steady", "--by", "area"],
        ["metric", "user-years", "--by", "area"],
    ],
    ids=lambda c: c[0],
)
def test_commands_neutralise_hostile_areas(hostile, capsys, command) -> None:
    args = [*command, "--data", str(hostile), "--period", "2013"]
    assert main([*args, "--format", "csv"]) == 0
    captured = capsys.readouterr()
    assert "internal error" not in captured.err
    _assert_no_formula(captured.out)
    assert main([*args, "--format", "table"]) == 0
    captured = capsys.readouterr()
    assert "internal error" not in captured.err
    assert "\x1b" not in captured.out
    assert "North[/" in captured.out  # shown literally (a wide column may wrap the rest)


def test_a_report_with_hostile_areas_and_title_writes(hostile, tmp_path, capsys) -> None:
    out = tmp_path / "report"
    args = ["report", "--data", str(hostile), "--period", "FY2013/14", "--by", "area"]
    assert main([*args, "--out", str(out), "--title", r"$\frac$ report"]) == 0
    captured = capsys.readouterr()
    assert "internal error" not in captured.err
    assert "\x1b" not in captured.out
    _assert_no_formula((out / "results.csv").read_text(encoding="utf-8"))
    assert (out / "report.html").stat().st_size > 0


def test_charts_draw_dollar_signs_literally() -> None:
    from threeml.report import charts

    if not charts.available():
        pytest.skip("matplotlib is not installed")
    svg = charts.definitions_bar([r"$\frac$", r"$x^2$ users"], [12, None], ["users", "users"])
    assert r"$\frac$" in svg
    steps = [{"step": 1, "criterion": r"has $\frac$", "remaining": 3, "excluded": 1}]
    assert "frac" in charts.funnel(4, steps, "users")


def test_validate_prints_hostile_codes_literally(tmp_path, capsys) -> None:
    folder = tmp_path / "extract"
    shutil.copytree(demo_folder(), folder, ignore=shutil.ignore_patterns("__init__.py"))
    path = folder / "contacts.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    header, first, second = lines[0], lines[1].split(","), lines[2].split(",")
    first[-1], second[-1] = "[/]", "\x1b[31mred"
    path.write_text("\n".join([header, ",".join(first), ",".join(second), *lines[3:]]) + "\n")
    main(["validate", str(folder)])
    captured = capsys.readouterr()
    assert "internal error" not in captured.err
    assert "(value '[/]')" in captured.out
    assert "\x1b" not in captured.out
