from collections import Counter
from datetime import date, datetime, timedelta, timezone

import h3
import pytest
from sqlalchemy import func, select

from geo.coords import LatLng
from geo.hexes import cells_in_box, cells_of
from models.codes import ContextKind, LinkRole, MissingType, Reliability
from models.safeguarding import Context, ContextLink, MissingEpisode, YoungPerson


def test_hexes_geojson_matches_h3_py(signed_in, episodes):
    response = signed_in.get("/api/v1/hexes?res=8&from=2026-01-01&to=2026-01-20")
    assert response.status_code == 200
    body = response.get_json()
    assert body["type"] == "FeatureCollection" and body["resolution"] == 8
    got = {f["properties"]["h3"]: f["properties"]["episodes"] for f in body["features"]}
    expected = Counter(
        h3.latlng_to_cell(p.lat, p.lng, 8) for started, p in episodes if started.date() <= date(2026, 1, 20)
    )
    assert got == expected
    assert all(f["properties"]["young_people"] == 1 for f in body["features"])
    assert all(f["geometry"]["type"] == "Polygon" for f in body["features"])


@pytest.mark.parametrize(
    ("query", "parameter", "value"),
    [
        ("res=5", "res", "5"),
        ("res=11", "res", "11"),
        ("res=nine", "res", "nine"),
        ("res=auto&zoom=-3", "zoom", "-3"),
        ("res=auto&zoom=99", "zoom", "99"),
        ("layer=homes", "layer", "homes"),
        ("from=2026-13-01", "from", "2026-13-01"),
        ("to=yesterday", "to", "yesterday"),
        ("from=2026-02-01&to=2026-01-01", "to", "2026-01-01"),
        ("res=9%27%20OR%201=1--", "res", "9' OR 1=1--"),
        ("bbox=1,2,3", "bbox", "1,2,3"),
        ("bbox=a,b,c,d", "bbox", "a,b,c,d"),
        ("bbox=-0.1,51.5,-0.2,51.6", "bbox", "-0.1,51.5,-0.2,51.6"),
        ("bbox=-0.2,51.5,-0.1,91", "bbox", "-0.2,51.5,-0.1,91"),
        ("bbox=nan,1,2,3", "bbox", "nan,1,2,3"),
        ("res=10&bbox=-3,50,1,53", "bbox", "-3,50,1,53"),
        ("to=9999-12-31", "to", "9999-12-31"),
        ("type=X", "type", "X"),
        ("sex=other", "sex", "other"),
        ("age=16-14", "age", "16-14"),
        ("age=teen", "age", "teen"),
        ("age=1-2-3", "age", "1-2-3"),
        ("hours=25-06", "hours", "25-06"),
        ("hours=22-22", "hours", "22-22"),
        ("days=fri,funday", "days", "fri,funday"),
        ("concerns=11A,99Z", "concerns", "11A,99Z"),
        ("kinds=park,castle", "kinds", "park,castle"),
        ("kinds=,", "kinds", ","),
    ],
)
def test_hexes_bad_parameters_are_400_naming_them(signed_in, query, parameter, value):
    response = signed_in.get(f"/api/v1/hexes?{query}")
    assert response.status_code == 400
    message = response.get_json()["error"]
    assert message.startswith(f"{parameter}: {value!r}")


def test_dates_are_london_dates(signed_in, session, organisations):
    """23:30 UTC on 30 June is 00:30 on 1 July in London: a July query counts it, a June one does not."""
    organisation = next(iter(organisations.values()))
    person = YoungPerson(reference="YP-BST001", birth_month=date(2011, 1, 1), sex=1,
                         responsible_authority_code="E09000020", organisation_id=organisation.id)
    session.add(person)
    session.flush()
    point = LatLng(51.49, -0.19)
    started = datetime(2026, 6, 30, 23, 30, tzinfo=timezone.utc)
    session.add(MissingEpisode(young_person_id=person.id, missing_type=MissingType.AWAY, started_at=started,
                               ended_at=started + timedelta(hours=2), last_seen_location=point.wkt,
                               last_seen_cells=cells_of(point)))
    session.commit()

    def total(query):
        features = signed_in.get(f"/api/v1/hexes?{query}").get_json()["features"]
        return sum(f["properties"]["episodes"] for f in features)

    assert total("from=2026-07-01&to=2026-07-01") == 1
    assert total("from=2026-06-01&to=2026-06-30") == 0


