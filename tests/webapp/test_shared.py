"""The shared partner map and /api/v1/shared/hexes, checked against distinct young people counted
here with h3-py from the episodes' own points."""

import random
import re
from datetime import date, datetime, timedelta, timezone

import h3
import pytest
from shapely.geometry import Polygon, shape

from geo.coords import LatLng
from geo.hexes import cell_ring_lnglat, cells_of
from models.codes import MissingType, Role
from models.safeguarding import MissingEpisode, YoungPerson
from tests.webapp.shared_areas import area_key, covers

THRESHOLD = 5
THRESHOLD_NOISE = 2
NOISE = 2
ROUNDING = 5


@pytest.fixture
def cluster(session, organisations, shared_with_partners):
    """Thirty girls and boys going missing around Earl's Court, three episodes each, and one girl
    alone in Croydon: (reference, sex, point) per episode."""
    organisation = next(iter(organisations.values()))
    rng = random.Random(11)
    places = [(f"YP-SHARE{n:02d}", 1 + n % 2,
               LatLng(51.49 + rng.uniform(-0.004, 0.004), -0.19 + rng.uniform(-0.006, 0.006)))
              for n in range(30) for _ in range(3)]
    places.append(("YP-ALONE", 2, LatLng(51.372, -0.098)))
    people = {}
    for index, (reference, sex, point) in enumerate(places):
        if reference not in people:
            people[reference] = YoungPerson(reference=reference, birth_month=date(2010, 5, 1), sex=sex,
                                            responsible_authority_code="E09000020", organisation_id=organisation.id)
            session.add(people[reference])
            session.flush()
        started = datetime(2026, 2, 1, 21, tzinfo=timezone.utc) + timedelta(days=index)
        session.add(MissingEpisode(young_person_id=people[reference].id, missing_type=MissingType.MISSING,
                                   started_at=started, ended_at=started + timedelta(hours=5),
                                   last_seen_location=point.wkt, last_seen_cells=cells_of(point)))
    session.commit()
    return places


def true_young_people(places, feature, sex=None) -> int:
    """Distinct young people whose point's resolution-10 cell lies in the feature's area."""
    inside = set()
    for reference, person_sex, point in places:
        fine = h3.latlng_to_cell(point.lat, point.lng, 10)
        if (sex is None or person_sex == sex) and covers(feature, fine):
            inside.add(reference)
    return len(inside)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("path", ["/shared/", "/api/v1/shared/hexes"])
def test_every_role_reaches_the_shared_map(client, auth, role, path):
    auth.sign_in(role.value)
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("res", range(6, 11))
@pytest.mark.parametrize(("sex_parameter", "sex"), [("", None), ("female", 2), ("male", 1)])
def test_figures_are_rounded_counts_of_more_than_the_threshold(client, auth, cluster, res, sex_parameter, sex):
    auth.sign_in(Role.POLICE_PARTNER.value)
    body = client.get(f"/api/v1/shared/hexes?res={res}&sex={sex_parameter}").get_json()
    assert body["features"], "the cluster must show somewhere"
    for feature in body["features"]:
        truth = true_young_people(cluster, feature, sex)
        assert truth > THRESHOLD
        value = feature["properties"]["young_people"]
        assert value % ROUNDING == 0 and abs(value - truth) <= ROUNDING // 2 + NOISE


def test_the_lone_child_s_area_looks_exactly_like_an_empty_one(client, auth, cluster):
    """Marking her area "suppressed" told a partner that somebody matched there: a selection narrow
    enough to match her alone then told where she was."""
    auth.sign_in(Role.POLICE_PARTNER.value)
    body = client.get("/api/v1/shared/hexes?res=9").get_json()
    lone_child = h3.latlng_to_cell(51.372, -0.098, 10)
    assert [f for f in body["features"] if covers(f, lone_child)] == []
    assert sum(f["properties"]["young_people"] for f in body["features"]) >= 30 - ROUNDING - NOISE
    # A box around her alone answers as a box around nobody.
    around_her = client.get("/api/v1/shared/hexes?res=9&bbox=-0.11,51.36,-0.09,51.38").get_json()
    around_nobody = client.get("/api/v1/shared/hexes?res=9&bbox=-1.11,52.36,-1.09,52.38").get_json()
    assert around_her == around_nobody


def test_nothing_names_a_child(client, auth, cluster):
    auth.sign_in(Role.COMMUNITY_PARTNER.value)
    for path in ("/api/v1/shared/hexes?res=10", "/shared/?res=10"):
        text = client.get(path).get_data(as_text=True)
        assert "YP-" not in text


def test_the_answer_carries_no_totals(client, auth, cluster):
    auth.sign_in(Role.POLICE_PARTNER.value)
    body = client.get("/api/v1/shared/hexes?res=8").get_json()
    assert set(body) == {"type", "features", "resolution", "layer", "disclosure", "contexts_by_kind"}
    assert body["disclosure"]["threshold"] == THRESHOLD and body["disclosure"]["rounded_to"] == ROUNDING
    assert body["disclosure"]["noise"] == NOISE and body["disclosure"]["threshold_noise"] == THRESHOLD_NOISE
    for feature in body["features"]:
        assert set(feature["properties"]) <= {"h3", "resolution", "rest", "holes", "young_people"}


