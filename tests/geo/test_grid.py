import pytest

from geo.grid import IRISH_GRID, dfe_distance_miles, grid_to_latlng


@pytest.mark.parametrize(
    ("a", "b", "miles"),
    [
        ((526217, 177764), (525800, 178400), 0.5),  # SW5 0AA to SW5 0AB (DOMAIN.md's worked check)
        ((529090, 179645), (530019, 182893), 2.1),  # SW1A 1AA to NW1 2DB
        ((0, 0), (0, 0), 0.0),
        ((0, 0), (32186, 0), 20.0),  # 32,186 m is 19.9997 miles: rounds to 20.0
    ],
)
def test_dfe_distance(a, b, miles):
    assert dfe_distance_miles(*a, *b) == miles
    assert dfe_distance_miles(*b, *a) == miles


def test_irish_grid_reference_converts_to_belfast():
    belfast = grid_to_latlng(334316, 374675, IRISH_GRID)  # BT1 1AA
    assert belfast.lat == pytest.approx(54.602, abs=0.002)
    assert belfast.lng == pytest.approx(-5.922, abs=0.002)
