"""Billing's commands: one function each, `async def x(cmd, uow, billing) -> CommandResult`,
run through the platform's one command path (load, fold, decide, append).

Routes run them with `Billing.execute` (a unit of work of their own, tried afresh after
a concurrent write); reactions and timers call them inside the consumer's unit of work,
with the context bound to the event or timer they react to.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from repairline_billing.domain import account, assessment, outlet, penalty, settlement, trip
from repairline_billing.domain.account import (
    AcceptQuote,
    ChargeRepair,
    FileServiceRecord,
    HandInForm,
    IssueQuote,
    RefuseQuote,
    ReportRemoteService,
)
from repairline_billing.domain.assessment import AssessEngineer
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
from repairline_billing.domain.pricing import TicketFacts
from repairline_billing.domain.settlement import IssueStatement
from repairline_billing.domain.trip import GrantTrip
from repairline_billing.store import ParkedCompletion, ParkedOvercharge, PgStore, Position, Store
from repairline_contracts.base import Event
from repairline_contracts.billing import PenaltyAssessed
from repairline_platform import visibility
from repairline_platform.commands import (
    CommandResult,
    CommandUnit,
    Stream,
    bound,
    current_context,
    in_unit,
    run,
    schedule_timers,
)
from repairline_platform.policy import bound_or
from repairline_rules.packs import PolicyPack
from repairline_rules.refusals import NotCaughtUp, NotFound
from repairline_rules.timers import Due
from repairline_rules.warranty import INSPECTION_DECISION_WAIT

C = TypeVar("C")

WARRANTY_WAIT = "warranty-wait"  # the timer that stops a parked completion waiting
WARRANTY_WAIT_FOR = timedelta(seconds=30)


Unit = CommandUnit
"""The unit of work a command runs in: PostgreSQL's, or the in-memory fake."""


def _pg_reads(uow: Any) -> Store:
    return PgStore(uow.conn)


@dataclass(frozen=True)
class Billing:
    """What billing's commands need beside the unit of work: the pack source and the reads.

    `pack_at(now)` answers the pack that decides at `now` under the bound policy (in
    production `Runtime.pack_now`: the ticket's pack and the version it was opened under,
    with later versions' open-ticket sections in force by then; the deployment's default
    pack when nothing is bound). Every command resolves it at its own `now`, inside the
    ticket's policy (`for_ticket`)."""

    pack_at: Callable[[datetime], PolicyPack]
    unit_of_work: Callable[[], AbstractAsyncContextManager[Any]] | None = None
    reads: Callable[[Any], Store] = _pg_reads

    async def execute(
        self, command: Callable[[C, Any, Billing], Awaitable[CommandResult]], cmd: C
    ) -> CommandResult:
        """Run ``command`` in a unit of work of its own, afresh after a concurrent write."""
        assert self.unit_of_work is not None, "a route's Billing needs the unit of work"
        return await in_unit(self.unit_of_work, lambda uow: command(cmd, uow, self))

    def pack_in(self, uow: Any) -> PolicyPack:
        """The pack deciding in `uow` at its `now`, under the policy bound."""
        return self.pack_at(uow.now())


def for_ticket(reads: Store, ticket_id: str) -> AbstractAsyncContextManager[None]:
    """Decide with the ticket's pack: the one bound, else the one billing's copy of the
    ticket was opened under."""
    return bound_or(lambda: reads.policy(ticket_id))


ACCOUNT = Stream("billing account of ticket", account.fold)
PENALTY = Stream("penalty", penalty.fold)
STATEMENT = Stream("settlement statement", settlement.fold)
TRIP = Stream("trip", trip.fold)
ASSESSMENT = Stream("assessment", assessment.fold)
STAFF = Stream("unreachable record", lambda _, events: len(events))
REFUND = Stream("refund", lambda _, events: bool(events))
ROSTER = Stream("outlet roster", outlet.fold)
CONTRACT = Stream("maintenance contract", outlet.fold)


async def _run_any(
    uow: Unit, stream: Stream[Any], stream_id: str, decide: Any, **options: Any
) -> CommandResult:
    """`run` on a stream that may not exist yet: its decision says what a second time does."""
    create = not await uow.stream_version(stream_id)
    return await run(uow, stream, stream_id, decide, create=create, **options)


