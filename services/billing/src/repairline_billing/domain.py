"""Billing decisions: pure, over the policy pack and the facts the ticket carried."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from repairline_contracts.base import Decision
from repairline_contracts.billing import ChargeAssessed, ChargeInputs, ChargeLine
from repairline_rules import fees, warranty


@dataclass(frozen=True)
class TicketFacts:
    """What billing keeps of a RepairRequested."""

    ticket_id: str
    product_line: str
    city_tier: str
    service_mode: str
    purchase_date: date | None


def decide_charge(pack: object, facts: TicketFacts, *, completed_at: datetime) -> ChargeAssessed:
    """FEE-1 with WAR-1: the charge for a completed repair, with every input it used."""
    in_warranty = warranty.unit_in_warranty(
        pack,  # type: ignore[arg-type]
        product=facts.product_line,
        purchase_date=facts.purchase_date,
        on=completed_at,
    )
    charge = fees.assess_charge(
        pack,  # type: ignore[arg-type]
        product=facts.product_line,
        city_tier=facts.city_tier,
        service_mode=facts.service_mode,
        unit_in_warranty=in_warranty.in_warranty,
    )
    return ChargeAssessed(
        ticket_id=facts.ticket_id,
        total_fen=charge.total_fen,
        lines=tuple(
            ChargeLine(
                code=line.code,
                description=line.description,
                amount_fen=line.amount_fen,
                rule_id=line.rule_id,
                reason=line.reason,
            )
            for line in charge.lines
        ),
        inputs=ChargeInputs(
            product_line=facts.product_line,
            city_tier=facts.city_tier,
            service_mode=facts.service_mode,
            unit_in_warranty=in_warranty.in_warranty,
            purchase_date=facts.purchase_date.isoformat() if facts.purchase_date else None,
            completed_at=completed_at,
        ),
        decision=Decision(
            pack_id=charge.pack_id,
            pack_version=charge.pack_version,
            rule_ids=tuple(dict.fromkeys((*in_warranty.rule_ids, *charge.rule_ids))),
        ),
        assessed_at=completed_at,
    )
