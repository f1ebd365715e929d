"""The HTML report: one self-contained file (inline CSS and SVG charts, no scripts).

Written from :func:`threeml.report.publish.publish`, so every figure below
all areas is under the disclosure policy, and a suppressed cell reads
"suppressed", never 0. Figures are formatted by :mod:`threeml.publish.numbers`,
as on the terminal.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from threeml.publish.numbers import format_figure, format_interval, format_share
from threeml.publish.provenance import audit_text
from threeml.report import charts
from threeml.report.coverage import COVERAGE_MEASURES, coverage_section
from threeml.report.over_time import over_time_section
from threeml.report.provenance import failures_html, provenance_html
from threeml.report.summary import LEGEND, format_metric_interval, format_metric_value

__all__ = ["to_html"]

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
color:#1f2937;margin:0;background:#f6f7f9}
main{max-width:1180px;margin:0 auto;padding:24px 32px 48px;background:#fff}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:36px 0 8px;
border-bottom:2px solid #1f5f99;padding-bottom:4px}h3{font-size:16px;margin:20px 0 4px}
.meta{color:#6b7280;margin:0 0 12px}
.policy{background:#fff7e6;border-left:4px solid #d9822b;padding:8px 12px;margin:12px 0}
.warning{background:#fdecea;border-left:4px solid #b91c1c;padding:8px 12px;margin:12px 0}
table{border-collapse:collapse;margin:8px 0 12px;font-size:13px}
th,td{padding:4px 10px;border-bottom:1px solid #e5e7eb;text-align:left;vertical-align:top}
th{background:#f3f4f6;font-weight:600;position:sticky;top:0}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.suppressed{color:#9a3412;font-style:italic;font-size:12px}
.muted{color:#6b7280}.error{color:#9a3412}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(520px,100%),1fr));gap:16px}
.card{border:1px solid #e5e7eb;border-radius:6px;padding:10px 14px;min-width:0;overflow-x:auto}
.card p{margin:2px 0 6px}
.scroll{max-height:520px;max-width:100%;overflow:auto;border:1px solid #e5e7eb;
display:inline-block;box-sizing:border-box}
main>table,details{display:block;max-width:100%;overflow-x:auto}
code{overflow-wrap:anywhere}
@media (max-width:640px){main{padding:12px 10px 32px}h1{font-size:21px}
nav a{display:inline-block;margin:2px 10px 2px 0}th,td{padding:3px 6px}}
svg{max-width:100%;height:auto}
details summary{cursor:pointer;color:#1f5f99;margin:6px 0}
nav a{margin-right:14px;color:#1f5f99}
.good{color:#166534}.bad{color:#9a3412}
"""


def _fmt(value: Any) -> str:
    return escape(format_figure(value))


def _cell(value: Any, suppressed: bool) -> str:
    if suppressed and value is None:
        return '<td class="n"><span class="suppressed">suppressed</span></td>'
    return f'<td class="n">{_fmt(value)}</td>'


def _interval(low: Any, high: Any) -> str:
    return escape(format_interval(low, high))


