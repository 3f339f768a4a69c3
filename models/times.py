"""Dates and times as the service reads them: London's calendar, stored as UTC instants."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def london_today() -> date:
    return datetime.now(LONDON).date()


def london_midnight(day: date) -> datetime:
    """Midnight in London at the start of ``day``, as a timezone-aware datetime.

    >>> london_midnight(date(2026, 7, 1)).isoformat()
    '2026-06-30T23:00:00+00:00'
    """
    return datetime.combine(day, time(0), LONDON).astimezone(ZoneInfo("UTC"))


def months_before(day: date, months: int) -> date:
    """The same day ``months`` earlier, or the month's last day when it is shorter.

    >>> months_before(date(2026, 11, 26), 12)
    datetime.date(2025, 11, 26)
    >>> months_before(date(2026, 3, 31), 1)
    datetime.date(2026, 2, 28)
    """
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    for last_day in (day.day, 30, 29, 28):
        try:
            return date(year, month + 1, last_day)
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has a 28th")
