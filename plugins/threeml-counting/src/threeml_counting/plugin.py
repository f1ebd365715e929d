"""Hook implementations: supply the standard counting definitions to threeml's registry."""

from __future__ import annotations

from collections.abc import Sequence

from threeml.definitions import CountingDefinition
from threeml.plugins.hookspecs import hookimpl
from threeml_counting.definitions import STANDARD
from threeml_counting.spec_cases import SPEC_CASES  # noqa: F401  (worked examples, for the docs)


@hookimpl
def threeml_counting_definitions() -> Sequence[CountingDefinition]:
    """The eleven standard counting definitions."""
    return STANDARD
