"""The report's provenance and audit outcome in each of its formats.

The published report data (:func:`threeml.report.publish.publish`) holds ``audit`` and
``provenance`` (:class:`~threeml.publish.provenance.Provenance` as data); these functions
state them as CSV rows' items, an HTML section, lines for the terminal and FHIR extensions.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from threeml.publish.provenance import Provenance, stamp_items

__all__ = [
    "PLUGIN_FAILURE_EXTENSION",
    "PROVENANCE_EXTENSION",
    "failures_html",
    "failures_text",
    "provenance_extension",
    "provenance_html",
    "provenance_items",
]

#: The FHIR extension recording the provenance and the audit's outcome.
PROVENANCE_EXTENSION = "https://threeml.readthedocs.io/fhir/StructureDefinition/provenance"
#: The FHIR extension naming a plugin that failed to load (one per plugin).
PLUGIN_FAILURE_EXTENSION = (
    "https://threeml.readthedocs.io/fhir/StructureDefinition/plugin-failed-to-load"
)


def failures_text(published: Mapping[str, Any]) -> list[str]:
    """One sentence per plugin that failed to load when the report was built."""
    return [
        f"{failure}; its definitions are missing from this report"
        for failure in published.get("plugin_failures") or ()
    ]


def failures_html(published: Mapping[str, Any]) -> list[str]:
    """The plugins that failed to load, as a warning at the top of the HTML report."""
    return [f"<p class='warning'><b>Plugin failed to load</b> — {escape(text)}.</p>"
            for text in failures_text(published)]  # fmt: skip


def provenance_items(published: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The audit's outcome and every provenance item of the published report, in order."""
    found = published.get("provenance")
    provenance = Provenance.from_data(found) if found else None
    return stamp_items(provenance, published.get("audit"))


def provenance_html(published: Mapping[str, Any]) -> list[str]:
    """The provenance as an HTML section: one table row per item."""
    out = [
        "<h2 id='provenance'>Provenance</h2>",
        "<p class='muted'>Where these figures came from: <code>threeml verify results.json "
        "--data EXTRACT</code> recomputes them and checks the extract and definitions.</p>",
        "<table><tr><th>item</th><th>value</th></tr>",
    ]
    out += [
        f"<tr><td>{escape(item)}</td><td><code>{escape(value)}</code></td></tr>"
        for item, value in provenance_items(published)
    ]
    out.append("</table>")
    return out


def provenance_extension(published: Mapping[str, Any]) -> dict[str, Any]:
    """A complex FHIR extension: one sub-extension (``url`` the item) per provenance item."""
    return {
        "url": PROVENANCE_EXTENSION,
        "extension": [
            {"url": item, "valueString": value} for item, value in provenance_items(published)
        ],
    }
