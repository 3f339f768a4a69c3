"""What a panel member sees in a real browser: the signed-in dashboard with hexagons."""

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.long]

HEXAGONS = "path.hexagon"


def settled(page):
    """Wait until the live map has drawn what the settings ask for (with "By zoom" it may fetch
    a better resolution as soon as it opens)."""
    page.wait_for_load_state("load")
    expect(page.locator("#map-settings")).not_to_have_attribute("aria-busy", "true")


def hexagon_count(page) -> int:
    settled(page)
    expect(page.locator(HEXAGONS).first).to_be_attached()  # hexagons out of view are not drawn
    return page.locator(HEXAGONS).count()


def test_sign_in_and_see_hexagons(visit):
    tile_requests = []
    visit.page.on("requestfinished", lambda r: "/no-tiles-here/" in r.url and tile_requests.append(r.url))
    page = visit.sign_in()
    expect(page.get_by_role("heading", name="Hotspots")).to_be_visible()
    assert hexagon_count(page) > 20
    rows = page.get_by_test_id("busiest").locator("tbody tr")
    assert rows.count() == 15
    first_row_episodes = int(rows.first.locator("td").nth(2).inner_text())
    assert first_row_episodes > 5
    expect(page.locator(".leaflet-marker-icon").first).to_be_visible()  # contexts (clusters or markers)
    assert page.get_by_test_id("when").locator("tbody tr").count() == 7
    # The last 12 months are this month so far and the 11 before it; the demo ends at this month's start.
    assert page.get_by_test_id("months").locator("tbody tr").count() == 11
    expect(page.get_by_test_id("trend")).to_contain_text("the three months before")
    assert visit.outside_requests == []
    assert visit.script_errors == []
    assert tile_requests, "the basemap was never asked for, so this test proves nothing about failing tiles"


def hover_a_hexagon(page):
    """Hover hexagons until one shows its tooltip: a marker, a cluster or the layer menu may sit
    on a hexagon's centre."""
    for index in range(min(12, page.locator(HEXAGONS).count())):
        page.locator(HEXAGONS).nth(index).hover(force=True)
        if page.locator(".leaflet-tooltip").count():
            return
    raise AssertionError("no hexagon showed a tooltip")


def test_hexagon_tooltip_gives_the_counts(visit):
    page = visit.sign_in()
    settled(page)
    hover_a_hexagon(page)
    tooltip = page.locator(".leaflet-tooltip")
    expect(tooltip).to_contain_text("Missing episodes")
    expect(tooltip).to_contain_text("Young people")


def test_changing_resolution_redraws_map_and_table(visit):
    page = visit.sign_in()
    fine = hexagon_count(page)
    first_cell_fine = page.get_by_test_id("busiest").locator("tbody tr td code").first.inner_text()
    page.get_by_label("Hexagon size (H3 resolution)").select_option("7")
    page.get_by_role("button", name="Update map").click()
    expect(page).to_have_url(re.compile(r"[?&]res=7(&|$)"))
    coarse = hexagon_count(page)
    assert coarse < fine
    first_cell_coarse = page.get_by_test_id("busiest").locator("tbody tr td code").first.inner_text()
    assert first_cell_coarse != first_cell_fine
    assert first_cell_coarse.startswith("87")  # resolution 7 cells start with 87


def busiest_episodes(page) -> list[int]:
    settled(page)
    cells = page.get_by_test_id("busiest").locator("tbody tr td:nth-child(3)")
    expect(cells.first).to_be_visible()
    return [int(text) for text in cells.all_inner_texts()]


def test_a_filter_changes_map_and_table_and_stays_chosen(visit):
    page = visit.sign_in()
    everything = busiest_episodes(page)
    hexagons = hexagon_count(page)
    page.get_by_label("Time of day").select_option("06-18")
    page.get_by_label("Sex").select_option("female")
    page.get_by_role("button", name="Update map").click()
    expect(page).to_have_url(re.compile(r"sex=female.*hours=06-18"))
    daytime_girls = busiest_episodes(page)
    assert sum(daytime_girls) < sum(everything)
    assert hexagon_count(page) < hexagons
    expect(page.get_by_label("Time of day")).to_have_value("06-18")
    expect(page.get_by_label("Sex")).to_have_value("female")


def leaflet_map(page, script: str):
    """Run ``script`` with ``map`` bound to the dashboard's Leaflet map."""
    return page.evaluate(f"() => {{ const map = window[document.getElementById('hex-map').dataset.map]; {script} }}")


def wait_for_update(page):
    settled(page)
    expect(page.locator("#map-status")).to_contain_text("Map updated")


