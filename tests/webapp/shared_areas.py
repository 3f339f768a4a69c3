"""Reading the areas of a shared-map answer as a partner's GIS would: a feature is its ``h3``
hexagon, less the hexagons in ``holes`` for "the rest of" a hexagon. Restated here with h3-py's
parents rather than imported from geo.disclosure, so the tests check the server's answer and not
the server's own reading of it."""

import h3


def within(cell: str, ancestor: str) -> bool:
    """Whether ``cell`` is ``ancestor`` or one of its descendants."""
    level = h3.get_resolution(ancestor)
    return h3.get_resolution(cell) >= level and h3.cell_to_parent(cell, level) == ancestor


def holes(feature: dict) -> list[str]:
    return feature["properties"].get("holes", [])


def covers(feature: dict, cell: str) -> bool:
    """Whether a cell at least as fine as the feature's hexagon lies in the feature's area."""
    return within(cell, feature["properties"]["h3"]) and not any(within(cell, hole) for hole in holes(feature))


def inside(inner: dict, outer: dict) -> bool:
    """Whether the inner feature's area lies wholly in the outer's: inside its hexagon, and every
    hole of the outer that reaches into the inner hexagon is also left out of the inner area."""
    cell = inner["properties"]["h3"]
    if not within(cell, outer["properties"]["h3"]):
        return False
    for hole in holes(outer):
        if within(cell, hole):
            return False
        if within(hole, cell) and not any(within(hole, own) for own in holes(inner)):
            return False
    return True


def area_key(feature: dict) -> tuple[str, tuple[str, ...]]:
    """The area itself, for matching one answer's features against another's."""
    return feature["properties"]["h3"], tuple(holes(feature))
