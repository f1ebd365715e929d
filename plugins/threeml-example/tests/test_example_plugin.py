"""The example plugin: registered from its installed entry point, and its definitions are sound.

Copy these tests with the plugin: they check what every plugin should check.
"""

from __future__ import annotations

import importlib.metadata

import pytest
from threeml_example import plugin

from threeml.definitions import (
    ContactsAtLeast,
    CountingDefinition,
    EnrolmentOverlaps,
    ReferredIn,
    Window,
    from_json,
    from_toml,
    to_json,
    to_toml,
)
from threeml.registry import Registry, load_registry

DISTRIBUTION = "threeml-example"
ENTRY_POINT = "example"
NAMES = ("example.pendant-heartbeat-7d", "example.telehealth-referrals")


@pytest.fixture(scope="module")
def registry() -> Registry:
    """The registry of the installed plugins, as threeml builds it (environment ignored)."""
    return load_registry(environ={})


def test_the_entry_point_is_installed() -> None:
    (entry_point,) = [
        ep for ep in importlib.metadata.entry_points(group="threeml") if ep.name == ENTRY_POINT
    ]
    assert entry_point.value == "threeml_example.plugin"
    assert entry_point.dist.name == DISTRIBUTION


def test_the_plugin_loads_without_failures(registry: Registry) -> None:
    assert [f for f in registry.failures if f.name == ENTRY_POINT] == []
    (info,) = [p for p in registry.plugins if p.name == ENTRY_POINT]
    assert info.distribution == DISTRIBUTION
    assert info.version == importlib.metadata.version(DISTRIBUTION)
    assert info.definitions == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_definitions_are_registered_with_their_source(registry: Registry, name: str) -> None:
    source = registry.counting(name).source
    assert source is not None
    assert source.plugin == ENTRY_POINT
    assert source.distribution == DISTRIBUTION
    assert source.version == importlib.metadata.version(DISTRIBUTION)


def test_pendant_heartbeat_definition(registry: Registry) -> None:
    definition = registry.counting("example.pendant-heartbeat-7d")
    assert definition.criteria == (
        EnrolmentOverlaps(service_kinds={"telecare"}),
        ContactsAtLeast(
            count=1,
            contact_kinds={"heartbeat"},
            service_kinds={"telecare"},
            window=Window(last_days=7),
        ),
    )
    assert definition.parameters == {"days": 7}
    assert definition.title and definition.description and definition.origin


def test_telehealth_referrals_definition_comes_from_the_toml_file(registry: Registry) -> None:
    definition = registry.counting("example.telehealth-referrals")
    assert definition.criteria == (ReferredIn(service_kinds={"telehealth"}),)
    assert [d.name for d in plugin.file_definitions()] == ["example.telehealth-referrals"]


def test_hooks_return_sequences_of_definitions() -> None:
    counting = plugin.threeml_counting_definitions()
    assert all(isinstance(d, CountingDefinition) for d in counting)
    assert [d.name for d in counting] == list(NAMES)
    assert plugin.threeml_metric_definitions() == []


@pytest.mark.parametrize("name", NAMES)
def test_definitions_round_trip_through_json_and_toml(registry: Registry, name: str) -> None:
    definition = registry.counting(name)
    for write, read in ((to_json, from_json), (to_toml, from_toml)):
        again = read(write(definition))
        assert again == definition
        assert again.parameters == definition.parameters  # not part of ==, so checked apart
        assert again.origin == definition.origin
        assert write(again) == write(definition)
