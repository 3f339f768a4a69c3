"""Getis-Ord Gi* hotspot statistics over H3 hexagons.

A hexagon with many episodes is not necessarily a hotspot: Gi* asks whether a hexagon *and its
neighbours* hold more than the whole area would lead one to expect. The area must include its
empty hexagons, or the expectation is inflated and real clusters are missed.

p-values are the analytic (normal approximation) ones: with permutations, 999 of them cannot give
a p-value below 0.001, which no false-discovery-rate correction over thousands of hexagons would
pass. The Benjamini-Hochberg correction then keeps the expected share of false hotspots among
those reported at ``alpha``.
"""

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import h3
import h3.api.basic_int as h3int
import numpy as np
from esda.getisord import G_Local
from libpysal.weights import W
from scipy.stats import false_discovery_control, norm

from geo.hexes import MAX_CELLS

FDR_ALPHA = 0.05


@dataclass(frozen=True)
class GiStar:
    z: float  # standard deviations above (or below) what the area leads one to expect
    p: float  # two-sided analytic p-value
    hotspot: bool  # z > 0 and significant after the false-discovery-rate correction


def surrounding_cells(cells: Sequence[int], distance: int = 2) -> list[int]:
    """The cells and every cell within ``distance`` steps of them: a study area when none is given.

    >>> len(surrounding_cells([h3.str_to_int("89194ad1d4bffff")], 1))
    7
    """
    area = set()
    for cell in cells:
        area.update(h3.str_to_int(c) for c in h3.grid_disk(h3.int_to_str(cell), distance))
    return sorted(area)


def gi_star(counts: dict[int, float], area: Sequence[int], alpha: float = FDR_ALPHA) -> dict[int, GiStar]:
    """Gi* for every cell of ``area`` (cells missing from ``counts`` count zero), with the
    neighbours of a cell being the six hexagons around it.

    >>> centre = h3.str_to_int("89194ad1d4bffff")
    >>> area = surrounding_cells([centre], 6)
    >>> cluster = surrounding_cells([centre], 1)
    >>> result = gi_star({cell: 20 for cell in cluster} | {area[0]: 1, area[-1]: 1}, area)
    >>> result[centre].hotspot, result[area[0]].hotspot
    (True, False)
    """
    area = list(dict.fromkeys(area))
    if len(area) > MAX_CELLS:
        raise ValueError(f"{len(area):,} hexagons is more than {MAX_CELLS:,}: choose a smaller area or resolution")
    present = set(area)
    neighbours = {
        cell: [n for n in (h3.str_to_int(c) for c in h3.grid_ring(h3.int_to_str(cell), 1)) if n in present]
        for cell in area
    }
    values = np.array([counts.get(cell, 0) for cell in area], dtype=float)
    if len(area) < 3 or values.sum() == 0 or np.all(values == values[0]):
        return {cell: GiStar(0.0, 1.0, False) for cell in area}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # islands and disconnected parts are expected at area edges
        weights = W(neighbours, id_order=area, silence_warnings=True)
        statistic = G_Local(values, weights, transform="B", star=True, permutations=0)
    z = np.nan_to_num(statistic.Zs)
    p = 2 * norm.sf(np.abs(z))
    adjusted = false_discovery_control(p, method="bh")
    return {
        cell: GiStar(float(z[i]), float(p[i]), bool(z[i] > 0 and adjusted[i] < alpha))
        for i, cell in enumerate(area)
    }


class LocalGiStar:
    """:func:`gi_star` over the rings around any hexagon of one field of ``counts``, each area on
    its own, computed directly rather than through esda.

    The placements report asks this of thousands of areas, and building esda's weights costs ten
    times the sums themselves. The statistic is the same: with binary weights that include the
    cell itself, a cell whose ``w`` cells (itself and its neighbours in the area) sum to ``s``, in
    an area of ``n`` cells with mean ``m`` and standard deviation ``sd``, scores
    ``z = (s - m w) / (sd sqrt((n w - w^2) / (n - 1)))``. A cell's sum over its neighbours is the
    same in every area that holds them all, so it is kept; only the outer ring is summed anew.
    Tests hold it to :func:`gi_star`.

    >>> centre = h3.str_to_int("89194ad1d4bffff")
    >>> counts = {cell: 20 for cell in surrounding_cells([centre], 1)}
    >>> local, reference = LocalGiStar(counts).around(centre, 6), gi_star(counts, surrounding_cells([centre], 6))
    >>> local[centre].hotspot, round(local[centre].z, 9) == round(reference[centre].z, 9)
    (True, True)
    """

    def __init__(self, counts: dict[int, float]):
        self.counts = counts
        self._sums: dict[int, float] = {}

    def with_neighbours(self, cell: int) -> float:
        """The cell's count and its neighbours' (kept: every area holding them all shares it)."""
        total = self._sums.get(cell)
        if total is None:
            total = self._sums[cell] = self.counts.get(cell, 0) + sum(self.counts.get(n, 0) for n in _ring(cell))
        return total

    def around(self, centre: int, rings: int, alpha: float = FDR_ALPHA, only: Sequence[int] | None = None) -> dict[int, GiStar]:
        """Gi* of every cell within ``rings`` of ``centre``, over those cells; or of the cells
        ``only`` (the false-discovery correction still runs over them all)."""
        inner = h3int.grid_disk(centre, rings - 1) if rings else []
        edge = h3int.grid_ring(centre, rings)
        area = inner + edge
        if len(area) > MAX_CELLS:
            raise ValueError(f"{len(area):,} hexagons is more than {MAX_CELLS:,}: choose fewer rings")
        values = np.array([self.counts.get(cell, 0) for cell in area], dtype=float)
        n = len(area)
        keep = None if only is None else set(only)
        wanted = range(n) if keep is None else [i for i, cell in enumerate(area) if cell in keep]
        if n < 3 or values.sum() == 0 or np.all(values == values[0]):
            return {area[i]: GiStar(0.0, 1.0, False) for i in wanted}
        # A pentagon has five neighbours: its own cells are then summed as edge cells are.
        whole = [self.with_neighbours(cell) if len(_ring(cell)) == 6 else None for cell in inner]
        members = set(area)
        sums, weights = np.empty(n), np.empty(n)
        for i, cell in enumerate(area):
            if i < len(inner) and whole[i] is not None:
                sums[i], weights[i] = whole[i], 7
            else:
                neighbours = [c for c in _ring(cell) if c in members]
                sums[i] = self.counts.get(cell, 0) + sum(self.counts.get(c, 0) for c in neighbours)
                weights[i] = 1 + len(neighbours)
        mean, deviation = values.mean(), values.std()
        z = np.nan_to_num((sums - mean * weights) / (deviation * np.sqrt((n * weights - weights**2) / (n - 1))))
        p = 2 * norm.sf(np.abs(z))
        adjusted = false_discovery_control(p, method="bh")
        return {area[i]: GiStar(float(z[i]), float(p[i]), bool(z[i] > 0 and adjusted[i] < alpha)) for i in wanted}


@lru_cache(maxsize=200_000)
def _ring(cell: int) -> tuple[int, ...]:
    return tuple(h3int.grid_ring(cell, 1))
