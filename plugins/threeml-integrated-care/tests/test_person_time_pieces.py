"""Person-time pieces: each window's part not covered by earlier ones, worked by hand.

:func:`~threeml_integrated_care.facts.pieces` replaces merging windows into islands for
person-time: the pieces of a person are disjoint and cover exactly the union of their
windows, so their days sum to the days in receipt and an event dated in an overlap is
counted once.
"""

from __future__ import annotations

from datetime import date

import ibis
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st
from threeml_integrated_care.facts import islands, pieces


def _windows(rows: list[tuple[str, str, date, date]]) -> ibis.Table:
    users, ids, los, his = zip(*rows, strict=True) if rows else ((), (), (), ())
    return ibis.memtable(
        pa.table(
            {
                "user_id": pa.array(users, pa.string()),
                "enrolment_id": pa.array(ids, pa.string()),
                "annual_cost": pa.array([None] * len(rows), pa.float64()),
                "lo": pa.array(los, pa.date32()),
                "hi": pa.array(his, pa.date32()),
            }
        )
    )


_CON = None


def _run(table: ibis.Table) -> list[dict]:
    global _CON
    if _CON is None:
        _CON = ibis.duckdb.connect()
    return _CON.to_pyarrow(table).to_pylist()


def test_pieces_worked_example() -> None:
    d = date
    rows = [
        # a: [1..10] and a nested [3..5] and an overlapping [8..12] and a touching [13..13]
        ("a", "e1", d(2013, 1, 1), d(2013, 1, 10)),
        ("a", "e2", d(2013, 1, 3), d(2013, 1, 5)),
        ("a", "e3", d(2013, 1, 8), d(2013, 1, 12)),
        ("a", "e4", d(2013, 1, 13), d(2013, 1, 13)),
        # b: two separate windows with a gap
        ("b", "e5", d(2013, 2, 1), d(2013, 2, 2)),
        ("b", "e6", d(2013, 2, 5), d(2013, 2, 5)),
    ]
    found = {r["enrolment_id"]: (r["plo"], r["days"]) for r in _run(pieces(_windows(rows)))}
    assert found["e1"] == (d(2013, 1, 1), 10)
    assert found["e2"][1] == 0  # nested: nothing new
    assert found["e3"] == (d(2013, 1, 11), 2)  # 11 and 12
    assert found["e4"] == (d(2013, 1, 13), 1)
    assert found["e5"] == (d(2013, 2, 1), 2)
    assert found["e6"] == (d(2013, 2, 5), 1)


_day = st.integers(min_value=0, max_value=40)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b"]), _day, st.integers(min_value=0, max_value=15)),
        max_size=8,
    )
)
def test_pieces_cover_the_union_once(spec) -> None:
    base = date(2013, 1, 1).toordinal()
    rows = [
        (user, f"e{i}", date.fromordinal(base + lo), date.fromordinal(base + lo + length))
        for i, (user, lo, length) in enumerate(spec)
    ]
    table = _windows(rows)
    got: dict[str, set[int]] = {}
    for r in _run(pieces(table)):
        days = range(r["plo"].toordinal(), r["hi"].toordinal() + 1) if r["days"] else range(0)
        mine = got.setdefault(r["user_id"], set())
        assert not mine & set(days), "pieces overlap"
        assert len(days) == r["days"]
        mine |= set(days)
    union: dict[str, set[int]] = {}
    for user, _, lo, hi in rows:
        union.setdefault(user, set()).update(range(lo.toordinal(), hi.toordinal() + 1))
    assert got == union
    merged = {}
    for r in _run(islands(table)):
        merged[r["user_id"]] = merged.get(r["user_id"], 0) + (r["hi"] - r["lo"]).days + 1
    assert merged == {user: len(days) for user, days in union.items()}
