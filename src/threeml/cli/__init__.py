"""The ``threeml`` command line.

Every command lives in its own module, imported when the command runs
(:data:`threeml.cli.app.COMMAND_MODULES`), so listing plugins never loads the engine.
:func:`main` translates user errors into one line on standard error and a
non-zero exit, so bad input never shows a Python traceback.
"""

from __future__ import annotations

import sys

import click

from threeml.cli.app import cli
from threeml.errors import ThreemlError

__all__ = ["cli", "main"]

#: Exit status for a user error (bad data, bad option); 1 is kept for "validation found errors".
USAGE_ERROR = 2


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return its exit status instead of raising."""
    from threeml.settings import SettingError, flag

    try:
        flag("THREEML_DEBUG")
    except SettingError as error:
        click.echo(f"error: {error}", err=True)
        return USAGE_ERROR
    try:
        status = cli.main(args=argv, prog_name="threeml", standalone_mode=False)
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.Abort:
        click.echo("aborted", err=True)
        return USAGE_ERROR
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except ThreemlError as error:
        click.echo(f"error: {error}", err=True)
        return USAGE_ERROR
    except Exception as error:
        if _out_of_memory(error):
            from threeml.data.engine import out_of_memory_message

            click.echo(f"error: {out_of_memory_message()}", err=True)
            return USAGE_ERROR
        if _debug():
            raise
        click.echo(
            f"internal error: {type(error).__name__}: {error}\n"
            "This is a bug in threeml; run again with THREEML_DEBUG=1 to see the traceback "
            "and report it.",
            err=True,
        )
        return 3
    return status if isinstance(status, int) else 0


def _debug() -> bool:
    """Whether ``THREEML_DEBUG`` asks for tracebacks (a value that is no on/off word: no)."""
    from threeml.settings import SettingError, flag

    try:
        return flag("THREEML_DEBUG")
    except SettingError as error:
        click.echo(f"warning: {error}", err=True)
        return False


def _out_of_memory(error: BaseException) -> bool:
    """Whether ``error`` (or one it was raised from) is DuckDB running out of its memory cap."""
    duckdb = sys.modules.get("duckdb")
    if duckdb is None:
        return False
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, duckdb.OutOfMemoryException):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def run() -> None:  # pragma: no cover - console-script entry
    sys.exit(main())
