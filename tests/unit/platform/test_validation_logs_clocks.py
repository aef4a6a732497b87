"""HTTP validation, log redaction, clocks and the purity of the domain modules."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from repairline_intake.main import SPEC as INTAKE
from repairline_platform.clock import FixedClock, SimulatedClock
from repairline_platform.logging import configure_logging, get_logger
from repairline_platform.runtime import build_app
from tests.support.auth import bearer
from tests.support.factories import request_body

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def intake_http() -> TestClient:
    return TestClient(
        build_app(INTAKE), headers=bearer()
    )  # no lifespan: validation answers before any I/O


def test_a_malformed_request_is_a_422_naming_each_bad_field(intake_http):
    body = request_body(channel="pigeon", city_tier="moon")
    body["product"]["purchase_date"] = "last spring"
    body["customer"]["mobile"] = "call me"
    del body["fault_description"]
    response = intake_http.post("/tickets", json=body)
    assert response.status_code == 422
    fields = {e["field"]: e["reason"] for e in response.json()["errors"]}
    assert set(fields) == {
        "channel",
        "city_tier",
        "product.purchase_date",
        "customer.mobile",
        "fault_description",
    }
    assert "Field required" in fields["fault_description"]


def test_unknown_fields_are_refused_rather_than_silently_dropped(intake_http):
    response = intake_http.post("/tickets", json=request_body(colour="red"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "colour"


def test_customer_phone_and_address_never_reach_a_log_line(capsys):
    configure_logging("test", fmt="json")
    get_logger("t").info(
        "ticket", ticket_id="t1", customer_phone="13900000000", address="1 Road", mobile="139"
    )
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["ticket_id"] == "t1"
    assert "13900000000" not in json.dumps(line) and "1 Road" not in json.dumps(line)
    assert line["customer_phone"] == line["address"] == line["mobile"] == "[redacted]"


def test_the_simulated_clock_only_moves_forward():
    clock = SimulatedClock()
    before = clock.now()
    after = clock.advance(timedelta(hours=48))
    assert after - before >= timedelta(hours=48)
    with pytest.raises(ValueError):
        clock.advance(timedelta(seconds=-1))
    assert clock.now().tzinfo is not None


def test_a_fixed_clock_needs_a_timezone():
    with pytest.raises(ValueError):
        FixedClock(datetime(2026, 1, 1))  # noqa: DTZ001
    assert FixedClock(datetime(2026, 1, 1, tzinfo=UTC)).advance(timedelta(days=1)).day == 2


def test_domain_and_rules_modules_never_read_the_clock():
    pure = [
        *ROOT.glob("services/*/src/*/domain.py"),
        *ROOT.glob("libs/rules/src/repairline_rules/*.py"),
        *ROOT.glob("contracts/src/repairline_contracts/*.py"),
    ]
    assert len(pure) > 10
    for path in pure:
        text = path.read_text()
        for call in (".now(", ".today(", "time.time(", "utcnow("):
            assert call not in text, f"{path.relative_to(ROOT)} calls {call}"


def test_every_response_carries_the_correlation_id_it_was_bound_to(intake_http):
    given = intake_http.get("/healthz", headers={"X-Correlation-Id": "corr-42"})
    assert given.headers["X-Correlation-Id"] == "corr-42"
    minted = intake_http.get("/healthz").headers["X-Correlation-Id"]
    assert len(minted) == 36 and minted != "corr-42"


def test_a_concurrent_write_to_the_same_stream_is_a_409_not_a_500():
    from fastapi import FastAPI

    from repairline_platform.eventstore import ConcurrencyError
    from repairline_platform.http import install_error_handlers

    app = FastAPI()
    install_error_handlers(app)

    @app.put("/things/{thing}")
    async def put(thing: str) -> None:
        raise ConcurrencyError(f"stream thing:{thing} moved past version 1")

    response = TestClient(app).put("/things/a")
    assert response.status_code == 409
    assert response.json()["error"] == "concurrent_update"
    assert "thing:a" in response.json()["detail"]


async def test_a_command_is_decided_again_when_another_writer_moved_the_stream_first():
    from repairline_platform.eventstore import ConcurrencyError, retry_on_concurrency

    calls = []

    async def attempt() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ConcurrencyError("moved")
        return "decided"

    assert await retry_on_concurrency(attempt) == "decided"
    assert len(calls) == 3

    async def always() -> str:
        calls.append(1)
        raise ConcurrencyError("still moving")

    calls.clear()
    with pytest.raises(ConcurrencyError):
        await retry_on_concurrency(always, attempts=4)
    assert len(calls) == 4
