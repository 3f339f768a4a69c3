"""Placement checks: the DfE distance and boundary, each flag with its reason, and the ranking."""

from datetime import date, datetime, timedelta, timezone

import h3
import pytest
from sqlalchemy import select

from geo.coords import LatLng
from geo.hexes import cells_of
from models.codes import ContextKind, LinkRole, MissingType, Reliability, Role
from models.safeguarding import Context, ContextLink, MissingEpisode, Placement, YoungPerson
from tests.conftest import AuthActions
from webapp.placement_check import HOTSPOT_RESOLUTION

NOW = datetime.now(timezone.utc)
TAKEAWAY = LatLng(51.4915, -0.1935)  # Earl's Court
PEER_PLACEMENT = LatLng(51.4620, -0.1150)  # Brixton
RECENT_FOUND = LatLng(51.5050, -0.2250)  # Shepherd's Bush
OLD_FOUND = LatLng(51.5560, -0.2800)  # Wembley, two years ago
CLUSTER = LatLng(51.4130, -0.3000)  # Kingston: many recent episodes in one hexagon


@pytest.fixture
def child(session, organisations):
    organisation = next(iter(organisations.values()))

    def person(reference, home=None, postcode=None):
        young = YoungPerson(reference=reference, birth_month=date(2010, 5, 1), sex=2, home_postcode=postcode,
                            home_location=home.wkt if home else None, home_cells=cells_of(home) if home else None,
                            responsible_authority_code="E09000020", organisation_id=organisation.id)
        session.add(young)
        return young

    her, peer = person("YP-CHECK1", postcode="SW5 0AA"), person("YP-CHECK2", home=LatLng(51.5200, -0.0500))
    others = [person(f"YP-CHECKX{n}") for n in range(6)]
    takeaway = Context(name="Check <Kebab>", kind=ContextKind.TAKEAWAY, organisation_id=organisation.id,
                       geometry=TAKEAWAY.wkt, cells=cells_of(TAKEAWAY))
    session.add(takeaway)
    session.flush()
    for young in (her, peer):
        session.add(ContextLink(young_person_id=young.id, context_id=takeaway.id, role=LinkRole.FREQUENTS,
                                first_seen_on=date(2025, 1, 1), recorded_by_id=organisation.id,
                                reliability=Reliability.CORROBORATED))
    session.add(Placement(young_person_id=peer.id, place_code="K2", started_on=date(2025, 1, 1),
                          location=PEER_PLACEMENT.wkt, cells=cells_of(PEER_PLACEMENT)))

    def episode(young, started, last_seen, found):
        session.add(MissingEpisode(young_person_id=young.id, missing_type=MissingType.MISSING, started_at=started,
                                   ended_at=started + timedelta(hours=3), last_seen_location=last_seen.wkt,
                                   last_seen_cells=cells_of(last_seen), found_location=found.wkt,
                                   found_cells=cells_of(found)))

    episode(her, NOW - timedelta(days=40), RECENT_FOUND, RECENT_FOUND)
    episode(her, NOW - timedelta(days=730), OLD_FOUND, OLD_FOUND)
    for n, young in enumerate(others * 6):
        episode(young, NOW - timedelta(days=10 + n), CLUSTER, CLUSTER)
    session.commit()
    return her


def check(signed_in, *candidates, **home):
    body = {"candidates": [{"location": c} for c in candidates], **home}
    response = signed_in.post("/api/v1/placement-checks", json=body)
    assert response.status_code == 200, response.get_json()
    return {c["label"]: c for c in response.get_json()["candidates"]}


def kinds(candidate) -> set[str]:
    return {flag["kind"] for flag in candidate["flags"]}


def test_each_flag_with_its_reason(signed_in, child):
    near_takeaway = f"{TAKEAWAY.moved(0, 300).lat:.5f}, {TAKEAWAY.lng:.5f}"
    near_peer = f"{PEER_PLACEMENT.lat:.5f}, {PEER_PLACEMENT.lng + 0.005:.5f}"
    near_found = f"{RECENT_FOUND.lat + 0.004:.5f}, {RECENT_FOUND.lng:.5f}"
    near_old = f"{OLD_FOUND.lat:.5f}, {OLD_FOUND.lng:.5f}"
    in_cluster = f"{CLUSTER.lat:.5f}, {CLUSTER.lng:.5f}"
    got = check(signed_in, "TN1 1AA", near_takeaway, near_peer, near_found, near_old, in_cluster, young_person="yp-check1")
    assert kinds(got["TN1 1AA"]) == set()  # 31 miles away, nothing near
    assert got["TN1 1AA"]["miles"] == 31.2 and got["TN1 1AA"]["method"] == "dfe"
    assert got["TN1 1AA"]["inside_boundary"] is False
    assert kinds(got[near_takeaway]) == {"home", "linked_context"}
    assert "Check <Kebab> (0.2 mi)" in next(f["reason"] for f in got[near_takeaway]["flags"] if f["kind"] == "linked_context")
    assert "peers" in kinds(got[near_peer])
    assert "YP-CHECK2's placement (0.2 mi)" in next(f["reason"] for f in got[near_peer]["flags"] if f["kind"] == "peers")
    assert "missing" in kinds(got[near_found]) and "missing" not in kinds(got[near_old])  # only the last 12 months
    assert "hotspot" in kinds(got[in_cluster]) and "hotspot" not in kinds(got[near_old])
    assert got[near_takeaway]["method"] == "coordinates" and got[near_takeaway]["inside_boundary"] is True


