"""Breakdown columns: what a requested breakdown name groups by, and how many groups it may have.

A breakdown whose groups are single values of a near-unique column (a year of birth,
a risk score) labels a suppressed cell with something that identifies a person. So
``birth_year`` groups by *age band at the period end* (``0-4`` … ``85-89``, ``90+``,
as coverage uses, ``unknown`` when missing), ``risk_score`` by fifths (``0-0.2``,
``0.2-0.4``, ``0.4-0.6``, ``0.6-0.8``, ``0.8-1``, ``unknown``); the bands can also be asked
for by name, ``age_band`` and ``risk_band``. An extract's extra users columns (GP practice,
locality, deprivation decile …) are kept as text and group like the schema's. Any other users
column with more than :data:`MAX_DISTINCT` distinct values is refused. ``area`` is the
publishing geography: its values are published areas, and it is not limited.
Counts (:func:`threeml.engine.evaluate.count_many`) and metrics
(:meth:`threeml.metrics.contract.MetricContext.grouped`) both group through here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from threeml.engine.errors import EvaluationError
from threeml.records.periods import Period

if TYPE_CHECKING:
    import ibis.expr.types as ir

__all__ = [
    "BANDED",
    "BAND_NAMES",
    "MAX_DISTINCT",
    "UNLIMITED",
    "BreakdownError",
    "age_band",
    "age_band_in",
    "breakdown_value",
    "check_cardinality",
    "risk_band",
    "user_breakdowns",
]

#: The most distinct values a breakdown column (other than a banded one or ``area``) may have.
MAX_DISTINCT = 50

#: Columns whose values are published geographies, not limited by :data:`MAX_DISTINCT`.
UNLIMITED = ("area",)

#: What ``unknown`` values are labelled.
UNKNOWN = "unknown"


class BreakdownError(EvaluationError):
    """A breakdown column has too many distinct values to publish safely."""


def age_band(users: ir.Table, period: Period) -> ir.Value:
    """The 5-year age band at the period end (``90+`` at the top, ``unknown`` when missing)."""
    import ibis  # loaded only when a breakdown is evaluated

    return age_band_in(users.birth_year, ibis.literal(period.end.year))


def age_band_in(birth_year: ir.IntegerValue, year: ir.IntegerValue) -> ir.Value:
    """The 5-year age band in ``year`` (a column in a series: each interval's end year)."""
    import ibis

    age = year - birth_year
    low = (age // 5) * 5
    label = low.cast("string") + "-" + (low + 4).cast("string")
    return ibis.cases(
        (birth_year.isnull(), ibis.literal(UNKNOWN)),
        (age >= 90, ibis.literal("90+")),
        (age < 0, ibis.literal(UNKNOWN)),
        else_=label,
    )


#: The upper bounds of the risk bands (each band holds ``low <= score < high``; 1 is in the last).
RISK_BANDS = ((0.2, "0-0.2"), (0.4, "0.2-0.4"), (0.6, "0.4-0.6"), (0.8, "0.6-0.8"))


def risk_band(users: ir.Table, period: Period) -> ir.Value:
    """The fifth of 0..1 the risk score lies in (``unknown`` when missing)."""
    import ibis

    score = users.risk_score
    cases = [(score.isnull(), ibis.literal(UNKNOWN))]
    cases += [(score < high, ibis.literal(label)) for high, label in RISK_BANDS]
    return ibis.cases(*cases, else_=ibis.literal("0.8-1"))


#: Breakdown names that group by a band of their column rather than its values: the column's
#: own name, or the band's (``--by age_band`` is ``--by birth_year``).
BANDED: dict[str, Callable[[ir.Table, Period], ir.Value]] = {
    "birth_year": age_band,
    "risk_score": risk_band,
    "age_band": age_band,
    "risk_band": risk_band,
}

#: The bands asked for by their own names, and the users column each bands.
BAND_NAMES: dict[str, str] = {"age_band": "birth_year", "risk_band": "risk_score"}


def user_breakdowns(users: ir.Table | None = None) -> list[str]:
    """Every breakdown name that groups users: the users columns (but ids and conditions), the
    bands by name and, given the dataset's ``users`` table, the extract's extra users columns
    (kept as text by loading: :attr:`threeml.records.schema.Table.keeps_extra_columns`)."""
    from threeml.records.schema import TABLES

    spec = TABLES["users"]
    columns = [c for c in spec.column_names if c not in ("user_id", "conditions")]
    extra = spec.extra_columns(users.columns) if users is not None else ()
    return [*columns, *BAND_NAMES, *extra]


def breakdown_value(users: ir.Table, name: str, period: Period) -> ir.Value:
    """What breakdown ``name`` groups ``users`` by: a band, or the column itself."""
    band = BANDED.get(name)
    return users[name] if band is None else band(users, period)


def check_cardinality(users: ir.Table, names: Sequence[str]) -> None:
    """Refuse any breakdown column of ``users`` with more than :data:`MAX_DISTINCT` values."""
    limited = [n for n in names if n not in BANDED and n not in UNLIMITED and n in users.columns]
    if not limited:
        return
    row = users.aggregate(**{n: users[n].nunique() for n in limited}).to_pyarrow().to_pylist()[0]
    for name in limited:
        found = int(row[name] or 0)
        if found > MAX_DISTINCT:
            raise BreakdownError(
                f"cannot break down by {name!r}: it has {found} distinct values and a "
                f"breakdown may have at most {MAX_DISTINCT}, so that no group's label "
                "identifies a person; band the column in the extract, or break down by "
                "another column"
            )
