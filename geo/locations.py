"""Locations as users type them: a postcode, a latitude/longitude, or a grid easting/northing."""

import re
from dataclasses import dataclass

from geo.coords import LatLng
from geo.grid import grid_to_latlng
from geo.postcodes import normalise_postcode

_NUMBER_PAIR = re.compile(r"^\s*([-+]?\d+(?:\.\d+)?)\s*[,;\s]\s*([-+]?\d+(?:\.\d+)?)\s*$")
MAX_EASTING, MAX_NORTHING = 700_000, 1_300_000


class LocationError(ValueError):
    """The text is not a usable location; ``reason`` says why in words a user understands."""

    def __init__(self, value: str, reason: str):
        super().__init__(f"{value!r} {reason}")
        self.value = value
        self.reason = reason


@dataclass(frozen=True)
class PostcodeRef:
    """A well-formed postcode, still to be looked up in the postcode directory."""

    postcode: str


def parse_location(text: str) -> PostcodeRef | LatLng:
    """Read a location typed by a user.

    Examples
    --------
    >>> parse_location("sw5 0ab")
    PostcodeRef(postcode='SW5 0AB')
    >>> parse_location("51.4915, -0.1935")
    LatLng(lat=51.4915, lng=-0.1935)
    >>> p = parse_location("525800 178400")          # easting, northing
    >>> round(p.lat, 3), round(p.lng, 3)
    (51.491, -0.189)
    >>> parse_location("-0.1935, 51.4915")
    Traceback (most recent call last):
    ...
    geo.locations.LocationError: '-0.1935, 51.4915' is outside the UK: latitude comes first, then longitude
    >>> parse_location("Earls Court")
    Traceback (most recent call last):
    ...
    geo.locations.LocationError: 'Earls Court' is not a UK postcode, a latitude and longitude, or an easting and northing
    """
    text = (text or "").strip()
    if not text:
        raise LocationError(text, "is empty: give a postcode, a latitude and longitude, or an easting and northing")
    postcode = normalise_postcode(text)
    if postcode:
        return PostcodeRef(postcode)
    match = _NUMBER_PAIR.match(text)
    if not match:
        raise LocationError(
            text, "is not a UK postcode, a latitude and longitude, or an easting and northing"
        )
    first, second = float(match.group(1)), float(match.group(2))
    if abs(first) <= 90 and abs(second) <= 180:
        point = LatLng(first, second)
        if point.in_uk():
            return point
        if LatLng(second, first).in_uk():
            raise LocationError(text, "is outside the UK: latitude comes first, then longitude")
        raise LocationError(text, "is a latitude and longitude outside the UK")
    if max(first, second) <= 1000:
        raise LocationError(text, "is not a latitude (-90 to 90) and longitude (-180 to 180)")
    if 0 <= first <= MAX_EASTING and 0 <= second <= MAX_NORTHING:
        point = grid_to_latlng(first, second)
        if point.in_uk():
            return point
    raise LocationError(
        text,
        f"is neither a latitude and longitude nor a British National Grid easting (0-{MAX_EASTING}) "
        f"and northing (0-{MAX_NORTHING}) in the UK",
    )
