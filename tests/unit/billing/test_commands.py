"""Every command path of billing, on the in-memory unit of work with a fake store."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from repairline_billing import commands
from repairline_billing.commands import Billing
from repairline_billing.domain import outlet, penalty
from repairline_billing.domain.account import (
    AcceptQuote,
    ChargeRepair,
    FileServiceRecord,
    HandInForm,
    IssueQuote,
    RefuseQuote,
    ReportRemoteService,
)
from repairline_billing.domain.assessment import AssessEngineer, AssessmentFact
from repairline_billing.domain.outlet import ChangeOutlet, RegisterContract
from repairline_billing.domain.penalty import (
    AppealPenalty,
    CheckForms,
    CheckRecord,
    JudgeComplaint,
    NoteMissedAppointment,
    RecordUnreachable,
    RulePenalty,
    VerifiedComplaint,
)
from repairline_billing.domain.pricing import IntakeWarranty, QuoteRequest, TicketFacts
from repairline_billing.domain.settlement import FineStanding, IssueStatement, PeriodItems
from repairline_billing.domain.trip import GrantTrip
from repairline_billing.store import Position
from repairline_contracts.billing import Evidence
from repairline_platform.clock import FixedClock
from repairline_platform.commands import bound
from repairline_platform.testing import InMemoryEventStore
from repairline_rules import load_pack
from repairline_rules.refusals import IllegalTransition, NotCaughtUp, NotFound

from .fakes import FakeStore

WH = load_pack("water-heater")
SW = load_pack("software-support")
SH = ZoneInfo("Asia/Shanghai")
START = datetime(2030, 6, 3, 10, 0, tzinfo=SH)  # a Monday


def ticket(ticket_id: str = "t1", purchase: date | None = date(2024, 1, 10)) -> TicketFacts:
    return TicketFacts(
        ticket_id=ticket_id,
        product_line="instant_water_heater",
        city_tier="provincial_capital",
        service_mode="on_site",
        purchase_date=purchase,
        serial_no="SN1",
        engineer_id="e1",
        outlet_id="o1",
    )


class World:
    """The in-memory event store, the fake store and billing's commands over them."""

    def __init__(self, pack=WH) -> None:
        self.clock = FixedClock(START)
        self.memory = InMemoryEventStore(self.clock)
        self.reads = FakeStore(self.memory, roster={"e1": "o1"})
        self.billing = Billing(
            lambda now: pack, self.memory.unit_of_work, reads=lambda _: self.reads
        )

    def add_ticket(self, ticket_id: str = "t1", **kw) -> None:
        self.reads.tickets[ticket_id] = (ticket(ticket_id, **kw), "cn-east")

    async def run(self, command, cmd, *, corr: str = "corr-1"):
        with bound(corr, f"http:{corr}"):
            return await self.billing.execute(command, cmd)

    def types(self, stream_id: str) -> list[str]:
        return [type(e).__name__ for e in self.memory.events(stream_id)]


@pytest.fixture
def world() -> World:
    return World()


# -- the account: FEE-4 quotes, invoices, forms and records -------------------------------


async def test_fee_4_a_quote_accepted_is_what_the_completed_repair_is_invoiced_by(world):
    world.add_ticket()
    quoted = await world.run(
        commands.issue_quote, IssueQuote("t1", "q1", QuoteRequest(parts=(("heating_element", 1),)))
    )
    accepted = await world.run(commands.answer_quote, AcceptQuote("t1", "q1"))
    invoiced = await world.run(commands.charge_repair, ChargeRepair("t1", START))
    assert world.types("t1") == ["QuoteIssued", "QuoteAccepted", "ChargeAssessed"]
    [quote, _, invoice] = world.memory.events("t1")
    assert invoice.quote_id == "q1" and invoice.total_fen == quote.total_fen
    assert accepted.answer()["event"] == "repairline.billing.QuoteAccepted"
    assert (quoted.version, accepted.version, invoiced.version) == (1, 2, 3)
    assert {env.correlationid for env in world.memory.streams["t1"]} == {"corr-1"}


async def test_fee_4_a_ticket_billing_has_not_seen_cannot_be_quoted(world):
    with pytest.raises(NotFound):
        await world.run(commands.issue_quote, IssueQuote("t9", "q1", QuoteRequest()))
    assert world.memory.streams == {}