def _definitions(published: Mapping[str, Any], draw: bool) -> list[str]:
    definitions = published["definitions"]
    out = ['<h2 id="definitions">Definitions side by side</h2>']
    if not definitions:
        return [*out, "<p>No counting definitions were evaluated.</p>"]
    loosest = max((d["users"] or 0) for d in definitions) or 0
    perturbed = "cell_key" in published["disclosure"]
    out.append(
        "<p>Each definition counted on the same extract and period; totals are over all areas "
        + (
            "(perturbed by their cell keys). "
            if perturbed
            else "(under the policy when a breakdown is published beside them, as the "
            "disclosure section says; unrounded otherwise). "
        )
        + "Share is of the people counted by the loosest definition.</p>"
    )
    if draw:
        out.append(
            charts.definitions_bar(
                [d["name"] for d in definitions],
                [d["count"] or 0 for d in definitions],
                [d["unit"] for d in definitions],
            )
        )
    out.append(
        "<table><tr><th>definition</th><th>what it counts</th><th class='n'>count</th>"
        "<th class='n'>people</th><th class='n'>enrolments</th><th class='n'>considered</th>"
        "<th class='n'>share of loosest</th></tr>"
    )
    for d in definitions:
        share = format_share(d["users"] / loosest if loosest and d["users"] is not None else None)
        unit = "" if d["unit"] == "users" else f" {escape(d['unit'])}"
        out.append(
            f"<tr><td><a href='#def-{escape(d['name'])}'><b>{escape(d['name'])}</b></a></td>"
            f"<td>{escape(d['title'])}</td><td class='n'><b>{_fmt(d['count'])}</b>{unit}</td>"
            f"<td class='n'>{_fmt(d['users'])}</td><td class='n'>{_fmt(d['records'])}</td>"
            f"<td class='n'>{_fmt(d['considered'])}</td><td class='n'>{share}</td></tr>"
        )
    out.append("</table>")
    out.append(
        '<h2 id="attrition">Attrition: who each criterion leaves out</h2><div class="cards">'
    )
    for d in definitions:
        out.append(f"<div class='card' id='def-{escape(d['name'])}'>")
        out.append(
            f"<h3>{escape(d['name'])} <span class='muted'>v{escape(str(d['version']))}</span></h3>"
            f"<p>{escape(d['title'])}</p>"
        )
        if d["source"]:
            out.append(f"<p class='muted'>from {escape(d['source'])}</p>")
        if draw:
            out.append(charts.funnel(d["considered"], d["attrition"], d["unit"]))
        out.append(
            "<details><summary>attrition table</summary><table><tr><th>#</th>"
            "<th>criterion</th><th class='n'>remaining</th><th class='n'>excluded</th>"
            "<th class='n'>would add if dropped</th></tr>"
        )
        for step in d["attrition"]:
            out.append(
                f"<tr><td>{step['step']}</td><td>{escape(step['criterion'])}</td>"
                f"<td class='n'>{_fmt(step['remaining'])}</td>"
                f"<td class='n'>{_fmt(step['excluded'])}</td>"
                f"<td class='n'>{_fmt(step['leave_one_out'])}</td></tr>"
            )
        out.append("</table></details></div>")
    out.append("</div>")
    return out


def _breakdowns(published: Mapping[str, Any]) -> list[str]:
    definitions = published["definitions"]
    names = sorted({b for d in definitions for b in d["breakdowns"]})
    out = []
    for breakdown in names:
        having = [d for d in definitions if breakdown in d["breakdowns"]]
        groups = sorted({c["group"] for d in having for c in d["breakdowns"][breakdown]})
        suppressed = sum(c["suppressed"] for d in having for c in d["breakdowns"][breakdown])
        out.append(f'<h2 id="by-{escape(breakdown)}">Counts by {escape(breakdown)}</h2>')
        out.append(
            f"<p>{len(groups)} groups; {suppressed} cell(s) suppressed under "
            f"<b>{escape(published['disclosure']['name'])}</b> "
            "(shown as <span class='suppressed'>suppressed</span>, never as 0).</p>"
        )
        out.append(f"<div class='scroll'><table><tr><th>{escape(breakdown)}</th>")
        out.extend(f"<th class='n'>{escape(d['name'])}</th>" for d in having)
        out.append("</tr>")
        cells = {d["name"]: {c["group"]: c for c in d["breakdowns"][breakdown]} for d in having}
        for group in groups:
            out.append(f"<tr><td>{escape(group)}</td>")
            for d in having:
                cell = cells[d["name"]].get(group)
                if cell is None:
                    out.append("<td class='n muted'>–</td>")
                else:
                    out.append(_cell(cell["count"], cell["suppressed"]))
            out.append("</tr>")
        out.append("</table></div>")
    return out


