"""``threeml plugins`` and ``threeml definitions``: what is installed, and what it defines."""

from __future__ import annotations

import json
import os
import textwrap
from typing import Any

import click
from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

from threeml.cli.app import cli
from threeml.definitions import CountingDefinition, MetricDefinition, Source, to_data, to_toml
from threeml.plugins.contributions import CONTRIBUTIONS, DEFINITIONS
from threeml.plugins.registry import (
    DISABLE_VARIABLE,
    NO_PLUGINS_VARIABLE,
    PluginInfo,
    Registry,
    default_registry,
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
    THREEML_NO_PLUGINS=1 to load none.
    """
    registry = default_registry()
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
def definitions(name: str | None, fmt: str) -> None:
    """List the registered definitions, or show the one called NAME.

    Without NAME: every counting and metric definition with its type, version,
    title and the plugin that supplies it. With NAME: the definition's criteria
    in order, its description, origin and source. `--format toml` prints it as
    a file you can copy, change and load.
    """
    registry = default_registry()
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
        if registry.failures:
            click.echo(
                f"warning: {len(registry.failures)} plugin(s) failed to load; "
                "see `threeml plugins`",
                err=True,
            )
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
        "disabled": list(registry.disabled),
        "no_plugins": registry.no_plugins,
    }


def _also(plugin: PluginInfo) -> list[tuple[str, str]]:
    """What a plugin supplies besides definitions, as ``(kind, name)`` pairs."""
    return [
        (c.noun, name)
        for c in CONTRIBUTIONS
        if c.namespace != DEFINITIONS
        for name in getattr(plugin, c.key)
    ]


def print_plugins(registry: Registry, console: Console) -> None:
    """The plugins table, then the failures table, for people."""
    if registry.no_plugins:
        console.print(f"{NO_PLUGINS_VARIABLE} is set: no plugins were loaded.", markup=False)
    if registry.plugins:
        table = RichTable(title="Plugins", title_justify="left")
        table.add_column("plugin", no_wrap=True)
        table.add_column("distribution", no_wrap=True)
        table.add_column("version", no_wrap=True)
        table.add_column("definitions", no_wrap=True)
        for plugin in registry.plugins:
            table.add_row(
                safe_text(plugin.name),
                safe_text(plugin.distribution or "-"),
                safe_text(plugin.version or "-"),
                Text("\n".join(plain_text(name) for name in plugin.definitions) or "(none)"),
            )
        console.print(table)
        others = [(plugin.name, line) for plugin in registry.plugins for line in _also(plugin)]
        if others:
            extras = RichTable(title="Other contributions", title_justify="left")
            extras.add_column("plugin", no_wrap=True)
            extras.add_column("kind", no_wrap=True)
            extras.add_column("name", no_wrap=True)
            for name, (noun, item) in others:
                extras.add_row(safe_text(name), safe_text(noun), safe_text(item))
            console.print(extras)
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
    if registry.disabled:
        console.print(
            f"Switched off by {DISABLE_VARIABLE}: {', '.join(registry.disabled)}", markup=False
        )


def _kind(definition: Definition) -> str:
    if isinstance(definition, CountingDefinition):
        return definition.unit.value
    return "metric"


def print_catalogue(registry: Registry, console: Console) -> None:
    """Every registered definition as one table, in name order.

    The type is the unit counted (``users`` or ``enrolments``) or ``metric``.
    The title comes last and is the column that wraps, so narrow terminals keep
    names and plugins whole.
    """
    if not registry.names():
        console.print("No definitions are registered (see `threeml plugins`).", markup=False)
        return
    table = RichTable(title="Definitions", title_justify="left")
    table.add_column("name", no_wrap=True)
    table.add_column("type", no_wrap=True)
    table.add_column("version", no_wrap=True)
    table.add_column("plugin", no_wrap=True)
    table.add_column("title", min_width=12, ratio=1)
    for definition in registry.definitions():
        source = definition.source
        table.add_row(
            # Names and titles are plugin data, so never read as rich markup.
            safe_text(definition.name),
            _kind(definition),
            safe_text(definition.version),
            safe_text(source.plugin if source else "-"),
            safe_text(definition.title),
        )
    console.print(table)


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
