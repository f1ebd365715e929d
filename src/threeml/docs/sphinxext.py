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

import enum
import inspect
import json
import re
import sys
import typing
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import attrs
import click
from docutils import nodes
from docutils.statemachine import StringList
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from threeml._version import __version__
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

_CODE = re.compile(r"``(.+?)``|`([^`]+)`")

try:  # click >= 8.3 marks "no default" with a sentinel rather than None
    from click._utils import UNSET as _UNSET
except ImportError:  # pragma: no cover - older click
    _UNSET = None


# Small node builders.


def _inline(text: str) -> list[nodes.Node]:
    """Text with ``code`` or `code` spans as literals (docstrings here use both)."""
    result: list[nodes.Node] = []
    position = 0
    for match in _CODE.finditer(text):
        if match.start() > position:
            result.append(nodes.Text(text[position : match.start()]))
        code = match.group(1) or match.group(2)
        result.append(nodes.literal(code, code))
        position = match.end()
    if position < len(text):
        result.append(nodes.Text(text[position:]))
    return result


def _paragraph(text: str) -> nodes.paragraph:
    return nodes.paragraph("", "", *_inline(text))


def _paragraphs(text: str) -> list[nodes.paragraph]:
    """Paragraphs of a docstring-like text, blank-line separated, re-flowed."""
    text = inspect.cleandoc(text or "").split("\f", 1)[0]
    blocks = re.split(r"\n\s*\n", text)
    result = []
    for block in blocks:
        lines = [line.strip() for line in block.splitlines() if line.strip() != "\b"]
        joined = " ".join(line for line in lines if line)
        if joined:
            result.append(_paragraph(joined))
    return result


def _cell(content: str | Sequence[nodes.Node]) -> nodes.entry:
    entry = nodes.entry()
    if isinstance(content, str):
        if content:
            entry += _paragraph(content)
    elif content:
        entry += nodes.paragraph("", "", *content)
    return entry


def _table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str | Sequence[nodes.Node]]],
    widths: Sequence[int],
    classes: Sequence[str] = (),
) -> nodes.table:
    """A docutils table with a header row."""
    table = nodes.table(classes=["longtable", *classes])
    group = nodes.tgroup(cols=len(headers))
    table += group
    for width in widths:
        group += nodes.colspec(colwidth=width)
    head = nodes.thead()
    header_row = nodes.row()
    for title in headers:
        header_row += _cell(title)
    head += header_row
    group += head
    body = nodes.tbody()
    for values in rows:
        row = nodes.row()
        for value in values:
            row += _cell(value)
        body += row
    group += body
    return table


def _field_list(fields: Iterable[tuple[str, str | Sequence[nodes.Node]]]) -> nodes.field_list:
    result = nodes.field_list()
    for name, value in fields:
        body = nodes.field_body()
        body += _paragraph(value) if isinstance(value, str) else nodes.paragraph("", "", *value)
        result += nodes.field("", nodes.field_name(name, name), body)
    return result


class _SectionDirective(SphinxDirective):
    """A directive that emits labelled sections."""

    def section(self, label: str, title: Sequence[nodes.Node]) -> nodes.section:
        section = nodes.section()
        section["names"].append(label)
        section += nodes.title("", "", *title)
        # An explicit target: the section gets the id ``label`` and ``:ref:`label``` works.
        self.state.document.note_explicit_target(section, section)
        return section

    def rst(self, text: str, source: str) -> list[nodes.Node]:
        """``text`` (reStructuredText from threeml's own code, already dedented) parsed."""
        lines = StringList()
        for number, line in enumerate(text.splitlines()):
            lines.append(line, source, number)
        holder = nodes.Element()
        holder.document = self.state.document
        self.state.nested_parse(lines, 0, holder)
        return list(holder.children)

    def depend_on(self, objects: Iterable[Any]) -> None:
        """Rebuild the page when the source of any of ``objects`` changes."""
        for obj in objects:
            try:
                path = inspect.getsourcefile(obj)
            except TypeError:
                path = None
            if path:
                self.env.note_dependency(path)


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


