"""Values from data or plugins made safe to write: CSV cells and terminal text.

Area names, codes, descriptions and other text come from extracts and plugins, which threeml
does not trust to be harmless:

- :func:`csv_cell` neutralises a CSV cell a spreadsheet would evaluate (the OWASP rule): text
  starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'``.
  Numbers, and text that reads as a number (``-3.5``), are left alone. :func:`csv_writer` is
  the one CSV writer every CSV output uses.
- :func:`terminal_text` makes a value print literally on a terminal through rich: its markup
  (``[/]``, ``[link=...]``) is escaped and control characters (ANSI escapes, NUL, newlines)
  are shown as ``\\x1b`` style escapes, never sent to the terminal.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import IO, Any

from rich.markup import escape
from rich.text import Text

__all__ = ["FORMULA_STARTS", "csv_cell", "csv_writer", "plain_text", "safe_text", "terminal_text"]

#: The first characters that make a spreadsheet evaluate a cell.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def csv_cell(value: Any) -> Any:
    """``value`` as a CSV cell a spreadsheet shows as text: formulas get a leading ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _is_number(value):
        return "'" + value
    return value


class _SafeWriter:
    """A :class:`csv.DictWriter` whose every cell passes through :func:`csv_cell`."""

    def __init__(self, stream: IO[str], fieldnames: Sequence[str]) -> None:
        self._writer = csv.DictWriter(stream, fieldnames=list(fieldnames), lineterminator="\n")

    def writeheader(self) -> None:
        self._writer.writerow({name: csv_cell(name) for name in self._writer.fieldnames})

    def writerow(self, row: Mapping[str, Any]) -> None:
        self._writer.writerow({key: csv_cell(value) for key, value in row.items()})

    def writerows(self, rows: Iterable[Mapping[str, Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(stream: IO[str], fieldnames: Sequence[str]) -> _SafeWriter:
    """A dict CSV writer (``\\n`` line ends) that neutralises formulas in every cell."""
    return _SafeWriter(stream, fieldnames)


def plain_text(value: Any) -> str:
    """``value`` as one line of text with control characters shown as escapes (``\\x1b``)."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), str(value))


def terminal_text(value: Any) -> str:
    """``value`` as rich markup that prints literally: control characters and markup escaped."""
    return escape(plain_text(value))


def safe_text(value: Any, style: str = "") -> Text:
    """``value`` as a rich :class:`~rich.text.Text` (never markup), control characters escaped."""
    return Text(plain_text(value), style=style)
