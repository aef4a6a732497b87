"""Intake's ticket lifecycle as pure decisions: channels, triage, warranty, remedies, depot."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from repairline_contracts.intake import (
    Channel,
    CityTier,
    Customer,
    DepotIntakeRecorded,
    Product,
    RemedyOffered,
    RepairRequested,
    ServiceMode,
    TicketClosed,
    Urgency,
    VisitRequested,
    WarrantyDecided,
)
from repairline_intake import domain
from repairline_intake.domain import IllegalTransition, NewRequest, RequestRefused
from repairline_rules import load_pack

NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
TODAY = date(2026, 11, 24)


def request(pack: str = "water-heater", **kw: Any) -> NewRequest:
    base: dict[str, Any] = {
        "ticket_id": str(uuid.uuid4()),
        "service_request_no": "SR1",
        "repair_order_no": "RO1",
        "channel": Channel.HOTLINE,
        "region": "cn-east",
        "city_tier": CityTier.PROVINCIAL_CAPITAL,
        "service_mode": ServiceMode.ON_SITE,
        "customer": Customer(name="Li Wei", mobile="13900000000", address="1 Road"),
        "product": Product(
            line="instant_water_heater", model="M", serial_no="S1", purchase_date=date(2024, 3, 1)
        ),
        "fault_description": "no hot water",
        "customer_wants": "repair",
        "urgency": Urgency.NORMAL,
    }
    base.update(kw)
    return NewRequest(**base)


def decide(pack: str = "water-heater", **kw: Any) -> list[Any]:
    return domain.decide_intake(load_pack(pack), request(pack, **kw), now=NOW)


def test_int_1_int_3_a_plain_request_is_one_event_sent_to_a_visit():
    [event] = decide()
    assert isinstance(event, RepairRequested)
    assert event.triage is not None and event.triage.route == "visit"
    assert event.held_for == () and not event.needs_verification


def test_int_4_a_dealer_drop_off_without_the_end_customer_is_refused_with_the_reason():
    with pytest.raises(RequestRefused) as err:
        decide(channel=Channel.DEALER, customer=Customer(name="Li Wei"))
    assert "contact" in err.value.event.reason
    assert err.value.event.decision.rule_ids == ("INT-4",)


def test_int_5_misuse_goes_to_guidance_first_and_an_insisting_customer_pays_the_visit():
    pack = load_pack("home-appliance")
    [requested] = decide("home-appliance", fault_kind="misuse")
    assert requested.held_for == ("phone_guidance",)
    ticket = domain.fold(requested.ticket_id, [requested])
    guided = domain.decide_guidance(pack, ticket, notes="n", now=NOW)
    assert guided.callback_due_at == NOW + timedelta(hours=2)  # FBK-1
    events = domain.decide_visit_request(pack, ticket, reason="customer_insists", now=NOW)
    assert [type(e) for e in events] == [VisitRequested, WarrantyDecided]
    assert events[1].chargeable and "INT-5" in events[1].decision.rule_ids
    after = domain.fold(requested.ticket_id, [requested, guided, *events])
    with pytest.raises(IllegalTransition) as err:
        domain.decide_visit_request(pack, after, reason="again", now=NOW)
    assert err.value.state == "open"


def test_int_5_a_software_visit_is_quoted_as_paid_at_once_when_the_customer_insists():
    events = decide(
        "software-support",
        fault_kind="software",
        customer_insists_on_visit=True,
        product=Product(line="erp"),
    )
    assert events[0].triage.route == "visit"
    assert isinstance(events[1], WarrantyDecided) and events[1].chargeable


def test_war_1_a_part_in_warranty_is_free_while_the_visit_is_charged():
    proof = domain.ProofFacts(
        invoice_date=TODAY - timedelta(days=600), suspect_parts=("heating_element",)
    )
    _, warranty = decide(proof=proof)
    assert isinstance(warranty, WarrantyDecided)
    assert not warranty.unit_in_warranty and warranty.chargeable
    assert warranty.parts[0].covered


def test_war_2_pc_depot_in_warranty_outside_the_free_on_site_period():
    proof = domain.ProofFacts(invoice_date=TODAY - timedelta(days=540))
    _, on_site = decide("pc-depot", product=Product(line="notebook"), proof=proof)
    assert on_site.unit_in_warranty and not on_site.free_visit and on_site.chargeable
    assert on_site.options == ("paid_visit", "free_depot_repair")
    _, depot = decide(
        "pc-depot", product=Product(line="notebook"), proof=proof, service_mode=ServiceMode.DEPOT
    )
    assert not depot.chargeable


def test_war_3_without_proof_the_serial_numbers_sale_date_decides():
    _, warranty = decide(sold_on_by_serial=TODAY - timedelta(days=60))
    assert warranty.start_source == "serial_lookup" and not warranty.chargeable
    assert len(decide()) == 1  # neither proof nor a sales record: decided later


def test_war_4_a_card_for_another_serial_number_makes_the_repair_chargeable():
    proof = domain.ProofFacts(invoice_date=TODAY - timedelta(days=30), card_serial_no="OTHER")
    _, warranty = decide(proof=proof)
    assert "card_mismatch" in warranty.exclusions and warranty.chargeable


def test_war_6_to_war_8_remedies_hold_the_ticket_until_the_customer_chooses():
    events = decide(
        product=Product(line="instant_water_heater", purchase_date=TODAY - timedelta(days=3)),
        guarantee=domain.GuaranteeFacts(performance_fault=True),
    )
    requested, offered = events
    assert isinstance(offered, RemedyOffered) and requested.held_for == ("remedy_choice",)
    ticket = domain.fold(requested.ticket_id, events)
    chosen = domain.decide_remedy(ticket, kind="exchange", now=NOW)
    assert isinstance(chosen[-1], TicketClosed) and chosen[-1].reason == "exchanged"
    closed = domain.fold(requested.ticket_id, [*events, *chosen])
    with pytest.raises(IllegalTransition) as err:
        domain.decide_remedy(closed, kind="return", now=NOW)
    assert err.value.state == "closed"
    software = decide(
        "software-support",
        product=Product(line="erp", purchase_date=TODAY),
        guarantee=domain.GuaranteeFacts(performance_fault=True),
    )
    assert len(software) == 1  # no three guarantees in that pack


def test_int_7_int_8_depot_intake_then_pickup_with_the_voucher():
    pack = load_pack("pc-depot")
    events = decide(
        "pc-depot",
        channel=Channel.DEPOT,
        service_mode=ServiceMode.DEPOT,
        product=Product(line="notebook"),
        depot=domain.DepotFacts(data_backup_reminded=True, voucher_signed=True),
        queue_no="Q1124-001",
        voucher_no="V1",
    )
    depot = events[-1]
    assert isinstance(depot, DepotIntakeRecorded)
    assert depot.inspection_expected_at == NOW + timedelta(minutes=20)
    assert depot.promised_repair_by is not None and "DSP-3" in depot.decision.rule_ids
    ticket = domain.fold(depot.ticket_id, events)
    with pytest.raises(IllegalTransition) as err:
        domain.decide_ready_call(ticket, repair_completed=False, reached=True, now=NOW)
    assert err.value.state == "in_repair"
    called = domain.decide_ready_call(ticket, repair_completed=True, reached=True, now=NOW)
    ready = domain.evolve(ticket, called)
    with pytest.raises(IllegalTransition) as err:
        domain.decide_pickup(
            pack,
            ready,
            voucher_no="V2",
            tested_by_customer=True,
            acceptance_signed=True,
            fee_told_fen=None,
            now=NOW,
        )
    assert err.value.state == "ready_for_pickup"
    picked = domain.decide_pickup(
        pack,
        ready,
        voucher_no="V1",
        tested_by_customer=True,
        acceptance_signed=True,
        fee_told_fen=0,
        now=NOW,
    )
    assert domain.evolve(ready, picked).state == "closed"


def test_int_3_verification_completes_the_facts_or_names_what_is_still_missing():
    pack = load_pack("water-heater")
    [requested] = decide(customer=Customer(name="Li Wei"))
    ticket = domain.fold(requested.ticket_id, [requested])
    assert ticket.status == "needs_verification"
    with pytest.raises(IllegalTransition, match="still: missing: address") as err:
        domain.decide_verification(
            pack,
            ticket,
            customer=Customer(name="Li", mobile="139000000"),
            product=requested.product,
            customer_wants="repair",
            urgency=Urgency.NORMAL,
            location=None,
            now=NOW,
        )
    assert err.value.state == "needs_verification"
    verified = domain.decide_verification(
        pack,
        ticket,
        customer=Customer(name="Li", mobile="139000000", address="1 Road"),
        product=requested.product,
        customer_wants="repair",
        urgency=Urgency.NORMAL,
        location=None,
        now=NOW,
    )
    assert domain.evolve(ticket, verified).status == "open"


def test_a_cancelled_or_completed_ticket_cannot_be_cancelled_again():
    [requested] = decide()
    ticket = domain.fold(requested.ticket_id, [requested])
    with pytest.raises(IllegalTransition) as err:
        domain.decide_cancellation(ticket, reason="r", repair_completed=True, now=NOW)
    assert err.value.state == "repair_completed"
    cancelled = domain.evolve(
        ticket, domain.decide_cancellation(ticket, reason="r", repair_completed=False, now=NOW)
    )
    with pytest.raises(IllegalTransition) as err:
        domain.decide_cancellation(cancelled, reason="r", repair_completed=False, now=NOW)
    assert err.value.state == "cancelled"
