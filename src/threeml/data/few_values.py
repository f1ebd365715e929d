"""Text columns of few distinct values, searched for control characters on those values.

A file's ``area`` and ``sex`` hold a handful of distinct values among millions of rows.
Searching every row for a control character (a regular expression per value) cost the
users' cell checks about half their time at 1 million users; searching the distinct values
costs a hash aggregate of the column. When no distinct value holds one, no row does, and
the cell checks leave the search out (:func:`threeml.data.checks.cell_checks`, its
``searched``); when some value does, the rows are searched as before, and report exactly
which rows hold it.

Only text read as written is searched so (Parquet, Arrow): CSV text is trimmed first, and
its rows are searched as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ibis

from threeml.data.plausible import control_character_check
from threeml.records.schema import Table

__all__ = ["FEW_VALUES", "free_of_control_characters", "free_of_control_characters_sql"]

#: The text columns of each table that hold few distinct values whatever the extract's size
#: (an area, a sex).
FEW_VALUES: Mapping[str, tuple[str, ...]] = {"users": ("area", "sex")}


def _candidates(spec: Table, raw_schema: ibis.Schema) -> list[str]:
    return [
        name
        for name in FEW_VALUES.get(spec.name, ())
        if name in raw_schema and raw_schema[name].is_string()
    ]


def free_of_control_characters_sql(
    spec: Table, raw_schema: ibis.Schema, relation: str
) -> str | None:
    """DuckDB SQL answering, for each few-valued text column of ``relation``, whether one of
    its distinct values holds a control character (``None``: no such column)."""
    columns = _candidates(spec, raw_schema)
    if not columns:
        return None
    raw = ibis.table(raw_schema, name=relation)
    found = []
    for name in columns:
        values = raw.select(name).distinct()
        flag = control_character_check(name, values[name])[0]
        found.append(values.aggregate(found=flag.any().fill_null(False)))
    parts = ", ".join(f"({ibis.to_sql(expr, dialect='duckdb')})" for expr in found)
    return f"SELECT {parts}"


def free_of_control_characters(
    con: Any, spec: Table, raw_schema: ibis.Schema, relation: str
) -> frozenset[str]:
    """The few-valued text columns of ``relation`` (a DuckDB relation read as ``raw_schema``)
    none of whose values holds a control character (:func:`free_of_control_characters_sql`)."""
    sql = free_of_control_characters_sql(spec, raw_schema, relation)
    if sql is None:
        return frozenset()
    found = con.execute(sql).fetchone()
    columns = _candidates(spec, raw_schema)
    return frozenset(name for name, hit in zip(columns, found, strict=True) if not hit)
