"""The plugin registry: loading, attribution, broken plugins, conflicts and lookups.

Fake plugins are small namespaces with ``@hookimpl`` functions, reached through
fake entry points (or real :class:`importlib.metadata.EntryPoint` objects
pointing at modules put in ``sys.modules``); nothing is installed.
"""

from __future__ import annotations

import importlib.metadata
import re
import sys
import types
from collections.abc import Callable
from typing import Any

import attrs
import pytest

from threeml.definitions import (
    ContactsAtLeast,
    CountingDefinition,
    EnrolmentOverlaps,
    Measure,
    MetricDefinition,
    Source,
    Window,
)
from threeml.errors import ThreemlError
from threeml.plugins.hookspecs import hookimpl
from threeml.plugins.registry import (
    PluginFailure,
    Registry,
    RegistryConflict,
    UnknownDefinition,
    UnknownPopulation,
    default_registry,
    load_registry,
    reset_default_registry,
)

# Builders.


def counting(name: str, *, days: int | None = None, version: str = "1") -> CountingDefinition:
    criteria: list[Any] = [EnrolmentOverlaps(service_kinds={"telecare"})]
    if days is not None:
        criteria.append(ContactsAtLeast(contact_kinds={"heartbeat"}, window=Window(last_days=days)))
    return CountingDefinition(
        name=name,
        version=version,
        title=f"Title of {name}",
        description=f"Description of {name}.",
        criteria=criteria,
    )


def metric(name: str, population: str) -> MetricDefinition:
    return MetricDefinition(
        name=name,
        version="1",
        title=f"Title of {name}",
        description=f"Description of {name}.",
        population=population,
        measure=Measure("proportion"),
    )


def returning(value: Any) -> Callable[[], Any]:
    return lambda: value


def plugin(counting: Any = (), metrics: Any = None, **hooks: Callable[[], Any]) -> Any:
    """A plugin object: the counting hook returns ``counting``; other hooks by name."""
    functions: dict[str, Any] = {"threeml_counting_definitions": hookimpl(returning(counting))}
    if metrics is not None:
        functions["threeml_metric_definitions"] = hookimpl(returning(metrics))
    functions.update({name: hookimpl(function) for name, function in hooks.items()})
    return types.SimpleNamespace(**functions)


@attrs.frozen
class FakeDist:
    name: str
    version: str


@attrs.frozen
class FakeEntryPoint:
    """Stands in for importlib.metadata.EntryPoint: name, value, group, dist, load()."""

    name: str
    target: Any
    dist: FakeDist | None = None
    value: str = "fake_plugin.module"
    group: str = "threeml"

    def load(self) -> Any:
        if isinstance(self.target, BaseException):
            raise self.target
        return self.target


def ep(name: str, target: Any, distribution: str | None = None, version: str = "1.0") -> Any:
    dist = FakeDist(distribution or f"{name}-dist", version)
    return FakeEntryPoint(name, target, dist, value=f"{name.replace('-', '_')}_threeml.plugin")


def failure(registry: Registry, name: str) -> PluginFailure:
    found = [f for f in registry.failures if f.name == name]
    assert len(found) == 1, registry.failures
    return found[0]


# Loading and attribution.


def test_definitions_are_attributed_to_the_plugin_and_distribution_that_returned_them() -> None:
    registry = load_registry(
        entry_points=[
            ep("acme", plugin([counting("acme.b"), counting("acme.a")]), "acme-telecare", "2.1"),
            ep("other", plugin([counting("other.x")], [metric("other.share", "acme.a")])),
        ],
        environ={},
    )
    assert registry.failures == ()
    assert registry.counting("acme.a").source == Source("acme", "acme-telecare", "2.1")
    assert registry.metric("other.share").source == Source("other", "other-dist", "1.0")
    assert [d.name for d in registry.counting_definitions()] == ["acme.a", "acme.b", "other.x"]
    assert [d.name for d in registry.metric_definitions()] == ["other.share"]
    assert [(p.name, p.distribution, p.version, p.definitions) for p in registry.plugins] == [
        ("acme", "acme-telecare", "2.1", ("acme.a", "acme.b")),
        ("other", "other-dist", "1.0", ("other.share", "other.x")),
    ]
    assert registry.plugins[1].counting == ("other.x",)
    assert registry.plugins[1].metrics == ("other.share",)
    assert registry.plugins[0].entry_point == "acme_threeml.plugin"


