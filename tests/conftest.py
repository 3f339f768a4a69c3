"""Fixtures: a real PostGIS database per test run, one rolled-back transaction per test.

./scripts/test prepares a template database (migrated, every UK postcode loaded) and names it in
TEST_DATABASE_URL; each run copies it, so tests never touch the development database.
"""

import os
import time
import uuid

import pytest
from flask import Flask
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.security import generate_password_hash

from models.base import make_engine, make_session_factory
from models.codes import OrganisationKind, Role
from models.people import Organisation, User
from models.security import APP_ROLE
from webapp import create_app
from webapp.data_cache import RESULTS
from webapp.extensions import limiter

PASSWORD = "correct horse battery staple"
DEMO_PASSWORD = "demo-test-password"


def pytest_collection_modifyitems(items):
    """The long modules first: the workers take whole modules in this order (--dist=loadscope, and
    --no-loadscope-reorder, or xdist would hand out the modules with most tests first)."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


def _admin_engine(template_url: str):
    return create_engine(make_url(template_url).set(database="postgres"), isolation_level="AUTOCOMMIT")


def copy_template_database(purpose: str) -> str:
    template = os.environ.get("TEST_DATABASE_URL")
    if not template:
        pytest.exit("TEST_DATABASE_URL is not set: run the suite with ./scripts/test", returncode=2)
    template_url = make_url(template)
    name = f"csmap_test_{purpose}_{uuid.uuid4().hex[:8]}"
    admin = _admin_engine(template)
    with admin.connect() as connection:
        # FILE_COPY (PostgreSQL 15+) copies the 500 MB of postcodes in a second instead of WAL-logging them.
        fast = " STRATEGY FILE_COPY" if connection.dialect.server_version_info >= (15,) else ""
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_url.database}"{fast}'))
    admin.dispose()
    return template_url.set(database=name).render_as_string(hide_password=False)


def as_app_role(url: str) -> str:
    """The same database as the application's own role, which owns nothing (models.security)."""
    return make_url(url).set(username=APP_ROLE).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    admin = _admin_engine(url)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def database_url():
    url = copy_template_database("unit")
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def demo_database_url():
    """A database of its own holding the demo data and the demo users (password DEMO_PASSWORD),
    committed: for the live server of the browser tests and the attacker's suite."""
    from models.demo import write_demo
    from webapp.cli import ensure_demo_users

    url = copy_template_database("demo")
    engine = make_engine(url)
    with engine.begin() as connection:
        write_demo(connection)
    with make_session_factory(engine)() as session, session.begin():
        ensure_demo_users(session, DEMO_PASSWORD)
    engine.dispose()
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine):
    """A connection inside a transaction that is rolled back after the test."""
    with engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()


@pytest.fixture
def session(connection) -> Session:
    """A session whose commits become savepoints inside the test's transaction."""
    factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    with factory() as session:
        yield session


@pytest.fixture(scope="session")
def built_apps():
    """Apps kept for the whole run, by their settings: building one compiles every route (about
    60 ms), which most of the suite's tests would otherwise repeat, while lending one to a test
    costs nothing."""
    apps: dict[str, Flask] = {}
    yield apps
    for app in apps.values():
        app.extensions["db_engine"].dispose()


@pytest.fixture
def make_app(database_url, connection, built_apps):
    """An app whose sessions run inside the test's transaction, with the settings it was built
    with (whatever an earlier test changed). ``fresh=True`` builds one of the test's own, for a test
    that adds routes: Flask refuses them once an app has served."""
    fresh_apps = []

    def build(fresh: bool = False, **config):
        settings = {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "DATABASE_URL": database_url,
            "WTF_CSRF_ENABLED": False,
            "TILE_URL": "",
            "RATELIMIT_ENABLED": False,
        }
        settings.update(config)
        # The rate limiter is one object for every app: an app that counts sign-ins is built anew,
        # so that it counts from zero, and the limiter is switched on or off as this app wants.
        fresh = fresh or settings["RATELIMIT_ENABLED"]
        key = repr(sorted(settings.items()))
        app = None if fresh else built_apps.get(key)
        if app is None:
            app = create_app(settings)
            app.extensions["settings_as_built"] = dict(app.config)
            if fresh:
                fresh_apps.append(app)
            else:
                built_apps[key] = app
        else:
            app.config.clear()
            app.config.update(app.extensions["settings_as_built"])
        limiter.enabled = app.config["RATELIMIT_ENABLED"]
        app.extensions["db_sessions"] = app.extensions["db_owner_sessions"] = sessionmaker(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        # Each test's data is rolled back, and with it the data version tokens: start with nothing
        # kept.
        RESULTS.clear()
        return app

    yield build
    for app in fresh_apps:
        app.extensions["db_engine"].dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def organisations(session) -> dict[OrganisationKind, Organisation]:
    made = {}
    for kind in OrganisationKind:
        organisation = Organisation(
            name=f"Test {kind.value}",
            kind=kind,
            local_authority_code="E09000020" if kind == OrganisationKind.LOCAL_AUTHORITY else None,
        )
        session.add(organisation)
        made[kind] = organisation
    session.commit()
    return made


ROLE_ORGANISATION = {
    Role.POLICE_PARTNER: OrganisationKind.POLICE,
    Role.COMMUNITY_PARTNER: OrganisationKind.COMMUNITY,
}


@pytest.fixture(scope="session")
def password_hash() -> str:
    """PASSWORD hashed once per run with a single PBKDF2 round, so that checking it at sign-in costs
    nothing: the app's own method (scrypt) takes about 0.1 s a hash. The sign-in tests override this
    with the real method (tests/webapp/test_auth.py)."""
    return generate_password_hash(PASSWORD, method="pbkdf2:sha256:1")


@pytest.fixture
def users(session, organisations, password_hash) -> dict[Role, User]:
    """One user per role, username equal to the role's value, password PASSWORD."""
    made = {}
    for role in Role:
        kind = ROLE_ORGANISATION.get(role, OrganisationKind.LOCAL_AUTHORITY)
        user = User(
            username=role.value,
            display_name=f"Test {role.value}",
            password_hash=password_hash,
            role=role,
            organisation_id=organisations[kind].id,
        )
        session.add(user)
        made[role] = user
    session.commit()
    return made


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, username: str = Role.PANEL_MEMBER.value, password: str = PASSWORD, next_url: str | None = None):
        """Through the sign-in form, as a person does: for the tests of signing in."""
        url = "/login" + (f"?next={next_url}" if next_url else "")
        return self._client.post(url, data={"username": username, "password": password})

    def sign_in(self, username: str = Role.PANEL_MEMBER.value) -> None:
        """The session the sign-in form leaves (webapp/auth.py, login), written straight into the
        client's cookie: for the tests that are about something else."""
        app = self._client.application
        with app.extensions["db_sessions"]() as session:
            user = session.scalar(select(User).where(User.username == username))
        assert user is not None, f"no user {username!r}"
        with self._client.session_transaction() as cookie:
            cookie.permanent = True
            cookie["_user_id"] = str(user.id)
            cookie["_fresh"] = True
            cookie["signed_in_at"] = time.time()
            cookie["session_version"] = user.session_version

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client, users):
    return AuthActions(client)
