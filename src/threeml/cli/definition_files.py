"""Definition files beside the installed definitions: ``--definition FILE`` and
``THREEML_DEFINITIONS``.

Every command that evaluates definitions (``compare``, ``count``, ``report``, ``metric``) and
``threeml definitions`` take any number of ``--definition PATH``, each a TOML or JSON definition
file or a folder of them, and read the ``THREEML_DEFINITIONS`` environment variable: paths in
the same form, separated by ``os.pathsep`` (``:`` on Linux and macOS). The definitions are added
to the registry as the plugins' are (a different definition under a registered name is an
error naming both), each with its file as its source.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import click

from threeml.definitions import CountingDefinition, MetricDefinition, Source, load_definition
from threeml.definitions.kinds import criterion_classes
from threeml.errors import ThreemlError
from threeml.plugins.messages import FILE_PLUGIN

__all__ = [
    "DEFINITIONS_VARIABLE",
    "SUFFIXES",
    "definition_files_option",
    "definition_paths",
    "looks_like_file",
    "read_files",
    "registry_with_files",
]

#: Paths of definition files or folders, separated by ``os.pathsep``.
DEFINITIONS_VARIABLE = "THREEML_DEFINITIONS"
#: The suffixes of definition files.
SUFFIXES = (".toml", ".json")

Definition = CountingDefinition | MetricDefinition

#: ``--definition PATH`` (repeatable): the parameter is called ``definition_files``.
definition_files_option = click.option(
    "--definition",
    "definition_files",
    multiple=True,
    type=click.Path(path_type=Path),
    metavar="PATH",
    help="A TOML or JSON definition file, or a folder of them, added beside the installed "
    f"definitions (repeatable; {DEFINITIONS_VARIABLE} names more, separated by "
    f"'{os.pathsep}').",
)


def looks_like_file(name: str) -> bool:
    """Whether a NAME argument is a definition file's path rather than a registered name."""
    return name.lower().endswith(SUFFIXES) or "/" in name or os.sep in name


def _expand(path: Path, origin: str) -> list[Path]:
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)
        if not found:
            raise ThreemlError(
                f"{origin} names the folder {path}, which holds no .toml or .json definition files"
            )
        return found
    if not path.exists():
        raise ThreemlError(
            f"{origin} names {path}, which does not exist; give a TOML or JSON definition "
            "file, or a folder of them"
        )
    if path.suffix.lower() not in SUFFIXES:
        raise ThreemlError(
            f"{origin} names {path}, which is not a definition file: definition files end "
            ".toml or .json"
        )
    return [path]


def definition_paths(
    given: Iterable[Path | str] = (), environ: Mapping[str, str] | None = None
) -> list[Path]:
    """Every definition file named by ``given`` paths and ``THREEML_DEFINITIONS``, folders
    expanded (in name order), each once, in the order named."""
    environ = os.environ if environ is None else environ
    named = [(Path(p), "--definition") for p in given]
    variable = environ.get(DEFINITIONS_VARIABLE, "")
    named += [
        (Path(p.strip()), DEFINITIONS_VARIABLE) for p in variable.split(os.pathsep) if p.strip()
    ]
    paths: dict[Path, None] = {}
    for path, origin in named:
        for found in _expand(path, origin):
            paths.setdefault(found, None)
    return list(paths)


def read_files(paths: Sequence[Path], registry: Any) -> list[Definition]:
    """The definitions in ``paths``, each stamped with its file as its source; a file may use
    every criterion kind the registry knows."""
    classes = criterion_classes(registry)
    loaded = []
    for path in paths:
        definition = load_definition(path, criteria=classes)
        loaded.append(attrs.evolve(definition, source=Source(FILE_PLUGIN, path=str(path))))
    return loaded


def registry_with_files(
    given: Iterable[Path | str] = (), environ: Mapping[str, str] | None = None
) -> tuple[Any, list[Definition]]:
    """The default registry with the definition files of ``given`` and ``THREEML_DEFINITIONS``
    added, and the definitions read from them (in the order named)."""
    from threeml.plugins.registry import default_registry

    registry = default_registry()
    paths = definition_paths(given, environ)
    if not paths:
        return registry, []
    loaded = read_files(paths, registry)
    return registry.with_definitions(*loaded), loaded
