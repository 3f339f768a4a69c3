"""Gi* must find a planted cluster, and must not find clusters in a field of pure noise."""

import random

import h3
import numpy as np
import pytest

from geo.hexes import cells_in_box
from geo.hotspots import LocalGiStar, gi_star, surrounding_cells

# About 30 km2 of resolution-9 hexagons (0.1 km2 each) around Earl's Court.
AREA = cells_in_box(-0.24, 51.46, -0.16, 51.51, 9)


def poisson_field(rate: float, seed: int) -> dict[int, float]:
    rng = np.random.default_rng(seed)
    return {cell: float(count) for cell, count in zip(AREA, rng.poisson(rate, len(AREA)))}


def test_the_area_is_large_enough_to_mean_something():
    assert len(AREA) > 250


@pytest.mark.parametrize("seed", range(5))
def test_a_planted_cluster_is_found(seed):
    counts = poisson_field(1.0, seed)
    centre = AREA[len(AREA) // 2]
    cluster = surrounding_cells([centre], 1)  # the centre and its six neighbours
    for cell in cluster:
        counts[cell] += 12
    result = gi_star(counts, AREA)
    assert result[centre].hotspot
    assert result[centre].z > 3
    found = {cell for cell, gi in result.items() if gi.hotspot}
    # What is reported is the cluster (and at most its immediate surroundings), not noise elsewhere.
    assert found <= set(surrounding_cells([centre], 2))


@pytest.mark.parametrize("seed", range(5))
def test_uniform_noise_has_no_hotspots(seed):
    result = gi_star(poisson_field(3.0, seed), AREA)
    assert not any(gi.hotspot for gi in result.values())


def test_one_busy_hexagon_alone_is_not_a_cluster():
    # A single busy hexagon among empty neighbours is busy, but Gi* (which pools the neighbours)
    # should not call it as strong a hotspot as a genuinely clustered area of the same total.
    centre = AREA[len(AREA) // 2]
    lonely = {cell: 1.0 for cell in AREA} | {centre: 84.0}
    clustered = {cell: 1.0 for cell in AREA} | {cell: 13.0 for cell in surrounding_cells([centre], 1)}
    assert gi_star(clustered, AREA)[centre].z > gi_star(lonely, AREA)[centre].z


def test_empty_cells_count_as_zero_and_degenerate_fields_are_quiet():
    assert not any(gi.hotspot for gi in gi_star({}, AREA).values())
    assert not any(gi.hotspot for gi in gi_star({cell: 2.0 for cell in AREA}, AREA).values())
    assert set(gi_star({AREA[0]: 5.0}, AREA)) == set(AREA)


def test_too_many_cells_is_refused():
    with pytest.raises(ValueError, match="more than"):
        gi_star({}, list(range(1, 250_002)))


@pytest.mark.parametrize("seed", range(6))
def test_local_gi_star_is_esdas_gi_star_over_the_rings(seed):
    rng = random.Random(seed)
    centre = h3.str_to_int(h3.latlng_to_cell(51.3 + rng.random(), -0.5 + rng.random(), 8))
    area = surrounding_cells([centre], 10)
    # Sparse, clustered counts as episodes are, and cells outside the area that must not count.
    counts = {cell: rng.choice((0, 0, 0, 1, 2, 5)) for cell in surrounding_cells([centre], 12)}
    counts |= {cell: 30 for cell in surrounding_cells([centre], 1)}  # a planted cluster
    field = LocalGiStar(counts)
    field.around(h3.str_to_int(h3.grid_ring(h3.int_to_str(centre), 3)[0]), 10)  # sums kept from another area
    local, reference = field.around(centre, 10), gi_star(counts, area)
    assert set(local) == set(area)
    for cell in area:
        assert local[cell].z == pytest.approx(reference[cell].z, abs=1e-9)
        assert local[cell].p == pytest.approx(reference[cell].p, abs=1e-12)
        assert local[cell].hotspot == reference[cell].hotspot
    assert local[centre].hotspot


def test_local_gi_star_of_an_empty_or_flat_area_finds_nothing():
    centre = h3.str_to_int("89194ad1d4bffff")
    assert not any(s.hotspot for s in LocalGiStar({}).around(centre, 3).values())
    flat = {cell: 4 for cell in surrounding_cells([centre], 3)}
    assert {s.z for s in LocalGiStar(flat).around(centre, 3).values()} == {0.0}


def test_local_gi_star_of_some_cells_is_theirs_over_the_whole_area():
    centre = h3.str_to_int("88194ad1d5fffff")
    counts = {cell: 9 for cell in surrounding_cells([centre], 1)} | {surrounding_cells([centre], 4)[0]: 3}
    near = surrounding_cells([centre], 1)
    assert LocalGiStar(counts).around(centre, 8, only=near) == {c: s for c, s in LocalGiStar(counts).around(centre, 8).items() if c in near}
