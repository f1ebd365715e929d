"""Figures as people read them and as JSON holds them: the one place numbers are formatted.

The terminal tables of every command and the HTML report use the same
functions, so a figure reads the same wherever it is published.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date
from typing import Any

__all__ = [
    "format_figure",
    "format_interval",
    "format_published",
    "format_share",
    "json_number",
    "json_ready",
]

#: What a missing figure reads as.
MISSING = "–"


def format_figure(value: Any) -> str:
    """A figure for people: thousands separated, four significant digits for small floats."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value.is_integer() and abs(value) >= 1:
            return f"{value:,.0f}"
        if abs(value) >= 100:
            return f"{value:,.1f}"
        return f"{value:.4g}"
    return str(value)


def format_interval(low: Any, high: Any) -> str:
    """An interval as ``low to high`` (empty when either end is missing)."""
    if low is None or high is None:
        return ""
    return f"{format_figure(low)} to {format_figure(high)}"


def format_published(value: Any) -> str:
    """A published cell: ``suppressed`` when disclosure control withheld it."""
    return "suppressed" if value is None else format_figure(value)


def format_share(value: float | None, digits: int = 0) -> str:
    """A share as a percentage with ``digits`` decimals (``–`` when there is none)."""
    return MISSING if value is None else f"{value:.{digits}%}"


def json_number(value: Any) -> Any:
    """A figure as JSON can hold it: floats rounded to 6 places, NaN and infinity as null."""
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return round(value, 6)
    return value


def json_ready(value: Any) -> Any:
    """Mappings, sequences, dates and figures as plain JSON-ready values."""
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return json_number(value)
