"""What a placement commissioner sees in a real browser: the featured child's check, the placements
report and an SSDA903 upload with a mistake in it."""

import pytest
from playwright.sync_api import expect

from models.collection_years import CollectionYear
from models.demo import FEATURED_REFERENCE
from models.times import london_today

pytestmark = [pytest.mark.browser, pytest.mark.long]

CANDIDATES = "Candidate placements, one a line"


def test_the_child_placed_far_away_and_three_candidates(visit):
    page = visit.sign_in("commissioner")
    page.get_by_label("Young person's reference").fill(FEATURED_REFERENCE.lower())
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(FEATURED_REFERENCE)
    page.get_by_role("link", name=f"Check placements for {FEATURED_REFERENCE}").click()
    expect(page.get_by_label("Young person (reference)")).to_have_value(FEATURED_REFERENCE)
    page.get_by_label(CANDIDATES).fill("LU1 1AA")
    providers = page.get_by_label("and placement providers")
    # The demo's children's homes nearest her grandmother's and furthest from it (Birmingham).
    providers.select_option(label=["Laurel House children's home (SW7 5RD)", "Linden House children's home (B42 2AG)"])
    page.get_by_role("button", name="Check").click()
    rows = page.get_by_test_id("candidates").locator("tbody tr")
    expect(rows).to_have_count(3)
    nearest = rows.filter(has_text="Laurel House")
    expect(nearest).to_contain_text("Within easy reach of the home postcode")
    expect(nearest).to_contain_text("Near contexts YP-PLACED is linked to")
    expect(nearest).to_contain_text("Near places YP-PLACED was last seen or found while missing")
    expect(rows.last).to_contain_text("Laurel House")  # the most flags: ranked last
    expect(rows.filter(has_text="LU1 1AA")).to_contain_text("none")
    assert visit.script_errors == [] and visit.outside_requests == []


def test_the_report_counts_placements_and_opens_a_check(visit):
    page = visit.sign_in("commissioner")
    page.get_by_role("link", name="Placements report").click()
    table = page.get_by_test_id("categories")
    expect(table.locator("tbody tr")).to_have_count(3)
    expect(table.locator("tbody th")).to_have_text(["20 miles or less", "Over 20 miles", "Not known or not recorded"])
    page.get_by_role("link", name="Near her missing episodes").click()
    featured = page.get_by_test_id("flagged").locator("tr", has_text=FEATURED_REFERENCE)
    expect(featured).to_contain_text("Near her missing episodes")
    featured.get_by_role("link", name="Open its check").click()
    expect(page.get_by_test_id("candidates")).to_contain_text("Near places YP-PLACED was last seen or found")
    assert visit.script_errors == []


def test_an_upload_with_a_mistake_is_refused_then_imported_valid_rows_only(visit, tmp_path):
    header = tmp_path / "header.csv"
    header.write_text("CHILD,SEX,DOB\nBROWSER1,F,01/02/2011\nBROWSER2,7,01/02/2011\n")
    page = visit.sign_in("commissioner")
    page.get_by_role("link", name="Import").click()
    page.get_by_label("Header table (required)").set_input_files(header)
    page.get_by_role("button", name="Check and import").click()
    expect(page.get_by_test_id("outcome")).to_contain_text("Nothing was imported")
    this_year = CollectionYear.containing(london_today()).name  # a Header alone is this year's return
    expect(page.get_by_test_id("problems")).to_contain_text(f"is not a sex code of {this_year}, whose codes are F, M and U")
    page.get_by_role("link", name="Import again, or see earlier imports").click()
    page.get_by_label("Header table (required)").set_input_files(header)
    page.get_by_label("If there are problems, import the rows that pass").check()
    page.get_by_role("button", name="Check and import").click()
    expect(page.get_by_test_id("outcome")).to_contain_text("The rows that passed were imported")
    expect(page.get_by_test_id("written")).to_contain_text("Young people")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download all 1 as CSV").click()
    assert "BROWSER2" in open(download.value.path()).read()
    assert visit.script_errors == []
