"""Intake decisions: pure, over the policy pack and the request's facts."""

from __future__ import annotations

from datetime import datetime

from repairline_contracts.intake import (
    Channel,
    CityTier,
    Customer,
    Product,
    RepairRequested,
    ServiceMode,
    Urgency,
)
from repairline_rules import triage


def verification_issues(pack: object, customer: Customer, product: Product, *, fault: str,
                        customer_wants: str | None, today: datetime) -> tuple[str, ...]:
    """INT-3: which required facts are missing or contradictory."""
    return triage.verification_issues(  # type: ignore[attr-defined]
        pack,
        customer=customer.model_dump(),
        product=product.model_dump(),
        fault_description=fault,
        customer_wants=customer_wants,
        on=today,
    )


def decide_request(
    pack: object,
    *,
    ticket_id: str,
    service_request_no: str,
    repair_order_no: str,
    channel: Channel,
    region: str,
    city_tier: CityTier,
    service_mode: ServiceMode,
    customer: Customer,
    product: Product,
    fault_description: str,
    customer_wants: str | None,
    urgency: Urgency,
    now: datetime,
) -> RepairRequested:
    """INT-1, INT-2, INT-3: record the request; incomplete facts mark it needs-verification."""
    issues = verification_issues(
        pack, customer, product, fault=fault_description, customer_wants=customer_wants, today=now
    )
    return RepairRequested(
        ticket_id=ticket_id,
        service_request_no=service_request_no,
        repair_order_no=repair_order_no,
        channel=channel,
        region=region,
        city_tier=city_tier,
        service_mode=service_mode,
        customer=customer,
        product=product,
        fault_description=fault_description,
        customer_wants=customer_wants,
        urgency=urgency,
        needs_verification=bool(issues),
        verification_issues=issues,
        requested_at=now,
    )
