import random

import h3
import pytest
from shapely.geometry import Point, box, shape

from geo.coords import LatLng
from geo.hexes import (
    MAP_RESOLUTIONS,
    box_holding_cells,
    cell_centre,
    cell_of,
    cell_to_string,
    cells_in_box,
    cells_of,
    hex_feature_collection,
)


def random_uk_points(count: int, seed: int = 7) -> list[LatLng]:
    rng = random.Random(seed)
    return [LatLng(rng.uniform(49.9, 60.8), rng.uniform(-8.0, 1.7)) for _ in range(count)]


def test_stored_cells_contain_the_point_at_every_map_resolution():
    for point in random_uk_points(300):
        for resolution, cell in zip(MAP_RESOLUTIONS, cells_of(point)):
            assert h3.int_to_str(cell) == h3.latlng_to_cell(point.lat, point.lng, resolution)
            assert h3.get_resolution(h3.int_to_str(cell)) == resolution


def test_cells_fit_a_signed_bigint():
    # PostgreSQL's BIGINT is signed: every H3 cell must stay below 2**63.
    assert all(0 < cell < 2**63 for p in random_uk_points(500) for cell in cells_of(p))


def test_feature_collection_hexagons_contain_their_points():
    points = random_uk_points(50)
    rows = [{"cell": cell_of(p, 9), "episodes": i} for i, p in enumerate(points)]
    collection = hex_feature_collection(rows)
    assert len(collection["features"]) == len(points)
    for point, feature in zip(points, collection["features"]):
        hexagon = shape(feature["geometry"])
        assert hexagon.is_valid
        assert hexagon.contains(Point(point.lnglat))  # GeoJSON order is (lng, lat)
        assert feature["properties"]["h3"] == cell_to_string(cell_of(point, 9))


def test_cell_centre_is_inside_its_cell():
    for point in random_uk_points(20):
        cell = cell_of(point, 8)
        assert cell_of(cell_centre(cell), 8) == cell


@pytest.mark.parametrize("resolution", MAP_RESOLUTIONS)
def test_grown_box_holds_every_hexagon_centred_in_the_box(resolution):
    for point in random_uk_points(5, seed=resolution):
        size = 0.02 * (11 - resolution)
        bbox = (point.lng, point.lat, point.lng + 1.6 * size, point.lat + size)
        grown = box(*box_holding_cells(bbox, resolution))
        cells = cells_in_box(*bbox, resolution)
        assert cells
        for cell in cells:
            assert grown.contains(shape(hex_feature_collection([{"cell": cell}])["features"][0]["geometry"]))