def _named(_: Any, events: Sequence[Event]) -> dict[str, Any]:
    """The answer's `event`: the type of the one event recorded."""
    return {"event": events[0].event_type} if events else {}


# -- the ticket's account: quotes (FEE-4), forms and records -----------------------------


async def issue_quote(cmd: IssueQuote, uow: Unit, billing: Billing) -> CommandResult:
    """FEE-4: the engineer's quote, priced from the ticket's facts (FEE-1..3, FEE-8), never
    from facts older than the intake version the caller names, nor before intake's
    warranty decision on the inspection it follows (WAR-4)."""
    reads = billing.reads(uow)
    await caught_up(reads, cmd.ticket_id, cmd.ticket_version)
    if cmd.after_inspection is not None and not await reads.decided_on(
        cmd.ticket_id, cmd.after_inspection, uow.now()
    ):
        raise NotCaughtUp(
            f"billing has not seen intake's warranty decision on inspection"
            f" {cmd.after_inspection} of ticket {cmd.ticket_id} yet (WAR-4)"
        )
    if await reads.inspection_pending(cmd.ticket_id, uow.now()):
        raise NotCaughtUp(
            f"billing has not seen intake's warranty decision on the engineer's inspection"
            f" of ticket {cmd.ticket_id} yet (WAR-4)"
        )
    ticket = await reads.ticket(cmd.ticket_id)
    if ticket is None and cmd.ticket_version is not None:
        # a version of the ticket held without its request: the caller knows the ticket
        # exists, so "not caught up" (retry) rather than "no such ticket"
        raise NotCaughtUp(f"billing has not seen ticket {cmd.ticket_id} yet")
    if ticket is None:
        raise NotFound(f"billing has no ticket {cmd.ticket_id} yet")
    facts, region = ticket
    owners = visibility.Owners(engineer_id=facts.engineer_id)  # the engineer of the job
    visibility.check(f"billing has no ticket {cmd.ticket_id} yet", region, owners)
    async with for_ticket(reads, cmd.ticket_id):
        pack = billing.pack_in(uow)  # FEE-1: the ticket's tariff
        pricing = await reads.pricing(facts, pack)
        return await _run_any(
            uow,
            ACCOUNT,
            cmd.ticket_id,
            lambda acc, u: account.decide(acc, cmd, pack=pack, now=u.now(), pricing=pricing),
            region=region,
        )


async def caught_up(reads: Store, ticket_id: str, version: int | None) -> None:
    """Refuses for now (409, retry) a command whose caller knows a newer intake version of
    the ticket than billing has seen. The version is kept by the copy of the tickets with
    their facts, so once it is seen the facts up to it are there to price from."""
    if version is not None and await reads.intake_version(ticket_id) < version:
        raise NotCaughtUp(f"billing has not seen version {version} of ticket {ticket_id} yet")


async def answer_quote(
    cmd: AcceptQuote | RefuseQuote, uow: Unit, billing: Billing
) -> CommandResult:
    """FEE-4: the customer accepts (work may start) or refuses (no work, no charge)."""
    reads = billing.reads(uow)
    ticket = await reads.ticket(cmd.ticket_id)
    region, engineer_id = (ticket[1], ticket[0].engineer_id) if ticket else (None, None)
    owners = visibility.Owners(engineer_id=engineer_id)  # the engineer answers on his job
    visibility.check(f"no billing account of ticket {cmd.ticket_id}", region, owners)
    return await _on_account(cmd, uow, billing, region, create=False)


async def file_on_ticket(
    cmd: HandInForm | FileServiceRecord, uow: Unit, billing: Billing
) -> CommandResult:
    """A service form handed in (PEN-2, PEN-5) or a service recorded (PEN-3, PEN-4)."""
    reads = billing.reads(uow)
    region = await reads.region(cmd.ticket_id)
    if region is None:
        raise NotFound(f"billing has no ticket {cmd.ticket_id} yet")
    visibility.check(f"billing has no ticket {cmd.ticket_id} yet", region)
    return await _on_account(cmd, uow, billing, region, create=None)


