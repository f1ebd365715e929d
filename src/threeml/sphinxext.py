"""Sphinx directives that render threeml's reference pages from the code itself.

``.. threeml-schema::`` renders the column reference of every table in
:data:`threeml.schema.TABLES` (in order): its description, whether it is
required, a table of its columns and its cross-column rules.

``.. threeml-cli::`` renders every command of the ``threeml`` click group with
its usage, help text, arguments and options, read from click itself, so a new
command or option appears in the docs without anyone writing about it twice.

Enable it with ``extensions = ["threeml.sphinxext"]`` in ``conf.py``. Each table
section carries the label ``threeml-table-<name>`` and each command section the
label ``threeml-cli-<name>`` (for example ``:ref:`threeml-table-users```), so use
each directive once per project.
"""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import click
from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

from threeml import __version__
from threeml.schema import TABLES, Column, Table

__all__ = ["CliDirective", "SchemaDirective", "setup"]

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


class SchemaDirective(_SectionDirective):
    """``.. threeml-schema::``: one section per table of :data:`threeml.schema.TABLES`."""

    has_content = False
    required_arguments = 0
    optional_arguments = 0

    def run(self) -> list[nodes.Node]:
        self.depend_on([sys.modules["threeml.schema"], sys.modules["threeml.records"]])
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
                _yes_no(col.required),
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
        import threeml.cli  # attaches every command to the group
        from threeml.cli.app import cli

        result: list[nodes.Node] = []
        for command, ctx in walk_commands(cli):
            self.depend_on([command.callback] if command.callback else [])
            if ctx.parent is None:
                result.extend(self.render_body(command, ctx))
            else:
                result.append(self.render(command, ctx))
        self.depend_on([threeml.cli])
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


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("threeml-schema", SchemaDirective)
    app.add_directive("threeml-cli", CliDirective)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
