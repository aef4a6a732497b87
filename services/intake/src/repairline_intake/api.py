"""Intake HTTP API: repair requests in, the ticket's whole status out."""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Header, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from repairline_contracts.intake import (
    Channel,
    CityTier,
    Customer,
    Product,
    ServiceMode,
    Urgency,
)
from repairline_intake.domain import decide_request
from repairline_platform.http import NotFound
from repairline_platform.logging import get_logger
from repairline_platform.runtime import Runtime

log = get_logger(__name__)

PhoneNumber = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9 \-]{5,19}$"),
]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Code = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[\w.\-/]+$"),
]


class CustomerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    phone: PhoneNumber | None = Field(default=None, examples=["021-5555 0101"])
    mobile: PhoneNumber | None = Field(default=None, examples=["+86 139 0000 0000"])
    address: Text | None = None
    organisation: Name | None = None
    role: Name | None = None
    business_critical: bool | None = None


class ProductIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line: Code = Field(description="Product line, e.g. instant_water_heater.")
    model: Code | None = None
    serial_no: Code | None = None
    purchase_date: date | None = Field(default=None, description="Invoice date.")


class RepairRequestIn(BaseModel):
    """The facts of INT-3. Missing facts do not reject the request: it needs verification."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
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
                        "serial_no": "SN123456",
                        "purchase_date": "2025-03-01",
                    },
                    "fault_description": "No hot water; error E3 on the display",
                    "customer_wants": "repair",
                    "urgency": "normal",
                }
            ]
        },
    )

    channel: Channel
    region: Code
    city_tier: CityTier
    service_mode: ServiceMode = ServiceMode.ON_SITE
    customer: CustomerIn = Field(default_factory=CustomerIn)
    product: ProductIn
    fault_description: Text
    customer_wants: Text | None = None
    urgency: Urgency = Urgency.NORMAL


class TicketCreated(BaseModel):
    ticket_id: str
    service_request_no: str
    repair_order_no: str
    needs_verification: bool
    verification_issues: list[str]
    event_id: str


def routes(rt: Runtime) -> APIRouter:
    router = APIRouter(tags=["intake"])

    @router.post("/tickets", status_code=201, response_model=TicketCreated)
    async def request_repair(
        body: RepairRequestIn,
        response: Response,
        x_correlation_id: str | None = Header(default=None),
    ) -> TicketCreated:
        """Record a repair request (INT-1..3) and tell the caller its numbers (INT-2)."""
        ticket_id = str(uuid.uuid4())
        correlation_id = x_correlation_id or ticket_id
        async with rt.unit_of_work() as uow:
            seq = await uow.conn.fetchval("select nextval('ticket_numbers')")
            day = uow.now().astimezone(rt.pack.zone).strftime("%Y%m%d")
            event = decide_request(
                rt.pack,
                ticket_id=ticket_id,
                service_request_no=f"SR{day}{seq:06d}",
                repair_order_no=f"RO-{body.region.upper()}-{day}-{seq:06d}",
                channel=body.channel,
                region=body.region,
                city_tier=body.city_tier,
                service_mode=body.service_mode,
                customer=Customer(**body.customer.model_dump()),
                product=Product(**body.product.model_dump()),
                fault_description=body.fault_description,
                customer_wants=body.customer_wants,
                urgency=body.urgency,
                now=uow.now(),
            )
            [env] = await uow.append(
                ticket_id,
                [event],
                expected_version=0,
                correlation_id=correlation_id,
                causation_id=f"http:{correlation_id}",
                region=body.region,
            )
        log.info(
            "repair requested",
            ticket_id=ticket_id,
            event_id=env.id,
            correlation_id=correlation_id,
            needs_verification=event.needs_verification,
        )
        response.headers["Location"] = f"/tickets/{ticket_id}"
        return TicketCreated(
            ticket_id=ticket_id,
            service_request_no=event.service_request_no,
            repair_order_no=event.repair_order_no,
            needs_verification=event.needs_verification,
            verification_issues=list(event.verification_issues),
            event_id=env.id,
        )

    @router.get("/tickets/{ticket_id}")
    async def ticket(ticket_id: str) -> dict[str, Any]:
        """The ticket's current status and its timeline across all four services."""
        view = await rt.pool.fetchrow("select * from ticket_view where ticket_id = $1", ticket_id)
        if view is None:
            raise NotFound(f"no ticket {ticket_id}")
        timeline = await rt.pool.fetch(
            "select event_id, event_type, source, occurred_at, summary from ticket_timeline"
            " where ticket_id = $1 order by occurred_at, event_type",
            ticket_id,
        )
        out = dict(view)
        out["verification_issues"] = json.loads(out["verification_issues"] or "[]")
        out["timeline"] = [
            {
                "event_id": t["event_id"],
                "type": t["event_type"],
                "source": t["source"],
                "time": t["occurred_at"].isoformat(),
                **json.loads(t["summary"]),
            }
            for t in timeline
        ]
        return out

    return router
