import re
from datetime import date, timedelta

import pytest
from geoalchemy2.shape import to_shape
from pyproj import Geod
from sqlalchemy import func, select

from geo.coords import LatLng
from geo.hexes import cells_of
from models.codes import LinkRole, MissingType, OrganisationKind, Reliability
from models.safeguarding import Context, ContextLink, MissingEpisode, YoungPerson
from models.times import LONDON


def count(session):
    return session.scalar(select(func.count()).select_from(Context))


def test_form_shows_what_a_location_may_be(signed_in):
    html = signed_in.get("/contexts/new").get_data(as_text=True)
    assert "postcode" in html and "latitude" in html and "easting" in html


def test_adding_a_context(signed_in, session):
    response = signed_in.post("/contexts/new", data={"name": "Willow Gardens", "kind": "park",
                                                     "location": "w8 4aa", "address": ""})
    assert response.status_code == 302
    assert "Willow Gardens" in signed_in.get("/contexts/").get_data(as_text=True)
    stored = session.scalar(select(Context).where(Context.name == "Willow Gardens"))
    assert stored.postcode == "W8 4AA" and stored.cells is not None


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"name": "Elm Estate", "kind": "housing_estate", "location": "XX1 1XX"},
         "Location “XX1 1XX” is not in the ONS Postcode Directory"),
        ({"name": "", "kind": "park", "location": "SW5 0AA"}, "Enter a name"),
        ({"name": "Group", "kind": "peer_group", "location": "SW5 0AA"}, "must be empty"),
    ],
)
def test_bad_input_keeps_what_was_typed_and_writes_nothing(signed_in, session, form, message):
    before = count(session)
    response = signed_in.post("/contexts/new", data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in html
    assert "Nothing was saved" in html
    if form["location"]:
        assert f'value="{form["location"]}"' in html
    assert count(session) == before


@pytest.fixture
def takeaway(signed_in, session, organisations, episodes):
    """A context at SW5 0AB with the episodes' young person linked to it."""
    created = signed_in.post("/api/v1/contexts", json={"name": "Profile Takeaway", "kind": "takeaway",
                                                       "location": "SW5 0AB"})
    context = session.get(Context, created.get_json()["id"])
    person = session.scalar(select(YoungPerson).where(YoungPerson.reference == "YP-API001"))
    session.add(ContextLink(young_person_id=person.id, context_id=context.id, role=LinkRole.HARMED_THERE,
                            concern_codes=["11A"], first_seen_on=date(2026, 1, 1),
                            recorded_by_id=context.organisation_id, reliability=Reliability.CORROBORATED))
    session.commit()
    return context


def near_episodes(takeaway, episodes, within):
    """The fixture's episodes within ``within`` metres of the takeaway, newest first, on the spheroid."""
    lng, lat = to_shape(takeaway.geometry).coords[0]
    geod = Geod(ellps="WGS84")
    return sorted((started for started, point in episodes if geod.inv(lng, lat, point.lng, point.lat)[2] <= within),
                  reverse=True)


@pytest.mark.parametrize("within", [100, 250, 500, 1000])
def test_profile_counts_episodes_near_the_context(signed_in, takeaway, episodes, within):
    html = signed_in.get(f"/contexts/{takeaway.id}?within={within}&period=all").get_data(as_text=True)
    expected = len(near_episodes(takeaway, episodes, within))
    assert expected > 0 or within < 500, "the fixture must put episodes near the context"
    assert f"{expected} episodes of {1 if expected else 0} young people" in html
    assert "YP-API001" in html and "11A" in html


def test_profile_maps_the_latest_episodes_and_counts_them_all(signed_in, takeaway, episodes, monkeypatch):
    monkeypatch.setattr("webapp.contexts.NEAR_ON_THE_MAP_AT_MOST", 3)
    near = near_episodes(takeaway, episodes, 1000)
    html = signed_in.get(f"/contexts/{takeaway.id}?within=1000&period=all").get_data(as_text=True)
    assert len(near) > 3, "the fixture must put more episodes near than the map shows"
    assert f"{len(near)} episodes of 1 young people" in html
    assert "The map shows the latest 3." in html
    mapped = re.findall(r'"started": "([^"]+)"', html)
    assert mapped == [f"{started.astimezone(LONDON):%d %b %Y %H:%M}" for started in near[:3]]
    # The day-by-hour table still counts every one (each began at 22:00 London time).
    when = html[html.index('data-testid="when"'):]
    assert sum(int(cell) for cell in re.findall(r'<td class="text-center[^"]*"[^>]*>(\d+)</td>', when)) == len(near)


def test_profile_maps_every_episode_when_they_are_few(signed_in, takeaway, episodes):
    near = near_episodes(takeaway, episodes, 1000)
    html = signed_in.get(f"/contexts/{takeaway.id}?within=1000&period=all").get_data(as_text=True)
    assert len(re.findall(r'"started": "', html)) == len(near) > 0
    assert "The map shows the latest" not in html


def test_profile_leaves_out_episodes_of_organisations_that_do_not_share(signed_in, session, takeaway, episodes,
                                                                      organisations):
    """The police share nothing with the authority (the fixtures bypass row-level security, so this
    is the page's own filter by the organisations the reader may see)."""
    near = near_episodes(takeaway, episodes, 1000)
    police_child = YoungPerson(reference="YP-POL001", birth_month=date(2011, 1, 1), sex=2,
                               responsible_authority_code="E09000020",
                               organisation_id=organisations[OrganisationKind.POLICE].id)
    session.add(police_child)
    session.flush()
    spot = to_shape(takeaway.geometry)
    session.add(MissingEpisode(young_person_id=police_child.id, missing_type=MissingType.MISSING,
                               started_at=near[0], ended_at=near[0] + timedelta(hours=1), last_seen_location=spot.wkt,
                               last_seen_cells=cells_of(LatLng(spot.y, spot.x))))
    session.commit()
    html = signed_in.get(f"/contexts/{takeaway.id}?within=1000&period=all").get_data(as_text=True)
    assert f"{len(near)} episodes of 1 young people" in html


def test_profile_counts_only_episodes_of_the_period(signed_in, takeaway, episodes):
    # The fixture's episodes are from January and February 2026, long before the last 3 months.
    everything = signed_in.get(f"/contexts/{takeaway.id}?within=1000&period=all").get_data(as_text=True)
    recent = signed_in.get(f"/contexts/{takeaway.id}?within=1000&period=3").get_data(as_text=True)
    assert re.search(r"[1-9]\d* episodes of 1 young people", everything)
    assert "0 episodes of 0 young people" in recent
    response = signed_in.get(f"/contexts/{takeaway.id}?period=forever")
    assert response.status_code == 400 and "period: " in response.get_data(as_text=True)


def test_profile_of_an_online_space_has_no_map(signed_in):
    created = signed_in.post("/api/v1/contexts", json={"name": "Profile chat", "kind": "online_space"})
    html = signed_in.get(f"/contexts/{created.get_json()['id']}").get_data(as_text=True)
    assert "has no location" in html and "context-map" not in html


@pytest.mark.parametrize(("path", "status"), [("/contexts/999999", 404), ("/contexts/abc", 404)])
def test_unknown_context_is_404(signed_in, path, status):
    assert signed_in.get(path).status_code == status


@pytest.mark.parametrize("within", ["99", "-1", "far", ""])
def test_bad_distance_is_400_naming_it(signed_in, takeaway, within):
    response = signed_in.get(f"/contexts/{takeaway.id}?within={within}")
    assert response.status_code == 400
    assert "within: " in response.get_data(as_text=True)


@pytest.mark.parametrize("name", ["${alert(document.cookie)}", "`+alert(1)+`", "<img src=x onerror=alert(1)>"])
def test_profile_map_carries_the_name_only_as_escaped_data(signed_in, name):
    from html import escape

    from jinja2.utils import htmlsafe_json_dumps

    created = signed_in.post("/api/v1/contexts", json={"name": name, "kind": "park", "location": "SW5 0AA"})
    html = signed_in.get(f"/contexts/{created.get_json()['id']}").get_data(as_text=True)
    script = html[html.rindex("<script nonce="):]  # the map's own script, at the end of the page
    as_data = htmlsafe_json_dumps(escape(name))
    assert script.count(as_data) == 1
    assert script.count(name) == (0 if "<" in name else 1)


@pytest.mark.parametrize("path", ["/contexts/2147483648", "/contexts/99999999999999999999"])
def test_ids_beyond_the_database_range_are_404(signed_in, path):
    assert signed_in.get(path).status_code == 404


def test_unusual_digits_in_distance_are_400(signed_in, takeaway):
    assert signed_in.get(f"/contexts/{takeaway.id}?within=²").status_code == 400
