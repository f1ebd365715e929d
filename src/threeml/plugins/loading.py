"""Discovering plugins and building the registry from them, one plugin at a time.

:func:`load_registry` finds the plugins in the ``threeml`` entry-point group, loads each one on its
own and calls each of its hooks on their own, driven by the table of contribution kinds
(:data:`~threeml.plugins.contributions.CONTRIBUTIONS`): a plugin that cannot be imported, whose
hook raises or returns the wrong thing, or that implements a hook threeml does not define, is
recorded as a failure and left out while the others load.
"""

from __future__ import annotations

import difflib
import functools
import importlib.metadata
import os
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
import pluggy

from threeml.plugins import hookspecs
from threeml.plugins.contributions import CONTRIBUTIONS, HOOK_NAMES, HookProblem, check_result
from threeml.plugins.info import EntryPointLike, PluginFailure, PluginInfo
from threeml.plugins.messages import DISABLE_VARIABLE, NO_PLUGINS_VARIABLE, one_line
from threeml.plugins.store import Registry, assemble
from threeml.settings import flag

__all__ = ["ENTRY_POINT_GROUP", "default_registry", "load_registry", "reset_default_registry"]

#: The entry-point group plugin distributions register in.
ENTRY_POINT_GROUP = hookspecs.PROJECT


@attrs.define
class _Loaded:
    plugin: Any
    info: PluginInfo


def load_registry(
    *,
    entry_points: Iterable[EntryPointLike] | None = None,
    environ: Mapping[str, str] | None = None,
    extra_plugins: Iterable[Any] = (),
    diagnose: bool = False,
) -> Registry:
    """Load the plugins and build a :class:`~threeml.plugins.registry.Registry` of what they supply.

    ``entry_points`` defaults to the installed ``threeml`` entry-point group;
    pass a list of entry points (or stand-ins, see
    :class:`~threeml.plugins.registry.EntryPointLike`) to load those instead. ``environ`` is
    where ``THREEML_DISABLE_PLUGINS`` and ``THREEML_NO_PLUGINS`` are read. ``extra_plugins`` are
    plugin objects (modules, classes or instances with ``@hookimpl`` functions) to register as
    well, each given as a ``(name, plugin)`` pair or bare (named by its ``__name__``); they are
    loaded after the entry points.

    Broken plugins are recorded in ``Registry.failures``; a name conflict
    or a metric with an unknown population raises a ``RegistryError``, unless ``diagnose`` is
    true: then it is recorded in ``Registry.problems`` (the clashing contribution left out),
    which is how ``threeml plugins`` still lists everything when two plugins clash.
    """
    environ = os.environ if environ is None else environ
    no_plugins = flag(NO_PLUGINS_VARIABLE, environ)
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
                        f"cannot import {entry_point.value!r}: {one_line(error)}",
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
    added: list[tuple[str, Any, Any]] = []
    for entry in loaded:
        try:
            supplied = _call_hooks(manager, entry)
        except HookProblem as error:
            manager.unregister(entry.plugin)
            failures.append(_failure(entry.info, str(error)))
            continue
        names = {key: sorted(item_names) for key, item_names in _names(supplied).items()}
        plugins.append(attrs.evolve(entry.info, **names))
        added.extend((key, item, entry.info.source) for key, item in supplied)

    base = Registry(
        plugins=sorted(plugins, key=lambda p: p.name),
        failures=failures,
        disabled=disabled,
        no_plugins=no_plugins,
    )
    return assemble(base, added, diagnose=diagnose)


def _names(supplied: list[tuple[str, Any]]) -> dict[str, list[str]]:
    names: dict[str, list[str]] = {c.key: [] for c in CONTRIBUTIONS}
    by_key = {c.key: c for c in CONTRIBUTIONS}
    for key, item in supplied:
        names[key].append(by_key[key].name_of(item))
    return names


def _call_hooks(manager: pluggy.PluginManager, entry: _Loaded) -> list[tuple[str, Any]]:
    """Call each of one plugin's hooks and return what it supplies, as ``(key, item)`` pairs.

    Counting definitions are stamped with the plugin's source. Two different items under one
    name (in one namespace) from the same plugin are a :class:`HookProblem`.
    """
    source = entry.info.source
    supplied: dict[tuple[str, str], tuple[str, Any]] = {}
    for contribution in CONTRIBUTIONS:
        for impl in getattr(manager.hook, contribution.hook).get_hookimpls():
            if impl.plugin is not entry.plugin:
                continue
            if impl.hookwrapper or impl.wrapper:
                raise HookProblem(
                    f"{contribution.hook} is a hook wrapper; it should return "
                    f"{_returns(contribution.plural)}"
                )
            try:
                result = impl.function()
            except (Exception, SystemExit) as error:
                raise HookProblem(f"{contribution.hook} raised {one_line(error)}") from None
            for item in check_result(contribution, result):
                if contribution.stamped:
                    item = attrs.evolve(item, source=source)
                slot = (contribution.space, contribution.name_of(item))
                earlier = supplied.get(slot)
                if earlier is not None and not contribution.same(earlier[1], item):
                    raise HookProblem(
                        f"supplies two different {contribution.plural} named {slot[1]!r}"
                    )
                supplied.setdefault(slot, (contribution.key, item))
    return list(supplied.values())


def _returns(plural: str) -> str:
    return "policies" if plural == "disclosure policies" else plural


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
        for name in HOOK_NAMES
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
        failures.append(_failure(info, f"cannot be registered: {one_line(error)}"))
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
                close = difflib.get_close_matches(name, HOOK_NAMES, n=1)
                hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            entry = next(e for e in loaded if e.plugin is plugin)
            loaded.remove(entry)
            manager.unregister(plugin)
            failures.append(
                _failure(
                    entry.info,
                    f"implements unknown hook {', '.join(hints)}; threeml's hooks are "
                    f"{', '.join(HOOK_NAMES)}",
                )
            )
    manager.check_pending()  # pragma: no cover - every pass above removes one plugin


@functools.cache
def default_registry() -> Registry:
    """The registry of the installed plugins, built on first use and then kept."""
    return load_registry()


def reset_default_registry() -> None:
    """Forget the default registry, so the next :func:`default_registry` loads the plugins again."""
    default_registry.cache_clear()
