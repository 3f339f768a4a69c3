import pytest

from geo.coords import LatLng
from geo.locations import LocationError, PostcodeRef, parse_location


@pytest.mark.parametrize(
    ("typed", "postcode"),
    [
        ("SW5 0AA", "SW5 0AA"),
        ("sw50aa", "SW5 0AA"),
        ("  sw5   0aa ", "SW5 0AA"),
        ("SW1A1AA", "SW1A 1AA"),
        ("w8 4aa", "W8 4AA"),
        ("M1 1AE", "M1 1AE"),
        ("bt1 1aa", "BT1 1AA"),
    ],
)
def test_postcodes_in_any_spacing_and_case(typed, postcode):
    assert parse_location(typed) == PostcodeRef(postcode)


@pytest.mark.parametrize(
    ("typed", "lat", "lng"),
    [
        ("51.4915, -0.1935", 51.4915, -0.1935),
        ("51.4915 -0.1935", 51.4915, -0.1935),
        ("51.4915;-0.1935", 51.4915, -0.1935),
        ("54.6, -5.93", 54.6, -5.93),
    ],
)
def test_latitude_longitude(typed, lat, lng):
    assert parse_location(typed) == LatLng(lat, lng)


@pytest.mark.parametrize(
    ("typed", "lat", "lng"),
    [
        ("525800 178400", 51.4906, -0.1894),  # SW5 0AB
        ("529090, 179645", 51.5010, -0.1416),  # SW1A 1AA
    ],
)
def test_easting_northing(typed, lat, lng):
    point = parse_location(typed)
    assert point.lat == pytest.approx(lat, abs=2e-4)
    assert point.lng == pytest.approx(lng, abs=2e-4)


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("Earls Court", "is not a UK postcode"),
        ("SW5", "is not a UK postcode"),
        ("SW5 0AA extra", "is not a UK postcode"),
        ("-0.1935, 51.4915", "latitude comes first"),
        ("40.7, -74.0", "outside the UK"),
        ("91, 0", "is not a latitude (-90 to 90)"),
        ("45, 200", "is not a latitude (-90 to 90)"),
        ("800000 100000", "easting"),
        ("1e5 2e5", "is not a UK postcode"),
        ("'; DROP TABLE contexts; --", "is not a UK postcode"),
    ],
)
def test_bad_locations_say_why(typed, reason):
    with pytest.raises(LocationError) as caught:
        parse_location(typed)
    assert reason in caught.value.reason
    assert caught.value.value == typed.strip()