def test_real_entry_points_load_modules_by_import_path(monkeypatch) -> None:
    module = types.ModuleType("threeml_fake_real_plugin")
    module.threeml_counting_definitions = hookimpl(returning([counting("real.one")]))
    monkeypatch.setitem(sys.modules, module.__name__, module)
    entry_points = [
        importlib.metadata.EntryPoint("real", "threeml_fake_real_plugin", "threeml"),
        importlib.metadata.EntryPoint("missing", "threeml_fake_no_such_module", "threeml"),
        importlib.metadata.EntryPoint("other-group", "threeml_fake_no_such_module", "pytest11"),
    ]
    registry = load_registry(entry_points=entry_points, environ={})
    assert registry.counting("real.one").source == Source("real")
    missing = failure(registry, "missing")
    assert (missing.distribution, missing.version) == (None, None)
    assert "ModuleNotFoundError" in missing.error
    assert "threeml_fake_no_such_module" in missing.error
    assert [p.name for p in registry.plugins] == ["real"]  # the other group is not threeml's


def test_extra_plugins_are_registered_by_name() -> None:
    named = plugin([counting("extra.one")])
    registry = load_registry(entry_points=[], environ={}, extra_plugins=[("mine", named)])
    assert registry.counting("extra.one").source == Source("mine")
    assert registry.plugins[0].entry_point is None


# Broken plugins are reported, the others still load.


def test_entry_point_whose_import_raises_is_reported_and_the_others_load() -> None:
    registry = load_registry(
        entry_points=[
            ep("broken", ImportError("No module named 'numpyy'"), "broken-dist", "0.3"),
            ep("good", plugin([counting("good.one")])),
        ],
        environ={},
    )
    broken = failure(registry, "broken")
    assert (broken.distribution, broken.version) == ("broken-dist", "0.3")
    assert "ImportError: No module named 'numpyy'" in broken.error
    assert "good.one" in registry
    assert [p.name for p in registry.plugins] == ["good"]


def test_hook_that_raises_is_reported_and_its_plugin_supplies_nothing() -> None:
    def explode() -> Any:
        raise RuntimeError("database is down")

    registry = load_registry(
        entry_points=[
            ep("flaky", plugin([counting("flaky.one")], threeml_metric_definitions=explode)),
            ep("good", plugin([counting("good.one")])),
        ],
        environ={},
    )
    flaky = failure(registry, "flaky")
    assert flaky.distribution == "flaky-dist"
    assert "threeml_metric_definitions raised RuntimeError: database is down" in flaky.error
    # All or nothing: the counting definition of a broken plugin is not registered either.
    assert "flaky.one" not in registry
    assert registry.names() == ("good.one",)


@pytest.mark.parametrize(
    ("returned", "expected"),
    [
        (None, "returned None"),
        (42, "returned int"),
        ("example.one", "returned str"),
        ({"name": "x"}, "returned dict"),
        ([object()], "returned object"),
        ([metric("m.one", "good.one")], "returned MetricDefinition"),
    ],
)
def test_hook_returning_something_other_than_definitions_is_reported(
    returned: Any, expected: str
) -> None:
    registry = load_registry(
        entry_points=[ep("garbage", plugin(returned)), ep("good", plugin([counting("good.one")]))],
        environ={},
    )
    garbage = failure(registry, "garbage")
    assert "threeml_counting_definitions" in garbage.error
    assert expected in garbage.error
    assert registry.names() == ("good.one",)


def test_metric_hook_returning_counting_definitions_is_reported() -> None:
    registry = load_registry(
        entry_points=[ep("mixed", plugin([], [counting("mixed.one")]))], environ={}
    )
    error = failure(registry, "mixed").error
    assert "threeml_metric_definitions" in error
    assert "not a metric definition" in error


