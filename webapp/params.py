"""Query parameters shared by pages and the API; a bad value is a 400 naming the parameter."""

from datetime import date, datetime, time, timedelta

from flask import abort
from zoneinfo import ZoneInfo

from geo.hexes import MAP_RESOLUTIONS
from models.queries import EpisodeLayer

LONDON = ZoneInfo("Europe/London")
DEFAULT_RESOLUTION = 9


def bad_parameter(name: str, value, reason: str):
    abort(400, description=f"{name}: {value!r} {reason}")


def resolution(args, name: str = "res") -> int:
    raw = args.get(name, str(DEFAULT_RESOLUTION))
    try:
        value = int(raw)
    except ValueError:
        bad_parameter(name, raw, "is not a whole number")
    if value not in MAP_RESOLUTIONS:
        bad_parameter(name, raw, f"is outside {MAP_RESOLUTIONS.start} to {MAP_RESOLUTIONS.stop - 1}")
    return value


def layer(args, name: str = "layer") -> EpisodeLayer:
    raw = args.get(name, EpisodeLayer.LAST_SEEN.value)
    try:
        return EpisodeLayer(raw)
    except ValueError:
        bad_parameter(name, raw, "is not one of: " + ", ".join(member.value for member in EpisodeLayer))


def iso_date(args, name: str) -> date | None:
    raw = args.get(name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        bad_parameter(name, raw, "is not a date in the form YYYY-MM-DD")


def london_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), LONDON)


def date_range(args) -> tuple[datetime | None, datetime | None]:
    """``from`` and ``to`` (inclusive, London dates) as a half-open range of instants."""
    start, end = iso_date(args, "from"), iso_date(args, "to")
    if start and end and end < start:
        bad_parameter("to", args.get("to"), f"is before from ({args.get('from')})")
    return (
        london_midnight(start) if start else None,
        london_midnight(end + timedelta(days=1)) if end else None,
    )