async def _on_account(
    cmd: Any, uow: Unit, billing: Billing, region: str | None, *, create: bool | None
) -> CommandResult:
    """`account.decide` on the ticket's account with the ticket's pack; `create=None`:
    the account may not exist yet (its decision says what a second time does)."""
    if create is None:
        create = not await uow.stream_version(cmd.ticket_id)
    async with for_ticket(billing.reads(uow), cmd.ticket_id):
        return await run(
            uow,
            ACCOUNT,
            cmd.ticket_id,
            lambda acc, u: account.decide(acc, cmd, pack=billing.pack_in(u), now=u.now()),
            create=create,
            region=region,
            data=_named,
        )


async def report_remote_service(
    cmd: ReportRemoteService, uow: Unit, billing: Billing
) -> CommandResult:
    """The service desk logged a remote service; PEN-4's clock starts."""
    async with for_ticket(billing.reads(uow), cmd.ticket_id):
        pack = billing.pack_in(uow)
        result = await _run_any(
            uow,
            ACCOUNT,
            cmd.ticket_id,
            lambda acc, u: account.decide(acc, cmd, pack=pack, now=u.now()),
            data=_named,
        )
        deadlines = penalty.record_deadlines(
            pack,
            ticket_id=cmd.ticket_id,
            at=uow.now(),
            event_id=result.event_ids[0],
            engineer_id=cmd.engineer_id,
            remote=True,
        )
        await start_clocks(deadlines, uow)
    return result


# -- invoices on completion (FEE-1, FEE-4) and FEE-5 overcharges --------------------------


async def charge_repair(cmd: ChargeRepair, uow: Unit, billing: Billing) -> CommandResult | None:
    """FEE-1, FEE-4: the completed repair is invoiced once; a completion seen before its
    request, before the warranty decision the request said follows it (INT-5, WAR-4), or
    before intake's decision on the engineer's inspection (WAR-4, for at most
    `INSPECTION_DECISION_WAIT`), is parked until they arrive. Overcharges parked for the
    invoice are settled with it (FEE-5)."""
    reads = billing.reads(uow)
    ticket = await reads.ticket(cmd.ticket_id)
    inspected = await reads.inspection_pending(cmd.ticket_id, uow.now())
    if ticket is None or inspected or await reads.warranty_pending(cmd.ticket_id):
        ctx = current_context()
        parked = ParkedCompletion(
            cmd.ticket_id,
            cmd.completed_at,
            ctx.correlation_id,
            ctx.causation_id,
            cmd.parts_replaced,
        )
        await reads.park_completion(parked)
        if inspected:
            # WAR-4: invoiced when intake's decision on the inspection arrives, or once
            # the wait for it is over
            await uow.schedule(
                f"{WARRANTY_WAIT}:inspection:{cmd.ticket_id}:{uow.now().isoformat()}",
                kind=WARRANTY_WAIT,
                stream_id=cmd.ticket_id,
                due_at=uow.now() + INSPECTION_DECISION_WAIT,
                payload={},
                correlation_id=ctx.correlation_id,
            )
        return None
    facts, region = ticket
    visibility.check(f"billing has no ticket {cmd.ticket_id} yet", region)
    async with for_ticket(reads, cmd.ticket_id):
        return await _invoice(cmd, facts, region, uow, billing)


async def _invoice(
    cmd: ChargeRepair, facts: TicketFacts, region: str, uow: Unit, billing: Billing
) -> CommandResult:
    """FEE-1 by the ticket's pack (bound), then the overcharges waiting for the invoice."""
    reads, pack = billing.reads(uow), billing.pack_in(uow)
    pricing = await reads.pricing(facts, pack)
    result = await _run_any(
        uow,
        ACCOUNT,
        cmd.ticket_id,
        lambda acc, u: account.decide(acc, cmd, pack=pack, now=u.now(), pricing=pricing),
        region=region,
        data=lambda _, events: {"total_fen": events[0].total_fen} if events else {},
    )
    if result.events:
        await reads.hold_invoice(cmd.ticket_id)  # a complaint judged meanwhile waits
        for waiting in await reads.resume_overcharges(cmd.ticket_id):
            with bound(waiting.correlation_id, waiting.complaint.event_id):
                tariff = (result.data["total_fen"], result.event_ids[0])
                await _settle_overcharge(waiting.complaint, tariff, uow, billing)
    return result


