"""Spec cases: check worked examples, and find the ones a plugin offers.

A :class:`~threeml.definitions.speccase.SpecCase` is a tiny dataset, a period and the ids
that must count. :func:`check_spec_case` evaluates it with the engine and the
reference evaluator and fails with the reasons for every unit that is wrongly
in or out; :func:`spec_case_params` turns a plugin's cases into
``pytest.mark.parametrize`` parameters with readable ids.

The ``SPEC_CASES`` convention
-----------------------------

A plugin offers its worked examples by giving its plugin module (the one its
entry point names) a ``SPEC_CASES`` attribute, a sequence of
:class:`~threeml.definitions.speccase.SpecCase`::

    from threeml_acme.spec_cases import SPEC_CASES  # noqa: F401  (offered to threeml)

The docs' catalogue renders each case under its definition as a worked
example (tables, expected members and why the others are out), and
:func:`threeml.testing.check_plugin` checks them. :func:`plugin_spec_cases`
collects them from the plugins of a registry.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from attrs import frozen

if TYPE_CHECKING:
    from threeml.definitions import CountingDefinition
    from threeml.definitions.speccase import SpecCase
    from threeml.engine.results import CountResult
    from threeml.plugins.registry import Registry

__all__ = [
    "SPEC_CASES_ATTRIBUTE",
    "CaseReason",
    "case_reasons",
    "check_spec_case",
    "plugin_spec_cases",
    "spec_case_params",
    "spec_cases_of",
]

#: The attribute of a plugin module (or object) holding its worked examples.
SPEC_CASES_ATTRIBUTE = "SPEC_CASES"


@frozen
class CaseReason:
    """Whether one unit of a spec case counts, and if not, the first criterion it fails."""

    unit: str
    counted: bool
    #: 1-based number of the first criterion failed (``None`` when counted).
    criterion: int | None
    #: That criterion in words (``""`` when counted).
    describe: str
    #: The reference evaluator's evidence for that criterion (or for the last, when counted).
    evidence: str


def _resolve(
    case: SpecCase, definition: CountingDefinition | None, registry: Registry | None
) -> tuple[CountingDefinition, Registry]:
    from threeml.plugins.registry import default_registry

    registry = registry if registry is not None else default_registry()
    if definition is None:
        definition = registry.counting(case.definition)
    return definition, registry


def case_reasons(
    case: SpecCase,
    definition: CountingDefinition | None = None,
    *,
    registry: Any = None,
    dataset: Any = None,
) -> list[CaseReason]:
    """Every unit of the case with whether it counts and why not, by the reference evaluator.

    ``dataset`` is the case's dataset when it is already built.
    """
    from threeml.definitions.kinds import plugin_kinds
    from threeml.engine.reference import ReferenceData, reference_count
    from threeml.records.periods import Period

    definition, registry = _resolve(case, definition, registry)
    data = ReferenceData.from_dataset(dataset if dataset is not None else case.dataset())
    result = reference_count(
        definition,
        data,
        Period.parse(case.period),
        registry.counting,
        kinds=plugin_kinds(registry),
    )
    reasons = []
    for unit in sorted(result.outcomes):
        outcomes = result.outcomes[unit]
        failed = result.first_failed(unit)
        if failed is None:
            reasons.append(CaseReason(unit, True, None, "", outcomes[-1].evidence))
        else:
            criterion = definition.criteria[failed - 1]
            reasons.append(
                CaseReason(unit, False, failed, criterion.describe(), outcomes[failed - 1].evidence)
            )
    return reasons


def _ids(values: Iterable[str]) -> str:
    values = sorted(values)
    return ", ".join(values) if values else "nobody"


def check_spec_case(
    case: SpecCase,
    definition: CountingDefinition | None = None,
    *,
    registry: Registry | Any = None,
) -> CountResult:
    """Assert that the engine and the reference evaluator both count exactly ``case.expected``.

    ``definition`` defaults to the one the case names, looked up in ``registry``
    (default: :func:`threeml.plugins.registry.default_registry`), which also resolves
    ``member-of`` criteria. Returns the engine's result. On failure the
    :class:`AssertionError` says, for every unit wrongly in or out, the first
    criterion it fails and the evidence.
    """
    from threeml.engine.evaluate import count

    definition, registry = _resolve(case, definition, registry)
    dataset = case.dataset()
    result = count(definition, dataset, case.period, registry=registry)
    engine = result.members()
    reasons = {
        r.unit: r for r in case_reasons(case, definition, registry=registry, dataset=dataset)
    }
    reference = {unit for unit, reason in reasons.items() if reason.counted}
    expected = set(case.expected)
    if engine == expected == reference:
        return result
    lines = [
        f"spec case {case.title!r} of {definition.name} (period {case.period}): "
        f"expected {_ids(expected)} to count"
    ]
    if engine != expected:
        lines.append(f"  the engine counts {_ids(engine)}")
    if reference != expected:
        lines.append(f"  the reference evaluator counts {_ids(reference)}")
    unknown = expected - set(reasons)
    if unknown:
        lines.append(f"  not in the case's data at all: {_ids(unknown)}")
    for unit in sorted((expected ^ engine) | (expected ^ reference)):
        reason = reasons.get(unit)
        if reason is None:
            continue
        if reason.counted:
            lines.append(f"  {unit} passes every criterion ({reason.evidence})")
        else:
            lines.append(
                f"  {unit} fails criterion {reason.criterion} ({reason.describe}): "
                f"{reason.evidence}"
            )
    raise AssertionError("\n".join(lines))


def spec_case_params(cases: Iterable[SpecCase]) -> list[Any]:
    """``pytest.param`` per case, with the id ``<definition>: <title>``, for ``parametrize``."""
    import pytest

    return [pytest.param(case, id=f"{case.definition}: {case.title}") for case in cases]


def spec_cases_of(plugin: Any) -> tuple[SpecCase, ...]:
    """The ``SPEC_CASES`` a plugin object (or its module) offers; empty when none."""
    from threeml.definitions.speccase import SpecCase

    found = getattr(plugin, SPEC_CASES_ATTRIBUTE, None)
    if found is None and not isinstance(plugin, type(sys)):
        module = sys.modules.get(getattr(plugin, "__module__", "") or "")
        found = getattr(module, SPEC_CASES_ATTRIBUTE, None)
    cases = tuple(found or ())
    for case in cases:
        if not isinstance(case, SpecCase):
            raise TypeError(
                f"{SPEC_CASES_ATTRIBUTE} of {getattr(plugin, '__name__', plugin)!r} holds "
                f"{type(case).__name__}, not threeml.definitions.speccase.SpecCase"
            )
    return cases


def _plugin_object(entry_point: str) -> Any:
    module_name, _, attribute = entry_point.partition(":")
    module = sys.modules.get(module_name) or importlib.import_module(module_name)
    target = module
    for part in filter(None, attribute.split(".")):
        target = getattr(target, part)
    return target


def plugin_spec_cases(registry: Registry) -> Mapping[str, Sequence[SpecCase]]:
    """The spec cases the registry's entry-point plugins offer, by definition name.

    Only cases of definitions registered in ``registry`` are returned, in the order
    their plugins (by name) list them. Plugins passed as ``extra_plugins`` are not
    visible here (the registry keeps no reference to them); use :func:`spec_cases_of`.
    """
    found: dict[str, list[SpecCase]] = {}
    for info in registry.plugins:
        if not info.entry_point:
            continue
        try:
            plugin = _plugin_object(info.entry_point)
        except Exception:  # it loaded for the registry; if it cannot be found now, skip it
            continue
        for case in spec_cases_of(plugin):
            if case.definition in registry:
                found.setdefault(case.definition, []).append(case)
    return {name: tuple(cases) for name, cases in found.items()}
