"""The errors the engine and the reference evaluator raise for the person running threeml."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from threeml.errors import ThreemlError

__all__ = ["EvaluationError", "UnhandledCriterionKind"]


class EvaluationError(ThreemlError):
    """A definition cannot be evaluated as asked (a bad breakdown, a cycle, an unknown name)."""


class UnhandledCriterionKind(EvaluationError):
    """A criterion whose kind neither threeml nor any plugin given to the evaluator handles.

    ``kind`` is the criterion's name in definition files, ``owner`` the Python module its
    class comes from and ``installed`` the kinds the evaluator knows.
    """

    def __init__(self, kind: str, owner: str, installed: tuple[str, ...]) -> None:
        self.kind = kind
        self.owner = owner
        self.installed = installed
        super().__init__(str(self))

    @classmethod
    def of(cls, criterion: Any, installed: Iterable[str]) -> UnhandledCriterionKind:
        """The error for ``criterion``, given the names of the kinds that are installed."""
        kind = type(criterion)
        return cls(
            str(getattr(criterion, "kind", kind.__name__)),
            f"{kind.__module__}.{kind.__qualname__}",
            tuple(sorted(installed)),
        )

    def __str__(self) -> str:
        package = self.owner.partition(".")[0]
        return (
            f"no evaluator for criterion kind {self.kind!r} (defined in {self.owner}): a "
            f"plugin supplies it through the threeml_criterion_kinds hook, most likely the one "
            f"in the {package!r} package. Install and enable that plugin and evaluate with its "
            f"registry (registry=threeml.plugins.registry.default_registry()); the kinds known "
            f"here are {', '.join(self.installed)}"
        )
