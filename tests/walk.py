"""The route-and-write walk: as each demo role, open every route of the app (taken from its
url_map, so a new route is walked without being listed here), perform every kind of write the
app offers, and gather the answers that must not depend on the database engine.

Used by tests/webapp/test_route_walk.py on plain PostgreSQL and by tests/citus on a Citus
cluster. Everything goes through Flask's test client, as the demo users (password ``password``),
against a database that holds the demo (:func:`seed_demo`):

- :func:`walk_every_route` requests every route and method as one role (or nobody signed in),
  with the path's ids filled from :class:`Ids` (real records of the demo, found as the owner),
  and reports each answer that is a 5xx or not what the role should get (:class:`Failure`, with
  the traceback the app logged);
- :func:`perform_every_write` makes every kind of change through the pages and the API, each
  checked to have happened, and returns what they produced, by names and references;
- :func:`answers` gathers JSON-able results (hexagons, the shared map, reports, a context's and a
  child's page, a placement check) normalised so that two engines holding the same data give
  equal dicts: no ids of rows the walk wrote, features keyed by their H3 cell, floats rounded.
"""

import csv
import html
import io
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from html.parser import HTMLParser
from urllib.parse import urlencode, urlsplit

from flask import Flask, url_for
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.engine import Connection

from models.base import make_engine, make_session_factory
from models.demo import DEMO_ORGANISATIONS, write_demo, write_demo_cases
from webapp import create_app
from webapp.access import Access, access_of
from webapp.cli import DEMO_USERS, ensure_demo_users

# The demo sign-ins (webapp.cli.DEMO_USERS) and nobody signed in.
ROLES = tuple(username for username, *_ in DEMO_USERS)
ANONYMOUS = None
ROLE_OF = {username: role for username, _, role, _ in DEMO_USERS}
WALKERS = (*ROLES, ANONYMOUS)
DEMO_PARK_KIND = "park"
FEATURED = "YP-PLACED"  # models.demo.FEATURED_REFERENCE
SCHOOL = "Ashgrove Academy"  # models.demo.DEMO_SCHOOL, run by the school, left to be referred
# The Citus tests load these authorities' postcodes only (tests/citus/conftest.py): every
# postcode this module names must be in them. SW5 is Kensington and Chelsea, ME4 Medway.
HOME_POSTCODE, NEXT_DOOR, FAR_AWAY = "SW5 0AA", "SW5 0AB", "ME4 4TR"

# Endpoints the walk leaves out, each with why. tests/webapp/test_route_walk.py fails when an
# endpoint of the app is neither walked nor here.
SKIPPED: dict[str, str] = {}


def seed_demo(url: str, password: str) -> None:
    """The demo as ``./scripts/run`` writes it (seed 2026): data, users and the Level 2 cases,
    through the owner's connection ``url``."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            write_demo(connection)
        with make_session_factory(engine)() as session, session.begin():
            ensure_demo_users(session, password)
        with make_session_factory(engine)() as session, session.begin():
            write_demo_cases(session)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))
    finally:
        engine.dispose()


def make_app(owner_url: str, app_url: str | None, **config) -> Flask:
    """The app as deployed (its own role under row-level security when ``app_url`` is given),
    with form tokens and the sign-in rate limit off, as the web tests run it."""
    settings = {"TESTING": True, "SECRET_KEY": "route-walk", "DATABASE_URL": owner_url, "APP_DATABASE_URL": app_url,
                "WTF_CSRF_ENABLED": False, "TILE_URL": "", "RATELIMIT_ENABLED": False,
                "SIGN_IN_RATE_LIMIT": "10000 per minute"}
    settings.update(config)
    return create_app(settings)


def dispose(app: Flask) -> None:
    for name in ("db_engine", "db_owner_engine"):
        if name in app.extensions:
            app.extensions[name].dispose()


# ---- what went wrong ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Failure:
    method: str
    path: str
    role: str | None
    status: int | None
    problem: str
    detail: str = ""

    @property
    def server_error(self) -> bool:
        return self.status is not None and self.status >= 500

    def __str__(self) -> str:
        head = f"{self.method} {self.path} as {self.role or 'anonymous'}: {self.status} {self.problem}"
        return head + ("\n    " + self.detail.strip().replace("\n", "\n    ") if self.detail.strip() else "")


def report(failures: Iterable[Failure]) -> str:
    failures = list(failures)
    errors = sum(f.server_error for f in failures)
    return (f"{len(failures)} failures ({errors} server errors):\n" + "\n".join(map(str, failures))) if failures else ""


class _Logged(logging.Handler):
    """The app's warnings and errors (an unexpected error's traceback, a database outage) while
    a request runs, to go with its failure."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.records: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record):
        self.records.append(self.format(record))