async def test_fee_4_only_the_latest_open_quote_is_answered_and_a_refusal_records_nothing_else(
    world,
):
    world.add_ticket()
    await world.run(commands.issue_quote, IssueQuote("t1", "q1", QuoteRequest()))
    await world.run(commands.issue_quote, IssueQuote("t1", "q2", QuoteRequest()))
    with pytest.raises(IllegalTransition) as superseded:
        await world.run(commands.answer_quote, AcceptQuote("t1", "q1"))
    assert superseded.value.state == "quote_issued"
    await world.run(commands.answer_quote, RefuseQuote("t1", "q2", "too dear"))
    with pytest.raises(IllegalTransition):
        await world.run(commands.answer_quote, AcceptQuote("t1", "q2"))
    assert world.types("t1") == ["QuoteIssued", "QuoteIssued", "QuoteRefused"]


async def test_fee_1_a_completion_before_its_request_is_parked_then_invoiced_once(world):
    with bound("corr-done", "ev-done"):
        async with world.memory.unit_of_work() as uow:
            parked = await commands.charge_repair(ChargeRepair("t1", START), uow, world.billing)
    assert parked is None and world.memory.streams == {}
    world.add_ticket()
    async with world.memory.unit_of_work() as uow:
        resumed = await commands.resume_charge("t1", uow, world.billing)
    assert resumed is not None and resumed.correlation_id == "corr-done"
    [invoice] = world.memory.streams["t1"]
    assert invoice.causationid == "ev-done"
    again = await world.run(commands.charge_repair, ChargeRepair("t1", START))
    assert again.events == () and world.types("t1") == ["ChargeAssessed"]


async def test_fee_1_int_5_a_parked_completion_waits_for_the_record_after_its_request(world):
    with bound("corr-done", "ev-done"):
        async with world.memory.unit_of_work() as uow:
            await commands.charge_repair(ChargeRepair("t1", START), uow, world.billing)
    world.add_ticket()
    request = Position("intake", 0, 7)
    with bound("corr-asked", "ev-asked"):
        async with world.memory.unit_of_work() as uow:
            await commands.await_warranty("t1", request, uow, world.billing)
            await commands.resume_charges_after(request, uow, world.billing)
    assert world.memory.streams == {}  # the request is the last record seen: still parked
    [timer] = world.memory.timers.values()
    assert timer.kind == commands.WARRANTY_WAIT and timer.due_at > START

    async with world.memory.unit_of_work() as uow:
        await commands.resume_charges_after(Position("intake", 0, 8), uow, world.billing)
    [invoice] = world.memory.streams["t1"]
    assert invoice.causationid == "ev-done"


async def test_int_5_war_4_a_completion_waits_for_the_warranty_decision_its_request_promised(
    world,
):
    world.add_ticket(purchase=date(2030, 1, 10))  # in warranty by its purchase date
    world.reads.warranty_awaited.add("t1")  # RepairRequested said a WarrantyDecided follows
    with bound("corr-done", "ev-done"):
        async with world.memory.unit_of_work() as uow:
            parked = await commands.charge_repair(ChargeRepair("t1", START), uow, world.billing)
    assert parked is None and world.memory.streams == {}
    async with world.memory.unit_of_work() as uow:
        still = await commands.resume_charge("t1", uow, world.billing)
    assert still is None and world.memory.streams == {}  # parked again, not invoiced

    facts, region = world.reads.tickets["t1"]
    decided = IntakeWarranty(False, False, True, "WAR-4: misuse")  # the decision arrived
    world.reads.tickets["t1"] = (replace(facts, intake_warranty=decided), region)
    world.reads.warranty_awaited.discard("t1")
    async with world.memory.unit_of_work() as uow:
        resumed = await commands.resume_charge("t1", uow, world.billing)
    assert resumed is not None and resumed.correlation_id == "corr-done"
    [invoice] = world.memory.events("t1")
    assert invoice.total_fen > 0  # charged on the decision, not free by its purchase date


async def test_pen_2_pen_3_forms_and_records_are_filed_on_a_known_ticket_only(world):
    world.add_ticket()
    form = await world.run(commands.file_on_ticket, HandInForm("t1", "acceptance", "e1"))
    record = await world.run(commands.file_on_ticket, FileServiceRecord("t1", "visit", "e1"))
    assert world.types("t1") == ["ServiceFormHandedIn", "ServiceRecordFiled"]
    assert (form.version, record.version) == (1, 2)
    with pytest.raises(NotFound):
        await world.run(commands.file_on_ticket, HandInForm("t9", "acceptance"))


