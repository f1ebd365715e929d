"""Sphinx directives that render threeml's reference pages from the code itself.

``.. threeml-schema::`` renders the column reference of every table in
:data:`threeml.records.schema.TABLES` (in order): its description, whether it is
required, a table of its columns and its cross-column rules.

``.. threeml-cli::`` renders every command of the ``threeml`` click group with
its usage, help text, arguments and options, read from click itself, so a new
command or option appears in the docs without anyone writing about it twice.

``.. threeml-criteria::`` renders every criterion kind: threeml's own
(:data:`threeml.definitions.CRITERIA`), then those the installed plugins supply
(``criterion_kinds()`` of :func:`threeml.plugins.registry.default_registry`), each
with its ``kind`` (the name a TOML or JSON file uses), its class docstring,
whether it is an enrolment criterion (or which module supplies it), and a table of
its fields with their types and defaults, read from :func:`attrs.fields`. Like the
catalogue, pages that use it are re-read on every build.

``.. threeml-hooks::`` renders every hook specification in :mod:`threeml.plugins.hookspecs`
(the functions whose names start with ``threeml_``) with its signature and docstring.

``.. threeml-catalogue::`` renders every definition registered in
:func:`threeml.plugins.registry.default_registry` — the installed plugins' definitions —
with its title, unit, version, source, description, origin, criteria in order,
parameters (and, for a metric, its population and measure), its worked examples
and its TOML form. Worked examples are the spec cases a plugin offers as
``SPEC_CASES`` on its plugin module (see :mod:`threeml.testing.speccases`): each
is rendered with its period, its tables, who counts and, for everyone else, the
first criterion they fail and why, as the reference evaluator finds it; an
example whose expected members the reference evaluator does not count is a
build warning.
Pages that use it are re-read on every build, since installing a plugin changes
them without changing any file of the project.

Enable it with ``extensions = ["threeml.docs.sphinxext"]`` in ``conf.py``. Sections carry
labels, so each directive is used once per project: ``threeml-table-<name>``,
``threeml-cli-<command>``, ``threeml-criterion-<kind>``, ``threeml-hook-<name>``,
``threeml-definition-<name>`` and ``threeml-example-<name>-<number>`` (for example
``:ref:`threeml-table-users```).
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import click
from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging

from threeml._version import __version__
from threeml.docs.catalogue import CatalogueDirective as CatalogueDirective
from threeml.docs.criteria import CriteriaDirective as CriteriaDirective
from threeml.docs.criteria import criterion_default as criterion_default
from threeml.docs.criteria import criterion_type as criterion_type
from threeml.docs.nodes import (
    _field_list,
    _paragraph,
    _paragraphs,
    _SectionDirective,
    _table,
)
from threeml.records.schema import TABLES, Column, Table

__all__ = [
    "CatalogueDirective",
    "CliDirective",
    "CriteriaDirective",
    "HooksDirective",
    "SchemaDirective",
    "criterion_default",
    "criterion_type",
    "hookspecs",
    "setup",
]

logger = logging.getLogger(__name__)

try:  # click >= 8.3 marks "no default" with a sentinel rather than None
    from click._utils import UNSET as _UNSET
except ImportError:  # pragma: no cover - older click
    _UNSET = None


# The column reference.


def _number(value: float) -> str:
    return f"{value:g}"


def column_constraints(col: Column) -> str:
    """The constraints of a column in words: key, reference, bounds."""
    parts = []
    if col.key:
        parts.append("key: unique, one row per value")
    if col.references:
        parts.append(f"references {col.references[0]}.{col.references[1]}")
    if col.minimum is not None and col.maximum is not None:
        parts.append(f"from {_number(col.minimum)} to {_number(col.maximum)}")
    elif col.minimum is not None:
        parts.append(f"at least {_number(col.minimum)}")
    elif col.maximum is not None:
        parts.append(f"at most {_number(col.maximum)}")
    return "; ".join(parts)


def _yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def column_presence(col: Any) -> str:
    """Whether a column's values are required, and whether a file may leave it out."""
    if col.required:
        return "yes"
    return "no; may be left out" if col.may_be_absent else "no; must be in the header"


