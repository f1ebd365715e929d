"""The registry: every counting and metric definition that plugins supply, by name.

:func:`load_registry` discovers the plugins in the ``threeml`` entry-point group
(see :mod:`threeml.plugins.hookspecs`), loads them one at a time and asks each for its
definitions. What it builds is a :class:`Registry`, an immutable value:

- every definition carries its :class:`~threeml.definitions.Source` (plugin,
  distribution, version), so a number can always be traced to the code that
  defined it;
- a plugin that cannot be imported, whose hook raises or returns something
  other than a sequence of definitions, or that implements a hook threeml does
  not know (a misspelling), is recorded in :attr:`Registry.failures` and left
  out, while the other plugins load;
- definitions are chosen by name, never by load order: two plugins that supply
  *different* definitions under one name stop the registry from being built
  (:class:`RegistryConflict`, naming both distributions and how to disable one);
  two that supply *equal* definitions are fine (the first is kept, both sources
  are remembered in :meth:`Registry.sources`);
- a metric whose ``population`` is not a registered counting definition stops
  the registry from being built (:class:`UnknownPopulation`);
- plugins also supply *measure kinds* (the code that evaluates a metric's
  measure, see :mod:`threeml.metrics.measures`), *disclosure policies*, *criterion
  kinds* and *loaders*, each through its own hook, with the same care: each is
  attributed to its plugin, a broken hook leaves its whole plugin out, two
  different contributions under one name are a :class:`RegistryConflict` naming
  both distributions, a metric whose kind no loaded plugin supplies stops the
  registry from being built (:class:`UnknownMeasureKind`), and so does a
  definition using a criterion whose kind is not registered
  (:class:`UnknownCriterionKind`). threeml's own contributions (``proportion``,
  the named policies, the criteria of :mod:`threeml.definitions.criteria`, the
  built-in loaders) come from its built-in plugin, :mod:`threeml.plugins.builtin`,
  and are always there.

One table, :data:`threeml.plugins.contributions.CONTRIBUTIONS`, drives how every
kind of contribution is called, checked, attributed and merged.

Counting and metric definitions share one namespace, so ``threeml definitions
NAME`` is never ambiguous.

Two environment variables control discovery (they apply to entry points, not to
plugins passed explicitly as ``extra_plugins``):

``THREEML_DISABLE_PLUGINS``
    comma-separated entry-point names to skip, such as ``acme,example``;
``THREEML_NO_PLUGINS``
    ``1`` (or ``true``/``yes``/``on``) to load no entry points at all.

:func:`default_registry` is the registry the command line and the Python API use
when none is given; it is built once per process (:func:`reset_default_registry`
builds it again, for tests or after installing a plugin).

This module is the registry's public face; the work is done in
:mod:`threeml.plugins.loading` (discovery and hooks), :mod:`threeml.plugins.store`
(the :class:`Registry` value and how contributions are merged),
:mod:`threeml.plugins.contributions` (the table), :mod:`threeml.plugins.info`,
:mod:`threeml.plugins.messages` and :mod:`threeml.plugins.errors`.
"""

from __future__ import annotations

from threeml.plugins.errors import (
    RegistryConflict,
    RegistryError,
    UnknownContribution,
    UnknownCriterionKind,
    UnknownDefinition,
    UnknownMeasureKind,
    UnknownPopulation,
)
from threeml.plugins.info import EntryPointLike, PluginFailure, PluginInfo
from threeml.plugins.loading import (
    ENTRY_POINT_GROUP,
    default_registry,
    load_registry,
    reset_default_registry,
)
from threeml.plugins.messages import (
    BUILTIN_SOURCE,
    DISABLE_VARIABLE,
    FILE_PLUGIN,
    NO_PLUGINS_VARIABLE,
)
from threeml.plugins.store import Definition, Registry

__all__ = [
    "BUILTIN_SOURCE",
    "DISABLE_VARIABLE",
    "ENTRY_POINT_GROUP",
    "FILE_PLUGIN",
    "NO_PLUGINS_VARIABLE",
    "Definition",
    "EntryPointLike",
    "PluginFailure",
    "PluginInfo",
    "Registry",
    "RegistryConflict",
    "RegistryError",
    "UnknownContribution",
    "UnknownCriterionKind",
    "UnknownDefinition",
    "UnknownMeasureKind",
    "UnknownPopulation",
    "default_registry",
    "load_registry",
    "reset_default_registry",
]
