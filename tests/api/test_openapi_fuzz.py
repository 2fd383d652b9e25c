"""Schemathesis fuzzes every operation of the OpenAPI schema as the city admin: no input may
cause a server error, and every response must match the documented schema and status codes.

Schema-valid input may still be refused with 422 where a rule spans fields or the database
(a member account needs an existing member), so that one check is left out.
"""

from __future__ import annotations

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from jiefang.api.app import create_app

# these end the admin's own session under test; tests/people/test_auth.py covers them
SESSION_ENDING = ("/api/auth/logout", "/api/auth/password", "/api/accounts/{account_id}/deactivate")


def _operations(app):  # type: ignore[no-untyped-def]
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path not in SESSION_ENDING:
            yield operation


@pytest.mark.parametrize("examples", [20])
def test_no_input_causes_a_server_error_or_breaks_the_schema(settings, examples):
    app = create_app(settings)
    with TestClient(app) as client:
        token = client.post("/api/auth/login",
                            json={"username": "admin", "password": settings.demo_password}).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    operations = list(_operations(app))
    assert len(operations) >= 20
    for operation in operations:

        @given(case=operation.as_strategy())
        @hypothesis_settings(max_examples=examples, deadline=None, database=None,
                             suppress_health_check=list(HealthCheck))
        def check(case):  # type: ignore[no-untyped-def]
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        check()
