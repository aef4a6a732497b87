"""Every error answer is JSON: refusals, a database outage (503) and a failure (500)."""

from __future__ import annotations

import asyncpg
from fastapi import FastAPI
from fastapi.testclient import TestClient

from repairline_platform.http import install_error_handlers
from repairline_rules.refusals import IllegalTransition, InvalidInput, NotFound, Refused


def client() -> TestClient:
    app = FastAPI()
    install_error_handlers(app)
    failures = {
        "down": ConnectionRefusedError("connect call failed"),
        "starting": asyncpg.CannotConnectNowError("the database system is starting up"),
        "broken": RuntimeError("a bug"),
        "lost": asyncpg.InterfaceError(
            "cannot call Transaction.__aexit__(): the underlying connection is closed"
        ),
        "misused": asyncpg.InterfaceError("the server expects 2 arguments, 1 was passed"),
        "illegal": IllegalTransition("cannot complete: the job is assigned", "assigned"),
        "absent": NotFound("no ticket t1"),
        "invalid": InvalidInput("parts[0].code", "unknown part code"),
        "refused": Refused("no dealer drop-off", rule_id="INT-4", ticket_id="t1"),
    }

    @app.get("/{name}")
    async def fail(name: str) -> None:
        raise failures[name]

    return TestClient(app, raise_server_exceptions=False)


def test_a_database_outage_is_a_json_503_that_says_when_to_retry():
    for name in ("down", "starting"):
        answer = client().get(f"/{name}")
        assert answer.status_code == 503
        assert answer.json()["error"] == "service_unavailable"
        assert answer.json()["retry_after"] == int(answer.headers["retry-after"]) > 0


def test_a_connection_lost_mid_request_is_a_503_asking_for_a_retry_with_the_same_key():
    answer = client().get("/lost")
    assert answer.status_code == 503 and answer.headers["retry-after"]
    assert "Idempotency-Key" in answer.json()["detail"]


def test_an_unexpected_failure_is_a_json_500():
    assert client().get("/misused").status_code == 500  # a driver error that is a bug
    answer = client().get("/broken")
    assert answer.status_code == 500
    assert answer.json() == {
        "error": "internal_error",
        "detail": "the request failed; see the logs",
    }


def test_domain_refusals_are_answered_the_same_way_in_every_service():
    c = client()
    illegal = c.get("/illegal")
    assert (illegal.status_code, illegal.json()["current_state"]) == (409, "assigned")
    assert c.get("/absent").status_code == 404
    invalid = c.get("/invalid")
    assert invalid.status_code == 422
    assert invalid.json()["errors"] == [{"field": "parts[0].code", "reason": "unknown part code"}]
    refused = c.get("/refused").json()
    assert (refused["rule_id"], refused["ticket_id"]) == ("INT-4", "t1")