def test_candidates_rank_by_flags_then_distance(signed_in, child):
    response = signed_in.post("/api/v1/placement-checks", json={
        "young_person": "YP-CHECK1", "candidates": [{"location": "SW5 0AB"}, {"location": "TN1 1AA"}, {"location": "ME14 1XX"}]})
    ranked = response.get_json()["candidates"]
    assert [c["label"] for c in ranked] == ["TN1 1AA", "ME14 1XX", "SW5 0AB"]
    assert [c["rank"] for c in ranked] == [1, 2, 3]


def test_easy_reach_is_a_setting(make_app, users, child):
    client = make_app(PLACEMENT_EASY_REACH_MILES=40).test_client()
    AuthActions(client).sign_in(Role.PLACEMENT_COMMISSIONER.value)
    got = check(client, "TN1 1AA", home_postcode="SW5 0AA")
    assert kinds(got["TN1 1AA"]) == {"home"} and "the threshold is 40" in got["TN1 1AA"]["flags"][0]["reason"]


def test_a_home_postcode_alone_checks_distance_and_hotspots(signed_in, child):
    got = check(signed_in, "SW5 0AB", home_postcode="sw5 0aa")
    assert got["SW5 0AB"]["miles"] == 0.5 and kinds(got["SW5 0AB"]) == {"home"}


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"young_person": "YP-NOBODY", "candidates": [{"location": "hello"}, {"context_id": 999999}, {"x": 1}]},
         ["young_person", "candidates[0].location", "candidates[1].context_id", "candidates[2]"]),
        ({"home_postcode": "SW5 0AA", "candidates": []}, ["candidates"]),
        ({"home_postcode": "SW5 0AA", "candidates": [{"location": "TN1 1AA"}] * 11}, ["candidates"]),
        ({"candidates": [{"location": "TN1 1AA"}]}, ["home_postcode"]),
        ({"home_postcode": "SW5 0AA", "candidates": [{"context_id": True}]}, ["candidates[0].context_id"]),
        ({"home_postcode": 5, "candidates": [{"location": "TN1 1AA"}]}, ["home_postcode"]),
    ],
)
def test_every_problem_is_named_at_once(signed_in, child, body, fields):
    response = signed_in.post("/api/v1/placement-checks", json=body)
    assert response.status_code == 400
    assert [error["field"] for error in response.get_json()["errors"]] == fields


def test_the_page_ranks_candidates_and_keeps_what_was_typed(signed_in, child):
    html = signed_in.get("/placements/check?young_person=YP-CHECK1&candidates=TN1+1AA%0ASW5+0AB").get_data(as_text=True)
    table = html[html.index('data-testid="candidates"'):]
    assert table.index("TN1 1AA") < table.index("SW5 0AB")
    assert 'data-testid="flag-linked_context"' in table and "Check &lt;Kebab&gt;" in table
    assert 'data-testid="placement-map"' in html
    bad = signed_in.get("/placements/check?young_person=YP-CHECK1&candidates=nowhere")
    assert bad.status_code == 400
    text = bad.get_data(as_text=True)
    assert "candidates: &#39;nowhere&#39;" in text and ">nowhere</textarea>" in text and 'value="YP-CHECK1"' in text


def test_a_link_with_only_the_child_fills_the_form_in(signed_in, child):
    response = signed_in.get("/placements/check?young_person=YP-CHECK1")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'value="YP-CHECK1"' in html and "invalid-feedback" not in html
    asked = signed_in.get("/placements/check?check=1&young_person=YP-CHECK1")
    assert asked.status_code == 400 and "candidates: &#39;&#39; is empty" in asked.get_data(as_text=True)


@pytest.mark.parametrize("typed, status", [("yp-check1", 302), (" YP-CHECK1 ", 302), ("YP-NOBODY", 404), ("", 400)])
def test_a_young_person_is_found_by_reference(signed_in, child, typed, status):
    response = signed_in.get("/young-people/", query_string={"reference": typed})
    assert response.status_code == status
    if status == 302:
        assert response.headers["Location"] == f"/young-people/{child.id}"
    else:
        assert 'data-testid="reference-error"' in response.get_data(as_text=True)


