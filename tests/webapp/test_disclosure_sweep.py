"""The disclosure sweep: every resolution, layer, filter and box of the shared map on the demo
data, read as an attacker would. No answer may let a count of 1 to threshold - 1 young people be
read, nor derived by subtracting one answer from another (same area under two filters, or an area
against the finer areas inside it), nor cut out with a box.

Figures are checked against the truth counted here in Python from the stored points, with h3-py's
parents, for the filters that are simple to restate (sex, type, dates, layer); the other filters
get the checks that need no truth.
"""

from collections import defaultdict
from datetime import datetime
from itertools import product

import h3
import pytest
from sqlalchemy import select

from models.base import make_engine
from models.safeguarding import MissingEpisode, YoungPerson
from models.times import LONDON
from tests.conftest import DEMO_PASSWORD, as_app_role
from tests.webapp.shared_areas import area_key, covers, inside
from webapp import create_app

pytestmark = pytest.mark.long

THRESHOLD = 5
ROUNDING = 5
HALF = ROUNDING // 2
RESOLUTIONS = range(6, 11)
LAYERS = ("last_seen", "found")
# (query, restated filter or None): the filter takes an episode row and keeps it or not.
FILTERS = [
    ("", lambda e: True),
    ("sex=female", lambda e: e.sex == 2),
    ("sex=male", lambda e: e.sex == 1),
    ("type=M", lambda e: e.missing_type == "M"),
    ("type=A", lambda e: e.missing_type == "A"),
    ("from=2026-01-01", lambda e: e.started_at >= datetime(2026, 1, 1, tzinfo=LONDON)),
    ("from=2025-07-01&to=2025-12-31", lambda e: datetime(2025, 7, 1, tzinfo=LONDON) <= e.started_at
     < datetime(2026, 1, 1, tzinfo=LONDON)),
    ("sex=female&type=M", lambda e: e.sex == 2 and e.missing_type == "M"),
    ("age=12-14", None),
    ("hours=22-06", None),
    ("days=fri,sat", None),
    ("concerns=11A", None),
    ("kinds=takeaway", None),
]
# Nested selections: everyone in the second is in the first, so first minus second is a real count.
NESTED = [("", "sex=female"), ("", "sex=male"), ("", "type=M"), ("", "type=A"), ("", "from=2026-01-01"),
          ("sex=female", "sex=female&type=M"), ("type=M", "sex=female&type=M"), ("", "hours=22-06"),
          ("", "concerns=11A"), ("", "kinds=takeaway")]
BOXES = ["", "-0.2,51.48,-0.18,51.5", "-0.23,51.47,-0.16,51.52", "-0.1905,51.4895,-0.1895,51.4905"]


@pytest.fixture(scope="module")
def sweep(demo_database_url):
    """Every answer of the sweep, keyed by (layer, filter, box, resolution), and the episodes."""
    app = create_app({"SECRET_KEY": "sweep", "DATABASE_URL": demo_database_url, "WTF_CSRF_ENABLED": False,
                      "APP_DATABASE_URL": as_app_role(demo_database_url)})
    client = app.test_client()
    assert client.post("/login", data={"username": "police", "password": DEMO_PASSWORD}).status_code == 302
    answers = {}
    for layer, (query, _), box, res in product(LAYERS, FILTERS, BOXES, RESOLUTIONS):
        url = f"/api/v1/shared/hexes?res={res}&layer={layer}&{query}" + (f"&bbox={box}" if box else "")
        response = client.get(url)
        assert response.status_code == 200, url
        answers[layer, query, box, res] = response
    app.extensions["db_engine"].dispose()
    engine = make_engine(demo_database_url)
    with engine.connect() as connection:
        episodes = connection.execute(select(
            MissingEpisode.young_person_id, MissingEpisode.missing_type, MissingEpisode.started_at,
            MissingEpisode.last_seen_cells, MissingEpisode.found_cells, YoungPerson.sex,
        ).join(YoungPerson)).all()
    engine.dispose()
    return answers, episodes


