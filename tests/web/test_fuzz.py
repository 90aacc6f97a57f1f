"""Fuzz the API from its own OpenAPI schema (schemathesis): valid and invalid bodies alike
get a documented status with a body that matches the schema, never a 500.

Bounded and deterministic: a fixed number of examples per operation, derandomized, no
example database, so the test costs the same on every run.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode

from shapetrace.web.app import create_app

schema = schemathesis.openapi.from_asgi("/openapi.json", create_app())
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                                max_examples=60, deterministic=True, database="none")
schema.config.phases.update(phases=["examples", "fuzzing"])

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]


@schema.parametrize()
@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_api_from_its_schema(case):
    response = case.call_and_validate(checks=CHECKS)
    assert response.status_code < 500
