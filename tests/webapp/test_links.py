"""Linking young people to a context from its profile: record, change (and a change on a stale
page), remove with a note, restore as an administrator."""

import re
from datetime import date

import pytest
from sqlalchemy import select

from models.codes import Role
from models.safeguarding import ContextLink, YoungPerson
from models.times import age_in_years, london_today


@pytest.fixture
def park(signed_in, session, organisations):
    session.add(YoungPerson(reference="YP-WEB01", birth_month=date(2010, 6, 1), sex=2,
                            responsible_authority_code="E09000020",
                            organisation_id=organisations["local_authority"].id))
    session.commit()
    response = signed_in.post("/api/v1/contexts", json={"name": "Willow Gardens", "kind": "park", "location": "SW5 0AA"})
    return response.get_json()["id"]


def form(organisations, **changes) -> dict:
    return {"young_person": "YP-WEB01", "role": "harmed_there", "concerns": ["11A"], "first_seen": "2026-03-01",
            "last_seen": "", "recorded_by": str(organisations["local_authority"].id), "reliability": "corroborated",
            **changes}


def test_the_form_offers_the_census_codes_and_defaults_to_ones_own_agency(signed_in, park, organisations):
    html = signed_in.get(f"/contexts/{park}/links/new").get_data(as_text=True)
    assert "11A: Child sexual exploitation" in html
    assert re.search(rf'<option selected value="{organisations["local_authority"].id}">', html)


def test_linking_changing_and_removing(signed_in, session, park, organisations):
    assert signed_in.post(f"/contexts/{park}/links/new", data=form(organisations)).status_code == 302
    link = session.scalar(select(ContextLink))
    profile = signed_in.get(f"/contexts/{park}").get_data(as_text=True)
    assert "YP-WEB01 linked to this context." in profile and "Young person linked" in profile
    changed = signed_in.post(f"/contexts/{park}/links/{link.id}",
                             data={**form(organisations, reliability="known_directly"), "version": "1"})
    assert changed.status_code == 302
    stale = signed_in.post(f"/contexts/{park}/links/{link.id}",
                           data={**form(organisations, role="frequents"), "version": "1"})
    assert stale.status_code == 409 and "this link was changed by panel_member" in stale.get_data(as_text=True)
    assert signed_in.post(f"/contexts/{park}/links/{link.id}/remove", data={"version": "2", "note": ""}).status_code == 400
    assert signed_in.post(f"/contexts/{park}/links/{link.id}/remove",
                          data={"version": "2", "note": "Wrong child"}).status_code == 302
    profile = signed_in.get(f"/contexts/{park}").get_data(as_text=True)
    linked = profile[profile.index('data-testid="linked"'):profile.index("</table>", profile.index('data-testid="linked"'))]
    assert "No young person is linked" in linked and "YP-WEB01" not in linked


def test_bad_input_names_every_field_and_keeps_what_was_typed(signed_in, session, park, organisations):
    response = signed_in.post(f"/contexts/{park}/links/new", data=form(
        organisations, young_person="YP-NOBODY", first_seen="2026-04-01", last_seen="2026-03-01", reliability="x"))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Young person “YP-NOBODY” is not a young person" in html
    assert "Last seen “2026-03-01” is before the first seen date" in html
    assert "How reliable the information is “x” is not one of" in html
    assert 'value="YP-NOBODY"' in html and 'value="2026-04-01"' in html
    assert session.scalar(select(ContextLink)) is None


def test_only_an_administrator_restores_a_removed_link(client, auth, session, park, organisations):
    auth.sign_in()
    client.post(f"/contexts/{park}/links/new", data=form(organisations))
    link = session.scalar(select(ContextLink))
    client.post(f"/contexts/{park}/links/{link.id}/remove", data={"version": "1", "note": "Mistake"})
    assert client.post(f"/contexts/{park}/links/{link.id}/restore").status_code == 403
    auth.logout()
    auth.sign_in(Role.ADMINISTRATOR.value)
    assert 'data-testid="removed-links"' in client.get(f"/contexts/{park}").get_data(as_text=True)
    assert client.post(f"/contexts/{park}/links/{link.id}/restore").status_code == 302
    session.expire_all()
    assert session.get(ContextLink, (link.organisation_id, link.id)).removed_at is None


@pytest.mark.parametrize("path", ["/contexts/{park}/links/999999", "/contexts/{park}/links/99999999999/remove",
                                  "/contexts/999999/links/new"])
def test_a_link_or_context_that_is_not_there_is_a_404(signed_in, park, path):
    assert signed_in.get(path.format(park=park)).status_code == 404


