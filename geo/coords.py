"""Coordinate order, in one place.

H3 and people speak (lat, lng); GeoJSON, shapely, WKT and PostGIS speak (lng, lat). Every
conversion between the two orders in this project goes through :class:`LatLng`.
"""

from math import cos, radians
from typing import NamedTuple

METRES_PER_DEGREE_LAT = 111_320.0

# A generous box around the UK, the Channel Islands and the Isle of Man. Points outside it are
# almost always typing slips, most often latitude and longitude given the wrong way round.
UK_BOUNDS = {"min_lat": 49.0, "max_lat": 61.0, "min_lng": -8.7, "max_lng": 2.0}


class LatLng(NamedTuple):
    """A WGS 84 position in the order H3 and people use.

    Examples
    --------
    >>> p = LatLng(51.4915, -0.1935)
    >>> p.lnglat
    (-0.1935, 51.4915)
    >>> LatLng.from_lnglat((-0.1935, 51.4915)) == p
    True
    >>> p.wkt
    'SRID=4326;POINT(-0.1935 51.4915)'
    """

    lat: float
    lng: float

    @property
    def lnglat(self) -> tuple[float, float]:
        """The (x, y) order of GeoJSON, shapely and PostGIS."""
        return (self.lng, self.lat)

    @classmethod
    def from_lnglat(cls, lnglat) -> "LatLng":
        lng, lat = lnglat[0], lnglat[1]
        return cls(float(lat), float(lng))

    @property
    def wkt(self) -> str:
        """Extended WKT that PostGIS reads as a point in SRID 4326."""
        return f"SRID=4326;POINT({self.lng} {self.lat})"

    def in_uk(self) -> bool:
        """Whether the point lies in the box around the UK.

        >>> LatLng(51.49, -0.19).in_uk()
        True
        >>> LatLng(-0.19, 51.49).in_uk()
        False
        """
        b = UK_BOUNDS
        return b["min_lat"] <= self.lat <= b["max_lat"] and b["min_lng"] <= self.lng <= b["max_lng"]

    def moved(self, east_m: float, north_m: float) -> "LatLng":
        """The point ``east_m`` metres east and ``north_m`` north of this one (flat-earth
        approximation, good to a fraction of a metre over the few hundred metres it is used for).

        >>> p = LatLng(51.49, -0.19).moved(100, 0)
        >>> round(p.lat, 6), round(p.lng, 5)
        (51.49, -0.18856)
        """
        return LatLng(
            self.lat + north_m / METRES_PER_DEGREE_LAT,
            self.lng + east_m / (METRES_PER_DEGREE_LAT * cos(radians(self.lat))),
        )
