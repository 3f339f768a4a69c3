"""A Citus cluster holding the demo, and the same demo on plain PostgreSQL to compare it with.

CITUS_URL names a superuser connection to a database on a Citus coordinator whose workers are
added. The tests empty that database (everything the roles csmap and csmap_app own there),
deploy onto it with :func:`models.distribution.deploy`, which creates the owner ``csmap`` and the
app's role ``csmap_app``, the extensions and settings, migrates as the owner and distributes the
tables, and then load what the demo needs as the owner: the postcodes of London and of the demo's
distant and nearby authorities (copied from the plain database, whose other postcodes are taken
out so both hold the same ones), every local authority, and the demo with seed 2026. The app
connects as ``csmap_app``. CITUS_OWNER_PASSWORD and CITUS_APP_PASSWORD, when the cluster asks
for passwords, are given to deploy() for the two roles and used to connect as them.

The Citus database is not made from a template (Citus's maintenance daemon holds a session on
template databases, so CREATE DATABASE ... TEMPLATE would fail), nor emptied by dropping its
public schema (see :func:`empty_database`).
"""

import os
from dataclasses import dataclass, field

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from models.demo import (
    DEMO_AUTHORITY,
    DISTANT_AUTHORITIES,
    NEARBY_OUTSIDE_AUTHORITIES,
    NEIGHBOURING_AUTHORITIES,
    synthetic_return,
)
from models.distribution import OWNER_ROLE, deploy, tables
from models.security import APP_ROLE
from tests import walk
from tests.citus import CITUS_URL, SKIP_REASON
from tests.conftest import DEMO_PASSWORD, as_app_role, copy_template_database, drop_database

# Every London borough (the SSDA903 return's postcodes, the hexagons' nearest postcodes) and the
# authorities the demo places children in or near (models.demo).
AUTHORITIES = (DEMO_AUTHORITY, *NEIGHBOURING_AUTHORITIES, *DISTANT_AUTHORITIES, *NEARBY_OUTSIDE_AUTHORITIES)
KEPT_POSTCODES = "(local_authority_code LIKE 'E09%%' OR local_authority_code = ANY(%(codes)s))"
POSTCODE_COLUMNS = "postcode, easting, northing, grid_srid, local_authority_code, location"
AUTHORITY_COLUMNS = "code, name, upper_tier_code, upper_tier_name"
# The contexts the writes add, whose pages the answers read after them (tests.walk).
WRITTEN_CONTEXTS = ("Walk Road Fried Chicken (corner)", "Walk group chat")


def as_role(url: str, username: str, password: str | None) -> str:
    return make_url(url).set(username=username, password=password).render_as_string(hide_password=False)