async def test_pen_4_a_remote_service_report_starts_its_record_clock():
    world = World(SW)
    reported = await world.run(commands.report_remote_service, ReportRemoteService("t1", "e1"))
    [timer] = world.memory.timers.values()
    assert timer.kind == penalty.REMOTE_RECORD_CHECK
    assert timer.timer_id == f"remote-record:{reported.event_ids[0]}"
    assert timer.due_at > START and timer.correlation_id == "corr-1"


# -- penalties: FEE-5, PEN-1..7, appeals ---------------------------------------------------


def complaint(triggers: frozenset[str], paid: int | None = None) -> JudgeComplaint:
    verified = VerifiedComplaint("c1", "t1", "overcharge", "e1", None, paid, START, "ev-c1")
    return JudgeComplaint(verified, triggers)


async def test_fee_5_an_overcharge_verified_before_the_invoice_is_settled_when_it_is_issued(world):
    world.add_ticket()
    await world.run(commands.judge_complaint, complaint(frozenset({"FEE-5"}), paid=90000))
    assert world.memory.streams == {}
    await world.run(commands.charge_repair, ChargeRepair("t1", START))
    [refund] = world.memory.events("refund:c1")
    [fine] = world.memory.events("penalty:FEE-5:c1")
    assert refund.refund_fen == 90000 - refund.tariff_fen > 0
    assert fine.fine_fen == 10 * refund.refund_fen and fine.outlet_id == "o1"
    # the complaint looked for the invoice, and the invoice for what waits, under one lock
    assert world.reads.held_invoices == ["t1", "t1"]


async def test_pen_1_a_verified_complaint_is_entered_once_however_often_it_arrives(world):
    cmd = complaint(frozenset({"PEN-1"}))
    await world.run(commands.judge_complaint, cmd)
    await world.run(commands.judge_complaint, cmd)
    assert world.types("penalty:PEN-1:c1") == ["PenaltyAssessed"]


async def test_pen_7_a_missed_appointment_is_entered_with_its_outlet(world):
    data = {
        "ticket_id": "t9",
        "engineer_id": "e1",
        "appointment_start": "2030-06-03T14:00:00+08:00",
        "detected_at": "2030-06-03T15:00:00+08:00",
    }
    entered = await world.run(commands.note_missed_appointment, NoteMissedAppointment(data, "m1"))
    [entry] = world.memory.events(entered.stream_id)
    assert entry.penalty_id == "PEN-7:t9:203006031400" and entry.outlet_id == "o1"


async def test_pen_2_the_forms_clock_fines_the_forms_not_handed_in_when_it_is_due():
    world = World(SW)
    world.add_ticket()
    async with world.memory.unit_of_work() as uow:
        with bound("corr-1", "ev-done"):
            deadlines = penalty.completion_deadlines(
                SW, ticket_id="t1", completed_at=START, event_id="ev-done", engineer_id="e1"
            )
            await commands.start_clocks(deadlines, uow)
    assert {t.kind for t in world.memory.timers.values()} >= {penalty.FORMS_CHECK}
    await world.run(commands.file_on_ticket, HandInForm("t1", "acceptance", "e1"))
    world.clock.advance(timedelta(days=3))
    check = CheckForms("t1", "e1", START.date(), "ev-done")
    fined = await world.run(commands.check_forms, check)
    [entry] = world.memory.events(fined.stream_id)
    assert entry.penalty_id == "PEN-2:t1" and entry.fine_fen == SW.penalties.form_late_fen


async def test_pen_3_a_visit_in_the_service_record_is_not_fined():
    world = World(SW)
    world.add_ticket()
    await world.run(commands.file_on_ticket, FileServiceRecord("t1", "visit", "e1"))
    check = CheckRecord("t1", "e1", START.date(), "ev-arrived")
    assert await world.run(commands.check_record, check) is None
    remote = CheckRecord("t1", "e1", START.date(), "ev-remote", remote=True)
    assert (await world.run(commands.check_record, remote)) is not None


