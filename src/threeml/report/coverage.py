"""The report's coverage section: standardised rates by area with their intervals.

Written from the published metrics (:func:`threeml.report.publish.publish`) whose measure
is a coverage kind, so every figure below all areas is the one disclosure control left;
it states the standard population, the population year and the interval methods used.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from threeml.publish.numbers import format_figure, format_interval
from threeml.report import charts

__all__ = ["COVERAGE_MEASURES", "coverage_section"]

#: The measure kinds shown in this section rather than among the other metrics.
COVERAGE_MEASURES = ("coverage", "population-reached")


def _fmt(value: Any) -> str:
    return escape(format_figure(value))


def _suppressible(value: Any, suppressed: bool) -> str:
    if suppressed and value is None:
        return '<td class="n"><span class="suppressed">suppressed</span></td>'
    return f'<td class="n">{_fmt(value)}</td>'


def _crude(details: Mapping[str, Any]) -> tuple[Any, str]:
    crude = details.get("crude_rate") or {}
    return crude.get("rate"), escape(format_interval(crude.get("ci_low"), crude.get("ci_high")))


def _table(breakdown: str, rows: list[Mapping[str, Any]], coverage: bool) -> str:
    value = "standardised rate" if coverage else "share reached"
    out = [
        f"<details open><summary>table by {escape(breakdown)} ({len(rows)} groups)</summary>"
        f"<div class='scroll'><table><tr><th>{escape(breakdown)}</th><th class='n'>users</th>"
        f"<th class='n'>population</th><th class='n'>{value}</th><th class='n'>95% CI</th>"
        + ("<th class='n'>crude rate</th><th class='n'>95% CI</th>" if coverage else "")
        + "<th class='n'>unknown age</th><th>note</th></tr>"
    ]
    for row in rows:
        details = row.get("details") or {}
        crude, crude_ci = _crude(details)
        out.append(
            f"<tr><td>{escape(str(row['group']))}</td>"
            + _suppressible(row["numerator"], row["suppressed"])
            + f"<td class='n'>{_fmt(row['denominator'])}</td>"
            + _suppressible(row["value"], row["suppressed"])
            + f"<td class='n'>{escape(format_interval(row['ci_low'], row['ci_high']))}</td>"
            + (f"<td class='n'>{_fmt(crude)}</td><td class='n'>{crude_ci}</td>" if coverage else "")
            + _suppressible(details.get("users_of_unknown_age"), row["suppressed"])
            + f"<td>{escape(row['reason'] or '')}</td></tr>"
        )
    out.append("</table></div></details>")
    return "".join(out)


def coverage_section(published: Mapping[str, Any], draw: bool) -> list[str]:
    """The coverage metrics of a published report, as HTML (nothing when there are none)."""
    found = [m for m in published["metrics"] if m.get("measure") in COVERAGE_MEASURES]
    if not found:
        return []
    out = [
        '<h2 id="coverage">Coverage of the population</h2>',
        "<p>Users per head of the area's population (the populations table's mid-year "
        "estimate). Standardised rates weight each age band's rate by a standard population, "
        "so areas of different age structure compare fairly; none is published on fewer than "
        "10 events. Counts below all areas are under disclosure control, and rates are "
        "computed from the published counts.</p>",
    ]
    for m in found:
        name = escape(m["name"])
        out.append(f"<h3 id='metric-{name}'>{name}</h3><p class='muted'>{escape(m['title'])}</p>")
        if not m["evaluated"]:
            out.append(f"<p class='error'>not evaluated: {escape(m['error'])}</p>")
            continue
        details = m["details"]
        coverage = m["measure"] == "coverage"
        method = [f"population of {escape(str(details.get('population_year')))}"]
        method.append(f"group: {escape(str(details.get('population_group')))}")
        if details.get("standard_population"):
            method.append(f"standard population: {escape(str(details['standard_population']))}")
        method.append(f"intervals: {escape(str(details.get('interval_method')))}")
        crude, crude_ci = _crude(details)
        out.append(
            f"<p>All areas: <b>{_fmt(m['value'])}</b> ({escape(m['labels'].get('value', ''))}; "
            f"95% CI {escape(format_interval(m['ci_low'], m['ci_high']))})"
            + (f"; crude rate <b>{_fmt(crude)}</b> ({crude_ci})" if coverage else "")
            + f"; {_fmt(m['numerator'])} users of {_fmt(m['denominator'])} people.</p>"
            f"<p class='muted'>{'; '.join(method)}.</p>"
        )
        for breakdown, rows in m["breakdowns"].items():
            if draw and any(r["value"] is not None for r in rows):
                title = "standardised rate" if coverage else "share reached"
                out.append(
                    charts.caterpillar(
                        f"{m['name']}: {title} by {breakdown}, with 95% intervals",
                        rows,
                        m["value"],
                        m["ci_low"],
                        m["ci_high"],
                    )
                )
            out.append(_table(breakdown, rows, coverage))
    return out
