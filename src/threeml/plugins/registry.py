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
  measure, see :mod:`threeml.metrics.measures`) through the ``threeml_measure_kinds``
  hook, with the same care: each is attributed to its plugin, a broken hook
  leaves its whole plugin out, two different kinds under one name are a
  :class:`RegistryConflict` naming both distributions, and a metric whose kind
  no loaded plugin supplies stops the registry from being built
  (:class:`UnknownMeasureKind`). threeml's own ``proportion`` is always there.

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
"""

from __future__ import annotations

import difflib
import functools
import importlib.metadata
import os
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Protocol

import attrs
import pluggy
from attrs import field, frozen

from threeml._version import __version__
from threeml.definitions import CountingDefinition, MetricDefinition, Source
from threeml.definitions.definitions import check_name
from threeml.errors import ThreemlError
from threeml.metrics.measures import MEASURES, MeasureKind
from threeml.plugins import hookspecs
from threeml.publish.disclosure import BUILTIN_POLICIES, DisclosurePolicy

__all__ = [
    "BUILTIN_SOURCE",
    "DISABLE_VARIABLE",
    "ENTRY_POINT_GROUP",
    "FILE_PLUGIN",
    "NO_PLUGINS_VARIABLE",
    "EntryPointLike",
    "PluginFailure",
    "PluginInfo",
    "Registry",
    "RegistryConflict",
    "RegistryError",
    "UnknownDefinition",
    "UnknownMeasureKind",
    "UnknownPopulation",
    "default_registry",
    "load_registry",
    "reset_default_registry",
]

Definition = CountingDefinition | MetricDefinition

#: The entry-point group plugin distributions register in.
ENTRY_POINT_GROUP = hookspecs.PROJECT
#: Comma-separated entry-point names not to load.
DISABLE_VARIABLE = "THREEML_DISABLE_PLUGINS"
#: Set to 1 to load no entry-point plugins at all.
NO_PLUGINS_VARIABLE = "THREEML_NO_PLUGINS"
#: The plugin name recorded for ad-hoc definitions added with :meth:`Registry.with_definitions`.
FILE_PLUGIN = "file"

#: Where threeml's built-in measure kinds (``proportion``) are recorded as coming from.
BUILTIN_SOURCE = Source("threeml", "threeml", __version__)

#: Each hook, the type of definition it returns, and what a reader calls that type.
_HOOKS: tuple[tuple[str, type, str], ...] = (
    ("threeml_counting_definitions", CountingDefinition, "counting definition"),
    ("threeml_metric_definitions", MetricDefinition, "metric definition"),
)
#: The hook that returns measure kinds rather than definitions.
_KINDS_HOOK = "threeml_measure_kinds"
#: The hook that returns disclosure policies.
_POLICIES_HOOK = "threeml_disclosure_policies"
_HOOK_NAMES = (*(name for name, _, _ in _HOOKS), _KINDS_HOOK, _POLICIES_HOOK)
_TRUE = {"1", "true", "yes", "on"}


class RegistryError(ThreemlError):
    """The registry could not be built, or a definition could not be found in it."""


class RegistryConflict(RegistryError):
    """Two plugins supply different definitions under the same name."""


class UnknownPopulation(RegistryError):
    """A metric's population is not a registered counting definition."""


class UnknownDefinition(RegistryError, LookupError):
    """No definition of that name (and kind) is registered."""


class UnknownMeasureKind(RegistryError, LookupError):
    """A metric's measure kind is not supplied by any loaded plugin (or threeml itself)."""


class EntryPointLike(Protocol):
    """What :func:`load_registry` needs of an entry point.

    :class:`importlib.metadata.EntryPoint` is one; tests pass small stand-ins.
    ``dist`` (with ``.name`` and ``.version``) may be ``None``.
    """

    name: str
    value: str

    def load(self) -> Any: ...


@frozen
class PluginFailure:
    """A plugin that was left out, and why (``error`` is one line, meant for people)."""

    name: str
    distribution: str | None
    version: str | None
    error: str

    def describe(self) -> str:
        return (
            f"plugin {self.name!r} ({_distribution(self.distribution, self.version)}): {self.error}"
        )


