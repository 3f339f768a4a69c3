"""H3 hexagon cells as 64-bit integers, the form stored in PostGIS.

Every stored point keeps its cell at each map resolution (:func:`cells_of`), so a hexagon map is
a ``GROUP BY`` in the database. The cells are indexed from the point at each resolution rather
than derived from one fine cell: H3's parent of a cell does not always contain the point (about
6.5% of points fall in a neighbouring hexagon), and a map must count a point in the hexagon drawn
around it.
"""

from collections.abc import Iterable, Mapping
from functools import lru_cache
from math import cos, radians

import h3
import numpy as np
import shapely
from shapely.geometry import Polygon, mapping, shape

from geo.coords import METRES_PER_DEGREE_LAT, LatLng

MAP_RESOLUTIONS = range(6, 11)  # 6 (~3.7 km edge) to 10 (~76 m edge)
MAX_CELLS = 250_000  # beyond this an area is too fine for one request

BBox = tuple[float, float, float, float]  # min lng, min lat, max lng, max lat (WGS 84)


def resolution_for_zoom(zoom: int) -> int:
    """The map resolution whose hexagons look a comfortable size at a web-map zoom level: about
    20 to 40 pixels across (zoom 13 shows 530 m hexagons, resolution 8).

    >>> [resolution_for_zoom(z) for z in (5, 11, 13, 14, 18)]
    [6, 6, 8, 9, 10]
    """
    return min(MAP_RESOLUTIONS.stop - 1, max(MAP_RESOLUTIONS.start, zoom - 5))


def cell_of(point: LatLng, resolution: int) -> int:
    """The H3 cell containing ``point``, as an integer.

    >>> hex(cell_of(LatLng(51.4915, -0.1935), 9))
    '0x89194ada557ffff'
    """
    return h3.str_to_int(h3.latlng_to_cell(point.lat, point.lng, resolution))


def cells_of(point: LatLng) -> list[int]:
    """The point's cell at each of :data:`MAP_RESOLUTIONS`, coarsest first: the stored form.

    >>> cells = cells_of(LatLng(51.4915, -0.1935))
    >>> len(cells), cells[MAP_RESOLUTIONS.index(9)] == cell_of(LatLng(51.4915, -0.1935), 9)
    (5, True)
    """
    return [cell_of(point, resolution) for resolution in MAP_RESOLUTIONS]


def box_area_km2(bbox: BBox) -> float:
    """The area of a box of degrees, near enough for choosing how to search it.

    >>> round(box_area_km2((-0.2, 51.48, -0.18, 51.5)))
    3
    """
    min_lng, min_lat, max_lng, max_lat = bbox
    km_per_degree = METRES_PER_DEGREE_LAT / 1000
    return (max_lat - min_lat) * km_per_degree * (max_lng - min_lng) * km_per_degree * cos(radians((min_lat + max_lat) / 2))


@lru_cache(maxsize=16)
def cells_in_box(min_lng: float, min_lat: float, max_lng: float, max_lat: float, resolution: int) -> tuple[int, ...]:
    """Every cell whose centre lies in the box, as integers. Remembered: maps ask for the same
    boxes again and again, and a county at resolution 9 takes 70 ms to list.

    >>> len(cells_in_box(-0.20, 51.48, -0.18, 51.50, 9))   # 3 km2 of hexagons of 0.1 km2
    35
    """
    # Refuse before listing: a county at resolution 10 is millions of cells.
    estimate = box_area_km2((min_lng, min_lat, max_lng, max_lat)) / h3.average_hexagon_area(resolution, "km^2")
    if estimate > MAX_CELLS:
        raise ValueError(f"about {estimate:,.0f} hexagons is more than {MAX_CELLS:,}: choose a smaller area or resolution")
    ring = [LatLng(min_lat, min_lng), LatLng(min_lat, max_lng), LatLng(max_lat, max_lng), LatLng(max_lat, min_lng)]
    return tuple(h3.str_to_int(cell) for cell in h3.h3shape_to_cells(h3.LatLngPoly(ring), resolution))


def cells_covering_box(bbox: BBox, resolution: int) -> tuple[int, ...]:
    """Every cell that overlaps the box (and a few just outside it): those centred in it, those
    holding its corners, and the ring around each.

    >>> box = (-0.20, 51.48, -0.18, 51.50)
    >>> covering = cells_covering_box(box, 6)
    >>> all(cell_of(LatLng(lat, lng), 6) in covering for lng in (-0.2, -0.19, -0.18) for lat in (51.48, 51.5))
    True
    """
    min_lng, min_lat, max_lng, max_lat = bbox
    corners = [cell_of(LatLng(lat, lng), resolution) for lng in (min_lng, max_lng) for lat in (min_lat, max_lat)]
    seeds = {*cells_in_box(*bbox, resolution), *corners}
    return tuple(sorted({h3.str_to_int(near) for seed in seeds for near in h3.grid_disk(h3.int_to_str(seed), 1)}))


