"""SQL-injection and script-injection strings in every query parameter, form field, JSON field and
uploaded cell the app reads, as an administrator (who may open every route). None may cause a
server error, come back as live markup, or change the database."""

import io
from datetime import date

import pytest
from markupsafe import escape
from sqlalchemy import func, select

from models.codes import Role
from models.safeguarding import Context, YoungPerson

pytestmark = pytest.mark.long

INJECTIONS = [
    "' OR '1'='1",
    "'; DROP TABLE young_people; --",
    "1) OR (1=1",
    "\" OR \"\"=\"",
    "1 UNION SELECT reference FROM young_people--",
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>",
    "javascript:alert(1)",
    "{{7*7}}${7*7}",
    "../../../../etc/passwd",
    "\u202eevil\u0000",
    "9" * 400,
]
LIVE_MARKUP = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>"]
EPISODE_FILTERS = ["res", "zoom", "layer", "period", "from", "to", "bbox", "type", "sex", "age", "hours", "days",
                   "concerns", "kinds"]
# Every GET route and the query parameters it reads ({context} and {person}: a real record).
QUERY_PARAMETERS = {
    "/": EPISODE_FILTERS,
    "/hotspots.json": EPISODE_FILTERS,
    "/export/hotspots.csv": EPISODE_FILTERS,
    "/export/hotspots.geojson": EPISODE_FILTERS,
    "/export/hotspots.html": EPISODE_FILTERS,
    "/shared/": EPISODE_FILTERS,
    "/api/v1/shared/hexes": [*EPISODE_FILTERS, "gi", "gi_empty", "compare", "contexts"],
    "/api/v1/hexes": [*EPISODE_FILTERS, "gi", "gi_empty", "compare", "contexts"],
    "/api/v1/locations": ["q"],
    "/api/v1/distance": ["from", "to"],
    "/contexts/": ["q", "kind", "status", "near", "within", "page"],
    "/contexts/{context}": ["within", "period", "merged"],
    "/contexts/{context}/edit": [],
    "/contexts/{context}/delete": [],
    "/contexts/{context}/merge": [],
    "/contexts/{context}/links/new": [],
    "/contexts/{context}/case": [],
    "/contexts/{context}/notes": [],
    "/contexts/reviews": [],
    "/reports/contexts": ["quarter"],
    "/reports/contexts.csv": ["quarter"],
    "/contexts/deleted": [],
    "/inbox/": [],
    "/inbox/{context}": [],  # not another organisation's: a 404 (tests/webapp/test_inbox.py posts notes as a school)
    "/young-people/": ["reference"],
    "/young-people/{person}": ["period"],
    "/young-people/{person}/meetings": [],
    "/young-people/{person}/link": ["context"],
    "/placements/check": ["young_person", "home_postcode", "candidates", "provider", "check"],
    "/placements/report": ["flag"],
    "/placements/report.csv": ["flag"],
    "/placements/dfe": ["year"],
    "/placements/dfe.csv": ["year"],
    "/admin/audit": ["username", "action", "record", "from", "to"],
    "/login": ["next"],
}
FORMS = {
    "/contexts/new": {"name": "Park", "kind": "park", "location": "SW5 0AA", "address": "", "responsible": "",
                      "area": ""},
    "/contexts/{context}/edit": {"name": "Canary park", "kind": "online_space", "location": "", "address": "",
                                 "responsible": "", "area": "", "version": "1"},
    "/contexts/{context}/status": {"version": "1", "note": ""},
    "/contexts/{context}/merge": {"version": "1", "duplicate": "1", "duplicate_version": "", "note": ""},
    "/contexts/{context}/delete": {"version": "1", "note": "Recorded twice"},
    "/contexts/{context}/case": {"stage": "referral", "held_on": "2026-09-01", "owner": "1", "agencies": "1",
                                 "decision": "Assess", "next_review": "2026-10-01"},
    "/contexts/{context}/notes": {"text": "Patrols agreed"},
    "/young-people/{person}/meetings": {"kind": "assessment", "held_on": "2026-09-01", "extra_familial_harm": "no",
                                        "sources": "", "concerns": "11A"},
    "/contexts/{context}/links/new": {"young_person": "YP-INJECT", "role": "harmed_there", "concerns": "11A",
                                      "first_seen": "2026-03-01", "last_seen": "", "recorded_by": "1",
                                      "reliability": "corroborated"},
    "/admin/tokens": {"user": "1", "name": "QGIS", "days": "30"},
}
JSON_BODIES = {
    "/api/v1/contexts": {"name": "Park", "kind": "park", "location": "SW5 0AA", "address": "", "area": None},
    "/api/v1/placement-checks": {"young_person": "YP-INJECT", "candidates": [{"location": "SW5 0AB"}]},
}
ALLOWED = {200, 201, 302, 303, 400, 401, 404, 409}  # 409: an edit on a version since changed


