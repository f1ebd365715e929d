"""Periods: the written forms, their bounds, windows and overlaps."""

from __future__ import annotations

from datetime import date

import pytest

from threeml import Period, PeriodError
from threeml.records.periods import parse_date


def test_end_before_start_is_rejected_with_both_dates_in_the_message() -> None:
    with pytest.raises(PeriodError) as caught:
        Period(date(2013, 5, 2), date(2013, 5, 1))
    assert "2013-05-01" in str(caught.value)
    assert "2013-05-02" in str(caught.value)


def test_end_before_start_is_rejected_when_parsed() -> None:
    with pytest.raises(PeriodError, match="before it starts"):
        Period.parse("2013-12-31:2013-01-01")


def test_a_period_error_is_a_value_error() -> None:
    # Callers that only know about ValueError still catch it.
    with pytest.raises(ValueError):
        Period.parse("nonsense")


def test_single_day_period_is_allowed_by_the_constructor() -> None:
    period = Period(date(2013, 6, 30), date(2013, 6, 30))
    assert period.days == 1


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2013-01-01:2013-12-31", date(2013, 1, 1), date(2013, 12, 31)),
        (" 2013-01-01 : 2013-03-31 ", date(2013, 1, 1), date(2013, 3, 31)),
        ("2013", date(2013, 1, 1), date(2013, 12, 31)),
        ("2013-Q1", date(2013, 1, 1), date(2013, 3, 31)),
        ("2013-Q2", date(2013, 4, 1), date(2013, 6, 30)),
        ("2013-q3", date(2013, 7, 1), date(2013, 9, 30)),
        ("2013-Q4", date(2013, 10, 1), date(2013, 12, 31)),
        ("2013-05", date(2013, 5, 1), date(2013, 5, 31)),
        ("2012-02", date(2012, 2, 1), date(2012, 2, 29)),
        ("2013-02", date(2013, 2, 1), date(2013, 2, 28)),
        ("FY2013/14", date(2013, 4, 1), date(2014, 3, 31)),
        ("FY2013/2014", date(2013, 4, 1), date(2014, 3, 31)),
        ("fy1999/00", date(1999, 4, 1), date(2000, 3, 31)),
        ("2013-06-30", date(2013, 6, 30), date(2013, 6, 30)),
    ],
)
def test_written_forms(text: str, start: date, end: date) -> None:
    period = Period.parse(text)
    assert (period.start, period.end) == (start, end)


def test_days_counts_both_ends() -> None:
    assert Period.parse("2013").days == 365
    assert Period.parse("2012").days == 366
    assert Period.parse("FY2013/14").days == 365
    assert Period.parse("2013-06-30").days == 1


def test_str_round_trips_through_parse() -> None:
    for text in ("2013", "2013-Q2", "FY2013/14", "2013-06-30"):
        period = Period.parse(text)
        assert Period.parse(str(period)) == period


def test_parse_accepts_a_period() -> None:
    period = Period.parse("2013")
    assert Period.parse(period) is period


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("last year", "cannot read 'last year' as a period"),
        ("", "cannot read '' as a period"),
        ("2013-Q5", "cannot read '2013-Q5' as a period"),
        ("2013-13", "month 13 does not exist"),
        ("2013-00", "month 0 does not exist"),
        ("FY2013/15", "write FY2013/14"),
        ("2013-02-30", "not a real calendar date"),
        ("2013-02-30:2013-03-01", "not a real calendar date"),
        ("13/01/2013", "cannot read '13/01/2013' as a period"),
        ("2013-01-01:", "is not a date in the form YYYY-MM-DD"),
        ("2013-01-01:31/12/2013", "'31/12/2013' is not a date in the form YYYY-MM-DD"),
    ],
)
def test_garbage_gives_a_clear_period_error(text: str, expected: str) -> None:
    with pytest.raises(PeriodError) as caught:
        Period.parse(text)
    assert expected in str(caught.value)


