"""The version of threeml, in one place (kept apart so no module needs the package root)."""

__version__ = "0.1.0"
