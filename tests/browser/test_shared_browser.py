"""A police partner on the demo data: a useful hotspot map, and no way to reach a single child."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

HEXAGONS = "path.hexagon"


def test_police_partner_sees_the_shared_map_and_nothing_individual(visit):
    page = visit.sign_in("police")
    expect(page).to_have_url(re.compile(r"/shared/$"))
    expect(page.get_by_role("heading", name="Shared map")).to_be_visible()
    expect(page.locator(HEXAGONS).first).to_be_attached()
    assert page.locator(HEXAGONS).count() >= 10
    table = page.get_by_test_id("shared-table")
    expect(table.locator("tbody tr").first).to_contain_text("about")
    expect(page.get_by_test_id("kinds-table")).to_contain_text("Takeaway")
    # The menu offers nothing about individual children, and no page names one.
    nav = page.get_by_role("navigation", name="Main")
    for name in ("Hotspots", "Contexts", "Placement check", "Placements report", "Import"):
        expect(nav.get_by_role("link", name=name, exact=True)).to_have_count(0)
    expect(page.get_by_label("Young person's reference")).to_have_count(0)
    assert "YP-" not in page.content()

    page.get_by_label("Hexagon size (H3 resolution)").select_option("10")
    page.get_by_label("Sex").select_option("female")
    page.get_by_role("button", name="Update map").click()
    expect(page).to_have_url(re.compile(r"res=10.*sex=female|sex=female.*res=10"))
    assert "YP-" not in page.content()
    drawn = page.locator(f"{HEXAGONS}:not([d='M0 0'])")
    expect(drawn.first).to_be_attached()
    drawn.first.dispatch_event("mouseover")
    expect(page.locator(".leaflet-tooltip")).to_contain_text(re.compile(r"About \d+ young people"))

    for path in ("/api/v1/hexes", "/contexts/", "/young-people/?reference=YP-PLACED", "/placements/report", "/"):
        response = page.goto(visit.base_url + path)
        assert response.status == 403, path
        assert "YP-" not in page.content()
    expect(page.get_by_role("link", name="Go to the shared map")).to_be_visible()
    assert visit.outside_requests == [] and visit.script_errors == []


def test_a_narrow_selection_is_explained_beside_the_settings_and_widening_it_draws_the_map(visit):
    page = visit.sign_in("police")
    page.goto(visit.base_url + "/shared/?age=14-14&res=8")
    expect(page.get_by_role("alert")).to_contain_text("age bands of 3 years or more")
    expect(page.get_by_test_id("shared-map")).to_have_count(0)
    expect(page.get_by_label("Hexagon size (H3 resolution)")).to_have_value("8")
    page.goto(visit.base_url + "/shared/?age=12-14&res=8")
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(page.locator(HEXAGONS).first).to_be_attached()


def test_the_map_opens_fitted_to_its_hexagons(visit):
    page = visit.sign_in("police")
    expect(page.locator(HEXAGONS).first).to_be_attached()
    frame = page.get_by_test_id("shared-map").bounding_box()
    # The hexagons of the chosen size (not the larger areas pooled from the rest, which may lie far
    # apart) fill the map one way or the other: not a smudge in the middle of a grey box.
    spread = page.evaluate("""() => {
        const boxes = [...document.querySelectorAll('path.hexagon:not(.pooled)')].map(p => p.getBoundingClientRect());
        return [Math.max(...boxes.map(b => b.right)) - Math.min(...boxes.map(b => b.left)),
                Math.max(...boxes.map(b => b.bottom)) - Math.min(...boxes.map(b => b.top))];
    }""")
    assert spread[0] >= 0.6 * frame["width"] or spread[1] >= 0.6 * frame["height"], (spread, frame)
    assert spread[0] <= 1.05 * frame["width"] and spread[1] <= 1.05 * frame["height"], (spread, frame)  # all in view
