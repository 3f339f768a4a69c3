"""Level 2 work from a context's profile: refer, move the case on, add notes, see overdue reviews."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from models.codes import LinkRole, Reliability
from models.safeguarding import CaseNote, CaseRecord, Context, ContextLink, YoungPerson


@pytest.fixture
def park(signed_in):
    response = signed_in.post("/api/v1/contexts", json={"name": "Willow Gardens", "kind": "park", "location": "SW5 0AA"})
    return response.get_json()["id"]


def record(users, organisations, **changes) -> dict:
    return {"stage": "referral", "held_on": (date.today() - timedelta(days=40)).isoformat(),
            "owner": str(users["panel_member"].id), "agencies": [str(organisations["police"].id)],
            "decision": "Panel to assess: repeated reports of older men meeting girls here",
            "next_review": (date.today() - timedelta(days=10)).isoformat(), **changes}


def test_the_form_offers_only_the_steps_that_may_come_next(signed_in, park):
    html = signed_in.get(f"/contexts/{park}/case").get_data(as_text=True)
    assert '<option value="referral">Referred</option>' in html and "Plan agreed" not in html


def test_a_referral_shows_on_the_profile_and_in_the_overdue_list(signed_in, session, park, users, organisations):
    assert signed_in.post(f"/contexts/{park}/case", data=record(users, organisations)).status_code == 302
    profile = signed_in.get(f"/contexts/{park}").get_data(as_text=True)
    assert "Referred on" in profile and "overdue" in profile and "Test police" in profile
    reviews = signed_in.get("/contexts/reviews").get_data(as_text=True)
    overdue = reviews[reviews.index('data-testid="overdue"'):]
    assert "Willow Gardens" in overdue and "<td>10</td>" in overdue
    assert '<th scope="row">Referred</th><td class="text-end">1</td>' in reviews


def test_bad_input_names_every_field_and_keeps_what_was_typed(signed_in, session, park, users, organisations):
    response = signed_in.post(f"/contexts/{park}/case", data=record(
        users, organisations, stage="plan", held_on="soon", decision="", next_review=""))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    for message in ("Step “plan” cannot come as the first step", "Date of the meeting or decision “soon” is not a date",
                    "Say what was decided", "Enter the date the case is next looked at"):
        assert message in html
    assert 'value="soon"' in html
    assert session.scalar(select(CaseRecord)) is None


def test_agencies_add_notes(signed_in, session, park):
    assert signed_in.post(f"/contexts/{park}/notes", data={"text": " "}).status_code == 400
    assert signed_in.post(f"/contexts/{park}/notes", data={"text": "Patrols on Friday <b>evenings</b>"}).status_code == 302
    profile = signed_in.get(f"/contexts/{park}").get_data(as_text=True)
    assert "Patrols on Friday &lt;b&gt;evenings&lt;/b&gt;" in profile
    assert session.scalar(select(CaseNote.organisation_id)) is not None


def test_a_young_persons_page_shows_the_cases_of_their_contexts(signed_in, session, park, users, organisations):
    person = YoungPerson(reference="YP-CASE01", birth_month=date(2010, 1, 1), sex=2, responsible_authority_code="E09000020",
                         organisation_id=organisations["local_authority"].id)
    session.add(person)
    session.flush()
    session.add(ContextLink(young_person_id=person.id, context_id=park, role=LinkRole.HARMED_THERE, concern_codes=[],
                            first_seen_on=date(2026, 1, 1), recorded_by_id=organisations["local_authority"].id,
                            reliability=Reliability.CORROBORATED))
    session.commit()
    before = signed_in.get(f"/young-people/{person.id}").get_data(as_text=True)
    signed_in.post(f"/contexts/{park}/case", data=record(users, organisations))
    after = signed_in.get(f"/young-people/{person.id}").get_data(as_text=True)
    assert "Referred, review" not in before and "Referred, review" in after and "overdue" in after


def test_closing_a_context_whose_case_is_open_asks_first_naming_the_case(signed_in, session, park, users,
                                                                          organisations):
    signed_in.post(f"/contexts/{park}/case", data=record(users, organisations))
    profile = signed_in.get(f"/contexts/{park}").get_data(as_text=True)
    assert "Why close it? (optional)" in profile and "Why is it closed?" not in profile
    version = str(session.get(Context, park).version)
    asked = signed_in.post(f"/contexts/{park}/status", data={"version": version, "note": "Park redeveloped"})
    html = asked.get_data(as_text=True)
    assert asked.status_code == 200 and 'data-testid="open-case"' in html
    assert "Referred</strong> on" in html and users["panel_member"].display_name in html
    assert 'name="note" value="Park redeveloped"' in html and 'name="confirmed" value="yes"' in html
    session.expire_all()
    assert session.get(Context, park).status.value == "open"
    done = signed_in.post(f"/contexts/{park}/status", data={"version": version, "note": "Park redeveloped",
                                                             "confirmed": "yes"})
    assert done.status_code == 302
    session.expire_all()
    assert session.get(Context, park).status.value == "closed"


def test_closing_a_context_with_no_open_case_needs_no_confirmation(signed_in, session, park):
    version = str(session.get(Context, park).version)
    assert signed_in.post(f"/contexts/{park}/status", data={"version": version}).status_code == 302
    session.expire_all()
    assert session.get(Context, park).status.value == "closed"
