"""The attacker's suite: the shared map of the demo data, asked as a police partner by somebody who
knows the method and its parameters (docs/security.md) and puts every answer together.

Each answer bounds true counts of distinct young people:
- an area shown with a figure holds a count that the documented rule turns into that figure;
- a hexagon of the resolution asked for that is not shown whole holds at most
  threshold + 2 x noise (its own group was not shown; it looks like an empty one).
Then everything the attacker knows about how selections relate ties those counts together, and the
bounds are tightened until nothing changes (bounds propagation, as a constraint solver does):
- complements: sex splits everyone exactly (female + male); type, hours, days, ages and the two
  halves of a period cover everyone (a young person may be in more than one part);
- differencing: a selection inside another (each part of a split, a period a month shorter: the
  shared map answers for whole calendar months only) leaves the young people of the larger only,
  a count never shown but bounded all the same;
- resolutions: a hexagon's young people are those of its children together, and "the rest of" a
  hexagon and the hexagons shown apart in it make up the hexagon.
An attack succeeds where a count is pinned between 1 and the threshold: an area or a difference
that must hold at least one young person and no more than the threshold.

Every attack is tried against the rule as it was before the cell key method (no noise, figures
rounded to 5), where it must find children, and against the rule as configured, where it must
find none. Figures are also checked against the true counts, and boxes against the whole map.
"""

import math
from collections import Counter, defaultdict
from datetime import datetime
from itertools import product

import h3
import pytest
from sqlalchemy import select

from geo.disclosure import rounded
from models.base import make_engine
from models.codes import Role
from models.safeguarding import MissingEpisode, YoungPerson
from models.times import LONDON
from tests.conftest import DEMO_PASSWORD, as_app_role
from tests.webapp.shared_areas import area_key, covers
from webapp import create_app

pytestmark = pytest.mark.long

RESOLUTIONS = range(6, 11)
LAYERS = ("last_seen", "found")
# (threshold, threshold noise, noise, rounding): the rule as configured by default, and as it was before.
RULES = {"cell key": (5, 2, 2, 5), "rounding only": (5, 0, 0, 5)}
# How the parts of a selection make it up: every young person in exactly one part, in one part or
# more, or the parts only lie inside it.
EXACT, COVER, INSIDE = "exact", "cover", "inside"
# (family, parts, how): the parts split any selection.
SPLITS = [
    ("sex", ["sex=female", "sex=male"], EXACT),
    ("type", ["type=M", "type=A"], COVER),
    ("hours", ["hours=00-12", "hours=12-00"], COVER),
    ("days", ["days=mon,tue,wed", "days=thu,fri,sat,sun"], COVER),
    ("age", ["age=0-12", "age=13-25"], COVER),
    ("period halves", ["to=2025-12-31", "from=2026-01-01"], COVER),
]
# The selections split: everyone, and narrower ones.
BASES = ["", "sex=female", "type=M"]
# (larger, one month shorter) at both ends of a period: the shortest difference the shared map's
# whole calendar months allow.
SHORTER = [("from=2026-01-01&to=2026-04-30", "from=2026-02-01&to=2026-04-30"),
           ("from=2026-01-01&to=2026-04-30", "from=2026-01-01&to=2026-03-31")]