def libpq(url: str) -> str:
    """A SQLAlchemy URL as psycopg connects with it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass
class Cluster:
    superuser_url: str
    owner_url: str
    app_url: str
    deployed: list[str] = field(default_factory=list)  # what the first deploy() reported doing
    deployed_again: list[str] | Exception | None = None  # and the second, on the deployed database
    log: list[str] = field(default_factory=list)  # everything deploy() said


def empty_database(superuser_url: str) -> None:
    """Drop everything the app's roles own in the database (its tables, types, functions and
    sequences: what deploy() and the migrations made, shards included) and the privileges they
    were given there. Not DROP SCHEMA public CASCADE: Citus keeps its citus_tables view in public,
    so that would drop the citus extension too (citusdata/citus#6901)."""
    engine = create_engine(superuser_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            roles = connection.scalars(text("SELECT rolname FROM pg_roles WHERE rolname = ANY(:names) ORDER BY 1"),
                                       {"names": [OWNER_ROLE, APP_ROLE]}).all()
            if roles:
                connection.execute(text(f"DROP OWNED BY {', '.join(roles)} CASCADE"))
            left = tables(connection)
    finally:
        engine.dispose()
    if left:
        pytest.fail(f"CITUS_URL's database still holds tables the app's roles do not own: {sorted(left)}; "
                    "drop them, or name an empty database")


def keep_only_the_tests_postcodes(owner_url: str) -> None:
    """Leave the plain database the postcodes the Citus one is given, so both hold the same."""
    with psycopg.connect(libpq(owner_url)) as connection, connection.transaction():
        connection.execute(f"CREATE TEMP TABLE kept ON COMMIT DROP AS SELECT {POSTCODE_COLUMNS} FROM postcodes "
                           f"WHERE {KEPT_POSTCODES}", {"codes": list(AUTHORITIES)})
        connection.execute("TRUNCATE postcodes")
        connection.execute(f"INSERT INTO postcodes ({POSTCODE_COLUMNS}) SELECT {POSTCODE_COLUMNS} FROM kept "
                           "ORDER BY postcode")
    with psycopg.connect(libpq(owner_url), autocommit=True) as connection:
        connection.execute("ANALYZE postcodes")


def copy_geography(source_url: str, target_url: str) -> int:
    """Every local authority and postcode of ``source_url`` into ``target_url``'s (emptied first),
    streamed with COPY; returns the postcodes copied."""
    tables = (("local_authorities", AUTHORITY_COLUMNS, "code"), ("postcodes", POSTCODE_COLUMNS, "postcode"))
    with psycopg.connect(libpq(source_url)) as source, psycopg.connect(libpq(target_url)) as target:
        with target.transaction():
            for table, columns, key in tables:
                target.execute(f"TRUNCATE {table}")
                with source.cursor().copy(f"COPY (SELECT {columns} FROM {table} ORDER BY {key}) TO STDOUT") as out, \
                        target.cursor().copy(f"COPY {table} ({columns}) FROM STDIN") as into:
                    for chunk in out:
                        into.write(chunk)
        copied = target.execute("SELECT count(*) FROM postcodes").fetchone()[0]
    with psycopg.connect(libpq(target_url), autocommit=True) as connection:
        connection.execute("ANALYZE local_authorities")
        connection.execute("ANALYZE postcodes")
    return copied


@pytest.fixture(scope="session")
def citus_url() -> str:
    if not CITUS_URL:
        pytest.skip(SKIP_REASON)
    return CITUS_URL


@pytest.fixture(scope="session")
def plain_database():
    """The plain PostgreSQL side: a copy of the template with the tests' postcodes and the demo."""
    url = copy_template_database("citusref")
    try:
        keep_only_the_tests_postcodes(url)
        walk.seed_demo(url, DEMO_PASSWORD)
        yield url
    finally:  # dropped even when the demo could not be written
        drop_database(url)


@pytest.fixture(scope="session")
def cluster(citus_url, plain_database) -> Cluster:
    owner_password, app_password = os.environ.get("CITUS_OWNER_PASSWORD"), os.environ.get("CITUS_APP_PASSWORD")
    found = Cluster(citus_url, as_role(citus_url, OWNER_ROLE, owner_password),
                    as_role(citus_url, APP_ROLE, app_password))
    empty_database(citus_url)
    found.deployed = deploy(citus_url, owner_password=owner_password, app_password=app_password,
                            echo=found.log.append)
    try:
        found.deployed_again = deploy(citus_url, owner_password=owner_password, app_password=app_password,
                                      echo=found.log.append)
    except Exception as error:  # reported by its test; the rest can still run on the first deployment
        found.deployed_again = error
    copy_geography(plain_database, found.owner_url)
    walk.seed_demo(found.owner_url, DEMO_PASSWORD)
    return found


@pytest.fixture(scope="session")
def citus_app(cluster):
    app = walk.make_app(cluster.owner_url, cluster.app_url)
    yield app
    walk.dispose(app)


@pytest.fixture(scope="session")
def plain_app(plain_database):
    app = walk.make_app(plain_database, as_app_role(plain_database))
    yield app
    walk.dispose(app)


@pytest.fixture(scope="session")
def engines(cluster, citus_app, plain_database, plain_app) -> dict[str, tuple]:
    """Each engine's app and owner URL, by name."""
    return {"Citus": (citus_app, cluster.owner_url), "PostgreSQL": (plain_app, plain_database)}


@pytest.fixture(scope="session")
def ssda903(plain_database):
    """A small SSDA903 return on the tests' postcodes, the same bytes for both engines."""
    engine = create_engine(plain_database)
    try:
        with engine.connect() as connection:
            return synthetic_return(connection, children=12)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def answered_before(engines) -> dict[str, tuple[dict, list]]:
    """The answers on the demo as seeded, on each engine, before any write."""
    return {name: walk.answers(app.test_client, walk.ids_of(url), DEMO_PASSWORD)
            for name, (app, url) in engines.items()}


@pytest.fixture(scope="session")
def written(engines, ssda903, answered_before) -> dict[str, walk.Writes]:
    """Every write, the same on each engine."""
    return {name: walk.perform_every_write(app.test_client, walk.ids_of(url), ssda903, DEMO_PASSWORD)
            for name, (app, url) in engines.items()}


@pytest.fixture(scope="session")
def answered_after(engines, written) -> dict[str, tuple[dict, list]]:
    return {name: walk.answers(app.test_client, walk.ids_of(url), DEMO_PASSWORD, contexts=WRITTEN_CONTEXTS)
            for name, (app, url) in engines.items()}