async def resume_charge(ticket_id: str, uow: Unit, billing: Billing) -> CommandResult | None:
    """A completion parked for the ticket is invoiced now that what it waited for is known:
    the request that says no warranty decision follows, the decision itself, or (for a
    request that does not say) `WARRANTY_WAIT`. If the decision is still pending it is
    parked again."""
    parked = await billing.reads(uow).resume_completion(ticket_id)
    return await _charge_parked(parked, uow, billing) if parked is not None else None


async def await_warranty(ticket_id: str, request: Position, uow: Unit, billing: Billing) -> None:
    """FEE-1, INT-5, WAR-4, for a request recorded before requests said whether a warranty
    decision follows them: a completion parked for it is invoiced once the record after
    the request on its partition is applied (intake appends the decision, when it made
    one, right after the request: `resume_charges_after`); if none comes, after
    `WARRANTY_WAIT_FOR`."""
    if not await billing.reads(uow).wait_for_warranty(ticket_id, request):
        return
    await uow.schedule(
        f"{WARRANTY_WAIT}:{ticket_id}",
        kind=WARRANTY_WAIT,
        stream_id=ticket_id,
        due_at=uow.now() + WARRANTY_WAIT_FOR,
        payload={},
        correlation_id=current_context().correlation_id,
    )


async def resume_charges_after(last: Position, uow: Unit, billing: Billing) -> None:
    """The record at `last` is applied: completions whose request lies before it on its
    partition know their warranty decision and are invoiced."""
    for parked in await billing.reads(uow).resume_after(last):
        await _charge_parked(parked, uow, billing)


async def _charge_parked(parked: ParkedCompletion, uow: Unit, billing: Billing) -> Any:
    cmd = ChargeRepair(parked.ticket_id, parked.completed_at, parked.parts_replaced)
    with bound(parked.correlation_id, parked.causation_id):
        return await charge_repair(cmd, uow, billing)


async def _settle_overcharge(
    complaint: VerifiedComplaint, invoice: tuple[int, str], uow: Unit, billing: Billing
) -> None:
    """FEE-5: refund the excess to the customer and fine the outlet, once."""
    tariff_fen, invoice_event_id = invoice
    decided = penalty.decide_overcharge(
        billing.pack_in(uow),
        complaint,
        tariff_fen=tariff_fen,
        invoice_event_id=invoice_event_id,
        now=uow.now(),
    )
    stream_id = f"refund:{complaint.complaint_id}"
    if decided is None or await uow.stream_version(stream_id):
        return
    refund, fine = decided
    await run(uow, REFUND, stream_id, lambda *_: [refund], create=True)
    await _enter_penalty(fine, uow)


# -- penalties (PEN-1..7) ------------------------------------------------------------------


async def _enter_penalty(fine: PenaltyAssessed | None, uow: Unit) -> CommandResult | None:
    """Enter a penalty once: its id is deterministic, a second attempt changes nothing."""
    if fine is None:
        return None
    stream_id = penalty.penalty_stream(fine.penalty_id)
    if await uow.stream_version(stream_id):
        return None
    return await run(uow, PENALTY, stream_id, lambda *_: [fine], create=True)


async def judge_complaint(cmd: JudgeComplaint, uow: Unit, billing: Billing) -> None:
    """FEE-5 (refund and the outlet's fine; parked until the invoice exists) and PEN-1
    (the engineer's fine, with its escalations) from a verified complaint."""
    reads = billing.reads(uow)
    async with for_ticket(reads, cmd.complaint.ticket_id):
        await _judge(cmd, reads, uow, billing)


async def _judge(cmd: JudgeComplaint, reads: Store, uow: Unit, billing: Billing) -> None:
    complaint = cmd.complaint
    if complaint.outlet_id is None:
        outlet = await reads.outlet_of(complaint.ticket_id, complaint.engineer_id)
        complaint = replace(complaint, outlet_id=outlet)
    if "FEE-5" in cmd.triggers:
        await reads.hold_invoice(complaint.ticket_id)  # an invoice being written is waited for
        invoice = await reads.invoice(complaint.ticket_id)
        if invoice is None:
            parked = ParkedOvercharge(complaint, current_context().correlation_id)
            await reads.park_overcharge(parked)
        else:
            await _settle_overcharge(complaint, invoice, uow, billing)
    if "PEN-1" in cmd.triggers:
        penalty_id = f"PEN-1:{complaint.complaint_id}"
        earlier = await reads.earlier_complaints(complaint.engineer_id or "", penalty_id)
        fine = penalty.decide_complaint_penalty(
            billing.pack_in(uow), complaint, earlier=earlier, now=uow.now()
        )
        await _enter_penalty(fine, uow)