@pytest.fixture
def rest_and_core(session, organisations, shared_with_partners):
    """Inside one resolution-8 hexagon: 14 young people at the centre of one of its resolution-9
    children, always shown (14 less the most the threshold noise takes is still over 9), and 14
    more, 2 or 3 in each other child, each child always hidden, so always shown together as "the
    rest of" the resolution-8 hexagon. Returns that hexagon."""
    organisation = next(iter(organisations.values()))
    parent = h3.latlng_to_cell(51.49, -0.19, 8)
    core, *others = sorted(h3.cell_to_children(parent, 9))
    places = [core] * 14 + [cell for cell, count in zip(others, (3, 3, 2, 2, 2, 2)) for _ in range(count)]
    for number, cell in enumerate(places):
        person = YoungPerson(reference=f"YP-REST{number:02d}", birth_month=date(2010, 5, 1), sex=2,
                             responsible_authority_code="E09000020", organisation_id=organisation.id)
        session.add(person)
        session.flush()
        point = LatLng(*h3.cell_to_latlng(cell))
        started = datetime(2026, 2, 1, 21, tzinfo=timezone.utc) + timedelta(days=number)
        session.add(MissingEpisode(young_person_id=person.id, missing_type=MissingType.MISSING, started_at=started,
                                   ended_at=started + timedelta(hours=5), last_seen_location=point.wkt,
                                   last_seen_cells=cells_of(point)))
    session.commit()
    return parent


def test_the_rest_of_a_hexagon_is_drawn_whole_not_where_its_children_are(client, auth, rest_and_core):
    """A rest drawn as its non-empty finer cells would show where each of a few children is."""
    auth.sign_in(Role.POLICE_PARTNER.value)
    rests = [f for f in client.get("/api/v1/shared/hexes?res=9").get_json()["features"] if f["properties"].get("rest")]
    assert [f["properties"]["h3"] for f in rests] == [rest_and_core]
    for feature in rests:
        drawn = shape(feature["geometry"]).area
        hexagon = Polygon(cell_ring_lnglat(h3.str_to_int(feature["properties"]["h3"]))).area
        apart = sum(Polygon(cell_ring_lnglat(h3.str_to_int(hole))).area for hole in feature["properties"]["holes"])
        assert drawn == pytest.approx(hexagon - apart, rel=0.05)


def test_a_box_never_cuts_a_hexagon(client, auth, cluster):
    """An area in a box's answer is exactly the same area, with the same figure, without the box."""
    auth.sign_in(Role.POLICE_PARTNER.value)
    whole = {area_key(f): f for f in client.get("/api/v1/shared/hexes?res=10").get_json()["features"]}
    boxed = client.get("/api/v1/shared/hexes?res=10&bbox=-0.1905,51.4895,-0.1895,51.4905").get_json()["features"]
    assert boxed
    for feature in boxed:
        assert whole[area_key(feature)] == feature


def test_a_higher_threshold_shows_less(make_app, users, cluster):
    client = make_app(DISCLOSURE_THRESHOLD=10, DISCLOSURE_ROUNDING=10).test_client()
    client.post("/login", data={"username": Role.POLICE_PARTNER.value, "password": "correct horse battery staple"})
    features = client.get("/api/v1/shared/hexes?res=9").get_json()["features"]
    assert features
    for feature in features:
        assert true_young_people(cluster, feature) > 10 and feature["properties"]["young_people"] % 10 == 0


@pytest.mark.parametrize(("threshold", "threshold_noise", "noise", "rounding"),
                         [(0, 2, 2, 5), (5, 2, 1, 5), (5, 1, 2, 5), (5, 2, 2, 0), (5, 0, 0, 5)])
def test_settings_that_would_let_answers_pin_a_child_are_refused(make_app, threshold, threshold_noise, noise, rounding):
    with pytest.raises(RuntimeError, match="DISCLOSURE_THRESHOLD_NOISE at least 2"):
        make_app(fresh=True, DISCLOSURE_THRESHOLD=threshold, DISCLOSURE_THRESHOLD_NOISE=threshold_noise,
                 DISCLOSURE_NOISE=noise, DISCLOSURE_ROUNDING=rounding)