def test_hexes_bbox_keeps_whole_hexagons_centred_inside(signed_in, episodes):
    box = (-0.19, 51.48, -0.18, 51.50)
    response = signed_in.get("/api/v1/hexes?res=10&bbox=" + ",".join(map(str, box)))
    got = {f["properties"]["h3"]: f["properties"]["episodes"] for f in response.get_json()["features"]}
    centred_inside = {h3.int_to_str(cell) for cell in cells_in_box(*box, 10)}
    expected = Counter(cell for cell in (h3.latlng_to_cell(p.lat, p.lng, 10) for _, p in episodes) if cell in centred_inside)
    assert 0 < sum(expected.values()) < len(episodes)
    assert got == expected


@pytest.mark.parametrize(
    ("typed", "postcode"),
    [("SW5 0AA", "SW5 0AA"), ("sw50aa", "SW5 0AA"), ("  Sw5  0aA ", "SW5 0AA"), ("sw1a1aa", "SW1A 1AA")],
)
def test_locations_accept_postcodes_in_any_form(signed_in, typed, postcode):
    response = signed_in.get("/api/v1/locations", query_string={"q": typed})
    assert response.status_code == 200
    body = response.get_json()
    assert body["postcode"] == postcode
    assert body["lat"] == pytest.approx(51.48, abs=0.03)


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("ZZ9 9ZZ", "is not in the ONS Postcode Directory"),
        ("not a place", "is not a UK postcode"),
        ("-0.19, 51.49", "latitude comes first"),
        ("", "is empty"),
    ],
)
def test_locations_bad_input_is_400_naming_the_value(signed_in, typed, reason):
    response = signed_in.get("/api/v1/locations", query_string={"q": typed})
    assert response.status_code == 400
    body = response.get_json()
    assert body["field"] == "q" and body["value"] == typed.strip()
    assert reason in body["error"]


def count_contexts(session) -> int:
    return session.scalar(select(func.count()).select_from(Context))


@pytest.mark.parametrize(
    ("location", "postcode"),
    [("sw5 0aa", "SW5 0AA"), ("51.4915, -0.1935", None), ("525800 178400", None)],
)
def test_create_context(signed_in, session, location, postcode):
    before = count_contexts(session)
    response = signed_in.post("/api/v1/contexts", json={"name": "Cedar Fried Chicken", "kind": "takeaway",
                                                        "location": location})
    assert response.status_code == 201, response.get_json()
    feature = response.get_json()
    assert feature["geometry"]["type"] == "Point"
    assert feature["properties"]["postcode"] == postcode
    assert count_contexts(session) == before + 1
    stored = session.get(Context, feature["id"])
    lng, lat = feature["geometry"]["coordinates"]
    assert stored.cells[3] == h3.str_to_int(h3.latlng_to_cell(lat, lng, 9))


def test_create_context_with_a_drawn_area(signed_in, session):
    ring = [[-0.19, 51.49], [-0.189, 51.49], [-0.189, 51.491], [-0.19, 51.491], [-0.19, 51.49]]
    response = signed_in.post("/api/v1/contexts", json={"name": "Elm Court Estate", "kind": "housing_estate",
                                                        "area": {"type": "Polygon", "coordinates": [ring]}})
    assert response.status_code == 201, response.get_json()
    feature = response.get_json()
    assert feature["geometry"]["type"] == "Polygon" and feature["properties"]["postcode"] is None
    assert session.get(Context, feature["id"]).cells is not None


def test_online_space_needs_no_location(signed_in):
    response = signed_in.post("/api/v1/contexts", json={"name": "Rowan group chat", "kind": "online_space"})
    assert response.status_code == 201
    assert response.get_json()["geometry"] is None