@pytest.fixture
def records(session, organisations):
    authority = organisations["local_authority"]
    person = YoungPerson(reference="YP-INJECT", birth_month=date(2011, 1, 1), sex=2, home_postcode="SW5 9QA",
                         responsible_authority_code="E09000020", organisation_id=authority.id)
    context = Context(name="Canary park", kind="online_space", organisation_id=authority.id)
    session.add_all([person, context])
    session.commit()
    return {"person": person.id, "context": context.id}


@pytest.fixture
def admin(client, auth, users):
    auth.sign_in(Role.ADMINISTRATOR.value)
    return client


def no_harm(response, where: str) -> None:
    assert response.status_code in ALLOWED, (where, response.status_code, response.get_data(as_text=True)[:300])
    if response.mimetype == "text/html":  # JSON, CSV and GeoJSON carry text as data, not markup
        body = response.get_data(as_text=True)
        for markup in LIVE_MARKUP:
            assert markup not in body, where


def unchanged(session, records) -> None:
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(YoungPerson)) == 1
    assert session.scalar(select(YoungPerson.reference)) == "YP-INJECT"


def test_every_get_route_is_listed(app):
    listed = {path.split("?")[0] for path in QUERY_PARAMETERS}
    gets = {rule.rule.replace("<int:context_id>", "{context}").replace("<int:person_id>", "{person}")
            for rule in app.url_map.iter_rules() if "GET" in rule.methods and "<" not in rule.rule.replace(
                "<int:context_id>", "").replace("<int:person_id>", "")}
    assert gets - {"/logout", "/healthz", "/api/v1/openapi.json", "/imports/", "/admin/tokens", "/contexts/new"} <= listed


@pytest.mark.parametrize("path", sorted(QUERY_PARAMETERS))
def test_query_parameters(admin, session, records, path):
    url = path.format(**records)
    for parameter in QUERY_PARAMETERS[path]:
        for value in INJECTIONS:
            no_harm(admin.get(url, query_string={parameter: value}), f"{url}?{parameter}={value!r}")
    unchanged(session, records)


@pytest.mark.parametrize("path", sorted(FORMS))
def test_form_fields(admin, session, records, path):
    for field in FORMS[path]:
        for value in INJECTIONS:
            response = admin.post(path.format(**records), data={**FORMS[path], field: value})
            no_harm(response, f"{path} {field}={value!r}")
            if response.status_code == 400 and field in ("name", "days"):
                # The message names the field and shows the value escaped, never live.
                assert field in response.get_data(as_text=True)
    unchanged(session, records)


@pytest.mark.parametrize("path", sorted(JSON_BODIES))
def test_json_fields(admin, session, records, path):
    body = JSON_BODIES[path]
    for field in body:
        for value in INJECTIONS:
            sent = {**body, field: value if field != "candidates" else [{"location": value}]}
            response = admin.post(path, json=sent)
            no_harm(response, f"{path} {field}={value!r}")
    unchanged(session, records)


def test_sign_in_fields(client, users, session, records):
    for field in ("username", "password"):
        for value in INJECTIONS:
            data = {"username": "panel_member", "password": "x", field: value}
            response = client.post("/login", data=data)
            assert response.status_code in (400, 401), value  # never signed in
            no_harm(response, f"/login {field}={value!r}")
    assert client.get("/").status_code == 302
    unchanged(session, records)


def test_uploaded_cells(admin, session, records):
    header = "CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB\n"
    for value in INJECTIONS:
        row = f"{value.replace(',', ' ')},F,01/01/2011,WBRI,,,\n"
        files = {"header": (io.BytesIO((header + row).encode("utf-8")), "header.csv")}
        response = admin.post("/imports/ssda903", data=files, content_type="multipart/form-data")
        no_harm(response, f"upload CHILD={value!r}")
    unchanged(session, records)


def test_injected_names_are_shown_escaped(admin, session, records):
    """A context named with markup is stored as typed and always shown as text."""
    name = INJECTIONS[6]
    created = admin.post("/api/v1/contexts", json={"name": name, "kind": "online_space"})
    assert created.status_code == 201
    for path in ("/contexts/", f"/contexts/{created.get_json()['id']}"):
        body = admin.get(path).get_data(as_text=True)
        assert str(escape(name)) in body and name not in body