def test_misspelled_hook_is_caught_by_check_pending_and_names_the_plugin() -> None:
    typo = types.SimpleNamespace(
        threeml_counting_definition=hookimpl(returning([counting("typo.one")]))
    )
    registry = load_registry(
        entry_points=[ep("typo", typo, "typo-dist", "0.1"), ep("good", plugin([counting("g.a")]))],
        environ={},
    )
    error = failure(registry, "typo").error
    assert "unknown hook 'threeml_counting_definition'" in error
    assert "did you mean 'threeml_counting_definitions'" in error
    assert registry.names() == ("g.a",)


def test_hook_function_without_hookimpl_marker_is_reported() -> None:
    unmarked = types.SimpleNamespace(threeml_counting_definitions=returning([counting("u.one")]))
    registry = load_registry(entry_points=[ep("unmarked", unmarked)], environ={})
    assert "not marked @hookimpl" in failure(registry, "unmarked").error
    assert registry.plugins == ()


def test_hook_with_arguments_the_spec_does_not_have_is_reported() -> None:
    bad = types.SimpleNamespace(threeml_counting_definitions=hookimpl(lambda period: []))
    registry = load_registry(entry_points=[ep("args", bad)], environ={})
    assert "period" in failure(registry, "args").error


def test_plugin_supplying_two_different_definitions_under_one_name_is_reported() -> None:
    twice = plugin([counting("twice.one"), counting("twice.one", days=7)])
    registry = load_registry(entry_points=[ep("twice", twice)], environ={})
    assert "two different definitions named 'twice.one'" in failure(registry, "twice").error


def test_two_distributions_using_one_entry_point_name_report_the_second() -> None:
    registry = load_registry(
        entry_points=[
            ep("same", plugin([counting("first.one")]), "a-dist"),
            ep("same", plugin([counting("second.one")]), "b-dist"),
        ],
        environ={},
    )
    assert registry.names() == ("first.one",)
    second = failure(registry, "same")
    assert second.distribution == "b-dist"
    assert "already registered" in second.error


# Names: conflicts and identical duplicates.


def test_two_plugins_claiming_one_name_differently_is_an_error_naming_both() -> None:
    with pytest.raises(RegistryConflict) as raised:
        load_registry(
            entry_points=[
                ep("acme", plugin([counting("shared.active", days=7)]), "acme-telecare", "2.1"),
                ep("bravo", plugin([counting("shared.active", days=28)]), "bravo-care", "0.9"),
            ],
            environ={},
        )
    message = str(raised.value)
    assert isinstance(raised.value, ThreemlError)
    assert "'shared.active'" in message
    assert "acme-telecare 2.1" in message
    assert "bravo-care 0.9" in message
    assert "THREEML_DISABLE_PLUGINS=acme" in message
    assert "THREEML_DISABLE_PLUGINS=bravo" in message
    assert "criteria" in message  # says what differs
    assert "\n" not in message


def test_disabling_one_of_two_conflicting_plugins_resolves_the_conflict() -> None:
    entry_points = [
        ep("acme", plugin([counting("shared.active", days=7)]), "acme-telecare"),
        ep("bravo", plugin([counting("shared.active", days=28)]), "bravo-care"),
    ]
    registry = load_registry(
        entry_points=entry_points, environ={"THREEML_DISABLE_PLUGINS": "bravo"}
    )
    assert registry.counting("shared.active").source.plugin == "acme"
    assert registry.disabled == ("bravo",)


def test_identical_duplicate_is_accepted_and_both_sources_remembered() -> None:
    registry = load_registry(
        entry_points=[
            ep("zulu", plugin([counting("shared.active", days=7)]), "zulu-dist", "3"),
            ep("alpha", plugin([counting("shared.active", days=7)]), "alpha-dist", "1"),
        ],
        environ={},
    )
    assert registry.failures == ()
    # Kept: the first in entry-point name order, whatever order they were found in.
    assert registry.counting("shared.active").source == Source("alpha", "alpha-dist", "1")
    assert registry.sources("shared.active") == (
        Source("alpha", "alpha-dist", "1"),
        Source("zulu", "zulu-dist", "3"),
    )
    assert all(p.definitions == ("shared.active",) for p in registry.plugins)


