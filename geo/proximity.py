"""Which of many points have a tagged place near them: a hash join on a square grid of the British
National Grid, for questions asked of thousands of points at once ("is any home of a young person
who shares a context with her within a mile of each placement?").

A place is hashed into the grid square of its tag and position, the squares being as wide as the
distance asked about, so only the 3 x 3 squares around a point can hold what is near it. Distances
are straight lines in British-grid metres, as the DfE measures.
"""

from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from math import floor


@dataclass(frozen=True, slots=True)
class Spot:
    """A point in British-grid metres with its tags and the person it belongs to (if any)."""

    easting: float
    northing: float
    tags: frozenset
    owner: Hashable = None


def near_tagged(points: Mapping[Hashable, Spot], places: Iterable[Spot], metres: float) -> set:
    """The keys of ``points`` with a place within ``metres`` that shares one of their tags and
    does not belong to the point's own owner.

    Examples
    --------
    >>> her_placement = Spot(525000, 178000, frozenset({"takeaway"}), owner="her")
    >>> places = [Spot(525900, 178000, frozenset({"takeaway"}), owner="him"),   # 900 m, shared
    ...           Spot(525100, 178000, frozenset({"park"}), owner="them"),      # 100 m, not shared
    ...           Spot(525000, 178010, frozenset({"takeaway"}), owner="her")]   # her own home
    >>> near_tagged({"p1": her_placement}, places, 1000), near_tagged({"p1": her_placement}, places, 800)
    ({'p1'}, set())
    """
    squares: dict[tuple, list[Spot]] = defaultdict(list)
    for place in places:
        column, row = floor(place.easting / metres), floor(place.northing / metres)
        for tag in place.tags:
            squares[tag, column, row].append(place)
    limit = metres * metres
    found = set()
    for key, point in points.items():
        column, row = floor(point.easting / metres), floor(point.northing / metres)
        if any(
            place.owner is None or place.owner != point.owner
            for tag in point.tags for dx in (-1, 0, 1) for dy in (-1, 0, 1)
            for place in squares.get((tag, column + dx, row + dy), ())
            if (place.easting - point.easting) ** 2 + (place.northing - point.northing) ** 2 <= limit
        ):
            found.add(key)
    return found