def test_the_generic_message_lists_the_accepted_forms() -> None:
    with pytest.raises(PeriodError) as caught:
        Period.parse("spring")
    message = str(caught.value)
    for form in ("2013-01-01:2013-12-31", "2013-Q2", "2013-05", "FY2013/14"):
        assert form in message


def test_parse_date_accepts_only_iso() -> None:
    assert parse_date("2013-01-31") == date(2013, 1, 31)
    assert parse_date(date(2013, 1, 31)) == date(2013, 1, 31)
    for bad in ("31/01/2013", "2013-1-31", "2013-01-31T00:00", "20130131"):
        with pytest.raises(PeriodError, match="YYYY-MM-DD"):
            parse_date(bad)
    with pytest.raises(PeriodError, match="expected a date"):
        parse_date(20130131)  # type: ignore[arg-type]


def test_parse_date_accepts_only_ascii_digits() -> None:
    # Arabic-Indic digits are digits to Python's regular expressions, not to the engine.
    with pytest.raises(PeriodError, match="YYYY-MM-DD"):
        parse_date("\u0662\u0660\u0661\u0663-\u0660\u0661-\u0660\u0661")
    with pytest.raises(PeriodError):
        Period.parse("\u0662\u0660\u0661\u0663")


def test_last_days_ends_on_the_period_end() -> None:
    period = Period.parse("2013-Q1")
    window = period.last_days(28)
    assert window == Period(date(2013, 3, 4), date(2013, 3, 31))
    assert window.days == 28
    assert period.last_days(1) == Period(date(2013, 3, 31), date(2013, 3, 31))


def test_last_days_may_start_before_the_period() -> None:
    day = Period.parse("2013-03-31")
    assert day.last_days(28).start == date(2013, 3, 4)


@pytest.mark.parametrize("count", [0, -3])
def test_last_days_needs_at_least_one_day(count: int) -> None:
    with pytest.raises(PeriodError, match="at least one day"):
        Period.parse("2013").last_days(count)


def test_census_week_is_the_last_seven_days() -> None:
    week = Period.parse("FY2013/14").census_week()
    assert week == Period(date(2014, 3, 25), date(2014, 3, 31))
    assert week.days == 7


def test_contains_is_inclusive() -> None:
    period = Period.parse("2013-05")
    assert period.contains(date(2013, 5, 1))
    assert period.contains(date(2013, 5, 31))
    assert not period.contains(date(2013, 4, 30))
    assert not period.contains(date(2013, 6, 1))


class TestOverlaps:
    period = Period.parse("2013-05")

    def test_never_installed_has_no_window(self) -> None:
        assert not self.period.overlaps(None, None)
        assert not self.period.overlaps(None, date(2013, 5, 15))

    def test_open_ended_window(self) -> None:
        assert self.period.overlaps(date(2010, 1, 1), None)
        assert self.period.overlaps(date(2013, 5, 31), None)
        assert not self.period.overlaps(date(2013, 6, 1), None)

    def test_touching_on_either_end_day_counts(self) -> None:
        assert self.period.overlaps(date(2013, 4, 1), date(2013, 5, 1))
        assert self.period.overlaps(date(2013, 5, 31), date(2013, 7, 1))

    def test_disjoint_windows(self) -> None:
        assert not self.period.overlaps(date(2013, 4, 1), date(2013, 4, 30))
        assert not self.period.overlaps(date(2013, 6, 1), date(2013, 6, 30))

    def test_window_covering_the_period(self) -> None:
        assert self.period.overlaps(date(2013, 1, 1), date(2013, 12, 31))
        assert self.period.overlaps(date(2013, 5, 10), date(2013, 5, 10))


def test_periods_are_frozen_and_hashable() -> None:
    period = Period.parse("2013")
    with pytest.raises(AttributeError):
        period.start = date(2014, 1, 1)  # type: ignore[misc]
    assert len({period, Period.parse("2013-01-01:2013-12-31")}) == 1