# The criteria vocabulary.


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

        documents = getattr(self.env, "threeml_catalogue_docs", set())
        documents.add(self.env.docname)
        self.env.threeml_catalogue_docs = documents  # type: ignore[attr-defined]
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


# The catalogue of registered definitions.


def _source_text(source: Any) -> str:
    return source.describe() if source is not None else "unknown"


class CatalogueDirective(_SectionDirective):
    """``.. threeml-catalogue::``: every definition in the default registry, by name."""

    has_content = False
    required_arguments = 0
    optional_arguments = 0

    def run(self) -> list[nodes.Node]:
        from threeml.plugins.registry import RegistryError, default_registry

        documents = getattr(self.env, "threeml_catalogue_docs", set())
        documents.add(self.env.docname)
        self.env.threeml_catalogue_docs = documents  # type: ignore[attr-defined]
        try:
            registry = default_registry()
        except RegistryError as error:
            raise self.error(f"the definitions catalogue cannot be built: {error}") from None
        for failure in registry.failures:
            logger.warning(
                "threeml-catalogue: %s; its definitions are missing from the catalogue",
                failure.describe(),
                location=(self.env.docname, self.lineno),
            )
        self.depend_on(
            sys.modules[p.entry_point.partition(":")[0]]
            for p in registry.plugins
            if p.entry_point and p.entry_point.partition(":")[0] in sys.modules
        )
        if not registry.names():
            return [_paragraph("No definitions were registered when these pages were built.")]
        from threeml.testing.speccases import plugin_spec_cases

        try:
            cases = plugin_spec_cases(registry)
        except TypeError as error:  # a SPEC_CASES holding something else
            raise self.error(f"the definitions catalogue cannot be built: {error}") from None
        return [
            self.render(registry, definition, cases.get(definition.name, ()))
            for definition in registry.definitions()
        ]

    def render(self, registry: Any, definition: Any, cases: Sequence[Any] = ()) -> nodes.section:
        from threeml.definitions import CountingDefinition, to_toml

        name = definition.name
        section = self.section(f"threeml-definition-{name}", [nodes.literal(name, name)])
        section += nodes.paragraph("", "", nodes.strong(definition.title, definition.title))
        sources = registry.sources(name)
        fields: list[tuple[str, str | Sequence[nodes.Node]]] = []
        if isinstance(definition, CountingDefinition):
            unit = definition.unit.value
            counts = "distinct people" if unit == "users" else "enrolments (connections)"
            fields.append(("Type", f"counting definition; counts {unit}: {counts}"))
        else:
            fields.append(("Type", "metric definition"))
        fields.append(("Version", [nodes.literal(definition.version, definition.version)]))
        fields.append(("Source", _source_text(sources[0] if sources else definition.source)))
        if len(sources) > 1:
            also = "; ".join(_source_text(s) for s in sources[1:])
            fields.append(("Also supplied (identically) by", also))
        if definition.origin:
            fields.append(("Origin", [nodes.Text(definition.origin)]))
        if isinstance(definition, CountingDefinition):
            if definition.parameters:
                values = ", ".join(f"{k} = {v}" for k, v in definition.parameters.items())
                fields.append(("Parameters", [nodes.Text(values)]))
        else:
            label = f"threeml-definition-{definition.population}"
            link = addnodes.pending_xref(
                "",
                nodes.literal(definition.population, definition.population),
                refdomain="std",
                reftype="ref",
                reftarget=label,
                refexplicit=True,
                refwarn=True,
            )
            fields.append(("Population", [link]))
            measure = definition.measure
            words = [nodes.literal(measure.kind, measure.kind)]
            if measure.options:
                options = ", ".join(f"{k} = {v}" for k, v in measure.options.items())
                words.append(nodes.Text(f" ({options})"))
            fields.append(("Measure", words))
            direction = {True: "higher is better", False: "lower is better", None: "not stated"}
            fields.append(("Direction", direction[definition.higher_is_better]))
        section += _field_list(fields)
        # Descriptions are plugin data, not reStructuredText: shown as plain paragraphs.
        for block in re.split(r"\n\s*\n", definition.description.strip()):
            if block.strip():
                section += nodes.paragraph("", "", nodes.Text(" ".join(block.split())))
        if isinstance(definition, CountingDefinition):
            section += _paragraph("Criteria, in order (a unit must pass all of them):")
            steps = nodes.enumerated_list(enumtype="arabic", prefix="", suffix=".")
            for criterion in definition.criteria:
                steps += nodes.list_item(
                    "", nodes.paragraph("", "", nodes.Text(criterion.describe()))
                )
            section += steps
        section += _paragraph("As a definition file (``threeml definitions NAME --format toml``):")
        text = to_toml(definition)
        section += nodes.literal_block(text, text, language="toml")
        # Subsections last: docutils allows no body elements after a subsection.
        for number, case in enumerate(cases, start=1):
            section += self.worked_example(registry, definition, case, number)
        return section

    def worked_example(
        self, registry: Any, definition: Any, case: Any, number: int
    ) -> nodes.section:
        """One spec case: its period, tables, who counts, and why the others do not."""
        from threeml.records.codes import Unit
        from threeml.records.periods import Period
        from threeml.testing.speccases import case_reasons

        name = definition.name
        section = self.section(
            f"threeml-example-{name}-{number}",
            [nodes.Text(f"Worked example {number}: {case.title}")],
        )
        period = Period.parse(case.period)
        section += nodes.paragraph(
            "",
            "",
            nodes.Text("Period: "),
            nodes.literal(case.period, case.period),
            nodes.Text(f" ({period.start.isoformat()} to {period.end.isoformat()})."),
        )
        used = {row[2] for row in case.enrolments}
        services = "; ".join(
            f"{sid} {kind} ({sector.replace('_', ' ')})"
            for sid, kind, sector, *_ in case.services
            if sid in used
        )
        if services:
            section += nodes.paragraph("", "", nodes.Text(f"Services: {services}."))
        for table, (columns, rows) in case.tables().items():
            section += nodes.paragraph("", "", nodes.literal(table, table))
            section += _table(
                columns,
                [["" if value is None else str(value) for value in row] for row in rows],
                widths=[10] * len(columns),
                classes=["threeml-example-table"],
            )
        reasons = case_reasons(case, definition, registry=registry)
        counted = {r.unit for r in reasons if r.counted}
        if counted != set(case.expected):
            logger.warning(
                "threeml-catalogue: worked example %r of %s expects %s to count, but the "
                "reference evaluator counts %s",
                case.title,
                name,
                ", ".join(sorted(case.expected)) or "nobody",
                ", ".join(sorted(counted)) or "nobody",
                location=(self.env.docname, self.lineno),
            )
        noun = "enrolments" if definition.unit is Unit.ENROLMENTS else "people"
        expected = sorted(case.expected)
        section += nodes.paragraph(
            "",
            "",
            nodes.strong("Counted: ", "Counted: "),
            nodes.Text(", ".join(expected) if expected else "nobody"),
            nodes.Text(f" ({len(expected)} {noun})."),
        )
        left_out = [r for r in reasons if not r.counted]
        if left_out:
            section += nodes.paragraph("", "", nodes.strong("Not counted:", "Not counted:"))
            items = nodes.bullet_list()
            for reason in left_out:
                items += nodes.list_item(
                    "",
                    nodes.paragraph(
                        "",
                        "",
                        nodes.literal(reason.unit, reason.unit),
                        nodes.Text(
                            f" fails criterion {reason.criterion} ({reason.describe}): "
                            f"{reason.evidence}."
                        ),
                    ),
                )
            section += items
        for note in case.notes:
            section += nodes.paragraph("", "", nodes.Text(note))
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