def features(response) -> list[dict]:
    return response.get_json()["features"]


def interval(feature) -> tuple[int, int]:
    """What a reader can tell of the true count from one figure: a figure that is not a multiple
    of the rounding base must be exact."""
    value = feature["properties"]["young_people"]
    half = HALF if value % ROUNDING == 0 else 0
    return max(THRESHOLD + 1, value - half), value + half


def small(low: int, high: int) -> bool:
    """A derived count pinned inside 1 to threshold - 1."""
    return 1 <= low and high <= THRESHOLD - 1


def test_the_sweep_asked_enough(sweep):
    answers, episodes = sweep
    assert len(answers) == len(LAYERS) * len(FILTERS) * len(BOXES) * len(RESOLUTIONS)
    assert sum(len(features(response)) for response in answers.values()) > 1000


def test_no_figure_reads_as_a_small_count(sweep):
    answers, _ = sweep
    for key, response in answers.items():
        for feature in features(response):
            properties = feature["properties"]
            assert "suppressed" not in properties, key  # an area too small looks like an empty one
            assert properties["young_people"] % ROUNDING == 0 and properties["young_people"] >= ROUNDING, key
        assert "YP-" not in response.get_data(as_text=True)


def test_every_figure_hides_a_true_count_above_the_threshold(sweep):
    answers, episodes = sweep
    for (layer, query, box, res), response in answers.items():
        keep = dict(FILTERS)[query]
        if keep is None or box:
            continue
        people = defaultdict(set)
        for episode in episodes:
            cells = episode.last_seen_cells if layer == "last_seen" else episode.found_cells
            if cells is not None and keep(episode):
                people[h3.int_to_str(cells[-1])].add(episode.young_person_id)
        for feature in features(response):
            truth = len({person for cell, group in people.items() if covers(feature, cell)
                         for person in group})
            low, high = interval(feature)
            assert low <= truth <= high, (layer, query, res, feature["properties"], truth)


def test_a_box_changes_which_areas_not_their_figures(sweep):
    answers, _ = sweep
    for (layer, query, box, res), response in answers.items():
        if not box:
            continue
        whole = {area_key(f): f for f in features(answers[layer, query, "", res])}
        for feature in features(response):
            assert whole[area_key(feature)] == feature


def test_no_small_count_from_two_filters(sweep):
    """Same area, a selection and one inside it: the difference is a real count of young people."""
    answers, _ = sweep
    checked = 0
    for layer, (outer, inner), res in product(LAYERS, NESTED, RESOLUTIONS):
        first = {area_key(f): f for f in features(answers[layer, outer, "", res])}
        for feature in features(answers[layer, inner, "", res]):
            same = first.get(area_key(feature))
            if same is None:
                continue
            (low_a, high_a), (low_b, high_b) = interval(same), interval(feature)
            assert not small(low_a - high_b, high_a - low_b), (layer, outer, inner, res, same, feature)
            checked += 1
    assert checked > 200


def test_no_small_count_from_two_resolutions(sweep):
    """An area against the finer areas of another answer that lie inside it, all shown: the rest."""
    answers, _ = sweep
    checked = 0
    for layer, (query, _), coarse, fine in product(LAYERS, FILTERS, RESOLUTIONS, RESOLUTIONS):
        if fine <= coarse:
            continue
        finer = features(answers[layer, query, "", fine])
        for outer in features(answers[layer, query, "", coarse]):
            parts = [f for f in finer if inside(f, outer)]
            if not parts or parts == [outer]:
                continue
            low, high = interval(outer)
            rest_low = low - sum(interval(p)[1] for p in parts)
            rest_high = high - sum(interval(p)[0] for p in parts)
            assert not small(rest_low, rest_high), (layer, query, coarse, fine, outer["properties"])
            checked += 1
    assert checked > 100
