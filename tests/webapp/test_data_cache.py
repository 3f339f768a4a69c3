"""Answers kept in memory while the data is unchanged (webapp.data_cache): the same question is
answered from memory, and a write to any table the answer comes from makes it be worked out again."""

from datetime import date, datetime, timedelta, timezone

import pytest

from geo.coords import LatLng
from geo.hexes import cells_of
from models.codes import ContextKind, LinkRole, MissingType, Reliability
from models.safeguarding import Context, ContextLink, MissingEpisode, YoungPerson
from webapp.data_cache import RESULTS

POINT = LatLng(51.4901, -0.1901)


@pytest.fixture
def girl(session, organisations):
    organisation = organisations["local_authority"]
    person = YoungPerson(reference="YP-CACHE1", birth_month=date(2011, 1, 1), sex=2,
                         responsible_authority_code="E09000020", organisation_id=organisation.id)
    session.add(person)
    session.commit()
    return person


def went_missing(session, person, days_ago: int = 3) -> None:
    started = datetime.now(timezone.utc) - timedelta(days=days_ago)
    session.add(MissingEpisode(young_person_id=person.id, missing_type=MissingType.MISSING, started_at=started,
                               ended_at=started + timedelta(hours=3), last_seen_location=POINT.wkt,
                               last_seen_cells=cells_of(POINT)))
    session.commit()


def total(client, query: str, measure: str = "episodes") -> int:
    body = client.get(f"/api/v1/hexes?res=8&{query}").get_json()
    return sum(feature["properties"][measure] for feature in body["features"])


def test_the_same_question_is_answered_from_memory_until_the_episodes_change(signed_in, session, girl, monkeypatch):
    went_missing(session, girl)
    assert total(signed_in, "period=12") == 1
    computed = []
    original = RESULTS.get
    monkeypatch.setattr(RESULTS, "get", lambda s, key, compute, organisations=None: original(
        s, key, lambda: computed.append(key) or compute(), organisations))
    assert total(signed_in, "period=12") == 1 and computed == []  # kept
    went_missing(session, girl, days_ago=10)
    assert total(signed_in, "period=12") == 2 and len(computed) == 1  # worked out again


@pytest.mark.parametrize("change", ["young person", "context", "link"])
def test_a_write_to_any_table_an_answer_comes_from_makes_it_current(signed_in, session, girl, organisations, change):
    went_missing(session, girl)
    organisation = organisations["local_authority"]
    if change == "young person":
        query, before, after = "period=12&sex=female", 1, 0
        assert total(signed_in, query) == before
        girl.sex = 1  # through the session, whose flush renews her organisation's token
    elif change == "context":
        query, before, after = "period=12&layer=contexts", 0, 1
        assert total(signed_in, query, "contexts") == before
        session.add(Context(name="Cache takeaway", kind=ContextKind.TAKEAWAY, geometry=POINT.wkt,
                            cells=cells_of(POINT), organisation_id=organisation.id))
    else:
        query, before, after = "period=12&concerns=11A", 0, 1
        assert total(signed_in, query) == before
        takeaway = Context(name="Cache takeaway", kind=ContextKind.TAKEAWAY, geometry=POINT.wkt,
                           cells=cells_of(POINT), organisation_id=organisation.id)
        session.add(takeaway)
        session.commit()
        assert total(signed_in, query) == before
        session.add(ContextLink(young_person_id=girl.id, context_id=takeaway.id, role=LinkRole.HARMED_THERE,
                                concern_codes=["11A"], first_seen_on=date(2026, 1, 1), recorded_by_id=organisation.id,
                                reliability=Reliability.CORROBORATED))
    session.commit()
    measure = "contexts" if change == "context" else "episodes"
    assert total(signed_in, query, measure) == after


def test_the_dashboard_and_its_live_updates_are_current_after_a_write(signed_in, session, girl):
    went_missing(session, girl)
    assert signed_in.get("/hotspots.json?period=12&res=8").get_json()["hexes"]["features"][0]["properties"]["episodes"] == 1
    assert signed_in.get("/?period=12&res=8").status_code == 200
    went_missing(session, girl, days_ago=10)
    assert signed_in.get("/hotspots.json?period=12&res=8").get_json()["hexes"]["features"][0]["properties"]["episodes"] == 2
    page = signed_in.get("/?period=12&res=8").get_data(as_text=True)
    assert '"episodes": 2' in page or '"episodes":2' in page
