"""Drawn areas: what is accepted, and each refusal in words."""

import json

import pytest
import shapely

from geo.areas import MOST_VERTICES, AreaError, area_from_geojson, area_m2, inside_point
from geo.coords import LatLng


def square(lng=-0.19, lat=51.49, size=0.001) -> list:
    return [[[lng, lat], [lng + size, lat], [lng + size, lat + size], [lng, lat + size], [lng, lat]]]


def polygon(rings) -> str:
    return json.dumps({"type": "Polygon", "coordinates": rings})


@pytest.mark.parametrize("text", [
    polygon(square()),
    json.dumps({"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": square()}}),
    json.dumps({"type": "MultiPolygon", "coordinates": [square(), square(lng=-0.18)]}),
    polygon(square(size=0.002) + [[[-0.1895, 51.4905], [-0.1885, 51.4905], [-0.1885, 51.4915], [-0.1895, 51.4905]]]),
])
def test_polygons_features_multipolygons_and_holes_are_accepted(text):
    area = area_from_geojson(text)
    assert area.is_valid and 5_000 < area_m2(area) < 60_000
    assert area.contains(shapely.Point(inside_point(area).lnglat))


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # the NaN corner
@pytest.mark.parametrize(("text", "reason"), [
    ("not json", "is not GeoJSON"),
    ("", "is not GeoJSON"),
    ("[1, 2]", "is a list, not an area"),
    (json.dumps({"type": "LineString", "coordinates": [[-0.19, 51.49], [-0.18, 51.49]]}), "is a LineString, not an area"),
    (json.dumps({"type": "Feature", "geometry": None}), "is a NoneType, not an area"),
    (json.dumps({"type": "Polygon", "coordinates": "x"}), "is not a GeoJSON polygon"),
    (json.dumps({"type": "Polygon", "coordinates": []}), "is empty"),
    (polygon([[[lat, lng] for lng, lat in square()[0]]]), "outside the UK"),  # latitude and longitude swapped
    (polygon(square(size=0.00005)), "an area must cover 50 m² to 25 km²"),
    (polygon(square(size=0.1)), "an area must cover 50 m² to 25 km²"),
    (polygon([[[-0.19 + i * 1e-6, 51.49 + (i % 2) * 1e-4] for i in range(MOST_VERTICES)] + [[-0.19, 51.49]]]),
     f"at most {MOST_VERTICES}"),
    ('{"type": "Polygon", "coordinates": [[[-0.19, 51.49], [NaN, 51.49], [-0.18, 51.5], [-0.19, 51.49]]]}', "not a number"),
])
def test_what_cannot_be_stored_is_refused_with_a_reason(text, reason):
    with pytest.raises(AreaError, match=reason.replace("(", r"\(")):
        area_from_geojson(text)


def test_a_crossing_is_placed_where_it_is():
    bowtie = polygon([[[-0.19, 51.49], [-0.189, 51.491], [-0.189, 51.49], [-0.19, 51.491], [-0.19, 51.49]]])
    with pytest.raises(AreaError, match=r"crosses itself near 51\.490500, -0\.189500"):
        area_from_geojson(bowtie)


def test_the_inside_point_of_a_crescent_is_inside_it():
    crescent = shapely.Polygon([(-0.19, 51.49), (-0.18, 51.49), (-0.18, 51.50), (-0.19, 51.50), (-0.19, 51.499),
                                (-0.181, 51.499), (-0.181, 51.491), (-0.19, 51.491)])
    assert not crescent.contains(crescent.centroid)
    point = inside_point(crescent)
    assert crescent.contains(shapely.Point(point.lnglat)) and isinstance(point, LatLng)
