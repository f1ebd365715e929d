"""Finding the definition a command is about: by name in the registry, or in a file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from threeml.definitions import CountingDefinition, MetricDefinition, load_definition
from threeml.definitions.kinds import criterion_classes
from threeml.errors import ThreemlError

__all__ = ["resolve"]

_NOUNS = {CountingDefinition: "a counting definition", MetricDefinition: "a metric"}


def resolve(name: str | None, definition_file: Path | None, kind: type) -> tuple[Any, Any]:
    """The definition of ``kind`` named, or read from a file, and a registry that knows it.

    A file may use every criterion kind the registry knows, plugins' included.
    """
    from threeml.plugins.registry import default_registry

    registry = default_registry()
    if definition_file is not None:
        loaded = load_definition(definition_file, criteria=criterion_classes(registry))
        if not isinstance(loaded, kind):
            other = next(noun for cls, noun in _NOUNS.items() if cls is not kind)
            raise ThreemlError(f"{definition_file} holds {other}, not {_NOUNS[kind]}")
        if name and name != loaded.name:
            raise ThreemlError(f"{definition_file} defines {loaded.name!r}, not {name!r}")
        return loaded, registry.with_definitions(loaded)
    if not name:
        noun = "definition" if kind is CountingDefinition else "metric"
        raise click.UsageError(f"name a {noun}, or give one with --definition FILE")
    if kind is CountingDefinition:
        return registry.counting(name), registry
    return registry.metric(name), registry
