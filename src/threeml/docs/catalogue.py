"""``.. threeml-catalogue::``: every registered definition with its worked examples and TOML
form (see :mod:`threeml.docs.sphinxext`)."""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from typing import Any

from docutils import nodes
from sphinx import addnodes
from sphinx.util import logging

from threeml.docs.nodes import (
    _field_list,
    _paragraph,
    _SectionDirective,
    _table,
)

__all__ = ["CatalogueDirective"]

logger = logging.getLogger(__name__)


def _source_text(source: Any) -> str:
    return source.describe() if source is not None else "unknown"


class CatalogueDirective(_SectionDirective):
    """``.. threeml-catalogue::``: every definition in the default registry, by name."""

    has_content = False
    required_arguments = 0
    optional_arguments = 0

    def run(self) -> list[nodes.Node]:
        from threeml.plugins.registry import RegistryError, default_registry

        self.read_every_build()
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
