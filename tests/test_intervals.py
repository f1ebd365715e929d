"""Cutting a span into intervals."""

import itertools
from datetime import date

import pytest

from threeml.errors import PeriodError
from threeml.records.intervals import Every, split
from threeml.records.periods import Period


def test_sixty_months_of_five_financial_years():
    months = split("2012-04-01:2017-03-31", "month")
    assert len(months) == 60
    assert months[0].label == "2012-04" and months[-1].label == "2017-03"
    assert months[1].period == Period(date(2012, 5, 1), date(2012, 5, 31))
    assert all(a.end.toordinal() + 1 == b.start.toordinal() for a, b in itertools.pairwise(months))


def test_partial_intervals_are_clipped_to_the_span():
    quarters = split("2013-02-15:2013-08-10", "quarter")
    assert [q.label for q in quarters] == ["2013-Q1", "2013-Q2", "2013-Q3"]
    assert quarters[0].period == Period(date(2013, 2, 15), date(2013, 3, 31))
    assert quarters[-1].period == Period(date(2013, 7, 1), date(2013, 8, 10))


def test_financial_years_start_in_april():
    years = split("2012-01-01:2013-12-31", "financial-year")
    assert [y.label for y in years] == ["FY2011/12", "FY2012/13", "FY2013/14"]
    assert years[1].period == Period(date(2012, 4, 1), date(2013, 3, 31))
    assert [y.label for y in split("2012-01-01:2013-12-31", Every.YEAR)] == ["2012", "2013"]


def test_unknown_step_names_the_choices():
    with pytest.raises(PeriodError, match="month, quarter, year, financial-year"):
        split("2013", "fortnight")
