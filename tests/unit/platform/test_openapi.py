"""OpenAPI documents every intake and dispatch endpoint, each request body with an example."""

from __future__ import annotations

import pytest

from repairline_dispatch.main import SPEC as DISPATCH
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