@pytest.mark.parametrize(
    ("query", "parameter", "value"),
    [
        ("gi=true", "gi", "true"),
        ("compare=true&from=2026-01-01", "compare", "true"),
        ("contexts=true", "contexts", "true"),
        ("layer=contexts", "layer", "contexts"),
        ("layer=young_people", "layer", "young_people"),
        ("res=11", "res", "11"),
        ("sex=unknown", "sex", "unknown"),
        ("bbox=1,2", "bbox", "1,2"),
        ("period=forever", "period", "forever"),
        # Narrower than the shared map answers: one child's episode could be the whole figure.
        ("from=2026-11-20&to=2026-11-20", "from", "2026-11-20"),
        ("from=2026-01-01&to=2026-01-27", "to", "2026-01-27"),
        # Periods a day apart would tell who went missing on that day: whole months only.
        ("from=2026-03-02&to=2026-04-30", "from", "2026-03-02"),
        ("from=2026-03-01&to=2026-04-29", "to", "2026-04-29"),
        ("from=2026-03-01&to=2026-03-01", "to", "2026-03-01"),
        ("period=3&to=" + (date.today() - timedelta(days=80)).isoformat(), "to",
         (date.today() - timedelta(days=80)).isoformat()),
        ("age=14-14", "age", "14-14"),
        ("age=13-14", "age", "13-14"),
        ("hours=17-18", "hours", "17-18"),
        ("hours=22-03", "hours", "22-03"),
        ("days=sat", "days", "sat"),
        (f"from={date.today() - timedelta(days=3)}&to={date.today() + timedelta(days=30)}", "from",
         (date.today() - timedelta(days=3)).isoformat()),
    ],
)
def test_bad_or_unshared_parameters_are_refused_by_name(client, auth, query, parameter, value):
    auth.sign_in(Role.POLICE_PARTNER.value)
    response = client.get(f"/api/v1/shared/hexes?{query}")
    assert response.status_code == 400
    assert response.get_json()["error"].startswith(f"{parameter}: {value!r}")


@pytest.mark.parametrize("query", ["from=2026-02-01&to=2026-02-28", "from=2026-01-01", "to=2025-12-31", "age=12-14", "hours=18-00", "hours=22-04", "hours=0-24",
                                   "days=fri,sat", "period=3"])
def test_the_narrowest_selections_allowed_are_answered(client, auth, cluster, query):
    auth.sign_in(Role.POLICE_PARTNER.value)
    assert client.get(f"/api/v1/shared/hexes?{query}").status_code == 200


@pytest.mark.parametrize(("query", "words"), [("age=14-14", "age bands of 3 years or more"),
                                              ("from=2026-03-02", "is not the first day of a month")])
def test_a_narrow_selection_on_the_page_is_explained_in_words_beside_the_settings(client, auth, query, words):
    auth.sign_in(Role.POLICE_PARTNER.value)
    response = client.get(f"/shared/?{query}&res=8")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and words in page and 'id="selection-problem"' in page
    # The settings stay, as chosen, so the partner can widen the selection; no map is drawn.
    assert 'aria-label="Map settings"' in page and '<option value="8" selected' in page
    assert 'data-testid="shared-map"' not in page


def test_partners_land_on_the_shared_map(client, auth):
    response = auth.login(Role.POLICE_PARTNER.value)
    assert response.headers["Location"] == "/shared/"
    page = client.get("/shared/").get_data(as_text=True)
    assert "Shared map" in page and 'href="/contexts/' not in page and "Placement check" not in page


def test_the_page_table_matches_the_api(client, auth, cluster):
    auth.sign_in(Role.POLICE_PARTNER.value)
    body = client.get("/api/v1/shared/hexes?res=9&period=all").get_json()
    page = client.get("/shared/?res=9&period=all").get_data(as_text=True)
    for feature in body["features"]:
        assert feature["properties"]["h3"] in page
    assert f"about {max(f['properties']['young_people'] for f in body['features'])}" in page


def share_at_own_size(features: list[dict], resolution: int) -> float:
    total = sum(f["properties"]["young_people"] for f in features)
    own = sum(f["properties"]["young_people"] for f in features
              if f["properties"]["resolution"] == resolution and not f["properties"].get("rest"))
    return own / total if total else 1.0


def test_the_page_opens_on_twelve_months_at_the_finest_size_that_shows_most_young_people(client, auth, cluster):
    auth.sign_in(Role.POLICE_PARTNER.value)
    page = client.get("/shared/").get_data(as_text=True)
    assert '<option value="12" selected' in page
    chosen = int(re.search(r'<option value="auto" selected>Best for the selection \(now (\d+)\)', page)[1])
    link = re.search(r'href="(/api/v1/shared/hexes\?[^"]+)">this map as GeoJSON', page)[1].replace("&amp;", "&")
    assert "period=12" in link and f"res={chosen}" in link
    features = client.get(link).get_json()["features"]
    assert features and share_at_own_size(features, chosen) >= 0.8
    if chosen < 10:
        finer = client.get(f"/api/v1/shared/hexes?period=12&res={chosen + 1}").get_json()["features"]
        assert share_at_own_size(finer, chosen + 1) < 0.8
    # A size chosen by hand is kept.
    assert '<option value="10" selected' in client.get("/shared/?res=10").get_data(as_text=True)


def test_the_page_table_names_each_area_by_its_postcode_district(client, auth, cluster):
    auth.sign_in(Role.POLICE_PARTNER.value)
    page = client.get("/shared/?res=8&period=all").get_data(as_text=True)
    table = page[page.index('data-testid="shared-table"'):page.index("</table>", page.index('data-testid="shared-table"'))]
    areas = re.findall(r"<tr><td>(?:The rest of the area around )?([^<]*)</td><td><code>", table)
    assert areas and all(re.fullmatch(r"[A-Z]{1,2}\d[A-Z\d]?", area) for area in areas)
    assert "SW5" in areas  # Earl's Court, where the cluster went missing
