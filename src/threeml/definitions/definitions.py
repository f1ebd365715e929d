"""Counting and metric definitions: named, versioned, frozen values.

A :class:`CountingDefinition` says who counts as a user (or which enrolments
count as connections) as an ordered list of criteria, so its attrition reads in
order. A :class:`MetricDefinition` names its population (a counting definition,
by name) and a :class:`Measure` that says what is measured over it.

Definitions are data: they list, render, compare, serialise to JSON and TOML and
load from files. Where a definition came from (plugin, distribution, version)
is recorded by the registry in :attr:`CountingDefinition.source`, which is not
part of its identity.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import attrs
from attrs import field, frozen

from threeml.definitions.criteria import Criterion
from threeml.records.codes import Unit

__all__ = ["CountingDefinition", "Measure", "MetricDefinition", "Source", "check_name"]

_NAME = re.compile(r"^[a-z][a-z0-9]*([.-][a-z0-9]+)*$")


def check_name(instance: Any, attribute: attrs.Attribute, value: str) -> None:
    """Names are lower case words joined by dots or hyphens, such as ``active-telehealth``."""
    if not _NAME.match(value):
        raise ValueError(
            f"{value!r} is not a valid definition name: use lower-case letters and digits, "
            "joined by '-' or '.' (for example 'active-telehealth' or 'acme.heartbeat-7d')"
        )


def _version(value: Any) -> Any:
    """Whole numbers become text (``1`` is version ``"1"``); anything else is checked as is."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def check_version(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    """A version is non-empty text such as ``"1.10"``: never a float (``1.10`` would read as
    ``1.1``), a boolean or blank."""
    if isinstance(value, str) and value.strip():
        return
    what = "an empty text" if isinstance(value, str) else f"{type(value).__name__} {value!r}"
    raise ValueError(
        f"definition {instance.name!r} has version {value!r} ({what}); write the version as "
        'non-empty text in quotes, such as version = "1.10"'
    )


def check_description(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    """A description is non-empty text: the catalogue shows it to every reader."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(
            f"definition {instance.name!r} has {attribute.name} {value!r}; give it a "
            f"non-empty {attribute.name} (it is what `threeml definitions` and the docs show)"
        )


def _criteria(values: Any) -> tuple[Criterion, ...]:
    values = tuple(values)
    for value in values:
        if not isinstance(value, Criterion):
            raise TypeError(f"a definition's criteria must be criteria, got {value!r}")
    return values


@frozen
class Source:
    """Where a registered definition came from."""

    plugin: str
    distribution: str | None = None
    version: str | None = None
    #: The definition file it was read from (plugin ``"file"``), as the user named it.
    path: str | None = None

    def describe(self) -> str:
        if self.path:
            return f"file {self.path}"
        if self.distribution:
            return f"{self.distribution} {self.version or ''}".strip() + f" (plugin {self.plugin})"
        return f"plugin {self.plugin}"


@frozen
class CountingDefinition:
    """Who counts: an ordered list of criteria, all of which a unit must pass.

    ``unit`` is ``users`` (distinct people) or ``enrolments`` (connections, the
    2012 headline's unit). ``parameters`` names the numbers a reader may want to
    vary (the 28 days of *active*), for display; :meth:`with_criterion` makes a
    variant without copying the rest.
    """

    name: str = field(validator=check_name)
    version: str = field(converter=_version, validator=check_version)
    title: str
    description: str = field(validator=check_description)
    criteria: tuple[Criterion, ...] = field(converter=_criteria)
    unit: Unit = field(default=Unit.USERS, converter=Unit)
    origin: str = ""
    parameters: Mapping[str, Any] = field(factory=dict, converter=dict, eq=False, hash=False)
    source: Source | None = field(default=None, eq=False, hash=False, repr=False)

    @criteria.validator
    def _check_criteria(self, attribute: attrs.Attribute, value: tuple[Criterion, ...]) -> None:
        if not value:
            raise ValueError(f"definition {self.name!r} needs at least one criterion")

    def with_criterion(
        self,
        index: int,
        criterion: Criterion,
        *,
        name: str | None = None,
        version: str | None = None,
    ) -> CountingDefinition:
        """A variant with criterion ``index`` replaced (and, optionally, a new name)."""
        criteria = list(self.criteria)
        criteria[index] = criterion
        return attrs.evolve(
            self,
            criteria=tuple(criteria),
            name=name or self.name,
            version=version or self.version,
            source=None,
        )

    def variant(self, *, name: str, **changes: Any) -> CountingDefinition:
        """A variant with the criteria's parameters changed by keyword, e.g. ``count=6``.

        Every criterion that has an attribute of that name gets the new value, so
        ``active_telehealth.variant(name="active-telehealth-6", count=6)`` needs no copying.
        """
        criteria = []
        used: set[str] = set()
        for criterion in self.criteria:
            fields = {f.name for f in attrs.fields(type(criterion))}
            mine = {k: v for k, v in changes.items() if k in fields}
            used.update(mine)
            criteria.append(attrs.evolve(criterion, **mine) if mine else criterion)
        unknown = set(changes) - used
        if unknown:
            raise ValueError(
                f"no criterion of {self.name} has a parameter {', '.join(sorted(unknown))}"
            )
        return attrs.evolve(self, name=name, criteria=tuple(criteria), source=None)

    def describe(self) -> str:
        """The definition as readable text, criteria numbered in order."""
        lines = [f"{self.name} (version {self.version}, counts {self.unit.value}): {self.title}"]
        lines += [f"  {i}. {c.describe()}" for i, c in enumerate(self.criteria, start=1)]
        return "\n".join(lines)


@frozen
class Measure:
    """What a metric measures: a measure kind (registered by the metrics plugin) and its options.

    The kinds are ``proportion``, ``rate``, ``before-after``, ``median``, ``share``,
    ``progress-to-target`` and ``arm-comparison``; their exact semantics live
    with the plugin that evaluates them.
    """

    kind: str
    options: Mapping[str, Any] = field(factory=dict, converter=dict, hash=False)


@frozen
class MetricDefinition:
    """What changed for a population: a measure over a counting definition, by name."""

    name: str = field(validator=check_name)
    version: str = field(converter=_version, validator=check_version)
    title: str
    description: str = field(validator=check_description)
    population: str
    measure: Measure
    higher_is_better: bool | None = None
    origin: str = ""
    source: Source | None = field(default=None, eq=False, hash=False, repr=False)

    def describe(self) -> str:
        direction = {True: "higher is better", False: "lower is better", None: "no direction"}
        return (
            f"{self.name} (version {self.version}): {self.title}\n"
            f"  population: {self.population}\n  measure: {self.measure.kind}"
            f" {dict(self.measure.options) or ''}\n  {direction[self.higher_is_better]}"
        )
