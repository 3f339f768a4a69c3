"""On a Citus cluster: the deployment places every table as models.distribution.PLAN says and a
second deployment changes nothing; every route answers every demo role without a server error;
every kind of write happens; and the answers (hexagons, the shared map, reports, a context's and
a child's page, a placement check) are those of plain PostgreSQL holding the same demo, before
the writes and after them.

Run with ``CITUS_URL=postgresql+psycopg://postgres@coordinator:5432/csmap_citus ./scripts/test
tests/citus`` (see tests/citus/conftest.py); without CITUS_URL every test here is skipped.
Records are compared by names and references, not ids: the demo's ids are its own, but ids the
writes get from sequences are the same on both engines only while one session writes at a time.
"""

import pytest
from sqlalchemy import create_engine, text

from models.distribution import ANCHOR, KEY, PLAN, Placing, tables
from tests import walk
from tests.citus import CITUS_URL, SKIP_REASON
from tests.conftest import DEMO_PASSWORD

pytestmark = pytest.mark.skipif(not CITUS_URL, reason=SKIP_REASON)

CITUS_TYPES = {"distributed by organisation_id": "distributed", "reference table, on every node": "reference"}


def test_deploying_again_changes_nothing(cluster):
    assert cluster.deployed, "the first deployment, on an emptied database, reported doing nothing"
    assert not isinstance(cluster.deployed_again, Exception), f"deploying again failed: {cluster.deployed_again!r}"
    assert cluster.deployed_again == [], "\n".join(cluster.deployed_again)


def test_every_table_is_placed_as_planned(cluster):
    engine = create_engine(cluster.owner_url)
    try:
        with engine.connect() as connection:
            placed = {row.table_name: row for row in connection.execute(text(
                "SELECT table_name::text AS table_name, citus_table_type, distribution_column, colocation_id "
                "FROM citus_tables"))}
            present = tables(connection)
    finally:
        engine.dispose()
    assert present == set(PLAN), "the deployed schema's tables are not those the plan places"
    wrong = {}
    for table, placing in PLAN.items():
        row = placed.get(table)
        if placing == Placing.COORDINATOR:
            if row is not None and row.citus_table_type != "local":
                wrong[table] = row.citus_table_type
            continue
        if row is None or row.citus_table_type != CITUS_TYPES[placing.value]:
            wrong[table] = row.citus_table_type if row else "not in citus_tables"
        elif placing == Placing.DISTRIBUTED and (row.distribution_column != KEY
                                                  or row.colocation_id != placed[ANCHOR].colocation_id):
            wrong[table] = f"by {row.distribution_column}, colocation {row.colocation_id}"
    assert wrong == {}, f"placed otherwise than models.distribution.PLAN says: {wrong}"


def test_the_seeded_demo_answers_as_on_postgresql(answered_before):
    (citus, citus_failures), (plain, plain_failures) = answered_before["Citus"], answered_before["PostgreSQL"]
    assert not citus_failures + plain_failures, walk.report(citus_failures + plain_failures)
    assert walk.differences(citus, plain, ("Citus", "PostgreSQL")) == []


def test_every_write_happens_on_citus_as_on_postgresql(written):
    citus, plain = written["Citus"], written["PostgreSQL"]
    assert not citus.failures, walk.report(citus.failures)
    assert walk.differences(citus.facts, plain.facts, ("Citus", "PostgreSQL")) == [], walk.report(plain.failures)


@pytest.mark.parametrize("role", walk.WALKERS, ids=lambda role: role or "anonymous")
def test_every_route_on_citus_as(citus_app, cluster, written, role):
    failures = walk.walk_every_route(citus_app.test_client, walk.ids_of(cluster.owner_url), [role], DEMO_PASSWORD)
    assert not failures, walk.report(failures)


def test_the_answers_after_the_writes_are_those_of_postgresql(answered_after):
    (citus, citus_failures), (plain, plain_failures) = answered_after["Citus"], answered_after["PostgreSQL"]
    assert not citus_failures + plain_failures, walk.report(citus_failures + plain_failures)
    assert walk.differences(citus, plain, ("Citus", "PostgreSQL")) == []
