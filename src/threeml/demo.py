"""The built-in demo extract, so a newcomer sees real-looking output with no data of their own."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["demo_folder"]


def demo_folder() -> Path:
    """The folder holding the bundled demo extract (CSV files in the interchange schema)."""
    return Path(str(files("threeml") / "demo_data"))
