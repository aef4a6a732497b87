"""Ticket creation is rate-limited per client: over the limit a 429 names when to retry."""

from __future__ import annotations

from fastapi.testclient import TestClient

from repairline_intake.main import SPEC as INTAKE
from repairline_platform.ratelimit import RateLimit, RateLimited
from repairline_platform.runtime import build_app
from repairline_platform.settings import ServiceSettings
from tests.support.auth import bearer, token
from tests.support.factories import request_body


class Clock:
    def __init__(self) -> None:
        self.at = 0.0

    def __call__(self) -> float:
        return self.at


def test_a_client_gets_its_burst_then_one_request_per_refill() -> None:
    clock = Clock()
    limit = RateLimit(per_minute=30, burst=3, now=clock)
    for _ in range(3):
        limit.take("sub:a")
    try:
        limit.take("sub:a")
        raise AssertionError("the fourth request at once is over the limit")
    except RateLimited as refused:
        assert refused.retry_after == 2  # 30 a minute: one every 2 s
    limit.take("sub:b")  # another client has its own allowance
    clock.at += 2
    limit.take("sub:a")


def test_over_the_limit_ticket_creation_answers_429_with_retry_after() -> None:
    settings = ServiceSettings(rate_limit_per_minute=6, rate_limit_burst=2)
    http = TestClient(build_app(INTAKE, settings), raise_server_exceptions=False)
    customer, other = bearer(token("customer", subject="cust-1")), bearer(token("customer"))
    malformed = {**request_body(), "channel": "pigeon"}  # answered 422 before any I/O
    for _ in range(2):
        assert http.post("/tickets", json=malformed, headers=customer).status_code == 422
    refused = http.post("/tickets", json=malformed, headers=customer)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "10"
    assert refused.json() == {
        "error": "rate_limited",
        "detail": "too many requests from this client; retry after 10 s",
        "retry_after": 10,
    }
    assert http.post("/tickets", json=malformed, headers=other).status_code == 422
