"""Intake's commands, one function each, run through the platform's one command path.

Each takes its command object and the `Intake` it runs against (units of work, where the
policy pack comes from, the store), and answers a `CommandResult`. Correlation and
causation ids come from the bound command context (the HTTP request's).

A new ticket's pack is chosen when it is opened (the deployment's mapping, the version in
force then) and bound around the command that creates it, so its first event names that
pack and version; every later command on the ticket decides with the pack its first
event names (bound by the command path), resolved at the command's `now`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from repairline_contracts.base import Event
from repairline_contracts.intake import DealerFacts, DuplicateReported
from repairline_intake.domain import sales_record, ticket
from repairline_intake.domain.ticket import IntakeTicket
from repairline_intake.store import PostgresStore, Store
from repairline_platform import commands, visibility
from repairline_platform.auth import current_principal
from repairline_platform.commands import CommandResult, Stream
from repairline_platform.logging import get_logger
from repairline_platform.policy import Policy, deciding_with
from repairline_platform.visibility import Owners
from repairline_rules.packs import PolicyPack
from repairline_rules.refusals import InvalidInput

log = get_logger(__name__)

TICKET = Stream("ticket", ticket.fold, lambda t: t.region)
SALES_RECORD = Stream("sales record", sales_record.fold)


PackAt = Callable[[datetime], PolicyPack]
Opening = Callable[[ticket.RequestRepair, datetime], PolicyPack]


@dataclass(frozen=True)
class Intake:
    """What intake's commands run against."""

    unit_of_work: Callable[[], AbstractAsyncContextManager[Any]]
    pack_at: PackAt
    """The pack deciding a command at its `now`: the bound ticket's (`Runtime.pack_now`;
    unit tests give a fixed pack). Asked inside the command, never captured."""
    store: Callable[[Any], Store] = PostgresStore
    """The store over a unit of work (PostgreSQL's; unit tests give a fake)."""
    opening: Opening | None = None
    """The pack version a new ticket opened at `now` is decided by (the deployment's
    mapping, `ticket.opening_pack`); None: `pack_at`'s."""

    def opened(self, cmd: ticket.RequestRepair, now: datetime) -> PolicyPack:
        """The pack and version deciding a ticket `cmd` opens at `now`."""
        return self.opening(cmd, now) if self.opening else self.pack_at(now)


async def request_repair(cmd: ticket.RequestRepair, intake: Intake) -> CommandResult:
    """INT-1..7, WAR-1..9: a new ticket with its numbers, decided by the pack chosen for it;
    or, when the serial number is on an open ticket, the duplicate noted there and refused
    (409)."""
    cmd = as_caller(cmd)
    ticket.check_request(cmd)
    result = await commands.in_unit(intake.unit_of_work, lambda uow: _new_or_dup(cmd, intake, uow))
    if result.refused is not None:
        log.info("repair request refused", ticket_id=result.stream_id, rule_id="INT-4")
        raise result.refused
    if result.events == (DuplicateReported.__name__,):  # noted on the open ticket
        raise ticket.duplicate_refusal(cmd.product.serial_no or "", result.stream_id)
    log.info("repair requested", ticket_id=result.stream_id, event_id=result.event_ids[0])
    return result


def as_caller(cmd: ticket.RequestRepair) -> ticket.RequestRepair:
    """The request as the bound caller may file it: inside his regions; a dealer's for
    that dealer (its id from the caller, whatever the body says); a customer's under his
    account."""
    p = current_principal()
    if not p.in_region(cmd.region):
        raise InvalidInput("region", f"{cmd.region} is outside the caller's regions")
    if p.only_as("dealer"):
        name = cmd.dealer.name if cmd.dealer else p.dealer_id or p.subject
        cmd = replace(cmd, dealer=DealerFacts(dealer_id=p.dealer_id, name=name))
    if p.only_as("customer"):
        cmd = replace(cmd, customer_id=p.customer_id)
    return cmd


def ticket_scope(t: IntakeTicket) -> tuple[str | None, Owners]:
    """A ticket's region and owners, for the caller's scope."""
    request = t.request
    if request is None:
        return None, Owners()
    dealer_id = request.dealer.dealer_id if request.dealer else None
    return request.region, Owners(dealer_id=dealer_id, customer_id=request.customer_id)


async def _new_or_dup(cmd: ticket.RequestRepair, intake: Intake, uow: Any) -> CommandResult:
    pack = intake.opened(cmd, uow.now())
    ticket.check_product_line(pack, cmd.product.line)
    ticket.check_window_covered(pack, cmd.preferred_window)
    store = intake.store(uow)
    serial = cmd.product.serial_no
    open_ticket = await store.open_ticket_with_serial(serial) if serial else None
    if open_ticket is not None:  # noted under the open ticket's own pack

        def duplicate(t: IntakeTicket, u: Any) -> list[Event]:
            return ticket.decide_duplicate(t, cmd, now=u.now())

        return await commands.run(uow, TICKET, open_ticket, duplicate)
    with deciding_with(Policy(pack.id, pack.version)):
        return await _open(cmd, pack, store, uow)