def test_counting_and_metric_definitions_share_one_namespace() -> None:
    with pytest.raises(RegistryConflict, match="one is a counting definition"):
        load_registry(
            entry_points=[
                ep("a", plugin([counting("same.name")])),
                ep("b", plugin([counting("b.pop")], [metric("same.name", "b.pop")])),
            ],
            environ={},
        )


# Metric populations.


def test_metric_with_unknown_population_fails_naming_metric_plugin_and_population() -> None:
    with pytest.raises(UnknownPopulation) as raised:
        load_registry(
            entry_points=[
                ep("acme", plugin([counting("acme.heartbeat-7d")]), "acme-telecare", "2.1"),
                ep("metrics", plugin([], [metric("acme.share", "acme.heartbeat-7")]), "m-dist"),
            ],
            environ={},
        )
    message = str(raised.value)
    assert "metric 'acme.share'" in message
    assert "plugin 'metrics'" in message
    assert "m-dist" in message
    assert "'acme.heartbeat-7'" in message
    assert "did you mean 'acme.heartbeat-7d'" in message


def test_metric_population_may_come_from_another_plugin() -> None:
    registry = load_registry(
        entry_points=[
            ep("counts", plugin([counting("base.users")])),
            ep("metrics", plugin([], [metric("base.share", "base.users")])),
        ],
        environ={},
    )
    assert registry.metric("base.share").population == "base.users"


def test_unknown_population_mentions_plugins_that_failed_to_load() -> None:
    with pytest.raises(UnknownPopulation, match=r"failed to load.*'counts'.*ImportError"):
        load_registry(
            entry_points=[
                ep("counts", ImportError("boom")),
                ep("metrics", plugin([], [metric("base.share", "base.users")])),
            ],
            environ={},
        )


# Environment variables.


def two_plugins() -> list[Any]:
    return [ep("one", plugin([counting("one.a")])), ep("two", plugin([counting("two.a")]))]


def test_disable_plugins_skips_the_named_entry_points() -> None:
    registry = load_registry(
        entry_points=two_plugins(), environ={"THREEML_DISABLE_PLUGINS": " two , nothing"}
    )
    assert registry.names() == ("one.a",)
    assert registry.disabled == ("two",)
    assert registry.failures == ()


def test_no_plugins_loads_no_entry_points_but_still_the_explicit_ones() -> None:
    registry = load_registry(
        entry_points=two_plugins(),
        environ={"THREEML_NO_PLUGINS": "1"},
        extra_plugins=[("mine", plugin([counting("mine.a")]))],
    )
    assert registry.no_plugins
    assert registry.names() == ("mine.a",)


def test_no_plugins_set_to_zero_loads_them() -> None:
    registry = load_registry(entry_points=two_plugins(), environ={"THREEML_NO_PLUGINS": "0"})
    assert registry.names() == ("one.a", "two.a")
    assert not registry.no_plugins


def test_no_plugins_does_not_even_import_them() -> None:
    registry = load_registry(
        entry_points=[ep("broken", ImportError("boom"))], environ={"THREEML_NO_PLUGINS": "yes"}
    )
    assert registry.failures == ()


# Lookups.


@pytest.fixture
def registry() -> Registry:
    return load_registry(
        entry_points=[
            ep(
                "acme",
                plugin(
                    [counting("acme.heartbeat-7d"), counting("acme.heartbeat-28d")],
                    [metric("acme.heartbeat-share", "acme.heartbeat-7d")],
                ),
            )
        ],
        environ={},
    )


def test_unknown_counting_name_suggests_the_closest(registry: Registry) -> None:
    with pytest.raises(UnknownDefinition) as raised:
        registry.counting("acme.heartbeat-7")
    assert isinstance(raised.value, ThreemlError)
    assert isinstance(raised.value, LookupError)
    assert "no counting definition named 'acme.heartbeat-7'" in str(raised.value)
    assert "did you mean 'acme.heartbeat-7d'" in str(raised.value)