class Requester:
    """Sends requests as one role through a test client and notes each answer it did not expect."""

    def __init__(self, client: FlaskClient, role: str | None, failures: list[Failure]):
        self.client, self.role, self.failures = client, role, failures

    def __call__(self, method: str, path: str, expect: Iterable[int] | None = None, what: str = "",
                 **options):
        logged = _Logged()
        logger = logging.getLogger(self.client.application.logger.name)
        logger.addHandler(logged)
        try:
            response = self.client.open(path, method=method, **options)
        except Exception as error:  # a view that escaped the app's error handlers
            import traceback

            self.failures.append(Failure(method, path, self.role, None, f"raised {error!r}", traceback.format_exc()))
            return None
        finally:
            logger.removeHandler(logged)
        expected = set(expect) if expect is not None else None
        status = response.status_code
        if status >= 500 or (expected is not None and status not in expected):
            problem = (f"server error{': ' + what if what else ''}" if status >= 500 else
                       f"expected {' or '.join(map(str, sorted(expected)))}{': ' + what if what else ''}")
            self.failures.append(Failure(method, path, self.role, status, problem,
                                         "\n".join(logged.records) or _said(response)))
            return None
        return response

    def check(self, condition: bool, path: str, problem: str, detail: str = "") -> bool:
        """Note a write that answered as expected but did not do what it should have."""
        if not condition:
            self.failures.append(Failure("CHECK", path, self.role, None, problem, detail))
        return condition


def _said(response) -> str:
    """What an unexpected page said: its alerts and the messages beside its fields."""
    body = response.get_data(as_text=True)
    if response.mimetype == "application/json":
        return body[:500]
    found = re.findall(r'class="(?:alert[^"]*|invalid-feedback[^"]*|text-danger[^"]*)"[^>]*>(.*?)</', body, re.DOTALL)
    said = "; ".join(" ".join(html.unescape(re.sub(r"<[^>]+>", " ", f)).split()) for f in found if f.strip())
    if not said and "<main" in body:  # an error page: what it says in its main part
        main = body.split("<main", 1)[1].split(">", 1)[-1].split("</main>", 1)[0]
        said = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", main)).split())
    return said[:800] or (f"redirected to {response.location}" if response.location else body[:300])


def sign_in(client_factory: Callable[[], FlaskClient], role: str | None, password: str,
            failures: list[Failure]) -> Requester:
    client = client_factory()
    ask = Requester(client, role, failures)
    if role is not None:
        ask("POST", "/login", {302}, "sign in", data={"username": role, "password": password})
    return ask


# ---- the records the walk's paths name ---------------------------------------------------------

@dataclass
class Ids:
    """Real records of the demo, found as the owner (:func:`find_ids`)."""

    context: int  # the demo's park with a Level 2 case
    link: int  # a current link to it
    person: int  # the featured young person
    provider: int  # a placement provider with a location
    school_context: int  # Ashgrove Academy
    run: int | None  # the latest SSDA903 import, if any
    token: int | None  # the latest API token, if any
    users: dict[str, int]  # username: id
    organisations: dict[str, int]  # username: organisation id
    inbox: dict[str, int | None]  # username: a context in the items of the user's organisation
    hexagon: str  # the park's hexagon at resolution 8 (H3's hexadecimal form)

    def fill(self, name: str, endpoint: str, role: str | None) -> int | str | None:
        """The value for path parameter ``name`` of ``endpoint``; None when there is none to use."""
        if endpoint.startswith("inbox.") and name == "context_id":
            return self.inbox.get(role) if role else self.context
        if name == "filename":
            return "css/app.css"
        return {"context_id": self.context, "link_id": self.link, "person_id": self.person, "run_id": self.run,
                "token_id": self.token, "cell_text": self.hexagon}.get(name, _UNKNOWN)


_UNKNOWN = "unknown"
MISSING_ID = 999999  # a record that is not there: the walk expects a 404 for it


def find_ids(connection: Connection) -> Ids:
    """The demo's records to walk, read through the owner's ``connection``."""
    one = lambda sql, **values: connection.scalar(text(sql), values)  # noqa: E731
    context = one("SELECT c.id FROM contexts c WHERE c.kind = :kind AND c.deleted_at IS NULL AND EXISTS "
                  "(SELECT 1 FROM case_records r WHERE r.context_id = c.id) ORDER BY c.id LIMIT 1", kind=DEMO_PARK_KIND)
    users = {username: (user_id, organisation) for username, user_id, organisation in connection.execute(text(
        "SELECT username, id, organisation_id FROM users WHERE username = ANY(:names)"), {"names": list(ROLES)})}
    inbox = {username: one(
        "SELECT min(c.id) FROM contexts c WHERE c.deleted_at IS NULL "
        "AND EXISTS (SELECT 1 FROM case_records r WHERE r.context_id = c.id) "
        "AND c.organisation_id <> :o AND (c.responsible_organisation_id = :o OR EXISTS "
        "     (SELECT 1 FROM case_records r WHERE r.context_id = c.id AND :o = ANY (r.agency_ids)))", o=organisation)
        for username, (_, organisation) in users.items()}
    return Ids(
        context=context,
        link=one("SELECT min(id) FROM context_links WHERE context_id = :c AND removed_at IS NULL", c=context),
        person=one("SELECT id FROM young_people WHERE reference = :r", r=FEATURED),
        provider=one("SELECT min(id) FROM contexts WHERE kind = 'placement_provider' AND geometry IS NOT NULL "
                     "AND status = 'open' AND deleted_at IS NULL"),
        school_context=one("SELECT id FROM contexts WHERE name = :n", n=SCHOOL),
        run=one("SELECT max(id) FROM import_runs"),
        token=one("SELECT max(id) FROM api_tokens"),
        users={username: user_id for username, (user_id, _) in users.items()},
        organisations={username: organisation for username, (_, organisation) in users.items()},
        inbox=inbox,
        # contexts.cells holds resolutions 6 to 10 (geo.hexes.MAP_RESOLUTIONS); arrays count from 1.
        hexagon=one("SELECT to_hex(cells[3]) FROM contexts WHERE id = :c", c=context),
    )


