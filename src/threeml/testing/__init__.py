"""The plugin author's kit: fixtures, Hypothesis strategies and a conformance check.

Everything a test of a definition or a plugin needs, importable from here::

    from threeml.testing import check_definition, check_plugin, make_dataset

- :func:`make_dataset` builds a validated dataset from readable tables
  (:mod:`threeml.testing.tables` describes the format);
- :func:`isolated_registry` builds a registry of only the plugins and
  definitions a test gives;
- :func:`check_spec_case` asserts that a worked example counts exactly its
  expected members, and :func:`spec_case_params` parametrizes a test over a
  plugin's cases;
- :func:`check_definition`, :func:`check_definitions` and :func:`check_plugin`
  are the conformance check (:mod:`threeml.testing.conformance`);
- :func:`check_policy` is the check for a disclosure policy (:mod:`threeml.testing.policies`);
- :mod:`threeml.testing.strategies` holds the Hypothesis strategies (records,
  extracts and datasets, periods, criteria, definitions).

The same helpers are pytest fixtures (``make_dataset``, ``threeml_registry``,
``check_spec_case``, ``check_definition``), registered by threeml's pytest plugin
(:mod:`threeml.testing.pytest_plugin`) in every environment where threeml is
installed. Only the conformance check and the strategies need Hypothesis.

Names are imported on first use, so ``import threeml.testing`` is cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "case_reasons",
    "check_definition",
    "check_definitions",
    "check_documented",
    "check_evaluation",
    "check_plugin",
    "check_policy",
    "check_round_trip",
    "check_spec_case",
    "format_table",
    "isolated_registry",
    "make_dataset",
    "parse_table",
    "plugin_spec_cases",
    "spec_case_params",
    "spec_cases_of",
]

_WHERE = {
    "make_dataset": "tables",
    "parse_table": "tables",
    "format_table": "tables",
    "isolated_registry": "registries",
    "check_spec_case": "speccases",
    "case_reasons": "speccases",
    "spec_case_params": "speccases",
    "spec_cases_of": "speccases",
    "plugin_spec_cases": "speccases",
    "check_definition": "conformance",
    "check_definitions": "conformance",
    "check_documented": "conformance",
    "check_evaluation": "conformance",
    "check_plugin": "conformance",
    "check_round_trip": "conformance",
    "check_policy": "policies",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'threeml.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"threeml.testing.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
