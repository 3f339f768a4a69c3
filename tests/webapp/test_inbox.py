"""Other organisations' items in the browser's terms: the school that runs a referred context sees
it, new, in its own list with the case and notes, adds a note the authority reads, and never sees
the young people linked to it."""

import re
from datetime import date, timedelta

import pytest
from markupsafe import escape
from sqlalchemy import select

from models.codes import LinkRole, OrganisationKind, Reliability, Role
from models.people import User
from models.safeguarding import CaseNote, ContextLink, YoungPerson
from models.times import london_today
from tests.conftest import AuthActions


@pytest.fixture
def school_user(session, organisations, password_hash) -> User:
    user = User(username="dsl", display_name="Designated safeguarding lead", password_hash=password_hash,
                role=Role.COMMUNITY_PARTNER, organisation_id=organisations[OrganisationKind.SCHOOL].id)
    session.add(user)
    session.commit()
    return user


@pytest.fixture
def school(app, school_user):
    """A client signed in as the school's safeguarding lead."""
    client = app.test_client()
    AuthActions(client).sign_in("dsl")
    return client


def new_context(client, organisations, name="Ashgrove Academy", kind="school", responsible=OrganisationKind.SCHOOL):
    response = client.post("/contexts/new", data={
        "name": name, "kind": kind, "location": "SW5 0AA",
        "responsible": str(organisations[responsible].id) if responsible else ""})
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def refer(client, context_id, users, *agencies):
    response = client.post(f"/contexts/{context_id}/case", data={
        "stage": "referral", "held_on": (date.today() - timedelta(days=3)).isoformat(),
        "owner": str(users[Role.PANEL_MEMBER].id), "agencies": [str(agency.id) for agency in agencies],
        "decision": "Panel to assess: pupils approached at the gates after school",
        "next_review": (date.today() + timedelta(days=14)).isoformat()})
    assert response.status_code == 302, response.get_data(as_text=True)


@pytest.fixture
def referred(signed_in, session, users, organisations):
    """The school's context, referred, with a girl linked to it."""
    context_id = new_context(signed_in, organisations)
    girl = YoungPerson(reference="YP-HIDDEN1", birth_month=date(2011, 5, 1), sex=2, responsible_authority_code="E09000020",
                       organisation_id=organisations[OrganisationKind.LOCAL_AUTHORITY].id)
    session.add(girl)
    session.flush()
    session.add(ContextLink(young_person_id=girl.id, context_id=context_id, role=LinkRole.ATTENDS, first_seen_on=date(2026, 9, 1),
                            recorded_by_id=girl.organisation_id, reliability=Reliability.CORROBORATED))
    session.commit()
    refer(signed_in, context_id, users, organisations[OrganisationKind.LOCAL_AUTHORITY])
    return context_id


def test_the_organisation_that_runs_a_context_is_chosen_on_its_form_and_shown(signed_in, organisations):
    context_id = new_context(signed_in, organisations)
    profile = signed_in.get(f"/contexts/{context_id}").get_data(as_text=True)
    assert "Run by" in profile and "Test school" in profile
    history = profile[profile.index("history"):]
    assert "responsible organisation" in history


@pytest.mark.parametrize(("responsible", "message"), [
    ("999999", "Run by another organisation “999999” is not an organisation in this system"),
    ("1x", "Run by another organisation “1x” is not an organisation in this system"),
    ("own", "is your own organisation"),
])
def test_a_bad_responsible_organisation_is_named_and_nothing_is_written(signed_in, session, organisations, responsible,
                                                                         message):
    if responsible == "own":
        responsible = str(organisations[OrganisationKind.LOCAL_AUTHORITY].id)
    response = signed_in.post("/contexts/new", data={"name": "Ashgrove Academy", "kind": "school", "location": "SW5 0AA",
                                                     "responsible": responsible})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html and 'value="Ashgrove Academy"' in html
    assert signed_in.get("/contexts/?q=Ashgrove").get_data(as_text=True).count("Ashgrove Academy") == 0


