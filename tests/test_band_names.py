"""``--by age_band`` and ``--by risk_band``: the bands by name, as their columns give them."""

from __future__ import annotations

import json

import pytest

from threeml.cli import main
from threeml.data import Dataset
from threeml.data.demo import demo_folder
from threeml.engine.evaluate import count
from threeml.plugins.registry import default_registry


@pytest.mark.parametrize(
    ("band", "column"), [("age_band", "birth_year"), ("risk_band", "risk_score")]
)
def test_a_band_by_name_groups_as_its_column(band: str, column: str) -> None:
    registry = default_registry()
    result = count(
        registry.counting("in-receipt"), Dataset.from_folder(demo_folder()), "2013",
        by=(band, column), registry=registry,
    )  # fmt: skip
    assert result.breakdowns[band] == result.breakdowns[column]
    assert len(result.breakdowns[band]) <= 20  # bands, not one group per value


def test_the_command_line_offers_the_bands_by_name(capsys) -> None:
    args = ["compare", "in-receipt", "--by", "age_band", "--by", "risk_band", "--format", "json"]
    assert main([*args, "--data", str(demo_folder()), "--period", "2013"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["definitions"]
    assert all(
        c["group"] in ("90+", "unknown") or c["group"].count("-") == 1
        for c in row["breakdown"]["age_band"]
    )
    assert {c["group"] for c in row["breakdown"]["risk_band"]} <= {
        "0-0.2", "0.2-0.4", "0.4-0.6", "0.6-0.8", "0.8-1", "unknown"
    }  # fmt: skip
    args = ["compare", "in-receipt", "--by", "age", "--data", str(demo_folder())]
    assert main([*args, "--period", "2013"]) == 2
    assert "age_band" in capsys.readouterr().err  # the refusal lists the bands by name
