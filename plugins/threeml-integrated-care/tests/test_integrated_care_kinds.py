"""The measure kinds as values: an import-light catalogue, and one skeleton checked on build."""

from __future__ import annotations

import subprocess
import sys

import pytest
from threeml_integrated_care.kinds import KINDS, LazyKind
from threeml_integrated_care.skeleton import Cell, CellMeasure

from threeml.metrics.measures import MeasureKind
from threeml.plugins.registry import default_registry


def _imports_after(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return done.stdout.strip()


def test_the_entry_point_module_does_not_import_the_engine() -> None:
    code = (
        "import sys, threeml_integrated_care.plugin as p\n"
        "kinds = p.threeml_measure_kinds()\n"
        "p.threeml_metric_definitions(); p.threeml_counting_definitions()\n"
        "print('ibis' in sys.modules, 'duckdb' in sys.modules, len(kinds))"
    )
    assert _imports_after(code) == f"False False {len(KINDS)}"


def test_every_kind_loads_as_the_kind_it_names() -> None:
    names = [kind.kind for kind in KINDS]
    assert len(set(names)) == len(names)
    for kind in KINDS:
        loaded = kind.load()
        assert isinstance(loaded, CellMeasure)
        assert isinstance(kind, MeasureKind) and isinstance(loaded, MeasureKind)
        assert loaded.kind == kind.kind
        assert loaded.gate in loaded.cells


def test_a_kind_built_twice_is_the_same_kind_to_the_registry() -> None:
    again = LazyKind(KINDS[0].kind, KINDS[0].module, KINDS[0].value)
    assert again == KINDS[0]
    registry = default_registry().with_measure_kinds(again)
    assert registry.measure_kind(again.kind) == KINDS[0]


def test_the_former_class_names_still_build_the_kinds() -> None:
    from threeml_integrated_care.kinds import ArmComparison, UserYears

    assert UserYears() is KINDS[0]
    assert ArmComparison().kind == "arm-comparison"


def test_a_measure_needs_facts_or_a_tally_and_a_gate_among_its_cells() -> None:
    common = dict(derive=lambda plan, cells: None, labels={})
    with pytest.raises(ValueError, match="facts or tally"):
        CellMeasure(kind="x", cells={"people": Cell()}, **common)
    with pytest.raises(ValueError, match="gate"):
        CellMeasure(kind="x", cells={"n": Cell()}, tally=lambda c, p: None, **common)
    with pytest.raises(ValueError, match="without an aggregate: people"):
        CellMeasure(kind="x", cells={"people": Cell()}, facts=lambda c, p: None, **common)
