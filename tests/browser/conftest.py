"""A live server on loopback with the demo data, and Debian's chromium driven by Playwright."""

import os
import shutil
import threading
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright
from werkzeug.serving import make_server

from tests.conftest import DEMO_PASSWORD, as_app_role
from webapp import create_app

DESKTOP = {"width": 1400, "height": 900}
# axe-core from the npm package the set-up installs (package.json's devDependencies): run inside
# each page, never served by the app.
AXE_SCRIPT = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.0, 2.1 and 2.2, levels A and AA: what public-sector sites in the UK must meet.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def live_server(demo_database_url):
    url = demo_database_url
    # As in production: the app connects as its own role, under row-level security.
    app = create_app({"SECRET_KEY": "browser-test", "DATABASE_URL": url, "APP_DATABASE_URL": as_app_role(url),
                      "SIGN_IN_RATE_LIMIT": "1000 per minute"})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base_url = f"http://127.0.0.1:{server.server_port}"
    # A basemap that never loads (every tile is a 404), as on a network that blocks tile servers:
    # the map must stay usable without it.
    app.config["TILE_URL"] = base_url + "/no-tiles-here/{z}/{x}/{y}.png"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base_url
    server.shutdown()
    app.extensions["db_engine"].dispose()


@pytest.fixture(scope="session")
def browser():
    executable = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    if not executable:
        pytest.fail("Debian's chromium is not installed: ./scripts/test installs it")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Visit:
    """A page that records any request leaving this machine and any script error."""

    def __init__(self, browser, base_url: str, viewport: dict = DESKTOP):
        self.base_url = base_url
        self.context = browser.new_context(viewport=viewport)
        self.page = self.context.new_page()
        self.outside_requests: list[str] = []
        self.script_errors: list[str] = []
        self.page.route("**/*", self._only_local)
        self.page.on("pageerror", lambda error: self.script_errors.append(str(error)))
        # A script or style the Content Security Policy blocked is reported on the console only.
        self.page.on("console", lambda message: self.script_errors.append(message.text)
                     if message.type == "error" and "Content Security Policy" in message.text else None)

    def _only_local(self, route):
        url = route.request.url
        if url.startswith(self.base_url) or url.startswith("data:"):
            route.continue_()
        else:
            self.outside_requests.append(url)
            route.abort()

    def sign_in(self, username: str = "panel", password: str = DEMO_PASSWORD):
        self.page.goto(f"{self.base_url}/")
        self.page.get_by_label("Username").fill(username)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Sign in").click()
        return self.page

    def accessibility_violations(self) -> list[str]:
        """What axe-core finds against WCAG 2.2 A and AA in the page as it is now, one line per
        rule with the elements that break it."""
        # Evaluated through the browser's debugging protocol, which the page's CSP does not govern.
        self.page.evaluate(AXE_SCRIPT.read_text(encoding="utf-8"))
        violations = self.page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})"
                                        ".then(result => result.violations.map(v => v.id + ': ' + v.help + ' '"
                                        " + JSON.stringify(v.nodes.slice(0, 3).map(n => n.target))))", AXE_TAGS)
        return violations

    def sign_out(self) -> None:
        """Sign out and wait for the sign-in page: going elsewhere sooner could cancel the sign-out."""
        self.page.get_by_role("button", name="Sign out").click()
        expect(self.page.get_by_label("Username")).to_be_visible()


@pytest.fixture
def visit(browser, live_server):
    visit = Visit(browser, live_server)
    yield visit
    visit.context.close()


@pytest.fixture
def visit_at(browser, live_server):
    """Visits with a screen size of the test's choosing: ``visit_at({"width": 390, "height": 844})``."""
    visits = []

    def open_visit(viewport: dict) -> Visit:
        visits.append(Visit(browser, live_server, viewport))
        return visits[-1]

    yield open_visit
    for visit in visits:
        visit.context.close()
