"""One query for the aggregates over a whole table and over each grouping
(:func:`threeml.engine.groupings.aggregate_groupings`), as metrics and members-only counts read
their totals and breakdowns."""

from __future__ import annotations

import ibis
import pyarrow as pa

from threeml.engine.groupings import aggregate_groupings
from threeml.metrics.summaries import summarise_facts

CELLS = {
    "people": lambda t: t.count(),
    "days": lambda t: t.days.sum(),
}


def _table(rows: list[dict]) -> ibis.Table:
    schema = pa.schema([("area", pa.string()), ("sex", pa.string()), ("days", pa.int64())])
    return ibis.memtable(pa.Table.from_pylist(rows, schema=schema))


def test_a_null_group_is_a_group_and_not_the_total() -> None:
    table = _table(
        [
            {"area": "A", "sex": "f", "days": 3},
            {"area": None, "sex": "m", "days": 5},
            {"area": None, "sex": None, "days": 7},
        ]
    )
    total, groups = aggregate_groupings(table, CELLS, ["area", "sex"])
    assert total == {"people": 3, "days": 15}
    by_area = {row["area"]: (row["people"], row["days"]) for row in groups["area"]}
    assert by_area == {"A": (1, 3), None: (2, 12)}
    by_sex = {row["sex"]: (row["people"], row["days"]) for row in groups["sex"]}
    assert by_sex == {"f": (1, 3), "m": (1, 5), None: (1, 7)}


def test_no_rows_give_the_aggregates_of_no_rows_and_no_groups() -> None:
    total, groups = aggregate_groupings(_table([]), CELLS, ["area"])
    assert total == {"people": 0, "days": None}
    assert groups == {"area": []}


def test_summaries_give_zeros_and_one_empty_group_for_no_rows() -> None:
    facts = _table([]).rename(_by_area="area")
    kinds = {"people": "count", "days": "amount"}
    total, breakdowns = summarise_facts(facts, CELLS, kinds, ["area"])
    assert total == {"people": 0, "days": 0.0}
    assert breakdowns == {"area": [(None, {"people": 0, "days": 0.0})]}


def test_summaries_list_groups_in_order_with_the_null_group_last() -> None:
    facts = _table(
        [
            {"area": "B", "sex": "f", "days": 1},
            {"area": None, "sex": "f", "days": 2},
            {"area": "A", "sex": "f", "days": 4},
        ]
    ).rename(_by_area="area")
    kinds = {"people": "count", "days": "amount"}
    total, breakdowns = summarise_facts(facts, CELLS, kinds, ["area"])
    assert total == {"people": 3, "days": 7.0}
    assert [group for group, _ in breakdowns["area"]] == ["A", "B", None]
    assert breakdowns["area"][2][1] == {"people": 1, "days": 2.0}
