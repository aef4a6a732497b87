"""What the edge accepts, every consumer can apply: the four services refuse, with a 422
naming the field, the inputs that used to answer 500 or to be accepted and lost
downstream (integers above 2^31, control characters in text, years 0000 and 9999,
windows in the past, purchases in the future, unknown regions, a date written as a
number, a survey of a year not begun, a clock advanced past any plausible date)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from repairline_billing.main import SPEC as BILLING
from repairline_dispatch.main import SPEC as DISPATCH
from repairline_feedback.main import SPEC as FEEDBACK
from repairline_intake.main import SPEC as INTAKE
from repairline_platform import bounds
from repairline_platform.clock import FixedClock, SimulatedClock
from repairline_platform.runtime import Runtime, build_app
from repairline_platform.settings import ServiceSettings
from repairline_rules import load_pack
from tests.support.auth import bearer
from tests.support.factories import request_body

NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
SPECS = {"intake": INTAKE, "dispatch": DISPATCH, "billing": BILLING, "feedback": FEEDBACK}


@pytest.fixture(scope="module")
def apps() -> Iterator[dict[str, TestClient]]:
    """Each service's app on a clock standing at NOW; nothing connects (no lifespan)."""
    clients = {}
    for name, spec in SPECS.items():
        app = build_app(spec)
        app.state.runtime = SimpleNamespace(clock=FixedClock(NOW), pack=load_pack("water-heater"))
        clients[name] = TestClient(app, raise_server_exceptions=False, headers=bearer())
    yield clients


def refused(response: Any) -> list[str]:
    """The fields a 422 names, in the one error body every refusal uses."""
    assert response.status_code == 422, (response.status_code, response.text)
    body = response.json()
    assert body["error"] == "validation_failed"
    assert all(e["reason"] for e in body["errors"])
    return [e["field"] for e in body["errors"]]


def window(start: str, end: str) -> dict[str, str]:
    return {"start": start, "end": end}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"customer": {"name": "a\u0000b"}}, "customer.name"),
        ({"fault_description": "no hot water\u0007"}, "fault_description"),
        ({"region": "mars"}, "region"),
        ({"proof": {"invoice_date": "9999-12-31"}}, "proof.invoice_date"),
        ({"proof": {"invoice_date": "2026-11-25"}}, "proof.invoice_date"),
        ({"proof": {"warranty_card_date": "0001-01-01"}}, "proof.warranty_card_date"),
        ({"product": {"line": "instant_water_heater", "purchase_date": "0001-01-01"}}, None),
        ({"product": {"line": "instant_water_heater", "purchase_date": "2027-01-01"}}, None),
        (
            {"preferred_window": window("9999-12-31T10:00:00+08:00", "9999-12-31T11:00:00+08:00")},
            "preferred_window.start",
        ),
        (
            {"preferred_window": window("0001-01-01T10:00:00+08:00", "0001-01-01T11:00:00+08:00")},
            "preferred_window.end",
        ),
        (
            {"preferred_window": window("2026-11-23T10:00:00+08:00", "2026-11-23T11:00:00+08:00")},
            "preferred_window.end",
        ),
        (
            {"preferred_window": window("2028-01-03T10:00:00+08:00", "2028-01-03T11:00:00+08:00")},
            "preferred_window.start",
        ),
        ({"proof": {"supply_voltage_v": "1E-999999"}}, "proof.supply_voltage_v"),
    ],
    ids=[
        "nul-in-name",
        "bell-in-description",
        "unknown-region",
        "invoice-year-9999",
        "invoice-tomorrow",
        "card-year-0001",
        "purchase-year-0001",
        "purchase-next-year",
        "window-year-9999",
        "window-year-0001",
        "window-over",
        "window-beyond-a-year",
        "voltage-precision",
    ],
)
def test_intake_refuses_what_a_consumer_could_not_apply(apps, overrides, field):
    fields = refused(apps["intake"].post("/tickets", json=request_body(**overrides)))
    assert (field or "product.purchase_date") in fields


def test_intake_accepts_the_extremes_it_documents(apps):
    """The earliest purchase, today's invoice and a window a year ahead pass validation
    (the bare app then fails to store them: anything but a 422)."""
    body = request_body(
        product={"line": "instant_water_heater", "purchase_date": "1990-01-01"},
        proof={"invoice_date": "2026-11-24"},
        preferred_window=window("2027-11-24T08:00:00+08:00", "2027-11-24T09:00:00+08:00"),
        customer={"name": "名" * 100},
    )
    assert apps["intake"].post("/tickets", json=body).status_code != 422


