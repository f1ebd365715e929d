"""The HTML report's "Users over time" section: small multiples, stock and flow, trajectories.

Written from the published report's ``over_time`` (:func:`threeml.report.publish.over_time_data`:
every figure of the series through the disclosure policy, audited with the rest of the
report) and, when present, its ``target_trajectories`` (:data:`TRAJECTORIES`), which a
plugin computing progress to target over the series may add to the published data:

``target_trajectories``
    a list of objects, one per definition and area: ``definition``, ``group`` (an area, or
    ``all``), ``labels`` (interval labels), ``counted`` (published counts, one per label,
    ``null`` where suppressed), ``projection`` (optional: projected counts per label, out to
    the due date), ``target``, ``due`` (ISO date) and ``on_track`` (true, false or null).
    Every count in it must be a published figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from threeml.publish.numbers import format_figure
from threeml.publish.series import FLOW_FIGURES
from threeml.report import charts, series_charts

__all__ = ["TRAJECTORIES", "over_time_section"]

#: The key of the published report's data under which target trajectories are rendered.
TRAJECTORIES = "target_trajectories"

_SUPPRESSED = '<td class="n"><span class="suppressed">suppressed</span></td>'


def _cell(value: Any) -> str:
    if value is None:
        return _SUPPRESSED
    return f'<td class="n">{escape(format_figure(value))}</td>'


def _table(first: str, labels: Sequence[str], rows: Sequence[tuple[str, Sequence[Any]]]) -> str:
    """A scrolling table: one row per name, one column per interval."""
    head = "".join(f"<th class='n'>{escape(label)}</th>" for label in labels)
    body = "".join(
        f"<tr><td>{escape(name)}</td>{''.join(_cell(v) for v in values)}</tr>"
        for name, values in rows
    )
    return f"<div class='scroll'><table><tr><th>{escape(first)}</th>{head}</tr>{body}</table></div>"


def _flow(over: Mapping[str, Any], labels: Sequence[str], draw: bool) -> list[str]:
    flow = over.get("flow")
    if not flow:
        return []
    figures = flow["all"]
    out = [
        '<h3 id="stock-and-flow">Stock and flow</h3>',
        "<p>People in receipt at the start of each interval (opening), episodes starting, "
        "episodes ending by reason, people in receipt at its end (closing) and the net "
        "change. Opening + starts &minus; ends = closing holds for the true figures; each "
        "published figure is rounded or suppressed on its own, so it need not hold for them.</p>",
    ]
    if draw:
        out.append(series_charts.stock_and_flow(labels, figures))
    order = [*FLOW_FIGURES, "net_change"]
    rows = [(name, figures[name]) for name in order if name in figures]
    out.append("<details><summary>table (all areas)</summary>")
    out.append(_table("figure", labels, rows))
    out.append("</details>")
    for group, found in flow.get("groups", {}).items():
        rows = [(name, found[name]) for name in order if name in found]
        out.append(
            f"<details><summary>{escape(str(flow.get('by') or 'group'))} "
            f"{escape(group)}</summary>{_table('figure', labels, rows)}</details>"
        )
    return out


def _trajectories(published: Mapping[str, Any], draw: bool) -> list[str]:
    found = published.get(TRAJECTORIES) or []
    if not found:
        return []
    out = [
        '<h3 id="trajectories">Target trajectories</h3>',
        "<p>Counts over time against each area's target, with the projection from the recent "
        "trend to the due date.</p>",
    ]
    if draw:
        out.append(series_charts.trajectories(found))
    out.append(
        "<div class='scroll'><table><tr><th>definition</th><th>group</th>"
        "<th class='n'>target</th><th>due</th><th>on track</th></tr>"
    )
    for row in found:
        on_track = {True: "yes", False: "no"}.get(row.get("on_track"), "–")
        out.append(
            f"<tr><td>{escape(str(row.get('definition', '')))}</td>"
            f"<td>{escape(str(row.get('group', 'all')))}</td>{_cell(row.get('target'))}"
            f"<td>{escape(str(row.get('due', '')))}</td><td>{on_track}</td></tr>"
        )
    out.append("</table></div>")
    return out


def over_time_section(published: Mapping[str, Any], draw: bool) -> list[str]:
    """The section's HTML: one small chart per definition on a shared time axis, the
    tables (over all areas and by area), the stock and flow, the target trajectories."""
    over = published["over_time"]
    if not over["periods"] and not published.get(TRAJECTORIES):
        return []
    labels = [p["label"] for p in over["periods"]]
    out = ['<h2 id="over-time">Users over time</h2>']
    if labels:
        out.append(
            f"<p>Each definition counted in each {escape(str(over.get('every') or 'part'))} "
            "of the period on its own, as if it were the period: one small chart per "
            "definition, on a shared time axis, each on its own scale. Every figure went "
            f"through disclosure control ({escape(over['disclosure'])}).</p>"
        )
        if draw:
            out.append(charts.over_time(labels, over["counts"]))
        out.append("<details><summary>table (all areas)</summary>")
        out.append(_table("definition", labels, list(over["counts"].items())))
        out.append("</details>")
        for name, breakdowns in over.get("breakdowns", {}).items():
            for by, groups in breakdowns.items():
                out.append(f"<details><summary>{escape(name)} by {escape(by)}</summary>")
                out.append(_table(by, labels, list(groups.items())))
                out.append("</details>")
    out += _flow(over, labels, draw)
    out += _trajectories(published, draw)
    return out
