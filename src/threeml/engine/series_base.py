"""The base of a series: one row per user, with what is about the user alone.

The criteria about the user alone, the breakdown columns (the year of birth when an age band
is asked for: the band is each interval's), and, for a definition with no enrolment
criterion, the user's number of enrolments and their record keys. The long tables meet the
base by the user's id, or by the user's number when they are keyed by numbers
(:mod:`threeml.engine.series_keys`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import ibis.expr.types as ir

from threeml.definitions import Criterion
from threeml.engine.breakdowns import BAND_NAMES, breakdown_value
from threeml.engine.cellkeys import KeyRequest, keyed
from threeml.engine.criteria import handler_for

if TYPE_CHECKING:
    from threeml.engine.series_facts import SeriesCompiler

#: The breakdowns whose value depends on the interval: the age band at its end.
AGE_BREAKDOWNS = ("birth_year", "age_band")
_AGE = AGE_BREAKDOWNS


def _owners(base: ir.Table, person: str, name: str) -> ir.Table:
    """The base keyed by the long tables' ``user_id`` (``person``), named ``name``."""
    if person == "user_id":
        return base.rename(**{name: "user_id"})
    return base.drop("user_id").rename(**{name: person})


def _base(
    compiler: SeriesCompiler, columns: Mapping[Criterion, str], user_columns: Sequence[str]
) -> ir.Table:
    """One row per user: the criteria about the user alone and the breakdown columns (the
    year of birth as ``_birth_year`` when an age band is asked for: the band is each
    interval's)."""
    users = compiler.users
    flags = {
        name: handler_for(c, compiler).user_flag(c, compiler, users)
        for c, name in columns.items()
        if not c.about_enrolments
    }
    grouping = {
        name: breakdown_value(users, name, compiler.period)
        for name in user_columns
        if name not in _AGE
    }
    if any(name in _AGE for name in user_columns):
        grouping["_birth_year"] = users[BAND_NAMES["age_band"]]
    return users.select("user_id", **grouping, **flags)


def _with_all_enrolments(
    compiler: SeriesCompiler, base: ir.Table, keys: KeyRequest | None
) -> ir.Table:
    """``base`` with each user's number of enrolments (``_nall``) and the sum of their record
    keys (``_nkall``, with ``keys``): the records of a definition with no enrolment criterion."""
    e = keyed(
        compiler.enrolments.select("user_id", "enrolment_id"), keys, _ek=("e", "enrolment_id")
    )
    sums = {"_nall": e.count().cast("int32")}
    if keys is not None:
        sums["_nkall"] = e._ek.sum().cast("int64")
    per = e.group_by("user_id").agg(**sums).rename(_au="user_id")
    joined = base.left_join(per, base.user_id == per._au)
    return joined.select(*base.columns, **{name: joined[name].fill_null(0) for name in sums})


def _all_enrolments(table: ir.Table) -> ir.Value:
    return table._nall


def _all_enrolment_keys(table: ir.Table) -> ir.Value:
    return table._nkall
