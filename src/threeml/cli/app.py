"""The root ``threeml`` command group and the options shared by commands."""

from __future__ import annotations

import importlib
import sys

import click

from threeml._version import __version__

#: Each command and the module that defines it. A module is imported only when one of its
#: commands runs (or help lists them all), so ``threeml plugins`` never loads the engine.
COMMAND_MODULES: dict[str, str] = {
    "compare": "threeml.cli.compare",
    "count": "threeml.cli.count",
    "definitions": "threeml.cli.plugins",
    "demo": "threeml.cli.demo",
    "explain": "threeml.cli.count",
    "load": "threeml.cli.load",
    "metric": "threeml.cli.metric",
    "plugins": "threeml.cli.plugins",
    "report": "threeml.cli.report",
    "synth": "threeml.cli.synth",
    "validate": "threeml.cli.validate",
    "verify": "threeml.cli.verify",
}


class LazyGroup(click.Group):
    """A command group whose commands are imported from their modules when first asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMAND_MODULES, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMAND_MODULES:
            importlib.import_module(COMMAND_MODULES[cmd_name])  # attaches its commands to cli
        return self.commands.get(cmd_name)

    def load_all(self) -> None:
        """Import every command module (for the docs' command reference)."""
        for module in sorted(set(COMMAND_MODULES.values())):
            importlib.import_module(module)


CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


#: Commands that show broken plugins themselves, so need no closing warning.
SHOW_FAILURES = frozenset({"plugins"})


def warn_broken_plugins() -> None:
    """Name, on standard error, every plugin that failed to load, if the command used the
    registry: its definitions are missing from whatever the command printed or wrote."""
    loading = sys.modules.get("threeml.plugins.loading")
    if loading is None or not loading.default_registry.cache_info().currsize:
        return
    for failure in loading.default_registry().failures:
        click.echo(
            f"warning: {failure.describe()}; its definitions are missing from this output "
            "(`threeml plugins` lists every plugin)",
            err=True,
        )


@click.group(cls=LazyGroup, context_settings=CONTEXT)
@click.version_option(__version__, prog_name="threeml")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Count people using technology-enabled care, precisely and comparably.

    Point threeml at a folder of CSV or Parquet extracts (users, services,
    enrolments, contacts, and optionally outcomes, allocations, targets), or a
    DuckDB file or database holding those tables. Start with
    `threeml validate DATA`, or try `threeml demo`.
    """
    if ctx.invoked_subcommand not in SHOW_FAILURES:
        ctx.call_on_close(warn_broken_plugins)
