"""The route matrix: every route of the app against every role (and no sign-in), with the status
each must get. The expected table is written here by hand, apart from webapp/access.py, so a
change to who may see what has to be made in both places; a new route fails until it is added."""

import re
from pathlib import Path

import pytest

from models.codes import Role
from webapp.access import Access, access_of

ANONYMOUS = None
EVERYONE = frozenset(Role)
INTERNAL = frozenset({Role.ADMINISTRATOR, Role.SOCIAL_WORKER, Role.PANEL_MEMBER, Role.PLACEMENT_COMMISSIONER})
IMPORTERS = frozenset({Role.ADMINISTRATOR, Role.PLACEMENT_COMMISSIONER})
ADMINISTRATORS = frozenset({Role.ADMINISTRATOR})
PUBLIC = "public"

# endpoint: (who may, method, path, request options, status for those who may: one number, or
# (without sign-in, signed in) for public pages)
ROUTES = {
    "static": (PUBLIC, "GET", "/static/css/app.css", {}, 200),
    "auth.login": (PUBLIC, "GET", "/login", {}, (200, 302)),  # the signed-in are sent on
    "health.healthz": (PUBLIC, "GET", "/healthz", {}, 200),
    "auth.logout": (EVERYONE, "POST", "/logout", {}, 302),
    "shared.index": (EVERYONE, "GET", "/shared/?res=8", {}, 200),
    "shared.hexes": (EVERYONE, "GET", "/api/v1/shared/hexes?res=8", {}, 200),
    "openapi.openapi_json": (EVERYONE, "GET", "/api/v1/openapi.json", {}, 200),
    "inbox.index": (EVERYONE, "GET", "/inbox/", {}, 200),
    "inbox.item": (EVERYONE, "GET", "/inbox/999999", {}, 404),
    "inbox.note": (EVERYONE, "POST", "/inbox/999999/notes", {"data": {}}, 404),
    "dashboard.index": (INTERNAL, "GET", "/", {}, 200),
    "dashboard.update": (INTERNAL, "GET", "/hotspots.json", {}, 200),
    "dashboard.export_csv": (INTERNAL, "GET", "/export/hotspots.csv", {}, 200),
    "dashboard.export_geojson": (INTERNAL, "GET", "/export/hotspots.geojson", {}, 200),
    "dashboard.export_html": (INTERNAL, "GET", "/export/hotspots.html", {}, 200),
    "dashboard.hexagon": (INTERNAL, "GET", "/hexagons/88194ad16dfffff", {}, 200),
    "contexts.index": (INTERNAL, "GET", "/contexts/", {}, 200),
    "contexts.new": (INTERNAL, "GET", "/contexts/new", {}, 200),
    "contexts.profile": (INTERNAL, "GET", "/contexts/999999", {}, 404),
    "contexts.edit": (INTERNAL, "GET", "/contexts/999999/edit", {}, 404),
    "contexts.change_status": (INTERNAL, "POST", "/contexts/999999/status", {"data": {}}, 404),
    "contexts.delete": (INTERNAL, "GET", "/contexts/999999/delete", {}, 404),
    "contexts.merge": (INTERNAL, "GET", "/contexts/999999/merge", {}, 404),
    "contexts.deleted": (ADMINISTRATORS, "GET", "/contexts/deleted", {}, 200),
    "contexts.restore": (ADMINISTRATORS, "POST", "/contexts/999999/restore", {"data": {}}, 404),
    "links.new": (INTERNAL, "GET", "/contexts/999999/links/new", {}, 404),
    "cases.record": (INTERNAL, "GET", "/contexts/999999/case", {}, 404),
    "cases.note": (INTERNAL, "GET", "/contexts/999999/notes", {}, 404),
    "cases.reviews": (INTERNAL, "GET", "/contexts/reviews", {}, 200),
    "reports.contexts": (INTERNAL, "GET", "/reports/contexts", {}, 200),
    "reports.contexts_csv": (INTERNAL, "GET", "/reports/contexts.csv", {}, 200),
    "links.edit": (INTERNAL, "GET", "/contexts/999999/links/1", {}, 404),
    "links.remove": (INTERNAL, "GET", "/contexts/999999/links/1/remove", {}, 404),
    "links.restore": (ADMINISTRATORS, "POST", "/contexts/999999/links/1/restore", {"data": {}}, 404),
    "people.find": (INTERNAL, "GET", "/young-people/?reference=NOBODY", {}, 404),
    "people.profile": (INTERNAL, "GET", "/young-people/999999", {}, 404),
    "people.meeting": (INTERNAL, "GET", "/young-people/999999/meetings", {}, 404),
    "people.link_to_context": (INTERNAL, "GET", "/young-people/999999/link?context=1", {}, 404),
    "placements.check_page": (INTERNAL, "GET", "/placements/check", {}, 200),
    "placements.report_page": (INTERNAL, "GET", "/placements/report", {}, 200),
    "placements.report_download": (INTERNAL, "GET", "/placements/report.csv", {}, 200),
    "placements.dfe_page": (INTERNAL, "GET", "/placements/dfe", {}, 200),
    "placements.dfe_download": (INTERNAL, "GET", "/placements/dfe.csv", {}, 200),
    "api.hexes": (INTERNAL, "GET", "/api/v1/hexes?res=8", {}, 200),
    "api.locations": (INTERNAL, "GET", "/api/v1/locations?q=SW5+0AA", {}, 200),
    "api.placement_distance": (INTERNAL, "GET", "/api/v1/distance?from=SW5+0AA&to=SW5+0AB", {}, 200),
    "api.placement_checks": (INTERNAL, "POST", "/api/v1/placement-checks", {"json": {}}, 400),
    "api.create_context": (INTERNAL, "POST", "/api/v1/contexts", {"json": {}}, 400),
    "imports.index": (IMPORTERS, "GET", "/imports/", {}, 200),
    "imports.upload": (IMPORTERS, "POST", "/imports/ssda903", {"data": {}}, 400),
    "imports.run_page": (IMPORTERS, "GET", "/imports/999999", {}, 404),
    "imports.problems_csv": (IMPORTERS, "GET", "/imports/999999/problems.csv", {}, 404),
    "admin.audit_log": (ADMINISTRATORS, "GET", "/admin/audit", {}, 200),
    "admin.tokens": (ADMINISTRATORS, "GET", "/admin/tokens", {}, 200),
    "admin.issue": (ADMINISTRATORS, "POST", "/admin/tokens", {"data": {}}, 400),
    "admin.revoke": (ADMINISTRATORS, "POST", "/admin/tokens/999999/revoke", {}, 404),
}


