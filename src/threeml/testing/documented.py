"""Conformance checks that need no data: a definition is documented, and survives
serialisation (steps 1 and 2 of :mod:`threeml.testing.conformance`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from threeml.definitions import CountingDefinition, MetricDefinition

    Definition = CountingDefinition | MetricDefinition

__all__ = ["check_documented", "check_round_trip"]


def _fail(name: str, what: str, problems: Sequence[str]) -> None:
    if problems:
        body = "\n".join(f"  - {p}" for p in problems)
        raise AssertionError(f"{name}: {what}:\n{body}")


# 1. Documented.


def check_documented(definition: Definition, *, criteria: Mapping[str, type] | None = None) -> None:
    """Assert the definition says what it is: title, description, origin, version, criteria.

    ``criteria`` are the criterion classes installed, by kind (default: threeml's own; pass
    :func:`threeml.definitions.kinds.criterion_classes` of a registry for plugins' kinds).
    """
    from threeml.definitions import CRITERIA, CountingDefinition

    criteria = CRITERIA if criteria is None else criteria
    problems = []
    for field, advice in (
        ("title", "one line a reader sees in every listing"),
        ("description", "who counts (or what is measured), in plain words"),
        ("origin", "where the definition comes from: a decision, a contract, a paper"),
        ("version", "bump it whenever what it counts changes"),
    ):
        if not str(getattr(definition, field) or "").strip():
            problems.append(f"{field} is empty ({advice})")
    if isinstance(definition, CountingDefinition):
        kinds = set(criteria.values())
        for number, criterion in enumerate(definition.criteria, start=1):
            label = f"criterion {number} ({type(criterion).__name__})"
            if type(criterion) not in kinds:
                problems.append(
                    f"{label} is not one of the installed criterion kinds "
                    f"({', '.join(criteria)}), so it can be neither evaluated nor serialised"
                )
                continue
            try:
                text = criterion.describe()
            except Exception as error:
                problems.append(f"{label} cannot describe itself: {type(error).__name__}: {error}")
                continue
            if not isinstance(text, str) or not text.strip():
                problems.append(f"{label} does not describe itself in words")
            for earlier, other in enumerate(definition.criteria[: number - 1], start=1):
                if other == criterion:
                    problems.append(f"{label} repeats criterion {earlier}")
                    break
    else:
        if not definition.population.strip():
            problems.append("population is empty (name the counting definition it measures)")
        if not definition.measure.kind.strip():
            problems.append("measure kind is empty")
    _fail(definition.name, "not documented well enough", problems)


# 2. Serialisable.


def check_round_trip(definition: Definition, *, criteria: Mapping[str, type] | None = None) -> None:
    """Assert the definition writes to JSON and TOML and reads back unchanged.

    ``criteria`` as for :func:`check_documented`. A definition with a
    :class:`~threeml.definitions.Query` criterion (a Python function, Python API only) is
    not written to files, so it is not checked here.
    """
    from functools import partial

    from threeml.definitions import (
        CountingDefinition,
        Query,
        from_json,
        from_toml,
        to_json,
        to_toml,
    )

    if isinstance(definition, CountingDefinition) and any(
        isinstance(criterion, Query) for criterion in definition.criteria
    ):
        return

    problems = []
    for form, write, read in (
        ("JSON", to_json, partial(from_json, criteria=criteria)),
        ("TOML", to_toml, partial(from_toml, criteria=criteria)),
    ):
        try:
            text = write(definition)
        except Exception as error:
            problems.append(f"cannot be written as {form}: {type(error).__name__}: {error}")
            continue
        try:
            again = read(text)
        except Exception as error:
            problems.append(
                f"its {form} form cannot be read back ({type(error).__name__}: {error}):\n{text}"
            )
            continue
        if type(again) is not type(definition):
            problems.append(f"reads back from {form} as a {type(again).__name__}")
            continue
        for field in attrs.fields(type(definition)):
            if field.name == "source":
                continue  # recorded by the registry, never written
            before, after = getattr(definition, field.name), getattr(again, field.name)
            if before != after:
                problems.append(
                    f"{field.name} changes in a {form} round trip: {before!r} is read back "
                    f"as {after!r}"
                )
        if write(again) != text:
            problems.append(f"writes different {form} after a round trip")
    _fail(definition.name, "does not survive serialisation", problems)
