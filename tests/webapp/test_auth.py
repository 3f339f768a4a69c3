import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from models.codes import Role
from models.people import SignInFailures, User, count_sign_in_failure, forget_sign_in_failures
from tests.conftest import PASSWORD

PROTECTED_PAGES = ["/", "/contexts/", "/contexts/new", "/young-people/1", "/placements/check"]
PROTECTED_API = ["/api/v1/hexes", "/api/v1/locations?q=SW5+0AA", "/api/v1/distance?from=SW5+0AA&to=SW5+0AB", "/hotspots.json"]


@pytest.fixture(scope="session")
def password_hash() -> str:
    """Sign-in is tested against the app's own hash method, not the suite's cheap one."""
    return generate_password_hash(PASSWORD)


@pytest.mark.parametrize("path", PROTECTED_PAGES)
def test_pages_redirect_to_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("path", PROTECTED_API)
def test_api_needs_a_session(client, path):
    response = client.get(path)
    assert response.status_code == 401
    assert "Sign in" in response.get_json()["error"]


def test_api_post_needs_a_session(client):
    response = client.post("/api/v1/contexts", json={"name": "x"})
    assert response.status_code == 401


def test_sign_in_page_and_healthz_are_public(client):
    assert client.get("/login").status_code == 200
    assert client.get("/healthz").status_code == 200


def test_sign_in_and_out(client, auth):
    response = auth.login()
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    auth.logout()
    assert client.get("/").status_code == 302


def test_a_copy_of_the_session_cookie_signs_nobody_in_after_signing_out(client, app, auth):
    auth.login()
    copy = app.test_client()
    copy.set_cookie("session", client.get_cookie("session").value)
    assert copy.get("/contexts/").status_code == 200  # the copy works while the session lasts
    auth.logout()
    assert copy.get("/contexts/").status_code == 302
    assert auth.login().status_code == 302 and client.get("/contexts/").status_code == 200  # signing in again


def test_sign_out_needs_post(client, auth):
    auth.login()
    assert client.get("/logout").status_code == 405


@pytest.mark.parametrize(
    ("username", "password"),
    [("panel_member", "wrong"), ("nobody", PASSWORD), ("panel_member", ""), ("", "")],
)
def test_bad_sign_in_is_refused(client, auth, username, password):
    response = auth.login(username, password)
    assert response.status_code in (200, 401)
    assert client.get("/").status_code == 302


def test_inactive_user_cannot_sign_in(client, auth, users, session):
    users[Role.PANEL_MEMBER].active = False
    session.commit()
    auth.login()
    assert client.get("/").status_code == 302


@pytest.mark.parametrize(
    ("next_url", "lands_on"),
    [
        ("/contexts/", "/contexts/"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("javascript:alert(1)", "/"),
        ("http:/evil.example", "/"),
        ("/\\evil.example", "/"),
        ("/%5Cevil.example", "/"),
        ("/contexts/%0d%0aSet-Cookie:x=1", "/"),
    ],
)
def test_next_redirect_stays_on_this_site(auth, next_url, lands_on):
    response = auth.login(next_url=next_url)
    assert response.headers["Location"] == lands_on


def test_passwords_are_stored_hashed(session, users):
    stored = session.scalar(select(User.password_hash).where(User.username == "panel_member"))
    assert PASSWORD not in stored
    assert stored.startswith("scrypt:")


@pytest.mark.parametrize("role", [Role.POLICE_PARTNER, Role.COMMUNITY_PARTNER])
@pytest.mark.parametrize("path", PROTECTED_PAGES + PROTECTED_API)
def test_partners_never_reach_individual_level_views(client, auth, role, path):
    auth.login(role.value)
    assert client.get(path).status_code == 403


@pytest.mark.parametrize("role", [r for r in Role if r.sees_individuals])
def test_internal_roles_reach_the_dashboard(client, auth, role):
    auth.login(role.value)
    assert client.get("/").status_code == 200


@pytest.fixture
def csrf_client(make_app, users):
    return make_app(WTF_CSRF_ENABLED=True).test_client()


def test_csrf_is_enforced_on_sign_in(csrf_client):
    response = csrf_client.post("/login", data={"username": "panel_member", "password": PASSWORD})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)


