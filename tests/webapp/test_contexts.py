import pytest
from sqlalchemy import func, select

from models.safeguarding import Context


def count(session):
    return session.scalar(select(func.count()).select_from(Context))


def test_form_shows_what_a_location_may_be(signed_in):
    html = signed_in.get("/contexts/new").get_data(as_text=True)
    assert "postcode" in html and "latitude" in html and "easting" in html


def test_adding_a_context(signed_in, session):
    response = signed_in.post("/contexts/new", data={"name": "Willow Gardens", "kind": "park",
                                                     "location": "w8 4aa", "address": ""})
    assert response.status_code == 302
    assert "Willow Gardens" in signed_in.get("/contexts/").get_data(as_text=True)
    stored = session.scalar(select(Context).where(Context.name == "Willow Gardens"))
    assert stored.postcode == "W8 4AA" and stored.cells is not None


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"name": "Elm Estate", "kind": "housing_estate", "location": "XX1 1XX"},
         "location: &#39;XX1 1XX&#39; is not in the ONS Postcode Directory"),
        ({"name": "", "kind": "park", "location": "SW5 0AA"}, "name: &#39;&#39; is required"),
        ({"name": "Group", "kind": "peer_group", "location": "SW5 0AA"}, "must be empty"),
    ],
)
def test_bad_input_keeps_what_was_typed_and_writes_nothing(signed_in, session, form, message):
    before = count(session)
    response = signed_in.post("/contexts/new", data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in html
    assert "Nothing was saved" in html
    if form["location"]:
        assert f'value="{form["location"]}"' in html
    assert count(session) == before