async def note_missed_appointment(
    cmd: NoteMissedAppointment, uow: Unit, billing: Billing
) -> CommandResult | None:
    """PEN-7: a missed appointment counted against the engineer is entered at once."""
    reads = billing.reads(uow)
    engineer_id = cmd.data.get("engineer_id")
    earlier = await reads.earlier_misses(engineer_id, penalty.missed_penalty_id(cmd.data))
    async with for_ticket(reads, cmd.data["ticket_id"]):
        fine = penalty.decide_missed_appointment(
            billing.pack_in(uow),
            cmd.data,
            event_id=cmd.event_id,
            outlet_id=await reads.outlet_of(cmd.data["ticket_id"], engineer_id),
            earlier=earlier,
            now=uow.now(),
        )
        return await _enter_penalty(fine, uow)


async def start_clocks(deadlines: Sequence[Due], uow: Unit) -> None:
    """Start the penalty clocks (PEN-2..5): durable timers in this unit of work."""
    await schedule_timers(uow, deadlines)


async def check_forms(cmd: CheckForms, uow: Unit, billing: Billing) -> CommandResult | None:
    """PEN-2 / PEN-5 once the deadline has passed: fined when a form was not handed in."""
    reads = billing.reads(uow)
    async with for_ticket(reads, cmd.ticket_id):
        pack = billing.pack_in(uow)
        handed_in = account.forms_handed_in(await uow.load_stream(cmd.ticket_id), pack.zone)
        fine = penalty.decide_forms(
            pack,
            cmd,
            handed_in=handed_in,
            outlet_id=await reads.outlet_of(cmd.ticket_id, cmd.engineer_id),
            now=uow.now(),
        )
        return await _enter_penalty(fine, uow)


async def check_record(cmd: CheckRecord, uow: Unit, billing: Billing) -> CommandResult | None:
    """PEN-3 / PEN-4 once the deadline has passed: fined when the service is unrecorded."""
    events, reads = await uow.load_stream(cmd.ticket_id), billing.reads(uow)
    async with for_ticket(reads, cmd.ticket_id):
        fine = penalty.decide_record(
            billing.pack_in(uow),
            cmd,
            recorded=account.service_recorded(events, remote=cmd.remote),
            outlet_id=await reads.outlet_of(cmd.ticket_id, cmd.engineer_id),
            now=uow.now(),
        )
        return await _enter_penalty(fine, uow)


async def record_unreachable(cmd: RecordUnreachable, uow: Unit, billing: Billing) -> CommandResult:
    """PEN-6: the record is kept; repeated, it is a warning or the manager's fine. The
    ticket the engineer was sought for must be one billing has heard of."""
    reads = billing.reads(uow)
    await caught_up(reads, cmd.ticket_id, cmd.ticket_version)
    if await reads.ticket(cmd.ticket_id) is None:
        raise NotFound(f"no ticket {cmd.ticket_id}")
    records = await reads.unreachable_records(cmd.engineer_id)
    recorded = await _run_any(
        uow,
        STAFF,
        penalty.staff_stream(cmd.engineer_id),
        lambda _, u: penalty.decide_unreachable_record(cmd, now=u.now()),
    )
    event_id = recorded.event_ids[0]
    async with for_ticket(reads, cmd.ticket_id):  # PEN-6 by the pack of the ticket sought for
        fine = penalty.decide_unreachable_penalty(
            billing.pack_in(uow),
            cmd,
            outlet_id=await reads.outlet_of(cmd.ticket_id, cmd.engineer_id),
            records=[*records, (event_id, cmd.ticket_id, uow.now())],
            now=uow.now(),
        )
        with bound(recorded.correlation_id, event_id):
            await _enter_penalty(fine, uow)
    data = {"event_id": event_id, "penalty_id": fine.penalty_id if fine else None}
    return replace(recorded, data=data)