class SchemaDirective(_SectionDirective):
    """``.. threeml-schema::``: one section per table of :data:`threeml.records.schema.TABLES`."""

    has_content = False
    required_arguments = 0
    optional_arguments = 0

    def run(self) -> list[nodes.Node]:
        self.depend_on([sys.modules["threeml.records.schema"], sys.modules["threeml.records"]])
        self.depend_on(spec.record for spec in TABLES.values())
        return [self.render(spec) for spec in TABLES.values()]

    def render(self, spec: Table) -> nodes.section:
        section = self.section(f"threeml-table-{spec.name}", [nodes.literal(spec.name, spec.name)])
        section += _paragraphs(spec.doc)
        fields: list[tuple[str, str | Sequence[nodes.Node]]] = [
            (
                "File",
                [
                    nodes.literal(f"{spec.name}.csv", f"{spec.name}.csv"),
                    nodes.Text(" or "),
                    nodes.literal(f"{spec.name}.parquet", f"{spec.name}.parquet"),
                ],
            ),
            (
                "Required",
                "yes: the extract must have this table"
                if spec.required
                else "no: when the file is absent the table is empty",
            ),
        ]
        if spec.key:
            fields.append(("Key", [nodes.literal(spec.key, spec.key)]))
        fields.append(("Record type", [nodes.literal(spec.record.__name__, spec.record.__name__)]))
        section += _field_list(fields)
        rows = [
            (
                [nodes.literal(col.name, col.name)],
                # Verbatim, so "';'" keeps its straight quotes.
                [nodes.inline("", col.describe_type(), support_smartquotes=False)],
                column_presence(col),
                column_constraints(col),
                col.doc,
            )
            for col in spec.columns
        ]
        section += _table(
            ["Column", "Type", "Required", "Constraints", "Description"],
            rows,
            widths=[16, 22, 8, 18, 36],
            classes=["threeml-columns"],
        )
        if spec.rules:
            section += _paragraph("Rules across columns:")
            rules = nodes.bullet_list()
            for rule in spec.rules:
                rules += nodes.list_item("", _paragraph(rule.describe()))
            section += rules
        return section


# The command-line reference.


def _context(command: click.Command, name: str, parent: click.Context | None) -> click.Context:
    return click.Context(command, info_name=name, parent=parent, **command.context_settings)


def walk_commands(
    group: click.Command, name: str = "threeml", parent: click.Context | None = None
) -> Iterator[tuple[click.Command, click.Context]]:
    """Every visible command under ``group`` (the group first), with its click context."""
    ctx = _context(group, name, parent)
    yield group, ctx
    if isinstance(group, click.Group):
        for sub_name in group.list_commands(ctx):
            command = group.get_command(ctx, sub_name)
            if command is None or command.hidden:
                continue
            yield from walk_commands(command, sub_name, ctx)


def _default(param: click.Parameter, ctx: click.Context) -> str:
    """The default in words ("" when there is none; "required" for a required option)."""
    if isinstance(param, click.Option) and param.required:
        return "required"
    value = param.get_default(ctx, call=False)
    if value is None or value is _UNSET or callable(value):
        return ""
    if isinstance(param, click.Option) and param.is_flag and not param.secondary_opts:
        return "" if value is False else "on"
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    return str(value)


def _option_name(param: click.Option, ctx: click.Context) -> list[nodes.Node]:
    record = param.get_help_record(ctx)
    text = record[0] if record else ", ".join([*param.opts, *param.secondary_opts])
    return [nodes.literal(text, text)]


class CliDirective(_SectionDirective):
    """``.. threeml-cli::``: the ``threeml`` command group and every command in it."""

    has_content = False
    required_arguments = 0
    optional_arguments = 0

    def run(self) -> list[nodes.Node]:
        from threeml.cli.app import cli

        cli.load_all()  # commands are imported lazily; the reference lists every one

        result: list[nodes.Node] = []
        for command, ctx in walk_commands(cli):
            self.depend_on([command.callback] if command.callback else [])
            if ctx.parent is None:
                result.extend(self.render_body(command, ctx))
            else:
                result.append(self.render(command, ctx))
        self.depend_on([sys.modules["threeml.cli"]])
        return result

    def render(self, command: click.Command, ctx: click.Context) -> nodes.section:
        path = ctx.command_path
        label = "threeml-cli-" + "-".join(path.split()[1:])
        section = self.section(label, [nodes.literal(path, path)])
        section += self.render_body(command, ctx)
        return section

    def render_body(self, command: click.Command, ctx: click.Context) -> list[nodes.Node]:
        usage = " ".join([ctx.command_path, *command.collect_usage_pieces(ctx)])
        body: list[nodes.Node] = [nodes.literal_block(usage, usage, language="text")]
        body.extend(_paragraphs(command.help or ""))
        params = [p for p in command.get_params(ctx) if not getattr(p, "hidden", False)]
        arguments = [p for p in params if isinstance(p, click.Argument)]
        options = [p for p in params if isinstance(p, click.Option)]
        if arguments:
            body.append(_paragraph("Arguments:"))
            items = nodes.bullet_list()
            for argument in arguments:
                metavar = argument.make_metavar(ctx)
                words = "required" if argument.required else "optional"
                if argument.nargs != 1:
                    words += ", may be repeated"
                default = _default(argument, ctx)
                if default:
                    words += f", default {default}"
                items += nodes.list_item(
                    "",
                    nodes.paragraph(
                        "", "", nodes.literal(metavar, metavar), nodes.Text(f" ({words})")
                    ),
                )
            body.append(items)
        if options:
            body.append(_paragraph("Options:"))
            body.append(
                _table(
                    ["Option", "Help", "Default"],
                    [
                        (_option_name(option, ctx), option.help or "", _default(option, ctx))
                        for option in options
                    ],
                    widths=[30, 55, 15],
                    classes=["threeml-options"],
                )
            )
        if isinstance(command, click.Group):
            names = [
                name
                for name in command.list_commands(ctx)
                if (sub := command.get_command(ctx, name)) is not None and not sub.hidden
            ]
            if names:
                body.append(_paragraph("Commands: " + ", ".join(f"``{n}``" for n in names) + "."))
        return body