def ids_of(owner_url: str) -> Ids:
    engine = make_engine(owner_url)
    try:
        with engine.connect() as connection:
            return find_ids(connection)
    finally:
        engine.dispose()


# ---- every route -------------------------------------------------------------------------------

# Query strings that make a route answer in full rather than refuse a missing parameter.
QUERIES: dict[str, dict[str, str] | Callable[[Ids], dict[str, str]]] = {
    "shared.index": {"res": "8"},
    "shared.hexes": {"res": "8"},
    "api.hexes": {"res": "8", "gi": "true"},
    "api.locations": {"q": HOME_POSTCODE},
    "api.placement_distance": {"from": HOME_POSTCODE, "to": FAR_AWAY},
    "people.find": {"reference": FEATURED},
    "people.link_to_context": lambda ids: {"context": str(ids.context)},
    "placements.check_page": lambda ids: {"young_person": FEATURED, "candidates": FAR_AWAY,
                                          "provider": str(ids.provider), "check": "1"},
    "contexts.profile": {"within": "500", "period": "all"},
}
# What a request sends that has a body. Posted forms are empty, so each is refused (nothing is
# written: perform_every_write makes the changes); only sign-out and revoking a token act.
BODIES: dict[str, dict] = {
    "api.placement_checks": {"json": {}},
    "api.create_context": {"json": {}},
    "imports.upload": {"data": {}, "content_type": "multipart/form-data"},
}
# The status a role that may use a route gets, where it is not 200 for GET and 400 for POST:
# (endpoint, method): status, or (status without sign-in, signed in) for public routes.
STATUSES: dict[tuple[str, str], int | tuple[int, int]] = {
    ("auth.login", "GET"): (200, 302),
    ("auth.login", "POST"): (200, 302),  # an empty sign-in form is shown again; the signed-in are sent on
    ("auth.logout", "POST"): 302,
    ("people.find", "GET"): 302,
    ("people.link_to_context", "GET"): 302,
    ("admin.revoke", "POST"): 302,
}


@dataclass(frozen=True)
class Planned:
    endpoint: str
    method: str
    path: str | None  # None: a path parameter the walk has no value for
    options: dict = field(default_factory=dict, compare=False, hash=False)
    expect: frozenset[int] | None = None  # None: anything but a 5xx
    problem: str = ""


def _path(app: Flask, rule, ids: Ids, role: str | None) -> tuple[str | None, bool, str]:
    """The rule's path with its parameters filled, whether a record is missing (a 404 to expect),
    and the problem when a parameter has no value."""
    values, missing = {}, False
    for name in sorted(rule.arguments):
        value = ids.fill(name, rule.endpoint, role)
        if value == _UNKNOWN:
            return None, False, f"the walk has no value for path parameter {name!r}: add it to tests.walk.Ids.fill"
        if value is None:
            value, missing = MISSING_ID, True
        values[name] = value
    query = QUERIES.get(rule.endpoint, {})
    query = query(ids) if callable(query) else query
    with app.test_request_context():
        path = url_for(rule.endpoint, **values)
    return path + ("?" + urlencode(query) if query else ""), missing, ""


def _expected(app: Flask, endpoint: str, method: str, path: str, role: str | None, missing: bool) -> frozenset[int] | None:
    access = access_of(app, endpoint)
    known = (endpoint, method) in STATUSES or endpoint in _DECLARED
    if access is None:
        return frozenset({403}) if role else frozenset({302, 401})
    if role is None and access != Access.PUBLIC:
        json = path.startswith("/api/") or urlsplit(path).path.endswith(".json")
        return frozenset({401} if json else {302})
    if role is not None and ROLE_OF[role] not in access.roles and access != Access.PUBLIC:
        return frozenset({403})
    if not known:
        return None  # a route new to the walk: it must not fail, whatever it answers
    if missing:
        return frozenset({404})
    status = STATUSES.get((endpoint, method), 200 if method == "GET" else 400)
    if isinstance(status, tuple):
        status = status[role is not None]
    return frozenset({status})


# The endpoints the walk knows what to expect of (their 2xx, 3xx or refusal); any other is
# walked too, and only a 5xx from it fails.
_DECLARED = frozenset({
    "static", "auth.login", "auth.logout", "health.healthz", "shared.index", "shared.hexes", "openapi.openapi_json",
    "inbox.index", "inbox.item", "inbox.note", "dashboard.index", "dashboard.update", "dashboard.export_csv",
    "dashboard.export_geojson", "dashboard.export_html", "dashboard.hexagon", "contexts.index", "contexts.new", "contexts.profile",
    "contexts.edit", "contexts.change_status", "contexts.delete", "contexts.merge", "contexts.deleted",
    "contexts.restore", "links.new", "links.edit", "links.remove", "links.restore", "cases.record", "cases.note",
    "cases.reviews", "reports.contexts", "reports.contexts_csv", "people.find", "people.profile", "people.meeting",
    "people.link_to_context", "placements.check_page", "placements.report_page", "placements.report_download",
    "placements.dfe_page", "placements.dfe_download",
    "api.hexes", "api.locations", "api.placement_distance", "api.placement_checks", "api.create_context",
    "imports.index", "imports.upload", "imports.run_page", "imports.problems_csv", "admin.audit_log", "admin.tokens",
    "admin.issue", "admin.revoke",
})