@pytest.mark.parametrize(
    ("body", "field", "value"),
    [
        ({"name": "Park", "kind": "park", "location": "ZZ9 9ZZ"}, "location", "ZZ9 9ZZ"),
        ({"name": "Park", "kind": "park", "location": "Earls Court"}, "location", "Earls Court"),
        ({"name": "Park", "kind": "park"}, "location", ""),
        ({"name": "Chat", "kind": "online_space", "location": "SW5 0AA"}, "location", "SW5 0AA"),
        ({"name": "", "kind": "park", "location": "SW5 0AA"}, "name", ""),
        ({"name": "Park", "kind": "castle", "location": "SW5 0AA"}, "kind", "castle"),
        ({"name": 42, "kind": "park", "location": "SW5 0AA"}, "name", 42),
        ({"name": "<script>alert(1)</script>", "kind": "park", "location": "<script>"}, "location", "<script>"),
        ({"name": "Park", "kind": "park", "area": "POLYGON((0 0, 1 0, 1 1, 0 0))"}, "area",
         "POLYGON((0 0, 1 0, 1 1, 0 0))"),
        ({"name": "Park", "kind": "park", "area": {"type": "Point", "coordinates": [-0.19, 51.49]}}, "area",
         '{"coordinates": [-0.19, 51.49], "type": ...'),  # the test client sends keys sorted
    ],
)
def test_bad_context_is_400_and_nothing_is_written(signed_in, session, body, field, value):
    before = count_contexts(session)
    response = signed_in.post("/api/v1/contexts", json=body)
    assert response.status_code == 400
    error = response.get_json()
    assert error["field"] == field and error["value"] == value
    assert error["error"].startswith(f"{field}: {value!r}")
    assert count_contexts(session) == before


def test_every_problem_is_reported_at_once(signed_in):
    response = signed_in.post("/api/v1/contexts", json={"name": "", "kind": "castle", "location": "nowhere"})
    assert {e["field"] for e in response.get_json()["errors"]} == {"name", "kind"}


