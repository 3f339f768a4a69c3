"""A social worker keeps the context register in a real browser: records a takeaway twice, finds
the duplicate from the record, merges it, and deletes the record when it turns out to be wrong.
Everything it adds ends deleted, so the shared demo data the other tests read is as it was."""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.long]


def add_context(page, name: str, location: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Contexts", exact=True).click()
    page.get_by_role("link", name="Add a context").click()
    page.get_by_label("Name").fill(name)
    page.get_by_label("Kind").select_option(label="Takeaway")
    page.get_by_label("Location").fill(location)
    page.get_by_role("button", name="Save context").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)


def test_recording_merging_and_deleting_a_context(visit):
    page = visit.sign_in("social.worker")
    add_context(page, "Test Fried Chicken (first)", "SW5 0AA")
    add_context(page, "Test Fried Chicken", "51.4848, -0.1837")
    page.get_by_role("link", name="Merge a duplicate into this").click()
    candidate = page.get_by_test_id("merge-candidates").locator("li").filter(has_text="Test Fried Chicken (first)")
    candidate.get_by_role("button", name="Compare with this").click()
    expect(page.get_by_test_id("merge-compare")).to_contain_text("Test Fried Chicken (first)")
    page.get_by_label("Note (optional)").fill("Recorded twice by the same team")
    page.get_by_role("button", name="Merge").click()
    expect(page.get_by_role("alert")).to_contain_text("merged into this record")
    expect(page.get_by_test_id("history")).to_contain_text("Duplicate merged in")

    page.get_by_role("link", name="Delete").click()
    page.get_by_role("button", name="Delete this context").click()
    expect(page.get_by_test_id("note-error")).to_contain_text("Say why it is deleted")
    page.get_by_label("Note").fill("Not a real takeaway: a test")
    page.get_by_role("button", name="Delete this context").click()
    page.get_by_label("Name, address or postcode").fill("Test Fried")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_test_id("context-count")).to_have_text("0 contexts.")
    assert visit.script_errors == [] and visit.outside_requests == []


def draw_polygon(page, corners) -> None:
    """Outline an area with Geoman's polygon tool, clicking the first corner again to finish.
    The corners are offsets from the map's centre, right of the toolbar's actions."""
    page.get_by_test_id("area-map").locator(".leaflet-pm-icon-polygon").click()
    box = page.get_by_test_id("area-map").bounding_box()
    centre_x, centre_y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    for dx, dy in (*corners, corners[0]):
        page.mouse.move(centre_x + dx, centre_y + dy, steps=3)
        page.mouse.click(centre_x + dx, centre_y + dy)


def test_drawing_an_estate_on_the_map_and_redrawing_it(visit):
    page = visit.sign_in("social.worker")
    page.goto(f"{visit.base_url}/contexts/new")
    page.get_by_label("Name").fill("Test Court Estate")
    page.get_by_label("Kind").select_option(label="Housing estate")
    page.get_by_label("Location").fill("SW5 0AA")
    page.get_by_test_id("area-map").get_by_role("button", name="Zoom in").click()
    page.get_by_test_id("area-map").get_by_role("button", name="Zoom in").click()
    draw_polygon(page, [(40, -60), (200, -50), (180, 90), (60, 100)])
    expect(page.locator("#area-status")).to_contain_text("replaces the typed location")
    expect(page.get_by_label("Location")).to_have_value("")
    page.get_by_role("button", name="Save context").click()
    expect(page.get_by_role("alert")).to_contain_text("added")
    expect(page.get_by_test_id("history")).to_contain_text("an area of")
    expect(page.get_by_test_id("context-map").locator("path.leaflet-interactive").first).to_be_visible()

    page.get_by_role("link", name="Edit").click()
    expect(page.get_by_test_id("area-map").locator("path.leaflet-interactive")).to_have_count(1)  # the stored area
    draw_polygon(page, [(60, -40), (160, -40), (160, 40), (60, 40)])  # a new one replaces it
    expect(page.get_by_test_id("area-map").locator("path.leaflet-interactive")).to_have_count(1)
    page.get_by_role("button", name="Save context").click()
    expect(page.get_by_role("alert")).to_contain_text("Saved: location")
    history = page.get_by_test_id("history").locator("tbody tr").first
    expect(history).to_contain_text("an area of")
    expect(history).to_contain_text("→")

    page.get_by_role("link", name="Delete").click()  # leave the shared demo data as it was
    page.get_by_label("Note").fill("Drawn by a test")
    page.get_by_role("button", name="Delete this context").click()
    assert visit.script_errors == [] and visit.outside_requests == []


def test_a_refused_form_takes_the_focus_to_its_problems_and_each_leads_to_its_field(visit):
    page = visit.sign_in("social.worker")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Contexts", exact=True).click()
    page.get_by_role("link", name="Add a context").click()
    page.get_by_label("Kind").select_option(label="Takeaway")
    page.get_by_role("button", name="Save context").click()
    summary = page.get_by_test_id("error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Enter a name")
    summary.get_by_role("link", name="Enter a postcode").click()
    expect(page.get_by_label("Location")).to_be_focused()
    expect(page.get_by_label("Name")).to_have_attribute("aria-invalid", "true")
