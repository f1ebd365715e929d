"""What the registry records about each plugin: the ones that loaded and the ones left out."""

from __future__ import annotations

from typing import Any, Protocol

from attrs import field, frozen

from threeml.definitions import Source

__all__ = ["EntryPointLike", "PluginFailure", "PluginInfo", "distribution_text"]


def distribution_text(distribution: str | None, version: str | None) -> str:
    """``acme-dist 1.0``, or ``no distribution`` for a plugin passed in by code."""
    if distribution is None:
        return "no distribution"
    return f"{distribution} {version}" if version else distribution


class EntryPointLike(Protocol):
    """What :func:`~threeml.plugins.registry.load_registry` needs of an entry point.

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
        where = distribution_text(self.distribution, self.version)
        return f"plugin {self.name!r} ({where}): {self.error}"


@frozen
class PluginInfo:
    """A plugin that loaded: where it comes from and the names of what it supplies.

    ``entry_point`` is the entry point's value (``package.module``) for plugins
    found in the ``threeml`` entry-point group, ``None`` for plugins passed to
    :func:`~threeml.plugins.registry.load_registry` as ``extra_plugins``. There is one
    field of names, in name order, per kind of contribution
    (:data:`threeml.plugins.contributions.CONTRIBUTIONS`).
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
    #: The criterion kinds the plugin supplies, in name order.
    criterion_kinds: tuple[str, ...] = field(default=(), converter=tuple)
    #: The loaders the plugin supplies, in name order.
    loaders: tuple[str, ...] = field(default=(), converter=tuple)

    @property
    def definitions(self) -> tuple[str, ...]:
        """Every definition name the plugin supplies, in name order."""
        return tuple(sorted((*self.counting, *self.metrics)))

    @property
    def source(self) -> Source:
        return Source(self.name, self.distribution, self.version)
