"""What can go wrong building or reading the registry, each error a class of its own."""

from __future__ import annotations

from threeml.errors import ThreemlError

__all__ = [
    "RegistryConflict",
    "RegistryError",
    "UnknownContribution",
    "UnknownCriterionKind",
    "UnknownDefinition",
    "UnknownMeasureKind",
    "UnknownPopulation",
]


class RegistryError(ThreemlError):
    """The registry could not be built, or a definition could not be found in it."""


class RegistryConflict(RegistryError):
    """Two plugins supply different definitions (or kinds, policies …) under the same name."""


class UnknownPopulation(RegistryError):
    """A metric's population is not a registered counting definition."""


class UnknownContribution(RegistryError, LookupError):
    """Nothing of that name and kind (a measure kind, criterion kind, loader …) is registered."""


class UnknownDefinition(UnknownContribution):
    """No definition of that name (and kind) is registered."""


class UnknownMeasureKind(UnknownContribution):
    """A metric's measure kind is not supplied by any loaded plugin (or threeml itself)."""


class UnknownCriterionKind(UnknownContribution):
    """A definition uses a criterion whose kind no loaded plugin (or threeml itself) supplies."""
