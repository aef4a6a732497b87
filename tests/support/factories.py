"""Valid events and requests with random ids, for tests."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from repairline_contracts.base import Decision
from repairline_contracts.intake import (
    Channel,
    CityTier,
    Customer,
    Product,
    RepairRequested,
    ServiceMode,
    WarrantyDecided,
)


def repair_requested(
    ticket_id: str | None = None,
    *,
    region: str = "cn-east",
    line: str = "instant_water_heater",
    city_tier: CityTier = CityTier.PROVINCIAL_CAPITAL,
    service_mode: ServiceMode = ServiceMode.ON_SITE,
    purchase_date: date | None = date(2024, 1, 10),
) -> RepairRequested:
    ticket_id = ticket_id or str(uuid.uuid4())
    return RepairRequested(
        ticket_id=ticket_id,
        service_request_no=f"SR-{ticket_id[:8]}",
        repair_order_no=f"RO-{ticket_id[:8]}",
        channel=Channel.HOTLINE,
        region=region,
        city_tier=city_tier,
        service_mode=service_mode,
        customer=Customer(name="Test Customer", mobile="13900000000", address="1 Test Road"),
        product=Product(
            line=line, model="WH-30", serial_no=f"SN{ticket_id[:8]}", purchase_date=purchase_date
        ),
        fault_description="no hot water",
        needs_verification=False,
        requested_at=datetime.now(UTC),
    )


def request_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel": "hotline",
        "region": "cn-east",
        "city_tier": "provincial_capital",
        "service_mode": "on_site",
        "customer": {
            "name": "Li Wei",
            "mobile": "+86 139 0000 0000",
            "address": "88 Example Road, Hangzhou",
        },
        "product": {
            "line": "instant_water_heater",
            "model": "WH-30",
            "serial_no": f"SN{uuid.uuid4().hex[:8]}",
            "purchase_date": "2024-03-01",
        },
        "fault_description": "No hot water; error E3 on the display",
        "customer_wants": "repair",
    }
    body.update(overrides)
    return body


def warranty_decided(
    ticket_id: str, *, start_date: date, start_source: str, days_paused: int, at: datetime
) -> WarrantyDecided:
    """Intake's decision that the unit is in warranty, dated as given (WAR-3, WAR-5)."""
    return WarrantyDecided(
        ticket_id=ticket_id,
        unit_in_warranty=True,
        free_visit=True,
        chargeable=False,
        reason="in warranty",
        decided_at=at,
        decision=Decision(pack_id="water-heater", pack_version="2026.1", rule_ids=("WAR-3",)),
        product_line="instant_water_heater",
        service_mode=ServiceMode.ON_SITE,
        start_date=start_date,
        start_source=start_source,
        days_paused=days_paused,
    )