def planned_requests(app: Flask, ids: Ids, role: str | None) -> list[Planned]:
    """Every route and method of ``app`` as ``role`` would walk them, signing out last."""
    planned = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIPPED:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            path, missing, problem = _path(app, rule, ids, role)
            if path is None:
                planned.append(Planned(rule.endpoint, method, None, problem=problem))
                continue
            options = dict(BODIES.get(rule.endpoint, {"data": {}})) if method in ("POST", "PUT", "PATCH", "DELETE") else {}
            planned.append(Planned(rule.endpoint, method, path, options,
                                   _expected(app, rule.endpoint, method, path, role, missing)))
    return sorted(planned, key=lambda p: (p.endpoint == "auth.logout", p.endpoint, p.method))


def walk_every_route(client_factory: Callable[[], FlaskClient], ids: Ids, roles: Iterable[str | None] = WALKERS,
                     password: str = "") -> list[Failure]:
    """Request every route and method of the app as each of ``roles`` (None: nobody signed in):
    the failures, every 5xx among them with the traceback the app logged."""
    failures: list[Failure] = []
    for role in roles:
        ask = sign_in(client_factory, role, password, failures)
        for planned in planned_requests(ask.client.application, ids, role):
            if planned.path is None:
                failures.append(Failure(planned.method, planned.endpoint, role, None, planned.problem))
                continue
            ask(planned.method, planned.path, planned.expect, planned.endpoint, **planned.options)
    return failures


# ---- every write -------------------------------------------------------------------------------

@dataclass
class Writes:
    failures: list[Failure]
    facts: dict  # what the writes produced, by names and references: the same on every engine


class _TableRows(HTMLParser):
    """The cells of each row of the tables marked ``data-testid``, by that id: rows with a data
    cell (not the column headings)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, list[list[str]]] = {}
        self._stack: list[str | None] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._data_row = False

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._stack.append(dict(attrs).get("data-testid"))
        elif tag == "tr" and self._stack and self._stack[-1]:
            self._row, self._data_row = [], False
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
            self._data_row = self._data_row or tag == "td"

    def handle_endtag(self, tag):
        if tag == "table" and self._stack:
            self._stack.pop()
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._data_row:
                self.tables.setdefault(self._stack[-1], []).append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def table_rows(page: str, testid: str) -> list[list[str]]:
    parser = _TableRows()
    parser.feed(page)
    return parser.tables.get(testid, [])


def _page(response) -> str:
    return response.get_data(as_text=True) if response is not None else ""


def _version(page: str) -> str:
    found = re.search(r'name="version" type="hidden" value="(\d+)"', page)
    return found.group(1) if found else ""


def _linked(page: str) -> int | None:
    found = re.search(r"Young people linked to this context \(([\d,]+)\)", page)
    return int(found.group(1).replace(",", "")) if found else None


def _context_id(location: str | None) -> int | None:
    found = re.search(r"/contexts/(\d+)", location or "")
    return int(found.group(1)) if found else None


def register(ask: Requester, **query) -> dict[str, int]:
    """The register's contexts matching ``query``, {name: id}."""
    page = _page(ask("GET", "/contexts/?" + urlencode(query), {200}, "the register"))
    return {html.unescape(name): int(number) for number, name in re.findall(r'href="/contexts/(\d+)">([^<]*)</a>', page)}


def _ssda903_upload(files: dict[str, tuple[str, bytes]]) -> dict:
    return {"data": {name.lower(): (io.BytesIO(content), filename) for name, (filename, content) in files.items()},
            "content_type": "multipart/form-data"}


