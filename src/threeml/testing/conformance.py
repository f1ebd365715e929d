"""The conformance check a plugin author runs on their own definitions.

:func:`check_definition` asserts what every definition threeml lists beside the
standard ones should satisfy, and fails with an :class:`AssertionError` that
says precisely what is wrong:

1. **documented** (:func:`check_documented`): a title, a description, an
   origin and a version; every criterion is one of threeml's kinds and
   describes itself in words (a ``query`` criterion has a description); no
   criterion is repeated;
2. **serialisable** (:func:`check_round_trip`): the definition writes to JSON
   and TOML and reads back equal, with the same parameters and origin, and
   writes the same text again (a definition with a ``query`` criterion, a
   Python function, is not written to files and is not checked);
3. **evaluable and right** (:func:`check_evaluation`): on random small datasets
   and periods (:mod:`threeml.testing.strategies`, drawn by Hypothesis), a
   counting definition evaluates on the engine without error and agrees with
   the pure-Python reference evaluator on who counts, the first criterion each
   unit fails, the count, people and records, both forms of attrition and the
   breakdown by area; a metric evaluates, publishes under the default
   disclosure policy, and never gives NaN or a missing value without a reason;
4. its **worked examples** (spec cases), when given, count exactly the
   expected members (:func:`threeml.testing.check_spec_case`).

When Hypothesis finds a dataset that fails, it shrinks it first, and the
message includes Python code rebuilding it with
:func:`threeml.testing.make_dataset`, ready to paste into a test.

:func:`check_plugin` runs all of this on every definition a plugin supplies
(and its ``SPEC_CASES``), after checking that the plugin loads.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

    from threeml.definitions import CountingDefinition, MetricDefinition
    from threeml.definitions.speccase import SpecCase
    from threeml.plugins.registry import Registry
    from threeml.records.periods import Period

    Definition = CountingDefinition | MetricDefinition

from threeml.testing.agreement import Resolver as _Resolver
from threeml.testing.agreement import check_counting as _check_counting
from threeml.testing.agreement import check_metric as _check_metric
from threeml.testing.documented import check_documented as check_documented
from threeml.testing.documented import check_round_trip as check_round_trip

__all__ = [
    "DEFAULT_EXAMPLES",
    "check_definition",
    "check_definitions",
    "check_documented",
    "check_evaluation",
    "check_plugin",
    "check_round_trip",
]

#: Random datasets tried per call, before scaling by ``THREEML_HYPOTHESIS_SCALE``.
DEFAULT_EXAMPLES = 20

#: New examples the shrinker may evaluate after the first failure (see check_evaluation).
SHRINK_BUDGET = 40


# 3. Evaluable, and in agreement with the reference evaluator.


def check_evaluation(
    definitions: Iterable[Definition],
    *,
    examples: int | None = None,
    registry: Registry | Any = None,
    extracts: SearchStrategy[Any] | None = None,
) -> None:
    """Assert the definitions evaluate on random datasets, in agreement with the reference.

    ``examples`` is how many random datasets to try (default :data:`DEFAULT_EXAMPLES`,
    scaled by ``THREEML_HYPOTHESIS_SCALE``); each dataset is evaluated against all the
    definitions at once. The examples are derandomised, so a run is repeatable.
    ``registry`` resolves ``member-of`` criteria and metric populations that are not
    among ``definitions`` (default: :func:`threeml.plugins.registry.default_registry`).
    ``extracts`` replaces the strategy of datasets: it must draw
    :class:`threeml.testing.strategies.Extract` values (default
    :func:`~threeml.testing.strategies.extracts`, with outcomes and allocations when
    a metric is checked). A metric is only evaluated on periods that start by the
    extract's date (metrics rightly refuse a period after the data ends). Needs Hypothesis.
    """
    from threeml.testing import strategies as ts  # first: it says how to install Hypothesis

    from hypothesis import HealthCheck, Phase, Verbosity, given, settings  # isort: skip
    from hypothesis import strategies as st  # isort: skip

    from threeml.definitions import CountingDefinition, MetricDefinition

    definitions = list(definitions)
    counting = [d for d in definitions if isinstance(d, CountingDefinition)]
    metrics = [d for d in definitions if isinstance(d, MetricDefinition)]
    if not definitions:
        return
    resolver = _Resolver(definitions, registry)
    source = extracts if extracts is not None else ts.extracts(with_outcomes=bool(metrics))

    @st.composite
    def scenarios(draw: st.DrawFn) -> tuple[Any, Period]:
        extract = draw(source)
        return extract, draw(ts.periods(extract))

    # Evaluation is deterministic, so each outcome is remembered by its example. Once an
    # example has failed, the shrinker may evaluate SHRINK_BUDGET new examples looking
    # for a smaller one; after that, new examples count as passing without being
    # evaluated, so shrinking ends in seconds rather than minutes, and the smallest
    # failure found so far is the one reported.
    outcomes: dict[str, BaseException | None] = {}
    budget = {"left": SHRINK_BUDGET, "failed": False}

    @settings(
        max_examples=ts.examples(DEFAULT_EXAMPLES if examples is None else examples),
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
        # The failure's own message shows the dataset as make_dataset code; Hypothesis's
        # report of the same example, as records, would only repeat it at length.
        verbosity=Verbosity.quiet,
        phases=[phase for phase in Phase if phase is not Phase.explain],
    )
    @given(scenarios())
    def evaluate(scenario: tuple[Any, Period]) -> None:
        extract, period = scenario
        key = f"{period}\n{extract.as_code() if hasattr(extract, 'as_code') else extract!r}"
        if key in outcomes:
            remembered = outcomes[key]
            if remembered is not None:
                raise remembered
            return
        if budget["failed"]:
            if budget["left"] <= 0:
                return
            budget["left"] -= 1
        try:
            _evaluate_one(counting, metrics, resolver, extract, period)
        except Exception as error:
            outcomes[key] = error
            budget["failed"] = True
            raise
        outcomes[key] = None

    evaluate()


def _evaluate_one(
    counting: Sequence[CountingDefinition],
    metrics: Sequence[MetricDefinition],
    resolver: _Resolver,
    extract: Any,
    period: Period,
) -> None:
    dataset = extract.dataset()
    if counting:
        _check_counting(counting, resolver, extract, dataset, period)
    if dataset.extract_date is not None and period.start > dataset.extract_date:
        return  # metrics refuse a period after the extract's end, rightly
    for metric in metrics:
        _check_metric(metric, resolver, extract, dataset, period)


# All of it.


def check_definitions(
    definitions: Iterable[Definition],
    *,
    examples: int | None = None,
    registry: Registry | Any = None,
    extracts: SearchStrategy[Any] | None = None,
    spec_cases: Iterable[SpecCase] = (),
) -> None:
    """:func:`check_definition` for several definitions, sharing the random datasets."""
    from threeml.definitions.kinds import criterion_classes
    from threeml.testing.speccases import check_spec_case

    definitions = list(definitions)
    resolver = _Resolver(definitions, registry)
    installed = criterion_classes(resolver)
    for definition in definitions:
        check_documented(definition, criteria=installed)
        check_round_trip(definition, criteria=installed)
    for case in spec_cases:
        check_spec_case(case, resolver.counting(case.definition), registry=resolver)
    check_evaluation(definitions, examples=examples, registry=registry, extracts=extracts)


def check_definition(
    definition: Definition,
    *,
    examples: int | None = None,
    registry: Registry | Any = None,
    extracts: SearchStrategy[Any] | None = None,
    spec_cases: Iterable[SpecCase] = (),
) -> None:
    """Assert that ``definition`` conforms: documented, serialisable, evaluable and right.

    See the module documentation for what is checked. ``examples`` is how many random
    datasets to try (default 20, scaled by ``THREEML_HYPOTHESIS_SCALE``); ``registry``
    resolves the names it refers to (``member-of``, a metric's population; default: the
    installed plugins); ``extracts`` replaces the strategy of random extracts;
    ``spec_cases`` are worked examples that must count exactly their expected members
    (cases of other definitions are checked too, so pass only the relevant ones).
    Raises :class:`AssertionError` saying what is wrong.
    """
    check_definitions(
        [definition],
        examples=examples,
        registry=registry,
        extracts=extracts,
        spec_cases=spec_cases,
    )


def _module_name(plugin: Any) -> str | None:
    if isinstance(plugin, type(sys)):
        return plugin.__name__
    return getattr(plugin, "__module__", None)


def _plugin_registry(name: str, plugin: Any) -> Registry:
    """The plugin alone; or, when it needs other plugins' definitions, with the installed ones."""
    import importlib.metadata

    from threeml.plugins.registry import (
        ENTRY_POINT_GROUP,
        UnknownMeasureKind,
        UnknownPopulation,
        load_registry,
    )

    try:
        return load_registry(entry_points=[], environ={}, extra_plugins=[(name, plugin)])
    except (UnknownPopulation, UnknownMeasureKind):
        pass
    module = _module_name(plugin)
    others = [
        ep
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
        if ep.value.partition(":")[0] != module
    ]
    return load_registry(entry_points=others, environ={}, extra_plugins=[(name, plugin)])


