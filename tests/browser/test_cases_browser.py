"""Issue 5's walkthrough in a real browser: a panel member refers a demo takeaway that several
children are linked to, records an assessment and a plan with the police and the school, and adds
a note; the school's safeguarding lead finds it new in the school's items, without the children,
and adds a note of its own; the quarter's report counts the steps and both agencies' notes."""

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from models.reports import Period

pytestmark = [pytest.mark.browser, pytest.mark.long]

AGENCIES = ["Metropolitan Police, Central West BCU (demo)", "Ashgrove Academy (demo)"]


def record_step(page, step: str, held: date, review: date | None) -> None:
    page.get_by_role("link", name="Refer this context").or_(page.get_by_role("link", name="Record the next step")).click()
    page.get_by_label("Step").select_option(label=step)
    page.get_by_label("Date of the meeting or decision").fill(held.isoformat())
    page.get_by_label("Agencies involved").select_option(label=AGENCIES)
    page.get_by_label("Decision", exact=True).fill(f"{step}: disruption with the police and the school")
    page.get_by_label("Next review").fill(review.isoformat() if review else "")
    page.get_by_role("button", name="Save the record").click()
    expect(page.get_by_role("alert")).to_contain_text("recorded")


def test_refer_assess_plan_and_find_it_in_the_report(visit):
    today = date.today()
    page = visit.sign_in("panel")
    page.goto(f"{visit.base_url}/contexts/?kind=takeaway")
    page.locator("tbody a").first.click()
    expect(page.get_by_test_id("linked").locator("tbody tr")).not_to_have_count(0)
    record_step(page, "Referred", today - timedelta(days=2), today + timedelta(days=14))
    record_step(page, "Assessed", today - timedelta(days=1), today + timedelta(days=14))
    record_step(page, "Plan agreed", today, today + timedelta(days=60))
    expect(page.get_by_test_id("case-state")).to_contain_text("Plan agreed")
    expect(page.get_by_test_id("case-records")).to_contain_text("Ashgrove Academy (demo)")
    page.get_by_role("link", name="Add a note").click()
    page.get_by_label("Note", exact=True).fill("School to share attendance on Friday afternoons")
    page.get_by_role("button", name="Add the note").click()
    expect(page.get_by_test_id("notes")).to_contain_text("School to share attendance")

    context_id = re.search(r"/contexts/(\d+)", page.url)[1]
    references = page.get_by_test_id("linked").locator("tbody tr td:first-child").all_inner_texts()

    visit.sign_out()
    page = visit.sign_in("school")
    expect(page.get_by_test_id("items-link")).to_contain_text("new")
    page.get_by_test_id("items-link").click()
    item = page.get_by_test_id("items").locator(f'tr:has(a[href$="/inbox/{context_id}"])')
    expect(item).to_contain_text("New")
    expect(item).to_contain_text("Named as an agency")
    expect(item).to_contain_text("Plan agreed")
    item.get_by_role("link").click()
    expect(page.get_by_test_id("case-state")).to_contain_text("Plan agreed")
    expect(page.get_by_test_id("notes")).to_contain_text("School to share attendance")
    content = page.content()
    assert references and not [reference for reference in references if reference in content]
    page.get_by_label("Note", exact=True).fill("DSL: two Year 9 pupils seen collected from the gates by older boys")
    page.get_by_role("button", name="Add the note").click()
    expect(page.get_by_role("alert")).to_contain_text("Note added")
    expect(page.get_by_test_id("notes")).to_contain_text("Ashgrove Academy (demo)")

    visit.sign_out()
    page = visit.sign_in("panel")
    page.get_by_role("link", name="Contexts report").click()
    if Period.quarter_of(today - timedelta(days=2)) == Period.quarter_of(today):
        referrals = page.get_by_role("region", name="Level 2 referrals by context kind", exact=True)
        expect(referrals).to_contain_text("Takeaway")
    steps = page.get_by_role("region", name="Steps recorded in the quarter", exact=True)
    expect(steps.get_by_role("row", name="Plan agreed").locator("td.text-end").first).to_have_text(re.compile(r"^[1-9]\d*$"))
    notes = page.get_by_role("region", name="Agencies' notes on contexts, by agency")
    for agency in ("Ashgrove Academy (demo)", "Royal Borough of Kensington and Chelsea (demo)"):
        expect(notes.get_by_role("row", name=agency).locator("td.text-end").first).to_have_text(re.compile(r"^[1-9]\d*$"))
    assert visit.script_errors == [] and visit.outside_requests == []
