"""Results in Python: readable repr, HTML repr, Arrow and pandas (raw figures)."""

from __future__ import annotations

import json

import pytest

from threeml.data import Dataset
from threeml.data.demo import demo_folder
from threeml.engine.evaluate import count
from threeml.plugins.registry import default_registry
from threeml.publish.disclosure import DEFAULT_POLICY
from threeml.report import build_report, publish
from threeml.report.fhir import to_measure_report_json


@pytest.fixture(scope="module")
def result():
    registry = default_registry()
    return count(
        registry.counting("in-receipt"),
        Dataset.from_folder(demo_folder()),
        "FY2013/14",
        by=("area",),
        registry=registry,
    )


def test_repr_is_one_readable_line(result) -> None:
    text = repr(result)
    assert text.startswith("<CountResult in-receipt v1 2013-04-01..2014-03-31: ")
    assert f"{result.count:,} users" in text and "\n" not in text


def test_html_repr_has_the_attrition(result) -> None:
    html = result._repr_html_()
    for step in result.attrition:
        assert step.criterion in html
    assert "secure environment" in html


def test_to_arrow_and_pandas_keep_raw_figures(result) -> None:
    table = result.to_arrow()
    rows = table.to_pylist()
    assert {"section": "total", "item": "count", "value": result.count}.items() <= rows[0].items()
    breakdown = {r["item"]: r["value"] for r in rows if r["section"] == "breakdown"}
    assert breakdown == {row.value: row.count for row in result.breakdowns["area"]}
    frame = result.to_pandas()
    assert list(frame.columns) == table.column_names
    assert len(frame) == table.num_rows


def test_measure_report_validates_against_fhir_r4() -> None:
    fhir = pytest.importorskip("fhir.resources")
    try:
        from fhir.resources.R4B.measurereport import MeasureReport
    except ImportError:  # pragma: no cover - older fhir.resources: R4 at the top
        from fhir.resources.measurereport import MeasureReport
    registry = default_registry()
    report = build_report(
        Dataset.from_folder(demo_folder()),
        "FY2013/14",
        registry=registry,
        metrics=[],
        over_time=False,
    )
    text = to_measure_report_json(publish(report, DEFAULT_POLICY))
    data = json.loads(text)
    parse = getattr(MeasureReport, "model_validate", None) or MeasureReport.parse_obj
    resource = parse(data)
    assert resource.type == "summary" and fhir
    assert len(resource.group) == len(registry.counting_definitions())
    strata = [s for g in data["group"] for st in g.get("stratifier", []) for s in st["stratum"]]
    masked = [s for s in strata if "count" not in s["population"][0]]
    assert masked, "the demo extract has small areas"
    for stratum in masked:
        assert stratum["population"][0]["extension"][0]["valueCode"] == "masked"
