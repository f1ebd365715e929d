"""Isolated registries: only the plugins and definitions a test gives, never the environment's."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from threeml.plugins.registry import Registry

__all__ = ["isolated_registry"]


def isolated_registry(
    *plugins: Any,
    definitions: Iterable[Any] = (),
    measure_kinds: Iterable[Any] = (),
    installed: bool = False,
) -> Registry:
    """A registry of exactly these plugins and definitions.

    ``plugins`` are plugin objects (modules, classes or instances with ``@hookimpl``
    functions), bare or as ``(name, plugin)`` pairs, loaded as
    :func:`threeml.plugins.registry.load_registry` loads ``extra_plugins``. ``definitions``
    and ``measure_kinds`` are added as ad-hoc ones (recorded as coming from plugin
    ``"file"``). No installed plugin is loaded unless ``installed`` is true, and
    ``THREEML_DISABLE_PLUGINS`` / ``THREEML_NO_PLUGINS`` are ignored either way, so
    the registry is the same on every machine.

    A plugin that fails to load is recorded in the registry's ``failures`` as usual;
    a name conflict or an unknown population raises.
    """
    from threeml.plugins.registry import load_registry

    registry = load_registry(
        entry_points=None if installed else [], environ={}, extra_plugins=plugins
    )
    kinds = list(measure_kinds)
    if kinds:
        registry = registry.with_measure_kinds(*kinds)
    definitions = list(definitions)
    if definitions:
        registry = registry.with_definitions(*definitions)
    return registry
