"""``threeml report --area``: the report with only some areas' rows, in every section.

Registers :class:`~threeml.report.publish.PublishedReport` with
:func:`threeml.publish.areas.only_areas`. The whole report is published and audited first
(every area, as the report would be without the filter); the filter then keeps, in every
breakdown by area of every definition and metric, in the counts over time by area and in the
stock and flow by area (:func:`~threeml.publish.areas.series_areas`), and in the target
trajectories, only the rows of the areas asked for. Figures over all areas stay as the whole
report published them and stay labelled as over all areas; the report says which areas it
shows (``areas`` in its data: a line of the terminal summary, a row of the CSV, a paragraph of
the HTML page).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from threeml.publish.areas import (
    AREA,
    UnknownArea,
    covering,
    only_areas,
    outcome_for,
    series_areas,
)
from threeml.publish.audited import audited
from threeml.report.over_time import TRAJECTORIES
from threeml.report.publish import PublishedReport

__all__ = ["AREAS", "report_areas"]

#: The key of the published report's data saying which areas it shows.
AREAS = "areas"


def _known(data: Mapping[str, Any], document: PublishedReport) -> set[str]:
    known: set[str] = set()
    for section in ("definitions", "metrics"):
        for item in data.get(section, ()):
            known |= {row["group"] for row in item.get("breakdowns", {}).get(AREA, ())}
    series = document.series
    if series is not None and series.flow is not None and series.flow.result.by == AREA:
        known |= {str(g) for g in series.flow.groups}
    return known


def _breakdowns(items: Sequence[Mapping[str, Any]], wanted: set[str]) -> list[dict[str, Any]]:
    out = []
    for item in items:
        breakdowns = item.get("breakdowns")
        if breakdowns and AREA in breakdowns:
            kept = [row for row in breakdowns[AREA] if row["group"] in wanted]
            item = {**item, "breakdowns": {**breakdowns, AREA: kept}}
        out.append(dict(item))
    return out


def report_areas(document: PublishedReport, areas: Sequence[str]) -> PublishedReport:
    """``document`` (audited) with only the rows of ``areas`` in every section, saying so;
    raises :class:`~threeml.publish.areas.UnknownArea` for an area the report does not have."""
    data = document.data
    known = _known(data, document)
    missing = [a for a in areas if a not in known]
    if missing:
        raise UnknownArea(missing, sorted(known))
    wanted = set(areas)
    if document.series is not None:
        document = document.with_series(series_areas(document.series, areas))
    document = document.with_audit(outcome_for(document.audit, known, areas))
    data = document.data
    trajectories = [
        row for row in data.get(TRAJECTORIES) or () if row.get("group", "all") in wanted | {"all"}
    ]
    data = {
        **data,
        "definitions": _breakdowns(data["definitions"], wanted),
        "metrics": _breakdowns(data["metrics"], wanted),
        AREAS: {"shown": list(areas), "note": covering(areas)},
    }
    if TRAJECTORIES in document.data:
        data[TRAJECTORIES] = trajectories
    return attrs.evolve(document, data=data)


@only_areas.register(PublishedReport)
def _report(document: PublishedReport, areas: Sequence[str]) -> PublishedReport:
    if not areas:
        return document
    return report_areas(audited(document), areas)
