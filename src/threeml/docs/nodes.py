"""Small docutils node builders and the base of threeml's reference directives: each renders
sections with labels (see :mod:`threeml.docs.sphinxext`)."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable, Sequence
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

__all__ = ["SectionDirective"]

_CODE = re.compile(r"``(.+?)``|`([^`]+)`")


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

    def read_every_build(self) -> None:
        """Mark this page to be re-read on every build (it renders the installed plugins)."""
        documents = getattr(self.env, "threeml_catalogue_docs", set())
        documents.add(self.env.docname)
        self.env.threeml_catalogue_docs = documents  # type: ignore[attr-defined]

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


SectionDirective = _SectionDirective