def _metrics(published: Mapping[str, Any], draw: bool) -> list[str]:
    metrics = published["metrics"]
    out = ['<h2 id="metrics">Metrics</h2>']
    if not metrics:
        return [*out, "<p>No metrics were evaluated.</p>"]
    out.append(
        "<p>Totals over all areas (under the policy when a breakdown is published beside "
        "them), with 95% intervals where the measure has one.</p>"
        "<table><tr><th>metric</th><th>what it measures</th><th>population</th>"
        "<th class='n'>value</th><th class='n'>95% CI</th><th class='n'>numerator</th>"
        "<th class='n'>denominator</th><th>note</th></tr>"
    )
    for m in metrics:
        name = f"<a href='#metric-{escape(m['name'])}'><b>{escape(m['name'])}</b></a>"
        if not m["evaluated"]:
            out.append(
                f"<tr><td>{name}</td><td>{escape(m['title'])}</td>"
                f"<td>{escape(m['population'])}</td>"
                f"<td colspan='5' class='error'>not evaluated: {escape(m['error'])}</td></tr>"
            )
            continue
        label = m["labels"].get("value", "")
        why = m["reason"] or ("no value for this extract and period" if m["value"] is None else "")
        note = escape(label) + (f"; <b>{escape(why)}</b>" if why and m["value"] is None else
                                f"; {escape(why)}" if why else "")  # fmt: skip
        out.append(
            f"<tr><td>{name}</td><td>{escape(m['title'])}</td><td>{escape(m['population'])}</td>"
            f"<td class='n'><b>{escape(format_metric_value(m))}</b></td>"
            f"<td class='n'>{escape(format_metric_interval(m))}</td>"
            f"<td class='n'>{_fmt(m['numerator'])}</td><td class='n'>{_fmt(m['denominator'])}</td>"
            f"<td>{note}</td></tr>"
        )
    out.append("</table>")
    out.append(f"<p class='muted legend'>{escape(LEGEND)}.</p>")
    for m in metrics:
        if (
            not m["evaluated"]
            or m["measure"] == "progress-to-target"
            or m["measure"] in COVERAGE_MEASURES
        ):
            continue
        for breakdown, rows in m["breakdowns"].items():
            out.append(
                f"<h3 id='metric-{escape(m['name'])}'>{escape(m['name'])} by "
                f"{escape(breakdown)}</h3><p class='muted'>{escape(m['title'])}</p>"
            )
            if draw and any(r["value"] is not None for r in rows):
                out.append(
                    charts.caterpillar(
                        f"{m['name']}: {m['labels'].get('value', 'value')}",
                        rows,
                        m["value"],
                        m["ci_low"],
                        m["ci_high"],
                    )
                )
            out.append(_metric_table(breakdown, rows))
    return out


def _metric_table(breakdown: str, rows: list[Mapping[str, Any]]) -> str:
    out = [
        f"<details><summary>table by {escape(breakdown)} ({len(rows)} groups)</summary>"
        f"<div class='scroll'><table><tr><th>{escape(breakdown)}</th><th class='n'>numerator</th>"
        "<th class='n'>denominator</th><th class='n'>value</th><th class='n'>95% CI</th>"
        "<th>note</th></tr>"
    ]
    for row in rows:
        out.append(
            f"<tr><td>{escape(row['group'])}</td>"
            + _cell(row["numerator"], row["suppressed"])
            + _cell(row["denominator"], row["suppressed"])
            + _cell(row["value"], row["suppressed"])
            + f"<td class='n'>{_interval(row['ci_low'], row['ci_high'])}</td>"
            + f"<td>{escape(row['reason'] or '')}</td></tr>"
        )
    out.append("</table></div></details>")
    return "".join(out)


