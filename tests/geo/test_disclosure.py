"""geo.disclosure against the rules it promises, on random maps of young people."""

from collections import Counter

import h3.api.basic_int as h3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo import disclosure
from geo.disclosure import CellKeyRule, SharedArea, disclose, rounded

CENTRE = h3.latlng_to_cell(51.49, -0.19, 6)
# Two neighbouring resolution-6 hexagons and every resolution-8 cell in them: room for both
# pooling inside a hexagon and suppression at the top.
CELLS_8 = sorted(cell for top in h3.grid_disk(CENTRE, 1)[:2] for cell in h3.cell_to_children(top, 8))
THRESHOLD, NOISE, THRESHOLD_NOISE, BASE = 5, 2, 2, 5
RULE = CellKeyRule(THRESHOLD, NOISE, THRESHOLD_NOISE, BASE, secret=b"tests")

maps = st.dictionaries(
    st.sampled_from(CELLS_8),
    st.sets(st.integers(min_value=1, max_value=40), min_size=1, max_size=12),
    max_size=40,
)


def true_people(area: SharedArea, people: dict[int, set[int]]) -> set[int]:
    return {person for cell, group in people.items() if area.covers(cell) for person in group}


@settings(max_examples=300, deadline=None)
@given(maps)
def test_every_cell_lies_in_exactly_one_area(people):
    areas = disclose(people, 6, RULE)
    for cell in people:
        assert sum(area.covers(cell) for area in areas) == 1


@settings(max_examples=300, deadline=None)
@given(maps)
def test_shown_areas_hold_more_than_the_threshold_and_are_rounded(people):
    for area in disclose(people, 6, RULE):
        truth = len(true_people(area, people))
        assert truth >= 1
        if area.suppressed:
            assert truth <= THRESHOLD + 2 * THRESHOLD_NOISE and h3.get_resolution(area.cell) == 6
        else:
            assert truth > THRESHOLD
            assert area.young_people % BASE == 0 and abs(area.young_people - truth) <= BASE // 2 + NOISE


@settings(max_examples=200, deadline=None)
@given(maps)
def test_a_suppressed_area_lies_inside_no_shown_area(people):
    areas = disclose(people, 6, RULE)
    suppressed_cells = [cell for area in areas if area.suppressed for cell in people if area.covers(cell)]
    for area in areas:
        if not area.suppressed:
            assert not any(area.covers(cell) for cell in suppressed_cells)


@settings(max_examples=200, deadline=None)
@given(maps, st.sampled_from([6, 7]))
def test_a_coarser_map_is_the_same_young_people_in_fewer_areas(people, coarsest):
    """Asking again at resolution 7 counts the same people: the regions nest exactly."""
    coarser = {}
    for cell, group in people.items():
        coarser.setdefault(h3.cell_to_parent(cell, 7), set()).update(group)
    every = set().union(*people.values()) if people else set()
    for result in (disclose(people, coarsest, RULE), disclose(coarser, coarsest, RULE)):
        found = set().union(*(true_people(area, people) for area in result)) if result else set()
        assert found == every


def test_one_lone_child_is_suppressed_not_shown():
    lone = CELLS_8[0]
    assert disclose({lone: {7}}, 6, RULE) == [SharedArea(h3.cell_to_parent(lone, 6), (), None)]


@settings(max_examples=200, deadline=None)
@given(maps)
def test_an_area_never_tells_which_of_its_cells_are_empty(people):
    """Holes are hexagons shown apart, never the empty places: an area is its hexagon less them."""
    areas = disclose(people, 6, RULE)
    shown_whole = {area.cell for area in areas if not area.suppressed}
    for area in areas:
        assert set(area.holes) <= shown_whole


def test_one_child_with_many_cells_still_counts_once():
    assert disclose({cell: {7} for cell in CELLS_8[:30]}, 6, RULE)[0].suppressed


@pytest.mark.parametrize(("count", "expected"), [(6, 5), (7, 5), (8, 10), (12, 10), (13, 15), (1000, 1000)])
def test_rounding(count, expected):
    assert rounded(count, 5) == expected