def box_holding_cells(bbox: BBox, resolution: int) -> BBox:
    """``bbox`` (min lng, min lat, max lng, max lat) grown by two hexagon edges, so that it holds
    the whole of every hexagon whose centre lies in ``bbox``: a spatial index can narrow a search
    to it before the exact test by cell.

    >>> [round(v, 4) for v in box_holding_cells((-0.2, 51.48, -0.18, 51.5), 9)]
    [-0.2058, 51.4764, -0.1742, 51.5036]
    """
    min_lng, min_lat, max_lng, max_lat = bbox
    # Twice the average edge covers H3's variation in hexagon size across the globe (under 2x).
    margin_lat = 2 * h3.average_hexagon_edge_length(resolution, "m") / METRES_PER_DEGREE_LAT
    margin_lng = margin_lat / max(0.01, cos(radians(max(abs(min_lat), abs(max_lat)) + margin_lat)))
    return (max(-180.0, min_lng - margin_lng), max(-90.0, min_lat - margin_lat),
            min(180.0, max_lng + margin_lng), min(90.0, max_lat + margin_lat))


def cell_to_string(cell: int) -> str:
    """The hexadecimal string form H3 tools and partners' GIS use.

    >>> cell_to_string(0x89194ada557ffff)
    '89194ada557ffff'
    """
    return h3.int_to_str(cell)


def cell_from_string(text: str) -> int | None:
    """The cell a hexadecimal H3 string names, or None if it names no valid cell.

    >>> hex(cell_from_string("89194ada557ffff")), cell_from_string("89194ada557fffz"), cell_from_string("0")
    ('0x89194ada557ffff', None, None)
    """
    try:
        valid = h3.is_valid_cell(text)
    except (TypeError, ValueError):
        return None
    return h3.str_to_int(text) if valid else None


def cell_resolution(cell: int) -> int:
    """The resolution of a cell.

    >>> cell_resolution(0x89194ada557ffff)
    9
    """
    return h3.get_resolution(h3.int_to_str(cell))


def cell_centre(cell: int) -> LatLng:
    """The centre of a cell.

    >>> c = cell_centre(0x89194ada557ffff)
    >>> round(c.lat, 2), round(c.lng, 2)
    (51.49, -0.19)
    """
    return LatLng(*h3.cell_to_latlng(h3.int_to_str(cell)))


def cell_ring_lnglat(cell: int) -> list[tuple[float, float]]:
    """The cell's boundary as a closed GeoJSON ring of (lng, lat) pairs.

    >>> ring = cell_ring_lnglat(0x89194ada557ffff)
    >>> len(ring), ring[0] == ring[-1]
    (7, True)
    """
    # Six decimals (about 10 cm) as RFC 7946 suggests: a county at resolution 8 stays under 1 MB.
    ring = [(round(lng, 6), round(lat, 6)) for lng, lat in
            (LatLng(*vertex).lnglat for vertex in h3.cell_to_boundary(h3.int_to_str(cell)))]
    return ring + ring[:1]


def hexagon_less(cell: int, holes: Iterable[int]) -> dict:
    """GeoJSON geometry of the cell's hexagon less the hexagons of ``holes``, finer cells inside
    it of any resolutions. H3's children do not tile their parent exactly, so the result is cut
    from the drawn shapes, not assembled from cells.

    >>> parent = 0x87194ad13ffffff
    >>> first, second = sorted(h3.cell_to_children(h3.int_to_str(parent), 8))[:2]
    >>> rest = hexagon_less(parent, [h3.str_to_int(first), h3.str_to_int(second)])
    >>> rest["type"], shape(rest).area < 0.8 * Polygon(cell_ring_lnglat(parent)).area
    ('Polygon', True)
    """
    by_resolution: dict[int, list[str]] = {}
    for hole in holes:
        by_resolution.setdefault(h3.get_resolution(h3.int_to_str(hole)), []).append(h3.int_to_str(hole))
    # h3's own outline of a set of cells (GeoJSON, already (lng, lat)), far faster than a union of hexagons.
    cut = shapely.union_all([shape(h3.cells_to_geo(cells)) for cells in by_resolution.values()])
    rest = shapely.make_valid(Polygon(cell_ring_lnglat(cell)).difference(cut))
    return mapping(shapely.transform(rest, lambda coordinates: np.round(coordinates, 6)))


def hex_feature_collection(rows: Iterable[Mapping]) -> dict:
    """GeoJSON hexagons from rows that each carry a ``cell`` and the properties to publish.

    >>> fc = hex_feature_collection([{"cell": 0x89194ada557ffff, "episodes": 3}])
    >>> fc["features"][0]["properties"]
    {'h3': '89194ada557ffff', 'episodes': 3}
    """
    features = []
    for row in rows:
        properties = {"h3": cell_to_string(row["cell"])}
        properties.update({key: value for key, value in row.items() if key != "cell"})
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [cell_ring_lnglat(row["cell"])]},
                "properties": properties,
            }
        )
    return {"type": "FeatureCollection", "features": features}
