"""Lists of codes already written in their one form, found once when an extract is validated.

A list of condition codes is typed (:func:`threeml.data.checks.cells.typed_table`) by writing
each code in its one form (:func:`threeml.records.codes.normalise_condition`: lower case,
runs of white space and hyphens as one ``_``, no ``_`` at either end), dropping empty codes
and duplicates, and sorting. For a Parquet file the typed table is a view over the file, so
that work is done again on every read of the column: at 1 million users it was about 5 s a
read against 0.2 s for the column as stored.

Most extracts already write every code in its one form, once per list. Validation asks that
of each such column once (:func:`clean_code_lists`, one scan of the column), and when it
holds for every row the typed view only sorts each list (``NULL`` read as no codes), which
gives the same lists. The answer is kept with the validation (:mod:`threeml.data.cache`),
against the files' stamps, so a changed file is asked again.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.datatypes as dt

from threeml.data.sql import identifier
from threeml.records.schema import ColumnType, Table

__all__ = ["CLEAN_CODE", "clean_code_lists", "clean_code_lists_sql", "is_text_list"]

#: A code already in its one form: ASCII lower-case letters and digits, words joined by
#: ``_`` (never at either end). Such a code is left as it is by
#: :func:`~threeml.records.codes.normalise_condition`; anything else (upper case, spaces,
#: hyphens, other letters) is typed the long way.
CLEAN_CODE = "[a-z0-9]+(_+[a-z0-9]+)*"


def _candidates(spec: Table, raw_schema: ibis.Schema) -> list[str]:
    """The code-list columns of ``spec`` stored as lists of text in ``raw_schema``."""
    return [
        col.name
        for col in spec.columns
        if col.type is ColumnType.CODE_LIST
        and col.name in raw_schema
        and is_text_list(raw_schema[col.name])
    ]


def clean_code_lists_sql(spec: Table, raw_schema: ibis.Schema, relation: str) -> str | None:
    """DuckDB SQL answering, for each candidate column of ``relation``, whether every list in
    it is ``NULL`` or holds distinct codes each in its one form (``None``: no candidate)."""
    columns = _candidates(spec, raw_schema)
    if not columns:
        return None
    tests = []
    for name in columns:
        c = identifier(name)
        unclean = (
            f"list_filter({c}, x -> NOT coalesce(regexp_full_match(x, '{CLEAN_CODE}'), false))"
        )
        row = f"{c} IS NULL OR (len({unclean}) = 0 AND len(list_distinct({c})) = len({c}))"
        tests.append(f"coalesce(bool_and({row}), true) AS {identifier(name)}")
    return f"SELECT {', '.join(tests)} FROM {relation}"


def clean_code_lists(
    con: Any, spec: Table, raw_schema: ibis.Schema, relation: str
) -> frozenset[str]:
    """The code-list columns of ``relation`` (a DuckDB relation read as ``raw_schema``) whose
    every list is already clean (:func:`clean_code_lists_sql`)."""
    sql = clean_code_lists_sql(spec, raw_schema, relation)
    if sql is None:
        return frozenset()
    cursor = con.execute(sql)
    found = cursor.fetchone()
    names = [d[0] for d in cursor.description]
    return frozenset(name for name, clean in zip(names, found, strict=True) if clean)


def is_text_list(value_type: dt.DataType) -> bool:
    """Whether ``value_type`` is a list of text (the only lists :func:`clean_code_lists` asks
    about)."""
    return value_type.is_array() and value_type.value_type.is_string()
