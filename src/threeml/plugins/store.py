"""The :class:`Registry`: every contribution of every plugin, by kind and name, with its sources.

A registry is an immutable value. It is built by :func:`threeml.plugins.loading.load_registry`
and grown with the ``with_*`` methods, which all go through :func:`assemble`: one loop over the
table of contribution kinds (:mod:`threeml.plugins.contributions`) that detects name conflicts
and records sources, followed by the checks that tie definitions to the kinds they use.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs
from attrs import field, frozen

from threeml.definitions import CountingDefinition, MetricDefinition, Source
from threeml.definitions.kinds import CriterionKind
from threeml.definitions.policies import DisclosurePolicy
from threeml.plugins.assembly import STANDARD_DISTRIBUTIONS as STANDARD_DISTRIBUTIONS
from threeml.plugins.assembly import assemble as assemble
from threeml.plugins.contributions import BY_KEY, CONTRIBUTIONS, HookProblem, check_result
from threeml.plugins.errors import (
    RegistryError,
    UnknownContribution,
    UnknownCriterionKind,
    UnknownDefinition,
    UnknownMeasureKind,
)
from threeml.plugins.info import PluginFailure, PluginInfo
from threeml.plugins.messages import (
    BUILTIN_SOURCE,
    DISABLE_VARIABLE,
    FILE_PLUGIN,
    NO_PLUGINS_VARIABLE,
    closest,
    either,
)

__all__ = ["STANDARD_DISTRIBUTIONS", "Definition", "Registry", "assemble"]

Definition = CountingDefinition | MetricDefinition


def _readonly(mapping: Mapping[str, Mapping[str, Any]]) -> Mapping[str, Mapping[str, Any]]:
    return MappingProxyType({key: MappingProxyType(dict(found)) for key, found in mapping.items()})


@functools.cache
def _builtin() -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, tuple[Source, ...]]]]:
    """threeml's own contributions, from its built-in plugin (:mod:`threeml.plugins.builtin`)."""
    from threeml.plugins import builtin

    items: dict[str, dict[str, Any]] = {c.key: {} for c in CONTRIBUTIONS}
    origins: dict[str, dict[str, tuple[Source, ...]]] = {c.key: {} for c in CONTRIBUTIONS}
    for contribution in CONTRIBUTIONS:
        hook = getattr(builtin, contribution.hook, None)
        if hook is None:
            continue
        for item in check_result(contribution, hook()):
            items[contribution.key][contribution.name_of(item)] = item
            origins[contribution.key][contribution.name_of(item)] = (BUILTIN_SOURCE,)
    return items, origins


def _builtin_items() -> dict[str, dict[str, Any]]:
    return _builtin()[0]


def _builtin_origins() -> dict[str, dict[str, tuple[Source, ...]]]:
    return _builtin()[1]


