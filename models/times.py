"""Dates and times as the service reads them: London's calendar, stored as UTC instants."""

from datetime import date, datetime, time, timedelta
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


def whole_months(start: datetime | None, end: datetime | None) -> tuple[date | None, date | None]:
    """The London months lying wholly inside ``[start, end)``, as (first month, month after the
    last); ``None`` where the range is open. They may be none: then first >= after.

    >>> whole_months(london_midnight(date(2025, 11, 26)), london_midnight(date(2026, 11, 27)))
    (datetime.date(2025, 12, 1), datetime.date(2026, 11, 1))
    >>> whole_months(london_midnight(date(2026, 3, 1)), None)
    (datetime.date(2026, 3, 1), None)
    """
    first = after = None
    if start is not None:
        first = start.astimezone(LONDON).date().replace(day=1)
        if london_midnight(first) < start:
            first = (first + timedelta(days=31)).replace(day=1)
    if end is not None:
        after = end.astimezone(LONDON).date().replace(day=1)
    return first, after


def last_months_start(months: int, today: date | None = None) -> datetime:
    """The start of the last ``months`` calendar months: this month so far and the ones before it.

    >>> last_months_start(12, date(2026, 11, 26)).isoformat()
    '2025-12-01T00:00:00+00:00'
    """
    return london_midnight(months_before((today or london_today()).replace(day=1), months - 1))


def age_in_years(birth_month: date, on: date) -> int:
    """Whole years from the first day of the birth month (only the month is stored) to ``on``,
    as the map's age filter counts them.

    >>> age_in_years(date(2011, 12, 1), date(2026, 11, 30)), age_in_years(date(2011, 12, 1), date(2026, 12, 1))
    (14, 15)
    """
    return on.year - birth_month.year - ((on.month, on.day) < (birth_month.month, 1))
