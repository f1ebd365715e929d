"""``.. threeml-criteria::``: every criterion kind, threeml's own and the installed plugins',
with its fields, types and defaults (see :mod:`threeml.docs.sphinxext`)."""

from __future__ import annotations

import enum
import inspect
import json
import re
import sys
import typing
from typing import Any

import attrs
from docutils import nodes
from sphinx.util import logging

from threeml.docs.nodes import (
    _SectionDirective,
    _table,
)

__all__ = ["CriteriaDirective", "criterion_default", "criterion_type"]

logger = logging.getLogger(__name__)


def _words_of(name: str) -> str:
    """``ServiceKind`` -> ``service kind``."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", name).lower()


def criterion_type(hint: Any) -> str:
    """How a criterion field is written in a TOML or JSON file, in words."""
    from threeml.definitions import Window

    if typing.get_origin(hint) in (frozenset, set, list, tuple):
        (item,) = typing.get_args(hint)[:1]
        if isinstance(item, type) and issubclass(item, enum.Enum):
            values = ", ".join(member.value for member in item)
            return f"list of {_words_of(item.__name__)}s, each one of: {values}"
        if item is str:
            return "list of strings"
        return f"list of {getattr(item, '__name__', item)}"
    if hint is Window:
        return "table { last_days = N }, N at least 1"
    names = {int: "integer", float: "number", str: "string", bool: "true or false"}
    return names.get(hint, getattr(hint, "__name__", str(hint)))


def _literal(value: Any) -> str:
    """A plain value written as in a TOML file."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{k} = {_literal(v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    return str(value)


def criterion_default(attribute: attrs.Attribute) -> str:
    """A criterion field's default in words: ``required``, or its value when left out."""
    from threeml.definitions import Window

    default = attribute.default
    if default is attrs.NOTHING:
        return "required"
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        default = default.factory()
    if isinstance(default, Window) and default.last_days is None:
        return "the whole period"
    if isinstance(default, frozenset | set):
        if not default:
            return "[] (any)"
        default = sorted(getattr(v, "value", v) for v in default)
    if isinstance(default, Window):
        default = {"last_days": default.last_days}
    return _literal(getattr(default, "value", default))


class CriteriaDirective(_SectionDirective):
    """``.. threeml-criteria::``: one section per criterion kind, threeml's then plugins'."""

    has_content = False
    required_arguments = 0
    optional_arguments = 0

    def run(self) -> list[nodes.Node]:
        from threeml.definitions import CRITERIA
        from threeml.definitions.kinds import registered_kinds
        from threeml.plugins.registry import RegistryError, default_registry

        self.read_every_build()
        self.depend_on(
            [sys.modules["threeml.definitions.criteria"], sys.modules["threeml.records.codes"]]
        )
        try:
            kinds = registered_kinds(default_registry())
        except RegistryError as error:
            raise self.error(f"the criteria reference cannot be built: {error}") from None
        plugins = {
            name: kind.criterion
            for name, kind in sorted(kinds.items())
            if CRITERIA.get(name) is not kind.criterion
        }
        self.depend_on(plugins.values())
        return [self.render(kind, cls) for kind, cls in {**CRITERIA, **plugins}.items()]

    def render(self, kind: str, cls: type) -> nodes.section:
        from threeml.definitions import CRITERIA

        section = self.section(f"threeml-criterion-{kind}", [nodes.literal(kind, kind)])
        doc = inspect.cleandoc(cls.__doc__ or "")
        where = f"{cls.__module__}.{cls.__qualname__}"
        section += self.rst(doc, f"docstring of {where}")
        if CRITERIA.get(kind) is not cls:
            role = (
                f"Supplied by a plugin, as ``{where}``: installed with it, and usable in any "
                f"definition or file once it is installed; about the user alone, so no "
                f"enrolment contributes to it."
            )
        elif cls.about_enrolments:  # type: ignore[attr-defined]
            role = (
                f"Python: :class:`threeml.definitions.{cls.__name__}`; an enrolment criterion: "
                f"the enrolments that contribute to it are records."
            )
        else:
            role = (
                f"Python: :class:`threeml.definitions.{cls.__name__}`; about the user alone: no "
                f"enrolment contributes to it."
            )
        section += self.rst(role, f"threeml-criteria {kind}")
        fields = attrs.fields(cls)
        if all(attribute.default is not attrs.NOTHING for attribute in fields):
            words = cls().describe()
            section += nodes.paragraph(
                "",
                "",
                nodes.Text("With every field left out it reads: "),
                nodes.emphasis(words, words),
                nodes.Text("."),
            )
        hints = typing.get_type_hints(cls)
        rows = [
            (
                [nodes.literal(attribute.name, attribute.name)],
                [
                    nodes.inline(
                        "", criterion_type(hints[attribute.name]), support_smartquotes=False
                    )
                ],
                [nodes.inline("", criterion_default(attribute), support_smartquotes=False)],
            )
            for attribute in fields
        ]
        section += _table(
            ["Field", "Type", "Default"], rows, widths=[20, 55, 25], classes=["threeml-fields"]
        )
        return section