def test_name_of_the_other_kind_says_so(registry: Registry) -> None:
    with pytest.raises(UnknownDefinition, match="is a metric definition, not a counting"):
        registry.counting("acme.heartbeat-share")
    with pytest.raises(UnknownDefinition, match="is a counting definition, not a metric"):
        registry.metric("acme.heartbeat-7d")


def test_unknown_name_with_nothing_close_says_how_to_list(registry: Registry) -> None:
    with pytest.raises(UnknownDefinition, match="`threeml definitions` lists the 3"):
        registry.definition("zzz")


def test_lookup_in_an_empty_registry_explains_why() -> None:
    empty = load_registry(entry_points=two_plugins(), environ={"THREEML_NO_PLUGINS": "1"})
    with pytest.raises(UnknownDefinition, match="THREEML_NO_PLUGINS is set"):
        empty.definition("one.a")


def test_definition_finds_either_kind(registry: Registry) -> None:
    assert isinstance(registry.definition("acme.heartbeat-7d"), CountingDefinition)
    assert isinstance(registry.definition("acme.heartbeat-share"), MetricDefinition)
    assert [d.name for d in registry.definitions()] == list(registry.names())


# Ad-hoc definitions.


def test_with_definitions_adds_file_definitions_and_leaves_the_original(registry) -> None:
    extended = registry.with_definitions(
        counting("local.census"), metric("local.share", "local.census")
    )
    assert extended.counting("local.census").source == Source("file")
    assert extended.metric("local.share").source == Source("file")
    assert "local.census" not in registry
    assert extended.plugins == registry.plugins


def test_with_definitions_records_a_given_source(registry: Registry) -> None:
    source = Source("notebook")
    extended = registry.with_definitions(counting("local.census"), source=source)
    assert extended.counting("local.census").source == source


def test_with_definitions_conflicting_with_a_plugin_names_the_plugin(registry) -> None:
    with pytest.raises(RegistryConflict) as raised:
        registry.with_definitions(counting("acme.heartbeat-7d", days=3))
    message = str(raised.value)
    assert "acme-dist 1.0 (plugin 'acme')" in message
    assert "a definition file" in message
    assert "THREEML_DISABLE_PLUGINS=acme" in message


def test_with_definitions_accepts_an_identical_copy(registry: Registry) -> None:
    extended = registry.with_definitions(counting("acme.heartbeat-7d"))
    assert extended.counting("acme.heartbeat-7d").source.plugin == "acme"
    assert extended.sources("acme.heartbeat-7d")[1] == Source("file")


def test_with_definitions_checks_metric_populations(registry: Registry) -> None:
    with pytest.raises(UnknownPopulation, match=re.escape("'local.share' from a definition file")):
        registry.with_definitions(metric("local.share", "acme.heartbeat-7"))


def test_empty_registry_can_be_extended() -> None:
    assert Registry().with_definitions(counting("x.one")).names() == ("x.one",)


# The default registry.


def test_default_registry_is_cached_and_can_be_reset(monkeypatch) -> None:
    monkeypatch.setenv("THREEML_NO_PLUGINS", "1")
    reset_default_registry()
    try:
        first = default_registry()
        assert default_registry() is first
        assert first.no_plugins
        monkeypatch.delenv("THREEML_NO_PLUGINS")
        assert default_registry() is first
        reset_default_registry()
        assert default_registry() is not first
        assert not default_registry().no_plugins
    finally:
        reset_default_registry()


# Measure kinds.


class FakeKind:
    """A measure kind that evaluates nothing: enough to be registered."""

    def __init__(self, kind: str, flavour: str = "plain") -> None:
        self.kind = kind
        self.flavour = flavour

    def evaluate(self, context: Any) -> Any:  # pragma: no cover - never evaluated here
        raise NotImplementedError


def measured_metric(name: str, population: str, kind: str) -> MetricDefinition:
    return attrs.evolve(metric(name, population), measure=Measure(kind))


