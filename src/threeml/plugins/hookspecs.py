"""The hooks through which plugin distributions supply definitions to threeml.

A plugin is a module (or class, or object) with functions marked
``@hookimpl`` whose names are the hooks below. A distribution makes its plugin
known by naming it in the ``threeml`` entry-point group of its
``pyproject.toml``::

    [project.entry-points.threeml]
    acme = "acme_threeml.plugin"

The entry point's name (``acme``) is the plugin's name: it is what
``threeml plugins`` lists, what every definition's
:class:`~threeml.definitions.Source` records, and what a user puts in
``THREEML_DISABLE_PLUGINS`` to switch the plugin off.

Hooks *return* definitions (or, for :func:`threeml_measure_kinds`, the measure
kinds that evaluate metrics) and do nothing else: no registering, no side
effects. The registry (:mod:`threeml.plugins.registry`) calls each plugin's hooks on
their own, so every definition is attributed to the plugin and distribution
that returned it, and one broken plugin is reported without stopping the others.
Definitions are chosen by name, never by the order plugins were loaded in; two
plugins that return different definitions under one name are an error.

A minimal plugin::

    from threeml.plugins.hookspecs import hookimpl
    from threeml.definitions import CountingDefinition, EnrolmentOverlaps

    @hookimpl
    def threeml_counting_definitions():
        return [
            CountingDefinition(
                name="acme.telecare",
                version="1",
                title="People with a telecare service in the period",
                description="...",
                criteria=[EnrolmentOverlaps(service_kinds={"telecare"})],
            )
        ]

See ``plugins/threeml-example`` in the threeml repository for a complete,
tested template.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pluggy

from threeml.definitions import CountingDefinition, MetricDefinition

if TYPE_CHECKING:  # the engine is not loaded to list plugins
    from threeml.data.loaders import Loader
    from threeml.definitions.contracts import MeasureKind
    from threeml.definitions.kinds import CriterionKind
    from threeml.definitions.policies import DisclosurePolicy

__all__ = [
    "PROJECT",
    "hookimpl",
    "hookspec",
    "threeml_counting_definitions",
    "threeml_criterion_kinds",
    "threeml_disclosure_policies",
    "threeml_loaders",
    "threeml_measure_kinds",
    "threeml_metric_definitions",
]

#: The pluggy project name, which is also the entry-point group plugins register in.
PROJECT = "threeml"

#: Marks the hook specifications below (for threeml itself).
hookspec = pluggy.HookspecMarker(PROJECT)

#: Marks a plugin's hook implementations: ``@hookimpl def threeml_counting_definitions(): ...``.
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def threeml_counting_definitions() -> Sequence[CountingDefinition]:  # type: ignore[empty-body]
    """Return the counting definitions this plugin supplies ("who counts as a user").

    Return a list or tuple of :class:`~threeml.definitions.CountingDefinition`
    (empty when the plugin supplies none). Prefix the names with something
    that identifies your organisation or plugin (``acme.heartbeat-7d``) so they
    cannot collide with another plugin's. Leave ``source`` unset: the registry
    records the plugin, distribution and version that returned each definition.

    Called once per registry that is built; return the same definitions every
    time, and do nothing else (no I/O beyond reading your own package's data
    files, no registering).
    """


@hookspec
def threeml_metric_definitions() -> Sequence[MetricDefinition]:  # type: ignore[empty-body]
    """Return the metric definitions this plugin supplies ("what changed for them").

    Return a list or tuple of :class:`~threeml.definitions.MetricDefinition`
    (empty when the plugin supplies none). A metric's ``population`` names a
    counting definition, which this plugin or another one must supply: a metric
    whose population is not registered stops the registry from being built.
    Leave ``source`` unset, as for :func:`threeml_counting_definitions`.
    """


@hookspec
def threeml_measure_kinds() -> Sequence[MeasureKind]:  # type: ignore[empty-body]
    """Return the measure kinds this plugin supplies (how a metric's measure is computed).

    Return a list or tuple of objects following the
    :class:`~threeml.metrics.measures.MeasureKind` protocol: a ``kind`` name (lower-case
    words joined by ``-``, such as ``before-after``) and an
    ``evaluate(context)`` method returning a
    :class:`~threeml.metrics.measures.MetricResult`. A metric names its kind in
    ``Measure(kind=...)``; a metric whose kind no loaded plugin supplies stops
    the registry from being built, naming the metric and its plugin. threeml
    itself supplies ``proportion``, which is always registered.

    Kinds are chosen by name like definitions: two plugins supplying different
    kinds under one name (or a plugin reusing ``proportion``) is an error naming
    both distributions. Called once per registry that is built; return the same
    kinds every time, and do nothing else.
    """


@hookspec
def threeml_disclosure_policies() -> Sequence[DisclosurePolicy]:  # type: ignore[empty-body]
    """Return the disclosure policies this plugin supplies (what may be published).

    Return a list or tuple of :class:`~threeml.publish.disclosure.DisclosurePolicy`;
    users choose one by name (``threeml report --disclosure acme-strict``).
    Policies are chosen by name like definitions: two plugins supplying
    different policies under one name (or a plugin reusing a built-in name such
    as ``default`` with other figures) is an error naming both distributions.
    Called once per registry that is built; return the same policies every
    time, and do nothing else.
    """


@hookspec
def threeml_criterion_kinds() -> Sequence[CriterionKind]:  # type: ignore[empty-body]
    """Return the criterion kinds this plugin supplies (new tests a definition can use).

    Return a list or tuple of :class:`~threeml.definitions.kinds.CriterionKind`: a frozen attrs
    criterion class (its ``kind`` class variable is its name in TOML and JSON files), its
    compilation to the engine and its reference evaluation. Once registered, definitions from
    any plugin or file may use the kind; ``threeml definitions`` and the docs describe it.

    Kinds are chosen by name like definitions: two plugins supplying different kinds under one
    name (or a plugin reusing a built-in kind's name) is an error naming both distributions.
    Called once per registry that is built; return the same kinds every time, and do nothing
    else.
    """


@hookspec
def threeml_loaders() -> Sequence[Loader]:  # type: ignore[empty-body]
    """Return the loaders this plugin supplies (new places an extract can be read from).

    Return a list or tuple of :class:`~threeml.data.loaders.Loader`. Every command's ``--data``
    tries the loaders in order (threeml's own first: a DuckDB file, a folder of CSV or
    Parquet files, then a database URL such as ``postgres://…``) and opens the extract with
    the first whose ``accepts(target)`` is true.
    Loaders are chosen by name like definitions; two plugins supplying different loaders under
    one name is an error naming both distributions. Do nothing else.
    """