async def rule_on_penalty(
    cmd: AppealPenalty | RulePenalty, uow: Unit, billing: Billing
) -> CommandResult:
    """An appeal of an assessed penalty, or a manager's ruling on an appealed one; a 404
    when the penalty's ticket is outside the caller's regions."""
    reads, stream = billing.reads(uow), penalty.penalty_stream(cmd.penalty_id)

    async def decide(state: penalty.PenaltyState, u: Any) -> list[Event]:
        region = await reads.region(state.ticket_id) if state else None
        owner = visibility.Owners(engineer_id=state.engineer_id if state else None)
        visibility.check(f"no penalty {stream}", region, owner)  # his own fine, to appeal
        return penalty.decide(state, cmd, now=u.now())

    return await run(uow, PENALTY, stream, decide)


# -- settlement (FEE-6), trips (FEE-7), assessment (PEN-8) --------------------------------


async def issue_statement(cmd: IssueStatement, uow: Unit, billing: Billing) -> CommandResult:
    """FEE-6: the outlet's month, once: fees minus refunds and fines, plus credits.

    An outlet's month spans tickets of several packs: each invoice, refund and fine was
    decided by its ticket's pack; the month's bounds and FEE-6's terms are the
    deployment's default pack's, in force at the command's `now` (no ticket is bound)."""
    reads, pack = billing.reads(uow), billing.pack_in(uow)
    start, end = settlement.period_bounds(pack, cmd.period)
    items = await reads.period_items(cmd.outlet_id, start, end)
    earlier = await reads.earlier_statements(cmd.outlet_id)
    voided = []
    for penalty_id in settlement.deducted_fines(earlier):
        state = penalty.fold_penalty(
            penalty_id, await uow.load_stream(penalty.penalty_stream(penalty_id))
        )
        if state is not None and state.status == "voided":
            voided.append(penalty_id)
    return await _run_any(
        uow,
        STATEMENT,
        settlement.statement_stream(cmd.outlet_id, cmd.period),
        lambda issued, u: settlement.decide(
            issued,
            cmd,
            pack=pack,
            items=items,
            earlier=earlier,
            voided=voided,
            now=u.now(),
        ),
    )


async def grant_trip(cmd: GrantTrip, uow: Unit, billing: Billing) -> CommandResult:
    """FEE-7: the trip's meals and hotel allowance, by the pack of the trip's ticket."""
    async with for_ticket(billing.reads(uow), cmd.ticket_id):
        return await _run_any(
            uow,
            TRIP,
            trip.trip_stream(cmd.trip_id),
            lambda granted, u: trip.decide(granted, cmd, pack=billing.pack_in(u), now=u.now()),
            data=lambda _, events: events[0].model_dump(mode="json"),
        )


async def assess_engineer(cmd: AssessEngineer, uow: Unit, billing: Billing) -> CommandResult:
    """PEN-8: the engineer's month, scored once from the facts billing holds, by the
    deployment's default pack in force at `now` (a month spans tickets of several packs)."""
    pack = billing.pack_in(uow)
    start, end = settlement.period_bounds(pack, cmd.period)
    facts = await billing.reads(uow).assessment_facts(cmd.engineer_id, start, end)
    return await _run_any(
        uow,
        ASSESSMENT,
        assessment.assessment_stream(cmd.engineer_id, cmd.period),
        lambda assessed, u: assessment.decide(assessed, cmd, pack=pack, facts=facts, now=u.now()),
    )


# -- the outlet roster (FEE-6) and maintenance contracts (FEE-8) ---------------------------


async def change_outlet(cmd: ChangeOutlet, uow: Unit, billing: Billing) -> CommandResult:
    """The roster's changes share one stream, so they are read back in order."""
    return await _run_any(
        uow, ROSTER, outlet.ROSTER_STREAM, lambda _, u: outlet.decide_outlet(cmd, now=u.now())
    )


async def register_contract(cmd: RegisterContract, uow: Unit, billing: Billing) -> CommandResult:
    """FEE-8: a unit's maintenance contract, where the deployment's default pack has them
    (a contract names no ticket)."""
    return await _run_any(
        uow,
        CONTRACT,
        outlet.contract_stream(cmd.contract_id),
        lambda _, u: outlet.decide_contract(cmd, pack=billing.pack_in(u), now=u.now()),
    )
