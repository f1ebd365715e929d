"""The registry's words: "did you mean", where a contribution came from, how to resolve a clash."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from threeml._version import __version__
from threeml.definitions import Source
from threeml.plugins.info import distribution_text

__all__ = [
    "BUILTIN_SOURCE",
    "DISABLE_VARIABLE",
    "FILE_PLUGIN",
    "NO_PLUGINS_VARIABLE",
    "closest",
    "definition_conflict",
    "describe_source",
    "either",
    "kind_conflict",
    "one_line",
]

#: Comma-separated entry-point names not to load.
DISABLE_VARIABLE = "THREEML_DISABLE_PLUGINS"
#: Set to 1 to load no entry-point plugins at all.
NO_PLUGINS_VARIABLE = "THREEML_NO_PLUGINS"
#: The plugin name recorded for ad-hoc definitions added with ``Registry.with_definitions``.
FILE_PLUGIN = "file"
#: Where threeml's built-in contributions (``proportion``, the policies …) are recorded as from.
BUILTIN_SOURCE = Source("threeml", "threeml", __version__)


def closest(name: str, known: Iterable[str]) -> list[str]:
    return difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.6)


def either(names: Sequence[str]) -> str:
    quoted = [repr(n) for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def one_line(error: BaseException) -> str:
    return " ".join(f"{type(error).__name__}: {error}".split())


def _from_file(source: Source | None) -> bool:
    return source is not None and source.plugin == FILE_PLUGIN and source.distribution is None


def describe_source(source: Source | None) -> str:
    if source is None:  # pragma: no cover - the registry stamps every definition
        return "unknown source"
    if _from_file(source):
        return f"the definition file {source.path}" if source.path else "a definition file"
    return f"{distribution_text(source.distribution, source.version)} (plugin {source.plugin!r})"


def how_to_drop(entry_points: set[str], source: Source | None, what: str = "definition") -> str:
    if source is None or _from_file(source):
        return f"rename the {what} in the file"
    if source == BUILTIN_SOURCE:
        return f"keep threeml's built-in {what}"
    if source.plugin in entry_points:
        return f"{DISABLE_VARIABLE}={source.plugin}"
    return f"leave {source.plugin!r} out of extra_plugins"


def _differences(first: Any, second: Any) -> str:
    if type(first) is not type(second):
        return "one is a counting definition, the other a metric definition"
    fields = [
        a.name
        for a in attrs.fields(type(first))
        if a.eq and getattr(first, a.name) != getattr(second, a.name)
    ]
    return f"they differ in {', '.join(fields)}"


def definition_conflict(entry_points: set[str], existing: Any, new: Any) -> str:
    first, second = existing.source, new.source
    if first == second:
        return (
            f"{describe_source(first)} supplies two different definitions named "
            f"{new.name!r} ({_differences(existing, new)})"
        )
    return (
        f"two different definitions are named {new.name!r}: one from "
        f"{describe_source(first)}, one from {describe_source(second)} "
        f"({_differences(existing, new)}); definitions are chosen by name, so use only one: "
        f"{how_to_drop(entry_points, first)}, or {how_to_drop(entry_points, second)}"
    )


def kind_conflict(
    entry_points: set[str],
    name: str,
    first: Source,
    second: Source,
    plural: str,
    singular: str,
    added_with: str,
) -> str:
    def describe(source: Source) -> str:
        if source == BUILTIN_SOURCE:
            return f"threeml {source.version} (built in)"
        if _from_file(source):
            return added_with
        return describe_source(source)

    if first == second:
        return f"{describe(first)} supplies two different {plural} named {name!r}"
    return (
        f"two different {plural} are named {name!r}: one from {describe(first)}, one from "
        f"{describe(second)}; {plural} are chosen by name, so use only one: "
        f"{how_to_drop(entry_points, first, singular)}, or "
        f"{how_to_drop(entry_points, second, singular)}"
    )
