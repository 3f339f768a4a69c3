"""Turn what a user typed as a location into a point, looking postcodes up in the directory."""

from dataclasses import dataclass

from geoalchemy2.shape import to_shape
from sqlalchemy.orm import Session

from geo.coords import LatLng
from geo.locations import LocationError, PostcodeRef, parse_location
from models.geography import Postcode


@dataclass(frozen=True)
class ResolvedLocation:
    point: LatLng
    postcode: str | None  # set when the user gave a postcode
    local_authority_code: str | None = None


def resolve_location(session: Session, typed: str) -> ResolvedLocation:
    """A point for a postcode, latitude/longitude or easting/northing; raises LocationError."""
    parsed = parse_location(typed)
    if not isinstance(parsed, PostcodeRef):
        return ResolvedLocation(parsed, None)
    row = session.get(Postcode, parsed.postcode)
    if row is None:
        raise LocationError(typed.strip(), f"is not in the ONS Postcode Directory ({parsed.postcode})")
    if row.location is None:
        raise LocationError(typed.strip(), "has no grid reference in the ONS Postcode Directory")
    return ResolvedLocation(
        LatLng.from_lnglat(to_shape(row.location).coords[0]), row.postcode, row.local_authority_code
    )