# The hook specifications.


def hookspecs() -> list[Any]:
    """Every hook specification in :mod:`threeml.plugins.hookspecs`, in source order."""
    from threeml.plugins import hookspecs as module

    marker = f"{module.PROJECT}_spec"
    found = [
        value
        for name, value in vars(module).items()
        if name.startswith("threeml_") and inspect.isfunction(value) and hasattr(value, marker)
    ]
    return sorted(found, key=lambda f: f.__code__.co_firstlineno)


def _signature(function: Any) -> str:
    """``name(params) -> Return``, annotations as written in the source."""
    signature = inspect.signature(function)
    params = []
    for param in signature.parameters.values():
        text = param.name
        if param.annotation is not inspect.Parameter.empty:
            text += f": {param.annotation}"
        params.append(text)
    result = f"{function.__name__}({', '.join(params)})"
    if signature.return_annotation is not inspect.Signature.empty:
        result += f" -> {signature.return_annotation}"
    return result


class HooksDirective(_SectionDirective):
    """``.. threeml-hooks::``: every hook specification, with signature and docstring."""

    has_content = False
    required_arguments = 0
    optional_arguments = 0

    def run(self) -> list[nodes.Node]:
        from threeml.plugins import hookspecs as module

        self.depend_on([module])
        return [self.render(spec, module) for spec in hookspecs()]

    def render(self, spec: Any, module: Any) -> nodes.section:
        name = spec.__name__
        section = self.section(f"threeml-hook-{name}", [nodes.literal(name, name)])
        options = getattr(spec, f"{module.PROJECT}_spec", {}) or {}
        notes = [flag for flag in ("firstresult", "historic") if options.get(flag)]
        body = inspect.cleandoc(spec.__doc__ or "")
        if notes:
            body += "\n\nSpecification options: " + ", ".join(f"``{n}``" for n in notes) + "."
        text = f".. py:function:: {_signature(spec)}\n   :module: {module.__name__}\n\n"
        text += "\n".join(f"   {line}" if line else "" for line in body.splitlines())
        section += self.rst(text, f"docstring of {module.__name__}.{name}")
        return section


def _purge(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    getattr(env, "threeml_catalogue_docs", set()).discard(docname)


def _merge(app: Sphinx, env: BuildEnvironment, docnames: set[str], other: BuildEnvironment) -> None:
    mine = getattr(env, "threeml_catalogue_docs", set())
    mine |= getattr(other, "threeml_catalogue_docs", set()) & set(docnames)
    env.threeml_catalogue_docs = mine  # type: ignore[attr-defined]


def _always_outdated(
    app: Sphinx, env: BuildEnvironment, added: set[str], changed: set[str], removed: set[str]
) -> list[str]:
    """Pages with the catalogue depend on the installed plugins, so re-read them every build."""
    return sorted(getattr(env, "threeml_catalogue_docs", set()) - removed - added - changed)


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("threeml-schema", SchemaDirective)
    app.add_directive("threeml-cli", CliDirective)
    app.add_directive("threeml-criteria", CriteriaDirective)
    app.add_directive("threeml-hooks", HooksDirective)
    app.add_directive("threeml-catalogue", CatalogueDirective)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("env-get-outdated", _always_outdated)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
