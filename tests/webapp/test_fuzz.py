"""Property-based fuzzing of the API from its own OpenAPI document (schemathesis on hypothesis):
valid and invalid requests for every operation, as a social worker's and a police partner's API
token. No answer may be a server error, and every answer must be one the document declares."""

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import DataGenerationMethod
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

from models.codes import Role
from models.tokens import issue_token
from webapp.openapi import document

pytestmark = pytest.mark.long

schemathesis.experimental.OPEN_API_3_1.enable()
EXAMPLES = 150  # per operation (valid and invalid data together), each sent as both roles
REQUESTS: Counter = Counter()  # read by the closing assertion below and quoted in the README


@pytest.fixture
def api_schema(app, users, session):
    tokens = {}
    for role in (Role.SOCIAL_WORKER, Role.POLICE_PARTNER):
        _, tokens[role] = issue_token(session, users[role], "fuzzing", 1, issued_by=users[Role.ADMINISTRATOR])
    session.commit()
    app.config["FUZZ_TOKENS"] = tokens
    return schemathesis.from_dict(
        document(), app=app,
        data_generation_methods=[DataGenerationMethod.positive, DataGenerationMethod.negative],
    )


schema = schemathesis.from_pytest_fixture("api_schema")


@schema.parametrize()
# Derandomised: the same requests on every run, so CI is never red by chance; the documented
# examples go first (the explicit phase), so each operation gets past validation at least once.
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_the_api_never_fails_on_any_input(case, app):
    for role, token in app.config["FUZZ_TOKENS"].items():  # each generated request as each role
        response = case.call_wsgi(headers={"Authorization": f"Bearer {token}"})
        REQUESTS[case.operation.verbose_name, role, response.status_code] += 1
        case.validate_response(response, checks=(not_a_server_error, status_code_conformance))


def test_the_fuzzing_reached_every_operation():
    """Runs after the fuzzing above (tests run in file order): every operation was tried, and for
    the social worker some requests of each got past validation (a 2xx), so more than the
    request checks were fuzzed; the police partner's token never got past its role's 403 except
    on the shared map."""
    operations = {operation for operation, _, _ in REQUESTS}
    assert len(operations) == len(document()["paths"]), operations
    assert sum(REQUESTS.values()) >= 1000
    print(f"{sum(REQUESTS.values())} fuzzed requests over {len(operations)} operations")  # shown by pytest -rP
    for operation in operations:
        assert any(200 <= status < 300 for op, role, status in REQUESTS
                   if op == operation and role == Role.SOCIAL_WORKER), operation
        police = {status for op, role, status in REQUESTS if op == operation and role == Role.POLICE_PARTNER}
        assert police == {403} or operation == "GET /api/v1/shared/hexes", (operation, police)

