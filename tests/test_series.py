"""Counting definitions over a series of intervals: one pass equals one evaluation per interval.

:func:`threeml.engine.series.count_series` evaluates every interval in one pass over the whole
span; :func:`~threeml.engine.series.count_series_per_interval` evaluates each interval alone.
A Hypothesis property checks they agree in every figure on random extracts and spans; worked
examples pin that each interval is its own period for every standard definition; and a
plugin's criterion kind (which cannot go interval-aware) still gives the right series through
the per-interval fallback.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
import strategies
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_criterion_kinds import BornBefore, Plugin, _definition
from threeml_counting.definitions import STANDARD

from threeml.definitions import (
    ContactsAtLeast,
    EnrolmentOverlaps,
    FirstInstalledIn,
    HasCondition,
    MemberOf,
    RiskAtLeast,
)
from threeml.definitions.cellkey import CellKeyMethod
from threeml.definitions.kinds import registered_kinds
from threeml.engine import series
from threeml.engine.series import (
    count_series,
    count_series_per_interval,
    goes_together,
    in_one_pass,
)
from threeml.engine.series_facts import SeriesCompiler
from threeml.records.codes import Unit
from threeml.records.intervals import split
from threeml.records.periods import Period
from threeml.testing import isolated_registry, make_dataset

SLOW = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
BY = ("area", "age_band", "service_kind", "sector")
SEED = {"THREEML_CELL_KEY_SEED": "series-test-seed"}


def assert_same_series(one_pass: dict[str, Any], per_interval: dict[str, Any]) -> None:
    """Every figure of every interval agrees: counts, users, records, considered, both
    attrition forms, breakdowns and every cell key (a result's equality covers them all)."""
    assert one_pass.keys() == per_interval.keys()
    for name, results in one_pass.items():
        expected = per_interval[name]
        assert len(results) == len(expected)
        for got, want in zip(results, expected, strict=True):
            assert got.period == want.period
            assert (got.count, got.users, got.records, got.considered) == (
                want.count,
                want.users,
                want.records,
                want.considered,
            ), f"{name} in {got.period}"
            assert got.attrition == want.attrition, f"{name} in {got.period}"
            assert dict(got.breakdowns) == dict(want.breakdowns), f"{name} in {got.period}"
            assert got.cell_keys == want.cell_keys, f"{name} in {got.period}"
            assert got == want


@st.composite
def spans(draw: st.DrawFn) -> tuple[Period, str]:
    """A span around the generated extracts' dates, often starting and ending mid-interval,
    and a step; a monthly span is kept short so that the per-interval way stays cheap."""
    every = draw(st.sampled_from(["month", "quarter", "year"]))
    longest = {"month": 150, "quarter": 400, "year": 800}[every]
    start = strategies.day(draw(st.integers(-60, strategies.SPAN)))
    length = draw(st.integers(0, longest))
    return Period(start, start + timedelta(days=length)), every


@settings(SLOW, max_examples=strategies.examples(6))
@given(st.data())
def test_one_pass_equals_each_interval_alone(data: st.DataObject) -> None:
    extract = data.draw(strategies.extracts(), "extract")
    span, every = data.draw(spans(), "span")
    extra = [data.draw(strategies.definitions(name=f"x{i}"), f"definition {i}") for i in range(2)]
    definitions = [*STANDARD, *extra]
    keys = CellKeyMethod() if data.draw(st.booleans(), "cell keys") else None
    # One user breakdown (not the age band) goes by runs and contact months (half the
    # examples: the generated enrolments span many months, restart and leave gaps); the age
    # band, several breakdowns or one from the enrolments by (unit, interval) rows.
    by = data.draw(st.sampled_from([("area",), ("area",), ("age_band",), BY]), "by")
    # By runs, the user flags are built per slice of the people above a number of them.
    per_slice = data.draw(st.sampled_from([series.PEOPLE_PER_SLICE, 1, 4]), "people per slice")
    intervals = split(span, every)
    dataset = extract.dataset()
    with (
        mock.patch.dict(os.environ, SEED),
        mock.patch.object(series, "PEOPLE_PER_SLICE", per_slice),
    ):
        one_pass = count_series(definitions, dataset, intervals, by=by, cell_keys=keys)
        alone = count_series_per_interval(definitions, dataset, intervals, by=by, cell_keys=keys)
    assert_same_series(one_pass, alone)
    # Membership per interval reads the long tables filtered to the interval.
    k = data.draw(st.integers(0, len(intervals) - 1), "interval")
    for definition in definitions:
        got, want = one_pass[definition.name][k], alone[definition.name][k]
        assert got.membership().equals(want.membership()), definition.name
        assert got.members() == want.members()
        expr, reference = got.members_expr(), want.members_expr()
        assert set(expr.execute().user_id) == set(reference.execute().user_id)


# Each interval is its own period: worked by hand for every standard definition, over the
# months of 2013's first quarter. Active windows: [01-04, 01-31], [02-01, 02-28], [03-04,
# 03-31]; census weeks: [01-25, 01-31], [02-22, 02-28], [03-25, 03-31].
WORKED = dict(
    users="""
        user_id area conditions risk_score
        u1      A    copd       0.5
        u2      A    -          -
        u3      B    -          0.7
        u4      B    -          -
        u5      A    -          -
    """,
    enrolments="""
        enrolment_id user_id service_id referred_on installed_on ended_on
        e1           u1      th         -           2012-06-01   2013-02-10
        e2           u2      tc         2013-01-20  2013-02-05   -
        e3           u3      tc         -           2012-01-01   -
        e3b          u3      th         -           2013-03-03   -
        e4           u4      tc         -           2012-01-01   -
        e5           u5      tc         -           2013-01-20   2013-01-24
    """,
    contacts="""
        user_id enrolment_id date       kind
        u1      e1           2013-01-02 reading
        u1      e1           2013-01-10 reading
        u1      e1           2013-01-20 reading
        u1      e1           2013-01-31 reading
        u1      e1           2013-02-01 reading
        u1      e1           2013-02-05 reading
        u1      e1           2013-02-10 reading
        u1      e1           2013-02-11 reading
        u2      e2           2013-01-25 test_call
        u2      e2           2013-03-04 alarm_call
        u4      e4           2013-01-03 heartbeat
        u4      e4           2013-02-01 heartbeat
        u4      e4           2013-03-03 heartbeat
    """,
)

#: Who counts in January, February and March (enrolment ids for connections).
EXPECTED: dict[str, tuple[set[str], set[str], set[str]]] = {
    # e5 installed in January, e2 in February (referred in January), e3b in March.
    "connections": ({"e5"}, {"e2"}, {"e3b"}),
    "referred": ({"u2"}, set(), set()),
    # e1 ends mid-series (10 February); e5 lives five days in January.
    "in-receipt": ({"u1", "u3", "u4", "u5"}, {"u1", "u2", "u3", "u4"}, {"u2", "u3", "u4"}),
    # e5 ends the day before January's census week; e1 before February's.
    "census": ({"u1", "u3", "u4"}, {"u2", "u3", "u4"}, {"u2", "u3", "u4"}),
    # u3's telehealth in March is not a first installation: telecare since 2012.
    "new-users": ({"u5"}, {"u2"}, set()),
    "telehealth": ({"u1"}, {"u1"}, {"u3"}),
    # u4's contacts on 3 January and 3 March are the day before those months' windows; u2's
    # test call on 25 January precedes its installation, its alarm call opens March's window.
    "active": ({"u1"}, {"u1", "u4"}, {"u2"}),
    # Four readings in January (2 January counts for the period, not for the active window);
    # three in February (11 February is after e1 ended).
    "active-telehealth": ({"u1"}, set(), set()),
    "ltc-telehealth": ({"u1"}, set(), set()),
    "high-risk": ({"u1", "u3"}, {"u1", "u3"}, {"u3"}),
    # Telecare (social care) and, from 3 March, telehealth (health).
    "multi-sector": (set(), set(), {"u3"}),
}


@pytest.fixture(scope="module")
def worked_series() -> dict[str, Any]:
    dataset = make_dataset(**WORKED)
    intervals = split("2013-01-01:2013-03-31", "month")
    return {
        "one pass": count_series(STANDARD, dataset, intervals, by=("area",)),
        "alone": count_series_per_interval(STANDARD, dataset, intervals, by=("area",)),
    }


def test_the_worked_example_covers_every_standard_definition() -> None:
    assert set(EXPECTED) == {d.name for d in STANDARD}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_interval_is_its_own_period(worked_series: dict[str, Any], name: str) -> None:
    for way in ("one pass", "alone"):
        results = worked_series[way][name]
        assert [r.period.start.month for r in results] == [1, 2, 3]
        assert [r.members() for r in results] == list(EXPECTED[name]), way
        assert [r.count for r in results] == [len(m) for m in EXPECTED[name]], way
    assert_same_series(
        {name: worked_series["one pass"][name]}, {name: worked_series["alone"][name]}
    )


def test_user_criteria_alone_are_counted_once_for_every_interval(
    worked_series: dict[str, Any],
) -> None:
    # high-risk without its first criterion: the risk score alone, the same every month.
    for result in worked_series["one pass"]["high-risk"]:
        assert result.considered == 5
        assert result.attrition[0].leave_one_out + result.count == 2  # u1 and u3


def test_the_standard_definitions_go_in_one_pass() -> None:
    dataset = make_dataset(**WORKED)
    compiler = SeriesCompiler(dataset, split("2013", "month"))
    assert all(in_one_pass(d, compiler) for d in STANDARD)


# A plugin's kind cannot go interval-aware: the definitions using it are evaluated interval by
# interval, beside the others' one pass.


# The plugin kind of test_criterion_kinds ("born before a year").
OLDER = _definition("series.older", EnrolmentOverlaps(), BornBefore(1940))
OLDER_ENROLMENTS = _definition(
    "series.older-enrolments", EnrolmentOverlaps(), BornBefore(1940), unit="enrolments"
)
THROUGH = _definition("series.through", MemberOf("in-receipt"), BornBefore(1960))


def test_a_plugin_kind_falls_back_to_each_interval_alone() -> None:
    registry = isolated_registry(
        ("t", Plugin()), definitions=[OLDER, OLDER_ENROLMENTS, THROUGH, *STANDARD]
    )
    dataset = make_dataset(
        users="""
            user_id area birth_year
            u1      A    1930
            u2      A    1950
            u3      B    -
            u4      B    1935
        """,
        enrolments="""
            enrolment_id user_id service_id installed_on ended_on
            e1           u1      tc         2012-06-01   2013-02-14
            e1b          u1      th         2013-02-01   -
            e2           u2      tc         2012-06-01   -
            e3           u3      tc         2012-06-01   -
            e4           u4      tc         2013-03-20   -
        """,
    )
    intervals = split("2013-01-15:2013-04-10", "month")
    compiler = SeriesCompiler(dataset, intervals, registry.counting, registered_kinds(registry))
    definitions = [OLDER, OLDER_ENROLMENTS, THROUGH, *STANDARD[:3]]
    assert [in_one_pass(d, compiler) for d in definitions] == [False] * 3 + [True] * 3
    assert [goes_together(d, compiler) for d in definitions] == [True, False, True] + [True] * 3
    one_pass = count_series(definitions, dataset, intervals, registry=registry)
    assert_same_series(
        one_pass, count_series_per_interval(definitions, dataset, intervals, registry=registry)
    )
    assert [r.members() for r in one_pass[OLDER.name]] == [
        {"u1"},
        {"u1"},
        {"u1", "u4"},
        {"u1", "u4"},
    ]
    assert one_pass[OLDER_ENROLMENTS.name][1].members() == {"e1", "e1b"}
    assert one_pass[THROUGH.name][0].members() == {"u1", "u2"}


def test_an_empty_series_has_no_results() -> None:
    dataset = make_dataset(**WORKED)
    assert count_series(STANDARD, dataset, ()) == {d.name: () for d in STANDARD}


# Runs: a person's months cut only where something about them changes. Worked by hand over the
# first half of 2013: u1 has two runs in area A with a gap in March (e1 ends 14 February, e1b
# starts 20 April); u2 is in receipt throughout in area A; u3 (area B) re-starts telehealth the
# day after it ended (one run), with readings in March and May. Active windows: the last 28
# days of each month; census weeks: its last 7 days.
RUNS = dict(
    users="""
        user_id area risk_score
        u1      A    -
        u2      A    -
        u3      B    0.9
    """,
    enrolments="""
        enrolment_id user_id service_id installed_on ended_on
        e1           u1      tc         2013-01-10   2013-02-14
        e1b          u1      tc         2013-04-20   -
        e2           u2      tc         2012-05-01   -
        e3           u3      th         2012-11-01   2013-03-31
        e3b          u3      th         2013-04-01   -
    """,
    contacts="""
        user_id enrolment_id date       kind
        u1      e1           2013-02-05 alarm_call
        u1      e1           2013-03-05 alarm_call
        u3      e3           2013-03-03 reading
        u3      e3           2013-03-10 reading
        u3      e3           2013-03-17 reading
        u3      e3           2013-03-24 reading
        u3      e3b          2013-05-10 reading
        u3      e3b          2013-05-20 reading
    """,
)

#: Who counts in January .. June.
RUNS_EXPECTED = {
    "in-receipt": [{"u1", "u2", "u3"}] * 2 + [{"u2", "u3"}] + [{"u1", "u2", "u3"}] * 3,
    # e1 ends before February's census week (22-28 February).
    "census": [{"u1", "u2", "u3"}] + [{"u2", "u3"}] * 2 + [{"u1", "u2", "u3"}] * 3,
    # u1's second run is not a first installation.
    "new-users": [{"u1"}] + [set()] * 5,
    "telehealth": [{"u3"}] * 6,
    "high-risk": [{"u3"}] * 6,
    # 5 March is after e1 ended: it does not count, and u1 is not active in March.
    "active": [set(), {"u1"}, {"u3"}, set(), {"u3"}, set()],
    # Four readings in March; two in May.
    "active-telehealth": [set(), set(), {"u3"}, set(), set(), set()],
}


@pytest.fixture(scope="module")
def runs_series() -> dict[str, Any]:
    import threeml.engine.series_tables as facts

    dataset = make_dataset(**RUNS)
    intervals = split("2013-01-01:2013-06-30", "month")
    with mock.patch.object(facts, "contact_months", wraps=facts.contact_months) as months:
        one_pass = count_series(STANDARD, dataset, intervals, by=("area",))
    return {
        "one pass": one_pass,
        "alone": count_series_per_interval(STANDARD, dataset, intervals, by=("area",)),
        "contact months": months.call_count,
    }


def test_runs_and_contact_months_give_each_interval_alone(runs_series: dict[str, Any]) -> None:
    assert runs_series["contact months"] == 1  # the one pass went by runs and contact months
    assert_same_series(runs_series["one pass"], runs_series["alone"])
    for name, expected in RUNS_EXPECTED.items():
        assert [r.members() for r in runs_series["one pass"][name]] == expected, name


def test_two_runs_in_one_area_are_counted_in_their_months_only(
    runs_series: dict[str, Any],
) -> None:
    in_receipt = runs_series["one pass"]["in-receipt"]
    by_area = [{row.value: row.count for row in r.breakdowns["area"]} for r in in_receipt]
    assert by_area == [{"A": 2, "B": 1}] * 2 + [{"A": 1, "B": 1}] + [{"A": 2, "B": 1}] * 3
    # Records: e1 in January and February, none of u1's in March, e1b from April; u3's one
    # enrolment in each month (e3 to March, e3b from April).
    assert [r.records for r in in_receipt] == [3, 3, 2, 3, 3, 3]
    # Active: u1's one enrolment in February, through its contact alone.
    assert [r.records for r in runs_series["one pass"]["active"]] == [0, 1, 1, 0, 1, 0]
    # Attrition of active-telehealth in May: telehealth (u3) then 4 readings (nobody).
    may = runs_series["one pass"]["active-telehealth"][4]
    assert [s.remaining for s in may.attrition] == [1, 0]
    assert [s.leave_one_out for s in may.attrition] == [0, 1]


# Numbers for people and enrolments: by runs, the long tables are keyed by numbers made once
# (threeml.engine.series_keys), and text ids come back only for members and cell keys. The
# extract of RUNS with ids that look like numbers, none its own row's number, so that a text id
# read where a number belongs (or the reverse) would name someone else.
_IDS = {"u1": "1", "u2": "0", "u3": "2", "e1b": "0", "e1": "4", "e2": "3", "e3": "1", "e3b": "2"}


def _renamed(text: str) -> str:
    for old, new in sorted(_IDS.items(), key=lambda item: -len(item[0])):
        text = text.replace(f" {old} ", f" {new} ").replace(
            f"\n        {old} ", f"\n        {new} "
        )
    return text


def _by_area_both_ways(dataset: Any, intervals: Any) -> dict[str, Any]:
    """The standard definitions by area with cell keys in one pass, checked equal to each
    interval alone."""
    keys = CellKeyMethod()
    with mock.patch.dict(os.environ, SEED):
        one_pass = count_series(STANDARD, dataset, intervals, by=("area",), cell_keys=keys)
        alone = count_series_per_interval(
            STANDARD, dataset, intervals, by=("area",), cell_keys=keys
        )
    assert_same_series(one_pass, alone)
    return one_pass


def test_runs_key_their_long_tables_by_numbers_and_give_back_the_text_ids() -> None:
    from threeml.engine.series_facts import INTERVAL
    from threeml.engine.series_tables import series_tables

    numbered = {name: _renamed(table) for name, table in RUNS.items()}
    dataset = make_dataset(**numbered)
    intervals = split("2013-01-01:2013-06-30", "month")
    one_pass = _by_area_both_ways(dataset, intervals)
    for name, expected in RUNS_EXPECTED.items():
        want = [{_IDS[u] for u in members} for members in expected]
        assert [r.members() for r in one_pass[name]] == want, name
    # The long tables of runs are keyed by integers (the base keeps the text ids beside them).
    compiler = SeriesCompiler(dataset, intervals)
    columns = {c: f"c{j}" for j, c in enumerate(STANDARD[2].criteria)}
    tables = series_tables(compiler, columns, ["area"], None, lambda e, _: e, stream=True)
    assert tables.runs and tables.person == "_pn"
    assert tables.flags.schema()["user_id"].is_integer()
    assert tables.base.schema()["user_id"].is_string()
    assert INTERVAL in tables.flags.columns


def test_slices_of_the_people_stack_into_the_same_tables_and_figures(
    runs_series: dict[str, Any],
) -> None:
    """Above a number of people, the runs' user flags are built per slice of the people
    (each person in one slice) and stacked: the same rows, the same figures."""
    from threeml.engine.series_tables import series_tables

    dataset = make_dataset(**RUNS)
    intervals = split("2013-01-01:2013-06-30", "month")
    compiler = SeriesCompiler(dataset, intervals)
    columns = {c: f"c{j}" for j, c in enumerate(STANDARD[2].criteria)}
    flags = {}
    for per_slice in (None, 1, 2):
        tables = series_tables(
            compiler,
            columns,
            ["area"],
            None,
            lambda e, _: e,
            stream=True,
            people_per_slice=per_slice,
        )
        flags[per_slice] = tables.flags.order_by(["user_id", "_i"]).to_pyarrow()
    assert flags[1] == flags[None] and flags[2] == flags[None]
    assert flags[None].num_rows > 3  # several runs of several people
    with mock.patch.object(series, "PEOPLE_PER_SLICE", 1):
        one_pass = count_series(STANDARD, dataset, intervals, by=("area",))
    assert_same_series(one_pass, runs_series["alone"])


def test_rows_are_counted_with_a_filter_and_numbers_summed() -> None:
    """The long tables' counts of rows (user flags, contact counts, figures) are counts with
    a filter: the number of true rows per group, 0 (not NULL) where no row is true, NULL
    rows not counted; a number (a plugin's contact test may give one) is summed."""
    import ibis
    import pyarrow as pa

    from threeml.engine.series_aggregates import count_where

    rows = pa.table(
        {
            "g": [1, 1, 1, 2, 2, 3],
            "b": [True, False, True, False, None, None],
            "n": [2, 0, 3, 1, 1, 4],
        }
    )
    t = ibis.memtable(rows)
    found = t.group_by("g").agg(b=count_where(t, t.b), n=count_where(t, t.n)).order_by("g")
    assert "COUNT(*) FILTER" in ibis.to_sql(found, dialect="duckdb")
    got = ibis.duckdb.connect().to_pyarrow(found).to_pylist()
    assert got == [{"g": 1, "b": 2, "n": 5}, {"g": 2, "b": 0, "n": 2}, {"g": 3, "b": 0, "n": 4}]


def test_records_through_contacts_alone_keep_their_cell_keys() -> None:
    """A month whose records come only through contacts (u1's e1 in February, for ``active``)
    has the key sum of those records, as the month alone has; the run's own key sum is empty
    (no row contributes), which must not blank the contact months' keys (found by the
    differential test: the records' cell key was 0 instead of the enrolments' keys' sum)."""
    dataset = make_dataset(**RUNS)
    intervals = split("2013-01-01:2013-06-30", "month")
    one_pass = _by_area_both_ways(dataset, intervals)
    february = one_pass["active"][1]
    assert february.records == 1
    assert february.cell_keys.records > 0


# Records through contacts alone: a definition whose record set mixes a criterion read from
# contacts with one read from enrolments. In the contact months each contact row says whether
# its own enrolment contributes to the other criterion in that month (no join with the runs'
# facts): an enrolment contributing through both is one record, not two. Over 2013's first
# quarter: u1 has telehealth (eT) and telecare (eC) throughout, with a call on eC in January,
# a reading on eT in February and both in March; u2's first installation (eN) is on 10
# February, with calls in February and March.
MIXED = _definition(
    "t.telehealth-and-used", EnrolmentOverlaps(service_kinds={"telehealth"}), ContactsAtLeast()
)
NEW_AND_USED = _definition("t.new-and-used", FirstInstalledIn(), ContactsAtLeast())
MIXED_EXTRACT = dict(
    users="""
        user_id area
        u1      A
        u2      A
    """,
    enrolments="""
        enrolment_id user_id service_id installed_on ended_on
        eT           u1      th         2012-06-01   -
        eC           u1      tc         2012-06-01   -
        eN           u2      tc         2013-02-10   -
    """,
    contacts="""
        user_id enrolment_id date       kind
        u1      eC           2013-01-15 alarm_call
        u1      eT           2013-02-15 reading
        u1      eC           2013-03-05 alarm_call
        u1      eT           2013-03-06 reading
        u2      eN           2013-02-20 alarm_call
        u2      eN           2013-03-20 alarm_call
    """,
)


def test_records_through_contacts_alone_are_read_from_each_contact_row() -> None:
    import threeml.engine.series_tables as facts

    dataset = make_dataset(**MIXED_EXTRACT)
    intervals = split("2013-01-01:2013-03-31", "month")
    definitions = [MIXED, NEW_AND_USED]
    with mock.patch.object(facts, "contact_months", wraps=facts.contact_months) as months:
        one_pass = count_series(definitions, dataset, intervals, by=("area",))
    assert months.call_count == 1  # by runs and contact months
    assert_same_series(
        one_pass, count_series_per_interval(definitions, dataset, intervals, by=("area",))
    )
    mixed, new = one_pass[MIXED.name], one_pass[NEW_AND_USED.name]
    assert [r.count for r in mixed] == [1, 1, 1]
    # January: eT (telehealth) and eC (its call alone); February: eT (both); March: both.
    assert [r.records for r in mixed] == [2, 1, 2]
    # u2 in February only; eN contributes through both criteria: one record.
    assert [(r.count, r.records) for r in new] == [(0, 0), (1, 1), (0, 0)]


# Contact months meet the runs only where a definition with criteria read from runs can hold.
# Over 2013's first quarter: u1 (area A, copd) has telehealth (eT) with a reading in January
# and March; u2 (area B) has telecare (eC) with alarm calls in February and March. "Read with
# a condition" names a criterion read from contacts and one about the user alone: its months
# meet the user's row; "telehealth and readings" names one read from runs, so the months with
# a reading meet their runs, and u2's months with calls alone do not.
USED_WITH_CONDITION = _definition(
    "t.used-with-condition", ContactsAtLeast(), HasCondition(conditions={"copd"})
)
TELEHEALTH_AND_READINGS = _definition(
    "t.telehealth-and-readings",
    EnrolmentOverlaps(service_kinds={"telehealth"}),
    ContactsAtLeast(contact_kinds={"reading"}),
)
SPLIT_EXTRACT = dict(
    users="""
        user_id area conditions
        u1      A    copd
        u2      B    -
    """,
    enrolments="""
        enrolment_id user_id service_id installed_on ended_on
        eT           u1      th         2012-06-01   -
        eC           u2      tc         2012-06-01   -
    """,
    contacts="""
        user_id enrolment_id date       kind
        u1      eT           2013-01-15 reading
        u2      eC           2013-02-15 alarm_call
        u1      eT           2013-03-10 reading
        u2      eC           2013-03-20 alarm_call
    """,
)


def test_contact_months_meet_the_runs_only_where_a_figure_needs_them() -> None:
    import threeml.engine.series_contacts as contacts

    dataset = make_dataset(**SPLIT_EXTRACT)
    intervals = split("2013-01-01:2013-03-31", "month")
    definitions = [USED_WITH_CONDITION, TELEHEALTH_AND_READINGS]
    found = []
    original = contacts._needs_runs

    def needs_runs(*args: Any) -> Any:
        found.append(original(*args))
        return found[-1]

    with mock.patch.object(contacts, "_needs_runs", needs_runs):
        one_pass = count_series(definitions, dataset, intervals, by=("area",))
    # Some months meet their runs (those with readings), the others the user's row alone.
    assert len(found) == 1 and found[0] is not None
    assert_same_series(
        one_pass, count_series_per_interval(definitions, dataset, intervals, by=("area",))
    )
    used, readings = one_pass[USED_WITH_CONDITION.name], one_pass[TELEHEALTH_AND_READINGS.name]
    assert [(r.count, r.records) for r in used] == [(1, 1), (0, 0), (1, 1)]
    # Left out by the condition alone: u2, with calls in February and March.
    assert [r.attrition[1].leave_one_out for r in used] == [0, 1, 1]
    assert [{row.value: row.count for row in r.breakdowns["area"]} for r in used] == [
        {"A": 1},
        {},
        {"A": 1},
    ]
    assert [(r.count, r.records) for r in readings] == [(1, 1), (0, 0), (1, 1)]
    # Left out by the readings alone: u1 in February (telehealth, no reading).
    assert [r.attrition[1].leave_one_out for r in readings] == [0, 1, 0]


# member-of in a series: the named definition read in each interval, in the one pass.

#: The census in each month, with a risk score of at least 0.5 (worked on WORKED: census
#: {u1, u3, u4}, {u2, u3, u4}, {u2, u3, u4}; scores u1 0.5, u3 0.7).
CENSUS_RISK = _definition("series.census-risk", MemberOf("census"), RiskAtLeast(0.5))
#: Telehealth in the month and active in it: {u1}, {u1} (u4 active but telecare), none (u3
#: on telehealth, u2 active).
ACTIVE_TELEHEALTH = _definition(
    "series.active-th", EnrolmentOverlaps(service_kinds={"telehealth"}), MemberOf("active")
)
#: A member of a member: whoever CENSUS_RISK counts in the month.
NESTED = _definition("series.nested", MemberOf(CENSUS_RISK.name))
#: Active alone: read from contacts only, so its records (all its people's enrolments) are
#: not in the runs; evaluated interval by interval.
ONLY_ACTIVE = _definition("series.only-active", MemberOf("active"))


def test_member_of_reads_the_named_definition_in_each_interval() -> None:
    registry = isolated_registry(
        definitions=[CENSUS_RISK, ACTIVE_TELEHEALTH, NESTED, ONLY_ACTIVE, *STANDARD]
    )
    dataset = make_dataset(**WORKED)
    intervals = split("2013-01-01:2013-03-31", "month")
    compiler = SeriesCompiler(dataset, intervals, registry.counting, registered_kinds(registry))
    definitions = [CENSUS_RISK, ACTIVE_TELEHEALTH, NESTED, ONLY_ACTIVE]
    assert [goes_together(d, compiler) for d in definitions] == [True, True, True, False]
    assert not any(in_one_pass(d, compiler) for d in definitions)
    for by in [("area",), BY]:
        with mock.patch.dict(os.environ, SEED):
            one_pass = count_series(
                definitions, dataset, intervals, by=by, registry=registry, cell_keys=CellKeyMethod()
            )
            alone = count_series_per_interval(
                definitions, dataset, intervals, by=by, registry=registry, cell_keys=CellKeyMethod()
            )
        assert_same_series(one_pass, alone)
    expected = {
        CENSUS_RISK.name: [{"u1", "u3"}, {"u3"}, {"u3"}],
        ACTIVE_TELEHEALTH.name: [{"u1"}, {"u1"}, set()],
        NESTED.name: [{"u1", "u3"}, {"u3"}, {"u3"}],
    }
    for name, members in expected.items():
        assert [r.members() for r in one_pass[name]] == members, name
    # No enrolment criterion of its own: its records are all its people's enrolments (u3:
    # e3 and e3b, in every month).
    assert [r.records for r in one_pass[CENSUS_RISK.name]] == [3, 2, 2]


@st.composite
def member_definitions(draw: st.DrawFn) -> list[Any]:
    """Two generated definitions and definitions that are members of them or of standard
    ones, with more criteria of their own."""
    named = [draw(strategies.definitions(name=f"x{i}"), f"named {i}") for i in range(2)]
    targets = [d.name for d in named] + ["census", "active-telehealth", "high-risk"]
    members = [
        draw(
            strategies.definitions(
                name=f"m{i}",
                unit=Unit.USERS,
                min_criteria=0,
                max_criteria=2,
                extra=lambda: st.sampled_from(targets).map(MemberOf),
            ),
            f"member {i}",
        )
        for i in range(3)
    ]
    return [*named, *members]


def _one_pass_equals_each_interval_alone(
    data: st.DataObject,
    extract: Any,
    span: Any,
    every: Any,
    definitions: list[Any],
    registry: Any,
    by_choices: list[tuple[str, ...]],
) -> None:
    """The series of ``definitions`` in one pass equals each interval alone: counts,
    breakdowns, cell keys, and one interval's memberships and members."""
    keys = CellKeyMethod() if data.draw(st.booleans(), "cell keys") else None
    by = data.draw(st.sampled_from(by_choices), "by")
    intervals = split(span, every)
    dataset = extract.dataset()
    with mock.patch.dict(os.environ, SEED):
        one_pass = count_series(
            definitions, dataset, intervals, by=by, registry=registry, cell_keys=keys
        )
        alone = count_series_per_interval(
            definitions, dataset, intervals, by=by, registry=registry, cell_keys=keys
        )
    assert_same_series(one_pass, alone)
    k = data.draw(st.integers(0, len(intervals) - 1), "interval")
    for definition in definitions:
        got, want = one_pass[definition.name][k], alone[definition.name][k]
        assert got.membership().equals(want.membership()), definition.name
        assert got.members() == want.members()


@settings(SLOW, max_examples=strategies.examples(6))
@given(st.data())
def test_member_of_in_one_pass_equals_each_interval_alone(data: st.DataObject) -> None:
    extract = data.draw(strategies.extracts(), "extract")
    span, every = data.draw(spans(), "span")
    definitions = data.draw(member_definitions(), "definitions")
    registry = isolated_registry(definitions=[*definitions, *STANDARD])
    _one_pass_equals_each_interval_alone(
        data, extract, span, every, definitions, registry, [("area",), ("area",), ("age_band",), BY]
    )


# Plugins' criterion kinds in the one pass: one user set per interval, from the kind's
# ``series`` (the example plugin's heartbeat gaps) or its ``compile`` per interval (born
# before a year), joined to the rest of the definition's flags.


def _plugin_criteria() -> st.SearchStrategy[Any]:
    from threeml_example.heartbeat import heartbeat_gaps

    return heartbeat_gaps() | st.integers(1930, 1990).map(BornBefore)


@settings(SLOW, max_examples=strategies.examples(6))
@given(st.data())
def test_plugin_kinds_in_one_pass_equal_each_interval_alone(data: st.DataObject) -> None:
    from threeml_example import plugin as example

    registry = isolated_registry(("t", Plugin()), ("example", example), definitions=STANDARD)
    extract = data.draw(strategies.extracts(), "extract")
    span, every = data.draw(spans(), "span")
    definitions = [
        data.draw(
            strategies.definitions(
                name=f"p{i}",
                unit=Unit.USERS,
                min_criteria=0,
                max_criteria=2,
                registry=registry,
                extra=_plugin_criteria,
            ),
            f"definition {i}",
        )
        for i in range(3)
    ]
    _one_pass_equals_each_interval_alone(
        data, extract, span, every, definitions, registry, [("area",), ("area",), (), BY]
    )