def kinds_plugin(kinds: Any, counting_: Any = (), metrics: Any = None) -> Any:
    return plugin(counting_, metrics, threeml_measure_kinds=returning(kinds))


def test_the_builtin_proportion_kind_is_always_registered() -> None:
    from threeml.metrics.measures import Proportion

    for registry in (Registry(), load_registry(entry_points=[], environ={})):
        assert isinstance(registry.measure_kind("proportion"), Proportion)
        assert registry.measure_kind_sources("proportion")[0].distribution == "threeml"
        assert list(registry.measure_kinds()) == ["proportion"]


def test_measure_kinds_are_attributed_to_their_plugin() -> None:
    registry = load_registry(
        entry_points=[
            ep(
                "acme",
                kinds_plugin(
                    [FakeKind("acme-rate"), FakeKind("acme-share")],
                    [counting("acme.pop")],
                    [measured_metric("acme.rate", "acme.pop", "acme-rate")],
                ),
                "acme-metrics",
                "2.0",
            )
        ],
        environ={},
    )
    assert registry.failures == ()
    assert list(registry.measure_kinds()) == ["acme-rate", "acme-share", "proportion"]
    assert registry.measure_kind_sources("acme-rate") == (Source("acme", "acme-metrics", "2.0"),)
    assert registry.plugins[0].measure_kinds == ("acme-rate", "acme-share")
    assert registry.metric("acme.rate").measure.kind == "acme-rate"


def test_a_metric_may_use_a_kind_from_another_plugin() -> None:
    registry = load_registry(
        entry_points=[
            ep("kinds", kinds_plugin([FakeKind("shared-rate")])),
            ep(
                "metrics",
                plugin([counting("m.pop")], [measured_metric("m.r", "m.pop", "shared-rate")]),
            ),
        ],
        environ={},
    )
    assert registry.metric("m.r").measure.kind == "shared-rate"


def test_metric_whose_kind_is_not_installed_fails_naming_metric_and_plugin() -> None:
    from threeml.plugins.registry import UnknownMeasureKind

    with pytest.raises(UnknownMeasureKind) as raised:
        load_registry(
            entry_points=[
                ep("kinds", kinds_plugin([FakeKind("before-after")])),
                ep(
                    "metrics",
                    plugin(
                        [counting("m.pop")], [measured_metric("m.ba", "m.pop", "before-afterr")]
                    ),
                    "m-dist",
                    "0.2",
                ),
            ],
            environ={},
        )
    message = str(raised.value)
    assert isinstance(raised.value, ThreemlError)
    assert "metric 'm.ba'" in message
    assert "plugin 'metrics'" in message
    assert "m-dist 0.2" in message
    assert "'before-afterr'" in message
    assert "did you mean 'before-after'" in message


def test_unknown_kind_mentions_the_plugin_that_failed_to_load_and_disabled_ones() -> None:
    from threeml.plugins.registry import UnknownMeasureKind

    with pytest.raises(UnknownMeasureKind, match=r"failed to load.*'kinds'.*ImportError"):
        load_registry(
            entry_points=[
                ep("kinds", ImportError("boom")),
                ep("metrics", plugin([counting("m.pop")], [measured_metric("m.x", "m.pop", "x")])),
            ],
            environ={},
        )
    with pytest.raises(UnknownMeasureKind, match="THREEML_DISABLE_PLUGINS switched off kinds"):
        load_registry(
            entry_points=[
                ep("kinds", kinds_plugin([FakeKind("x")])),
                ep("metrics", plugin([counting("m.pop")], [measured_metric("m.x", "m.pop", "x")])),
            ],
            environ={"THREEML_DISABLE_PLUGINS": "kinds"},
        )


def test_two_plugins_with_different_kinds_under_one_name_is_an_error_naming_both() -> None:
    with pytest.raises(RegistryConflict) as raised:
        load_registry(
            entry_points=[
                ep("acme", kinds_plugin([FakeKind("rate", "a")]), "acme-metrics", "1.1"),
                ep("bravo", kinds_plugin([FakeKind("rate", "b")]), "bravo-metrics", "0.3"),
            ],
            environ={},
        )
    message = str(raised.value)
    assert "measure kinds are named 'rate'" in message
    assert "acme-metrics 1.1" in message
    assert "bravo-metrics 0.3" in message
    assert "THREEML_DISABLE_PLUGINS=acme" in message
    assert "THREEML_DISABLE_PLUGINS=bravo" in message