def test_where_she_lives_is_not_one_of_her_contexts(session, signed_in, child):
    home = Context(name="Her children's home", kind=ContextKind.PLACEMENT_PROVIDER, organisation_id=child.organisation_id,
                   geometry=CLUSTER.wkt, cells=cells_of(CLUSTER))
    session.add(home)
    session.flush()
    session.add(ContextLink(young_person_id=child.id, context_id=home.id, role=LinkRole.LIVES_OR_PLACED_THERE,
                            first_seen_on=date(2025, 1, 1), recorded_by_id=child.organisation_id,
                            reliability=Reliability.KNOWN_DIRECTLY))
    session.commit()
    near_home = f"{CLUSTER.lat:.5f}, {CLUSTER.lng + 0.002:.5f}"
    assert "linked_context" not in kinds(check(signed_in, near_home, young_person="YP-CHECK1")[near_home])


def test_episodes_written_after_a_check_count_at_the_next_one(session, signed_in, child):
    quiet = LatLng(51.4400, -0.0500)  # Catford: nothing there yet
    where = f"{quiet.lat:.5f}, {quiet.lng:.5f}"
    assert "hotspot" not in kinds(check(signed_in, where, young_person="YP-CHECK1")[where])
    others = session.scalars(select(YoungPerson).where(YoungPerson.reference.like("YP-CHECKX%"))).all()
    for n, young in enumerate(others * 3):
        started = NOW - timedelta(days=100 + n)
        session.add(MissingEpisode(young_person_id=young.id, missing_type=MissingType.MISSING, started_at=started,
                                   ended_at=started + timedelta(hours=2), last_seen_location=quiet.wkt,
                                   last_seen_cells=cells_of(quiet)))
    session.commit()
    assert "hotspot" in kinds(check(signed_in, where, young_person="YP-CHECK1")[where])


def test_a_candidate_with_no_grid_reference_is_kept_and_says_why(signed_in, child):
    """Jersey is a valid postcode whose distance is not known: not a 400, last in the ranking."""
    got = check(signed_in, "JE2 3AA", "TN1 1AA", young_person="YP-CHECK1")
    jersey = got["JE2 3AA"]
    assert (jersey["miles"], jersey["lat"], jersey["flags"], jersey["inside_boundary"]) == (None, None, [], False)
    assert jersey["not_measured_because"].startswith("the candidate postcode JE2 3AA has no grid reference")
    assert jersey["rank"] == 2 and "not_measured_because" not in got["TN1 1AA"]


def test_a_home_with_no_grid_reference_still_checks_what_is_near_the_candidates(signed_in, child):
    in_cluster = f"{CLUSTER.lat:.5f}, {CLUSTER.lng:.5f}"
    got = check(signed_in, "TN1 1AA", in_cluster, home_postcode="IM1 1AA")
    assert got["TN1 1AA"]["miles"] is None and got[in_cluster]["miles"] is None
    assert "the home postcode IM1 1AA has no grid reference" in got["TN1 1AA"]["not_measured_because"]
    assert "hotspot" in kinds(got[in_cluster]) and "home" not in kinds(got[in_cluster])


def test_the_page_says_why_a_distance_is_not_known(signed_in, child):
    html = signed_in.get("/placements/check?young_person=YP-CHECK1&candidates=JE2+3AA%0ATN1+1AA").get_data(as_text=True)
    table = html[html.index('data-testid="candidates"'):]
    assert table.index("TN1 1AA") < table.index("JE2 3AA")
    assert 'data-testid="not-measured">the candidate postcode JE2 3AA has no grid reference' in table
    nothing = signed_in.get("/placements/check?home_postcode=IM1+1AA&candidates=JE2+3AA")
    assert nothing.status_code == 200
    assert "Nothing to map: no postcode here has a grid reference." in nothing.get_data(as_text=True)


def test_a_quiet_hexagon_amid_busy_ones_is_flagged_saying_why(session, signed_in, child):
    quiet = LatLng(51.4400, -0.0500)  # Catford: nothing there yet
    centre = h3.latlng_to_cell(quiet.lat, quiet.lng, HOTSPOT_RESOLUTION)
    others = session.scalars(select(YoungPerson).where(YoungPerson.reference.like("YP-CHECKX%"))).all()
    for n, neighbour in enumerate(h3.grid_ring(centre, 1)):
        point = LatLng(*h3.cell_to_latlng(neighbour))
        for day in range(6):
            started = NOW - timedelta(days=30 + 7 * n + day)
            session.add(MissingEpisode(young_person_id=others[day % len(others)].id, missing_type=MissingType.MISSING,
                                       started_at=started, ended_at=started + timedelta(hours=2),
                                       last_seen_location=point.wkt, last_seen_cells=cells_of(point)))
    session.commit()
    where = f"{quiet.lat:.5f}, {quiet.lng:.5f}"
    flag = next(f for f in check(signed_in, where, young_person="YP-CHECK1")[where]["flags"] if f["kind"] == "hotspot")
    assert flag["reason"].startswith("Inside a hotspot")
    assert "(0 episodes in the hexagon and 36 with the six around it: it is hot because its neighbours are busy" \
           in flag["reason"]