def check_plugin(
    plugin: Any,
    *,
    examples: int | None = None,
    extracts: SearchStrategy[Any] | None = None,
) -> Registry:
    """Assert that a plugin loads and every definition it supplies conforms.

    ``plugin`` is a plugin module (or object with ``@hookimpl`` functions), a
    ``(name, plugin)`` pair, or a :class:`~threeml.plugins.registry.Registry`, whose every
    definition is checked. A plugin is loaded on its own, as
    :func:`threeml.plugins.registry.load_registry` loads ``extra_plugins``; when its metrics
    need another plugin's populations or measure kinds, the installed plugins are
    loaded beside it. Then it must have loaded without failure and supply at least
    one definition or measure kind, its ``SPEC_CASES`` (when it has them) must name
    registered definitions and count their expected members, and every definition
    must pass :func:`check_definition` (sharing the random datasets).

    Returns the registry the plugin was checked in.
    """
    from threeml.plugins.registry import Registry
    from threeml.testing.speccases import plugin_spec_cases, spec_cases_of

    if isinstance(plugin, Registry):
        if plugin.failures:
            failures = "; ".join(f.describe() for f in plugin.failures)
            raise AssertionError(f"plugins failed to load: {failures}")
        cases = [c for found in plugin_spec_cases(plugin).values() for c in found]
        check_definitions(
            plugin.definitions(),
            examples=examples,
            registry=plugin,
            extracts=extracts,
            spec_cases=cases,
        )
        return plugin
    if isinstance(plugin, tuple) and len(plugin) == 2 and isinstance(plugin[0], str):
        name, plugin = plugin
    else:
        name = getattr(plugin, "__name__", None) or type(plugin).__name__
    try:
        registry = _plugin_registry(name, plugin)
    except Exception as error:
        raise AssertionError(
            f"plugin {name!r}: the registry cannot be built with it: "
            f"{type(error).__name__}: {error}"
        ) from error
    failures = [f for f in registry.failures if f.name == name]
    if failures:
        raise AssertionError(f"plugin {name!r} failed to load: {failures[0].error}")
    (info,) = [p for p in registry.plugins if p.name == name]
    if not info.definitions and not info.measure_kinds:
        raise AssertionError(
            f"plugin {name!r} supplies no definitions and no measure kinds: does it implement "
            "threeml_counting_definitions or threeml_metric_definitions, marked @hookimpl?"
        )
    cases = spec_cases_of(plugin)
    strangers = sorted({c.definition for c in cases if c.definition not in registry})
    if strangers:
        raise AssertionError(
            f"plugin {name!r}: SPEC_CASES name definitions that are not registered: "
            f"{', '.join(strangers)}"
        )
    check_definitions(
        [registry.definition(n) for n in info.definitions],
        examples=examples,
        registry=registry,
        extracts=extracts,
        spec_cases=cases,
    )
    return registry
