"""Error pages as production serves them: the demo data, read by the app's own role under
row-level security. A signed-in user's error page still has its menu, which counts the user's
items: the database must be asked for the right organisation even when no view ran, or after a
statement failed."""

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select, text

from models.base import make_engine
from models.people import User
from tests.conftest import DEMO_PASSWORD, as_app_role
from webapp import create_app
from webapp.access import Access, needs
from webapp.cli import DEMO_USERS
from webapp.db import get_session


@pytest.fixture(scope="module")
def demo_app(demo_database_url):
    app = create_app({"SECRET_KEY": "errors", "DATABASE_URL": demo_database_url, "WTF_CSRF_ENABLED": False,
                      "APP_DATABASE_URL": as_app_role(demo_database_url), "RATELIMIT_ENABLED": False})
    app.add_url_rule("/failing-statement", "failing_statement",
                     needs(Access.SIGNED_IN)(lambda: str(get_session().scalar(text("SELECT 1 / 0")))))
    yield app
    app.extensions["db_engine"].dispose()


def signed_in(app, username: str):
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client


def items_link(body: str) -> str:
    return re.search(r'data-testid="items-link">(.*?)</a>', body, re.DOTALL)[1]


@pytest.fixture(scope="module")
def new_items(demo_app, demo_database_url):
    """A context the panel refers, naming every other organisation as an agency: new to all of them."""
    panel = signed_in(demo_app, "panel")
    context = panel.post("/api/v1/contexts", json={"name": "Error pages test park", "kind": "park",
                                                  "location": "SW5 0AA"}).get_json()["id"]
    engine = make_engine(demo_database_url)
    with engine.connect() as connection:
        panel_id = connection.scalar(select(User.id).where(User.username == "panel"))
        others = connection.scalars(select(User.organisation_id).where(User.username != "panel")).all()
    engine.dispose()
    response = panel.post(f"/contexts/{context}/case", data={
        "stage": "referral", "held_on": date.today().isoformat(), "owner": str(panel_id),
        "agencies": [str(organisation) for organisation in set(others)], "decision": "Panel to assess",
        "next_review": (date.today() + timedelta(days=14)).isoformat()})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


@pytest.mark.parametrize("username", [user[0] for user in DEMO_USERS])
def test_a_page_that_does_not_exist_is_a_404_with_the_menu(demo_app, new_items, username):
    client = signed_in(demo_app, username)
    response = client.get("/no-tiles-here/16/32732/21796.png")
    body = response.get_data(as_text=True)
    assert response.status_code == 404, body[:500]
    # The same count of new items as on any other page.
    assert items_link(body) == items_link(client.get("/shared/").get_data(as_text=True))


@pytest.mark.parametrize("username", ["panel", "school"])
def test_a_failed_statement_is_a_500_page_and_the_next_request_works(demo_app, username):
    client = signed_in(demo_app, username)
    response = client.get("/failing-statement")
    body = response.get_data(as_text=True)
    assert response.status_code == 500 and "Sign out" in body and "division by zero" not in body
    assert client.get("/shared/").status_code == 200
