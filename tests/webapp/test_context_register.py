"""The register's pages as a practitioner uses them: search, edit (and an edit on a stale page),
close and reopen, delete and restore, merge."""

import re
from datetime import date

import pytest
from sqlalchemy import select

from models.codes import ContextStatus, LinkRole, Reliability, Role
from models.safeguarding import Context, ContextChange, ContextLink, YoungPerson


def add(client, **fields) -> int:
    body = {"name": "Willow Gardens", "kind": "park", "location": "SW5 0AA", **fields}
    response = client.post("/api/v1/contexts", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def version_on(html: str) -> str:
    return re.search(r'name="version" type="hidden" value="(\d+)"', html).group(1)


@pytest.fixture
def park(signed_in) -> int:
    return add(signed_in)


def test_the_edit_form_shows_the_record(signed_in, park):
    html = signed_in.get(f"/contexts/{park}/edit").get_data(as_text=True)
    assert 'value="Willow Gardens"' in html and 'value="SW5 0AA"' in html and version_on(html) == "1"


def test_an_edit_is_saved_and_shown_in_the_history(signed_in, session, park):
    response = signed_in.post(f"/contexts/{park}/edit", data={"name": "Willow Gardens North", "kind": "park",
                                                              "location": "SW5 0AA", "address": "", "version": "1"})
    assert response.status_code == 302
    html = signed_in.get(f"/contexts/{park}").get_data(as_text=True)
    assert "Saved: name." in html
    history = html[html.index('data-testid="history"'):]
    assert "<del>Willow Gardens</del> → Willow Gardens North" in history and "panel_member" in history


def test_an_edit_on_a_stale_page_is_refused_and_keeps_what_was_typed(signed_in, session, park):
    def save(name: str, version: str):
        return signed_in.post(f"/contexts/{park}/edit", data={"name": name, "kind": "park", "location": "",
                                                              "address": "", "version": version})

    assert save("Edited in another tab", "1").status_code == 302
    response = save("My edit", "1")
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "you saw version 1, it is now 2" in html and 'value="My edit"' in html
    assert session.get(Context, park).name == "Edited in another tab"


def test_bad_input_shows_every_error_beside_its_field(signed_in, session, park):
    response = signed_in.post(f"/contexts/{park}/edit", data={"name": "", "kind": "park", "location": "XX1 1XX",
                                                              "address": "", "version": "1"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'data-testid="name-error">Enter a name' in html
    assert 'data-testid="location-error">Location “XX1 1XX” is not in the ONS Postcode Directory' in html
    assert 'value="XX1 1XX"' in html
    assert session.get(Context, park).name == "Willow Gardens"


def test_closing_and_reopening(signed_in, session, park):
    assert signed_in.post(f"/contexts/{park}/status", data={"version": "1", "note": "Plan complete"}).status_code == 302
    assert session.get(Context, park).status == ContextStatus.CLOSED
    html = signed_in.get(f"/contexts/{park}").get_data(as_text=True)
    assert "Reopen this context" in html and "Plan complete" in html
    assert signed_in.post(f"/contexts/{park}/status", data={"version": "1", "note": ""}).status_code == 409
    assert signed_in.post(f"/contexts/{park}/status", data={"version": "2", "note": ""}).status_code == 302
    assert session.get(Context, park).status == ContextStatus.OPEN


def test_a_deleted_context_is_gone_until_an_administrator_restores_it(client, auth, session, park):
    auth.sign_in()
    assert client.post(f"/contexts/{park}/delete", data={"version": "1", "note": ""}).status_code == 400
    assert client.post(f"/contexts/{park}/delete", data={"version": "1", "note": "Duplicate entry"}).status_code == 302
    assert client.get(f"/contexts/{park}").status_code == 404
    assert "Willow Gardens" not in client.get("/contexts/").get_data(as_text=True)
    assert client.get("/contexts/deleted").status_code == 403
    auth.logout()
    auth.sign_in(Role.ADMINISTRATOR.value)
    listed = client.get("/contexts/deleted").get_data(as_text=True)
    assert "Willow Gardens" in listed and "Duplicate entry" in listed
    assert client.post(f"/contexts/{park}/restore").status_code == 302
    assert client.get(f"/contexts/{park}").status_code == 200


def test_merging_a_duplicate(signed_in, session, park):
    duplicate = add(signed_in, name="Willow Gdns", location="51.4850, -0.1840")
    choose = signed_in.get(f"/contexts/{park}/merge").get_data(as_text=True)
    assert f"#{duplicate}" in choose  # offered as a possible duplicate
    child = YoungPerson(reference="YP-MERGE1", birth_month=date(2011, 1, 1), sex=2, responsible_authority_code="E09000020",
                        organisation_id=session.get(Context, duplicate).organisation_id)
    session.add(ContextLink(young_person=child, context_id=duplicate, role=LinkRole.FREQUENTS,
                            first_seen_on=date(2026, 1, 1), recorded_by_id=child.organisation_id,
                            reliability=Reliability.CORROBORATED))
    session.commit()
    compare = signed_in.post(f"/contexts/{park}/merge", data={"version": "1", "duplicate": f"#{duplicate}"})
    html = compare.get_data(as_text=True)
    assert compare.status_code == 200 and 'data-testid="merge-compare"' in html and "Willow Gdns" in html
    assert "Links to young people</th><td>0</td><td>1</td>" in html
    merged = signed_in.post(f"/contexts/{park}/merge", data={
        "version": "1", "duplicate": str(duplicate), "duplicate_version": "1", "note": "Same park"})
    assert merged.status_code == 302
    followed = signed_in.get(f"/contexts/{duplicate}")
    assert followed.status_code == 302 and followed.location.endswith(f"/contexts/{park}?merged={duplicate}")
    actions = session.scalars(select(ContextChange.action).where(ContextChange.context_id == park)).all()
    assert "merged_in" in actions


def merge(client, kept, duplicate, duplicate_version=1):
    return client.post(f"/contexts/{kept}/merge", data={
        "version": "1", "duplicate": str(duplicate), "duplicate_version": str(duplicate_version), "note": ""})


def test_merged_records_keep_their_notes_and_case_records_on_the_kept_one(signed_in, session, park, users):
    """A merged into B, then B into the park: every note and case record shows on the park."""
    first = add(signed_in, name="Willow Gdns", location="51.4850, -0.1840")
    second = add(signed_in, name="Willow Gardens Park", location="51.4851, -0.1841")
    for context, text in ((first, "Note written on the first duplicate"), (park, "Note written on the park")):
        assert signed_in.post(f"/contexts/{context}/notes", data={"text": text}).status_code == 302
    assert signed_in.post(f"/contexts/{first}/case", data={
        "stage": "referral", "held_on": date.today().isoformat(), "owner": str(users["panel_member"].id),
        "agencies": [], "decision": "Referred before anyone saw it was the park",
        "next_review": date.today().isoformat()}).status_code == 302
    assert merge(signed_in, second, first).status_code == 302
    # The second record moved on when the first was merged into it: a page showing it before is stale.
    stale = merge(signed_in, park, second)
    assert stale.status_code == 409 and "it is now 2" in stale.get_data(as_text=True)
    assert merge(signed_in, park, second, duplicate_version=2).status_code == 302
    html = signed_in.get(f"/contexts/{park}").get_data(as_text=True)
    assert "Note written on the park" in html and "Note written on the first duplicate" in html
    assert f"on merged record #{first}" in html
    merged_records = html[html.index('data-testid="merged-case-records"'):]
    assert "Referred before anyone saw it was the park" in merged_records
    assert "No Level 2 case" in html  # the park's own case has not been moved on by them


@pytest.mark.parametrize("value", ["abc", "999999", "99999999999"])
def test_a_duplicate_that_is_not_a_context_is_named(signed_in, park, value):
    response = signed_in.post(f"/contexts/{park}/merge", data={"version": "1", "duplicate": value})
    assert response.status_code == 400 and f"duplicate: &#39;{value}&#39;" in response.get_data(as_text=True)


def test_the_register_is_searched(signed_in, park):
    add(signed_in, name="Chicken Palace", kind="takeaway", location="SW5 0AB")
    add(signed_in, name="Group chat", kind="online_space", location="")
    html = signed_in.get("/contexts/?q=willow").get_data(as_text=True)
    assert "Willow Gardens" in html and "Chicken Palace" not in html and "1 context." in html
    html = signed_in.get("/contexts/?kind=online_space").get_data(as_text=True)
    assert "Group chat" in html and "Willow Gardens" not in html
    html = signed_in.get("/contexts/?near=SW5+0AA&within=250").get_data(as_text=True)
    assert "Willow Gardens" in html and "Chicken Palace" not in html


@pytest.mark.parametrize(("query", "named"), [
    ("kind=castle", "kind: &#39;castle&#39;"),
    ("status=gone", "status: &#39;gone&#39;"),
    ("within=7", "within: &#39;7&#39;"),
    ("page=0", "page: &#39;0&#39;"),
    ("page=9", "page: &#39;9&#39; is past the last page (1)"),
])
def test_a_bad_search_is_a_400_naming_the_field(signed_in, query, named):
    response = signed_in.get(f"/contexts/?{query}")
    assert response.status_code == 400 and named in response.get_data(as_text=True)


@pytest.mark.parametrize("near", ["XX1 1XX", "Nowhere-on-Sea"])
def test_a_place_the_near_box_cannot_find_is_said_beside_it_and_the_search_stays(signed_in, park, near):
    response = signed_in.get("/contexts/", query_string={"q": "willow", "near": near, "within": "250"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    said = re.search(r'data-testid="near-error">\s*Nothing was searched\. “([^”]+)” ([^<]+)</div>', html)
    assert said and said[1] == near and "Enter a postcode, e.g. SW5 0AA" in said[2]
    box = re.search(r'<input[^>]*id="near"[^>]*>', html)[0]
    assert f'value="{near}"' in box and 'aria-invalid="true"' in box and 'aria-describedby="near-error"' in box
    assert 'value="willow"' in html and '<option value="250" selected' in html
    assert "Willow Gardens" not in html  # nothing was searched


def test_another_organisations_context_is_not_there(client, auth, session, organisations, park):
    other = Context(name="Elsewhere", kind="online_space", organisation_id=organisations["police"].id)
    session.add(other)
    session.commit()
    auth.sign_in()
    for path in (f"/contexts/{other.id}", f"/contexts/{other.id}/edit", f"/contexts/{other.id}/merge"):
        assert client.get(path).status_code == 404
    response = client.post(f"/contexts/{park}/merge", data={"version": "1", "duplicate": str(other.id)})
    assert response.status_code == 400


@pytest.mark.parametrize("query", ["endpoint=x", "context_id=5", "_external=1"])
def test_the_register_s_page_links_carry_only_its_search(signed_in, park, monkeypatch, query):
    monkeypatch.setattr("webapp.contexts.PAGE_SIZE", 1)
    add(signed_in, name="Second park", kind="park", location="SW5 0AB")
    response = signed_in.get(f"/contexts/?kind=park&{query}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(r'href="/contexts/\?[^"]*kind=park[^"]*page=2"', html) and query not in html


def test_errors_are_tied_to_their_fields_and_listed_above_the_form(signed_in, park):
    response = signed_in.post(f"/contexts/{park}/edit", data={"name": "", "kind": "park", "location": "XX1 1XX",
                                                              "address": "", "version": "1"})
    html = response.get_data(as_text=True)
    summary = html[html.index('data-testid="error-summary"'):html.index("</div>", html.index('data-testid="error-summary"'))]
    # The summary takes the focus and links each problem to its field.
    assert 'tabindex="-1" autofocus' in html[html.rindex("<div", 0, html.index('data-testid="error-summary"')):]
    assert '<a href="#name">Enter a name</a>' in summary and '<a href="#location">Location “XX1 1XX”' in summary
    for name in ("name", "location"):
        tag = re.search(rf'<(?:input|select|textarea)[^>]*\bid="{name}"[^>]*>', html)[0]
        assert 'aria-invalid="true"' in tag
        assert f"{name}-error" in re.search(r'aria-describedby="([^"]*)"', tag)[1].split()
        assert f'id="{name}-error"' in html
    kind = re.search(r'<select[^>]*\bid="kind"[^>]*>', html)[0]
    assert "aria-invalid" not in kind