# Narrower selections, and periods a day apart: refused, whatever the data.
NARROW = ([f"from=2026-03-{day:02d}&to=2026-04-30" for day in range(2, 29)]
          + [f"from=2026-03-01&to=2026-04-{day:02d}" for day in range(1, 30)]
          + [f"hours={hour:02d}-{(hour + length) % 24:02d}" for hour in range(24) for length in range(1, 6)]
          + [f"age={age}-{age + length}" for age in range(8, 19) for length in range(2)]
          + [f"days={day}" for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")])
# Boxes, checked against the whole map: a box chooses whole areas and never cuts one.
BOXES = ["-0.2,51.48,-0.18,51.5", "-0.23,51.47,-0.16,51.52", "-0.1905,51.4895,-0.1895,51.4905"]


def joined(*parts: str) -> str:
    return "&".join(part for part in parts if part)


def relations() -> list[tuple[str, str, list[str], str]]:
    """(family, whole, parts, how) for every split of every base, and every shorter period."""
    found = []
    for base, (family, parts, how) in product(BASES, SPLITS):
        if any(part.split("=")[0] in base for part in parts):
            continue
        found.append((family, base, [joined(base, part) for part in parts], how))
    found += [("period one month shorter", larger, [shorter], INSIDE) for larger, shorter in SHORTER]
    return found


def queries() -> list[str]:
    return sorted({query for _, whole, parts, _ in relations() for query in [whole, *parts]})


def ask(database_url: str, rule: tuple[int, int, int], queries_asked, boxes=()) -> dict:
    """Every answer, keyed by (layer, query, box, resolution), from an app with the rule's settings;
    the boxes are asked of everyone only."""
    app = create_app({"SECRET_KEY": "attacks", "DATABASE_URL": database_url, "WTF_CSRF_ENABLED": False,
                      "APP_DATABASE_URL": as_app_role(database_url)})
    # Set after the app is built: its settings check refuses the old rule, as it should.
    app.config.update(DISCLOSURE_THRESHOLD=rule[0], DISCLOSURE_THRESHOLD_NOISE=rule[1], DISCLOSURE_NOISE=rule[2],
                      DISCLOSURE_ROUNDING=rule[3])
    client = app.test_client()
    assert client.post("/login", data={"username": "police", "password": DEMO_PASSWORD}).status_code == 302
    answers = {}
    asked = [*product(LAYERS, queries_asked, [""], RESOLUTIONS), *product(LAYERS, [""], boxes, RESOLUTIONS)]
    for layer, query, box, res in asked:
        url = f"/api/v1/shared/hexes?res={res}&layer={layer}&{query}" + (f"&bbox={box}" if box else "")
        response = client.get(url)
        assert response.status_code == 200, (url, response.get_data(as_text=True))
        answers[layer, query, box, res] = response.get_json()
    app.extensions["db_engine"].dispose()
    return answers


@pytest.fixture(scope="module")
def answers(demo_database_url):
    return {name: ask(demo_database_url, rule, queries(), BOXES if name == "cell key" else ())
            for name, rule in RULES.items()}


# The method as documented, restated: what a figure, or its absence, tells of the true count.
def possible_counts(value: int, rule) -> tuple[int, int]:
    threshold, _, noise, base = rule
    counts = [n for n in range(threshold + 1, value + base + noise + 1)
              if any(max(base, rounded(n + e, base)) == value for e in range(-noise, noise + 1))]
    assert counts, f"no count gives the figure {value}"
    return min(counts), max(counts)


def hidden_counts(rule) -> tuple[int, int]:
    threshold, threshold_noise, _, _ = rule
    return 0, threshold + 2 * threshold_noise


class Attack:
    """Bounds on counts (variables are any hashable names; 0 to infinity until narrowed) and the
    linear relations between them, tightened together."""

    def __init__(self):
        self.low: dict = defaultdict(int)
        self.high: dict = defaultdict(lambda: math.inf)
        self.relations: list[tuple[list[tuple[int, object]], bool]] = []

    def bound(self, name, low, high) -> None:
        self.low[name] = max(self.low[name], low)
        self.high[name] = min(self.high[name], high)

    def at_most(self, terms: list[tuple[int, object]], exact: bool = False) -> None:
        """sum(coefficient x count) <= 0, or == 0 when exact."""
        self.relations.append((terms, exact))

    def tighten(self, rounds: int = 50) -> None:
        for _ in range(rounds):
            changed = False
            for terms, exact in self.relations:
                for sign in (1, -1) if exact else (1,):
                    changed |= self._tighten(terms, sign)
            if not changed:
                return
        raise AssertionError("the bounds kept moving")

    def _tighten(self, terms, sign) -> bool:
        # Each term's least value; a term can be at most minus the least of the others.
        least = [sign * c * (self.low[v] if sign * c > 0 else self.high[v]) for c, v in terms]
        finite = sum(x for x in least if x != -math.inf)
        unbounded = sum(x == -math.inf for x in least)
        changed = False
        for (c, v), own in zip(terms, least):
            if unbounded - (own == -math.inf):
                continue
            others = finite - (own if own != -math.inf else 0)
            if sign * c > 0 and -others < self.high[v]:
                self.high[v], changed = -others, True
            elif sign * c < 0 and others > self.low[v]:
                self.low[v], changed = others, True
        return changed

    def pinned(self, threshold: int) -> list:
        """Counts that must be between 1 and the threshold."""
        return [v for v in list(self.low) if self.low[v] >= 1 and self.high[v] <= threshold]

    def contradictions(self) -> list:
        return [v for v in list(self.low) if self.low[v] > self.high[v]]


def features(answer: dict) -> list[dict]:
    return answer["features"]


def attack(answers: dict, rule, families: set[str], same_answer_same_people: bool = False) -> Attack:
    """Every answer without a box, and the relations of ``families`` ("resolution" for hexagons and
    their children, the others as in SPLITS and SHORTER). ``same_answer_same_people``: the attacker
    also reasons that two different answers for one area come from different young people."""
    found = Attack()
    asked = {query for (_, query, box, _) in answers if not box}
    areas = defaultdict(set)  # per layer, every area any answer shows
    seen = {}  # what an answer says of a count: a figure, or None for a hexagon not shown
    for (layer, query, box, _), answer in answers.items():
        if box:
            continue
        for feature in features(answer):
            key = area_key(feature)
            areas[layer].add(key)
            seen[layer, query, key] = feature["properties"]["young_people"]
            found.bound((layer, query, key), *possible_counts(seen[layer, query, key], rule))
    for (layer, query, box, res), answer in answers.items():
        if box:
            continue
        shown = {area_key(f) for f in features(answer)}
        for cell, holes in areas[layer]:
            if not holes and h3.get_resolution(cell) == res and (cell, ()) not in shown:
                seen[layer, query, (cell, ())] = None
                found.bound((layer, query, (cell, ())), *hidden_counts(rule))
    for layer in LAYERS:
        for family, whole, parts, how in relations():
            if family not in families:
                continue
            for key in areas[layer]:
                total = (layer, whole, key)
                for part in parts:  # what the whole holds beyond the part: never shown, bounded all the same
                    beyond = (family, layer, whole, part, key)
                    # The same young people always get the same answer: another answer means somebody more.
                    if (same_answer_same_people and total in seen and (layer, part, key) in seen
                            and seen[total] != seen[layer, part, key]):
                        found.bound(beyond, 1, math.inf)
                    found.at_most([(1, total), (-1, (layer, part, key)), (-1, beyond)], exact=True)
                if how != INSIDE:
                    found.at_most([(1, total), *[(-1, (layer, part, key)) for part in parts]], exact=how == EXACT)
        if "resolution" in families:
            for query in asked:
                for cell, holes in areas[layer]:
                    whole = (layer, query, (cell, ()))
                    if holes:  # the hexagon is its rest and its hexagons shown apart
                        rest = (layer, query, (cell, holes))
                        found.at_most([(1, whole), (-1, rest), *[(-1, (layer, query, (hole, ()))) for hole in holes]])
                        found.at_most([(1, rest), (-1, whole)])
                    elif h3.get_resolution(cell) < RESOLUTIONS[-1]:
                        children = h3.cell_to_children(cell)
                        found.at_most([(1, whole), *[(-1, (layer, query, (child, ()))) for child in children]])
                        for child in children:
                            found.at_most([(1, (layer, query, (child, ()))), (-1, whole)])
                            if (child, ()) not in areas[layer]:  # shown in no answer, so hidden in this one
                                found.bound((layer, query, (child, ())), *hidden_counts(rule))
    found.tighten()
    return found


FAMILIES = [family for family, *_ in SPLITS] + ["period one month shorter", "resolution"]


def test_the_attack_asks_enough(answers):
    asked = answers["cell key"]
    assert len(asked) == len(LAYERS) * (len(queries()) + len(BOXES)) * len(RESOLUTIONS)
    assert sum(len(features(answer)) for answer in asked.values()) > 1000


# Pooling into "the rest of" a hexagon already held against these under the old rule too (no
# count pinned on the demo data); the arithmetic that would find one is tested below.
HELD_BEFORE = {"period one month shorter", "resolution"}


@pytest.mark.parametrize("family", [family for family in FAMILIES if family not in HELD_BEFORE])
def test_each_attack_finds_children_when_figures_are_only_rounded(answers, family):
    """The attacks work: against the rule as it was, each pins counts of 1 to the threshold."""
    rule = RULES["rounding only"]
    found = attack(answers["rounding only"], rule, {family})
    assert found.contradictions() == []
    assert found.pinned(rule[0]), family


def test_the_attacker_s_arithmetic_pins_the_boy_of_the_first_review():
    """Everyone 5, girls 5 and boys marked suppressed, under the rule before any of this: 6 or 7
    young people, 6 or 7 girls and 1 to 5 boys leave exactly one boy."""
    found = Attack()
    found.bound("everyone", 6, 7)
    found.bound("girls", 6, 7)
    found.bound("boys", 1, 5)
    found.at_most([(1, "everyone"), (-1, "girls"), (-1, "boys")], exact=True)
    found.tighten()
    assert found.pinned(5) == ["boys"] and (found.low["boys"], found.high["boys"]) == (1, 1)


def test_the_attacker_s_arithmetic_finds_two_hidden_halves_and_not_a_day():
    """A hexagon shown as 10 (8 to 12 young people) whose two halves are hidden (0 to 5 each): each
    half holds 3 to 5. A period of 8 to 12 whose day shorter holds 8: the day holds 0 to 4, which
    tells nothing."""
    found = Attack()
    found.bound("hexagon", 8, 12)
    for half in ("half", "other half"):
        found.bound(half, 0, 5)
        found.at_most([(1, half), (-1, "hexagon")])
    found.at_most([(1, "hexagon"), (-1, "half"), (-1, "other half")])
    found.bound("period", 8, 12)
    found.bound("shorter", 8, 8)
    found.at_most([(1, "period"), (-1, "shorter"), (-1, "day")], exact=True)
    found.tighten()
    assert sorted(found.pinned(5)) == ["half", "other half"] and (found.low["half"], found.high["half"]) == (3, 5)
    assert (found.low["day"], found.high["day"]) == (0, 4)


def test_all_attacks_together_find_no_child_under_the_cell_key_method(answers):
    rule = RULES["cell key"]
    found = attack(answers["cell key"], rule, set(FAMILIES))
    # No contradiction: the server keeps the rule as documented.
    assert found.contradictions() == []
    assert found.pinned(rule[0]) == []
    assert len(found.relations) > 10_000


def test_knowing_the_same_young_people_get_the_same_answer_pins_no_count_either(answers):
    """Two different answers for one area tell that somebody differs between the selections; with
    answers that nest (a part never shows more than its whole), that still pins nothing."""
    rule = RULES["cell key"]
    found = attack(answers["cell key"], rule, set(FAMILIES), same_answer_same_people=True)
    assert found.contradictions() == []
    assert found.pinned(rule[0]) == []


def test_the_same_reasoning_pins_exact_counts_when_figures_are_only_rounded(answers):
    rule = RULES["rounding only"]
    found = attack(answers["rounding only"], rule, set(FAMILIES), same_answer_same_people=True)
    assert any(found.low[count] == found.high[count] for count in found.pinned(rule[0]))


@pytest.mark.parametrize("query", NARROW)
def test_narrower_selections_and_periods_a_day_apart_are_refused(client, auth, query):
    """Presence: a selection narrow enough to match one child, or a day's difference between two
    periods, would tell where she was that day."""
    auth.sign_in(Role.POLICE_PARTNER.value)
    response = client.get(f"/api/v1/shared/hexes?{query}")
    assert response.status_code == 400, query
    assert response.get_json()["error"].split(":")[0] in query


def test_no_figure_reads_as_a_small_count(answers):
    for key, answer in answers["cell key"].items():
        for feature in features(answer):
            properties = feature["properties"]
            assert "suppressed" not in properties, key  # an area too small looks like an empty one
            assert properties["young_people"] % 5 == 0 and properties["young_people"] >= 5, key
        assert "YP-" not in str(answer)


@pytest.fixture(scope="module")
def episodes(demo_database_url):
    engine = make_engine(demo_database_url)
    with engine.connect() as connection:
        rows = connection.execute(select(
            MissingEpisode.young_person_id, MissingEpisode.missing_type, MissingEpisode.started_at,
            MissingEpisode.last_seen_cells, MissingEpisode.found_cells, YoungPerson.sex,
        ).join(YoungPerson)).all()
    engine.dispose()
    return rows


# Filters simple to restate over episode rows: the truth for them is counted here.
RESTATED = {
    "": lambda e: True,
    "sex=female": lambda e: e.sex == 2,
    "sex=male": lambda e: e.sex == 1,
    "type=M": lambda e: e.missing_type == "M",
    "sex=female&type=M": lambda e: e.sex == 2 and e.missing_type == "M",
    "from=2026-01-01": lambda e: e.started_at >= datetime(2026, 1, 1, tzinfo=LONDON),
}


def test_every_figure_is_within_noise_and_rounding_of_a_true_count_above_the_threshold(answers, episodes):
    threshold, _, noise, base = RULES["cell key"]
    checked = Counter()
    for (layer, query, box, res), answer in answers["cell key"].items():
        keep = RESTATED.get(query)
        if keep is None or box:
            continue
        people = defaultdict(set)
        for episode in episodes:
            cells = episode.last_seen_cells if layer == "last_seen" else episode.found_cells
            if cells is not None and keep(episode):
                people[h3.int_to_str(cells[-1])].add(episode.young_person_id)
        for feature in features(answer):
            truth = len({person for cell, group in people.items() if covers(feature, cell) for person in group})
            value = feature["properties"]["young_people"]
            assert truth > threshold and abs(value - truth) <= base // 2 + noise, (layer, query, res, feature, truth)
            checked[value - truth] += 1
    # The perturbation is there: figures are not just the rounded counts.
    assert sum(checked.values()) > 300 and len(checked) > 5


def test_a_box_changes_which_areas_not_their_figures(answers):
    asked = answers["cell key"]
    for (layer, query, box, res), answer in asked.items():
        if not box:
            continue
        whole = {area_key(f): f for f in features(asked[layer, query, "", res])}
        for feature in features(answer):
            assert whole[area_key(feature)] == feature