def test_a_filter_updates_map_and_table_in_place_keeping_the_view(visit):
    page = visit.sign_in()
    everything = busiest_episodes(page)
    hexagons = hexagon_count(page)
    leaflet_map(page, "map.setView([51.49, -0.18], 15, {animate: false});")
    page.evaluate("() => { window.stillTheSamePage = true; }")
    view = leaflet_map(page, "return [map.getCenter().lat, map.getCenter().lng, map.getZoom()];")
    page.get_by_label("Hexagon size (H3 resolution)").select_option("8")
    wait_for_update(page)
    page.get_by_label("Time of day").select_option("22-06")
    expect(page).to_have_url(re.compile(r"hours=22-06"))
    expect(page.locator("#map-status")).to_contain_text("resolution 8")
    assert page.evaluate("() => window.stillTheSamePage") is True  # no page load
    assert leaflet_map(page, "return [map.getCenter().lat, map.getCenter().lng, map.getZoom()];") == view
    night = busiest_episodes(page)
    assert sum(night) < sum(everything)
    assert hexagon_count(page) < hexagons
    assert page.locator("#exports-part a").first.get_attribute("href").count("hours=22-06") == 1
    assert visit.script_errors == []


def test_resolution_follows_the_zoom(visit):
    page = visit.sign_in()
    settled(page)
    expect(page.get_by_label("Hexagon size (H3 resolution)")).to_have_value("auto")
    leaflet_map(page, "map.setZoom(12, {animate: false});")
    expect(page.locator("#map-status")).to_contain_text("resolution 7")
    expect(page.get_by_test_id("busiest").locator("tbody tr td code").first).to_have_text(re.compile("^87"))
    coarse = hexagon_count(page)
    leaflet_map(page, "map.setZoom(15, {animate: false});")
    expect(page.locator("#map-status")).to_contain_text("resolution 10")
    expect(page.get_by_test_id("busiest").locator("tbody tr td code").first).to_have_text(re.compile("^8a"))
    assert hexagon_count(page) > coarse
    expect(page.get_by_label("Hexagon size (H3 resolution)").locator("option").first).to_have_text("By zoom (now 10)")


def test_layer_of_young_people_linked_to_contexts(visit):
    page = visit.sign_in()
    settled(page)
    page.get_by_label("Hexagons count").select_option("young_people")
    wait_for_update(page)
    table = page.get_by_test_id("busiest")
    expect(table.locator("thead")).to_contain_text("Young people linked")
    linked = [int(text) for text in table.locator("tbody tr td:nth-child(4)").all_inner_texts()]
    assert linked == sorted(linked, reverse=True) and linked[0] > 1
    expect(page.get_by_test_id("summary")).to_contain_text("young people in")
    hover_a_hexagon(page)
    expect(page.locator(".leaflet-tooltip")).to_contain_text("Contexts")


def test_bad_location_is_explained_beside_the_field(visit):
    page = visit.sign_in()
    page.goto(f"{visit.base_url}/contexts/new")
    page.get_by_label("Name").fill("Browser-test Takeaway")
    page.get_by_label("Kind").select_option("takeaway")
    page.get_by_label("Location").fill("XX1 1XX")
    page.get_by_role("button", name="Save context").click()
    expect(page.get_by_test_id("location-error")).to_contain_text("Location “XX1 1XX” is not in the ONS Postcode Directory")
    expect(page.get_by_label("Location")).to_have_value("XX1 1XX")
    expect(page.get_by_label("Name")).to_have_value("Browser-test Takeaway")
    page.get_by_label("Location").fill("sw5 9qj")
    page.get_by_role("button", name="Save context").click()
    expect(page.get_by_role("cell", name="Browser-test Takeaway")).to_be_visible()
    expect(page.get_by_role("cell", name="SW5 9QJ")).to_be_visible()


def test_exported_map_opens_from_a_file_with_no_network(visit, browser, tmp_path):
    page = visit.sign_in()
    expect(page.get_by_role("link", name="map that opens without this server (HTML)")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="map that opens without this server (HTML)").click()
    path = tmp_path / "hotspots.html"
    download.value.save_as(path)

    offline = browser.new_context()
    requests = []
    offline.route("**/*", lambda route: (requests.append(route.request.url), route.abort())
                  if not route.request.url.startswith("file:") else route.continue_())
    errors = []
    opened = offline.new_page()
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.goto(path.as_uri())
    expect(opened.locator(HEXAGONS).first).to_be_visible()
    assert opened.locator(HEXAGONS).count() > 20
    assert requests == [] and errors == []
    offline.close()


def test_from_a_context_to_a_young_person_and_their_peers(visit):
    page = visit.sign_in()
    page.goto(f"{visit.base_url}/contexts/")
    page.get_by_label("Kind").select_option(label="Takeaway")
    page.get_by_role("button", name="Search").click()
    # A demo takeaway (the seeded demo links young people to each), not one another test added.
    takeaways = page.locator("tbody").get_by_role("link")
    takeaways.filter(has_not_text=re.compile("Browser-test|Test Fried")).first.click()
    linked = page.get_by_test_id("linked").locator("tbody tr td a").first
    reference = linked.inner_text()
    linked.click()
    expect(page.get_by_role("heading", name=reference, exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile(r"^Peers \(\d+\)$"))).to_be_visible()
    expect(page.get_by_test_id("person-contexts").locator("tbody tr").first).to_be_visible()
    assert visit.script_errors == []


