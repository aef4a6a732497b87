"""Every intake command path on the in-memory unit of work with a fake store: no Kafka,
no PostgreSQL, milliseconds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from repairline_contracts.intake import (
    Channel,
    CityTier,
    Customer,
    DuplicateReported,
    Product,
    RepairRequestRefused,
    SaleRecorded,
    ServiceMode,
)
from repairline_intake import commands
from repairline_intake.commands import Intake
from repairline_intake.domain import sales_record, ticket
from repairline_intake.schemas import ProofIn
from repairline_platform import commands as command_path
from repairline_platform.clock import FixedClock
from repairline_platform.testing import InMemoryEventStore
from repairline_rules import load_pack
from repairline_rules.refusals import IllegalTransition, InvalidInput, NotFound, Refused
from tests.unit.intake.fakes import FakeStore

NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai, a Tuesday
CUSTOMER = Customer(name="Li Wei", mobile="13900000000", address="1 Road")


class World:
    """Intake on an in-memory event store, its fake store and one policy pack."""

    def __init__(self, pack: str = "water-heater") -> None:
        self.events = InMemoryEventStore(FixedClock(NOW))
        self.store = FakeStore(self.events)
        self.pack = load_pack(pack)
        self.intake = Intake(self.events.unit_of_work, lambda now: self.pack, store=self.store)

    async def request(self, **kw: Any) -> command_path.CommandResult:
        return await commands.request_repair(new_request(**kw), self.intake)

    def stream(self, stream_id: str) -> list[Any]:
        return self.events.events(stream_id)


def new_request(**kw: Any) -> ticket.RequestRepair:
    base: dict[str, Any] = {
        "channel": Channel.HOTLINE,
        "region": "cn-east",
        "city_tier": CityTier.PROVINCIAL_CAPITAL,
        "customer": CUSTOMER,
        "product": Product(line="instant_water_heater", model="M", serial_no=None),
        "fault_description": "no hot water",
        "customer_wants": "repair",
        "fault_kind": "hardware",
    }
    return ticket.RequestRepair(**{**base, **kw})


def serial(no: str, **kw: Any) -> Product:
    return Product(line=kw.pop("line", "instant_water_heater"), model="M", serial_no=no, **kw)


async def test_int_2_a_new_request_answers_its_numbers_in_the_one_command_shape():
    world = World()
    with command_path.bound("corr-1", "http:corr-1"):
        result = await world.request()
    answer = result.answer()
    assert answer["events"] == ["RepairRequested"] and answer["version"] == 1
    assert answer["correlation_id"] == "corr-1"
    assert answer["service_request_no"] == "SR20261124000001"
    assert answer["repair_order_no"] == "RO-CN-EAST-20261124-000001"
    assert answer["route"] == "visit" and answer["warranty"] is None
    [env] = world.events.streams[result.stream_id]
    assert (env.id, env.correlationid, env.causationid) == (
        answer["event_ids"][0],
        "corr-1",
        "http:corr-1",
    )
    second = await world.request()
    assert second.data["service_request_no"] == "SR20261124000002"


async def test_int_7_depot_walk_ins_take_the_days_queue_places_and_a_voucher():
    world = World("pc-depot")
    depot = ticket.DepotFacts(data_backup_reminded=True, voucher_signed=True)
    made = [
        await world.request(
            channel=Channel.DEPOT,
            service_mode=ServiceMode.DEPOT,
            product=Product(line="notebook"),
            depot=depot,
        )
        for _ in range(2)
    ]
    assert [m.data["queue_no"] for m in made] == ["Q1124-001", "Q1124-002"]
    assert made[1].data["voucher_no"] == "V20261124000002"
    assert made[0].events == ("RepairRequested", "DepotIntakeRecorded")


async def test_int_7_the_inspection_estimate_is_the_packs_setting():
    world = World("pc-depot")
    pack = world.pack
    assert pack.dispatch.depot_inspection_minutes == 20
    dispatch = pack.dispatch.model_copy(update={"depot_inspection_minutes": 35})
    changed = pack.model_copy(update={"dispatch": dispatch})
    world.intake = Intake(world.events.unit_of_work, lambda now: changed, world.store)
    made = await world.request(
        service_mode=ServiceMode.DEPOT,
        product=Product(line="notebook"),
        depot=ticket.DepotFacts(data_backup_reminded=True, voucher_signed=True),
    )
    depot = world.stream(made.stream_id)[-1]
    assert depot.inspection_expected_at == NOW + timedelta(minutes=35)


async def test_int_7_a_depot_repair_handed_in_on_another_channel_takes_a_queue_place_too():
    world = World("pc-depot")
    made = await world.request(
        service_mode=ServiceMode.DEPOT,
        product=Product(line="notebook"),
        depot=ticket.DepotFacts(data_backup_reminded=True, voucher_signed=True),
    )
    assert made.data["queue_no"] == "Q1124-001"


async def test_int_2_a_request_missing_its_channels_facts_is_invalid_before_any_number_is_taken():
    world = World()
    with pytest.raises(InvalidInput) as err:
        await world.request(channel=Channel.DEPOT, service_mode=ServiceMode.DEPOT)
    assert err.value.field == "depot"
    assert world.store.seq == 0 and world.events.streams == {}


@pytest.mark.parametrize("proof", [None, ticket.ProofFacts(invoice_date=date(2026, 10, 1))])
async def test_war_1_an_unknown_product_line_is_refused_at_intake_naming_the_packs_lines(proof):
    world = World()
    with pytest.raises(InvalidInput) as err:
        await world.request(product=Product(line="toaster"), proof=proof)
    assert err.value.field == "product.line"
    assert "toaster" in err.value.reason and "instant_water_heater" in err.value.reason
    assert world.store.seq == 0 and world.events.streams == {}


async def test_war_1_a_pack_with_terms_for_any_product_takes_any_line():
    made = await World("home-appliance").request(product=Product(line="toaster"))
    assert made.events == ("RepairRequested",)


async def test_int_4_a_refused_dealer_drop_off_is_recorded_and_then_refused():
    world = World()
    with pytest.raises(Refused) as err:
        await world.request(
            channel=Channel.DEALER,
            dealer=ticket.DealerFacts(name="Riverside"),
            customer=Customer(name=None),
        )
    assert err.value.rule_id == "INT-4"
    ticket_id = err.value.details["ticket_id"]
    [refused] = world.stream(ticket_id)
    assert isinstance(refused, RepairRequestRefused)
    assert err.value.details["event_id"] == world.events.streams[ticket_id][0].id


async def test_a_serial_number_on_an_open_ticket_is_noted_there_and_refused_as_a_duplicate():
    world = World()
    first = await world.request(product=serial("SN1"))
    with pytest.raises(IllegalTransition) as err:
        await world.request(product=serial("SN1"), channel=Channel.APP)
    assert err.value.state == "duplicate_of_open_ticket"
    assert first.stream_id in err.value.message
    assert [type(e) for e in world.stream(first.stream_id)][-1] is DuplicateReported
    assert len(world.events.streams) == 1
    world.store.completed.add(first.stream_id)  # once repaired, the serial may come again
    again = await world.request(product=serial("SN1"))
    assert again.stream_id != first.stream_id


async def test_war_3_a_recorded_sale_decides_the_warranty_of_a_request_without_proof():
    world = World()
    sold = sales_record.RecordSale(
        "SN7", product_line="instant_water_heater", sold_on=date(2026, 9, 1)
    )
    recorded = await commands.record_sale(sold, world.intake)
    assert recorded.answer("stream_id") | {"event_ids": []} == {
        "stream_id": "sales-record:SN7",
        "serial_no": "SN7",
        "product_line": "instant_water_heater",
        "model": None,
        "sold_on": date(2026, 9, 1),
        "events": ["SaleRecorded"],
        "event_ids": [],
        "correlation_id": recorded.correlation_id,
        "version": 1,
    }
    made = await world.request(product=serial("SN7"))
    assert made.data["warranty"]["unit_in_warranty"] is True
    assert made.data["warranty"]["chargeable"] is False


async def test_war_3_war_4_a_partial_warranty_update_keeps_the_sale_date_looked_up_by_serial():
    world = World()
    sold = sales_record.RecordSale(
        "SN8", product_line="instant_water_heater", sold_on=date(2026, 9, 1)
    )
    await commands.record_sale(sold, world.intake)
    made = await world.request(product=serial("SN8"))
    volts = ProofIn(supply_voltage_v=Decimal("250")).decision(made.stream_id)
    await commands.decide_warranty(volts, world.intake)
    decided = world.stream(made.stream_id)[-1]
    assert (decided.start_source, decided.start_date) == ("serial_lookup", date(2026, 9, 1))
    assert decided.chargeable and decided.exclusions


async def test_war_3_the_same_sales_record_again_changes_nothing_and_a_correction_replaces_it():
    world = World()
    sold = sales_record.RecordSale(
        "SN8", product_line="instant_water_heater", sold_on=date(2026, 9, 1)
    )
    await commands.record_sale(sold, world.intake)
    same = await commands.record_sale(sold, world.intake)
    assert (same.events, same.version) == ((), 1)
    corrected = sales_record.RecordSale(
        "SN8", product_line="instant_water_heater", sold_on=date(2020, 1, 1)
    )
    fixed = await commands.record_sale(corrected, world.intake)
    assert (fixed.events, fixed.version) == (("SaleRecorded",), 2)
    assert await world.store.sale_date("SN8") == date(2020, 1, 1)
    assert all(isinstance(e, SaleRecorded) for e in world.stream("sales-record:SN8"))


async def test_int_3_verification_lets_a_ticket_with_missing_facts_proceed():
    world = World()
    made = await world.request(customer=Customer(name="Li Wei"))
    assert made.data["needs_verification"] is True
    verify = ticket.VerifyRequest(
        made.stream_id,
        customer=CUSTOMER,
        product=serial("SN2", purchase_date=date(2024, 3, 1)),
        customer_wants="repair",
    )
    done = await commands.verify_request(verify, world.intake)
    assert (done.events, done.version) == (("RequestVerified",), 2)
    with pytest.raises(IllegalTransition) as err:
        await commands.verify_request(verify, world.intake)
    assert err.value.state == "open"


async def test_int_5_fbk_1_guidance_then_a_paid_visit_the_customer_insists_on():
    world = World("home-appliance")
    made = await world.request(product=Product(line="washing_machine"), fault_kind="misuse")
    assert made.data["held_for"] == ["phone_guidance"]
    guided = await commands.give_guidance(ticket.GiveGuidance(made.stream_id, "n"), world.intake)
    assert guided.events == ("PhoneGuidanceGiven",)
    assert world.stream(made.stream_id)[-1].callback_due_at == NOW + timedelta(hours=2)
    visit = await commands.request_visit(ticket.RequestVisit(made.stream_id), world.intake)
    assert visit.events == ("VisitRequested", "WarrantyDecided")
    with pytest.raises(IllegalTransition):
        await commands.give_guidance(ticket.GiveGuidance(made.stream_id, "n"), world.intake)


async def test_war_1_to_war_5_proof_shown_later_decides_the_warranty():
    world = World()
    made = await world.request()
    proof = ticket.ProofFacts(invoice_date=date(2026, 10, 1))
    decided = await commands.decide_warranty(
        ticket.DecideWarranty(made.stream_id, proof), world.intake
    )
    assert decided.events == ("WarrantyDecided",)
    assert world.stream(made.stream_id)[-1].unit_in_warranty is True


async def test_war_3_war_4_a_partial_warranty_update_keeps_the_proof_recorded_at_intake():
    world = World()
    made = await world.request(proof=ticket.ProofFacts(invoice_date=date(2026, 10, 1)))
    assert world.stream(made.stream_id)[-1].unit_in_warranty is True
    volts = ProofIn(supply_voltage_v=Decimal("250")).decision(made.stream_id)
    await commands.decide_warranty(volts, world.intake)
    decided = world.stream(made.stream_id)[-1]
    assert decided.start_source == "invoice" and decided.start_date == date(2026, 10, 1)
    assert "WAR-3" not in decided.reason and decided.exclusions and decided.chargeable
    assert decided.proof.invoice_date == date(2026, 10, 1)
    assert decided.proof.supply_voltage_v == "250"


async def test_war_5_days_waiting_for_the_makers_parts_extend_the_warranty_to_a_war_9_exchange():
    world = World()
    invoiced = NOW.date() - timedelta(days=400)
    submitted = NOW.date() - timedelta(days=91)
    made = await world.request(
        proof=ticket.ProofFacts(invoice_date=invoiced),
        guarantee=ticket.GuaranteeFacts(
            submitted_for_repair_on=submitted, waiting_for_maker_parts=True
        ),
    )
    _, decided, offered = world.stream(made.stream_id)
    assert decided.unit_in_warranty is True and "WAR-5" in decided.decision.rule_ids
    assert decided.unit_ends_on == date(2026, 10, 19) + timedelta(days=91)
    assert "WAR-9" in offered.decision.rule_ids
    assert [(r.kind, r.free) for r in offered.remedies if r.kind == "exchange"] == [
        ("exchange", True)
    ]


async def test_war_5_days_in_repair_stated_with_proof_extend_a_later_decision():
    world = World()
    made = await world.request()
    proof = ticket.ProofFacts(invoice_date=NOW.date() - timedelta(days=380), days_in_repair=20)
    await commands.decide_warranty(ticket.DecideWarranty(made.stream_id, proof), world.intake)
    decided = world.stream(made.stream_id)[-1]
    assert decided.unit_in_warranty is True and "WAR-5" in decided.decision.rule_ids


async def test_war_6_a_return_chosen_closes_the_ticket_and_cannot_be_chosen_twice():
    world = World()
    made = await world.request(
        product=Product(line="instant_water_heater", purchase_date=date(2026, 11, 21)),
        guarantee=ticket.GuaranteeFacts(performance_fault=True),
    )
    assert made.data["remedies"] == ["return", "exchange", "repair"]
    chosen = await commands.choose_remedy(
        ticket.ChooseRemedy(made.stream_id, "return"), world.intake
    )
    assert chosen.events == ("RemedyChosen", "TicketClosed")
    with pytest.raises(IllegalTransition) as err:
        await commands.choose_remedy(ticket.ChooseRemedy(made.stream_id, "return"), world.intake)
    assert err.value.state == "closed"


async def test_a_ticket_is_cancelled_unless_its_repair_is_completed():
    world = World()
    done, open_ = await world.request(), await world.request()
    world.store.completed.add(done.stream_id)
    with pytest.raises(IllegalTransition) as err:
        await commands.cancel_ticket(ticket.CancelTicket(done.stream_id, "r"), world.intake)
    assert err.value.state == "repair_completed"
    cancelled = await commands.cancel_ticket(
        ticket.CancelTicket(open_.stream_id, "r"), world.intake
    )
    assert cancelled.events == ("TicketCancelled",)


async def test_int_8_the_customer_is_called_once_repaired_and_hands_over_the_voucher():
    world = World("pc-depot")
    made = await world.request(
        channel=Channel.DEPOT,
        service_mode=ServiceMode.DEPOT,
        product=Product(line="notebook"),
        depot=ticket.DepotFacts(data_backup_reminded=True, voucher_signed=True),
    )
    call = ticket.CallForPickup(made.stream_id)
    with pytest.raises(IllegalTransition) as err:
        await commands.call_for_pickup(call, world.intake)
    assert err.value.state == "in_repair"
    world.store.completed.add(made.stream_id)
    assert (await commands.call_for_pickup(call, world.intake)).events == (
        "CustomerCalledForPickup",
    )
    hand = ticket.HandOver(made.stream_id, made.data["voucher_no"], True, True, fee_told_fen=0)
    picked = await commands.hand_over(hand, world.intake)
    assert (picked.events, picked.version) == (("PickedUp",), 4)


async def test_a_command_on_a_ticket_nobody_requested_is_not_found():
    world = World()
    with pytest.raises(NotFound):
        await commands.cancel_ticket(ticket.CancelTicket("nope", "r"), world.intake)
