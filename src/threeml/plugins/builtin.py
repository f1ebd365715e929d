"""threeml's own plugin: the contributions every registry starts with.

The ``proportion`` measure kind, the named disclosure policies, the criterion kinds of
:mod:`threeml.definitions.criteria` and the loaders of :mod:`threeml.data.loaders` are supplied
through the same hooks as any plugin's (as datasette loads its own default plugins), so the
registry treats them like any other contribution: listed, attributed to threeml, and a plugin
that reuses one of their names with something different is a conflict naming both.

Like any plugin this module sits above the layers it draws on; it imports each one only when its
hook is called, so that importing the registry stays cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from threeml.definitions.criteria import CRITERIA, Criterion
from threeml.definitions.kinds import CriterionKind
from threeml.definitions.policies import BUILTIN_POLICIES, DisclosurePolicy
from threeml.plugins.hookspecs import hookimpl

__all__ = [
    "threeml_criterion_kinds",
    "threeml_disclosure_policies",
    "threeml_loaders",
    "threeml_measure_kinds",
]


@hookimpl
def threeml_measure_kinds() -> Sequence[Any]:
    from threeml.metrics.proportion import MEASURES

    return list(MEASURES.values())


@hookimpl
def threeml_disclosure_policies() -> Sequence[DisclosurePolicy]:
    return list(BUILTIN_POLICIES.values())


def _compile(criterion: Criterion, compiler: Any) -> Any:
    """The engine compiles the built-in kinds with its own handlers: the users who pass."""
    return compiler.user_pass(criterion)


def _reference(criterion: Criterion, data: Any, period: Any, user_id: str) -> tuple[bool, str]:
    """The reference evaluator tests the built-in kinds with its own handlers."""
    from threeml.engine.reference import user_outcome

    outcome = user_outcome(criterion, user_id, data, period)
    return outcome.passed, outcome.evidence


@hookimpl
def threeml_criterion_kinds() -> Sequence[CriterionKind]:
    return [CriterionKind(cls, compile=_compile, reference=_reference) for cls in CRITERIA.values()]


@hookimpl
def threeml_loaders() -> Sequence[Any]:
    from threeml.data import loaders

    return list(getattr(loaders, "BUILTIN_LOADERS", ()))