@frozen
class PluginInfo:
    """A plugin that loaded: where it comes from and the definitions it supplies.

    ``entry_point`` is the entry point's value (``package.module``) for plugins
    found in the ``threeml`` entry-point group, ``None`` for plugins passed to
    :func:`load_registry` as ``extra_plugins``.
    """

    name: str
    distribution: str | None = None
    version: str | None = None
    entry_point: str | None = None
    counting: tuple[str, ...] = field(default=(), converter=tuple)
    metrics: tuple[str, ...] = field(default=(), converter=tuple)
    #: The measure kinds the plugin supplies, in name order.
    measure_kinds: tuple[str, ...] = field(default=(), converter=tuple)
    #: The disclosure policies the plugin supplies, in name order.
    disclosure_policies: tuple[str, ...] = field(default=(), converter=tuple)

    @property
    def definitions(self) -> tuple[str, ...]:
        """Every definition name the plugin supplies, in name order."""
        return tuple(sorted((*self.counting, *self.metrics)))

    @property
    def source(self) -> Source:
        return Source(self.name, self.distribution, self.version)


def _readonly(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


def _builtin_kinds() -> dict[str, MeasureKind]:
    return dict(MEASURES)


def _builtin_kind_sources() -> dict[str, tuple[Source, ...]]:
    return {name: (BUILTIN_SOURCE,) for name in MEASURES}


def _builtin_policies() -> dict[str, DisclosurePolicy]:
    return dict(BUILTIN_POLICIES)


def _builtin_policy_sources() -> dict[str, tuple[Source, ...]]:
    return {name: (BUILTIN_SOURCE,) for name in BUILTIN_POLICIES}


@frozen(eq=False)
class Registry:
    """Counting and metric definitions by name, with the plugins that supplied them.

    Build one with :func:`load_registry` (or take :func:`default_registry`) and
    add ad-hoc definitions with :meth:`with_definitions`; both check for
    conflicts and unknown populations. ``Registry()`` is the empty registry.
    """

    _counting: Mapping[str, CountingDefinition] = field(factory=dict, converter=_readonly)
    _metrics: Mapping[str, MetricDefinition] = field(factory=dict, converter=_readonly)
    _sources: Mapping[str, tuple[Source, ...]] = field(factory=dict, converter=_readonly)
    _measure_kinds: Mapping[str, MeasureKind] = field(factory=_builtin_kinds, converter=_readonly)
    _kind_sources: Mapping[str, tuple[Source, ...]] = field(
        factory=_builtin_kind_sources, converter=_readonly
    )
    _policies: Mapping[str, DisclosurePolicy] = field(
        factory=_builtin_policies, converter=_readonly
    )
    _policy_sources: Mapping[str, tuple[Source, ...]] = field(
        factory=_builtin_policy_sources, converter=_readonly
    )
    #: The plugins that loaded, in name order.
    plugins: tuple[PluginInfo, ...] = field(default=(), converter=tuple)
    #: The plugins that were left out because they are broken.
    failures: tuple[PluginFailure, ...] = field(default=(), converter=tuple)
    #: Entry points skipped because ``THREEML_DISABLE_PLUGINS`` names them.
    disabled: tuple[str, ...] = field(default=(), converter=tuple)
    #: True when ``THREEML_NO_PLUGINS`` switched entry-point discovery off.
    no_plugins: bool = False

    # Lookup.

    def counting(self, name: str) -> CountingDefinition:
        """The counting definition called ``name``; :class:`UnknownDefinition` if none."""
        try:
            return self._counting[name]
        except KeyError:
            raise self._unknown(name, "counting definition", self._counting) from None

    def metric(self, name: str) -> MetricDefinition:
        """The metric definition called ``name``; :class:`UnknownDefinition` if none."""
        try:
            return self._metrics[name]
        except KeyError:
            raise self._unknown(name, "metric definition", self._metrics) from None

    def definition(self, name: str) -> Definition:
        """The counting or metric definition called ``name``."""
        found = self._counting.get(name) or self._metrics.get(name)
        if found is None:
            raise self._unknown(name, "definition", {**self._counting, **self._metrics})
        return found

    def __contains__(self, name: object) -> bool:
        return name in self._counting or name in self._metrics

    def sources(self, name: str) -> tuple[Source, ...]:
        """Every source that supplied the definition ``name`` (more than one when equal
        definitions came from several plugins); the first is the definition's own."""
        self.definition(name)
        return self._sources[name]

    # Listing.

    def counting_definitions(self) -> tuple[CountingDefinition, ...]:
        """Every counting definition, in name order."""
        return tuple(self._counting[name] for name in sorted(self._counting))

    def metric_definitions(self) -> tuple[MetricDefinition, ...]:
        """Every metric definition, in name order."""
        return tuple(self._metrics[name] for name in sorted(self._metrics))

    def definitions(self) -> tuple[Definition, ...]:
        """Every definition, counting and metric, in name order."""
        return tuple(self.definition(name) for name in self.names())

    def names(self) -> tuple[str, ...]:
        """Every registered name, in order."""
        return tuple(sorted((*self._counting, *self._metrics)))

    # Measure kinds.

    def measure_kind(self, name: str) -> MeasureKind:
        """The measure kind called ``name``; :class:`UnknownMeasureKind` if none."""
        try:
            return self._measure_kinds[name]
        except KeyError:
            message = f"no measure kind named {name!r}"
            close = _closest(name, self._measure_kinds)
            if close:
                message += f"; did you mean {_either(close)}?"
            message += f" (installed: {', '.join(sorted(self._measure_kinds))})"
            raise UnknownMeasureKind(message) from None

    def measure_kinds(self) -> dict[str, MeasureKind]:
        """Every measure kind by name, in name order (``proportion`` is always there)."""
        return {name: self._measure_kinds[name] for name in sorted(self._measure_kinds)}

    def measure_kind_sources(self, name: str) -> tuple[Source, ...]:
        """Every source that supplied the measure kind ``name``; the first is the one used."""
        self.measure_kind(name)
        return self._kind_sources[name]

    # Disclosure policies.

    def disclosure_policy(self, name: str) -> DisclosurePolicy:
        """The disclosure policy called ``name`` (built in or from a plugin)."""
        try:
            return self._policies[name]
        except KeyError:
            raise RegistryError(
                f"no disclosure policy named {name!r} (installed: "
                f"{', '.join(sorted(self._policies))}, or custom:THRESHOLD:ROUNDING)"
            ) from None

    def disclosure_policies(self) -> dict[str, DisclosurePolicy]:
        """Every disclosure policy by name, in name order (the built-in ones are always there)."""
        return {name: self._policies[name] for name in sorted(self._policies)}

    def disclosure_policy_sources(self, name: str) -> tuple[Source, ...]:
        """Every source that supplied the policy ``name``; the first is the one used."""
        self.disclosure_policy(name)
        return self._policy_sources[name]

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
        stamped = []
        for definition in definitions:
            if not isinstance(definition, CountingDefinition | MetricDefinition):
                raise TypeError(f"expected counting or metric definitions, got {definition!r}")
            if source is not None or definition.source is None:
                definition = attrs.evolve(definition, source=source or Source(FILE_PLUGIN))
            stamped.append(definition)
        return _assemble(self, stamped)

    def with_measure_kinds(self, *kinds: MeasureKind, source: Source | None = None) -> Registry:
        """A new registry with these measure kinds added (this one is unchanged).

        They are recorded as coming from ``source`` (default: plugin ``"file"``);
        the same rules as for plugins apply (a different kind under a registered
        name is a :class:`RegistryConflict`).
        """
        checked = _check_kinds(list(kinds), "with_measure_kinds")
        return _assemble(self, (), [(k, source or Source(FILE_PLUGIN)) for k in checked])

    # Messages.

    def _unknown(self, name: str, noun: str, known: Mapping[str, Any]) -> UnknownDefinition:
        other = None
        if noun == "counting definition" and name in self._metrics:
            other = "a metric definition"
        elif noun == "metric definition" and name in self._counting:
            other = "a counting definition"
        if other:
            return UnknownDefinition(f"{name!r} is {other}, not a {noun}")
        message = f"no {noun} named {name!r}"
        close = _closest(name, known)
        if close:
            return UnknownDefinition(f"{message}; did you mean {_either(close)}?")
        if known:
            message += f"; `threeml definitions` lists the {len(known)} registered"
        else:
            message += "; none are registered"
        if self.no_plugins:
            message += f" ({NO_PLUGINS_VARIABLE} is set, so no plugins were loaded)"
        if self.disabled:
            message += f" ({DISABLE_VARIABLE} switched off {', '.join(self.disabled)})"
        if self.failures:
            failed = ", ".join(f.name for f in self.failures)
            message += f" (plugins that failed to load: {failed}; see `threeml plugins`)"
        return UnknownDefinition(message)


# Loading.


@attrs.define
class _Loaded:
    plugin: Any
    info: PluginInfo


class _Failed(Exception):
    """A plugin's hooks misbehaved; the message says how."""


def load_registry(
    *,
    entry_points: Iterable[EntryPointLike] | None = None,
    environ: Mapping[str, str] | None = None,
    extra_plugins: Iterable[Any] = (),
) -> Registry:
    """Load the plugins and build a :class:`Registry` of their definitions.

    ``entry_points`` defaults to the installed ``threeml`` entry-point group;
    pass a list of entry points (or stand-ins, see :class:`EntryPointLike`) to
    load those instead. ``environ`` is where ``THREEML_DISABLE_PLUGINS`` and
    ``THREEML_NO_PLUGINS`` are read. ``extra_plugins`` are plugin objects
    (modules, classes or instances with ``@hookimpl`` functions) to register
    as well, each given as a ``(name, plugin)`` pair or bare (named by its
    ``__name__``); they are loaded after the entry points.

    Broken plugins are recorded in :attr:`Registry.failures`; a name conflict
    or a metric with an unknown population raises a :class:`RegistryError`.
    """
    environ = os.environ if environ is None else environ
    no_plugins = environ.get(NO_PLUGINS_VARIABLE, "").strip().lower() in _TRUE
    switched_off = {n.strip() for n in environ.get(DISABLE_VARIABLE, "").split(",") if n.strip()}
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    failures: list[PluginFailure] = []
    loaded: list[_Loaded] = []
    disabled: list[str] = []

    if not no_plugins:
        if entry_points is None:
            entry_points = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
        found = [
            ep
            for ep in entry_points
            if getattr(ep, "group", ENTRY_POINT_GROUP) in (ENTRY_POINT_GROUP, None)
        ]
        for entry_point in sorted(found, key=lambda ep: (ep.name, _dist(ep)[0] or "")):
            distribution, version = _dist(entry_point)
            if entry_point.name in switched_off:
                disabled.append(entry_point.name)
                continue
            try:
                plugin = entry_point.load()
            except (Exception, SystemExit) as error:
                failures.append(
                    PluginFailure(
                        entry_point.name,
                        distribution,
                        version,
                        f"cannot import {entry_point.value!r}: {_text(error)}",
                    )
                )
                continue
            info = PluginInfo(entry_point.name, distribution, version, entry_point.value)
            _register(manager, plugin, info, loaded, failures)

    for item in extra_plugins:
        name, plugin = _named(item)
        _register(manager, plugin, PluginInfo(name), loaded, failures)

    _check_pending(manager, loaded, failures)

    plugins: list[PluginInfo] = []
    definitions: list[Definition] = []
    kinds: list[tuple[MeasureKind, Source]] = []
    policies: list[tuple[DisclosurePolicy, Source]] = []
    for entry in loaded:
        try:
            supplied = _call_hooks(manager, entry)
            measure_kinds = _call_kind_hook(manager, entry)
            supplied_policies = _call_policy_hook(manager, entry)
        except _Failed as error:
            manager.unregister(entry.plugin)
            failures.append(_failure(entry.info, str(error)))
            continue
        counting = [d.name for d in supplied if isinstance(d, CountingDefinition)]
        metrics = [d.name for d in supplied if isinstance(d, MetricDefinition)]
        plugins.append(
            attrs.evolve(
                entry.info,
                counting=counting,
                metrics=metrics,
                measure_kinds=sorted(k.kind for k in measure_kinds),
                disclosure_policies=sorted(p.name for p in supplied_policies),
            )
        )
        definitions.extend(supplied)
        kinds.extend((kind, entry.info.source) for kind in measure_kinds)
        policies.extend((policy, entry.info.source) for policy in supplied_policies)

    base = Registry(
        plugins=sorted(plugins, key=lambda p: p.name),
        failures=failures,
        disabled=disabled,
        no_plugins=no_plugins,
    )
    return _assemble(base, definitions, kinds, policies)


def _dist(entry_point: Any) -> tuple[str | None, str | None]:
    dist = getattr(entry_point, "dist", None)
    if dist is None:
        return None, None
    try:
        name = getattr(dist, "name", None) or dist.metadata["Name"]
        return name, getattr(dist, "version", None)
    except Exception:  # broken metadata must not stop the others loading
        return None, None


def _named(item: Any) -> tuple[str, Any]:
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
        return item
    name = getattr(item, "__name__", None) or type(item).__name__
    return str(name), item


def _text(error: BaseException) -> str:
    return " ".join(f"{type(error).__name__}: {error}".split())


def _failure(info: PluginInfo, error: str) -> PluginFailure:
    return PluginFailure(info.name, info.distribution, info.version, error)


def _register(
    manager: pluggy.PluginManager,
    plugin: Any,
    info: PluginInfo,
    loaded: list[_Loaded],
    failures: list[PluginFailure],
) -> None:
    unmarked = [
        name
        for name in _HOOK_NAMES
        if callable(getattr(plugin, name, None))
        and manager.parse_hookimpl_opts(plugin, name) is None
    ]
    if unmarked:
        failures.append(
            _failure(
                info,
                f"{', '.join(unmarked)} is not marked @hookimpl "
                "(from threeml.plugins.hookspecs import hookimpl), so threeml would never call it",
            )
        )
        return
    try:
        manager.register(plugin, name=info.name)
    except (ValueError, pluggy.PluginValidationError) as error:
        failures.append(_failure(info, f"cannot be registered: {_text(error)}"))
        return
    loaded.append(_Loaded(plugin, info))


def _check_pending(
    manager: pluggy.PluginManager, loaded: list[_Loaded], failures: list[PluginFailure]
) -> None:
    """Leave out, as failures, plugins implementing hooks threeml does not define."""
    for _ in range(len(loaded) + 1):
        try:
            manager.check_pending()
            return
        except pluggy.PluginValidationError as error:
            plugin = error.plugin
            unknown = sorted(
                caller.name
                for caller in manager.get_hookcallers(plugin) or ()
                if not caller.has_spec()
            )
            hints = []
            for name in unknown:
                close = difflib.get_close_matches(name, _HOOK_NAMES, n=1)
                hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            entry = next(e for e in loaded if e.plugin is plugin)
            loaded.remove(entry)
            manager.unregister(plugin)
            failures.append(
                _failure(
                    entry.info,
                    f"implements unknown hook {', '.join(hints)}; threeml's hooks are "
                    f"{', '.join(_HOOK_NAMES)}",
                )
            )
    manager.check_pending()  # pragma: no cover - every pass above removes one plugin


def _call_hooks(manager: pluggy.PluginManager, entry: _Loaded) -> list[Definition]:
    """Call one plugin's hooks and return its definitions, each with its source."""
    source = entry.info.source
    supplied: dict[str, Definition] = {}
    for hook_name, kind, noun in _HOOKS:
        for impl in getattr(manager.hook, hook_name).get_hookimpls():
            if impl.plugin is not entry.plugin:
                continue
            if impl.hookwrapper or impl.wrapper:
                raise _Failed(f"{hook_name} is a hook wrapper; it should return definitions")
            try:
                result = impl.function()
            except (Exception, SystemExit) as error:
                raise _Failed(f"{hook_name} raised {_text(error)}") from None
            for definition in _check_result(result, hook_name, kind, noun):
                definition = attrs.evolve(definition, source=source)
                earlier = supplied.get(definition.name)
                if earlier is not None and earlier != definition:
                    raise _Failed(f"supplies two different definitions named {definition.name!r}")
                supplied.setdefault(definition.name, definition)
    return list(supplied.values())


def _call_kind_hook(manager: pluggy.PluginManager, entry: _Loaded) -> list[MeasureKind]:
    """Call one plugin's ``threeml_measure_kinds`` (if it has one) and check what it returns."""
    found: list[MeasureKind] = []
    for impl in getattr(manager.hook, _KINDS_HOOK).get_hookimpls():
        if impl.plugin is not entry.plugin:
            continue
        if impl.hookwrapper or impl.wrapper:
            raise _Failed(f"{_KINDS_HOOK} is a hook wrapper; it should return measure kinds")
        try:
            result = impl.function()
        except (Exception, SystemExit) as error:
            raise _Failed(f"{_KINDS_HOOK} raised {_text(error)}") from None
        found.extend(_check_kinds(result, _KINDS_HOOK))
    return found


def _call_policy_hook(manager: pluggy.PluginManager, entry: _Loaded) -> list[DisclosurePolicy]:
    """Call one plugin's ``threeml_disclosure_policies`` (if it has one) and check the result."""
    found: dict[str, DisclosurePolicy] = {}
    for impl in getattr(manager.hook, _POLICIES_HOOK).get_hookimpls():
        if impl.plugin is not entry.plugin:
            continue
        if impl.hookwrapper or impl.wrapper:
            raise _Failed(f"{_POLICIES_HOOK} is a hook wrapper; it should return policies")
        try:
            result = impl.function()
        except (Exception, SystemExit) as error:
            raise _Failed(f"{_POLICIES_HOOK} raised {_text(error)}") from None
        expected = "a list of DisclosurePolicy"
        if result is None:
            raise _Failed(
                f"{_POLICIES_HOOK} returned None, not {expected} (is its return missing?)"
            )
        if not isinstance(result, Sequence) or isinstance(result, str | bytes):
            raise _Failed(f"{_POLICIES_HOOK} returned {type(result).__name__}, not {expected}")
        for index, item in enumerate(result):
            if not isinstance(item, DisclosurePolicy):
                what = repr(item)
                what = what if len(what) <= 60 else what[:57] + "..."
                raise _Failed(
                    f"{_POLICIES_HOOK} returned {type(item).__name__} {what} at position "
                    f"{index}, not a disclosure policy (DisclosurePolicy)"
                )
            if not item.name or item.name.startswith("custom") or ":" in item.name:
                raise _Failed(
                    f"{_POLICIES_HOOK} returned a policy named {item.name!r}; names are "
                    "non-empty, without ':' and not starting 'custom' (kept for custom:T:B)"
                )
            earlier = found.get(item.name)
            if earlier is not None and earlier != item:
                raise _Failed(f"supplies two different disclosure policies named {item.name!r}")
            found.setdefault(item.name, item)
    return list(found.values())


def _check_kinds(result: Any, hook_name: str) -> list[MeasureKind]:
    expected = "a list of measure kinds"
    if result is None:
        raise _Failed(f"{hook_name} returned None, not {expected} (is its return missing?)")
    if not isinstance(result, Sequence) or isinstance(result, str | bytes):
        raise _Failed(f"{hook_name} returned {type(result).__name__}, not {expected}")
    kinds: dict[str, MeasureKind] = {}
    for index, item in enumerate(result):
        name = getattr(item, "kind", None)
        what = repr(item)
        what = what if len(what) <= 60 else what[:57] + "..."
        if not isinstance(name, str) or not callable(getattr(item, "evaluate", None)):
            raise _Failed(
                f"{hook_name} returned {type(item).__name__} {what} at position {index}, not a "
                "measure kind (an object with a 'kind' name and an 'evaluate(context)' method)"
            )
        try:
            check_name(None, None, name)  # type: ignore[arg-type]
        except ValueError:
            raise _Failed(
                f"{hook_name} returned a measure kind named {name!r}, which is not a valid name "
                "(lower-case words joined by '-', such as 'before-after')"
            ) from None
        earlier = kinds.get(name)
        if earlier is not None and not _same_kind(earlier, item):
            raise _Failed(f"supplies two different measure kinds named {name!r}")
        kinds.setdefault(name, item)
    return list(kinds.values())


def _same_kind(first: Any, second: Any) -> bool:
    """Two measure kinds are the same when they are one object, or equal objects of one class."""
    if first is second:
        return True
    if type(first) is not type(second):
        return False
    try:
        if first == second:
            return True
    except Exception:  # an odd __eq__ must not stop the registry
        return False
    return getattr(first, "__dict__", None) == getattr(second, "__dict__", None)


def _check_result(result: Any, hook_name: str, kind: type, noun: str) -> Sequence[Definition]:
    expected = f"a list of {kind.__name__}"
    if result is None:
        raise _Failed(f"{hook_name} returned None, not {expected} (is its return missing?)")
    if not isinstance(result, Sequence) or isinstance(result, str | bytes):
        raise _Failed(f"{hook_name} returned {type(result).__name__}, not {expected}")
    for index, item in enumerate(result):
        if not isinstance(item, kind):
            what = repr(item)
            what = what if len(what) <= 60 else what[:57] + "..."
            raise _Failed(
                f"{hook_name} returned {type(item).__name__} {what} at position {index}, "
                f"not a {noun} ({kind.__name__})"
            )
    return result


# Assembling: names, conflicts and populations.


def _assemble(
    base: Registry,
    definitions: Iterable[Definition],
    kinds: Iterable[tuple[MeasureKind, Source]] = (),
    policies: Iterable[tuple[DisclosurePolicy, Source]] = (),
) -> Registry:
    known_policies = dict(base._policies)
    policy_sources = {name: list(found) for name, found in base._policy_sources.items()}
    for policy, source in policies:
        existing_policy = known_policies.get(policy.name)
        if existing_policy is None:
            known_policies[policy.name] = policy
            policy_sources[policy.name] = [source]
        elif existing_policy == policy:
            if source not in policy_sources[policy.name]:
                policy_sources[policy.name].append(source)
        else:
            raise RegistryConflict(
                _kind_conflict(
                    base,
                    policy.name,
                    policy_sources[policy.name][0],
                    source,
                    "disclosure policies",
                    "disclosure policy",
                )
            )
    measure_kinds = dict(base._measure_kinds)
    kind_sources = {name: list(found) for name, found in base._kind_sources.items()}
    for kind, source in kinds:
        existing = measure_kinds.get(kind.kind)
        if existing is None:
            measure_kinds[kind.kind] = kind
            kind_sources[kind.kind] = [source]
        elif _same_kind(existing, kind):
            if source not in kind_sources[kind.kind]:
                kind_sources[kind.kind].append(source)
        else:
            raise RegistryConflict(
                _kind_conflict(base, kind.kind, kind_sources[kind.kind][0], source)
            )
    counting = dict(base._counting)
    metrics: dict[str, MetricDefinition] = dict(base._metrics)
    sources = {name: list(found) for name, found in base._sources.items()}
    for definition in definitions:
        assert definition.source is not None
        existing = counting.get(definition.name) or metrics.get(definition.name)
        if existing is None:
            if isinstance(definition, CountingDefinition):
                counting[definition.name] = definition
            else:
                metrics[definition.name] = definition
            sources[definition.name] = [definition.source]
        elif existing == definition:
            if definition.source not in sources[definition.name]:
                sources[definition.name].append(definition.source)
        else:
            raise RegistryConflict(_conflict(base, existing, definition))
    _check_populations(base, counting, metrics)
    _check_measure_kinds(base, measure_kinds, metrics)
    return attrs.evolve(
        base,
        counting=counting,
        metrics=metrics,
        sources={name: tuple(found) for name, found in sources.items()},
        measure_kinds=measure_kinds,
        kind_sources={name: tuple(found) for name, found in kind_sources.items()},
        policies=known_policies,
        policy_sources={name: tuple(found) for name, found in policy_sources.items()},
    )


def _distribution(distribution: str | None, version: str | None) -> str:
    if distribution is None:
        return "no distribution"
    return f"{distribution} {version}" if version else distribution


def _describe_source(source: Source | None) -> str:
    if source is None:  # pragma: no cover - the registry stamps every definition
        return "unknown source"
    if source.plugin == FILE_PLUGIN and source.distribution is None:
        return "a definition file"
    return f"{_distribution(source.distribution, source.version)} (plugin {source.plugin!r})"


def _how_to_drop(base: Registry, source: Source | None, what: str = "definition") -> str:
    if source is None or (source.plugin == FILE_PLUGIN and source.distribution is None):
        return f"rename the {what} in the file"
    if source == BUILTIN_SOURCE:
        return f"keep threeml's built-in {what}"
    entry_points = {p.name for p in base.plugins if p.entry_point is not None}
    if source.plugin in entry_points:
        return f"{DISABLE_VARIABLE}={source.plugin}"
    return f"leave {source.plugin!r} out of extra_plugins"


def _differences(first: Definition, second: Definition) -> str:
    if type(first) is not type(second):
        return "one is a counting definition, the other a metric definition"
    fields = [
        a.name
        for a in attrs.fields(type(first))
        if a.eq and getattr(first, a.name) != getattr(second, a.name)
    ]
    return f"they differ in {', '.join(fields)}"


def _conflict(base: Registry, existing: Definition, new: Definition) -> str:
    first, second = existing.source, new.source
    if first == second:
        return (
            f"{_describe_source(first)} supplies two different definitions named "
            f"{new.name!r} ({_differences(existing, new)})"
        )
    return (
        f"two different definitions are named {new.name!r}: one from "
        f"{_describe_source(first)}, one from {_describe_source(second)} "
        f"({_differences(existing, new)}); definitions are chosen by name, so use only one: "
        f"{_how_to_drop(base, first)}, or {_how_to_drop(base, second)}"
    )


def _kind_conflict(
    base: Registry,
    name: str,
    first: Source,
    second: Source,
    plural: str = "measure kinds",
    singular: str = "measure kind",
) -> str:
    def describe(source: Source) -> str:
        if source == BUILTIN_SOURCE:
            return f"threeml {source.version} (built in)"
        if source.plugin == FILE_PLUGIN and source.distribution is None:
            return "with_measure_kinds"
        return _describe_source(source)

    if first == second:
        return f"{describe(first)} supplies two different {plural} named {name!r}"
    return (
        f"two different {plural} are named {name!r}: one from {describe(first)}, one from "
        f"{describe(second)}; {plural} are chosen by name, so use only one: "
        f"{_how_to_drop(base, first, singular)}, or "
        f"{_how_to_drop(base, second, singular)}"
    )


def _check_measure_kinds(
    base: Registry, kinds: Mapping[str, MeasureKind], metrics: Mapping[str, MetricDefinition]
) -> None:
    problems = []
    for name in sorted(metrics):
        metric = metrics[name]
        kind = metric.measure.kind
        if kind in kinds:
            continue
        problem = (
            f"metric {name!r} from {_describe_source(metric.source)} uses measure kind "
            f"{kind!r}, which no loaded plugin supplies (installed kinds: "
            f"{', '.join(sorted(kinds))})"
        )
        close = _closest(kind, kinds)
        if close:
            problem += f"; did you mean {_either(close)}?"
        problems.append(problem)
    _refuse(base, problems, UnknownMeasureKind)


def _check_populations(
    base: Registry, counting: Mapping[str, CountingDefinition], metrics: Mapping[str, Any]
) -> None:
    problems = []
    for name in sorted(metrics):
        metric = metrics[name]
        if metric.population in counting:
            continue
        problem = (
            f"metric {name!r} from {_describe_source(metric.source)} has population "
            f"{metric.population!r}, which is not a registered counting definition"
        )
        if metric.population in metrics:
            problem += " (it is a metric)"
        close = _closest(metric.population, counting)
        if close:
            problem += f"; did you mean {_either(close)}?"
        problems.append(problem)
    _refuse(base, problems, UnknownPopulation)


def _refuse(base: Registry, problems: list[str], error: type[RegistryError]) -> None:
    """Raise ``error`` listing ``problems`` (if any), and the plugins that might have helped."""
    if not problems:
        return
    message = "; ".join(problems)
    if base.failures:
        failed = ", ".join(f.describe() for f in base.failures)
        message += f" (plugins that failed to load, which may have supplied it: {failed})"
    if base.disabled:
        message += f" ({DISABLE_VARIABLE} switched off {', '.join(base.disabled)})"
    raise error(message)


def _closest(name: str, known: Iterable[str]) -> list[str]:
    return difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.6)


def _either(names: Sequence[str]) -> str:
    quoted = [repr(n) for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


# The registry everything uses by default.


@functools.cache
def default_registry() -> Registry:
    """The registry of the installed plugins, built on first use and then kept."""
    return load_registry()


def reset_default_registry() -> None:
    """Forget the default registry, so the next :func:`default_registry` loads the plugins again."""
    default_registry.cache_clear()
