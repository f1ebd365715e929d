"""An area filter: a published document with only some areas' rows (``--area``).

It applies to one period's count or metric, to a series (every interval's counts and
metrics, and the stock and flow's groups) and to the report (:mod:`threeml.report.areas`).

Filtering happens after publishing and after the disclosure audit of the whole publication
(:func:`~threeml.publish.audited.audited`), so every figure left is one the whole, audited
publication had: the rows kept are the published rows of those areas, the totals over all
areas keep the treatment the whole breakdown gave them (rounded beside a suppressed cell even
when that cell's row is left out), and no figure is recomputed from the rows that remain. The
filtered document carries the whole publication's audit outcome; leaving rows out only
narrows what a reader sees, and a reader holding both the filtered and the whole publication
holds nothing the audit did not see. A series and a report say which areas they cover
(:func:`covering`): their figures over all areas stay labelled ``all`` and are over *all*
areas, never a total of the areas kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import singledispatch
from typing import Any

import attrs

from threeml.errors import ThreemlError
from threeml.publish.audit import AuditOutcome
from threeml.publish.audited import audited
from threeml.publish.counts import PublishedCount
from threeml.publish.metrics import PublishedMetric
from threeml.publish.series import PublishedSeries

__all__ = [
    "AREA",
    "NOT_SHOWN",
    "UnknownArea",
    "areas_asked",
    "covering",
    "only_areas",
    "outcome_for",
    "series_areas",
]

#: The breakdown an area filter applies to.
AREA = "area"


class UnknownArea(ThreemlError):
    """An area asked for is not among the areas of the published breakdown."""

    def __init__(self, missing: Sequence[str], known: Sequence[str]) -> None:
        self.missing, self.known = tuple(missing), tuple(known)
        listed = ", ".join(repr(a) for a in self.known[:20]) or "none"
        more = f" and {len(self.known) - 20} more" if len(self.known) > 20 else ""
        super().__init__(
            f"--area {', '.join(repr(a) for a in self.missing)}: no such area in the breakdown "
            f"by area (areas: {listed}{more}); areas are the values of the users table's area "
            "column, and `threeml count in-receipt --data DATA --period PERIOD --format csv` "
            "lists every area with people in the period"
        )


def areas_asked(values: Iterable[str]) -> tuple[str, ...]:
    """The areas of ``--area`` values, each repeatable or a comma-separated list, in order."""
    found = [a.strip() for value in values for a in str(value).split(",") if a.strip()]
    return tuple(dict.fromkeys(found))


#: What a filtered output's audit outcome says instead of naming a cell of an area left out.
NOT_SHOWN = "a cell of an area not shown"


def outcome_for(outcome: Any, known: Iterable[str], areas: Sequence[str]) -> Any:
    """The audit's ``outcome`` as a filtered output states it: the cells and tables it names
    in areas left out (of ``known``) replaced by :data:`NOT_SHOWN`, their number kept."""
    if not isinstance(outcome, AuditOutcome):
        return outcome
    others = [a for a in known if a not in set(areas)]

    named = [re.compile(rf"(?<!\w){re.escape(a)}(?!\w)") for a in others]

    def shown(label: str) -> str:
        return NOT_SHOWN if any(p.search(label) for p in named) else label

    return attrs.evolve(
        outcome,
        added=tuple(shown(label) for label in outcome.added),
        withheld=tuple(shown(label) for label in outcome.withheld),
    )


def covering(areas: Sequence[str]) -> str:
    """What a filtered output says of the areas it covers."""
    return (
        f"areas: only the rows of {', '.join(areas)} are shown; the figures of group 'all' "
        "(and the totals) are over all areas, as published with every area"
    )


def _kept(rows: Iterable[Any], areas: Sequence[str]) -> tuple[tuple[Any, ...], bool]:
    rows = tuple(rows)
    known = [str(r.group) for r in rows]
    missing = [a for a in areas if a not in known]
    if missing:
        raise UnknownArea(missing, sorted(known))
    wanted = set(areas)
    kept = tuple(r for r in rows if str(r.group) in wanted)
    dropped_suppressed = any(r.suppressed for r in rows if str(r.group) not in wanted)
    return kept, dropped_suppressed


@singledispatch
def only_areas(document: Any, areas: Sequence[str]) -> Any:
    """``document`` with only the rows of ``areas`` in its breakdown by area (others as they
    are); raises :class:`UnknownArea` for an area the breakdown does not have."""
    raise TypeError(f"an area filter does not apply to a {type(document).__name__}")


@only_areas.register(PublishedCount)
@only_areas.register(PublishedMetric)
def _breakdowns(document: Any, areas: Sequence[str]) -> Any:
    if not areas or AREA not in document.breakdowns:
        return document
    document = audited(document)
    kept, dropped = _kept(document.breakdowns[AREA], areas)
    known = [str(r.group) for r in document.breakdowns[AREA]]
    return attrs.evolve(
        document,
        breakdowns={**document.breakdowns, AREA: kept},
        withheld_suppressed=document.withheld_suppressed or dropped,
        audit=outcome_for(document.audit, known, areas),
    )


def _group(value: Any) -> str:
    return "(missing)" if value is None else str(value)


def _only(document: Any, wanted: set[str]) -> Any:
    """A count or metric of a series with only the ``wanted`` areas' rows (no audit)."""
    if document is None or AREA not in document.breakdowns:
        return document
    rows = document.breakdowns[AREA]
    kept = tuple(r for r in rows if _group(r.group) in wanted)
    dropped = any(r.suppressed for r in rows if _group(r.group) not in wanted)
    return attrs.evolve(
        document,
        breakdowns={**document.breakdowns, AREA: kept},
        withheld_suppressed=document.withheld_suppressed or dropped,
    )


def series_areas(document: PublishedSeries, areas: Sequence[str]) -> PublishedSeries:
    """``document`` (a series already audited, alone or within a report) with only the rows
    of ``areas`` in every breakdown by area and in the stock and flow by area, and a note
    saying so; raises :class:`UnknownArea` for an area no interval has."""
    if not areas:
        return document
    known: set[str] = set()
    for found in [*document.counts.values(), *document.metrics.values()]:
        for one in found:
            if one is not None:
                known |= {_group(r.group) for r in one.breakdowns.get(AREA, ())}
    flow = document.flow
    by_area = flow is not None and flow.result.by == AREA
    if by_area:
        known |= {_group(g) for g in flow.groups}
    missing = [a for a in areas if a not in known]
    if missing:
        raise UnknownArea(missing, sorted(known))
    wanted = set(areas)
    counts = {n: tuple(_only(c, wanted) for c in cs) for n, cs in document.counts.items()}
    metrics = {n: tuple(_only(m, wanted) for m in ms) for n, ms in document.metrics.items()}
    if by_area:
        values = {
            key: value
            for key, value in flow.values.items()
            if key[3] is None or _group(flow.groups[key[3]]) in wanted
        }
        flow = attrs.evolve(flow, values=values)
    return attrs.evolve(
        document,
        counts=counts,
        metrics=metrics,
        flow=flow,
        notes=(*document.notes, covering(areas)),
        audit=outcome_for(document.audit, known, areas),
    )


@only_areas.register(PublishedSeries)
def _series(document: PublishedSeries, areas: Sequence[str]) -> PublishedSeries:
    if not areas:
        return document
    return series_areas(audited(document), areas)