def perform_every_write(client_factory: Callable[[], FlaskClient], ids: Ids, ssda903: dict[str, tuple[str, bytes]],
                        password: str, today: date | None = None) -> Writes:
    """Every kind of change the app offers, each as a role that may make it and checked to have
    happened: contexts (form and API), edits, closing and reopening, linking, changing,
    removing and restoring links, merging, deleting and restoring, a case from referral to
    review, agencies' notes and a partner's note from its items, a child's meeting, an SSDA903
    import and its re-import, placement checks, an API token issued, used and revoked, a user
    added, and signing in and out."""
    today = today or date.today()
    failures: list[Failure] = []
    facts: dict = {}
    clients: dict[str, Requester] = {}

    def as_(role: str) -> Requester:
        if role not in clients:
            clients[role] = sign_in(client_factory, role, password, failures)
        return clients[role]

    panel, worker, admin = as_("panel"), as_("social.worker"), as_("admin")
    authority = str(ids.organisations["panel"])
    day = lambda n: (today - timedelta(days=n)).isoformat()  # noqa: E731

    # A context from the form, found in the register, edited, closed and reopened.
    name = "Walk Road Fried Chicken"
    made = panel("POST", "/contexts/new", {302}, "add a context", data={
        "name": name, "kind": "takeaway", "location": HOME_POSTCODE, "address": "", "responsible": ""})
    kept = _context_id(made.location) if made is not None else None
    if kept is not None:
        panel.check(register(panel, q="Walk Road").get(name) == kept, "/contexts/?q=Walk+Road",
                    "the added context is not in the register")
        form = _page(panel("GET", f"/contexts/{kept}/edit", {200}, "the edit form"))
        name = "Walk Road Fried Chicken (corner)"
        panel("POST", f"/contexts/{kept}/edit", {302}, "edit the context", data={
            "version": _version(form), "name": name, "kind": "takeaway", "location": HOME_POSTCODE,
            "address": "1 Walk Road", "responsible": ""})
        profile = _page(panel("GET", f"/contexts/{kept}", {200}))
        panel.check(name in html.unescape(profile) and "1 Walk Road" in profile, f"/contexts/{kept}",
                    "the edit is not on the profile")
        for status, note in (("closed", "Walk: closed down"), ("open", "Walk: open again")):
            version = _version(_page(panel("GET", f"/contexts/{kept}", {200})))
            panel("POST", f"/contexts/{kept}/status", {302}, f"make the context {status}",
                  data={"version": version, "note": note})
            panel.check(register(panel, q="Walk Road", status=status).get(name) == kept,
                        f"/contexts/?status={status}", f"the context is not {status} in the register")
        history = table_rows(_page(panel("GET", f"/contexts/{kept}", {200})), "history")
        facts["history of the added context"] = len(history)

    # Links: added from the context and from the child's page, changed, removed, restored.
    if kept is not None:
        link_form = {"role": "harmed_there", "concerns": ["11A", "24A"], "first_seen": day(60), "last_seen": "",
                     "recorded_by": authority, "reliability": "corroborated"}
        panel("POST", f"/contexts/{kept}/links/new", {302}, "link a young person",
              data={"young_person": FEATURED, **link_form})
        chosen = panel("GET", f"/young-people/{ids.person}/link?context={kept}", {302}, "link from her page")
        if chosen is not None:
            panel("GET", chosen.location, {200}, "the link form from her page")
        profile = _page(panel("GET", f"/contexts/{kept}", {200}))
        panel.check(_linked(profile) == 1, f"/contexts/{kept}", "the link is not counted on the profile")
        link = re.search(rf'href="/contexts/{kept}/links/(\d+)"', profile)
        if link is not None:
            link_path = f"/contexts/{kept}/links/{link.group(1)}"
            form = _page(panel("GET", link_path, {200}, "the link's form"))
            panel("POST", link_path, {302}, "change the link", data={
                "version": _version(form), "young_person": FEATURED, **link_form, "reliability": "known_directly"})
            rows = table_rows(_page(panel("GET", f"/contexts/{kept}", {200})), "linked")
            panel.check(any("known directly" in row for row in rows), f"/contexts/{kept}", "the link did not change",
                        str(rows))
            form = _page(panel("GET", f"{link_path}/remove", {200}))
            panel("POST", f"{link_path}/remove", {302}, "remove the link",
                  data={"version": _version(form), "note": "Walk: recorded against the wrong place"})
            panel.check(_linked(_page(panel("GET", f"/contexts/{kept}", {200}))) == 0, f"/contexts/{kept}",
                        "the removed link is still counted")
            panel("POST", f"{link_path}/restore", {403}, "a panel member may not restore a link")
            removed = _page(admin("GET", f"/contexts/{kept}", {200}))
            admin.check('data-testid="removed-links"' in removed, f"/contexts/{kept}",
                        "the removed link is not offered to the administrator")
            admin("POST", f"{link_path}/restore", {302}, "restore the link")
            panel.check(_linked(_page(panel("GET", f"/contexts/{kept}", {200}))) == 1, f"/contexts/{kept}",
                        "the restored link is not counted")
        else:
            panel.check(False, f"/contexts/{kept}", "no link to change on the profile")

    # A duplicate from the API, with a child linked to it, merged into the first.
    created = worker("POST", "/api/v1/contexts", {201}, "add a context through the API", json={
        "name": "Walk Rd chicken shop", "kind": "takeaway", "location": NEXT_DOOR})
    duplicate = created.get_json()["id"] if created is not None else None
    if kept is not None and duplicate is not None:
        other = _another_child(worker, ids)
        worker("POST", f"/contexts/{duplicate}/links/new", {302}, "link a child to the duplicate", data={
            "young_person": other, "role": "frequents", "concerns": [], "first_seen": day(30), "last_seen": day(2),
            "recorded_by": authority, "reliability": "not_corroborated"})
        choose = _page(panel("GET", f"/contexts/{kept}/merge", {200}, "the merge page"))
        compare = panel("POST", f"/contexts/{kept}/merge", {200}, "compare the duplicate",
                        data={"version": _version(choose), "duplicate": str(duplicate)})
        duplicate_version = re.search(r'name="duplicate_version" type="hidden" value="(\d+)"', _page(compare))
        panel("POST", f"/contexts/{kept}/merge", {302}, "merge the duplicate", data={
            "version": _version(choose), "duplicate": str(duplicate), "note": "Walk: the same shop",
            "duplicate_version": duplicate_version.group(1) if duplicate_version else ""})
        followed = panel("GET", f"/contexts/{duplicate}", {302}, "the merged record's address")
        panel.check(followed is not None and _context_id(followed.location) == kept, f"/contexts/{duplicate}",
                    "the merged record does not lead to the kept one")
        linked = _linked(_page(panel("GET", f"/contexts/{kept}", {200})))
        panel.check(linked == 2, f"/contexts/{kept}", f"the duplicate's link did not move: {linked} linked")
        facts["linked after the merge"] = linked

    # Deleted and restored.
    gone = panel("POST", "/contexts/new", {302}, "add an online space", data={
        "name": "Walk group chat", "kind": "online_space", "location": "", "address": "", "responsible": ""})
    chat = _context_id(gone.location) if gone is not None else None
    if chat is not None:
        form = _page(panel("GET", f"/contexts/{chat}/delete", {200}))
        panel("POST", f"/contexts/{chat}/delete", {302}, "delete a context",
              data={"version": _version(form), "note": "Walk: entered twice"})
        panel.check("Walk group chat" not in register(panel, q="Walk group", status="any"), "/contexts/?q=Walk+group",
                    "the deleted context is still in the register")
        panel.check("Walk group chat" in _page(admin("GET", "/contexts/deleted", {200})), "/contexts/deleted",
                    "the deleted context is not among the deleted ones")
        admin("POST", f"/contexts/{chat}/restore", {302}, "restore the context")
        panel.check("Walk group chat" in register(panel, q="Walk group"), "/contexts/?q=Walk+group",
                    "the restored context is not in the register")

    # Ashgrove Academy's case from referral to review, with notes; the school reads and answers.
    school, police = as_("school"), as_("police")
    agencies = [authority, str(ids.organisations["police"]), str(ids.organisations["school"])]
    case = f"/contexts/{ids.school_context}/case"
    stages = (("referral", 40, 14), ("assessment", 30, 14), ("plan", 20, 28), ("review", 10, 42))
    for stage, days_ago, review_in in stages:
        panel("GET", case, {200}, "the case form")
        panel("POST", case, {302}, f"record the {stage}", data={
            "stage": stage, "held_on": day(days_ago), "owner": str(ids.users["panel"]), "agencies": agencies,
            "decision": f"Walk {stage}: pupils approached at the gates", "next_review": day(days_ago - review_in)})
    profile = _page(panel("GET", f"/contexts/{ids.school_context}", {200}))
    panel.check("Reviewed on" in profile, f"/contexts/{ids.school_context}", "the case did not reach its review",
                " ".join(re.findall(r'data-testid="case-state">([^<]*)', profile)))
    panel("POST", f"/contexts/{ids.school_context}/notes", {302}, "add an agency's note",
          data={"text": "Walk: the panel asked for staff at the gates"})
    items = _page(school("GET", "/inbox/", {200}, "the school's items"))
    school.check(SCHOOL in items, "/inbox/", "the referred school is not among the school's items")
    school("GET", f"/inbox/{ids.school_context}", {200}, "the school's item")
    school("POST", f"/inbox/{ids.school_context}/notes", {302}, "the school's note",
           data={"text": "Walk: two staff at the gates from Monday"})
    police("POST", f"/inbox/{ids.context}/notes", {302}, "the police's note",
           data={"text": "Walk: patrols on Friday evenings"})
    profile = html.unescape(_page(panel("GET", f"/contexts/{ids.school_context}", {200})))
    panel.check("two staff at the gates" in profile, f"/contexts/{ids.school_context}",
                "the school's note is not on the profile")
    panel.check("patrols on Friday evenings" in html.unescape(_page(panel("GET", f"/contexts/{ids.context}", {200}))),
                f"/contexts/{ids.context}", "the police's note is not on the profile")
    facts["school's case"] = [" ".join(state.split()) for state in re.findall(r'data-testid="case-state">([^<]*)', profile)]

    # A conference about the featured child, naming one of her contexts as the source of harm.
    meeting = f"/young-people/{ids.person}/meetings"
    form = _page(worker("GET", meeting, {200}))
    sources = re.findall(r'<option value="(\d+)">', form.split('name="sources"', 1)[-1].split("</select>", 1)[0])
    before = table_rows(_page(worker("GET", f"/young-people/{ids.person}", {200})), "meetings")
    worker("POST", meeting, {302}, "record a conference", data={
        "kind": "initial_conference", "held_on": day(5), "extra_familial_harm": "yes", "sources": sources[:1],
        "concerns": ["11A"]})
    after = table_rows(_page(worker("GET", f"/young-people/{ids.person}", {200})), "meetings")
    worker.check([row for row in after if row not in before] == [[
        (today - timedelta(days=5)).strftime("%d %b %Y"), "Initial child protection conference", "a factor",
        *(row[3] for row in after[-1:]), "11A"]], f"/young-people/{ids.person}", "the conference is not on her page",
        str(after))

    # The SSDA903 return, imported and imported again.
    commissioner = as_("commissioner")
    runs = []
    for attempt in ("import", "re-import"):
        loaded = commissioner("POST", "/imports/ssda903", {303}, f"the SSDA903 {attempt}", **_ssda903_upload(ssda903))
        if loaded is None:
            break
        run = _page(commissioner("GET", loaded.location, {200}, "the import's page"))
        runs.append({row[0]: row[1:] for row in table_rows(run, "written")})
    facts["SSDA903 runs"] = runs
    if len(runs) == 2:
        commissioner.check(all(int(n.replace(",", "")) > 0 for n in (runs[0].get("Young people") or ["0"])[:1]),
                           "/imports/ssda903", "the import created no young people", str(runs[0]))
        commissioner.check(all(counts[:2] == ["0", "0"] for counts in runs[1].values()), "/imports/ssda903",
                           "the re-import changed records", str(runs[1]))
    if runs:
        commissioner("GET", f"/young-people/?reference={_first_child(ssda903)}", {302}, "an imported child")

    # Placement checks, the page and the API.
    page = _page(commissioner("GET", "/placements/check?" + urlencode({
        "young_person": FEATURED, "candidates": FAR_AWAY, "provider": str(ids.provider), "check": "1"}), {200}))
    commissioner.check(len(table_rows(page, "candidates")) > 1, "/placements/check", "the page ranked no candidates")
    checked = commissioner("POST", "/api/v1/placement-checks", {200}, "check placements", json={
        "young_person": FEATURED, "candidates": [{"location": FAR_AWAY}, {"context_id": ids.provider}]})
    if checked is not None:
        commissioner.check(len(checked.get_json()["candidates"]) == 2, "/api/v1/placement-checks",
                           "the API did not rank both candidates")

    # An API token for the police's GIS: issued, used, revoked.
    issued = admin("POST", "/admin/tokens", {200}, "issue a token", data={
        "user": str(ids.users["police"]), "name": "Walk GIS", "days": "7"})
    secret = re.search(r'<code class="user-select-all">([^<]+)</code>', _page(issued))
    if secret is not None:
        gis = Requester(client_factory(), "police (token)", failures)
        bearer = {"Authorization": f"Bearer {secret.group(1)}"}
        gis("GET", "/api/v1/shared/hexes?res=8", {200}, "the shared map with the token", headers=bearer)
        token = re.search(r'action="/admin/tokens/(\d+)/revoke"', _page(admin("GET", "/admin/tokens", {200})))
        if admin.check(token is not None, "/admin/tokens", "the issued token is not listed"):
            admin("POST", f"/admin/tokens/{token.group(1)}/revoke", {302}, "revoke the token")
            gis("GET", "/api/v1/shared/hexes?res=8", {401}, "the revoked token", headers=bearer)
    else:
        admin.check(False, "/admin/tokens", "no token was shown once issued")

    # A user added (there is no page for it: the create-user command), who signs in and out.
    app = panel.client.application
    added = app.test_cli_runner().invoke(args=[
        "create-user", "walk.worker", "--name", "Walk social worker", "--role", "social_worker",
        "--organisation", DEMO_ORGANISATIONS[0][0], "--password", password])
    panel.check(added.exit_code == 0, "flask create-user", "the user was not added", added.output)
    fresh = Requester(client_factory(), "walk.worker", failures)
    fresh("POST", "/login", {401}, "a wrong password", data={"username": "walk.worker", "password": password + "x"})
    fresh("POST", "/login", {302}, "sign in", data={"username": "walk.worker", "password": password})
    fresh("GET", "/", {200}, "the dashboard once signed in")
    fresh("POST", "/logout", {302}, "sign out")
    fresh("GET", "/", {302}, "the dashboard once signed out")
    audit = _page(admin("GET", "/admin/audit?username=walk.worker", {200}))
    admin.check(audit.count("walk.worker") >= 3, "/admin/audit", "the sign-ins are not in the audit log")
    for requester in clients.values():
        requester("POST", "/logout", {302}, "sign out")
    return Writes(failures, facts)