def sign_in_with_token(client) -> str:
    """Sign in as a browser does: read the form's CSRF token, post it back; returns the token."""
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"username": "panel_member", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    # Signing in starts a new session with a new token: read it from the next page, as a browser does.
    page = client.get("/").get_data(as_text=True)
    new_token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert new_token != token
    return new_token


@pytest.mark.parametrize(("path", "kwargs"), [("/logout", {}), ("/api/v1/contexts", {"json": {"name": "x"}}),
                                              ("/contexts/new", {"data": {"name": "x"}})])
def test_csrf_is_enforced_on_every_post_of_a_signed_in_user(csrf_client, path, kwargs):
    token = sign_in_with_token(csrf_client)
    refused = csrf_client.post(path, **kwargs)
    assert refused.status_code == 400 and "CSRF" in refused.get_data(as_text=True)
    # The same request with the session's token gets past the CSRF check.
    accepted = csrf_client.post(path, headers={"X-CSRFToken": token}, **kwargs)
    assert "CSRF" not in accepted.get_data(as_text=True)


def test_session_cookie_flags(client, auth):
    response = auth.login()
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_sign_in_attempts_are_limited_per_address(make_app, users):
    from webapp.extensions import limiter

    app = make_app(RATELIMIT_ENABLED=True, SIGN_IN_RATE_LIMIT="3 per minute")
    limiter.reset()
    client = app.test_client()
    statuses = [client.post("/login", data={"username": "nobody", "password": "x"}).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    assert client.get("/login").status_code == 200  # reading the form is not limited
    limiter.reset()


def sign_in_from(client, address: str, username: str, password: str):
    return client.post("/login", data={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def flashed(response) -> str:
    return re.search(r'class="alert[^"]*"[^>]*>(.*?)<', response.get_data(as_text=True), re.DOTALL)[1].strip()


def test_lock_out_answers_a_real_name_and_an_unknown_one_in_the_same_words(client, users):
    answers = {}
    for name in (Role.PANEL_MEMBER.value, "no.such.person"):
        tries = [sign_in_from(client, "10.0.0.1", name, "wrong") for _ in range(6)]
        answers[name] = [(response.status_code, flashed(response)) for response in tries]
    assert answers[Role.PANEL_MEMBER.value] == answers["no.such.person"]
    assert answers["no.such.person"][0] == (401, "Username or password is not right.")
    assert answers["no.such.person"][5][0] == 401 and "locked" in answers["no.such.person"][5][1]


def test_lock_out_holds_a_name_at_one_address_only(client, users):
    for _ in range(5):
        sign_in_from(client, "10.0.0.1", Role.PANEL_MEMBER.value, "wrong")
    assert sign_in_from(client, "10.0.0.1", Role.PANEL_MEMBER.value, PASSWORD).status_code == 401
    assert sign_in_from(client, "10.0.0.2", Role.PANEL_MEMBER.value, PASSWORD).status_code == 302


def test_behind_a_proxy_the_lock_out_holds_the_forwarded_address(make_app, users):
    client = make_app(PROXY_HOPS=1).test_client()
    for _ in range(5):
        client.post("/login", data={"username": Role.PANEL_MEMBER.value, "password": "wrong"},
                    headers={"X-Forwarded-For": "10.0.0.7"})
    for address, status in (("10.0.0.7", 401), ("10.0.0.8", 302)):
        response = client.post("/login", data={"username": Role.PANEL_MEMBER.value, "password": PASSWORD},
                               headers={"X-Forwarded-For": address})
        assert response.status_code == status, address


def test_each_failure_is_added_by_the_database_and_the_fifth_locks(session, users):
    """One INSERT ... ON CONFLICT adds each failure: two at the same moment can neither collide on
    the key nor be counted once."""
    now, lock_for = datetime.now(timezone.utc), timedelta(minutes=15)
    for _ in range(4):
        session.execute(count_sign_in_failure("someone", "10.0.0.9", now, 5, lock_for))
    row = session.get(SignInFailures, ("someone", "10.0.0.9"))
    assert (row.failures, row.locked_until) == (4, None)
    session.execute(count_sign_in_failure("someone", "10.0.0.9", now, 5, lock_for))
    session.refresh(row)
    assert (row.failures, row.locked_until) == (0, now + lock_for)


def test_failures_long_ago_count_for_nothing_and_are_forgotten(session, users):
    lock_for = timedelta(minutes=15)
    an_hour_ago = datetime.now(timezone.utc) - timedelta(hours=1)
    for _ in range(4):
        session.execute(count_sign_in_failure("someone", "10.0.0.9", an_hour_ago, 5, lock_for))
    session.execute(count_sign_in_failure("someone", "10.0.0.9", an_hour_ago + lock_for * 2, 5, lock_for))
    row = session.get(SignInFailures, ("someone", "10.0.0.9"))
    assert (row.failures, row.locked_until) == (1, None)  # not the fifth in a row: a new count
    session.execute(forget_sign_in_failures(an_hour_ago + lock_for * 2, lock_for))  # just now: kept
    session.expire_all()
    assert session.get(SignInFailures, ("someone", "10.0.0.9")) is not None
    session.execute(forget_sign_in_failures(an_hour_ago + lock_for * 4, lock_for))
    session.expire_all()
    assert session.get(SignInFailures, ("someone", "10.0.0.9")) is None


def test_a_sign_in_starts_the_count_of_failures_again(client, users):
    for _ in range(4):
        sign_in_from(client, "10.0.0.1", Role.PANEL_MEMBER.value, "wrong")
    assert sign_in_from(client, "10.0.0.1", Role.PANEL_MEMBER.value, PASSWORD).status_code == 302
    client.post("/logout")
    for _ in range(4):
        sign_in_from(client, "10.0.0.1", Role.PANEL_MEMBER.value, "wrong")
    assert sign_in_from(client, "10.0.0.1", Role.PANEL_MEMBER.value, PASSWORD).status_code == 302


def test_a_session_ends_after_its_maximum_length(client, auth):
    auth.login()
    assert client.get("/").status_code == 200
    with client.session_transaction() as cookie_session:
        cookie_session["signed_in_at"] -= 9 * 3600
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_the_session_cookie_expires_when_idle(client, auth, app):
    cookie = auth.login().headers["Set-Cookie"]
    assert "Expires=" in cookie and app.permanent_session_lifetime.total_seconds() == 30 * 60


@pytest.mark.parametrize("path", ["/login", "/shared/", "/api/v1/shared/hexes", "/healthz"])
def test_security_headers_on_every_answer(client, auth, path):
    auth.login(Role.POLICE_PARTNER.value)
    headers = client.get(path).headers
    policy = headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self' 'nonce-" in policy and "object-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy and "unsafe-eval" not in policy and "*" not in policy
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
    assert headers["Cache-Control"] == "no-store"


def test_each_page_gets_a_new_script_nonce(client, auth):
    auth.login(Role.POLICE_PARTNER.value)
    first, second = (client.get("/shared/?res=7") for _ in range(2))
    nonces = [re.search(r"'nonce-([^']+)'", r.headers["Content-Security-Policy"]).group(1) for r in (first, second)]
    assert nonces[0] != nonces[1]
    assert f'nonce="{nonces[1]}"' in second.get_data(as_text=True)


def test_the_basemap_host_is_allowed_for_images_only(make_app, users):
    app = make_app(TILE_URL="https://{s}.tiles.example.org/{z}/{x}/{y}.png")
    client = app.test_client()
    policy = client.get("/login").headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://*.tiles.example.org" in policy
    assert policy.count("tiles.example.org") == 1


def test_no_stack_trace_reaches_the_user(make_app, users):
    app = make_app(fresh=True)
    app.add_url_rule("/boom", "boom", lambda: 1 / 0)
    from webapp.access import Access, needs
    app.view_functions["boom"] = needs(Access.SIGNED_IN)(app.view_functions["boom"])
    client = app.test_client()
    client.post("/login", data={"username": Role.PANEL_MEMBER.value, "password": PASSWORD})
    response = client.get("/boom")
    body = response.get_data(as_text=True)
    assert response.status_code == 500 and "Traceback" not in body and "ZeroDivisionError" not in body