def test_equal_kinds_from_two_plugins_are_accepted_and_both_sources_remembered() -> None:
    same = FakeKind("rate")
    registry = load_registry(
        entry_points=[
            ep("zulu", kinds_plugin([same]), "zulu-dist"),
            ep("alpha", kinds_plugin([FakeKind("rate")]), "alpha-dist"),
        ],
        environ={},
    )
    assert [s.plugin for s in registry.measure_kind_sources("rate")] == ["alpha", "zulu"]


def test_a_plugin_may_not_replace_the_builtin_proportion() -> None:
    with pytest.raises(RegistryConflict, match=r"'proportion'.*threeml .*built in.*acme-dist"):
        load_registry(
            entry_points=[ep("acme", kinds_plugin([FakeKind("proportion")]), "acme-dist")],
            environ={},
        )


@pytest.mark.parametrize(
    ("returned", "expected"),
    [
        (None, "returned None"),
        ("rate", "returned str"),
        ([object()], "not a measure kind"),
        ([types.SimpleNamespace(kind="rate")], "not a measure kind"),
        ([FakeKind("Not A Name")], "not a valid name"),
        ([FakeKind("rate", "a"), FakeKind("rate", "b")], "two different measure kinds"),
    ],
)
def test_kind_hook_returning_something_wrong_leaves_the_whole_plugin_out(
    returned: Any, expected: str
) -> None:
    registry = load_registry(
        entry_points=[
            ep("bad", kinds_plugin(returned, [counting("bad.one")])),
            ep("good", plugin([counting("good.one")])),
        ],
        environ={},
    )
    assert (
        "threeml_measure_kinds" in failure(registry, "bad").error
        or expected in failure(registry, "bad").error
    )
    assert expected in failure(registry, "bad").error
    assert registry.names() == ("good.one",)
    assert list(registry.measure_kinds()) == ["proportion"]


def test_kind_hook_that_raises_is_reported() -> None:
    def explode() -> Any:
        raise RuntimeError("no kinds today")

    registry = load_registry(
        entry_points=[ep("flaky", plugin([counting("f.one")], threeml_measure_kinds=explode))],
        environ={},
    )
    assert (
        "threeml_measure_kinds raised RuntimeError: no kinds today"
        in failure(registry, "flaky").error
    )


def test_misspelled_kind_hook_suggests_the_right_name() -> None:
    typo = types.SimpleNamespace(threeml_measure_kind=hookimpl(returning([FakeKind("x")])))
    registry = load_registry(entry_points=[ep("typo", typo)], environ={})
    assert "did you mean 'threeml_measure_kinds'" in failure(registry, "typo").error


def test_unknown_kind_lookup_suggests_the_closest() -> None:
    from threeml.plugins.registry import UnknownMeasureKind

    with pytest.raises(UnknownMeasureKind, match="did you mean 'proportion'"):
        Registry().measure_kind("proportio")


def test_with_definitions_checks_measure_kinds_and_with_measure_kinds_adds_them() -> None:
    from threeml.plugins.registry import UnknownMeasureKind

    base = Registry().with_definitions(counting("x.pop"))
    with pytest.raises(UnknownMeasureKind, match=re.escape("metric 'x.m' from a definition file")):
        base.with_definitions(measured_metric("x.m", "x.pop", "x-rate"))
    extended = base.with_measure_kinds(FakeKind("x-rate"))
    assert extended.measure_kind_sources("x-rate") == (Source("file"),)
    assert extended.with_definitions(measured_metric("x.m", "x.pop", "x-rate")).metric("x.m")
    with pytest.raises(RegistryConflict, match="measure kinds are named 'x-rate'"):
        extended.with_measure_kinds(FakeKind("x-rate", "other"), source=Source("nb"))
