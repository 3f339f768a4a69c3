"""Areas drawn on a map (a park, an estate), read from GeoJSON and checked before they are stored.

GeoJSON is (lng, lat), the same order as shapely and PostGIS, so no coordinates are swapped here.
"""

import json

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.validation import explain_validity

from geo.coords import LatLng
from geo.grid import latlngs_to_british_grid

SMALLEST_M2 = 50.0  # a corner plot; smaller is a slip of the mouse
LARGEST_M2 = 25_000_000.0  # 25 km²: larger is a district, not a context
MOST_VERTICES = 2_000


class AreaError(ValueError):
    """A drawn area that cannot be stored, with the reason in words."""


def area_from_geojson(text: str) -> Polygon | MultiPolygon:
    """The polygon in a GeoJSON geometry or Feature, checked: inside the UK, not crossing itself,
    of a sensible size. Raises AreaError saying what is wrong.

    Examples
    --------
    >>> square = '{"type": "Polygon", "coordinates": [[[-0.19, 51.49], [-0.189, 51.49], [-0.189, 51.491], [-0.19, 51.491], [-0.19, 51.49]]]}'
    >>> area_from_geojson(square).geom_type
    'Polygon'
    >>> bowtie = '{"type": "Polygon", "coordinates": [[[-0.19, 51.49], [-0.189, 51.491], [-0.189, 51.49], [-0.19, 51.491], [-0.19, 51.49]]]}'
    >>> area_from_geojson(bowtie)
    Traceback (most recent call last):
    ...
    geo.areas.AreaError: crosses itself near 51.490500, -0.189500: draw it again without crossing lines
    >>> area_from_geojson('{"type": "Point", "coordinates": [-0.19, 51.49]}')
    Traceback (most recent call last):
    ...
    geo.areas.AreaError: is a Point, not an area: draw a polygon
    """
    try:
        data = json.loads(text)
    except (TypeError, ValueError):
        raise AreaError("is not GeoJSON") from None
    if isinstance(data, dict) and data.get("type") == "Feature":
        data = data.get("geometry")
    if not isinstance(data, dict) or data.get("type") not in ("Polygon", "MultiPolygon"):
        kind = data.get("type") if isinstance(data, dict) else type(data).__name__
        raise AreaError(f"is a {kind}, not an area: draw a polygon")
    try:
        area = shape(data)
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, shapely.errors.ShapelyError):
        raise AreaError("is not a GeoJSON polygon: its coordinates are not rings of [longitude, latitude]") from None
    coordinates = shapely.get_coordinates(area)
    if area.is_empty:
        raise AreaError("is empty")
    if not np.isfinite(coordinates).all():
        raise AreaError("has a corner that is not a number")
    if len(coordinates) > MOST_VERTICES:
        raise AreaError(f"has {len(coordinates)} corners; at most {MOST_VERTICES}: draw it more simply")
    outside = [LatLng(lat, lng) for lng, lat in coordinates if not LatLng(lat, lng).in_uk()]
    if outside:
        raise AreaError(f"reaches {outside[0].lat:.4f}, {outside[0].lng:.4f}, outside the UK")
    if not area.is_valid:
        reason = explain_validity(area)
        where = shapely.from_wkt("POINT" + reason[reason.index("["):].replace("[", "(").replace("]", ")")) \
            if "[" in reason else None
        near = f" near {where.y:.6f}, {where.x:.6f}" if where is not None else ""
        raise AreaError(f"crosses itself{near}: draw it again without crossing lines")
    square_metres = area_m2(area)
    if not SMALLEST_M2 <= square_metres <= LARGEST_M2:
        raise AreaError(f"covers {square_metres:,.0f} m²; an area must cover {SMALLEST_M2:,.0f} m² to "
                        f"{LARGEST_M2 / 1e6:,.0f} km²")
    return area


def area_m2(area: Polygon | MultiPolygon) -> float:
    """Square metres on the British National Grid.

    >>> round(area_m2(Polygon([(-0.19, 51.49), (-0.189, 51.49), (-0.189, 51.491), (-0.19, 51.491)])))
    7725
    """
    # GeoJSON's (lng, lat) columns in, (easting, northing) out.
    return shapely.transform(area, lambda lnglat: np.column_stack(latlngs_to_british_grid(lnglat[:, 1], lnglat[:, 0]))).area


def inside_point(area: Polygon | MultiPolygon) -> LatLng:
    """A point surely inside the area (a crescent's centroid may not be): where its hexagons are.

    >>> inside_point(Polygon([(-0.19, 51.49), (-0.189, 51.49), (-0.189, 51.491), (-0.19, 51.491)]))
    LatLng(lat=51.4905, lng=-0.1895)
    """
    return LatLng.from_lnglat(area.point_on_surface().coords[0])
