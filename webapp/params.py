"""Query parameters shared by pages and the API; a bad value is a 400 naming the parameter."""

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NoReturn

from flask import abort, request
from sqlalchemy import Select, func, select

from geo.hexes import MAP_RESOLUTIONS, BBox, resolution_for_zoom
from models.codes import CONCERN_CODES, ContextKind, MissingType
from models.queries import EpisodeLayer, EpisodeSelection, MapLayer
from models.times import last_months_start, london_midnight
from webapp.db import get_session, visible_organisations

DEFAULT_RESOLUTION = 9


def bad_parameter(name: str, value, reason: str):
    abort(400, description=f"{name}: {value!r} {reason}")


# Deeper than any request the API takes; a deeper body is refused before anything walks it.
MAX_JSON_DEPTH = 32


def refuse_nul_characters() -> None:
    """``before_request``: PostgreSQL cannot store or compare text holding a NUL character, so a
    parameter, form field or JSON string with one is a 400 naming it, before any view sees it. A
    JSON body nested deeper than MAX_JSON_DEPTH is a 400 too (Python's parser would raise
    RecursionError on one)."""
    for name, value in (*request.args.items(multi=True), *request.form.items(multi=True)):
        if "\x00" in value:
            bad_parameter(name, value, "contains a NUL character")
    if request.is_json:
        try:
            document = request.get_json(silent=True)
        except RecursionError:
            _too_deep()
        for name, value in _json_strings(document):
            if "\x00" in value:
                bad_parameter(name, value, "contains a NUL character")


def _too_deep() -> NoReturn:
    abort(400, description=f"body: the JSON is nested more than {MAX_JSON_DEPTH} levels deep")


def _json_strings(document):
    """(path, string) for every string in a parsed JSON document, keys included, walked without
    recursion; a 400 past MAX_JSON_DEPTH."""
    waiting = [(document, "body", 1)]  # (value, its path, how many lists and objects hold it or are it)
    while waiting:
        value, path, depth = waiting.pop()
        if isinstance(value, list | dict) and depth > MAX_JSON_DEPTH:
            _too_deep()
        if isinstance(value, str):
            yield path, value
        elif isinstance(value, list):
            waiting.extend((item, f"{path}[{index}]", depth + 1) for index, item in enumerate(value))
        elif isinstance(value, dict):
            for key, item in value.items():
                yield path, key
                waiting.append((item, key if path == "body" else f"{path}.{key}", depth + 1))


def resolution(args, name: str = "res") -> int:
    """A resolution from 6 to 10, or ``auto``: the one that suits the map's ``zoom``."""
    raw = args.get(name, str(DEFAULT_RESOLUTION))
    if raw == "auto":
        zoom = args.get("zoom")
        if zoom is None:
            return DEFAULT_RESOLUTION
        if not zoom.isascii() or not zoom.isdigit() or int(zoom) > 24:
            bad_parameter("zoom", zoom, "is not a map zoom level from 0 to 24")
        return resolution_for_zoom(int(zoom))
    try:
        value = int(raw)
    except ValueError:
        bad_parameter(name, raw, "is not a whole number or auto")
    if value not in MAP_RESOLUTIONS:
        bad_parameter(name, raw, f"is outside {MAP_RESOLUTIONS.start} to {MAP_RESOLUTIONS.stop - 1}")
    return value


def layer(args, name: str = "layer") -> MapLayer:
    raw = args.get(name, MapLayer.LAST_SEEN.value)
    try:
        return MapLayer(raw)
    except ValueError:
        bad_parameter(name, raw, "is not one of: " + ", ".join(member.value for member in MapLayer))


def bbox(args, name: str = "bbox") -> BBox | None:
    """``minlon,minlat,maxlon,maxlat`` in WGS 84 degrees."""
    raw = args.get(name)
    if not raw:
        return None
    parts = raw.split(",")
    try:
        values = tuple(float(part) for part in parts)
    except ValueError:
        values = ()
    if len(parts) != 4 or len(values) != 4 or not all(math.isfinite(v) for v in values):
        bad_parameter(name, raw, "is not four numbers: minlon,minlat,maxlon,maxlat")
    min_lng, min_lat, max_lng, max_lat = values
    if not (-180 <= min_lng < max_lng <= 180 and -90 <= min_lat < max_lat <= 90):
        bad_parameter(name, raw, "is not a box with -180 <= minlon < maxlon <= 180 and -90 <= minlat < maxlat <= 90")
    return values


def flag(args, name: str) -> bool:
    raw = args.get(name, "false").lower()
    if raw not in ("true", "false", "1", "0"):
        bad_parameter(name, args.get(name), "is not true or false")
    return raw in ("true", "1")


def page_number(args, name: str = "page") -> int:
    """A page of a listing, 1 when not given."""
    raw = args.get(name, "1")
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= 10_000:
        bad_parameter(name, raw, "is not a page number")
    return int(raw)


@dataclass(frozen=True)
class Page:
    rows: list
    number: int
    pages: int
    total: int