def test_a_young_person_is_linked_from_her_own_page(signed_in, session, park, organisations):
    person = session.scalar(select(YoungPerson).where(YoungPerson.reference == "YP-WEB01"))
    page = signed_in.get(f"/young-people/{person.id}").get_data(as_text=True)
    assert f'<option value="{park}">Willow Gardens</option>' in page
    chosen = signed_in.get(f"/young-people/{person.id}/link?context={park}")
    assert chosen.status_code == 302 and chosen.location.endswith(f"/contexts/{park}/links/new?young_person=YP-WEB01")
    assert 'value="YP-WEB01"' in signed_in.get(chosen.location).get_data(as_text=True)
    for bad in ("999999", "abc", ""):
        response = signed_in.get(f"/young-people/{person.id}/link?context={bad}")
        assert response.status_code == 400 and "context: " in response.get_data(as_text=True)


@pytest.mark.parametrize(("reference", "status", "words"), [
    ("", 400, "Enter a young person&#39;s reference, e.g. YP-PLACED."),
    ("yp-nobody", 404, "No young person in your records has the reference “YP-NOBODY”."),
])
def test_the_header_s_find_says_what_is_wrong_and_keeps_the_search(signed_in, reference, status, words):
    response = signed_in.get("/young-people/", query_string={"reference": reference})
    html = response.get_data(as_text=True)
    assert response.status_code == status
    assert re.search(r'data-testid="reference-error">([^<]+)</div>', html)[1].startswith(words)
    box = re.search(r'<input[^>]*id="reference"[^>]*>', html)[0]
    assert f'value="{reference.upper()}"' in box and 'aria-describedby="reference-error"' in box


def test_no_role_is_chosen_for_the_user(signed_in, session, park, organisations):
    html = signed_in.get(f"/contexts/{park}/links/new").get_data(as_text=True)
    role = html[html.index('id="role"'):html.index("</select>", html.index('id="role"'))]
    assert 'name="role"><option value="">Choose…</option>' in role and "selected" not in role
    response = signed_in.post(f"/contexts/{park}/links/new", data=form(organisations, role=""))
    assert response.status_code == 400
    assert "Choose how they are connected to the context" in response.get_data(as_text=True)
    assert session.scalar(select(ContextLink)) is None


def test_a_second_link_of_the_same_young_person_is_refused_with_the_way_to_change_the_first(
        signed_in, session, park, organisations):
    assert signed_in.post(f"/contexts/{park}/links/new", data=form(organisations)).status_code == 302
    response = signed_in.post(f"/contexts/{park}/links/new", data=form(organisations, role="frequents"))
    assert response.status_code == 400
    assert "YP-WEB01 is already linked to this context: change that link" in response.get_data(as_text=True)
    assert len(session.scalars(select(ContextLink)).all()) == 1
    # Once that link is removed, she can be linked again.
    first = session.scalar(select(ContextLink))
    signed_in.post(f"/contexts/{park}/links/{first.id}/remove", data={"version": str(first.version), "note": "Wrong"})
    assert signed_in.post(f"/contexts/{park}/links/new", data=form(organisations)).status_code == 302


def test_a_link_cannot_be_changed_into_a_second_link_of_someone_already_linked(
        signed_in, session, park, organisations):
    session.add(YoungPerson(reference="YP-WEB02", birth_month=date(2010, 6, 1), sex=1,
                            responsible_authority_code="E09000020", organisation_id=organisations["local_authority"].id))
    session.commit()
    signed_in.post(f"/contexts/{park}/links/new", data=form(organisations))
    signed_in.post(f"/contexts/{park}/links/new", data=form(organisations, young_person="YP-WEB02"))
    second = session.scalar(select(ContextLink).join(YoungPerson, YoungPerson.id == ContextLink.young_person_id)
                            .where(YoungPerson.reference == "YP-WEB02"))
    response = signed_in.post(f"/contexts/{park}/links/{second.id}",
                              data=form(organisations, version=str(second.version)))
    assert response.status_code == 400 and "YP-WEB01 is already linked" in response.get_data(as_text=True)


def test_a_young_person_s_page_gives_her_age_and_her_authority_by_name(signed_in, session, park):
    person = session.scalar(select(YoungPerson).where(YoungPerson.reference == "YP-WEB01"))
    html = signed_in.get(f"/young-people/{person.id}").get_data(as_text=True)
    assert f"June 2010 (aged {age_in_years(date(2010, 6, 1), london_today())})" in html
    assert re.search(r"Kensington and Chelsea \(E09000020\)</dd>", html)
