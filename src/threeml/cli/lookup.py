"""Finding the definition a command is about: by name in the registry, or in a file."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from threeml.cli.definition_files import registry_with_files
from threeml.definitions import CountingDefinition, MetricDefinition
from threeml.errors import ThreemlError

__all__ = ["resolve"]

_NOUNS = {CountingDefinition: "a counting definition", MetricDefinition: "a metric"}


def resolve(
    name: str | None, definition_files: Path | Sequence[Path] | None, kind: type
) -> tuple[Any, Any]:
    """The definition of ``kind`` named, or read from a file, and a registry that knows it.

    ``definition_files`` (one path, several, or none) and ``THREEML_DEFINITIONS`` add
    definition files to the registry (see :mod:`threeml.cli.definition_files`). Without a
    name, the one definition of ``kind`` the files hold is meant. A file may use every
    criterion kind the registry knows, plugins' included.
    """
    if definition_files is None:
        files: list[Path] = []
    elif isinstance(definition_files, str | Path):
        files = [Path(definition_files)]
    else:
        files = list(definition_files)
    registry, loaded = registry_with_files(files)
    if name:
        lookup = registry.counting if kind is CountingDefinition else registry.metric
        return lookup(name), registry
    mine = [d for d in loaded if isinstance(d, kind)]
    if len(mine) == 1:
        return mine[0], registry
    noun = "definition" if kind is CountingDefinition else "metric"
    if mine:
        names = ", ".join(repr(d.name) for d in mine)
        raise click.UsageError(f"the definition files hold {len(mine)} of them ({names}): name one")
    if loaded:
        (first, *_) = loaded
        other = next(noun for cls, noun in _NOUNS.items() if cls is not kind)
        raise ThreemlError(f"{first.source.describe()} holds {other}, not {_NOUNS[kind]}")
    raise click.UsageError(f"name a {noun}, or give one with --definition FILE")