def paginate(query: Select, args, size: int, name: str = "page", scalars: bool = False) -> Page:
    """The page of ``query``'s rows that ``args[name]`` names (the first when it names none), and how
    many there are; a page past the last is a 400 naming it. ``scalars``: rows of one entity."""
    number = page_number(args, name)
    session = get_session()
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    pages = max(1, -(-total // size))
    if number > pages:
        bad_parameter(name, str(number), f"is past the last page ({pages})")
    result = session.execute(query.limit(size).offset((number - 1) * size))
    return Page(result.scalars().all() if scalars else result.all(), number, pages, total)


def iso_date(args, name: str) -> date | None:
    raw = args.get(name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        bad_parameter(name, raw, "is not a date in the form YYYY-MM-DD")


def date_range(args) -> tuple[datetime | None, datetime | None]:
    """``from`` and ``to`` (inclusive, London dates) as a half-open range of instants."""
    start, end = iso_date(args, "from"), iso_date(args, "to")
    if start and end and end < start:
        bad_parameter("to", args.get("to"), f"is before from ({args.get('from')})")
    if end == date.max:
        bad_parameter("to", args.get("to"), "is the last day the calendar has: give an earlier date")
    return (
        london_midnight(start) if start else None,
        london_midnight(end + timedelta(days=1)) if end else None,
    )


WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SEXES = {"male": 1, "female": 2}


def _listed(args, name: str, allowed, normalise=str) -> frozenset:
    raw = args.get(name)
    if not raw:
        return frozenset()
    values = [normalise(part.strip()) for part in raw.split(",") if part.strip()]
    unknown = [value for value in values if value not in allowed]
    if unknown or not values:
        bad_parameter(name, raw, "is not a comma-separated list of: " + ", ".join(allowed))
    return frozenset(values)


def _range(args, name: str, low: int, high: int, wraps: bool = False) -> tuple[int, int] | None:
    raw = args.get(name)
    if not raw:
        return None
    parts = raw.split("-")
    try:
        numbers = [int(part) for part in parts]
    except ValueError:
        numbers = []
    if len(numbers) == 1:
        numbers = numbers * 2
    valid = len(parts) <= 2 and len(numbers) == 2 and all(low <= n <= high for n in numbers)
    if not valid or (not wraps and numbers[0] > numbers[1]) or (wraps and numbers[0] == numbers[1]):
        bad_parameter(name, raw, f"is not a range like {'22-06' if wraps else '14-15'} of whole numbers {low} to {high}")
    return numbers[0], numbers[1]


def episode_selection(args) -> EpisodeSelection:
    """Every episode filter of the API and the dashboard, from query parameters."""
    started_from, started_before = date_range(args)
    missing_type = args.get("type")
    if missing_type and missing_type not in {m.value for m in MissingType}:
        bad_parameter("type", missing_type, "is not M (missing) or A (away from placement)")
    sex = args.get("sex")
    if sex and sex not in SEXES:
        bad_parameter("sex", sex, "is not one of: " + ", ".join(SEXES))
    days = _listed(args, "days", WEEKDAY_NAMES, str.lower)
    return EpisodeSelection(
        layer=layer(args).episode_layer or EpisodeLayer.LAST_SEEN,
        started_from=started_from,
        started_before=started_before,
        bbox=bbox(args),
        missing_type=MissingType(missing_type) if missing_type else None,
        sex=SEXES[sex] if sex else None,
        ages=_range(args, "age", 0, 25),
        hours=_range(args, "hours", 0, 24, wraps=True),
        weekdays=frozenset(WEEKDAY_NAMES.index(day) + 1 for day in days),
        concerns=_listed(args, "concerns", list(CONCERN_CODES), str.upper),
        kinds=frozenset(ContextKind(kind) for kind in _listed(args, "kinds", [k.value for k in ContextKind], str.lower)),
        organisations=visible_organisations(),
    )


# "Last 12 months" is this month so far and the 11 before it: whole calendar months, so a
# month-by-month table has no part-month at its start and counts come from the monthly totals.
PERIODS = {"3": "Last 3 months", "6": "Last 6 months", "12": "Last 12 months", "24": "Last 24 months", "all": "All time"}


def period(args, name: str = "period", default: str = "12") -> tuple[str, datetime | None]:
    """The chosen period and the instant it starts (None for all time)."""
    raw = args.get(name, default)
    if raw not in PERIODS:
        bad_parameter(name, raw, "is not one of: " + ", ".join(PERIODS))
    if raw == "all":
        return raw, None
    return raw, last_months_start(int(raw))


# The dashboard also offers single calendar months, for a panel's monthly meeting, and a range of
# its own given by ``from`` and ``to``.
DASHBOARD_PERIODS = {"this": "This month", "last": "Last month", **PERIODS, "custom": "Dates of your choice"}


@dataclass(frozen=True)
class ChosenPeriod:
    key: str
    starts: datetime | None  # None: from the first episode, or from ``from``
    ends: datetime | None  # exclusive; None: up to now, or to ``to``


def dashboard_period(args, name: str = "period") -> ChosenPeriod:
    """The dashboard's period. Dates ``from`` and ``to`` (read with the other filters), when given,
    are the range whatever the period says (``custom``); ``custom`` needs at least one of them."""
    raw = args.get(name, "12")
    if raw not in DASHBOARD_PERIODS:
        bad_parameter(name, raw, "is not one of: " + ", ".join(DASHBOARD_PERIODS))
    if args.get("from") or args.get("to"):
        return ChosenPeriod("custom", None, None)
    if raw == "custom":
        bad_parameter(name, raw, "needs a from date, a to date or both")
    if raw in ("this", "last"):
        this_month = last_months_start(1)
        if raw == "this":
            return ChosenPeriod(raw, this_month, None)
        return ChosenPeriod(raw, last_months_start(2), this_month)
    return ChosenPeriod(raw, *period(args, name)[1:], None)
