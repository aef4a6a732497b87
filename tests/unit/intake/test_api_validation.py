"""Intake's routes refuse what is malformed or incomplete with a 422 naming the field,
before anything is counted or stored."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from repairline_intake.main import SPEC as INTAKE
from repairline_platform.clock import FixedClock
from repairline_platform.runtime import build_app
from repairline_platform.testing import InMemoryEventStore
from repairline_rules import load_deployment
from tests.support.auth import bearer
from tests.support.factories import request_body

ROOT = Path(__file__).resolve().parents[3]
DOMAIN = ROOT / "services/intake/src/repairline_intake/domain"


@pytest.fixture(scope="module")
def events() -> InMemoryEventStore:
    return InMemoryEventStore(FixedClock(datetime(2026, 11, 24, 1, 0, tzinfo=UTC)))


@pytest.fixture(scope="module")
def http(events: InMemoryEventStore) -> Iterator[TestClient]:
    app = build_app(INTAKE)  # no lifespan: nothing connects
    book, routing = load_deployment("pc-depot", ["pc-depot"])
    app.state.runtime = SimpleNamespace(
        unit_of_work=events.unit_of_work,
        packs=book,
        routing=routing,
        pack_now=lambda now: book.opened_at("pc-depot", now),
    )
    yield TestClient(app, headers=bearer())


def field_of(response: Any) -> str:
    assert response.status_code == 422, response.json()
    assert response.json()["error"] == "validation_failed"
    return response.json()["errors"][0]["field"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"channel": "dealer"}, "dealer"),
        ({"channel": "depot"}, "service_mode"),
        ({"channel": "depot", "service_mode": "depot"}, "depot"),
        (
            {
                "preferred_window": {
                    "start": "2026-11-24T15:00:00+08:00",
                    "end": "2026-11-24T14:00:00+08:00",
                }
            },
            "preferred_window",
        ),
    ],
    ids=["int-2-dealer", "int-7-depot-mode", "int-7-depot-facts", "dsp-2-window"],
)
def test_int_2_int_7_a_request_missing_what_its_channel_needs_names_the_field(
    http, events, overrides, field
):
    assert field_of(http.post("/tickets", json=request_body(**overrides))) == field
    assert events.streams == {}


@pytest.mark.parametrize(
    "brand", ["B" * 41, "   ", "Aqua\nheat", ""], ids=["41-chars", "blank", "two-lines", "empty"]
)
def test_a_brand_is_one_trimmed_line_of_1_to_40_characters(http, events, brand):
    product = {**request_body()["product"], "brand": brand}
    response = http.post("/tickets", json=request_body(product=product))
    assert field_of(response) == "product.brand"
    assert events.streams == {}


def test_dsp_2_a_window_without_a_time_zone_is_refused(http):
    window = {"start": "2026-11-24T14:00:00", "end": "2026-11-24T15:00:00"}
    response = http.post("/tickets", json=request_body(preferred_window=window))
    assert field_of(response).startswith("preferred_window.")


def test_war_6_to_war_9_only_the_three_remedies_can_be_chosen(http):
    assert field_of(http.post("/tickets/t1/remedy", json={"kind": "refund"})) == "kind"


def test_int_8_a_fee_told_at_pickup_is_never_negative(http):
    body = {
        "voucher_no": "V1",
        "tested_by_customer": True,
        "acceptance_signed": True,
        "fee_told_fen": -1,
    }
    assert field_of(http.post("/tickets/t1/pickup", json=body)) == "fee_told_fen"


def test_war_3_a_sales_record_needs_a_sale_date(http):
    response = http.put("/sales-records/SN1", json={"product_line": "notebook", "sold_on": "soon"})
    assert field_of(response) == "sold_on"


def test_the_domain_modules_never_read_the_clock():
    modules = sorted(DOMAIN.glob("*.py"))
    assert {p.name for p in modules} >= {"__init__.py", "ticket.py", "sales_record.py"}
    for path in modules:
        text = path.read_text()
        for call in (".now(", ".today(", "time.time(", "utcnow("):
            assert call not in text, f"{path.name} calls {call}"
