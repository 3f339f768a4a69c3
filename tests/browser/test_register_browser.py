"""A social worker keeps the context register in a real browser: records a takeaway twice, finds
the duplicate from the record, merges it, and deletes the record when it turns out to be wrong.
Everything it adds ends deleted, so the shared demo data the other tests read is as it was."""

from playwright.sync_api import expect


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
    expect(page.get_by_test_id("note-error")).to_contain_text("note: '' is required")
    page.get_by_label("Note").fill("Not a real takeaway: a test")
    page.get_by_role("button", name="Delete this context").click()
    page.get_by_label("Name, address or postcode").fill("Test Fried")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_test_id("context-count")).to_have_text("0 contexts.")
    assert visit.script_errors == [] and visit.outside_requests == []
