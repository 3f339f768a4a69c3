"""The quarter's contextual safeguarding report: it counts what was recorded, only in its quarter,
and says nothing that names a child."""

import csv
import io
from datetime import date

import pytest
from sqlalchemy import select

from models.codes import LinkRole, Reliability
from models.reports import Period
from models.safeguarding import ContextLink, YoungPerson


@pytest.fixture
def takeaway(signed_in, session, organisations, users):
    """A takeaway two girls were harmed at in October 2026, referred and assessed in that quarter."""
    context = signed_in.post("/api/v1/contexts", json={"name": "Chicken Palace", "kind": "takeaway",
                                                       "location": "SW5 0AA"}).get_json()["id"]
    authority = organisations["local_authority"]
    for n, codes in enumerate((["11A"], ["11A", "24A"])):
        person = YoungPerson(reference=f"YP-REPORT{n}", birth_month=date(2010, 1, 1), sex=2,
                             responsible_authority_code="E09000020", organisation_id=authority.id)
        session.add(person)
        session.flush()
        session.add(ContextLink(young_person_id=person.id, context_id=context, role=LinkRole.HARMED_THERE,
                                concern_codes=codes, first_seen_on=date(2026, 10, 5), recorded_by_id=authority.id,
                                reliability=Reliability.CORROBORATED))
    session.commit()
    for stage, held, review in (("referral", "2026-10-06", "2026-10-20"), ("assessment", "2026-10-19", "2026-11-19")):
        response = signed_in.post(f"/contexts/{context}/case", data={
            "stage": stage, "held_on": held, "owner": str(users["panel_member"].id), "decision": stage,
            "agencies": [str(organisations["police"].id), str(organisations["school"].id)], "next_review": review})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return context


def rows(signed_in, quarter: str) -> dict[tuple[str, str], dict[str, str]]:
    """{(table, row): {measure: value}} from the CSV, one number per line."""
    response = signed_in.get(f"/reports/contexts.csv?quarter={quarter}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    counted = {}
    for row in csv.DictReader(io.StringIO(response.get_data(as_text=True))):
        assert row["quarter"] == quarter
        counted.setdefault((row["table"], row["row"]), {})[row["measure"]] = row["value"]
    return counted


def test_the_quarter_counts_the_referral_the_steps_and_the_harm(signed_in, takeaway):
    counted = rows(signed_in, "2026-Q4")
    assert counted["Level 2 referrals by context kind", "Takeaway"] == {"referrals": "1"}
    assert counted["Steps recorded in the quarter", "Assessed"] == {"records": "1"}
    assert counted["Cases open at the end of the quarter, by step reached", "Assessed"] == {"cases": "1"}
    assert counted["Sources of harm by context kind", "Takeaway"] == {"links": "2", "young people": "2", "contexts": "1"}
    assert counted["Sources of harm by concern code", "11A: Child sexual exploitation"] == {"links": "2", "young people": "2"}


def test_another_quarter_counts_none_of_it(signed_in, takeaway):
    counted = rows(signed_in, "2026-Q3")
    assert ("Level 2 referrals by context kind", "Takeaway") not in counted
    assert counted["Cases open at the end of the quarter, by step reached", "Referred"] == {"cases": "0"}


def test_the_page_names_no_child(signed_in, takeaway):
    html = signed_in.get("/reports/contexts?quarter=2026-Q4").get_data(as_text=True)
    assert "Chicken Palace" not in html and "YP-REPORT" not in html and "Takeaway" in html


@pytest.mark.parametrize("quarter", ["2026-Q5", "Q4", "1999-Q1", "2026Q4"])
def test_a_bad_quarter_is_a_400_naming_it(signed_in, quarter):
    response = signed_in.get(f"/reports/contexts?quarter={quarter}")
    assert response.status_code == 400 and "quarter: " in response.get_data(as_text=True)


def test_the_quarter_counts_a_conference_recorded_on_a_childs_page(signed_in, session, takeaway):
    person = session.scalar(select(YoungPerson).where(YoungPerson.reference == "YP-REPORT0"))
    page = signed_in.get(f"/young-people/{person.id}/meetings").get_data(as_text=True)
    assert "Chicken Palace" in page  # her context, offered as a source
    bad = signed_in.post(f"/young-people/{person.id}/meetings", data={
        "kind": "initial_conference", "held_on": "2026-10-20", "extra_familial_harm": "", "sources": [str(takeaway)]})
    assert bad.status_code == 400 and "Choose yes or no: was extra-familial harm a factor?" in bad.get_data(as_text=True)
    assert signed_in.post(f"/young-people/{person.id}/meetings", data={
        "kind": "initial_conference", "held_on": "2026-10-20", "extra_familial_harm": "yes",
        "sources": [str(takeaway)], "concerns": ["11A"]}).status_code == 302
    assert "a factor" in signed_in.get(f"/young-people/{person.id}").get_data(as_text=True)
    counted = rows(signed_in, "2026-Q4")
    assert counted["Children's assessments and conferences", "Initial child protection conference"] == {
        "held": "1", "extra-familial harm a factor": "1"}
    assert counted["Contexts they named as sources of harm, by kind", "Takeaway"] == {"times named": "1", "contexts": "1"}


def test_the_quarter_counts_each_agencys_notes(signed_in, takeaway, session, organisations):
    """Notes written in the quarter on the authority's contexts, by the agency that wrote them."""
    for text in ("Police patrols at closing time", "Licensing visit booked"):
        assert signed_in.post(f"/contexts/{takeaway}/notes", data={"text": text}).status_code == 302
    counted = rows(signed_in, Period.quarter_of(date.today()))
    assert counted["Agencies' notes on contexts, by agency", "Test local_authority"] == {"notes": "2", "contexts": "1"}
    html = signed_in.get("/reports/contexts").get_data(as_text=True)
    assert "Agencies&#39; notes on contexts, by agency" in html and "Test local_authority" in html