@frozen(eq=False)
class Registry:
    """Definitions, measure kinds, disclosure policies, criterion kinds and loaders by name, with
    the plugins that supplied them.

    Build one with :func:`~threeml.plugins.registry.load_registry` (or take
    :func:`~threeml.plugins.registry.default_registry`) and add ad-hoc definitions with
    :meth:`with_definitions`; both check for conflicts and unknown populations.
    ``Registry()`` is the registry of threeml's built-in contributions alone.
    """

    _items: Mapping[str, Mapping[str, Any]] = field(factory=_builtin_items, converter=_readonly)
    _origins: Mapping[str, Mapping[str, tuple[Source, ...]]] = field(
        factory=_builtin_origins, converter=_readonly
    )
    #: The plugins that loaded, in name order.
    plugins: tuple[PluginInfo, ...] = field(default=(), converter=tuple)
    #: The plugins that were left out because they are broken.
    failures: tuple[PluginFailure, ...] = field(default=(), converter=tuple)
    #: Entry points skipped because ``THREEML_DISABLE_PLUGINS`` names them.
    disabled: tuple[str, ...] = field(default=(), converter=tuple)
    #: True when ``THREEML_NO_PLUGINS`` switched entry-point discovery off.
    no_plugins: bool = False
    #: Name clashes and unresolved names, recorded instead of raised when the registry was
    #: loaded for diagnosis (``load_registry(diagnose=True)``, as ``threeml plugins`` does).
    problems: tuple[str, ...] = field(default=(), converter=tuple)

    # Any kind of contribution.

    def contributions(self, key: str) -> dict[str, Any]:
        """Every contribution of one kind (a key of the contribution table), in name order."""
        found = self._items[key]
        return {name: found[name] for name in sorted(found)}

    def contribution(self, key: str, name: str) -> Any:
        """The contribution of kind ``key`` called ``name``.

        Raises :class:`UnknownContribution` when there is none.
        """
        try:
            return self._items[key][name]
        except KeyError:
            raise self._unknown_kind(key, name, UnknownContribution) from None

    def contribution_sources(self, key: str, name: str) -> tuple[Source, ...]:
        """Every source that supplied contribution ``name`` of kind ``key``; the first is used."""
        self.contribution(key, name)
        return self._origins[key][name]

    # Definitions.

    def counting(self, name: str) -> CountingDefinition:
        """The counting definition called ``name``; :class:`UnknownDefinition` if none."""
        try:
            return self._items["counting"][name]
        except KeyError:
            raise self._unknown(name, "counting definition", self._items["counting"]) from None

    def metric(self, name: str) -> MetricDefinition:
        """The metric definition called ``name``; :class:`UnknownDefinition` if none."""
        try:
            return self._items["metrics"][name]
        except KeyError:
            raise self._unknown(name, "metric definition", self._items["metrics"]) from None

    def definition(self, name: str) -> Definition:
        """The counting or metric definition called ``name``."""
        found = self._items["counting"].get(name) or self._items["metrics"].get(name)
        if found is None:
            raise self._unknown(
                name, "definition", {**self._items["counting"], **self._items["metrics"]}
            )
        return found

    def __contains__(self, name: object) -> bool:
        return name in self._items["counting"] or name in self._items["metrics"]

    def sources(self, name: str) -> tuple[Source, ...]:
        """Every source that supplied the definition ``name`` (more than one when equal
        definitions came from several plugins); the first is the definition's own."""
        definition = self.definition(name)
        key = "counting" if isinstance(definition, CountingDefinition) else "metrics"
        return self._origins[key][name]

    def counting_definitions(self) -> tuple[CountingDefinition, ...]:
        """Every counting definition, in name order."""
        return tuple(self.contributions("counting").values())

    def metric_definitions(self) -> tuple[MetricDefinition, ...]:
        """Every metric definition, in name order."""
        return tuple(self.contributions("metrics").values())

    def definitions(self) -> tuple[Definition, ...]:
        """Every definition, counting and metric, in name order."""
        return tuple(self.definition(name) for name in self.names())

    def names(self) -> tuple[str, ...]:
        """Every registered definition name, in order."""
        return tuple(sorted((*self._items["counting"], *self._items["metrics"])))

    # Measure kinds.

    def measure_kind(self, name: str) -> Any:
        """The measure kind called ``name``; :class:`UnknownMeasureKind` if none."""
        try:
            return self._items["measure_kinds"][name]
        except KeyError:
            raise self._unknown_kind("measure_kinds", name, UnknownMeasureKind) from None

    def measure_kinds(self) -> dict[str, Any]:
        """Every measure kind by name, in name order (``proportion`` is always there)."""
        return self.contributions("measure_kinds")

    def measure_kind_sources(self, name: str) -> tuple[Source, ...]:
        """Every source that supplied the measure kind ``name``; the first is the one used."""
        self.measure_kind(name)
        return self._origins["measure_kinds"][name]

    # Disclosure policies.

    def disclosure_policy(self, name: str) -> DisclosurePolicy:
        """The disclosure policy called ``name`` (built in or from a plugin)."""
        try:
            return self._items["disclosure_policies"][name]
        except KeyError:
            raise UnknownContribution(
                f"no disclosure policy named {name!r} (installed: "
                f"{', '.join(sorted(self._items['disclosure_policies']))}, "
                "or custom:THRESHOLD:ROUNDING)"
            ) from None

    def disclosure_policies(self) -> dict[str, DisclosurePolicy]:
        """Every disclosure policy by name, in name order (the built-in ones are always there)."""
        return self.contributions("disclosure_policies")

    def disclosure_policy_sources(self, name: str) -> tuple[Source, ...]:
        """Every source that supplied the policy ``name``; the first is the one used."""
        self.disclosure_policy(name)
        return self._origins["disclosure_policies"][name]

    # Criterion kinds.

    def criterion_kind(self, name: str) -> CriterionKind:
        """The criterion kind called ``name`` (as written in files); :class:`UnknownCriterionKind`
        if none."""
        try:
            return self._items["criterion_kinds"][name]
        except KeyError:
            raise self._unknown_kind("criterion_kinds", name, UnknownCriterionKind) from None

    def criterion_kinds(self) -> dict[str, CriterionKind]:
        """Every criterion kind by name, in name order (threeml's own are always there)."""
        return self.contributions("criterion_kinds")

    def criterion_classes(self) -> dict[str, type]:
        """Every criterion class by its kind name, for reading definition files."""
        return {name: kind.criterion for name, kind in self.criterion_kinds().items()}

    # Loaders.

    def loader(self, name: str) -> Any:
        """The loader called ``name``; :class:`UnknownContribution` if none."""
        return self.contribution("loaders", name)

    def loaders(self) -> tuple[Any, ...]:
        """Every loader in the order they are tried: threeml's own first, then plugins' by name."""
        found = self._items["loaders"]
        builtin = [n for n in found if self._origins["loaders"][n][0] == BUILTIN_SOURCE]
        others = sorted(n for n in found if n not in builtin)
        return tuple(found[n] for n in (*builtin, *others))

    # Extending.

    def with_definitions(self, *definitions: Definition, source: Source | None = None) -> Registry:
        """A new registry with these ad-hoc definitions added (this one is unchanged).

        Definitions without a source (for example read with
        :func:`threeml.definitions.load_definition`) are recorded as coming from
        plugin ``"file"``; pass ``source`` to record something else for all of
        them. The same rules as for plugins apply: a different definition under
        a registered name is a :class:`RegistryConflict`, an equal one is
        accepted, and a metric's population must be registered.
        """
        added = []
        for definition in definitions:
            if not isinstance(definition, CountingDefinition | MetricDefinition):
                raise TypeError(f"expected counting or metric definitions, got {definition!r}")
            if source is not None or definition.source is None:
                definition = attrs.evolve(definition, source=source or Source(FILE_PLUGIN))
            key = "counting" if isinstance(definition, CountingDefinition) else "metrics"
            added.append((key, definition, definition.source))
        return assemble(self, added)

    def with_measure_kinds(self, *kinds: Any, source: Source | None = None) -> Registry:
        """A new registry with these measure kinds added (this one is unchanged).

        They are recorded as coming from ``source`` (default: plugin ``"file"``);
        the same rules as for plugins apply (a different kind under a registered
        name is a :class:`RegistryConflict`).
        """
        return self.with_contributions("measure_kinds", *kinds, source=source)

    def with_criterion_kinds(self, *kinds: CriterionKind, source: Source | None = None) -> Registry:
        """A new registry with these criterion kinds added, as :meth:`with_measure_kinds`."""
        return self.with_contributions("criterion_kinds", *kinds, source=source)

    def with_contributions(self, key: str, *items: Any, source: Source | None = None) -> Registry:
        """A new registry with these contributions of kind ``key`` added (this one is unchanged)."""
        contribution = BY_KEY[key]
        try:
            checked = check_result(contribution, list(items))
        except HookProblem as problem:
            raise RegistryError(str(problem).replace(contribution.hook, f"with_{key}")) from None
        origin = source or Source(FILE_PLUGIN)
        return assemble(self, [(key, item, origin) for item in checked])

    # Messages.

    def _unknown(self, name: str, noun: str, known: Mapping[str, Any]) -> UnknownDefinition:
        other = None
        if noun == "counting definition" and name in self._items["metrics"]:
            other = "a metric definition"
        elif noun == "metric definition" and name in self._items["counting"]:
            other = "a counting definition"
        if other:
            return UnknownDefinition(f"{name!r} is {other}, not a {noun}")
        message = f"no {noun} named {name!r}"
        if self.failures:
            # A broken plugin is the likeliest reason, so it comes before any similar name.
            failed = "; ".join(f.describe() for f in self.failures)
            message += (
                f": it may belong to a plugin that failed to load ({failed}); fix or "
                "uninstall that plugin (`threeml plugins` shows why it failed)"
            )
        close = closest(name, known)
        if close:
            return UnknownDefinition(f"{message}; did you mean {either(close)}?")
        if known:
            message += f"; `threeml definitions` lists the {len(known)} registered"
        else:
            message += "; none are registered"
        return UnknownDefinition(message + self._why_missing(failures=not self.failures))

    def _unknown_kind(self, key: str, name: str, error: type[UnknownContribution]) -> Exception:
        contribution = BY_KEY[key]
        known = self._items[key]
        message = f"no {contribution.noun} named {name!r}"
        close = closest(name, known)
        if close:
            message += f"; did you mean {either(close)}?"
        message += f" (installed: {', '.join(sorted(known))})"
        return error(message + self._why_missing())

    def _why_missing(self, *, failures: bool = True) -> str:
        message = ""
        if self.no_plugins:
            message += f" ({NO_PLUGINS_VARIABLE} is set, so no plugins were loaded)"
        if self.disabled:
            message += f" ({DISABLE_VARIABLE} switched off {', '.join(self.disabled)})"
        if failures and self.failures:
            failed = ", ".join(f.name for f in self.failures)
            message += f" (plugins that failed to load: {failed}; see `threeml plugins`)"
        return message