def test_a_commissioner_checks_candidate_placements(visit):
    page = visit.sign_in("commissioner")
    page.get_by_role("link", name="Placement check").click()
    page.get_by_label("or home postcode").fill("SW5 0AA")
    page.get_by_label("Candidate placements, one a line").fill("TN1 1AA\nnowhere")
    page.get_by_role("button", name="Check").click()
    expect(page.get_by_test_id("candidates-error")).to_contain_text("'nowhere' is not a UK postcode")
    expect(page.get_by_label("Candidate placements, one a line")).to_have_value("TN1 1AA\nnowhere")
    page.get_by_label("Candidate placements, one a line").fill("TN1 1AA\nSW5 0AB")
    page.get_by_label("and placement providers").select_option(index=0)
    page.get_by_role("button", name="Check").click()
    rows = page.get_by_test_id("candidates").locator("tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("TN1 1AA")
    expect(rows.last).to_contain_text("Within easy reach of the home postcode SW5 0AA")
    expect(page.get_by_test_id("placement-map").locator(".fa-bed")).to_have_count(3)  # the candidates
    expect(page.get_by_test_id("placement-map").locator(".fa-house")).to_have_count(1)
    assert visit.script_errors == [] and visit.outside_requests == []


def press_tab_until(page, selector: str, limit: int = 120) -> list[str]:
    """Tab until the focus is on ``selector``; what was focused on the way (tag and classes)."""
    passed = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return passed
        passed.append(page.evaluate("() => { const e = document.activeElement; return e.tagName + '.' + "
                                    "(typeof e.className === 'string' ? e.className : '') + "
                                    "(e.closest('.leaflet-container') ? ' (in the map)' : ''); }"))
    raise AssertionError(f"{selector} never took the focus; passed {passed[-10:]}")


def test_the_keyboard_alone_reaches_everything_a_panel_needs(visit):
    page = visit.page
    page.goto(visit.base_url + "/")
    page.get_by_label("Username").focus()
    page.keyboard.type("panel")
    page.keyboard.press("Tab")
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Hotspots")).to_be_visible()
    settled(page)
    # Change a filter: focus the "Sex" menu from the keyboard and choose with the arrows.
    press_tab_until(page, "#sex")
    page.keyboard.press("ArrowDown")
    expect(page.locator("#sex")).to_have_value("female")
    settled(page)
    expect(page).to_have_url(re.compile(r"sex=female"))
    # The skip link passes the map: no marker, cluster or hexagon on the way to the table.
    passed = press_tab_until(page, "a[href='#after-map']")
    page.keyboard.press("Enter")
    passed = press_tab_until(page, "[data-testid=hexagon-link]")
    assert not [name for name in passed if "(in the map)" in name], passed
    assert len(passed) < 25, passed
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hexagon near")
    expect(page).to_have_url(re.compile(r"/hexagons/[0-9a-f]{15}\?.*sex=female"))
    page.go_back()
    settled(page)
    press_tab_until(page, "a[href*='/export/hotspots.html']")
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    assert re.fullmatch(r"hotspots-.+-12-months-res\d+-\d{4}-\d\d-\d\d\.html", download.value.suggested_filename)


def test_counts_are_written_on_the_hexagons_not_only_in_tooltips(visit):
    page = visit.sign_in()
    settled(page)
    labels = page.locator(".hex-count span")
    expect(labels.first).to_be_visible()
    counts = [int(text) for text in labels.all_inner_texts()]
    busiest = int(page.get_by_test_id("busiest").locator("tbody tr").first.locator("td").nth(2).inner_text())
    assert busiest in counts and max(counts) <= busiest
    page.get_by_role("checkbox", name="Hexagons").uncheck()
    expect(labels).to_have_count(0)


def test_a_busiest_row_shows_its_hexagon_on_the_map(visit):
    page = visit.sign_in()
    settled(page)
    row = page.get_by_test_id("busiest").locator("tbody tr").nth(4)
    row.get_by_role("button", name=re.compile("Show on the map")).click()
    outlined = page.locator("path.hexagon[stroke-width='4']")
    expect(outlined).to_have_count(1)
    # Both boxes at the same instant: the page may still be scrolling the map into view.
    off, size = page.evaluate("""() => {
        const frame = document.querySelector('[data-testid=map]').getBoundingClientRect();
        const hexagon = document.querySelector("path.hexagon[stroke-width='4']").getBoundingClientRect();
        return [[hexagon.x + hexagon.width / 2 - (frame.x + frame.width / 2),
                 hexagon.y + hexagon.height / 2 - (frame.y + frame.height / 2)], [frame.width, frame.height]];
    }""")
    assert abs(off[0]) < 0.1 * size[0] and abs(off[1]) < 0.1 * size[1], (off, size)  # centred on the map
    expect(page.locator("#map-status")).to_contain_text("The map shows the hexagon near")
