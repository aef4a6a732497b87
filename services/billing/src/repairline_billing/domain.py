"""Billing decisions: pure, over the policy pack and the facts the ticket carried."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from repairline_contracts.base import Decision
from repairline_contracts.billing import ChargeAssessed, ChargeInputs, ChargeLine
from repairline_rules import fees, warranty
from repairline_rules.packs import PolicyPack


@dataclass(frozen=True)
class TicketFacts:
    """What billing keeps of a RepairRequested."""

    ticket_id: str
    product_line: str
    city_tier: str
    service_mode: str
    purchase_date: date | None


def decide_charge(
    pack: PolicyPack, facts: TicketFacts, *, completed_at: datetime
) -> ChargeAssessed:
    """FEE-1 with WAR-1: the charge for a completed repair, with every input it used."""
    cover = warranty.assess_warranty(
        pack,
        product=facts.product_line,
        on=completed_at.astimezone(pack.zone).date(),
        proof=warranty.Proof(invoice_date=facts.purchase_date),
    )
    charge = fees.assess_charge(
        pack,
        product=facts.product_line,
        city_tier=facts.city_tier,
        service_mode=facts.service_mode,
        unit_in_warranty=cover.unit_in_warranty,
        free_visit=cover.free_visit,
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
            unit_in_warranty=cover.unit_in_warranty,
            purchase_date=facts.purchase_date.isoformat() if facts.purchase_date else None,
            completed_at=completed_at,
        ),
        decision=Decision(
            pack_id=charge.pack_id,
            pack_version=charge.pack_version,
            rule_ids=tuple(dict.fromkeys((*cover.rule_ids, *charge.rule_ids))),
        ),
        assessed_at=completed_at,
    )