async def test_pen_6_a_second_unreachable_record_is_a_warning_and_a_fine_out_of_range_refused():
    world = World(SW)
    for t in ("t1", "t2", "t3"):
        world.add_ticket(t)
    first = await world.run(commands.record_unreachable, RecordUnreachable("e1", "t1"))
    world.clock.advance(timedelta(days=1))
    second = await world.run(commands.record_unreachable, RecordUnreachable("e1", "t2"))
    assert first.data["penalty_id"] is None
    [warning] = world.memory.events(f"penalty:{second.data['penalty_id']}")
    assert warning.sanction == "warning" and len(warning.evidence) == 2
    with pytest.raises(IllegalTransition):
        await world.run(commands.record_unreachable, RecordUnreachable("e1", "t3", fine_fen=9000))
    assert len(world.memory.streams["staff:e1"]) == 2


async def test_a_penalty_is_appealed_then_ruled_on_once(world):
    await world.run(commands.judge_complaint, complaint(frozenset({"PEN-1"})))
    await world.run(commands.rule_on_penalty, AppealPenalty("PEN-1:c1", "not me"))
    voided = await world.run(commands.rule_on_penalty, RulePenalty("PEN-1:c1", True, "m1", "ok"))
    assert voided.events == ("PenaltyVoided",)
    with pytest.raises(IllegalTransition):
        await world.run(commands.rule_on_penalty, RulePenalty("PEN-1:c1", False, "m1", "no"))
    with pytest.raises(NotFound):
        await world.run(commands.rule_on_penalty, AppealPenalty("PEN-1:none", "?"))


# -- FEE-6, FEE-7, PEN-8 -------------------------------------------------------------------


async def test_fee_6_a_statement_is_issued_once_and_credits_a_fine_voided_since(world):
    await world.run(commands.judge_complaint, complaint(frozenset({"PEN-1"})))
    [fine] = world.memory.events("penalty:PEN-1:c1")
    world.reads.items = PeriodItems(
        fines=(FineStanding("PEN-1:c1", "t1", fine.fine_fen, ("PEN-1",), "engineer", "e1", "x"),)
    )
    may = await world.run(commands.issue_statement, IssueStatement("o1", "2030-05"))
    with pytest.raises(IllegalTransition):
        await world.run(commands.issue_statement, IssueStatement("o1", "2030-05"))
    await world.run(commands.rule_on_penalty, AppealPenalty("PEN-1:c1", "not me"))
    await world.run(commands.rule_on_penalty, RulePenalty("PEN-1:c1", True, "m1", "ok"))
    world.reads.items = PeriodItems()
    await world.run(commands.issue_statement, IssueStatement("o1", "2030-06"))
    *_, june = world.memory.events("settlement:o1:2030-06")
    assert may.stream_id == "settlement:o1:2030-05"
    assert june.credits_fen == fine.fine_fen and june.net_fen == fine.fine_fen


async def test_fee_7_a_trip_is_granted_and_a_pack_without_allowances_refuses_it():
    trip = GrantTrip("TRIP-1", "e1", "t1", START, START + timedelta(days=1), (15000,))
    granted = await World(SW).run(commands.grant_trip, trip)
    assert granted.data["total_fen"] > 0 and granted.stream_id == "trip:TRIP-1"
    with pytest.raises(IllegalTransition) as refused:
        await World(WH).run(commands.grant_trip, trip)
    assert refused.value.state == "no-travel-allowance"


async def test_pen_8_an_engineer_is_assessed_once_a_month(world):
    proof = Evidence(event_id="ev1", event_type="x", ticket_id="t1", note="n")
    world.reads.facts = [AssessmentFact("attitude_complaints", proof)]
    assessed = await world.run(commands.assess_engineer, AssessEngineer("e1", "2030-05"))
    [month] = world.memory.events(assessed.stream_id)
    assert month.counts.attitude_complaints == 1
    with pytest.raises(IllegalTransition):
        await world.run(commands.assess_engineer, AssessEngineer("e1", "2030-05"))


# -- the outlet roster (FEE-6) and contracts (FEE-8) ---------------------------------------


async def test_fee_6_roster_changes_share_one_stream_in_the_order_they_were_made(world):
    await world.run(commands.change_outlet, ChangeOutlet("o1", "East", "cn-east", ("e1",)))
    await world.run(commands.change_outlet, ChangeOutlet("o2", "West", "cn-west", ("e1", "e2")))
    changes = world.memory.events(outlet.ROSTER_STREAM)
    assert [(c.outlet_id, c.engineer_ids) for c in changes] == [
        ("o1", ("e1",)),
        ("o2", ("e1", "e2")),
    ]


