"""The app's database connections: settings measured on the benchmark data stay applied."""

import time

import pytest
from sqlalchemy import text

from webapp import create_app
from webapp.access import Access, needs
from webapp.db import get_session


def test_app_connections_plan_each_query_for_its_own_parameters(app):
    # A generic plan for a prepared statement cannot see how many hexagons an array holds.
    with app.extensions["db_engine"].connect() as connection:
        for _ in range(7):  # past psycopg's five runs before it prepares a statement
            mode = connection.execute(text("SELECT current_setting('plan_cache_mode')")).scalar()
        assert (mode, connection.execute(text("SHOW jit")).scalar()) == ("force_custom_plan", "off")


def test_app_connections_stop_a_statement_past_the_time_limit(make_app):
    app = make_app(DB_STATEMENT_TIMEOUT=7)
    with app.extensions["db_engine"].connect() as connection:
        assert connection.execute(text("SHOW statement_timeout")).scalar() == "7s"


@pytest.mark.parametrize(("path", "json"), [("/api/v1/slow", True), ("/slow", False)])
def test_a_statement_past_the_time_limit_is_a_503_saying_so(database_url, path, json):
    """On the app's own engine (not the test's shared connection), a query that runs too long."""
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": database_url, "APP_DATABASE_URL": None,
                      "DB_STATEMENT_TIMEOUT": 1})
    app.add_url_rule(path, "slow", needs(Access.PUBLIC)(lambda: str(get_session().scalar(text("SELECT pg_sleep(3)")))))
    started = time.monotonic()
    response = app.test_client().get(path)
    assert time.monotonic() - started < 2.5
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    body = response.get_json()["error"] if json else response.get_data(as_text=True)
    assert "took too long" in body
    app.extensions["db_engine"].dispose()
