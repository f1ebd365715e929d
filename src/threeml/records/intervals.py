"""A long period cut into intervals: months, quarters, years or financial years.

``split(Period.parse("2012-04-01:2017-03-31"), "month")`` gives sixty monthly
:class:`Interval`\\ s. Intervals are calendar-aligned (a quarter starts on 1 January,
1 April, 1 July or 1 October; a financial year on 1 April) and clipped to the span: when the
span starts or ends inside a calendar interval, its first or last interval is the part of
that calendar interval inside the span. Each interval is evaluated as its own period, with
exactly the semantics of a single period (the active window is the last 28 days of each
interval, the census week its last 7 days, and so on).
"""

from __future__ import annotations

import enum
from datetime import date, timedelta

import attrs

from threeml.errors import PeriodError
from threeml.records.periods import Period

__all__ = ["Every", "Interval", "split"]


class Every(enum.Enum):
    """How long each interval of a series is."""

    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"
    FINANCIAL_YEAR = "financial-year"

    @classmethod
    def parse(cls, text: str | Every) -> Every:
        """``text`` as an :class:`Every` (``month``, ``quarter``, ``year``, ``financial-year``)."""
        if isinstance(text, Every):
            return text
        try:
            return cls(str(text).strip().lower())
        except ValueError:
            choices = ", ".join(e.value for e in cls)
            message = f"cannot cut a period every {text!r}; choose from {choices}"
            raise PeriodError(message) from None


@attrs.frozen(order=True)
class Interval:
    """One interval of a series: its label (``2013-05``, ``2013-Q2``, ``2013``, ``FY2013/14``)
    and its period."""

    period: Period
    label: str

    @property
    def start(self) -> date:
        return self.period.start

    @property
    def end(self) -> date:
        return self.period.end


_MONTHS = {Every.MONTH: 1, Every.QUARTER: 3, Every.YEAR: 12, Every.FINANCIAL_YEAR: 12}


def _first(day: date, every: Every) -> date:
    """The first day of the calendar interval holding ``day``."""
    if every is Every.FINANCIAL_YEAR:
        return date(day.year if day.month >= 4 else day.year - 1, 4, 1)
    step = _MONTHS[every]
    return date(day.year, ((day.month - 1) // step) * step + 1, 1)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _label(first: date, every: Every) -> str:
    if every is Every.MONTH:
        return f"{first.year}-{first.month:02d}"
    if every is Every.QUARTER:
        return f"{first.year}-Q{(first.month - 1) // 3 + 1}"
    if every is Every.YEAR:
        return str(first.year)
    return f"FY{first.year}/{(first.year + 1) % 100:02d}"


def split(period: Period | str, every: Every | str) -> tuple[Interval, ...]:
    """``period`` cut into calendar-aligned intervals of length ``every``, clipped to it."""
    period = Period.parse(period) if isinstance(period, str) else period
    every = Every.parse(every)
    out = []
    first = _first(period.start, every)
    while first <= period.end:
        following = _add_months(first, _MONTHS[every])
        start = max(first, period.start)
        end = min(following - timedelta(days=1), period.end)
        out.append(Interval(Period(start, end), _label(first, every)))
        first = following
    return tuple(out)