def _progress(published: Mapping[str, Any], draw: bool) -> list[str]:
    found = [m for m in published["metrics"] if m.get("measure") == "progress-to-target"]
    out = []
    for m in found:
        out.append(
            f'<h2 id="metric-{escape(m["name"])}">Progress to target: {escape(m["name"])}</h2>'
        )
        if not m["evaluated"]:
            out.append(f"<p class='error'>not evaluated: {escape(m['error'])}</p>")
            continue
        d = m["details"]
        on_track = d.get("on_track")
        verdict = (
            "<span class='good'>on track</span>"
            if on_track
            else "<span class='bad'>not on track</span>"
            if on_track is False
            else "no projection"
        )
        out.append(
            f"<p>All areas: <b>{_fmt(m['numerator'])}</b> people counted by "
            f"<b>{escape(m['population'])}</b> against a target of <b>{_fmt(d.get('target'))}</b>"
            f" due {escape(str(d.get('due')))} (<b>{format_share(m['value'])}</b> of it); "
            "projected "
            f"<b>{_fmt(d.get('projection'))}</b> by the due date from the trend since "
            f"{escape(str(d.get('trend_from')))}: {verdict}.</p>"
        )
        for breakdown, rows in m["breakdowns"].items():
            if draw and any(r["value"] is not None for r in rows):
                out.append(charts.progress(rows))
            out.append(
                f"<details><summary>table by {escape(breakdown)} ({len(rows)} groups)</summary>"
                f"<div class='scroll'><table><tr><th>{escape(breakdown)}</th>"
                "<th class='n'>counted</th><th class='n'>target</th><th class='n'>share</th>"
                "<th class='n'>projection</th><th>on track</th><th>note</th></tr>"
            )
            for row in rows:
                details = row["details"]
                out.append(
                    f"<tr><td>{escape(row['group'])}</td>"
                    + _cell(row["numerator"], row["suppressed"])
                    + f"<td class='n'>{_fmt(details.get('target'))}</td>"
                    + _cell(row["value"], row["suppressed"])
                    + _cell(details.get("projection"), row["suppressed"])
                    + f"<td>{_fmt(details.get('on_track'))}</td>"
                    + f"<td>{escape(row['reason'] or '')}</td></tr>"
                )
            out.append("</table></div></details>")
    return out


def to_html(published: Mapping[str, Any], *, title: str = "threeml report") -> str:
    """The published report as one self-contained HTML page."""
    draw = charts.available()
    charts.reset_ids()
    policy = published["disclosure"]
    period = published["period"]
    rows = ", ".join(f"{name} {n:,}" for name, n in published["rows"].items())
    body = [
        f"<h1>{escape(title)}</h1>",
        f"<p class='meta'>Period {escape(period['start'])} to {escape(period['end'])}; "
        f"extract date {escape(str(published['extract_date']))}; rows read: {escape(rows)}; "
        f"threeml {escape(published['threeml_version'])}</p>",
        f"<p class='policy'><b>Disclosure control</b> — {escape(policy['description'])}. "
        f"<b>Audit</b> — {escape(audit_text(published.get('audit')))}.</p>",
        "<nav><a href='#definitions'>Definitions</a><a href='#attrition'>Attrition</a>"
        + "".join(
            f"<a href='#by-{escape(b)}'>By {escape(b)}</a>"
            for b in sorted({b for d in published["definitions"] for b in d["breakdowns"]})
        )
        + "<a href='#metrics'>Metrics</a><a href='#coverage'>Coverage</a>"
        "<a href='#over-time'>Over time</a>"
        "<a href='#provenance'>Provenance</a></nav>",
    ]
    if published.get("areas"):
        body.append(f"<p class='policy'><b>Areas</b> — {escape(published['areas']['note'])}.</p>")
    body += failures_html(published)
    if not draw:
        body.append("<p class='muted'>Charts need matplotlib: pip install 'threeml[report]'.</p>")
    # Every chart of the page is drawn at the end, together (on every core).
    with charts.deferred() as fill:
        sections = [
            *_definitions(published, draw),
            *over_time_section(published, draw),
            *_progress(published, draw),
            *_metrics(published, draw),
            *coverage_section(published, draw),
        ]
    body += [fill(section) for section in sections]
    body += _breakdowns(published)
    body += provenance_html(published)
    body.append(
        f"<p class='policy'><b>Disclosure control</b> — {escape(policy['description'])}.</p>"
    )
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<meta name='threeml-disclosure' content='{escape(policy['description'])}'>"
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body><main>\n"
        + "\n".join(body)
        + "\n</main></body></html>\n"
    )
