from openapi_spec_validator import validate

from models.codes import CONCERN_CODES, ContextKind


def api_routes(app) -> set[str]:
    return {
        rule.rule for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and rule.endpoint != "openapi.openapi_json"
    }


def test_openapi_document_is_valid_and_covers_every_route(app, signed_in):
    response = signed_in.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    validate(document)
    assert set(document["paths"]) == api_routes(app)


def test_hex_parameters_are_all_documented_with_the_codes_the_code_accepts(signed_in):
    document = signed_in.get("/api/v1/openapi.json").get_json()
    parameters = {p["name"]: p for p in document["paths"]["/api/v1/hexes"]["get"]["parameters"]}
    assert set(parameters) == {"res", "zoom", "layer", "from", "to", "bbox", "type", "sex", "age", "hours", "days",
                               "concerns", "kinds", "compare", "contexts", "gi", "gi_empty"}
    assert all(code in parameters["concerns"]["description"] for code in CONCERN_CODES)
    assert all(kind.value in parameters["kinds"]["description"] for kind in ContextKind)


def test_openapi_needs_sign_in(client):
    assert client.get("/api/v1/openapi.json").status_code == 401
