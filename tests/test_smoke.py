"""The package imports and the demo extract validates cleanly."""

from threeml.cli import main
from threeml.data import Dataset
from threeml.data.demo import demo_folder


def test_demo_extract_is_valid() -> None:
    dataset = Dataset.from_folder(demo_folder())
    assert dataset.report.ok
    assert dataset.count_rows()["users"] > 100


def test_demo_command_succeeds(capsys) -> None:
    assert main(["demo"]) == 0
    assert "valid" in capsys.readouterr().out
