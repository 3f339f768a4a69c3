"""API tokens: issued by an administrator, stored hashed, carrying the user's role, revocable."""

import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from models.audit import AuditAction, AuditEvent
from models.codes import OrganisationKind, Role
from models.people import OrganisationSharing
from models.tokens import LAST_USED_PRECISION, ApiToken, token_hash


@pytest.fixture
def admin(client, auth, users, session, organisations):
    # The borough shares with the police, so its administrator may issue the police a token.
    session.add(OrganisationSharing(authority_id=organisations[OrganisationKind.LOCAL_AUTHORITY].id,
                                    partner_id=organisations[OrganisationKind.POLICE].id))
    session.commit()
    auth.sign_in(Role.ADMINISTRATOR.value)
    return client


def issue(admin, user, name="QGIS, analysts", days="30") -> str:
    response = admin.post("/admin/tokens", data={"user": str(user.id), "name": name, "days": days})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return re.search(r'<code class="user-select-all">([^<]+)</code>', response.get_data(as_text=True)).group(1)


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def test_a_partner_token_reads_the_shared_map_and_nothing_else(admin, app, users, session):
    secret = issue(admin, users[Role.POLICE_PARTNER])
    gis = app.test_client()  # a GIS tool: no cookies, only the token
    response = gis.get("/api/v1/shared/hexes?res=8", headers=bearer(secret))
    assert response.status_code == 200 and response.get_json()["type"] == "FeatureCollection"
    assert "Set-Cookie" not in response.headers  # a token starts no session
    assert gis.get("/api/v1/hexes?res=8", headers=bearer(secret)).status_code == 403  # the police role
    assert gis.get("/shared/", headers=bearer(secret)).status_code == 302  # pages need a sign-in
    last = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert last.action == AuditAction.SHARED_MAP and last.username == Role.POLICE_PARTNER.value
    assert last.detail.get("api_token") is True


def test_only_a_hash_is_kept_and_the_secret_is_shown_once(admin, users, session):
    secret = issue(admin, users[Role.POLICE_PARTNER])
    stored = session.scalar(select(ApiToken))
    assert stored.token_hash == token_hash(secret) and secret not in (stored.token_hash, stored.hint)
    assert stored.user_id == users[Role.POLICE_PARTNER].id and secret.startswith(stored.hint)
    assert secret not in admin.get("/admin/tokens").get_data(as_text=True)


def test_a_revoked_or_expired_token_is_refused(admin, app, users, session):
    secret = issue(admin, users[Role.POLICE_PARTNER])
    gis = app.test_client()
    token = session.scalar(select(ApiToken))
    assert admin.post(f"/admin/tokens/{token.id}/revoke").status_code == 302
    refused = gis.get("/api/v1/shared/hexes", headers=bearer(secret))
    assert refused.status_code == 401 and "API token" in refused.get_json()["error"]
    other = issue(admin, users[Role.POLICE_PARTNER])
    stored = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(other)))
    stored.expires_at = datetime.now(timezone.utc) - timedelta(seconds=1)
    session.commit()
    assert gis.get("/api/v1/shared/hexes", headers=bearer(other)).status_code == 401
    actions = [e.action for e in session.scalars(select(AuditEvent))]
    assert AuditAction.API_TOKEN_ISSUED in actions and AuditAction.API_TOKEN_REVOKED in actions


def test_a_token_s_last_use_is_kept_to_the_minute(admin, app, users, session):
    secret = issue(admin, users[Role.POLICE_PARTNER])
    gis = app.test_client()
    token = session.scalar(select(ApiToken))
    assert token.last_used_at is None and "never" in admin.get("/admin/tokens").get_data(as_text=True)
    assert gis.get("/api/v1/shared/hexes?res=8", headers=bearer(secret)).status_code == 200
    session.refresh(token)
    first = token.last_used_at
    assert first is not None and datetime.now(timezone.utc) - first < timedelta(seconds=10)
    # Within the minute: answered, and not written again.
    assert gis.get("/api/v1/shared/hexes?res=8", headers=bearer(secret)).status_code == 200
    session.refresh(token)
    assert token.last_used_at == first
    token.last_used_at = first - LAST_USED_PRECISION
    session.commit()
    assert gis.get("/api/v1/shared/hexes?res=8", headers=bearer(secret)).status_code == 200
    session.refresh(token)
    assert token.last_used_at > first


@pytest.mark.parametrize("secret", ["", "csm_", "csm_not-a-real-token", "x" * 500, "' OR 1=1--", "csm_\x00"])
def test_made_up_tokens_are_refused(app, users, secret):
    assert app.test_client().get("/api/v1/shared/hexes", headers=bearer(secret)).status_code == 401


def test_a_token_needs_no_csrf_token_but_a_session_does(make_app, users, session):
    app = make_app(WTF_CSRF_ENABLED=True)
    admin = app.test_client()
    page = admin.get("/login").get_data(as_text=True)
    form_token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    admin.post("/login", data={"username": Role.ADMINISTRATOR.value, "password": "correct horse battery staple",
                               "csrf_token": form_token})
    tokens_page = admin.get("/admin/tokens").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', tokens_page).group(1)
    worker = users[Role.SOCIAL_WORKER]
    issued = admin.post("/admin/tokens", data={"user": worker.id, "name": "scripts", "days": "7", "csrf_token": csrf})
    secret = re.search(r'<code class="user-select-all">([^<]+)</code>', issued.get_data(as_text=True)).group(1)
    tool = app.test_client()
    created = tool.post("/api/v1/contexts", headers=bearer(secret), json={"name": "Group chat", "kind": "online_space"})
    assert created.status_code == 201 and created.get_json()["properties"]["name"] == "Group chat"
    # The same request on the administrator's session, without the form token, is refused.
    refused = admin.post("/api/v1/contexts", json={"name": "Group chat", "kind": "online_space"})
    assert refused.status_code == 400 and "CSRF" in refused.get_data(as_text=True)
    # A bearer header, valid or not, does not excuse a request carrying a session from the form token.
    for header in (bearer("junk"), bearer(secret)):
        refused = admin.post("/api/v1/contexts", headers=header, json={"name": "Group chat", "kind": "online_space"})
        assert refused.status_code == 400 and "CSRF" in refused.get_data(as_text=True)


@pytest.mark.parametrize(("data", "message"), [
    ({"user": "999999", "name": "x", "days": "30"}, "user: &#39;999999&#39; is not a user you may issue a token to"),
    ({"name": "", "days": "30"}, "name: &#39;&#39; must be 1 to 100 characters"),
    ({"name": "x", "days": "0"}, "days: &#39;0&#39; is not a whole number of days from 1 to 366"),
    ({"name": "x", "days": "367"}, "days: &#39;367&#39; is not a whole number"),
    ({"name": "x", "days": "ten"}, "days: &#39;ten&#39; is not a whole number"),
])
def test_bad_token_requests_keep_the_form_and_name_the_field(admin, users, session, data, message):
    data = {"user": str(users[Role.POLICE_PARTNER].id), **data}
    response = admin.post("/admin/tokens", data=data)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert session.scalar(select(ApiToken)) is None


def test_an_administrator_cannot_issue_to_an_organisation_that_does_not_share(client, auth, users, session):
    auth.sign_in(Role.ADMINISTRATOR.value)  # no sharing with the community group here
    response = client.post("/admin/tokens", data={"user": str(users[Role.COMMUNITY_PARTNER].id), "name": "x", "days": "5"})
    assert response.status_code == 400 and session.scalar(select(ApiToken)) is None
