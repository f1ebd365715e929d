"""Stock and flow: episodes of receipt, the identity, and the reasons episodes end.

Worked by hand against DESIGN.md's "Series, stock and flow": a user's episodes are the maximal
runs of consecutive days in receipt; opening is day s-1, closing day e, starts are episodes
whose first day is in [s, e], ends those whose last day is in [s-1, e-1].
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import BASE, examples, extracts

from threeml.engine.errors import EvaluationError
from threeml.engine.flow import END_REASONS, flow_for_definition, stock_and_flow
from threeml.plugins.registry import default_registry
from threeml.records.intervals import Interval, split
from threeml.records.periods import Period
from threeml.testing import make_dataset

MONTHS = split("2013-01-01:2013-04-30", "month")


def _flow(enrolments: str, *, intervals=MONTHS, by=None, users: str | None = None, **options):
    dataset = make_dataset(enrolments=enrolments, users=users)
    return stock_and_flow(dataset, intervals, by=by, **options)


def _row(result, label: str, group=None) -> tuple:
    c = result.cell(label, group)
    ends = {reason: n for reason, n in c.ends.items() if n}
    return (c.opening, c.starts, ends, c.closing, c.users_starting, c.users_ending)


HEADER = "enrolment_id user_id service_id installed_on ended_on end_reason\n"

#: Hand-worked cases: the enrolments, and the expected (opening, starts, ends by reason,
#: closing, users starting, users ending) of some months.
CASES = {
    # One episode, 5 January to 20 February: no end in January, and no start in February.
    "a re-start the day after an end continues the episode": (
        """
        e1 u1 tc 2013-01-05 2013-01-31 other
        e2 u1 th 2013-02-01 2013-02-20 moved
        """,
        {"2013-01": (0, 1, {}, 1, 1, 0), "2013-02": (1, 0, {"moved": 1}, 0, 0, 1)},
    ),
    # Not in receipt on 31 January: the first episode ends on the 30th (in January's
    # [31 Dec, 30 Jan]), the second starts on 1 February.
    "a gap of one day makes two episodes": (
        """
        e1 u1 tc 2013-01-05 2013-01-30 other
        e2 u1 th 2013-02-01 2013-02-20 moved
        """,
        {"2013-01": (0, 1, {"other": 1}, 0, 1, 1), "2013-02": (0, 1, {"moved": 1}, 0, 1, 1)},
    ),
    "overlapping enrolments are one episode": (
        """
        e1 u1 tc 2013-01-05 2013-03-10 abandoned
        e2 u1 th 2013-01-20 2013-02-10 hospital
        e3 u1 th 2013-01-05 2013-01-06 died
        """,
        {
            "2013-01": (0, 1, {}, 1, 1, 0),
            "2013-02": (1, 0, {}, 1, 0, 0),
            "2013-03": (1, 0, {"abandoned": 1}, 0, 0, 1),
        },
    ),
    "an open episode never ends": (
        """
        e1 u1 tc 2013-01-05 2013-01-10 declined
        e2 u1 th 2013-01-08 -          -
        """,
        {
            "2013-01": (0, 1, {}, 1, 1, 0),
            "2013-02": (1, 0, {}, 1, 0, 0),
            "2013-03": (1, 0, {}, 1, 0, 0),
            "2013-04": (1, 0, {}, 1, 0, 0),
        },
    ),
    # u1: hospital beats declined (and the missing reason); u2: care_home beats moved.
    "enrolments ending on the same day take the first reason by precedence": (
        """
        e1 u1 tc 2013-01-05 2013-02-10 declined
        e2 u1 th 2013-01-07 2013-02-10 hospital
        e3 u1 th 2013-01-08 2013-02-10 -
        e4 u2 tc 2013-01-05 2013-02-10 moved
        e5 u2 th 2013-01-05 2013-02-10 care_home
        """,
        {"2013-02": (2, 0, {"hospital": 1, "care_home": 1}, 0, 0, 2)},
    ),
    # The episode's last day is the 20th; the enrolment that died on the 12th does not end it.
    "an end without a reason is unknown": (
        """
        e1 u1 tc 2013-01-05 2013-01-20 -
        e2 u1 th 2013-01-08 2013-01-12 died
        """,
        {"2013-01": (0, 1, {"unknown": 1}, 0, 1, 1)},
    ),
    # In receipt on 31 January, January's closing; not in receipt on 1 February.
    "an episode ending on an interval's last day ends in the next": (
        """
        e1 u1 tc 2013-01-05 2013-01-31 died
        """,
        {"2013-01": (0, 1, {}, 1, 1, 0), "2013-02": (1, 0, {"died": 1}, 0, 0, 1)},
    ),
    # u1 has two episodes in February: two starts and two ends, one user starting and ending.
    "a start and an end within one interval": (
        """
        e1 u1 tc 2013-02-03 2013-02-05 declined
        e2 u1 tc 2013-02-10 2013-02-12 declined
        e3 u2 tc 2013-02-01 2013-02-01 other
        """,
        {"2013-02": (0, 3, {"declined": 2, "other": 1}, 0, 2, 2)},
    ),
    # u1 is in receipt on 31 December (the opening) and not on 1 January: an end in January.
    "an episode ending the day before the series ends in its first interval": (
        """
        e1 u1 tc 2012-11-05 2012-12-31 moved
        e2 u2 tc 2012-11-05 2012-12-30 moved
        """,
        {"2013-01": (1, 0, {"moved": 1}, 0, 0, 1)},
    ),
    # Only the windows that can shape the series' cells form its episodes (those ending
    # before 31 December, the day before the series, and starting after 30 April are left
    # out): e1 ends before it but e2 continues its episode, which is open on 31 December.
    "a chain of windows from before the series opens it": (
        """
        e1 u1 tc 2012-10-01 2012-11-30 other
        e2 u1 th 2012-12-01 2013-02-10 moved
        e3 u2 tc 2012-10-01 2012-12-30 died
        """,
        {"2013-01": (1, 0, {}, 1, 0, 0), "2013-02": (1, 0, {"moved": 1}, 0, 0, 1)},
    ),
    # e2 starts after the series' last day: u1 is still in receipt on 30 April (closing).
    # u2 starts on the series' last day.
    "windows at the series' last day": (
        """
        e1 u1 tc 2013-03-01 2013-04-30 other
        e2 u1 th 2013-05-01 2013-06-30 died
        e3 u2 tc 2013-04-30 2013-05-30 died
        """,
        {"2013-04": (1, 1, {}, 2, 1, 0)},
    ),
}


@pytest.mark.parametrize(("enrolments", "expected"), CASES.values(), ids=list(CASES))
def test_hand_worked_case(enrolments, expected):
    result = _flow(HEADER + enrolments)
    assert {label: _row(result, label) for label in expected} == expected


def test_breakdown_by_area_and_the_total():
    result = _flow(
        """
        enrolment_id user_id service_id installed_on ended_on   end_reason
        e1           u1      tc         2013-01-05   -          -
        e2           u2      tc         2013-01-05   2013-02-01 died
        e3           u3      tc         2013-02-05   -          -
        """,
        users="""
        user_id area
        u1      north
        u2      south
        u3      south
        """,
        by="area",
    )
    assert result.by == "area" and result.groups == ("north", "south", None)
    assert _row(result, "2013-02", "north") == (1, 0, {}, 1, 0, 0)
    assert _row(result, "2013-02", "south") == (1, 1, {"died": 1}, 1, 1, 1)
    assert _row(result, "2013-02") == (2, 1, {"died": 1}, 2, 1, 1)
    assert result.cell("2013-02", "south").net_change == 0


def test_receipt_of_telehealth_only_follows_telehealth_enrolments():
    enrolments = """
        enrolment_id user_id service_id installed_on ended_on   end_reason
        e1           u1      tc         2013-01-05   2013-03-31 other
        e2           u1      th         2013-01-20   2013-02-10 hospital
    """
    result = _flow(enrolments, services={"service_kinds": {"telehealth"}})
    assert _row(result, "2013-02") == (1, 0, {"hospital": 1}, 0, 0, 1)
    assert _row(_flow(enrolments), "2013-02") == (1, 0, {}, 1, 0, 0)


def test_flow_for_a_definition_follows_its_enrolment_criterion():
    registry = default_registry()
    dataset = make_dataset(
        enrolments="""
        enrolment_id user_id service_id installed_on ended_on   end_reason
        e1           u1      tc         2013-01-05   2013-03-31 other
        e2           u1      th         2013-01-20   2013-02-10 hospital
        """
    )
    telehealth = flow_for_definition(registry.counting("ltc-telehealth"), dataset, MONTHS, by=None)
    assert telehealth.name == "ltc-telehealth"
    assert telehealth.cell("2013-02").ends["hospital"] == 1
    anyone = flow_for_definition(registry.counting("census"), dataset, MONTHS, by=None)
    assert anyone.cell("2013-02").ends["hospital"] == 0
    for name in ("referred", "new-users", "active", "connections"):
        with pytest.raises(EvaluationError, match=name):
            flow_for_definition(registry.counting(name), dataset, MONTHS)


def test_bad_options_are_named():
    dataset = make_dataset(enrolments="")
    with pytest.raises(EvaluationError, match="one users column at most"):
        stock_and_flow(dataset, MONTHS, by=("area", "sex"))
    with pytest.raises(EvaluationError, match="'colour'"):
        stock_and_flow(dataset, MONTHS, by="colour")
    with pytest.raises(EvaluationError, match="service_kinds"):
        stock_and_flow(dataset, MONTHS, services={"kinds": {"telehealth"}})
    with pytest.raises(EvaluationError, match="'telly' is not a service kind; choose from"):
        stock_and_flow(dataset, MONTHS, services={"service_kinds": {"telly"}})
    with pytest.raises(EvaluationError, match="at least one interval"):
        stock_and_flow(dataset, ())


# The pure-Python way: day by day, straight from the definition of being in receipt.


def _in_receipt(enrolments, day: date) -> bool:
    return any(
        e.installed_on is not None
        and e.installed_on <= day
        and (e.ended_on is None or e.ended_on >= day)
        for e in enrolments
    )


def _reason(enrolments, day: date) -> str:
    given = {e.end_reason.value for e in enrolments if e.ended_on == day and e.end_reason}
    return next((r for r in END_REASONS if r in given), "unknown")


def reference_flow(extract, interval: Interval, area: str | None) -> tuple:
    """The cell of ``interval`` (and ``area``), computed one user and one day at a time."""
    s, e = interval.start, interval.end
    one = timedelta(days=1)
    opening = starts = closing = 0
    ends = dict.fromkeys(END_REASONS, 0)
    starting, ending = set(), set()
    for user in extract.users:
        if area is not None and user.area != area:
            continue
        mine = [x for x in extract.enrolments if x.user_id == user.user_id]
        opening += _in_receipt(mine, s - one)
        closing += _in_receipt(mine, e)
        day = s - one
        while day <= e:
            here = _in_receipt(mine, day)
            if s <= day and here and not _in_receipt(mine, day - one):
                starts += 1
                starting.add(user.user_id)
            if day < e and here and not _in_receipt(mine, day + one):
                ends[_reason(mine, day)] += 1
                ending.add(user.user_id)
            day += one
    return (opening, starts, ends, closing, len(starting), len(ending))


def _cell_tuple(c) -> tuple:
    return (c.opening, c.starts, dict(c.ends), c.closing, c.users_starting, c.users_ending)


@st.composite
def series(draw):
    extract = draw(extracts(max_users=8))
    first = BASE + timedelta(days=draw(st.integers(-40, 60)))
    last = first + timedelta(days=draw(st.integers(0, 200)))
    every = draw(st.sampled_from(["month", "quarter"]))
    return extract, split(Period(first, last), every)


@settings(
    max_examples=examples(15),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(series())
def test_identity_continuity_and_the_day_by_day_reference(case):
    extract, intervals = case
    result = stock_and_flow(extract.dataset(), intervals, by="area")
    for group in result.groups:
        cells = [result.cell(i, group) for i in intervals]
        for c in cells:
            assert c.opening + c.starts - c.ended == c.closing
            assert c.users_starting <= c.starts and c.users_ending <= c.ended
        for before, after in itertools.pairwise(cells):
            assert before.closing == after.opening
        for interval, c in zip(intervals, cells, strict=True):
            assert _cell_tuple(c) == reference_flow(extract, interval, group)
    # Every area is there (or had nothing to show), and the areas add up to the total.
    for interval in intervals:
        total = result.cell(interval)
        parts = [result.cell(interval, g) for g in result.groups if g is not None]
        assert total.opening == sum(p.opening for p in parts)
        assert total.ended == sum(p.ended for p in parts)
