"""The ONS Postcode Directory as loaded by the set-up: every postcode, on the right grid."""

import json

import pytest
from geoalchemy2.shape import to_shape
from shapely.geometry import shape
from sqlalchemy import func, select

from geo.grid import BRITISH_NATIONAL_GRID, IRISH_GRID, grid_to_latlng
from geo.locations import LocationError
from models.geography import LocalAuthority, Postcode
from models.locations import resolve_location
from models.queries import area_outline


def test_every_uk_postcode_is_loaded(session):
    assert session.scalar(select(func.count()).select_from(Postcode)) > 2_600_000


@pytest.mark.parametrize(
    ("postcode", "easting", "northing", "srid", "authority"),
    [
        ("SW5 0AA", 526217, 177764, BRITISH_NATIONAL_GRID, "E09000020"),
        ("SW1A 1AA", 529090, 179645, BRITISH_NATIONAL_GRID, "E09000033"),
        ("W8 4AA", 525511, 179965, BRITISH_NATIONAL_GRID, "E09000020"),
        ("BT1 1AA", 334316, 374675, IRISH_GRID, "N09000003"),
    ],
)
def test_points_come_from_the_right_grid(session, postcode, easting, northing, srid, authority):
    row = session.get(Postcode, postcode)
    assert (row.easting, row.northing, row.grid_srid, row.local_authority_code) == (easting, northing, srid, authority)
    lng, lat = to_shape(row.location).coords[0]
    expected = grid_to_latlng(easting, northing, srid)  # pyproj, independent of PostGIS
    assert lat == pytest.approx(expected.lat, abs=1e-4)
    assert lng == pytest.approx(expected.lng, abs=1e-4)


def test_postcodes_without_a_grid_reference_have_no_point(session):
    row = session.get(Postcode, "GY1 1AA")
    assert row is not None and row.location is None
    with pytest.raises(LocationError, match="no grid reference"):
        resolve_location(session, "gy1 1aa")


def test_unknown_postcode_is_refused_by_name(session):
    with pytest.raises(LocationError) as caught:
        resolve_location(session, "zz9 9zz")
    assert caught.value.value == "zz9 9zz"
    assert "not in the ONS Postcode Directory (ZZ9 9ZZ)" in caught.value.reason


def test_local_authorities_map_to_upper_tier(session):
    district = session.get(LocalAuthority, "E07000066")  # Basildon, in Essex
    assert district.upper_tier_code == "E10000012"
    assert session.get(LocalAuthority, "E09000020").upper_tier_code == "E09000020"


@pytest.mark.parametrize(
    ("authority", "inside", "outside"),
    [
        ("E09000020", "SW5 0AA", "SW1A 1AA"),  # a London borough: its own postcodes
        ("E10000012", "SS14 1DA", "SW5 0AA"),  # Essex (upper tier): its districts' postcodes, Basildon's too
    ],
)
def test_area_outline_covers_the_authority(session, authority, inside, outside):
    outline = session.scalar(area_outline(authority))
    assert outline is not None
    area = shape(json.loads(outline))

    def point(postcode):
        return to_shape(session.get(Postcode, postcode).location)

    assert area.buffer(1e-9).contains(point(inside))
    assert not area.contains(point(outside))
