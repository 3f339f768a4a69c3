"""The route-and-write walk (tests/walk.py) on plain PostgreSQL: every route as every demo role
and nobody signed in, every kind of write, and the answers the Citus tests compare, on a copy of
the template holding the demo of its own (the writes would disturb the tests that share
``demo_database_url``)."""

import json

import pytest
from flask import abort

from models.base import make_engine
from models.demo import synthetic_return
from tests import walk
from tests.conftest import DEMO_PASSWORD, as_app_role, copy_template_database, drop_database
from webapp.access import Access, needs

pytestmark = pytest.mark.long


@pytest.fixture(scope="module")
def walk_database():
    url = copy_template_database("walk")
    try:
        walk.seed_demo(url, DEMO_PASSWORD)
        yield url
    finally:  # dropped even when the demo could not be written
        drop_database(url)


@pytest.fixture(scope="module")
def walk_app(walk_database):
    app = walk.make_app(walk_database, as_app_role(walk_database))
    yield app
    walk.dispose(app)


@pytest.fixture(scope="module")
def ssda903(walk_database):
    engine = make_engine(walk_database)
    with engine.connect() as connection:
        files = synthetic_return(connection, children=12)
    engine.dispose()
    return files


@pytest.fixture(scope="module")
def answered(walk_app, walk_database):
    """The answers on the demo as seeded, before any write, twice."""
    ids = walk.ids_of(walk_database)
    return [walk.answers(walk_app.test_client, ids, DEMO_PASSWORD) for _ in range(2)]


@pytest.fixture(scope="module")
def written(walk_app, walk_database, ssda903, answered):
    return walk.perform_every_write(walk_app.test_client, walk.ids_of(walk_database), ssda903, DEMO_PASSWORD)


@pytest.fixture(scope="module")
def ids_after_writes(walk_database, written):
    """The demo's records once written to: an import run and an API token now exist."""
    return walk.ids_of(walk_database)


def test_the_walk_covers_every_route(walk_app, ids_after_writes):
    """Every endpoint and method of the app is walked unless SKIPPED says why, and the walk has
    a value for every path parameter and knows what each role should get."""
    for role in walk.WALKERS:
        planned = walk.planned_requests(walk_app, ids_after_writes, role)
        walked = {(p.endpoint, p.method) for p in planned}
        routes = {(rule.endpoint, method) for rule in walk_app.url_map.iter_rules()
                  for method in rule.methods - {"HEAD", "OPTIONS"} if rule.endpoint not in walk.SKIPPED}
        assert walked == routes
        assert [p for p in planned if p.path is None or p.expect is None] == []
    assert set(walk.SKIPPED) <= {rule.endpoint for rule in walk_app.url_map.iter_rules()}


def test_a_new_route_is_walked_and_its_server_error_reported(walk_database, ids_after_writes):
    """A route the walk was never told about is requested too, its parameter named if the walk
    cannot fill it, and a 500 comes back with the traceback the app logged."""
    app = walk.make_app(walk_database, as_app_role(walk_database))

    @needs(Access.SIGNED_IN)
    def broken(context_id):
        raise RuntimeError(f"walk probe {context_id}")

    @needs(Access.SIGNED_IN)
    def unknown(widget_id):
        abort(404)

    app.add_url_rule("/walk-probe/<int:context_id>", "walk_probe", broken)
    app.add_url_rule("/walk-widgets/<int:widget_id>", "walk_widgets", unknown)
    try:
        failures = walk.walk_every_route(app.test_client, ids_after_writes, ["panel"], DEMO_PASSWORD)
    finally:
        walk.dispose(app)
    probe, widgets = failures
    assert (probe.path, probe.status, widgets.path, widgets.status) == (
        f"/walk-probe/{ids_after_writes.context}", 500, "walk_widgets", None)
    assert "RuntimeError: walk probe" in probe.detail and probe.server_error
    assert "widget_id" in widgets.problem


def test_every_write_happens(written, ids_after_writes):
    assert not written.failures, walk.report(written.failures)
    assert ids_after_writes.run is not None and ids_after_writes.token is not None
    assert written.facts["linked after the merge"] == 2
    first, second = written.facts["SSDA903 runs"]
    assert first["Young people"][0] == "12" and second["Young people"] == ["0", "0", "12"]


@pytest.mark.parametrize("role", walk.WALKERS, ids=lambda role: role or "anonymous")
def test_every_route_as(walk_app, ids_after_writes, role):
    failures = walk.walk_every_route(walk_app.test_client, ids_after_writes, [role], DEMO_PASSWORD)
    assert not failures, walk.report(failures)


def test_the_answers_are_json_and_hold_the_demo(answered):
    (found, failures), (again, failures_again) = answered
    assert not failures + failures_again, walk.report(failures + failures_again)
    assert json.loads(json.dumps(found)) == found
    assert all(found[f"/api/v1/hexes?res={res}"]["features"] for res in (7, 8, 9))
    gi = found["/api/v1/hexes?res=8&gi=true"]["features"]
    assert any(cell["gi_hotspot"] for cell in gi.values())
    assert found["/api/v1/shared/hexes?res=8"]["features"]
    assert found["context: the demo park"]["linked"] > 0 and found["context: the demo park"]["case"]
    assert found["POST /api/v1/placement-checks"]["candidates"]
    # Asked again on the same data, the same answers: nothing in them depends on the moment, or
    # on the order rows come in.
    assert walk.differences(found, again) == []
