"""The audit log as the app writes it, and the administrators' search."""

from datetime import date

import pytest
from markupsafe import escape
from sqlalchemy import select

from models.audit import AuditAction, AuditEvent
from models.codes import Role
from models.safeguarding import YoungPerson
from tests.conftest import PASSWORD
from webapp.audit import AUDITED


def events(session) -> list[AuditEvent]:
    session.expire_all()
    return session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()


@pytest.fixture
def child(session, organisations):
    person = YoungPerson(reference="YP-AUDIT1", birth_month=date(2011, 3, 1), sex=2, home_postcode="SW5 9QA",
                         responsible_authority_code="E09000020", organisation_id=organisations["local_authority"].id)
    session.add(person)
    session.commit()
    return person


def test_sign_in_failure_and_sign_out_are_recorded(client, auth, session, users):
    auth.login(Role.SOCIAL_WORKER.value, "wrong password")
    auth.login("no.such.user", "whatever")
    auth.login(Role.SOCIAL_WORKER.value)
    auth.logout()
    recorded = [(e.action, e.username, e.user_id, e.organisation_id) for e in events(session)]
    worker = users[Role.SOCIAL_WORKER]
    assert recorded == [
        (AuditAction.SIGN_IN_FAILED, worker.username, worker.id, worker.organisation_id),
        (AuditAction.SIGN_IN_FAILED, "no.such.user", None, None),
        (AuditAction.SIGN_IN, worker.username, worker.id, worker.organisation_id),
        (AuditAction.SIGN_OUT, worker.username, worker.id, worker.organisation_id),
    ]
    assert all(e.remote_addr == "127.0.0.1" and e.target.startswith("/log") for e in events(session))


@pytest.mark.parametrize(("path", "action"), [
    ("/young-people/{child}", AuditAction.VIEW_YOUNG_PERSON),
    ("/hexagons/88194ad16dfffff?period=all", AuditAction.VIEW_HEXAGON),
    ("/export/hotspots.csv?period=all", AuditAction.EXPORT),
    ("/export/hotspots.geojson", AuditAction.EXPORT),
    ("/placements/report.csv", AuditAction.EXPORT),
    ("/placements/check?young_person=YP-AUDIT1&candidates=SW5+0AA", AuditAction.PLACEMENT_CHECK),
    ("/api/v1/shared/hexes?res=8", AuditAction.SHARED_MAP),
    ("/shared/?res=7", AuditAction.SHARED_MAP),
])
def test_views_of_a_child_exports_and_shared_maps_are_recorded(client, auth, session, child, path, action):
    auth.login(Role.ADMINISTRATOR.value)
    url = path.format(child=child.id)
    assert client.get(url).status_code == 200
    last = events(session)[-1]
    assert (last.action, last.username, last.target) == (action, Role.ADMINISTRATOR.value, url)
    if action == AuditAction.VIEW_YOUNG_PERSON:
        assert last.record_id == child.id


@pytest.mark.parametrize(("query", "kept"), [
    ("?res=8&token=csm_AbC-12_x", "?res=8&token=[left out]"),
    ("?res=8&note=csm_AbC-12_x%2Fy", "?res=8&note=csm_[left out]"),
    ("?PASSWORD=hunter2&res=8", "?PASSWORD=[left out]&res=8"),
    ("?api_key=s3cret", "?api_key=[left out]"),
    ("?res=8&zoom=12", "?res=8&zoom=12"),
])
def test_the_log_never_keeps_a_secret_from_the_url(client, auth, session, query, kept):
    auth.sign_in(Role.POLICE_PARTNER.value)
    client.get("/api/v1/shared/hexes" + query)
    last = events(session)[-1]
    assert last.action == AuditAction.SHARED_MAP and last.target == "/api/v1/shared/hexes" + kept


def test_a_refused_or_missing_page_is_not_recorded_as_a_view(client, auth, session, child):
    auth.login(Role.POLICE_PARTNER.value)
    assert client.get(f"/young-people/{child.id}").status_code == 403
    auth.logout()
    auth.login(Role.ADMINISTRATOR.value)
    assert client.get("/young-people/999999").status_code == 404
    assert AuditAction.VIEW_YOUNG_PERSON not in {e.action for e in events(session)}


def test_every_page_about_one_record_and_every_download_is_audited(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    about_one = {e for e in endpoints if e.endswith(("profile", "_csv", "_geojson", "_html", "download"))}
    assert about_one and about_one <= set(AUDITED)


def test_administrators_search_their_organisations_log(client, auth, session, users):
    auth.login(Role.SOCIAL_WORKER.value, "wrong password")
    auth.login(Role.POLICE_PARTNER.value)  # another organisation
    auth.logout()
    auth.login(Role.ADMINISTRATOR.value)
    page = client.get("/admin/audit?action=sign_in_failed").get_data(as_text=True)
    assert Role.SOCIAL_WORKER.value in page and Role.POLICE_PARTNER.value not in page
    everything = client.get("/admin/audit").get_data(as_text=True)
    assert Role.POLICE_PARTNER.value not in everything  # the police's sign-in is theirs
    by_name = client.get(f"/admin/audit?username={Role.ADMINISTRATOR.value}").get_data(as_text=True)
    assert "sign in" in by_name and Role.SOCIAL_WORKER.value not in by_name


@pytest.mark.parametrize(("query", "parameter", "value"), [
    ("action=delete_everything", "action", "delete_everything"),
    ("record=12a", "record", "12a"),
    ("from=2026-02-30", "from", "2026-02-30"),
    ("record=%27%20OR%201=1--", "record", "' OR 1=1--"),
])
def test_bad_searches_name_the_field(client, auth, query, parameter, value):
    auth.login(Role.ADMINISTRATOR.value)
    response = client.get(f"/admin/audit?{query}")
    assert response.status_code == 400
    assert str(escape(f"{parameter}: {value!r}")) in response.get_data(as_text=True)


def test_a_locked_account_is_recorded_and_refused_even_with_the_right_password(client, auth, session, users):
    for _ in range(5):
        assert auth.login(Role.PANEL_MEMBER.value, "wrong").status_code == 401
    refused = auth.login(Role.PANEL_MEMBER.value, PASSWORD)
    assert refused.status_code == 401 and "locked" in refused.get_data(as_text=True)
    assert client.get("/").status_code == 302
    assert events(session)[-1].action == AuditAction.SIGN_IN_LOCKED
    assert auth.login(Role.SOCIAL_WORKER.value).status_code == 302  # other accounts are not affected
