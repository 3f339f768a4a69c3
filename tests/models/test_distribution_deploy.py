"""models.distribution.deploy and ``flask distribute``: what can be checked without a Citus
cluster (tests/citus runs the deployment on one)."""

import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from models.distribution import EXTENSIONS, LEAKPROOF, OWNER_ROLE, DeploymentFailed, _migrate, _password_is, deploy
from tests.conftest import drop_database
from webapp import create_app


def as_superuser(url: str) -> str:
    """The test cluster's superuser, whom its socket lets in (scripts/lib/setup.sh)."""
    return make_url(url).set(username="postgres").render_as_string(hide_password=False)


def state(url: str) -> tuple:
    """What a deployment would change: roles, extensions, the database's owner and settings."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return tuple(connection.execute(text(query)).all() for query in (
                "SELECT rolname, rolcanlogin, rolsuper, rolbypassrls FROM pg_roles ORDER BY 1",
                "SELECT extname FROM pg_extension ORDER BY 1",
                "SELECT datdba, setconfig FROM pg_database d LEFT JOIN pg_db_role_setting s "
                "ON s.setdatabase = d.oid WHERE d.datname = current_database()"))
    finally:
        engine.dispose()


def test_the_deployment_refuses_a_database_without_citus_and_changes_nothing(database_url):
    before = state(database_url)
    said = []
    with pytest.raises(DeploymentFailed, match="has no citus extension.*Nothing was changed"):
        deploy(as_superuser(database_url), owner_password="unused", app_password="unused", echo=said.append)
    assert said == []
    assert state(database_url) == before


def test_the_distribute_command_refuses_plain_postgresql(database_url):
    before = state(database_url)
    app = create_app({"SECRET_KEY": "cli-test", "DATABASE_URL": database_url})
    result = app.test_cli_runner().invoke(args=["distribute", "--superuser-url", as_superuser(database_url)])
    app.extensions["db_engine"].dispose()
    assert result.exit_code == 1
    assert "has no citus extension" in result.output
    assert state(database_url) == before


@pytest.mark.parametrize("encryption", ["scram-sha-256", "md5"])
def test_a_role_s_password_is_recognised_in_what_postgresql_stores(database_url, encryption):
    role, password = f"csmap_test_{uuid.uuid4().hex[:8]}", "it's: wörd 100%"
    engine = create_engine(as_superuser(database_url))
    try:
        with engine.connect() as connection:
            connection.execute(text(f"SET LOCAL password_encryption = '{encryption}'"))
            connection.exec_driver_sql(f"CREATE ROLE {role} PASSWORD 'it''s: wörd 100%'",
                                       execution_options={"no_parameters": True})
            stored = connection.scalar(text("SELECT rolpassword FROM pg_authid WHERE rolname = :role"), {"role": role})
            connection.rollback()
    finally:
        engine.dispose()
    assert stored.lower().startswith(encryption.split("-")[0])
    assert _password_is(stored, role, password)
    assert not _password_is(stored, role, "another")


@pytest.fixture
def empty_database(database_url):
    """A new database owned by no one in particular, with what a superuser prepares in it."""
    url = make_url(database_url).set(database=f"csmap_test_deploy_{uuid.uuid4().hex[:8]}")
    admin = create_engine(as_superuser(database_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()
    prepared = create_engine(as_superuser(url.render_as_string(hide_password=False)), isolation_level="AUTOCOMMIT")
    with prepared.connect() as connection:
        for extension in EXTENSIONS:
            connection.execute(text(f"CREATE EXTENSION {extension}"))
        connection.execute(text(f"ALTER FUNCTION {LEAKPROOF} LEAKPROOF"))
    prepared.dispose()
    yield url.render_as_string(hide_password=False)
    drop_database(url.render_as_string(hide_password=False))


def test_the_migrations_run_as_the_owner_on_the_superuser_s_connection(empty_database):
    superuser_url = as_superuser(empty_database)
    engine = create_engine(superuser_url)
    said = []
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(f'ALTER DATABASE "{make_url(empty_database).database}" OWNER TO {OWNER_ROLE}')
            connection.commit()
            _migrate(connection, said.append, superuser_url)
            _migrate(connection, said.append, superuser_url)
            owners = set(connection.scalars(text("""
                SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = 'public' AND c.relkind IN ('r', 'S', 'v')
                  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')""")))
    finally:
        engine.dispose()
    assert len(said) == 1 and said[0].startswith(f"migrated as {OWNER_ROLE} from an empty database to ")
    assert owners == {OWNER_ROLE}
