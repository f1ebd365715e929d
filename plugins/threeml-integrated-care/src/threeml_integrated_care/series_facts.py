"""What the measure kinds' series facts share: one store for the series, its members.

A kind that evaluates a whole series at once (``series_facts`` of a
:class:`~threeml_integrated_care.skeleton.CellMeasure`) builds its span-wide tables with
:func:`shared_series`, so they are stored once for the series when the intervals share a
session, and reads each interval's population from :func:`series_members`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

import ibis.expr.types as ir

from threeml.metrics.interval_cells import members_by_interval
from threeml.metrics.measures import MetricContext

__all__ = ["read_once", "series_members", "shared_series"]


def shared_series(
    contexts: Sequence[MetricContext], key: Hashable, build: Callable[[], ir.Table]
) -> Any:
    """``build()``, stored once for the series when the contexts share a session.

    The key is completed with the population's name and every interval's period.
    """
    first = contexts[0]
    if first.session is None:
        return build()
    from threeml.metrics.session import session_key

    periods = tuple(context.period for context in contexts)
    full = ("series", first.population.definition.name, periods, session_key(key))
    return first.session.shared(full, build)


def series_members(contexts: Sequence[MetricContext]) -> ir.Table:
    """Every interval's members (:func:`~threeml.metrics.interval_cells.members_by_interval`),
    stored once for the series."""
    return shared_series(contexts, ("members",), lambda: members_by_interval(contexts))


def read_once(context: MetricContext, key: Hashable, read: Callable[[], Any]) -> Any:
    """``read()`` once per evaluation (shared by the metrics and the intervals of a series)."""
    session = context.session
    if session is None:
        return read()
    if key not in session.values:
        session.values[key] = read()
    return session.values[key]