def test_a_referred_context_is_new_in_the_schools_list_until_opened(school, referred):
    listing = school.get("/inbox/").get_data(as_text=True)
    assert "Ashgrove Academy" in listing and "You run it" in listing and "1 new" in listing
    page = school.get(f"/inbox/{referred}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Panel to assess: pupils approached at the gates" in html and "Referred on" in html
    assert "1 new" not in school.get("/inbox/").get_data(as_text=True)


def test_the_school_never_sees_the_young_people_linked(school, referred, signed_in):
    assert "YP-HIDDEN1" in signed_in.get(f"/contexts/{referred}").get_data(as_text=True)  # the authority does
    for path in ("/inbox/", f"/inbox/{referred}"):
        html = school.get(path).get_data(as_text=True)
        assert "YP-HIDDEN1" not in html and "Young people linked" not in html
    assert school.get(f"/contexts/{referred}").status_code == 403


def test_the_schools_note_reaches_the_authority(school, referred, signed_in, session, school_user):
    response = school.post(f"/inbox/{referred}/notes", data={"text": "DSL briefed staff on <b>the gates</b>"})
    assert response.status_code == 302
    note = session.scalar(select(CaseNote))
    assert note.organisation_id == school_user.organisation_id and note.author_id == school_user.id
    profile = signed_in.get(f"/contexts/{referred}").get_data(as_text=True)
    assert "DSL briefed staff on &lt;b&gt;the gates&lt;/b&gt;" in profile and "Test school" in profile
    # The school's own note is not news to it.
    assert "new</span>" not in school.get("/inbox/").get_data(as_text=True)


@pytest.mark.parametrize("text", ["<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>"])
def test_markup_in_a_partners_note_is_shown_as_text(school, referred, signed_in, text):
    assert school.post(f"/inbox/{referred}/notes", data={"text": text}).status_code == 302
    for page in (school.get(f"/inbox/{referred}"), signed_in.get(f"/contexts/{referred}")):
        html = page.get_data(as_text=True)
        assert str(escape(text)) in html and "<script>alert" not in html and "<img src=x" not in html


@pytest.mark.parametrize(("text", "message"), [
    ("", "Write the note"),
    ("x" * 4001, "is longer than 4000 characters"),
])
def test_a_bad_note_is_refused_beside_its_field(school, referred, session, text, message):
    response = school.post(f"/inbox/{referred}/notes", data={"text": text})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html and "Nothing was added" in html
    assert session.scalar(select(CaseNote)) is None


def test_an_agency_named_in_a_case_sees_it_and_others_do_not(signed_in, app, session, users, organisations, school):
    takeaway = new_context(signed_in, organisations, name="Chicken Hut", kind="takeaway", responsible=None)
    assert school.get(f"/inbox/{takeaway}").status_code == 404  # not referred, not the school's
    refer(signed_in, takeaway, users, organisations[OrganisationKind.POLICE], organisations[OrganisationKind.SCHOOL])
    assert "Named as an agency" in school.get("/inbox/").get_data(as_text=True)
    police = app.test_client()
    AuthActions(police).sign_in(Role.POLICE_PARTNER.value)
    assert police.get(f"/inbox/{takeaway}").status_code == 200
    community = app.test_client()
    AuthActions(community).sign_in(Role.COMMUNITY_PARTNER.value)
    assert community.get(f"/inbox/{takeaway}").status_code == 404
    assert community.post(f"/inbox/{takeaway}/notes", data={"text": "Not ours"}).status_code == 404
    assert session.scalar(select(CaseNote)) is None


def test_an_overdue_review_is_marked_in_the_partner_s_inbox(signed_in, school, referred, users, organisations):
    for path in ("/inbox/", f"/inbox/{referred}"):
        assert 'data-testid="overdue"' not in school.get(path).get_data(as_text=True)
    # The authority records an assessment whose review fell due yesterday.
    response = signed_in.post(f"/contexts/{referred}/case", data={
        "stage": "assessment", "held_on": (london_today() - timedelta(days=2)).isoformat(),
        "owner": str(users[Role.PANEL_MEMBER].id), "agencies": [str(organisations[OrganisationKind.LOCAL_AUTHORITY].id)],
        "decision": "Assess with the school", "next_review": (london_today() - timedelta(days=1)).isoformat()})
    assert response.status_code == 302
    for path in ("/inbox/", f"/inbox/{referred}"):
        assert re.search(r'data-testid="overdue">overdue</span>', school.get(path).get_data(as_text=True)), path
