"""Quoting for the SQL threeml writes itself for its embedded DuckDB."""

from __future__ import annotations

__all__ = ["identifier", "literal"]


def identifier(name: str) -> str:
    """``name`` as a quoted SQL identifier: ``"table"``."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """``text`` as a SQL string literal: ``'it''s'``."""
    return "'" + text.replace("'", "''") + "'"
