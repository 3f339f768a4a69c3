"""Every page as the demo roles meet it on a phone (390×844) and a laptop (1366×900): no sideways
scrolling, the menu within reach, pinch zoom allowed, and nothing axe-core finds against WCAG 2.2
A and AA. Each role walks its menu's pages; the pages behind them are walked as a panel member
and as an administrator (DETAIL_WALKERS)."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Visit
from tests.walk import FEATURED, ROLES

pytestmark = [pytest.mark.browser, pytest.mark.long]

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 900}
# Pages no menu leads to, reached from a list or a search: (path or a way to find it, who sees it).
STAFF_PAGES = ("/contexts/new", "/contexts/reviews", "/placements/dfe", f"/young-people/?reference={FEATURED}",
               "/young-people/?reference=YP-NOBODY", "/contexts/?near=XX1+1XX",
               f"/placements/check?young_person={FEATURED}&candidates=SW5+0AB%0AME4+4TR&check=1")
# From a context's page, the pages of its workflow (each a link on it).
CONTEXT_LINKS = ("Edit", "Link a young person", "Refer this context", "Record the next step", "Add a note",
                 "Merge a duplicate into this", "Delete")


def menu_paths(visit: Visit) -> list[str]:
    """The paths the main menu links to, opening it first where it is folded away."""
    page = visit.page
    expect(page.locator("#main-menu")).to_be_attached()  # signed in, the first page loaded
    toggle = page.get_by_role("button", name="Menu")
    if toggle.is_visible():
        toggle.click()
        expect(page.locator("#main-menu.show")).to_be_visible()  # unfolded, not still unfolding
    links = page.locator("nav[aria-label=Main] a")
    expect(links.last).to_be_visible()  # within reach on every screen
    paths = [re.sub(r"^https?://[^/]+", "", href) for href in links.evaluate_all("links => links.map(a => a.href)")]
    assert len(paths) > 2, paths  # the brand and the menu's links
    return paths


def first_link_in(visit: Visit, path: str, table: str) -> str | None:
    visit.page.goto(visit.base_url + path)
    links = visit.page.get_by_test_id(table).locator("tbody a")
    return links.first.get_attribute("href") if links.count() else None


# The pages behind the menu show the same to every role that sees young people, but for an
# administrator's own buttons: those two roles walk them (each role walks its own menu's pages).
DETAIL_WALKERS = ("panel", "admin")


def pages_of(visit: Visit, role: str) -> list[str]:
    paths = menu_paths(visit)
    if "/contexts/" in paths and role in DETAIL_WALKERS:
        paths += STAFF_PAGES
        paths.append(first_link_in(visit, "/", "busiest"))  # a hexagon's page
        context = first_link_in(visit, "/contexts/?q=park", "contexts")
        paths.append(context)
        visit.page.goto(visit.base_url + context)
        for name in CONTEXT_LINKS:
            link = visit.page.get_by_role("link", name=name, exact=True)
            if link.count():
                paths.append(link.first.get_attribute("href"))
    elif "/contexts/" not in paths:
        item = first_link_in(visit, "/inbox/", "items")
        if item:
            paths.append(item)
    return list(dict.fromkeys(paths))


def page_problems(visit: Visit) -> list[str]:
    page = visit.page
    problems = []
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    if overflow > 0:
        problems.append(f"scrolls sideways by {overflow} px")
    viewports = page.evaluate("[...document.querySelectorAll('meta[name=viewport]')].map(m => m.content)")
    if len(viewports) != 1 or re.search(r"user-scalable\s*=\s*no|maximum-scale\s*=\s*1(\.0)?\b", viewports[0]):
        problems.append(f"viewport tags {viewports} stop pinch zoom")
    return problems + visit.accessibility_violations()


def every_page_fits_and_passes_axe(visit: Visit, role: str) -> None:
    visit.sign_in(role)
    found = {}
    for path in pages_of(visit, role):
        visit.page.goto(visit.base_url + path)
        visit.page.wait_for_load_state("load")
        problems = page_problems(visit)
        if problems:
            found[path] = problems
    assert found == {}, "\n".join(f"{path}: {problem}" for path, problems in found.items() for problem in problems)
    assert visit.script_errors == [] and visit.outside_requests == []


# One class per screen: the test workers take a class each (pytest-xdist's loadscope).
@pytest.mark.parametrize("role", ROLES)
class TestEveryPageOnAPhone:
    def test_fits_the_screen_and_passes_axe(self, visit_at, role):
        every_page_fits_and_passes_axe(visit_at(PHONE), role)


@pytest.mark.parametrize("role", ROLES)
class TestEveryPageOnALaptop:
    def test_fits_the_screen_and_passes_axe(self, visit_at, role):
        every_page_fits_and_passes_axe(visit_at(LAPTOP), role)


def test_on_a_phone_the_menu_folds_behind_a_button(visit_at):
    visit = visit_at(PHONE)
    page = visit.sign_in("panel")
    shared = page.get_by_role("navigation", name="Main").get_by_role("link", name="Shared map")
    expect(shared).to_be_hidden()
    page.get_by_role("button", name="Menu").click()
    expect(shared).to_be_visible()
    shared.click()
    expect(page).to_have_url(re.compile(r"/shared/$"))



def test_the_exported_map_can_be_zoomed_and_passes_axe(visit_at):
    visit = visit_at(PHONE)
    page = visit.sign_in("panel")
    exported = page.request.get(visit.base_url + "/export/hotspots.html")
    assert exported.ok
    page.set_content(exported.text())
    problems = page_problems(visit)
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("path", ["/", "/shared/", f"/placements/check?young_person={FEATURED}&candidates=SW5+0AB&check=1"])
def test_the_map_pages_fit_the_narrowest_phone(visit_at, path):
    visit = visit_at({"width": 360, "height": 740})
    visit.sign_in("panel")
    visit.page.goto(visit.base_url + path)
    visit.page.wait_for_load_state("load")
    problems = page_problems(visit)
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("screen", [PHONE, LAPTOP], ids=["phone", "laptop"])
def test_the_sign_in_page_fits_and_passes_axe(visit_at, screen):
    visit = visit_at(screen)
    visit.page.goto(visit.base_url + "/login")
    problems = page_problems(visit)
    assert problems == [], "\n".join(problems)
