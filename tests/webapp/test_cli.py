"""``flask seed-demo``, as ./scripts/run calls it, on a database of its own (it commits)."""

import pytest
from sqlalchemy import func, select

from models.distribution import PLAN
from models.people import User
from models.safeguarding import MissingEpisode
from tests.conftest import copy_template_database, drop_database
from webapp import create_app
from webapp.cli import DEMO_USERS


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
    assert "3,008 missing episodes" in first.output  # 3,000 and the featured girl's 8
    assert "panel" in first.output and "printed-password" in first.output
    assert counts(fresh_app) == (3008, len(DEMO_USERS))

    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0
    assert "Writing" not in second.output
    assert counts(fresh_app) == (3008, len(DEMO_USERS))


def test_create_user_then_sign_in(fresh_app):
    runner = fresh_app.test_cli_runner()
    args = ["create-user", "first.admin", "--name", "First Admin", "--role", "administrator",
            "--organisation", "Example Council", "--authority-code", "E09000020"]
    result = runner.invoke(args=args, input="a long pass phrase\na long pass phrase\n")
    assert result.exit_code == 0, result.output
    again = runner.invoke(args=args, input="x\nx\n")
    assert again.exit_code != 0 and "is taken" in again.output
    client = fresh_app.test_client()
    fresh_app.config["WTF_CSRF_ENABLED"] = False
    response = client.post("/login", data={"username": "first.admin", "password": "a long pass phrase"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_create_user_rejects_an_unknown_role(fresh_app):
    result = fresh_app.test_cli_runner().invoke(
        args=["create-user", "x", "--name", "X", "--role", "superuser", "--organisation", "O", "--password", "p"]
    )
    assert result.exit_code != 0 and "superuser" in result.output


def test_distribution_plan_places_every_table_and_prints_the_statements(database_url):
    app = create_app({"SECRET_KEY": "cli-test", "DATABASE_URL": database_url})
    result = app.test_cli_runner().invoke(args=["distribution-plan"])
    app.extensions["db_engine"].dispose()
    assert result.exit_code == 0, result.output
    placed = dict(line.split(maxsplit=1) for line in result.output.split("\n\n")[0].splitlines())
    assert placed == {table: placing.value for table, placing in PLAN.items()}
    assert "SELECT create_distributed_table('missing_episodes', 'organisation_id'" in result.output
