"""``threeml plugins`` and ``threeml definitions``: what is installed, and what it defines."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

from threeml.cli.app import cli
from threeml.cli.definition_files import definition_files_option, definition_paths, read_files
from threeml.definitions import CountingDefinition, MetricDefinition, Source, to_data, to_toml
from threeml.plugins.contributions import CONTRIBUTIONS
from threeml.plugins.registry import (
    BUILTIN_SOURCE,
    DISABLE_VARIABLE,
    NO_PLUGINS_VARIABLE,
    PluginInfo,
    Registry,
    RegistryError,
    default_registry,
    load_registry,
)
from threeml.publish.safe import plain_text, safe_text

Definition = CountingDefinition | MetricDefinition


@cli.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="How to print the list.",
)
def plugins(fmt: str) -> None:
    """List the installed plugins, their versions and the definitions each supplies.

    Plugins that failed to load are listed with the reason, and left out of
    everything else. Set THREEML_DISABLE_PLUGINS=name,... to skip plugins, or
    THREEML_NO_PLUGINS=1 to load none. Two plugins that clash over a name stop
    every other command; this one still lists everything and shows the clash.
    """
    try:
        registry = default_registry()
    except RegistryError:
        registry = diagnostic_registry()
    if fmt == "json":
        click.echo(json.dumps(plugins_to_dict(registry), indent=2))
    else:
        print_plugins(registry, Console(highlight=False))
    requested = {n.strip() for n in os.environ.get(DISABLE_VARIABLE, "").split(",") if n.strip()}
    for name in sorted(requested - set(registry.disabled)):
        if not registry.no_plugins:
            click.echo(
                f"warning: {DISABLE_VARIABLE} names {name!r}, which is not an installed plugin",
                err=True,
            )


@cli.command()
@click.argument("name", required=False)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "toml"]),
    default="text",
    show_default=True,
    help="text: a table, or the definition as readable text; toml needs a NAME.",
)
@definition_files_option
def definitions(name: str | None, fmt: str, definition_files: tuple[Path, ...]) -> None:
    """List the registered definitions, or show the one called NAME.

    Without NAME: every counting and metric definition with its type, version,
    title and the plugin that supplies it. With NAME: the definition's criteria
    in order, its description, origin and source. `--format toml` prints it as
    a file you can copy, change and load. Definition files given with
    --definition PATH or THREEML_DEFINITIONS are listed with the file as their source.
    """
    registry = default_registry()
    paths = definition_paths(definition_files)
    if paths:
        registry = registry.with_definitions(*read_files(paths, registry))
    if name is None:
        if fmt == "toml":
            raise click.UsageError("--format toml shows one definition: give its NAME")
        if fmt == "json":
            click.echo(
                json.dumps(
                    [_definition_data(registry, d) for d in registry.definitions()], indent=2
                )
            )
        else:
            print_catalogue(registry, Console(highlight=False))
        return
    definition = registry.definition(name)
    if fmt == "json":
        click.echo(json.dumps(_definition_data(registry, definition), indent=2))
    elif fmt == "toml":
        click.echo(to_toml(definition), nl=False)
    else:
        # Plugin text, printed literally: control characters (an ANSI escape) shown escaped.
        text = describe_definition(registry, definition)
        click.echo("\n".join(plain_text(line) for line in text.split("\n")))


def diagnostic_registry() -> Registry:
    """The installed plugins loaded so that a clash is recorded, not raised (for diagnosis)."""
    return load_registry(diagnose=True)


# Rendering, reusable by other front ends.


def plugins_to_dict(registry: Registry) -> dict[str, Any]:
    """The installed plugins and failures as plain data."""
    return {
        "plugins": [
            {
                "name": p.name,
                "distribution": p.distribution,
                "version": p.version,
                "entry_point": p.entry_point,
                **{c.key: list(getattr(p, c.key)) for c in CONTRIBUTIONS},
            }
            for p in registry.plugins
        ],
        "failures": [
            {
                "name": f.name,
                "distribution": f.distribution,
                "version": f.version,
                "error": f.error,
            }
            for f in registry.failures
        ],
        "builtin": {c.key: list(getattr(builtin_info(registry), c.key)) for c in CONTRIBUTIONS},
        "problems": list(registry.problems),
        "disabled": list(registry.disabled),
        "no_plugins": registry.no_plugins,
    }


def builtin_info(registry: Registry) -> PluginInfo:
    """threeml's own contributions (disclosure policies, ``proportion``, criterion kinds,
    loaders), as a plugin named ``threeml`` (they come from its built-in plugin)."""
    names = {
        c.key: [
            name
            for name in registry.contributions(c.key)
            if registry.contribution_sources(c.key, name)[0] == BUILTIN_SOURCE
        ]
        for c in CONTRIBUTIONS
    }
    return PluginInfo(BUILTIN_SOURCE.plugin, BUILTIN_SOURCE.distribution,
                      BUILTIN_SOURCE.version, **names)  # fmt: skip


def _every(plugin: PluginInfo) -> list[tuple[str, str]]:
    """Everything a plugin supplies, as ``(kind, name)`` pairs in the order of the table of
    contribution kinds."""
    return [(c.noun, name) for c in CONTRIBUTIONS for name in getattr(plugin, c.key)]


def _supplies(plugin: PluginInfo) -> Text:
    """How many of each kind of contribution a plugin supplies, such as ``11 counting
    definitions``."""
    counts = [
        f"{len(names)} {c.noun if len(names) == 1 else c.noun + 's'}"
        for c in CONTRIBUTIONS
        if (names := getattr(plugin, c.key))
    ]
    return Text(", ".join(counts) or "(nothing)")


def print_plugins(registry: Registry, console: Console) -> None:
    """The plugins table, then the failures table, for people."""
    if registry.no_plugins:
        console.print(f"{NO_PLUGINS_VARIABLE} is set: no plugins were loaded.", markup=False)
    if registry.plugins:
        # Plugins and versions first, then every contribution one per row: three narrow
        # columns, so nothing is cut at 80 columns or in piped output.
        table = RichTable(title="Plugins", title_justify="left")
        table.add_column("plugin", no_wrap=True)
        table.add_column("distribution", no_wrap=True)
        table.add_column("version", no_wrap=True)
        table.add_column("supplies", overflow="fold")
        for plugin in registry.plugins:
            table.add_row(
                safe_text(plugin.name),
                safe_text(plugin.distribution or "-"),
                safe_text(plugin.version or "-"),
                _supplies(plugin),
            )
        console.print(table)
        shown = [builtin_info(registry), *registry.plugins]
        rows = [(plugin.name, line) for plugin in shown for line in _every(plugin)]
        if rows:
            every = RichTable(title="Contributions", title_justify="left")
            every.add_column("plugin", no_wrap=True)
            every.add_column("kind", no_wrap=True)
            every.add_column("name", overflow="fold")
            for name, (noun, item) in rows:
                every.add_row(safe_text(name), safe_text(noun), safe_text(item))
            console.print(every)
    elif not registry.no_plugins:
        console.print(
            "No plugins are loaded." if registry.disabled else "No plugins are installed."
        )
    if registry.failures:
        failed = RichTable(title="Plugins that failed to load", title_justify="left")
        failed.add_column("plugin", no_wrap=True, style="red")
        failed.add_column("distribution", no_wrap=True)
        failed.add_column("error", overflow="fold")
        for failure in registry.failures:
            failed.add_row(
                safe_text(failure.name),
                safe_text(f"{failure.distribution or '-'} {failure.version or ''}".strip()),
                safe_text(failure.error),
            )
        console.print(failed)
    if registry.problems:
        clashes = RichTable(title="Problems that stop every other command", title_justify="left")
        clashes.add_column("problem", overflow="fold")
        for problem in registry.problems:
            clashes.add_row(safe_text(problem))
        console.print(clashes)
    if registry.disabled:
        console.print(
            f"Switched off by {DISABLE_VARIABLE}: {', '.join(registry.disabled)}", markup=False
        )


def _kind(definition: Definition) -> str:
    if isinstance(definition, CountingDefinition):
        return definition.unit.value
    return "metric"


#: The narrowest the catalogue's title column may be before titles move below the table.
TITLE_MIN = 28


def print_catalogue(registry: Registry, console: Console) -> None:
    """Every registered definition as one table, in name order.

    The type is the unit counted (``users`` or ``enrolments``) or ``metric``; the source is
    the plugin, or the file a definition was read from. The title comes last and wraps; on a
    terminal too narrow for it (80 columns, or piped output) titles are listed below the
    table instead, so names and sources stay whole.
    """
    if not registry.names():
        console.print("No definitions are registered (see `threeml plugins`).", markup=False)
        return
    rows = [
        (
            definition.name,
            _kind(definition),
            definition.version,
            (definition.source.path or definition.source.plugin) if definition.source else "-",
            definition.title,
        )
        for definition in registry.definitions()
    ]
    fixed = sum(max(len(header), *(len(row[i]) for row in rows)) for i, header in
                enumerate(("name", "type", "version", "source"))) + 16  # fmt: skip
    # Titles in their own column only when it can be at least TITLE_MIN wide; else below.
    beside = console.width - fixed >= TITLE_MIN
    table = RichTable(title="Definitions", title_justify="left")
    table.add_column("name", no_wrap=True)
    table.add_column("type", no_wrap=True)
    table.add_column("version", no_wrap=True)
    table.add_column("source", overflow="fold")
    if beside:
        table.add_column("title", min_width=TITLE_MIN, ratio=1)
    for row in rows:
        # Names and titles are plugin data, so never read as rich markup.
        table.add_row(*(safe_text(cell) for cell in (row if beside else row[:4])))
    console.print(table)
    if not beside:
        console.print("Titles", style="italic")
        width = max(console.width, 40)
        for name, *_, title in rows:
            lines = textwrap.wrap(f"{name}: {title}", width=width, subsequent_indent="    ",
                                  break_on_hyphens=False)  # fmt: skip
            for line in lines:
                console.print(safe_text(line), soft_wrap=True)


def _source_data(source: Source) -> dict[str, Any]:
    return {
        "plugin": source.plugin,
        "distribution": source.distribution,
        "version": source.version,
    }


def _definition_data(registry: Registry, definition: Definition) -> dict[str, Any]:
    data = to_data(definition)
    data["sources"] = [_source_data(s) for s in registry.sources(definition.name)]
    return data


def _wrap(text: str, indent: str = "") -> str:
    paragraphs = [p for p in text.strip().split("\n\n") if p.strip()]
    return "\n\n".join(
        textwrap.fill(
            " ".join(p.split()), width=88, initial_indent=indent, subsequent_indent=indent
        )
        for p in paragraphs
    )


def describe_definition(registry: Registry, definition: Definition) -> str:
    """One definition as readable text: criteria in order, description, origin, source."""
    lines = [definition.describe()]
    if definition.description.strip():
        lines += ["", _wrap(definition.description)]
    lines.append("")
    if isinstance(definition, CountingDefinition) and definition.parameters:
        values = ", ".join(f"{k} = {v}" for k, v in definition.parameters.items())
        lines.append(f"parameters: {values}")
    if definition.origin:
        lines.append(f"origin: {definition.origin}")
    sources = registry.sources(definition.name)
    lines.append(f"source: {sources[0].describe()}")
    lines += [f"also supplied (identically) by: {s.describe()}" for s in sources[1:]]
    return "\n".join(lines)
