"""Lists of condition codes in a Parquet file: typed alike whether found clean or not.

Validation asks once whether every list already holds distinct codes in their one form
(:mod:`threeml.data.code_lists`); when it does, the typed view only sorts the lists. Either
way the typed lists are the codes in their one form, without empty codes or duplicates,
sorted, as the records hold them.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import ibis
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import VALID_CSV
from hypothesis import given, settings
from hypothesis import strategies as st

from threeml.data import Dataset
from threeml.data.cache import CACHE_DIR_VARIABLE, NO_CACHE_VARIABLE
from threeml.data.checks import typed_table
from threeml.data.code_lists import clean_code_lists
from threeml.records.codes import normalise_condition
from threeml.records.schema import TABLES

#: Codes in their one form, and codes written otherwise (case, spaces, hyphens, ends, empty,
#: a letter outside ASCII, a missing item).
CLEAN = ["copd", "diabetes", "heart_failure", "falls", "heart__failure", "x1"]
MESSY = ["COPD", " copd ", "heart failure", "Heart-Failure", "_falls_", "", "-", "Écosse", None]


def _expected(codes: list[str | None] | None) -> list[str]:
    """The typed list, by the records' rule."""
    found = {normalise_condition(code) for code in codes or [] if code is not None}
    return sorted(found - {""})


def _write(folder: Path, lists: list[list[str | None] | None]) -> None:
    for name, text in VALID_CSV.items():
        if name != "users":
            (folder / f"{name}.csv").write_text(text)
    users = [f"U{i + 1}" for i in range(max(3, len(lists)))]
    lists = [*lists, *[None] * (len(users) - len(lists))]
    table = pa.table(
        {"user_id": users, "area": ["Kent"] * len(users), "conditions": lists},
        schema=pa.schema(
            [("user_id", pa.string()), ("area", pa.string()), ("conditions", pa.list_(pa.string()))]
        ),
    )
    pq.write_table(table, folder / "users.parquet")


def _conditions(dataset: Dataset) -> dict[str, list[str]]:
    rows = dataset.table("users").select("user_id", "conditions").to_pyarrow().to_pylist()
    return {row["user_id"]: row["conditions"] for row in rows}


@pytest.fixture
def cache_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(NO_CACHE_VARIABLE, raising=False)
    monkeypatch.delenv(CACHE_DIR_VARIABLE, raising=False)


lists = st.one_of(
    st.none(),
    st.lists(st.sampled_from(CLEAN), max_size=4),
    st.lists(st.sampled_from(CLEAN + MESSY), max_size=4),
)


@settings(max_examples=25, deadline=None)
@given(st.lists(lists, min_size=1, max_size=8))
def test_typed_lists_are_alike_found_clean_or_not(drawn: list[list[str | None] | None]) -> None:
    users = TABLES["users"]
    raw = pa.table(
        {
            "_row": pa.array(range(len(drawn)), pa.int64()),
            **{
                col.name: pa.nulls(len(drawn), pa.string())
                for col in users.columns
                if col.name != "conditions"
            },
            "conditions": pa.array(drawn, pa.list_(pa.string())),
        }
    )
    con = duckdb.connect()
    con.register("raw_users", raw)
    schema = ibis.Schema.from_pyarrow(raw.schema)
    clean = clean_code_lists(con, users, schema, "raw_users")
    assert clean == ({"conditions"} if all(map(_clean, drawn)) else set())
    expected = [_expected(codes) for codes in drawn]
    for lists_clean in {frozenset(), clean}:
        typed = typed_table(users, ibis.table(schema, name="raw_users"), clean_lists=lists_clean)
        sql = ibis.to_sql(typed.order_by("_row").select("conditions"), dialect="duckdb")
        assert [row[0] for row in con.execute(str(sql)).fetchall()] == expected


def _clean(codes: list[str | None] | None) -> bool:
    """Whether a list is clean (by the definition: distinct codes each in its one form)."""
    if codes is None:
        return True
    return len(set(codes)) == len(codes) and all(code in CLEAN for code in codes)


def test_a_clean_column_is_kept_as_clean_and_a_messy_one_is_not(
    cache_on: None, tmp_path: Path
) -> None:
    clean, messy = tmp_path / "clean", tmp_path / "messy"
    clean.mkdir()
    messy.mkdir()
    _write(clean, [["heart_failure", "copd"], [], None])
    _write(messy, [["heart_failure", "copd"], ["COPD"], None])
    expected = {"U1": ["copd", "heart_failure"], "U2": [], "U3": []}
    validated = Dataset.from_folder(clean)
    assert validated.kept_validation.result.clean_lists == {"users": ("conditions",)}
    assert _conditions(validated) == expected
    kept = Dataset.from_folder(clean)  # answered from the validation kept
    assert kept.kept_validation.result == validated.kept_validation.result
    assert _conditions(kept) == expected
    found = Dataset.from_folder(messy)
    assert found.kept_validation.result.clean_lists == {}
    assert _conditions(found)["U2"] == ["copd"]
