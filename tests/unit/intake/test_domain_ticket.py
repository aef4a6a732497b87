"""Intake's ticket as pure decisions: channels, triage, warranty, remedies, depot."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
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
from repairline_intake.domain import ticket as domain
from repairline_intake.domain.ticket import RequestRepair
from repairline_rules import load_pack
from repairline_rules.refusals import IllegalTransition, InvalidInput, Refused

NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
TODAY = date(2026, 11, 24)
NUMBERS = domain.TicketNumbers(day="20261124", seq=1, queue_place=1)


def request(**kw: Any) -> RequestRepair:
    base: dict[str, Any] = {
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
    return RequestRepair(**base)


def decide(
    pack: str = "water-heater", *, sold_on_by_serial: date | None = None, **kw: Any
) -> list[Any]:
    new = domain.IntakeTicket(str(uuid.uuid4()))
    return domain.decide_request(
        new,
        request(**kw),
        numbers=NUMBERS,
        sold_on_by_serial=sold_on_by_serial,
        pack=load_pack(pack),
        now=NOW,
    )


def test_int_1_int_3_a_plain_request_is_one_event_sent_to_a_visit():
    [event] = decide()
    assert isinstance(event, RepairRequested)
    assert event.triage is not None and event.triage.route == "visit"
    assert event.held_for == () and not event.needs_verification


def test_int_2_the_request_is_numbered_by_the_business_day_and_its_region():
    [event] = decide()
    assert event.service_request_no == "SR20261124000001"
    assert event.repair_order_no == "RO-CN-EAST-20261124-000001"
    assert domain.business_day(load_pack("water-heater"), NOW) == "20261124"


def test_int_2_int_7_each_channel_brings_what_it_must_before_anything_is_counted():
    with pytest.raises(InvalidInput) as err:
        domain.check_request(request(channel=Channel.DEALER))
    assert err.value.field == "dealer"
    with pytest.raises(InvalidInput) as err:
        domain.check_request(request(channel=Channel.DEPOT))
    assert err.value.field == "service_mode"
    with pytest.raises(InvalidInput) as err:
        domain.check_request(request(channel=Channel.DEPOT, service_mode=ServiceMode.DEPOT))
    assert err.value.field == "depot"


def test_int_4_a_dealer_drop_off_without_the_end_customer_is_refused_with_the_reason():
    with pytest.raises(Refused) as err:
        decide(channel=Channel.DEALER, customer=Customer(name="Li Wei"))
    [event] = err.value.events
    assert "contact" in event.reason
    assert event.decision.rule_ids == ("INT-4",)


def test_int_5_misuse_goes_to_guidance_first_and_an_insisting_customer_pays_the_visit():
    pack = load_pack("home-appliance")
    [requested] = decide("home-appliance", fault_kind="misuse")
    assert requested.held_for == ("phone_guidance",)
    ticket = domain.fold(requested.ticket_id, [requested])
    [guided] = domain.decide_guidance(
        ticket, domain.GiveGuidance(ticket.ticket_id, "n"), pack=pack, now=NOW
    )
    assert guided.callback_due_at == NOW + timedelta(hours=2)  # FBK-1
    insist = domain.RequestVisit(ticket.ticket_id, reason="customer_insists")
    events = domain.decide_visit_request(ticket, insist, pack=pack, now=NOW)
    assert [type(e) for e in events] == [VisitRequested, WarrantyDecided]
    assert events[1].chargeable and "INT-5" in events[1].decision.rule_ids
    after = domain.fold(requested.ticket_id, [requested, guided, *events])
    with pytest.raises(IllegalTransition) as err:
        again = domain.RequestVisit(ticket.ticket_id, reason="again")
        domain.decide_visit_request(after, again, pack=pack, now=NOW)
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


def test_int_5_war_4_the_request_says_whether_a_warranty_decision_follows_it():
    [plain] = decide()
    assert plain.warranty_decision_follows is False
    requested, decided = decide(
        "software-support",
        fault_kind="software",
        customer_insists_on_visit=True,
        product=Product(line="erp"),
    )
    assert requested.warranty_decision_follows is True and isinstance(decided, WarrantyDecided)


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


def test_war_1_to_war_5_an_unknown_product_line_is_invalid_input_naming_the_field():
    with pytest.raises(InvalidInput) as err:
        decide(product=Product(line="spaceship"), proof=domain.ProofFacts(invoice_date=TODAY))
    assert err.value.field == "product.line"


def test_war_6_to_war_8_remedies_hold_the_ticket_until_the_customer_chooses():
    events = decide(
        product=Product(line="instant_water_heater", purchase_date=TODAY - timedelta(days=3)),
        guarantee=domain.GuaranteeFacts(performance_fault=True),
    )
    requested, offered = events
    assert isinstance(offered, RemedyOffered) and requested.held_for == ("remedy_choice",)
    ticket = domain.fold(requested.ticket_id, events)
    exchange = domain.ChooseRemedy(ticket.ticket_id, kind="exchange")
    chosen = domain.decide_remedy(ticket, exchange, now=NOW)
    assert isinstance(chosen[-1], TicketClosed) and chosen[-1].reason == "exchanged"
    closed = domain.fold(requested.ticket_id, [*events, *chosen])
    with pytest.raises(IllegalTransition) as err:
        domain.decide_remedy(closed, domain.ChooseRemedy(ticket.ticket_id, "return"), now=NOW)
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
    )
    depot = events[-1]
    assert isinstance(depot, DepotIntakeRecorded)
    assert (depot.queue_no, depot.voucher_no) == ("Q1124-001", "V20261124000001")
    assert depot.inspection_expected_at == NOW + timedelta(minutes=20)
    assert depot.promised_repair_by is not None and "DSP-3" in depot.decision.rule_ids
    ticket = domain.fold(depot.ticket_id, events)
    call = domain.CallForPickup(ticket.ticket_id, reached=True)
    with pytest.raises(IllegalTransition) as err:
        domain.decide_ready_call(ticket, call, repair_completed=False, now=NOW)
    assert err.value.state == "in_repair"
    [called] = domain.decide_ready_call(ticket, call, repair_completed=True, now=NOW)
    ready = domain.evolve(ticket, called)
    with pytest.raises(IllegalTransition) as err:
        domain.decide_pickup(ready, hand_over(ticket, "V2", fee=None), pack=pack, now=NOW)
    assert err.value.state == "ready_for_pickup"
    [picked] = domain.decide_pickup(
        ready, hand_over(ticket, depot.voucher_no, fee=0), pack=pack, now=NOW
    )
    assert domain.evolve(ready, picked).state == "closed"


def hand_over(ticket: domain.IntakeTicket, voucher_no: str, fee: int | None) -> domain.HandOver:
    return domain.HandOver(
        ticket.ticket_id,
        voucher_no=voucher_no,
        tested_by_customer=True,
        acceptance_signed=True,
        fee_told_fen=fee,
    )


def test_int_3_verification_completes_the_facts_or_names_what_is_still_missing():
    pack = load_pack("water-heater")
    [requested] = decide(customer=Customer(name="Li Wei"))
    ticket = domain.fold(requested.ticket_id, [requested])
    assert ticket.status == "needs_verification"

    def verify(customer: Customer) -> domain.VerifyRequest:
        return domain.VerifyRequest(
            ticket.ticket_id,
            customer=customer,
            product=requested.product,
            customer_wants="repair",
            urgency=Urgency.NORMAL,
            location=None,
        )

    with pytest.raises(IllegalTransition, match="still: missing: address") as err:
        domain.decide_verification(
            ticket, verify(Customer(name="Li", mobile="139000000")), pack=pack, now=NOW
        )
    assert err.value.state == "needs_verification"
    [verified] = domain.decide_verification(
        ticket,
        verify(Customer(name="Li", mobile="139000000", address="1 Road")),
        pack=pack,
        now=NOW,
    )
    assert domain.evolve(ticket, verified).status == "open"


def test_a_cancelled_or_completed_ticket_cannot_be_cancelled_again():
    [requested] = decide()
    ticket = domain.fold(requested.ticket_id, [requested])
    cancel = domain.CancelTicket(ticket.ticket_id, reason="r")
    with pytest.raises(IllegalTransition) as err:
        domain.decide_cancellation(ticket, cancel, repair_completed=True, now=NOW)
    assert err.value.state == "repair_completed"
    [event] = domain.decide_cancellation(ticket, cancel, repair_completed=False, now=NOW)
    cancelled = domain.evolve(ticket, event)
    with pytest.raises(IllegalTransition) as err:
        domain.decide_cancellation(cancelled, cancel, repair_completed=False, now=NOW)
    assert err.value.state == "cancelled"


def test_a_repeated_serial_number_is_noted_on_its_open_ticket_and_refused_with_a_409_state():
    [requested] = decide()
    ticket = domain.fold(requested.ticket_id, [requested])
    [noted] = domain.decide_duplicate(ticket, request(channel=Channel.APP), now=NOW)
    assert (noted.ticket_id, noted.serial_no, noted.channel) == (ticket.ticket_id, "S1", "app")
    refusal = domain.duplicate_refusal("S1", ticket.ticket_id)
    assert refusal.state == "duplicate_of_open_ticket" and ticket.ticket_id in refusal.message


def test_war_3_int_3_a_proof_without_a_date_is_dated_by_the_stated_purchase_date():
    volts = domain.ProofFacts(supply_voltage_v=Decimal(220))
    recent = Product(line="instant_water_heater", purchase_date=TODAY - timedelta(days=30))
    _, warranty = decide(product=recent, proof=volts)
    assert (warranty.start_source, warranty.start_date) == ("stated", TODAY - timedelta(days=30))
    assert warranty.unit_in_warranty and not warranty.chargeable
    assert "INT-3" in warranty.decision.rule_ids
    # stated 2024-03-01: out of its 12 months, as billing and feedback count it too
    _, old = decide(proof=volts)
    assert old.start_source == "stated" and old.exclusions == ("expired",) and old.chargeable


def test_war_3_war_6_the_proof_or_the_sale_record_not_the_stated_date_dates_the_sale():
    fault = domain.GuaranteeFacts(performance_fault=True)
    stated_recently = Product(line="instant_water_heater", purchase_date=TODAY - timedelta(days=3))
    # the serial number's sale record says 100 days: no WAR-6 return, no WAR-7 exchange
    looked_up = decide(
        product=stated_recently, guarantee=fault, sold_on_by_serial=TODAY - timedelta(days=100)
    )
    assert not any(isinstance(e, RemedyOffered) for e in looked_up)
    assert looked_up[1].start_source == "serial_lookup"
    # a warranty card dated 3 days ago decides over a stated date 100 days ago
    stated_long_ago = Product(
        line="instant_water_heater", purchase_date=TODAY - timedelta(days=100)
    )
    card = domain.ProofFacts(warranty_card_date=TODAY - timedelta(days=3))
    carded = decide(product=stated_long_ago, guarantee=fault, proof=card)
    offered = next(e for e in carded if isinstance(e, RemedyOffered))
    assert [m.kind for m in offered.remedies] == ["return", "exchange", "repair"]


def test_int_5_war_5_a_paid_visit_keeps_the_date_the_warranty_runs_from():
    invoice = domain.ProofFacts(invoice_date=TODAY - timedelta(days=30))
    _, paid = decide(fault_kind="misuse", customer_insists_on_visit=True, proof=invoice)
    assert paid.chargeable and paid.reason.startswith("INT-5")
    assert (paid.start_source, paid.start_date) == ("invoice", TODAY - timedelta(days=30))


def test_war_5_the_decision_publishes_the_days_that_moved_the_warranty_end():
    waited = domain.GuaranteeFacts(
        waiting_for_maker_parts=True, submitted_for_repair_on=TODAY - timedelta(days=10)
    )
    proof = domain.ProofFacts(invoice_date=date(2025, 6, 1), days_in_repair=5)
    decided = next(
        e for e in decide(proof=proof, guarantee=waited) if isinstance(e, WarrantyDecided)
    )
    assert decided.days_paused == 15
    assert decided.unit_ends_on == date(2026, 5, 31) + timedelta(days=15)
