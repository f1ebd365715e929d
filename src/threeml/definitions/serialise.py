"""Definitions to and from plain data, JSON and TOML.

The plain-data form is what an analyst writes in a TOML file::

    type = "counting"
    name = "acme.heartbeat-7d"
    version = "1"
    title = "Pendant alarms with a heartbeat in the last 7 days"
    description = "..."
    unit = "users"

    [[criteria]]
    kind = "enrolment-overlaps"
    service_kinds = ["telecare"]

    [[criteria]]
    kind = "contacts-at-least"
    contact_kinds = ["heartbeat"]
    window = { last_days = 7 }

Fields left out take their defaults; unknown fields are errors, so a typo is
reported instead of silently ignored.

A file may use threeml's own criterion kinds (:data:`~threeml.definitions.criteria.CRITERIA`)
and, when the reader is given them, the kinds installed plugins supply: every reading function
takes ``criteria``, the criterion classes it may build by kind (default: threeml's own). The
command line and the registry pass every installed kind; a file naming a kind nobody installed
is an error listing the kinds there are.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import Any

import attrs
import tomli_w

from threeml.definitions.criteria import CRITERIA, Criterion, Query, Window
from threeml.definitions.definitions import CountingDefinition, Measure, MetricDefinition
from threeml.errors import ThreemlError

__all__ = [
    "DefinitionFileError",
    "from_data",
    "from_json",
    "from_toml",
    "load_definition",
    "to_data",
    "to_json",
    "to_toml",
]

Definition = CountingDefinition | MetricDefinition


class DefinitionFileError(ThreemlError, ValueError):
    """A definition could not be read from data, JSON or TOML."""


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, frozenset | set):
        return sorted(_plain(v) for v in value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, Window):
        return {} if value.last_days is None else {"last_days": value.last_days}
    if isinstance(value, Criterion):
        return criterion_to_data(value)
    return value


def criterion_to_data(criterion: Criterion) -> dict[str, Any]:
    """A criterion as plain data: its ``kind`` and every field that differs from the default."""
    if isinstance(criterion, Query):
        raise DefinitionFileError(
            f"the query criterion {criterion.name!r} ({criterion.description!r}) holds a "
            f"Python function and cannot be written to a file: definition files are data; "
            f"make the criterion an installed plugin's criterion kind to serialise it"
        )
    data: dict[str, Any] = {"kind": criterion.kind}
    for attribute in attrs.fields(type(criterion)):
        value = getattr(criterion, attribute.name)
        default = attribute.default
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            default = default.factory()
        if default is not attrs.NOTHING and value == default:
            continue
        data[attribute.name] = _plain(value)
    return data


def to_data(definition: Definition) -> dict[str, Any]:
    """A definition as plain data (dicts, lists, strings, numbers), without its source."""
    if isinstance(definition, CountingDefinition):
        data: dict[str, Any] = {
            "type": "counting",
            "name": definition.name,
            "version": definition.version,
            "title": definition.title,
            "description": definition.description,
            "unit": definition.unit.value,
        }
        if definition.origin:
            data["origin"] = definition.origin
        if definition.parameters:
            data["parameters"] = _plain(definition.parameters)
        data["criteria"] = [criterion_to_data(c) for c in definition.criteria]
        return data
    data = {
        "type": "metric",
        "name": definition.name,
        "version": definition.version,
        "title": definition.title,
        "description": definition.description,
        "population": definition.population,
        "measure": {"kind": definition.measure.kind, **_plain(definition.measure.options)},
    }
    if definition.higher_is_better is not None:
        data["higher_is_better"] = definition.higher_is_better
    if definition.origin:
        data["origin"] = definition.origin
    return data


def _build(cls: type, data: Mapping[str, Any], where: str) -> Any:
    known = {a.name for a in attrs.fields(cls) if a.name != "source"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise DefinitionFileError(
            f"{where}: unknown field(s) {', '.join(unknown)}; known fields are "
            f"{', '.join(sorted(known))}"
        )
    try:
        return cls(**data)
    except (TypeError, ValueError) as error:
        raise DefinitionFileError(f"{where}: {error}") from None


#: The criterion classes a reader may build, by kind.
CriterionClasses = Mapping[str, type[Criterion]]


def criterion_from_data(
    data: Mapping[str, Any],
    where: str = "criterion",
    *,
    criteria: CriterionClasses | None = None,
) -> Criterion:
    """A criterion from plain data with a ``kind``, one of ``criteria`` (default: threeml's)."""
    criteria = CRITERIA if criteria is None else criteria
    if not isinstance(data, Mapping) or "kind" not in data:
        raise DefinitionFileError(f"{where}: a criterion needs a 'kind' ({', '.join(criteria)})")
    fields = dict(data)
    kind = fields.pop("kind")
    if kind == Query.kind:
        raise DefinitionFileError(
            f"{where}: a definition file cannot use a 'query' criterion: files are data and "
            f"never name code to import; code comes only from installed plugins' criterion "
            f"kinds ({', '.join(k for k in criteria if k != Query.kind)})"
        )
    cls = criteria.get(kind)
    if cls is None:
        raise DefinitionFileError(
            f"{where}: unknown criterion kind {kind!r}; kinds are "
            f"{', '.join(k for k in criteria if k != Query.kind)}. "
            f"A plugin may supply it: install the plugin (`threeml plugins` lists the "
            f"installed ones) and read the file through threeml, which knows every installed kind"
        )
    if "window" in fields:
        window = fields["window"]
        if not isinstance(window, Mapping):
            raise DefinitionFileError(f"{where}: window is written {{ last_days = N }} or left out")
        fields["window"] = _build(Window, window, f"{where} window")
    return _build(cls, fields, f"{where} ({kind})")


def from_data(
    data: Mapping[str, Any],
    where: str = "definition",
    *,
    criteria: CriterionClasses | None = None,
) -> Definition:
    """A counting or metric definition from plain data.

    ``criteria`` are the criterion classes it may use, by kind (default: threeml's own,
    :data:`~threeml.definitions.criteria.CRITERIA`); pass a plugin's as well to read
    definitions using its kinds.
    """
    if not isinstance(data, Mapping):
        raise DefinitionFileError(f"{where}: expected a table of fields, got {type(data).__name__}")
    fields = dict(data)
    kind = fields.pop("type", "metric" if "measure" in fields else "counting")
    name = fields.get("name", "?")
    where = f"{where} {name}"
    if kind == "counting":
        listed = fields.get("criteria")
        if not isinstance(listed, list) or not listed:
            raise DefinitionFileError(f"{where}: needs a non-empty list of [[criteria]]")
        fields["criteria"] = tuple(
            criterion_from_data(c, f"{where}, criterion {i}", criteria=criteria)
            for i, c in enumerate(listed, 1)
        )
        return _build(CountingDefinition, fields, where)
    if kind == "metric":
        measure = fields.get("measure")
        if not isinstance(measure, Mapping) or "kind" not in measure:
            raise DefinitionFileError(f"{where}: needs a [measure] table with a 'kind'")
        options = dict(measure)
        fields["measure"] = Measure(kind=options.pop("kind"), options=options)
        return _build(MetricDefinition, fields, where)
    raise DefinitionFileError(f"{where}: type must be 'counting' or 'metric', not {kind!r}")


def to_json(definition: Definition) -> str:
    """A definition as JSON text."""
    return json.dumps(to_data(definition), indent=2, sort_keys=False)


def from_json(
    text: str, where: str = "JSON", *, criteria: CriterionClasses | None = None
) -> Definition:
    """A definition from JSON text (``criteria`` as for :func:`from_data`)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise DefinitionFileError(f"{where}: not valid JSON ({error})") from None
    return from_data(data, where, criteria=criteria)


def to_toml(definition: Definition) -> str:
    """A definition as TOML text."""
    return tomli_w.dumps(to_data(definition))


def from_toml(
    text: str, where: str = "TOML", *, criteria: CriterionClasses | None = None
) -> Definition:
    """A definition from TOML text (``criteria`` as for :func:`from_data`)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise DefinitionFileError(f"{where}: not valid TOML ({error})") from None
    return from_data(data, where, criteria=criteria)


def load_definition(path: str | Path, *, criteria: CriterionClasses | None = None) -> Definition:
    """Read a definition from a ``.toml`` or ``.json`` file (``criteria`` as for
    :func:`from_data`)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise DefinitionFileError(f"cannot read definition file {path}: {error}") from None
    if path.suffix.lower() == ".json":
        return from_json(text, str(path), criteria=criteria)
    return from_toml(text, str(path), criteria=criteria)
