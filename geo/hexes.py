"""H3 hexagon cells as 64-bit integers, the form stored in PostGIS.

Every stored point keeps its cell at each map resolution (:func:`cells_of`), so a hexagon map is
a ``GROUP BY`` in the database. The cells are indexed from the point at each resolution rather
than derived from one fine cell: H3's parent of a cell does not always contain the point (about
6.5% of points fall in a neighbouring hexagon), and a map must count a point in the hexagon drawn
around it.
"""

from collections.abc import Iterable, Mapping

import h3

from geo.coords import LatLng

MAP_RESOLUTIONS = range(6, 11)  # 6 (~3.7 km edge) to 10 (~76 m edge)


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


def cell_to_string(cell: int) -> str:
    """The hexadecimal string form H3 tools and partners' GIS use.

    >>> cell_to_string(0x89194ada557ffff)
    '89194ada557ffff'
    """
    return h3.int_to_str(cell)


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
    ring = [LatLng(*vertex).lnglat for vertex in h3.cell_to_boundary(h3.int_to_str(cell))]
    return ring + ring[:1]


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
