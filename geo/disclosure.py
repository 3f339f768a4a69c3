"""Statistical disclosure control for hexagon maps shared outside the owning authority
(docs/security.md gives the design, its parameters and the attacks tried against it).

Counts are distinct young people, never episodes: one child's many episodes must not make a
hexagon look busy enough to show.

The cell key method (as in the table builders of the Australian Bureau of Statistics and the ONS),
with keys chosen so that answers nest:
- every young person carries two fixed random record keys, each 0 or 1, drawn from her id with a
  secret key: one for figures, one for the threshold;
- a group's cell key is the sum of its members' record keys modulo ``2 * noise + 1``, and its
  perturbation is ``noise`` less the cell key: from ``-noise`` to ``noise`` (and likewise for the
  threshold, with ``threshold_noise``).
So the same young people always get the same answer, however a selection is worded, and asking
again averages nothing away. And one more young person in a group adds one to its count and takes
at most one from its perturbation (or wraps it round to the top): a group's perturbed count never
falls as young people are added. A larger selection never shows an area that a smaller one inside
it leaves out, nor a smaller figure for it, so no answer of a part can be set against a smaller
answer of its whole.

A group is shown when its count perturbed for the threshold exceeds ``threshold + threshold_noise``,
which only a true count above ``threshold`` can; its figure is its count perturbed for the figure,
rounded to the nearest ``base``. An area left out may hold up to ``threshold + 2 * threshold_noise``
young people, as many as an area shown may hold few, so an area shown whose parts are all left out
does not pin a part to 1 to ``threshold`` (docs/security.md works this through, and
tests/webapp/test_disclosure_attacks.py tries it).

A hexagon whose group is not shown is pooled with its small siblings into the rest of its parent,
and the rest climbs from parent to parent until it is shown, as "the rest of" that hexagon, or
reaches the coarsest resolution, where it is suppressed. So the areas shown never overlap and a
suppressed area lies in no area shown. "The rest of" a hexagon is all of it but the hexagons shown
apart inside it (``holes``), empty places included: which of its finer cells hold the young people
is never told, or a rest of six people in six cells would show one person in each.

Cells are H3 integers; their parents are H3's own (:func:`h3.cell_to_parent`), so a region means
the same young people whichever resolution a request asks for.
"""

import functools
import hashlib
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


# At most this many young people's keys are kept between requests (about 8 MB): a shared map of a
# city's 40,000 young people otherwise spends half its disclosure control drawing the same keys.
KEPT_RECORD_KEYS = 1 << 16
# A young person's two keys are packed in one integer, the threshold's shifted this far, so that a
# group's keys are summed in one pass (no group comes near 2**32 young people).
_THRESHOLD_KEY_SHIFT = 32


class _RecordKeys(dict):
    """Packed record keys by young person, drawn from her id and the secret on first use."""

    def __init__(self, secret: bytes):
        super().__init__()
        self.secret = secret

    def __missing__(self, person) -> int:
        if len(self) >= KEPT_RECORD_KEYS:
            self.clear()
        figure_byte, threshold_byte = hashlib.blake2b(str(person).encode(), key=self.secret, digest_size=2).digest()
        packed = self[person] = int(figure_byte < 128) | int(threshold_byte < 128) << _THRESHOLD_KEY_SHIFT
        return packed


@functools.cache
def _record_keys_drawn_with(secret: bytes) -> _RecordKeys:
    return _RecordKeys(secret)


@dataclass(frozen=True)
class CellKeyRule:
    """What may be shown of a group of young people: see the module's description.

    >>> rule = CellKeyRule(threshold=5, noise=2, threshold_noise=2, base=5, secret=b"example")
    >>> [rule.record_keys(person) for person in (1, 2, 3, 4)]
    [(0, 0), (0, 0), (1, 0), (1, 0)]
    >>> rule.perturbations({1, 2, 3, 4}) == rule.perturbations([4, 3, 2, 1]) == (0, 2)
    True
    >>> [rule.figure(range(n)) for n in (3, 6, 12, 20, 21)]
    [None, None, 15, 20, 20]
    """

    threshold: int
    noise: int
    threshold_noise: int
    base: int
    secret: bytes

    def record_keys(self, person) -> tuple[int, int]:
        """The young person's two fixed keys, 0 or 1, from her id and the secret: one perturbs
        figures, the other the threshold."""
        packed = _record_keys_drawn_with(self.secret)[person]
        return packed & 1, packed >> _THRESHOLD_KEY_SHIFT

    def perturbations(self, group: Collection) -> tuple[int, int]:
        """The group's perturbations of its figure (``-noise`` to ``noise``) and of the threshold
        (``-threshold_noise`` to ``threshold_noise``), from its members' record keys."""
        packed = sum(map(_record_keys_drawn_with(self.secret).__getitem__, group))
        figure_key, threshold_key = packed & ((1 << _THRESHOLD_KEY_SHIFT) - 1), packed >> _THRESHOLD_KEY_SHIFT
        return (self.noise - figure_key % (2 * self.noise + 1),
                self.threshold_noise - threshold_key % (2 * self.threshold_noise + 1))

    def figure(self, group: Collection) -> int | None:
        """The group's figure as shown, or None where it may not be shown."""
        figure_noise, threshold_noise = self.perturbations(group)
        if len(group) + threshold_noise <= self.threshold + self.threshold_noise:
            return None
        return max(self.base, rounded(len(group) + figure_noise, self.base))


def disclose(people: Mapping[int, Collection[int]], coarsest: int, rule: CellKeyRule) -> list[SharedArea]:
    """The areas to share, from the young people (any hashable ids) of every non-empty cell of
    one resolution, climbing no higher than the ``coarsest`` resolution.

    >>> rule = CellKeyRule(threshold=5, noise=2, threshold_noise=2, base=5, secret=b"example")
    >>> parent = h3.latlng_to_cell(51.49, -0.19, 7)
    >>> busy, quiet, lone = sorted(h3.cell_to_children(parent, 8))[:3]
    >>> disclose({busy: range(30), quiet: range(40, 60)}, 7, rule) == [
    ...     SharedArea(busy, (), 30), SharedArea(quiet, (), 20)]
    True
    >>> disclose({busy: range(30), quiet: [40, 41], lone: [42]}, 7, rule) == [
    ...     SharedArea(busy, (), 30), SharedArea(parent, (busy,), None)]
    True
    >>> disclose({quiet: range(0, 5), lone: range(4, 10)}, 7, rule) == [SharedArea(parent, (), 10)]
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
            figure = rule.figure(group)
            if figure is not None:
                return [SharedArea(cell, (), figure)], [cell], set()
            return [], [], group
        shown, covered, left_people = [], [], set()
        for child in sorted(children[cell]):
            child_shown, child_covered, child_people = climb(child, level + 1)
            shown += child_shown
            covered += child_covered
            left_people |= child_people
        figure = rule.figure(left_people)
        if figure is not None:  # the rest is shown, so the whole hexagon is covered
            return [*shown, SharedArea(cell, tuple(covered), figure)], [cell], set()
        return shown, covered, left_people

    shared = []
    for top in sorted({h3.cell_to_parent(cell, coarsest) for cell in people}):
        shown, covered, left_people = climb(top, coarsest)
        shared += shown
        if left_people:
            shared.append(SharedArea(top, tuple(covered), None))
    return shared
