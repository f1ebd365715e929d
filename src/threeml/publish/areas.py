"""An area filter: a published document with only some areas' rows (``--area``).

Filtering happens after publishing and after the disclosure audit of the whole publication
(:func:`~threeml.publish.audited.audited`), so every figure left is one the whole, audited
publication had: the rows kept are the published rows of those areas, the totals over all
areas keep the treatment the whole breakdown gave them (rounded beside a suppressed cell even
when that cell's row is left out), and no figure is recomputed from the rows that remain. The
filtered document carries the whole publication's audit outcome; leaving rows out only
narrows what a reader sees.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import singledispatch
from typing import Any

import attrs

from threeml.errors import ThreemlError
from threeml.publish.audited import audited
from threeml.publish.counts import PublishedCount
from threeml.publish.metrics import PublishedMetric

__all__ = ["AREA", "UnknownArea", "only_areas"]

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
            f"by area (areas: {listed}{more}); areas are the users table's area column"
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
    return attrs.evolve(
        document,
        breakdowns={**document.breakdowns, AREA: kept},
        withheld_suppressed=document.withheld_suppressed or dropped,
    )
