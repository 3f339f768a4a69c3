"""What every request's body and parameters must pass before a view sees them (webapp/params.py)."""

import json

import pytest

from webapp.params import MAX_JSON_DEPTH


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("signed_in_first, method, path", [
    (False, "GET", "/healthz"), (False, "POST", "/login"), (False, "GET", "/static/css/app.css"),
    (True, "POST", "/api/v1/contexts"),
])
@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1_000, 100_000])
def test_a_json_body_nested_too_deep_is_a_400_saying_so(client, auth, caplog, signed_in_first, method, path, depth):
    if signed_in_first:
        auth.sign_in()
    response = client.open(path, method=method, data=nested(depth), content_type="application/json")
    assert response.status_code == 400
    assert f"nested more than {MAX_JSON_DEPTH} levels" in response.get_data(as_text=True)
    assert "Traceback" not in caplog.text


def test_a_body_as_deep_as_allowed_reaches_the_view(signed_in):
    body = {"name": "Willow Gardens", "kind": "park", "location": "SW5 0AA"}
    for _ in range(MAX_JSON_DEPTH - 1):
        body = {"name": "Willow Gardens", "kind": "park", "location": "SW5 0AA", "more": body}
    response = signed_in.post("/api/v1/contexts", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.get_data(as_text=True)


def test_a_nul_character_deep_in_a_body_is_named(signed_in):
    body = {"name": "Willow", "notes": [{"text": ["fine", "bad\x00"]}]}
    response = signed_in.post("/api/v1/contexts", json=body)
    assert response.status_code == 400 and "notes[0].text[1]" in response.get_json()["error"]
