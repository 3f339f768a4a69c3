"""``flask seed-demo``, as ./scripts/run calls it, on a database of its own (it commits)."""

import pytest
from sqlalchemy import func, select

from models.people import User
from models.safeguarding import MissingEpisode
from tests.conftest import copy_template_database, drop_database
from webapp import create_app


@pytest.fixture
def fresh_app():
    url = copy_template_database("cli")
    app = create_app({"SECRET_KEY": "cli-test", "DATABASE_URL": url})
    yield app
    app.extensions["db_engine"].dispose()
    drop_database(url)


def counts(app):
    with app.extensions["db_sessions"]() as session:
        return (session.scalar(select(func.count()).select_from(MissingEpisode)),
                session.scalar(select(func.count()).select_from(User)))


def test_seed_demo_writes_once_and_prints_the_sign_ins(fresh_app, monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "printed-password")
    runner = fresh_app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "3,000 missing episodes" in first.output
    assert "panel" in first.output and "printed-password" in first.output
    assert counts(fresh_app) == (3000, 6)

    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0
    assert "Writing" not in second.output
    assert counts(fresh_app) == (3000, 6)
