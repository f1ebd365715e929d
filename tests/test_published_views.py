"""Issue 13, item 1 and 5 across every output: each command in each format, and the
published Arrow/pandas views, state the policy, the audit's outcome and the provenance,
and hold only published figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import threeml
from threeml.cli import main
from threeml.data import open_dataset
from threeml.engine.compare import compare, diff
from threeml.engine.evaluate import count
from threeml.plugins.registry import default_registry
from threeml.publish.compare import PublishedDiff, publish_comparison
from threeml.publish.counts import publish_count
from threeml.publish.disclosure import DEFAULT_POLICY
from threeml.publish.frames import to_arrow, to_pandas
from threeml.publish.provenance import provenance_of

DATA = str(Path(threeml.__file__).parent / "demo_data")
PERIOD = ("--data", DATA, "--period", "2013")

COMMANDS = {
    "count": ("count", "ltc-telehealth", "--by", "area", *PERIOD),
    "compare": ("compare", "in-receipt", "ltc-telehealth", "--by", "area", *PERIOD),
    "compare --diff": ("compare", "in-receipt", "ltc-telehealth", "--diff", *PERIOD),
    "metric": ("metric", "multi-sector-share", "--by", "area", *PERIOD),
}


@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_in_every_format_states_policy_audit_and_provenance(
    capsys, command: str, fmt: str
) -> None:
    assert main([*COMMANDS[command], "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert "counts 1-7 suppressed, others rounded to the nearest 5" in out
    assert "checked by linear programming" in out  # the audit ran, and says so
    assert "sha256" in out and "threeml" in out  # definitions and extract fingerprinted
    if fmt == "json":
        data = json.loads(out)
        assert data["audit"]["solver"].startswith("HiGHS")
        assert data["provenance"]["extract"]["extract_date"] == "2013-12-31"


def _demo():
    return open_dataset(DATA)


def test_the_published_view_of_a_count_holds_the_published_figures() -> None:
    registry = default_registry()
    dataset = _demo()
    result = count(registry.counting("ltc-telehealth"), dataset, "2013", by=("area",))
    stamp = provenance_of(dataset, [result.definition], DEFAULT_POLICY)
    document = publish_count(result, DEFAULT_POLICY, provenance=stamp)
    table = to_arrow(document)
    frame = table.to_pylist()
    cells = {r["item"]: r for r in frame if r["section"] == "breakdown:area"}
    published = {
        c["group"]: c["count"] for c in json.loads(json.dumps(document.data()))["breakdown"]["area"]
    }
    assert {group: row["value"] for group, row in cells.items()} == published
    assert any(row["value_suppressed"] for row in cells.values())  # Newham, Kent (see docs)
    raw = {row.value: row.count for row in result.breakdowns["area"]}
    assert any(cells[g]["value"] != raw[g] for g in raw)  # not the raw figures
    total = next(r for r in frame if r["section"] == "total" and r["item"] == "count")
    assert total["value"] == DEFAULT_POLICY.apply(result.count)
    assert total["disclosure"].startswith("default")
    items = {r["item"] for r in frame if r["section"] == "provenance"}
    assert {"audit", "definition ltc-telehealth", "table users"} <= items
    metadata = {k.decode(): v.decode() for k, v in table.schema.metadata.items()}
    assert "linear programming" in metadata["threeml.audit"]
    audit = next(r for r in frame if r["section"] == "provenance" and r["item"] == "audit")
    assert audit["value"] is None and audit["value_text"].startswith("passed")
    assert metadata["threeml.disclosure"] == DEFAULT_POLICY.describe()


def test_every_document_has_a_published_pandas_view() -> None:
    pytest.importorskip("pandas")
    from threeml.report import build_report, publish_report

    registry = default_registry()
    dataset = _demo()
    names = [registry.counting("in-receipt"), registry.counting("ltc-telehealth")]
    comparison = compare(names, dataset, "2013", by=("area",), registry=registry)
    documents = {
        "comparison": publish_comparison(comparison, DEFAULT_POLICY, by=("area",)),
        "diff": PublishedDiff(
            diff(comparison.results["in-receipt"], comparison.results["ltc-telehealth"]),
            DEFAULT_POLICY,
        ),
        "report": publish_report(
            build_report(dataset, "2013", registry=registry, definitions=names, metrics=[],
                         over_time=False),
            DEFAULT_POLICY,
        ),
    }  # fmt: skip
    for name, document in documents.items():
        frame = to_pandas(document)
        assert len(frame) > 0, name
        assert "linear programming" in frame.attrs["threeml.audit"], name
        assert frame.attrs["threeml.disclosure"].startswith("default"), name


def test_a_raw_result_has_no_published_view() -> None:
    registry = default_registry()
    result = count(registry.counting("in-receipt"), _demo(), "2013")
    with pytest.raises(threeml.errors.ThreemlError, match="publish a count"):
        to_arrow(result)