def _another_child(ask: Requester, ids: Ids) -> str:
    """A child of the authority other than the featured one, from her peers on her page."""
    page = _page(ask("GET", f"/young-people/{ids.person}", {200}))
    found = [reference for reference in re.findall(r">(YP-[A-Z0-9]{6})<", page) if reference != FEATURED]
    return found[0] if found else FEATURED


def _first_child(files: dict[str, tuple[str, bytes]]) -> str:
    header = files["Header"][1].decode().splitlines()
    return next(csv.reader(header[1:2]))[0]




# ---- answers -----------------------------------------------------------------------------------

# Columns of the hotspots CSV that two databases holding the same rows may fill differently.
UNSTABLE = {
    "rank": "hexagons with equal counts may be ranked in either order",
    "near_postcode": "models.queries.nearest_postcodes orders by distance alone, and postcodes that share a grid "
                     "reference (SW3 5BB and SW3 5BW) are equally near: which comes first depends on the index",
}
HEX_QUERIES = ("", "hours=22-06", "gi=true", "hours=22-06&gi=true", "layer=found&contexts=true",
               "type=M&sex=female&age=13-17", "layer=young_people")
SHARED_QUERIES = ("res=7", "res=8", "res=9", "res=8&layer=found", "res=8&hours=22-06", "res=8&period=12")