@settings(max_examples=300, deadline=None)
@given(st.sets(st.integers(min_value=1, max_value=10_000), max_size=60))
def test_the_same_young_people_always_get_the_same_figure(group):
    """However the selection reached them: asking again averages nothing away."""
    shuffled = sorted(group, reverse=True)
    assert RULE.figure(group) == RULE.figure(shuffled) == RULE.figure(set(shuffled))
    figure_noise, threshold_noise = RULE.perturbations(group)
    assert -NOISE <= figure_noise <= NOISE and -THRESHOLD_NOISE <= threshold_noise <= THRESHOLD_NOISE


@pytest.mark.parametrize(("which", "noise"), [(0, NOISE), (1, THRESHOLD_NOISE)])
def test_perturbations_are_spread_over_the_whole_range(which, noise):
    """Each perturbation about equally often over groups of many sizes: a rule stuck at 0 would be
    no noise, and one stuck at an end a mere shift."""
    counts = Counter(RULE.perturbations(range(start, start + 8 + start % 40))[which] for start in range(9000))
    expected = 9000 / (2 * noise + 1)
    assert sorted(counts) == list(range(-noise, noise + 1))
    assert all(0.8 * expected <= count <= 1.2 * expected for count in counts.values()), counts


def test_the_two_perturbations_are_drawn_apart():
    """One key for both would tie whether an area shows to how its figure moves."""
    pairs = Counter(RULE.perturbations(range(start, start + 8 + start % 40)) for start in range(9000))
    assert len(pairs) == (2 * NOISE + 1) * (2 * THRESHOLD_NOISE + 1)


@settings(max_examples=300, deadline=None)
@given(st.sets(st.integers(min_value=1, max_value=10_000), max_size=60), st.integers(min_value=10_001, max_value=20_000))
def test_one_more_young_person_never_lowers_a_figure_or_hides_an_area(group, newcomer):
    """Answers nest: a larger selection never shows an area that one inside it leaves out, nor a
    smaller figure for it, so no part's answer can be set against a smaller answer of its whole."""
    larger = group | {newcomer}
    for which in (0, 1):
        assert len(larger) + RULE.perturbations(larger)[which] >= len(group) + RULE.perturbations(group)[which]
    if RULE.figure(group) is not None:
        assert RULE.figure(larger) is not None and RULE.figure(larger) >= RULE.figure(group)


def test_another_secret_draws_other_keys():
    other = CellKeyRule(THRESHOLD, NOISE, THRESHOLD_NOISE, BASE, secret=b"another")
    assert [RULE.record_keys(n) for n in range(20)] != [other.record_keys(n) for n in range(20)]


@pytest.mark.parametrize("count", range(0, THRESHOLD + 1))
def test_a_count_up_to_the_threshold_is_never_shown(count):
    assert all(RULE.figure(range(start, start + count)) is None for start in range(300))


@pytest.mark.parametrize("count", range(THRESHOLD + 1, THRESHOLD + 2 * THRESHOLD_NOISE + 1))
def test_a_count_just_over_the_threshold_is_sometimes_shown_and_sometimes_not(count):
    shown = [RULE.figure(range(start, start + count)) is not None for start in range(300)]
    assert any(shown) and not all(shown)


def test_keys_drawn_again_once_the_kept_ones_are_let_go_are_the_same(monkeypatch):
    """The store of drawn keys is bounded; emptying it must not change anyone's answer."""
    monkeypatch.setattr(disclosure, "KEPT_RECORD_KEYS", 50)
    rule = CellKeyRule(THRESHOLD, NOISE, THRESHOLD_NOISE, BASE, secret=b"kept keys")  # none drawn yet
    group = range(200)
    before = [rule.record_keys(person) for person in group], rule.perturbations(group)
    assert len(disclosure._record_keys_drawn_with(rule.secret)) <= 50
    assert ([rule.record_keys(person) for person in reversed(group)][::-1], rule.perturbations(group)) == before
