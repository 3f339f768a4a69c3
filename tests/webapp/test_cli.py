"""The app's commands (``flask seed-demo`` as ./scripts/run calls it, ``recount``, ...), each on a
database of its own (they commit)."""

import pytest
from sqlalchemy import func, select, text

from models.base import make_engine
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


MONTHLY_EPISODES = text("""
    SELECT month, sum(cardinality(young_people)) FROM episode_hex_months
    WHERE organisation_id = :organisation AND layer = 'last_seen' AND resolution = 7 GROUP BY month""")
EPISODES_BY_MONTH = text("""
    SELECT date_trunc('month', started_at AT TIME ZONE 'Europe/London')::date, count(*) FROM missing_episodes
    WHERE organisation_id = :organisation AND last_seen_cells IS NOT NULL GROUP BY 1""")
TOKENS = text("SELECT table_name, token FROM organisation_data_versions WHERE organisation_id = :organisation")


def test_recount_brings_the_totals_right_after_a_change_made_outside_the_app(fresh_app):
    runner = fresh_app.test_cli_runner()
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    engine = make_engine(fresh_app.config["DATABASE_URL"])
    with engine.begin() as connection:  # as in psql: no writer keeps the totals
        organisation, name = connection.execute(text(
            "SELECT o.id, o.name FROM organisations o JOIN missing_episodes e ON e.organisation_id = o.id "
            "GROUP BY o.id ORDER BY count(*) DESC LIMIT 1")).one()
        connection.execute(text("UPDATE missing_episodes SET last_seen_cells = NULL, last_seen_location = NULL "
                                "WHERE organisation_id = :organisation AND id % 5 = 0"), {"organisation": organisation})
        connection.execute(text("DELETE FROM missing_episodes WHERE organisation_id = :organisation AND id % 7 = 1"),
                           {"organisation": organisation})
    with engine.connect() as connection:
        truth = dict(connection.execute(EPISODES_BY_MONTH, {"organisation": organisation}).all())
        assert dict(connection.execute(MONTHLY_EPISODES, {"organisation": organisation}).all()) != truth
        tokens = dict(connection.execute(TOKENS, {"organisation": organisation}).all())

    result = runner.invoke(args=["recount", name])

    assert result.exit_code == 0, result.output
    assert f"{name}: monthly hexagon totals recounted ({len(truth):,} months" in result.output
    with engine.connect() as connection:
        assert dict(connection.execute(MONTHLY_EPISODES, {"organisation": organisation}).all()) == truth
        renewed = dict(connection.execute(TOKENS, {"organisation": organisation}).all())
    engine.dispose()
    assert renewed.keys() == tokens.keys() and all(renewed[table] != tokens[table] for table in tokens)


def test_recount_names_an_unknown_organisation(fresh_app):
    result = fresh_app.test_cli_runner().invoke(args=["recount", "Nowhere Borough"])
    assert result.exit_code == 2
    assert "'Nowhere Borough' is not an organisation in the app" in result.output


def test_a_new_password_or_deactivation_ends_the_user_s_sessions(fresh_app):
    runner = fresh_app.test_cli_runner()
    fresh_app.config["WTF_CSRF_ENABLED"] = False
    created = runner.invoke(args=["create-user", "a.worker", "--name", "A Worker", "--role", "social_worker",
                                  "--organisation", "Example Council", "--authority-code", "E09000020"],
                            input="first pass phrase\nfirst pass phrase\n")
    assert created.exit_code == 0, created.output

    def signed_in(password: str):
        client = fresh_app.test_client()
        response = client.post("/login", data={"username": "a.worker", "password": password})
        return client if response.status_code == 302 else None

    before = signed_in("first pass phrase")
    assert before.get("/contexts/").status_code == 200
    changed = runner.invoke(args=["set-password", "a.worker"], input="second pass phrase\nsecond pass phrase\n")
    assert changed.exit_code == 0, changed.output
    assert before.get("/contexts/").status_code == 302  # the session from before the change has ended
    assert signed_in("first pass phrase") is None
    after = signed_in("second pass phrase")

    assert runner.invoke(args=["deactivate-user", "a.worker"]).exit_code == 0
    assert after.get("/contexts/").status_code == 302
    assert signed_in("second pass phrase") is None
    assert runner.invoke(args=["reactivate-user", "a.worker"]).exit_code == 0
    assert signed_in("second pass phrase") is not None


@pytest.mark.parametrize("command", ["set-password", "deactivate-user", "reactivate-user"])
def test_an_unknown_user_is_named(fresh_app, command):
    result = fresh_app.test_cli_runner().invoke(args=[command, "nobody"], input="x\nx\n")
    assert result.exit_code == 2 and "'nobody' is not a user of the app" in result.output
