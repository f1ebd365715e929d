"""Query criteria used by the plugin's counting definitions (``package.module:function``)."""

from __future__ import annotations

from collections.abc import Mapping

import ibis
import ibis.expr.types as ir

from threeml.records.periods import Period


def allocated_in_period(tables: Mapping[str, ir.Table], period: Period) -> ir.Table:
    """Users with an allocation to a trial arm dated in the period."""
    a = tables["allocations"]
    start = ibis.literal(period.start, type="date")
    end = ibis.literal(period.end, type="date")
    return a.filter(a.allocated_on >= start, a.allocated_on <= end).select("user_id").distinct()
