"""Evaluation periods: inclusive ranges of calendar days.

A :class:`Period` is written in several forms so that analysts can type the
periods they already talk about::

    2013-01-01:2013-12-31   explicit start and end, both inclusive
    2013                    a calendar year
    2013-Q2                 a calendar quarter (April to June)
    2013-05                 a calendar month
    FY2013/14               an English financial year, 1 April 2013 to 31 March 2014
    2013-06-30              a single day
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, time, timedelta

import attrs

from threeml.errors import PeriodError

__all__ = ["Period", "parse_date"]

# ASCII digits only: a regex digit class also matches other scripts' digits, which the
# engine refuses.
_ISO_DATE = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})$")


def parse_date(value: date | str) -> date:
    """Return ``value`` as a date, accepting only the ISO ``YYYY-MM-DD`` form for strings."""
    if isinstance(value, datetime):
        # A datetime (or a pandas Timestamp) is a date only when it carries no time of day.
        if value.time() != time(0) or value.tzinfo is not None:
            raise PeriodError(f"{value!r} has a time of day or a time zone; expected a date")
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise PeriodError(f"expected a date, got {value!r}")
    match = _ISO_DATE.match(value.strip())
    if not match:
        raise PeriodError(f"{value!r} is not a date in the form YYYY-MM-DD")
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError as error:
        raise PeriodError(f"{value!r} is not a real calendar date ({error})") from None


def _check_order(instance: Period, attribute: attrs.Attribute, end: date) -> None:
    if end < instance.start:
        raise PeriodError(f"the period ends ({end}) before it starts ({instance.start})")


@attrs.frozen(order=True)
class Period:
    """An inclusive range of days ``[start, end]``.

    Both ends belong to the period, so ``Period.parse("2013")`` runs from
    1 January to 31 December 2013 and has 365 days.
    """

    start: date = attrs.field(converter=parse_date)
    end: date = attrs.field(converter=parse_date, validator=_check_order)

    @classmethod
    def parse(cls, text: str) -> Period:
        """Read a period from one of the written forms listed in the module docs."""
        if isinstance(text, Period):
            return text
        raw = str(text).strip()
        if ":" in raw:
            start, _, end = raw.partition(":")
            return cls(start.strip(), end.strip())
        if match := re.fullmatch(r"(?i)FY\s*([0-9]{4})\s*/\s*([0-9]{2}|[0-9]{4})", raw):
            first = int(match.group(1))
            second = match.group(2)
            expected = str(first + 1)
            if second not in (expected, expected[-2:]):
                raise PeriodError(
                    f"{raw!r}: a financial year runs over two consecutive years; "
                    f"write FY{first}/{expected[-2:]}"
                )
            return cls(date(first, 4, 1), date(first + 1, 3, 31))
        if re.fullmatch(r"[0-9]{4}", raw):
            year = int(raw)
            return cls(date(year, 1, 1), date(year, 12, 31))
        if match := re.fullmatch(r"(?i)([0-9]{4})-Q([1-4])", raw):
            year, quarter = int(match.group(1)), int(match.group(2))
            first_month = 3 * quarter - 2
            last_month = first_month + 2
            last_day = calendar.monthrange(year, last_month)[1]
            return cls(date(year, first_month, 1), date(year, last_month, last_day))
        if match := re.fullmatch(r"([0-9]{4})-([0-9]{2})", raw):
            year, month = int(match.group(1)), int(match.group(2))
            if not 1 <= month <= 12:
                raise PeriodError(f"{raw!r}: month {month} does not exist")
            return cls(date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1]))
        if _ISO_DATE.match(raw):
            day = parse_date(raw)
            return cls(day, day)
        raise PeriodError(
            f"cannot read {raw!r} as a period; use START:END (2013-01-01:2013-12-31), "
            "a year (2013), a quarter (2013-Q2), a month (2013-05) or a financial year (FY2013/14)"
        )

    @property
    def days(self) -> int:
        """The number of days in the period, both ends included."""
        return (self.end - self.start).days + 1

    def last_days(self, count: int) -> Period:
        """The last ``count`` days of the period, ``[end - (count - 1), end]``.

        The result may start before the period does when ``count`` exceeds its length;
        DESIGN.md defines windows such as the census week from the end date alone.
        """
        if count < 1:
            raise PeriodError(f"a window needs at least one day, not {count}")
        return Period(self.end - timedelta(days=count - 1), self.end)

    def census_week(self) -> Period:
        """The census week ``[end - 6, end]``."""
        return self.last_days(7)

    def contains(self, day: date) -> bool:
        """Whether ``day`` lies inside the period."""
        return self.start <= day <= self.end

    def overlaps(self, start: date | None, end: date | None) -> bool:
        """Whether the window ``[start, end]`` overlaps the period; ``end=None`` is open-ended.

        A window without a start (never installed) overlaps nothing.
        """
        if start is None:
            return False
        return start <= self.end and (end is None or end >= self.start)

    def __str__(self) -> str:
        return f"{self.start.isoformat()}:{self.end.isoformat()}"
