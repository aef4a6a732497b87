"""OpenAPI documents every intake and dispatch endpoint, each request body with an example."""

from __future__ import annotations

import pytest

from repairline_billing.main import SPEC as BILLING
from repairline_dispatch.main import SPEC as DISPATCH
from repairline_feedback.main import SPEC as FEEDBACK
from repairline_intake.main import SPEC as INTAKE
from repairline_platform.runtime import build_app


@pytest.mark.parametrize("spec", [INTAKE, DISPATCH], ids=["intake", "dispatch"])
def test_every_endpoint_is_documented_and_every_request_body_has_an_example(spec):
    document = build_app(spec).openapi()
    schemas = document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if "operations" in operation.get("tags", ()):
                continue  # the platform's health and clock routes
            assert operation.get("description") or operation.get("summary"), (method, path)
            body = operation.get("requestBody")
            if body is None:
                continue
            ref = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
            assert schemas[ref].get("examples"), f"{method.upper()} {path}: {ref} has no example"


def test_the_lifecycle_commands_are_all_published():
    intake = build_app(INTAKE).openapi()["paths"]
    dispatch = build_app(DISPATCH).openapi()["paths"]
    for command in (
        "verification",
        "guidance",
        "visit-request",
        "warranty",
        "remedy",
        "cancellation",
        "ready-call",
        "pickup",
    ):
        assert f"/tickets/{{ticket_id}}/{command}" in intake
    for command in (
        "appointment",
        "reschedule",
        "reassignment",
        "departure",
        "delay",
        "arrival",
        "customer-not-found",
        "parts",
        "interruption",
        "consent",
        "work-started",
        "completion",
        "partial-completion",
    ):
        assert f"/tickets/{{ticket_id}}/{command}" in dispatch


SERVICES = [INTAKE, DISPATCH, BILLING, FEEDBACK]


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.name)
def test_every_4xx_documents_the_body_the_service_answers(spec):
    """422: the refusal naming each field; 404 where a path names a record; 409 on every
    command; every other 4xx the problem (error, detail)."""
    document = build_app(spec).openapi()
    schemas = document["components"]["schemas"]
    assert schemas["HTTPValidationError"]["properties"]["errors"]["items"]["required"] == [
        "field",
        "reason",
    ]
    assert schemas["Problem"]["required"] == ["error"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "422" in responses, (method, path)
            if "{" in path:
                assert "404" in responses, (method, path)
            if method != "get":
                assert "409" in responses, (method, path)
            for status, response in responses.items():
                if not status.startswith("4"):
                    continue
                ref = response["content"]["application/json"]["schema"]["$ref"]
                expected = "HTTPValidationError" if status == "422" else "Problem"
                assert ref.endswith(f"/{expected}"), (method, path, status)