def _rounded(value):
    if isinstance(value, float):
        return float(f"{value:.9g}")
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_rounded(item) for item in value]
    return value


def _hexagons(collection: dict) -> dict:
    """A feature collection by H3 cell (the geometry follows from the cell), floats rounded."""
    features = {}
    for feature in collection.get("features", []):
        properties = dict(feature["properties"])
        features[properties.pop("h3")] = _rounded(properties)
    rest = {key: _rounded(value) for key, value in collection.items() if key not in ("features", "type")}
    return {**rest, "features": dict(sorted(features.items()))}


def _csv_rows(response, key: str | None = None, leave_out: tuple[str, ...] = ()) -> dict | list:
    # Lines beginning "#" say what a panel pack's selection is, and when it was made.
    rows = list(csv.DictReader(line for line in io.StringIO(_page(response)) if not line.startswith("#")))
    for row in rows:
        for name in leave_out:
            row.pop(name, None)
    if key is not None:
        return {row.pop(key): row for row in sorted(rows, key=lambda r: r[key])}
    return sorted(rows, key=lambda row: tuple(row.values()))


def _placement_answer(body: dict | None) -> dict | None:
    """The check's answer with each flag's places in a stable order (ties in distance may come in
    either order) and the provider named rather than numbered."""
    if body is None:
        return None
    body = _rounded(body)
    for candidate in body.get("candidates", []):
        for flag in candidate.get("flags", []):
            flag["places"] = sorted(flag.get("places", []), key=lambda p: (p.get("miles"), p.get("label"), str(p)))
        candidate.pop("context_id", None)
    return body