def test_the_matrix_lists_every_route(app):
    assert {rule.endpoint for rule in app.url_map.iter_rules()} == set(ROUTES)


@pytest.mark.parametrize("role", [ANONYMOUS, *Role], ids=lambda role: role.value if role else "anonymous")
@pytest.mark.parametrize("endpoint", sorted(ROUTES))
def test_route_matrix(client, auth, endpoint, role):
    allowed, method, path, options, status = ROUTES[endpoint]
    if role is not None:
        auth.sign_in(role.value)
    response = client.open(path, method=method, **options)
    if isinstance(status, tuple):
        status = status[role is not None]
    if allowed == PUBLIC or (role is not None and role in allowed):
        assert response.status_code == status, response.get_data(as_text=True)[:300]
    elif role is None:
        if path.startswith("/api/") or path.endswith(".json"):
            assert response.status_code == 401
        else:
            assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")
    else:
        assert response.status_code == 403


def test_an_endpoint_that_declares_nothing_is_closed_to_everyone(make_app, users):
    app = make_app(fresh=True)
    app.add_url_rule("/undeclared", "undeclared", lambda: "should never be seen")
    client = app.test_client()
    client.post("/login", data={"username": Role.ADMINISTRATOR.value, "password": "correct horse battery staple"})
    response = client.get("/undeclared")
    assert response.status_code == 403 and "should never be seen" not in response.get_data(as_text=True)


README_ROW = re.compile(r"^\| `(?P<path>[^`]+)` \| (?P<who>[^|]+) \|", re.MULTILINE)
README_WHO = {
    "anyone": Access.PUBLIC,
    "every role": Access.SIGNED_IN,
    "administrator, social worker, panel member, placement commissioner": Access.INDIVIDUALS,
    "administrator, placement commissioner": Access.IMPORTS,
    "administrator": Access.ADMINISTRATION,
}


def test_the_readme_table_says_what_the_code_does(app):
    """README "Who may see what": one row per route, naming who may open it."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Who may see what", 1)[1].split("\n## ", 1)[0]
    documented = {row["path"]: README_WHO[row["who"].strip()] for row in README_ROW.finditer(section)}
    actual = {rule.rule: access_of(app, rule.endpoint) for rule in app.url_map.iter_rules()}
    assert documented == actual
