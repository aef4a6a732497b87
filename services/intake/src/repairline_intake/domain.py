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
from repairline_rules.packs import PolicyPack


def verification_issues(
    pack: PolicyPack,
    customer: Customer,
    product: Product,
    *,
    fault: str,
    customer_wants: str | None,
    urgency: Urgency,
    received_at: datetime,
) -> tuple[str, ...]:
    """INT-3: the facts that are missing or contradictory (never a rejection)."""
    decided = triage.check_request_facts(
        pack,
        facts=triage.RequestFacts(
            customer_name=customer.name,
            address=customer.address,
            phone=customer.phone,
            mobile=customer.mobile,
            product_model=product.model,
            serial_number=product.serial_no,
            purchase_date=product.purchase_date,
            fault_description=fault,
            customer_wants=customer_wants,
            urgency=urgency.value,
            business_customer=customer.organisation is not None,
            organisation=customer.organisation,
            role=customer.role,
            business_critical=customer.business_critical,
        ),
        received_at=received_at,
    )
    return (*(f"missing: {m}" for m in decided.missing), *decided.contradictions)


def decide_request(
    pack: PolicyPack,
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
        pack,
        customer,
        product,
        fault=fault_description,
        customer_wants=customer_wants,
        urgency=urgency,
        received_at=now,
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
