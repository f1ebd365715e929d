"""Assembling a registry: contributions added under their names, with the conflicts and the
checks that tie definitions to kinds (:func:`assemble`, used by
:class:`threeml.plugins.store.Registry` and the loader)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from threeml.definitions import CountingDefinition, MetricDefinition, Source
from threeml.definitions.kinds import CriterionKind
from threeml.plugins.contributions import BY_KEY, CONTRIBUTIONS
from threeml.plugins.errors import (
    RegistryConflict,
    RegistryError,
    UnknownCriterionKind,
    UnknownMeasureKind,
    UnknownPopulation,
)
from threeml.plugins.messages import (
    BUILTIN_SOURCE,
    DISABLE_VARIABLE,
    closest,
    definition_conflict,
    describe_source,
    either,
    kind_conflict,
)

if TYPE_CHECKING:
    from threeml.plugins.store import Registry

__all__ = ["STANDARD_DISTRIBUTIONS", "assemble"]


# Assembling: names, conflicts and the checks that tie definitions to kinds.


def assemble(
    base: Registry, added: Iterable[tuple[str, Any, Source]], *, diagnose: bool = False
) -> Registry:
    """``base`` with contributions added, as ``(key, item, source)``; raises on a conflict, a
    metric whose population or measure kind is missing, or a criterion of an unknown kind.

    With ``diagnose``, those problems are recorded in :attr:`Registry.problems` instead (a
    clashing contribution is left out) so that ``threeml plugins`` can still show them.
    """
    items = {key: dict(found) for key, found in base._items.items()}
    origins = {key: {n: list(s) for n, s in found.items()} for key, found in base._origins.items()}
    entry_points = {p.name for p in base.plugins if p.entry_point is not None}
    problems = list(base.problems)
    for key, item, source in added:
        contribution = BY_KEY[key]
        name = contribution.name_of(item)
        holder = next(
            (
                c.key
                for c in CONTRIBUTIONS
                if c.space == contribution.space and name in items[c.key]
            ),
            None,
        )
        if holder is None:
            items[key][name] = item
            origins[key][name] = [source]
            continue
        existing = items[holder][name]
        if holder == key and contribution.same(existing, item):
            if source not in origins[key][name]:
                origins[key][name].append(source)
                _prefer_standard(items[key], origins[key], name, contribution.stamped)
            continue
        if contribution.stamped:
            clash = RegistryConflict(definition_conflict(entry_points, existing, item))
        else:
            clash = RegistryConflict(
                kind_conflict(
                    entry_points,
                    name,
                    origins[key][name][0],
                    source,
                    contribution.plural,
                    contribution.noun,
                    f"with_{key}",
                )
            )
        if not diagnose:
            raise clash
        problems.append(str(clash))
    checks = (
        lambda: _check_populations(base, items["counting"], items["metrics"]),
        lambda: _check_measure_kinds(base, items["measure_kinds"], items["metrics"]),
        lambda: _check_criterion_kinds(base, items["criterion_kinds"], items["counting"]),
    )
    for check in checks:
        try:
            check()
        except RegistryError as error:
            if not diagnose:
                raise
            problems.append(str(error))
    return attrs.evolve(
        base,
        items=items,
        origins={key: {n: tuple(s) for n, s in found.items()} for key, found in origins.items()},
        problems=problems,
    )


#: The distributions that ship threeml's standard definitions. When an identical copy of a
#: definition also comes from another distribution, the copy is remembered as a further source
#: but never becomes the definition's listed source.
STANDARD_DISTRIBUTIONS = frozenset({"threeml", "threeml-counting", "threeml-integrated-care"})


def _standard(source: Source) -> bool:
    return source == BUILTIN_SOURCE or source.distribution in STANDARD_DISTRIBUTIONS


def _prefer_standard(
    items: dict[str, Any],
    origins: dict[str, list[Source]],
    name: str,
    stamped: bool,
) -> None:
    """Put a standard distribution's source first among the sources of equal contributions."""
    sources = origins[name]
    if _standard(sources[0]) or not _standard(sources[-1]):
        return
    sources.insert(0, sources.pop())
    if stamped:
        items[name] = attrs.evolve(items[name], source=sources[0])


def _check_measure_kinds(
    base: Registry, kinds: Mapping[str, Any], metrics: Mapping[str, MetricDefinition]
) -> None:
    problems = []
    for name in sorted(metrics):
        metric = metrics[name]
        kind = metric.measure.kind
        if kind in kinds:
            continue
        problem = (
            f"metric {name!r} from {describe_source(metric.source)} uses measure kind "
            f"{kind!r}, which no loaded plugin supplies (installed kinds: "
            f"{', '.join(sorted(kinds))})"
        )
        close = closest(kind, kinds)
        if close:
            problem += f"; did you mean {either(close)}?"
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
            f"metric {name!r} from {describe_source(metric.source)} has population "
            f"{metric.population!r}, which is not a registered counting definition"
        )
        if metric.population in metrics:
            problem += " (it is a metric)"
        close = closest(metric.population, counting)
        if close:
            problem += f"; did you mean {either(close)}?"
        problems.append(problem)
    _refuse(base, problems, UnknownPopulation)


def _check_criterion_kinds(
    base: Registry,
    kinds: Mapping[str, CriterionKind],
    counting: Mapping[str, CountingDefinition],
) -> None:
    problems = []
    for name in sorted(counting):
        definition = counting[name]
        for criterion in definition.criteria:
            kind = kinds.get(criterion.kind)
            if kind is not None and kind.criterion is type(criterion):
                continue
            problems.append(
                f"counting definition {name!r} from {describe_source(definition.source)} uses "
                f"a criterion of kind {criterion.kind!r} ({type(criterion).__qualname__}), which "
                "no loaded plugin supplies as a criterion kind (installed kinds: "
                f"{', '.join(sorted(kinds))})"
            )
    _refuse(base, problems, UnknownCriterionKind)


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
