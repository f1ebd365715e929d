"""The contracts between the layers: what the engine, the metrics and the registry expect of
each other, written as protocols so that none of them imports another to name it.

- :class:`DefinitionResolver`: anything that finds a counting definition by name. The registry
  is one; the engine asks for one to follow ``member-of`` criteria, and tests pass small
  stand-ins with just this method.
- :class:`MeasureKind`: what a plugin's measure kind provides: a ``kind`` name and an
  ``evaluate(context)`` method returning a metric result (see :mod:`threeml.metrics.measures`
  for the context and the result).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from threeml.definitions.definitions import CountingDefinition

__all__ = ["DefinitionResolver", "MeasureKind"]


@runtime_checkable
class DefinitionResolver(Protocol):
    """Finds a counting definition by name (``registry.counting``), raising ``LookupError``
    when there is none."""

    def counting(self, name: str) -> CountingDefinition: ...


@runtime_checkable
class MeasureKind(Protocol):
    """What a measure kind provides: its name, and how to evaluate a metric.

    ``kind`` is the name metrics use in ``Measure(kind=...)`` (lower-case words
    joined by ``-``). ``evaluate`` turns a :class:`~threeml.metrics.measures.MetricContext`
    into a :class:`~threeml.metrics.measures.MetricResult`, normally through
    ``MetricContext.summarise`` and ``build_result``. Raise ``MetricError`` for an option it
    cannot use.
    """

    kind: str

    def evaluate(self, context: Any) -> Any:
        """Compute the metric for ``context``."""
        ...