def test_war_3_a_sale_date_written_as_a_number_is_refused_not_read_as_1970(apps):
    response = apps["intake"].put("/sales-records/SN1", json={"product_line": "x", "sold_on": 0})
    assert refused(response) == ["sold_on"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/engineers/x", {"capacity": 2**31}, "capacity"),
        ("/engineers/x", {"name": "a\u0000b"}, "name"),
        ("/engineers/x", {"region": "mars"}, "region"),
        ("/key-accounts/k", {"organisation": "Acme", "units": 2**40}, "units"),
        ("/tickets/t/appointment", {"window_start": "9999-12-31T10:00:00+08:00"}, "window_start"),
        ("/tickets/t/appointment", {"window_end": "2026-11-23T11:00:00+08:00"}, "window_end"),
        ("/tickets/t/delay", {"expected_arrival": "9999-12-31T23:00:00-12:00"}, "expected_arrival"),
        ("/plans", {"region": "cn-east", "day": "0000-01-01"}, "day"),
        ("/tickets/t/interruption", {"minutes_still_needed": 2**31}, "minutes_still_needed"),
    ],
    ids=[
        "capacity-2-31",
        "nul-in-name",
        "unknown-region",
        "units-2-40",
        "window-year-9999",
        "window-over",
        "arrival-year-9999",
        "plan-year-0000",
        "minutes-2-31",
    ],
)
def test_dispatch_refuses_what_a_consumer_could_not_apply(apps, path, body, field):
    engineer = {"name": "Zhang", "region": "cn-east", "skills": ["instant_water_heater"]}
    window = {
        "window_start": "2026-11-25T14:00:00+08:00",
        "window_end": "2026-11-25T15:00:00+08:00",
    }
    base = {
        "/engineers/x": engineer,
        "/tickets/t/appointment": window,
        "/tickets/t/interruption": {"urgent_ticket_id": "u"},
    }.get(path, {})
    method = (
        apps["dispatch"].put if path.startswith(("/engineers", "/key")) else apps["dispatch"].post
    )
    assert field in refused(method(path, json={**base, **body}))


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("post", "/outlets/o1/settlements", {"period": "0000-01"}, "period"),
        ("get", "/outlets/o1/settlements/9999-12", None, "period"),
        ("post", "/engineers/e1/assessments", {"period": "2100-01"}, "period"),
        ("put", "/outlets/o1", {"name": "x", "region": "mars"}, "region"),
        ("put", "/outlets/o1", {"name": "a\u0000b", "region": "cn-east"}, "name"),
        ("post", "/engineers/e1/unreachable", {"ticket_id": "t", "fine_fen": 10**20}, "fine_fen"),
        (
            "post",
            "/tickets/t/quotes",
            {"parts": [{"code": "x", "quantity": 2**31}]},
            "parts.0.quantity",
        ),
        ("post", "/tickets/t/quotes", {"agreed_travel_fee_fen": 2**63}, "agreed_travel_fee_fen"),
        ("put", "/contracts/c1", {"serial_no": "SN", "starts_on": "9999-12-31"}, "starts_on"),
    ],
    ids=[
        "settlement-year-0000",
        "statement-year-9999",
        "assessment-year-2100",
        "unknown-region",
        "nul-in-name",
        "fine-1e20",
        "quantity-2-31",
        "travel-fee-2-63",
        "contract-year-9999",
    ],
)
def test_billing_refuses_what_a_consumer_could_not_apply(apps, method, path, body, field):
    response = getattr(apps["billing"], method)(path, **({} if body is None else {"json": body}))
    assert field in refused(response)


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        (
            "post",
            "/complaints",
            {
                "ticket_id": "t",
                "channel": "app",
                "kind": "overcharge",
                "description": "x",
                "amount_paid_fen": 10**20,
            },
            "amount_paid_fen",
        ),
        (
            "post",
            "/complaints",
            {"ticket_id": "t\u0000", "channel": "app", "kind": "overcharge", "description": "x"},
            "ticket_id",
        ),
        ("get", "/reports/callbacks?month=0000-01", None, "month"),
        ("get", "/callbacks/morning-list?on=9999-12-31", None, "on"),
        ("get", "/reports/callback-coverage?from=0001-01-01&to=2026-01-01", None, "from"),
        ("post", "/survey-samples", {"year": 2100}, "year"),
        ("post", "/survey-samples", {"year": 2027}, "year"),
        ("get", "/survey-samples/4294967296", None, "year"),
    ],
    ids=[
        "paid-1e20",
        "nul-in-ticket-id",
        "report-year-0000",
        "morning-list-year-9999",
        "coverage-year-0001",
        "sample-year-2100",
        "sample-year-not-begun",
        "sample-year-2-32",
    ],
)
def test_feedback_refuses_what_a_consumer_could_not_apply(apps, method, path, body, field):
    response = getattr(apps["feedback"], method)(path, **({} if body is None else {"json": body}))
    assert field in refused(response)


@pytest.mark.parametrize("service", sorted(SPECS))
def test_a_control_character_in_the_path_or_query_is_refused(apps, service):
    assert refused(apps[service].get("/tickets/a%00b")) == ["path"]
    assert refused(apps[service].get("/tickets?ticket_id=a%07b")) == ["ticket_id"]


@pytest.mark.parametrize(
    "body",
    [{"days": 3_000_000}, {"seconds": 1e300}, {"hours": -1}, {"minutes": 5}],
    ids=["days-3000000", "seconds-1e300", "backwards", "unknown-unit"],
)
def test_a_clock_advance_out_of_bounds_is_refused(apps, body):
    assert refused(apps["billing"].post("/admin/clock/advance", json=body))


async def test_the_clock_never_advances_past_the_last_plausible_year():
    """Ten years at a time, a clock near the end of 2099 is refused before anything is
    stored, and keeps reading."""
    rt = Runtime(BILLING, ServiceSettings(clock="simulated"))
    rt.clock = SimulatedClock(datetime(2099, 6, 1, tzinfo=UTC) - datetime.now(UTC))
    with pytest.raises(ValueError, match="2099"):
        await rt.advance_clock(timedelta(days=3660))
    assert rt.clock.now().year == 2099


def test_the_openapi_documents_the_bounds():
    schemas = build_app(FEEDBACK).openapi()["components"]["schemas"]
    paid = schemas["ComplaintIn"]["properties"]["amount_paid_fen"]["anyOf"][0]
    assert paid["maximum"] == bounds.MAX_FEN
    description = schemas["ComplaintIn"]["properties"]["description"]
    assert description["maxLength"] == 4000
    assert "\\x00" in description["pattern"]
