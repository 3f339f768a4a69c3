"""National grid references: conversion to WGS 84 and the DfE straight-line distance.

The ONS Postcode Directory gives British National Grid references (EPSG:27700) for Great Britain
but Irish Grid references (EPSG:29903) for Northern Ireland, in the same two columns.
"""

from functools import cache
from math import hypot

import numpy as np
from pyproj import Transformer

from geo.coords import LatLng

BRITISH_NATIONAL_GRID = 27700
IRISH_GRID = 29903
METRES_PER_MILE = 1609.3  # the DfE's own figure: metres / 1000 / 1.6093


@cache
def _to_wgs84(srid: int) -> Transformer:
    return Transformer.from_crs(srid, 4326, always_xy=True)


def grid_to_latlng(easting: float, northing: float, srid: int = BRITISH_NATIONAL_GRID) -> LatLng:
    """Convert a grid reference in metres to latitude and longitude.

    >>> p = grid_to_latlng(525800, 178400)   # SW5 0AB, Earl's Court
    >>> round(p.lat, 3), round(p.lng, 3)
    (51.491, -0.189)
    """
    return LatLng.from_lnglat(_to_wgs84(srid).transform(easting, northing))


@cache
def _to_british_grid(srid: int) -> Transformer:
    return Transformer.from_crs(srid, BRITISH_NATIONAL_GRID, always_xy=True)


def to_british_grid(easting: float, northing: float, srid: int) -> tuple[float, float]:
    """A grid reference on the British National Grid (Irish Grid references are converted).

    >>> [round(v) for v in to_british_grid(334316, 374675, IRISH_GRID)]   # BT1 1AA, Belfast
    [146778, 530104]
    >>> to_british_grid(526217, 177764, BRITISH_NATIONAL_GRID)
    (526217, 177764)
    """
    if srid == BRITISH_NATIONAL_GRID:
        return easting, northing
    return _to_british_grid(srid).transform(easting, northing)


def latlng_to_british_grid(point: LatLng) -> tuple[float, float]:
    """A WGS 84 point as a British National Grid easting and northing.

    >>> [round(v) for v in latlng_to_british_grid(grid_to_latlng(525800, 178400))]
    [525800, 178400]
    """
    return _from_wgs84(BRITISH_NATIONAL_GRID).transform(*point.lnglat)


@cache
def _from_wgs84(srid: int) -> Transformer:
    return Transformer.from_crs(4326, srid, always_xy=True)


def miles_between(a: LatLng, b: LatLng) -> float:
    """Straight-line miles between two points on the British grid, unrounded (the DfE's measure
    for points that are not postcodes).

    >>> round(miles_between(grid_to_latlng(526217, 177764), grid_to_latlng(525800, 178400)), 3)
    0.473
    """
    (e1, n1), (e2, n2) = latlng_to_british_grid(a), latlng_to_british_grid(b)
    return hypot(e1 - e2, n1 - n2) / METRES_PER_MILE


def dfe_distance_miles(e1: float, n1: float, e2: float, n2: float) -> float:
    """Straight-line distance between two grid references, as the DfE computes placement distance.

    Miles to one decimal place, from metres divided by 1000 and then by 1.6093.

    >>> dfe_distance_miles(526217, 177764, 525800, 178400)   # SW5 0AA to SW5 0AB
    0.5
    >>> dfe_distance_miles(529090, 179645, 530019, 182893)   # SW1A 1AA to NW1 2DB
    2.1
    """
    return round(hypot(e1 - e2, n1 - n2) / METRES_PER_MILE, 1)


def latlngs_to_british_grid(lats, lngs) -> tuple:
    """Many WGS 84 points as British National Grid eastings and northings, in one call.

    >>> eastings, northings = latlngs_to_british_grid([51.4904], [-0.1902])
    >>> round(float(eastings[0])), round(float(northings[0]))
    (525745, 178381)
    >>> [round(v) for v in latlng_to_british_grid(LatLng(51.4904, -0.1902))]
    [525745, 178381]
    """
    return _from_wgs84(BRITISH_NATIONAL_GRID).transform(np.asarray(lngs, dtype=float), np.asarray(lats, dtype=float))


def miles_from(point: LatLng, lats, lngs) -> np.ndarray:
    """:func:`miles_between` ``point`` and many points at once.

    >>> here = grid_to_latlng(526217, 177764)
    >>> [round(float(m), 3) for m in miles_from(here, [grid_to_latlng(525800, 178400).lat], [grid_to_latlng(525800, 178400).lng])]
    [0.473]
    """
    eastings, northings = latlngs_to_british_grid(lats, lngs)
    easting, northing = latlng_to_british_grid(point)
    return np.hypot(eastings - easting, northings - northing) / METRES_PER_MILE
