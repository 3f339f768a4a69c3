"""Template filters shared by every page."""

from datetime import datetime

from flask import Flask

from models.times import LONDON


def london_time(moment: datetime) -> str:
    """A stored instant as London reads it.

    >>> from datetime import timezone
    >>> london_time(datetime(2026, 7, 1, 23, 5, tzinfo=timezone.utc))
    '2 Jul 2026 00:05'
    """
    return moment.astimezone(LONDON).strftime("%-d %b %Y %H:%M")


def init_app(app: Flask) -> None:
    app.add_template_filter(london_time)