async def _open(
    cmd: ticket.RequestRepair, pack: PolicyPack, store: Store, uow: Any
) -> CommandResult:
    """The new ticket's stream, every decision of the request made with `pack`."""
    day = ticket.business_day(pack, uow.now())
    numbers = ticket.TicketNumbers(
        day=day,
        seq=await store.next_ticket_seq(),
        queue_place=await store.next_queue_place(day) if ticket.takes_a_queue_place(cmd) else None,
    )
    serial = cmd.product.serial_no
    sold_on = await store.sale_date(serial) if cmd.proof is None and serial else None

    def decide(t: IntakeTicket, u: Any) -> list[Event]:
        return ticket.decide_request(
            t, cmd, numbers=numbers, sold_on_by_serial=sold_on, pack=pack, now=u.now()
        )

    return await commands.run(
        uow,
        TICKET,
        str(uuid.uuid4()),
        decide,
        create=True,
        region=cmd.region,
        data=lambda _, events: ticket.request_outcome(events),
    )


async def verify_request(cmd: ticket.VerifyRequest, intake: Intake) -> CommandResult:
    """INT-3: the missing facts completed; the ticket then goes on to dispatch."""
    return await _on_ticket(
        intake, cmd.ticket_id, _with_pack(intake, cmd, ticket.decide_verification)
    )


async def give_guidance(cmd: ticket.GiveGuidance, intake: Intake) -> CommandResult:
    """INT-5: guidance given on the phone, with FBK-1's callback time."""
    return await _on_ticket(intake, cmd.ticket_id, _with_pack(intake, cmd, ticket.decide_guidance))


async def request_visit(cmd: ticket.RequestVisit, intake: Intake) -> CommandResult:
    """INT-5: the customer insists on a visit (paid for misreport, misuse, software)."""
    return await _on_ticket(
        intake, cmd.ticket_id, _with_pack(intake, cmd, ticket.decide_visit_request)
    )


async def decide_warranty(cmd: ticket.DecideWarranty, intake: Intake) -> CommandResult:
    """WAR-1..5: the warranty decided from proof shown after intake."""
    return await _on_ticket(
        intake, cmd.ticket_id, _with_pack(intake, cmd, ticket.decide_later_warranty)
    )


async def choose_remedy(cmd: ticket.ChooseRemedy, intake: Intake) -> CommandResult:
    """WAR-6..9: the customer's remedy; a return or an exchange closes the ticket."""
    return await _on_ticket(
        intake, cmd.ticket_id, lambda t, u: ticket.decide_remedy(t, cmd, now=u.now())
    )


async def cancel_ticket(cmd: ticket.CancelTicket, intake: Intake) -> CommandResult:
    """A ticket cancelled unless its repair is completed."""
    decide = _knowing_completion(intake, cmd, ticket.decide_cancellation)
    return await _on_ticket(intake, cmd.ticket_id, decide)


async def call_for_pickup(cmd: ticket.CallForPickup, intake: Intake) -> CommandResult:
    """INT-8: the customer called once the depot repair is completed."""
    decide = _knowing_completion(intake, cmd, ticket.decide_ready_call)
    return await _on_ticket(intake, cmd.ticket_id, decide)


def _knowing_completion(intake: Intake, cmd: Any, decide: Callable[..., list[Event]]) -> Any:
    """A decision that needs to know whether dispatch completed the ticket's repair."""

    async def decided(t: IntakeTicket, uow: Any) -> list[Event]:
        done = await intake.store(uow).repair_completed(cmd.ticket_id)
        return decide(t, cmd, repair_completed=done, now=uow.now())

    return decided


async def hand_over(cmd: ticket.HandOver, intake: Intake) -> CommandResult:
    """INT-8: the machine handed over against the voucher, tested and signed for."""
    return await _on_ticket(intake, cmd.ticket_id, _with_pack(intake, cmd, ticket.decide_pickup))


async def record_sale(cmd: sales_record.RecordSale, intake: Intake) -> CommandResult:
    """WAR-3: the maker's sales record of a serial number, created or replaced."""
    stream_id = sales_record.stream_id(cmd.serial_no)

    async def work(uow: Any) -> CommandResult:
        exists = bool(await uow.load_stream(stream_id))
        return await commands.run(
            uow,
            SALES_RECORD,
            stream_id,
            lambda r, u: sales_record.decide(r, cmd, now=u.now()),
            create=not exists,
            data=lambda *_: asdict(cmd),
        )

    return await commands.in_unit(intake.unit_of_work, work)


def _with_pack(intake: Intake, cmd: Any, decide: Callable[..., list[Event]]) -> Any:
    """`decide` with the ticket's pack at the command's `now`, asked inside the command
    (so under the pack and version the ticket's first event names)."""

    def decided(t: IntakeTicket, uow: Any) -> list[Event]:
        now = uow.now()
        return decide(t, cmd, pack=intake.pack_at(now), now=now)

    return decided


async def _on_ticket(
    intake: Intake,
    ticket_id: str,
    decide: Callable[[IntakeTicket, Any], Sequence[Event] | Any],
) -> CommandResult:
    guarded = visibility.guarded(f"no ticket {ticket_id}", ticket_scope, decide)
    return await commands.execute(intake.unit_of_work, TICKET, ticket_id, guarded)