@pytest.mark.parametrize("payload", ["not json", "[1, 2]", "null"])
def test_body_must_be_a_json_object(signed_in, payload):
    response = signed_in.post("/api/v1/contexts", data=payload, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["field"] == "body"


def test_unknown_api_path_is_json_404(signed_in):
    response = signed_in.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert "error" in response.get_json()


def test_hexes_with_gi_star(signed_in, episodes):
    body = signed_in.get("/api/v1/hexes?res=9&gi=true&bbox=-0.22,51.47,-0.16,51.51").get_json()
    assert body["features"]
    for feature in body["features"]:
        properties = feature["properties"]
        assert {"gi_z", "gi_p", "gi_hotspot"} <= set(properties)
        assert 0 <= properties["gi_p"] <= 1
    plain = signed_in.get("/api/v1/hexes?res=9").get_json()
    assert "gi_z" not in plain["features"][0]["properties"]


@pytest.mark.parametrize(("query", "parameter"), [("gi=maybe", "gi"), ("gi=true&res=10&bbox=-3,50,1,53", "bbox")])
def test_gi_star_bad_requests(signed_in, episodes, query, parameter):
    response = signed_in.get(f"/api/v1/hexes?{query}")
    assert response.status_code == 400
    assert response.get_json()["error"].startswith(f"{parameter}: ")


def test_filters_combine_in_the_api(signed_in, episodes):
    # The fixture's child is female and every episode starts at 22:00 UTC (22:00 GMT in January).
    def total(query):
        return sum(f["properties"]["episodes"] for f in signed_in.get(f"/api/v1/hexes?{query}").get_json()["features"])

    assert total("sex=female&hours=22-06&type=M") == len(episodes)
    assert total("sex=male") == 0
    assert total("hours=06-18") == 0
    assert total("days=mon,tue,wed,thu,fri,sat,sun") == len(episodes)
    assert 0 < total("days=sat") < len(episodes)


def test_compare_with_the_previous_period(signed_in, episodes):
    # Episodes nightly from 1 January 2026: 20 January to 8 February holds 20, the 20 days before 19.
    body = signed_in.get("/api/v1/hexes?res=6&from=2026-01-20&to=2026-02-08&compare=true").get_json()
    (feature,) = body["features"]
    assert (feature["properties"]["episodes"], feature["properties"]["previous_episodes"]) == (20, 19)
    assert "previous_episodes" not in signed_in.get("/api/v1/hexes?res=6&from=2026-01-20").get_json()["features"][0]["properties"]


def test_compare_needs_a_start(signed_in, episodes):
    response = signed_in.get("/api/v1/hexes?compare=true")
    assert response.status_code == 400
    assert response.get_json()["error"].startswith("compare: 'true' needs from")


def test_hexes_add_contexts_only_when_asked(signed_in, session, episodes, organisations):
    _, point = episodes[0]
    session.add(Context(name="Hex takeaway", kind=ContextKind.TAKEAWAY, geometry=point.wkt, cells=cells_of(point),
                        organisation_id=next(iter(organisations.values())).id))
    session.commit()
    cell = h3.latlng_to_cell(point.lat, point.lng, 9)
    plain = signed_in.get("/api/v1/hexes?res=9").get_json()["features"]
    assert all("contexts" not in f["properties"] for f in plain)
    asked = {f["properties"]["h3"]: f["properties"]["contexts"]
             for f in signed_in.get("/api/v1/hexes?res=9&contexts=true").get_json()["features"]}
    assert asked[cell] == 1
    assert sum(asked.values()) == 1


@pytest.mark.parametrize("layer", ["contexts", "young_people"])
def test_context_layers_count_contexts_and_distinct_linked_people(signed_in, session, organisations, layer):
    organisation = next(iter(organisations.values()))
    point = LatLng(51.4901, -0.1901)
    takeaways = [Context(name=f"Layer takeaway {n}", kind=ContextKind.TAKEAWAY, geometry=point.wkt,
                         cells=cells_of(point), organisation_id=organisation.id) for n in range(3)]
    person = YoungPerson(reference="YP-LAYER1", birth_month=date(2011, 1, 1), sex=2,
                         responsible_authority_code="E09000020", organisation_id=organisation.id)
    session.add_all([*takeaways, person])
    session.flush()
    for takeaway in takeaways[:2]:
        session.add(ContextLink(young_person_id=person.id, context_id=takeaway.id, role=LinkRole.FREQUENTS,
                                first_seen_on=date(2026, 1, 1), recorded_by_id=organisation.id,
                                reliability=Reliability.CORROBORATED))
    session.commit()
    body = signed_in.get(f"/api/v1/hexes?res=9&layer={layer}&gi=true").get_json()
    assert body["layer"] == layer
    [feature] = body["features"]
    assert feature["properties"]["h3"] == h3.latlng_to_cell(point.lat, point.lng, 9)
    assert feature["properties"]["contexts"] == 3
    assert feature["properties"]["young_people"] == 1  # one person with two links
    assert "episodes" not in feature["properties"] and "gi_z" in feature["properties"]


def test_compare_needs_an_episode_layer(signed_in):
    response = signed_in.get("/api/v1/hexes?layer=contexts&compare=true&from=2026-01-01")
    assert response.status_code == 400
    assert response.get_json()["error"].startswith("compare: ")


@pytest.mark.parametrize(("zoom", "resolution"), [("11", 6), ("13", 8), ("17", 10)])
def test_automatic_resolution_follows_the_zoom(signed_in, episodes, zoom, resolution):
    body = signed_in.get(f"/api/v1/hexes?res=auto&zoom={zoom}").get_json()
    assert body["resolution"] == resolution
    assert body["features"]
    assert {h3.get_resolution(f["properties"]["h3"]) for f in body["features"]} == {resolution}


def test_distance_as_the_dfe_counts_it(signed_in):
    body = signed_in.get("/api/v1/distance?from=sw1a1aa&to=NW1  2db").get_json()
    assert body["miles"] == 2.1 and body["inside_boundary"] is False and body["method"] == "dfe"
    assert body["from"]["postcode"] == "SW1A 1AA" and body["to"]["postcode"] == "NW1 2DB"
    assert body["from"]["local_authority"] == {"code": "E09000033", "name": "Westminster"}
    assert body["to"]["upper_tier_authority"] == {"code": "E09000007", "name": "Camden"}


def test_a_distance_to_a_postcode_with_no_grid_reference_is_not_known_and_says_why(signed_in):
    body = signed_in.get("/api/v1/distance?from=SW5+0AA&to=GY1+1AA").get_json()
    assert (body["miles"], body["method"], body["inside_boundary"]) == (None, None, False)
    assert body["to"]["postcode"] == "GY1 1AA"
    assert body["not_measured_because"].startswith("the placement postcode GY1 1AA has no grid reference")


@pytest.mark.parametrize(
    ("query", "field", "value"),
    [("to=SW5+0AA", "from", ""), ("from=SW5+0AA&to=hello", "to", "hello"),
     ("from=XX1+1XX&to=SW5+0AA", "from", "XX1 1XX")],
)
def test_distance_bad_postcodes_are_400_naming_them(signed_in, query, field, value):
    response = signed_in.get(f"/api/v1/distance?{query}")
    assert response.status_code == 400
    body = response.get_json()
    assert body["field"] == field and body["value"] == value and body["error"].startswith(f"{field}: ")


RING_BOX = "-0.25,51.46,-0.13,51.52"


@pytest.fixture
def ring(session, organisations) -> str:
    """Ten episodes in each of the six hexagons (res 8) around one that holds none: a cluster whose
    centre has no episode of its own. Returns the centre."""
    organisation = next(iter(organisations.values()))
    person = YoungPerson(reference="YP-RING01", birth_month=date(2011, 1, 1), sex=2,
                         responsible_authority_code="E09000020", organisation_id=organisation.id)
    session.add(person)
    session.flush()
    centre = h3.latlng_to_cell(51.49, -0.19, 8)
    started = datetime(2026, 1, 1, 22, tzinfo=timezone.utc)
    for number, cell in enumerate(h3.grid_ring(centre, 1) * 10):
        point = LatLng(*h3.cell_to_latlng(cell))
        start = started + timedelta(days=number)
        session.add(MissingEpisode(young_person_id=person.id, missing_type=MissingType.MISSING, started_at=start,
                                   ended_at=start + timedelta(hours=3), last_seen_location=point.wkt,
                                   last_seen_cells=cells_of(point)))
    session.commit()
    return centre


def test_gi_star_says_which_study_area_it_used(signed_in, ring):
    body = signed_in.get(f"/api/v1/hexes?res=8&gi=true&bbox={RING_BOX}").get_json()
    hexagons = len(cells_in_box(*map(float, RING_BOX.split(",")), 8))
    assert body["gi_star"] == {
        "study_area": f"every hexagon whose centre lies in the box {RING_BOX}: {hexagons:,} hexagons, empty ones included",
        "hexagons": hexagons, "false_discovery_rate": 0.05}
    assert "gi_star" not in signed_in.get(f"/api/v1/hexes?res=8&bbox={RING_BOX}").get_json()


def test_a_hotspot_that_holds_nothing_is_returned_when_asked(signed_in, ring):
    def features(query):
        body = signed_in.get(f"/api/v1/hexes?res=8&gi=true&bbox={RING_BOX}{query}").get_json()
        return {feature["properties"]["h3"]: feature["properties"] for feature in body["features"]}

    assert ring not in features("")
    centre = features("&gi_empty=true")[ring]
    assert (centre["episodes"], centre["young_people"], centre["gi_hotspot"]) == (0, 0, True)
    assert centre["gi_z"] > 3 and centre["gi_p"] < 0.001


@pytest.mark.parametrize(("path", "reason"), [
    ("/api/v1/hexes?res=8&gi_empty=true", "ask for gi=true too"),
    ("/api/v1/shared/hexes?res=8&gi_empty=true", "is not available on the shared map"),
])
def test_gi_empty_alone_or_on_the_shared_map_is_refused(signed_in, ring, path, reason):
    response = signed_in.get(path)
    assert response.status_code == 400
    assert response.get_json()["error"].startswith("gi_empty: ") and reason in response.get_json()["error"]
