"""Statistical disclosure control for hexagon maps shared outside the owning authority.

Counts are distinct young people, never episodes: one child's many episodes must not make a
hexagon look busy enough to show. A hexagon with 1 to ``threshold`` young people is never shown as
such. It is pooled with its small siblings into the rest of its parent, and the rest climbs from
parent to parent until it holds more than ``threshold`` young people, when it is shown as "the
rest of" that hexagon, or reaches the coarsest resolution, where it is suppressed.

So the areas shown never overlap, each holds more than ``threshold`` young people, and a suppressed
area lies in no area shown. "The rest of" a hexagon is all of it but the hexagons shown apart
inside it (``holes``), empty places included: which of its finer cells hold the young people is
never told, or a rest of six people in six cells would show one person in each.

Every figure shown is then rounded to the nearest multiple of ``base`` (at least ``threshold``),
so the difference of any two figures, from one answer or from two with other filters, boxes or
resolutions, is a multiple of ``base`` and cannot be a count of 1 to ``threshold - 1``: the
secondary protection against subtracting one answer from another.

Cells are H3 integers; their parents are H3's own (:func:`h3.cell_to_parent`), so a region means
the same young people whichever resolution a request asks for.
"""

from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass

import h3.api.basic_int as h3


@dataclass(frozen=True)
class SharedArea:
    """An area as shared: a hexagon, or the rest of ``cell`` once the hexagons in ``holes`` were
    shown apart, with its rounded count of young people, or None where it is suppressed."""

    cell: int
    holes: tuple[int, ...]
    young_people: int | None

    @property
    def suppressed(self) -> bool:
        return self.young_people is None

    @property
    def rest(self) -> bool:
        return bool(self.holes)

    def covers(self, cell: int) -> bool:
        """Whether a finer (or equal) cell lies in this area.

        >>> parent = h3.latlng_to_cell(51.49, -0.19, 7)
        >>> child, other = sorted(h3.cell_to_children(parent, 8))[:2]
        >>> rest = SharedArea(parent, (child,), 10)
        >>> rest.covers(other), rest.covers(child), rest.covers(h3.cell_to_children(child, 9)[0])
        (True, False, False)
        """
        return _within(cell, self.cell) and not any(_within(cell, hole) for hole in self.holes)


def _within(cell: int, ancestor: int) -> bool:
    level = h3.get_resolution(ancestor)
    return h3.get_resolution(cell) >= level and h3.cell_to_parent(cell, level) == ancestor


def rounded(count: int, base: int) -> int:
    """``count`` to the nearest multiple of ``base`` (half-way rounds up).

    >>> [rounded(n, 5) for n in (6, 7, 8, 12, 13, 100)]
    [5, 5, 10, 10, 15, 100]
    """
    return base * ((2 * count + base) // (2 * base))


def disclose(people: Mapping[int, Collection[int]], coarsest: int, threshold: int, base: int) -> list[SharedArea]:
    """The areas to share, from the young people (any hashable ids) of every non-empty cell of
    one resolution, climbing no higher than the ``coarsest`` resolution.

    >>> parent = h3.latlng_to_cell(51.49, -0.19, 7)
    >>> busy, quiet, lone = sorted(h3.cell_to_children(parent, 8))[:3]
    >>> disclose({busy: range(12), quiet: range(20, 27)}, 7, 5, 5) == [
    ...     SharedArea(busy, (), 10), SharedArea(quiet, (), 5)]
    True
    >>> disclose({busy: range(12), quiet: [20, 21], lone: [22]}, 7, 5, 5) == [
    ...     SharedArea(busy, (), 10), SharedArea(parent, (busy,), None)]
    True
    >>> disclose({quiet: [1, 2, 3], lone: [3, 4, 5, 6]}, 7, 5, 5) == [SharedArea(parent, (), 5)]
    True
    """
    if not people:
        return []
    resolution = h3.get_resolution(next(iter(people)))
    if not coarsest <= resolution:
        raise ValueError(f"coarsest resolution {coarsest} is finer than the cells' {resolution}")
    children: dict[int, set[int]] = defaultdict(set)
    for cell in people:
        for level in range(resolution, coarsest, -1):
            children[h3.cell_to_parent(cell, level - 1)].add(h3.cell_to_parent(cell, level))

    def climb(cell: int, level: int) -> tuple[list[SharedArea], list[int], set]:
        """The areas shown inside ``cell``, the largest hexagons they cover whole, and the young
        people left over."""
        if level == resolution:
            group = set(people[cell])
            if len(group) > threshold:
                return [SharedArea(cell, (), rounded(len(group), base))], [cell], set()
            return [], [], group
        shown, covered, left_people = [], [], set()
        for child in sorted(children[cell]):
            child_shown, child_covered, child_people = climb(child, level + 1)
            shown += child_shown
            covered += child_covered
            left_people |= child_people
        if len(left_people) > threshold:  # the rest is shown, so the whole hexagon is covered
            return [*shown, SharedArea(cell, tuple(covered), rounded(len(left_people), base))], [cell], set()
        return shown, covered, left_people

    shared = []
    for top in sorted({h3.cell_to_parent(cell, coarsest) for cell in people}):
        shown, covered, left_people = climb(top, coarsest)
        shared += shown
        if left_people:
            shared.append(SharedArea(top, tuple(covered), None))
    return shared