async def test_fee_8_a_contract_is_registered_only_where_the_pack_has_contracts():
    contract = RegisterContract("K1", "SN1", date(2030, 1, 1))
    world = World(load_pack("office-equipment"))
    with pytest.raises(IllegalTransition) as refused:
        await World(SW).run(commands.register_contract, contract)
    assert refused.value.state == "no-contracts"
    registered = await world.run(commands.register_contract, contract)
    [event] = world.memory.events(registered.stream_id)
    assert (event.serial_no, event.starts_on) == ("SN1", date(2030, 1, 1))


async def test_pen_6_an_unreachable_record_for_an_unknown_ticket_is_refused():
    world = World(SW)
    with pytest.raises(NotFound, match="no-such-ticket"):
        await world.run(commands.record_unreachable, RecordUnreachable("e1", "no-such-ticket"))
    assert "staff:e1" not in world.memory.streams


async def test_fee_4_a_quote_naming_a_newer_intake_version_waits_until_billing_has_seen_it():
    world = World()
    world.add_ticket()
    world.reads.intake_versions["t1"] = 1
    with pytest.raises(NotCaughtUp) as err:
        await world.run(commands.issue_quote, IssueQuote("t1", "q1", QuoteRequest(), 2))
    assert err.value.state == "not_caught_up" and err.value.retry_after >= 1
    assert "t1" not in world.memory.streams
    world.reads.intake_versions["t1"] = 2
    issued = await world.run(commands.issue_quote, IssueQuote("t1", "q1", QuoteRequest(), 2))
    assert issued.events == ("QuoteIssued",)


async def test_fee_4_a_quote_naming_a_version_waits_for_the_tickets_copy_too():
    """A version held without the ticket's request: a caller who names a version is told
    to retry, not that the ticket does not exist."""
    world = World()
    world.reads.intake_versions["t1"] = 1
    with pytest.raises(NotCaughtUp):
        await world.run(commands.issue_quote, IssueQuote("t1", "q1", QuoteRequest(), 1))
    with pytest.raises(NotFound):  # no version named: billing has no such ticket
        await world.run(commands.issue_quote, IssueQuote("t1", "q1", QuoteRequest(), None))
    world.add_ticket()
    issued = await world.run(commands.issue_quote, IssueQuote("t1", "q1", QuoteRequest(), 1))
    assert issued.events == ("QuoteIssued",)


async def test_war_4_fee_4_a_quote_after_an_inspection_waits_for_the_decision_on_it():
    """The engineer records an inspection on dispatch and asks billing for the quote at
    once: until billing holds intake's warranty decision caused by that inspection, the
    quote is refused for now (409, retry), never priced on the warranty before it."""
    world = World()
    world.add_ticket()
    world.reads.warranty_causes.add(("t1", "ev-earlier-inspection"))
    quote = IssueQuote("t1", "q1", QuoteRequest(), None, "ev-inspection")
    with pytest.raises(NotCaughtUp, match="ev-inspection") as err:
        await world.run(commands.issue_quote, quote)
    assert err.value.state == "not_caught_up" and err.value.retry_after >= 1
    assert "t1" not in world.memory.streams
    world.reads.warranty_causes.add(("t1", "ev-inspection"))
    issued = await world.run(commands.issue_quote, quote)
    assert issued.events == ("QuoteIssued",)


async def test_pen_6_an_unreachable_record_naming_a_ticket_billing_has_not_seen_waits():
    world = World(SW)
    cmd = RecordUnreachable("e1", "t1", ticket_version=1)
    with pytest.raises(NotCaughtUp):
        await world.run(commands.record_unreachable, cmd)
    world.add_ticket()
    world.reads.intake_versions["t1"] = 1
    recorded = await world.run(commands.record_unreachable, cmd)
    assert recorded.data["event_id"]


async def test_war_4_fee_4_a_quote_waits_for_the_decision_on_an_inspection_billing_has_seen():
    """Without naming it: billing holds the engineer's inspection and not yet intake's
    decision on it, so the quote is refused for now, and priced once the decision is in."""
    world = World()
    world.add_ticket()
    world.reads.inspections.add(("t1", "ev-inspection"))
    with pytest.raises(NotCaughtUp, match="inspection of ticket t1"):
        await world.run(commands.issue_quote, IssueQuote("t1", "q1", QuoteRequest()))
    world.reads.warranty_causes.add(("t1", "ev-inspection"))
    issued = await world.run(commands.issue_quote, IssueQuote("t1", "q1", QuoteRequest()))
    assert issued.events == ("QuoteIssued",)