def _context_answer(ask: Requester, context_id: int | None) -> dict | None:
    """The numbers of a context's page: linked young people (and who), episodes near it, the
    case, the notes and the history."""
    if context_id is None:
        return None
    found = {}
    for within in ("250", "1000"):
        page = html.unescape(_page(ask("GET", f"/contexts/{context_id}?within={within}&period=all", {200})))
        near = re.search(r"(\d[\d,]*) episodes of (\d[\d,]*) young people", page)
        found[f"near within {within} m"] = list(near.groups()) if near else None
    found["linked"] = _linked(page)
    found["linked references"] = sorted(row[0] for row in table_rows(page, "linked") if row[0].startswith("YP-"))
    found["case"] = [" ".join(state.split()) for state in re.findall(r'data-testid="case-state">([^<]*)', page)]
    found["notes"] = re.findall(r"Agencies' notes \((\d+)\)", page)
    found["history rows"] = len(table_rows(page, "history"))
    return found


def _person_answer(ask: Requester, person_id: int | None) -> dict | None:
    if person_id is None:
        return None
    page = _page(ask("GET", f"/young-people/{person_id}?period=all", {200}))
    return {testid: len(table_rows(page, testid))
            for testid in ("person-contexts", "meetings", "peers", "person-episodes", "person-placements")}


def answers(client_factory: Callable[[], FlaskClient], ids: Ids, password: str,
            contexts: Iterable[str] = ()) -> tuple[dict, list[Failure]]:
    """JSON-able answers that two engines holding the same data must give alike, and the
    requests that failed on the way. ``contexts`` names further contexts whose pages to read
    (found in the register by name, so their ids may differ)."""
    failures: list[Failure] = []
    panel = sign_in(client_factory, "panel", password, failures)
    police = sign_in(client_factory, "police", password, failures)
    commissioner = sign_in(client_factory, "commissioner", password, failures)
    found: dict = {}

    for resolution in (7, 8, 9):
        for query in HEX_QUERIES:
            path = f"/api/v1/hexes?res={resolution}" + (f"&{query}" if query else "")
            response = panel("GET", path, {200})
            found[path] = _hexagons(response.get_json()) if response is not None else None
    for query in SHARED_QUERIES:
        path = f"/api/v1/shared/hexes?{query}"
        response = police("GET", path, {200})
        found[path] = _hexagons(response.get_json()) if response is not None else None
    response = commissioner("GET", "/placements/report.csv", {200})
    found["/placements/report.csv"] = _csv_rows(response) if response is not None else None
    response = panel("GET", "/export/hotspots.csv?period=all", {200})
    # Keyed by cell, without what may come in either order on the same data (UNSTABLE).
    found["/export/hotspots.csv"] = _csv_rows(response, key="h3", leave_out=tuple(UNSTABLE)) if response else None
    response = panel("GET", "/reports/contexts.csv", {200})
    found["/reports/contexts.csv"] = _csv_rows(response) if response is not None else None
    for path in (f"/api/v1/locations?q={HOME_POSTCODE}", f"/api/v1/distance?from={HOME_POSTCODE}&to={FAR_AWAY}"):
        response = panel("GET", path, {200})
        found[path] = _rounded(response.get_json()) if response is not None else None
    response = commissioner("POST", "/api/v1/placement-checks", {200}, "check placements", json={
        "young_person": FEATURED, "candidates": [{"location": FAR_AWAY}, {"location": NEXT_DOOR},
                                                 {"context_id": ids.provider}]})
    found["POST /api/v1/placement-checks"] = _placement_answer(response.get_json() if response is not None else None)
    found["context: the demo park"] = _context_answer(panel, ids.context)
    found[f"context: {SCHOOL}"] = _context_answer(panel, ids.school_context)
    for name in contexts:
        found[f"context: {name}"] = _context_answer(panel, register(panel, q=name, status="any").get(name))
    found[f"young person: {FEATURED}"] = _person_answer(panel, ids.person)
    for requester in (panel, police, commissioner):
        requester("POST", "/logout", {302})
    return found, failures


def differences(one, other, names: tuple[str, str] = ("one", "other"), at: str = "", most: int = 40) -> list[str]:
    """Where two answers differ, each by its path of keys, with both values (shortened)."""
    if isinstance(one, dict) and isinstance(other, dict):
        lines = []
        for key in sorted(one.keys() | other.keys(), key=str):
            lines += differences(one.get(key, "<missing>"), other.get(key, "<missing>"), names,
                                 f"{at} > {key}" if at else str(key), most)
            if len(lines) >= most:
                return lines[:most] + ["..."]
        return lines
    if isinstance(one, list) and isinstance(other, list) and len(one) == len(other):
        lines = []
        for number, (left, right) in enumerate(zip(one, other)):
            lines += differences(left, right, names, f"{at}[{number}]", most)
        return lines[:most]
    if one != other:
        return [f"{at}: {names[0]} {str(one)[:200]} != {names[1]} {str(other)[:200]}"]
    return []
