"""Billing's reactions: other contexts' events and the due penalty clocks, each turned
into a command, run inside the consumer's (or the timer's) unit of work with the
context bound to what it reacts to."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from repairline_billing import commands
from repairline_billing.commands import Billing
from repairline_billing.domain import MISSED_APPOINTMENT, WARRANTY_DECIDED, penalty
from repairline_billing.domain.account import ChargeRepair
from repairline_billing.domain.penalty import (
    CheckForms,
    CheckRecord,
    JudgeComplaint,
    NoteMissedAppointment,
    VerifiedComplaint,
)
from repairline_billing.projections import CLOSING_TYPES, Tickets, wire
from repairline_billing.store import Position
from repairline_contracts import topics
from repairline_contracts.dispatch import ArrivedOnSite, RepairCompleted
from repairline_contracts.feedback import ComplaintVerified
from repairline_contracts.intake import RepairRequested
from repairline_platform.commands import bound, reacting_to
from repairline_platform.eventstore import Delivered, UnitOfWork
from repairline_platform.timers import Timer


class ChargeOnCompletion:
    """FEE-1, FEE-4: a completed repair is invoiced once, against its accepted quote.

    Contexts are not ordered against each other: a RepairCompleted that arrives before
    its RepairRequested, before the warranty decision the request says follows it, or
    before intake's decision on the engineer's inspection (which comes before the
    completion on dispatch's topic), is parked and invoiced once they are known (INT-5,
    WAR-4). The batch is first folded into
    billing's copy of the tickets (the `tickets` projection, the same fold), so the
    invoice sees the facts that came before the completion.
    """

    name = "charging"
    topics = Tickets.topics
    event_types = frozenset({*Tickets.event_types, RepairCompleted.event_type})

    def __init__(self, billing: Billing) -> None:
        self.billing = billing
        self.copy = Tickets()

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        await self.copy.handle(uow, [i for i in items if i.envelope.type in Tickets.event_types])
        for item in items:
            event = item.event
            with reacting_to(item.envelope):
                if isinstance(event, RepairRequested):
                    await self._requested(
                        event, Position(item.topic, item.partition, item.offset), uow
                    )
                elif item.envelope.type == WARRANTY_DECIDED or item.envelope.type in CLOSING_TYPES:
                    # a decision arrived, or intake closed the ticket and will decide
                    # nothing more on an inspection: a parked completion may be invoiced
                    await commands.resume_charge(wire(event)["ticket_id"], uow, self.billing)
                elif isinstance(event, RepairCompleted):
                    await commands.charge_repair(_charge(event), uow, self.billing)
        for last in _last_positions(items):
            await commands.resume_charges_after(last, uow, self.billing)

    async def _requested(self, event: RepairRequested, at: Position, uow: UnitOfWork) -> None:
        """The request is known: a completion parked for it waits for the warranty decision
        the request says follows it, or is invoiced now when none does."""
        if event.warranty_decision_follows is None:
            await commands.await_warranty(event.ticket_id, at, uow, self.billing)
        elif not event.warranty_decision_follows:
            await commands.resume_charge(event.ticket_id, uow, self.billing)


def _last_positions(items: Sequence[Delivered]) -> list[Position]:
    last: dict[tuple[str, int], int] = {}
    for i in items:
        last[(i.topic, i.partition)] = max(last.get((i.topic, i.partition), -1), i.offset)
    return [Position(topic, partition, offset) for (topic, partition), offset in last.items()]


def _charge(event: RepairCompleted) -> ChargeRepair:
    record = getattr(event, "repair_record", None)
    parts = tuple(record.parts_replaced) if record is not None else ()
    return ChargeRepair(event.ticket_id, event.completed_at, parts)


class PenaltyEvidence:
    """PEN-2, PEN-3, PEN-5, PEN-7 from the events that prove them.

    A completion starts the forms clocks, an arrival the service-record clock (durable
    timers checked when the deadline has passed); a missed appointment is entered at once.
    """

    name = "penalty-evidence"
    topics = (topics.DISPATCH_EVENTS,)
    event_types = frozenset(
        {ArrivedOnSite.event_type, RepairCompleted.event_type, MISSED_APPOINTMENT}
    )

    def __init__(self, billing: Billing) -> None:
        self.billing = billing

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        for item in items:
            event, event_id = item.event, item.envelope.id
            with reacting_to(item.envelope):
                pack = self.billing.pack_in(uow)  # the ticket's, named on the event
                if isinstance(event, RepairCompleted):
                    deadlines = penalty.completion_deadlines(
                        pack,
                        ticket_id=event.ticket_id,
                        completed_at=event.completed_at,
                        event_id=event_id,
                        engineer_id=event.engineer_id,
                    )
                    await commands.start_clocks(deadlines, uow)
                elif isinstance(event, ArrivedOnSite):
                    deadlines = penalty.record_deadlines(
                        pack,
                        ticket_id=event.ticket_id,
                        at=event.arrived_at,
                        event_id=event_id,
                        engineer_id=event.engineer_id,
                    )
                    await commands.start_clocks(deadlines, uow)
                elif item.envelope.type == MISSED_APPOINTMENT:
                    missed = NoteMissedAppointment(wire(event), event_id)
                    await commands.note_missed_appointment(missed, uow, self.billing)


class ComplaintOutcomes:
    """PEN-1 and FEE-5 from verified complaints."""

    name = "complaint-outcomes"
    topics = (topics.FEEDBACK_EVENTS,)
    event_types = frozenset({ComplaintVerified.event_type})

    def __init__(self, billing: Billing) -> None:
        self.billing = billing

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        for item in items:
            event = item.event
            assert isinstance(event, ComplaintVerified)
            complaint = VerifiedComplaint(
                complaint_id=event.complaint_id,
                ticket_id=event.ticket_id,
                kind=event.kind,
                engineer_id=event.engineer_id,
                outlet_id=event.outlet_id,
                amount_paid_fen=event.amount_paid_fen,
                verified_at=event.verified_at,
                event_id=item.envelope.id,
            )
            with reacting_to(item.envelope):
                cmd = JudgeComplaint(complaint, frozenset(event.triggers))
                await commands.judge_complaint(cmd, uow, self.billing)


def timer_handlers(billing: Billing) -> dict[str, Any]:
    """The penalty clocks: each checks, once its deadline has passed, what was handed in."""

    def on_timer(check: Any, command: Any) -> Any:
        async def handle(uow: UnitOfWork, timer: Timer) -> None:
            with bound(timer.correlation_id, f"timer:{timer.timer_id}"):
                await check(command(timer), uow, billing)

        return handle

    async def warranty_waited(uow: UnitOfWork, timer: Timer) -> None:
        with bound(timer.correlation_id, f"timer:{timer.timer_id}"):
            await commands.resume_charge(timer.stream_id, uow, billing)

    return {
        commands.WARRANTY_WAIT: warranty_waited,
        penalty.FORMS_CHECK: on_timer(commands.check_forms, _forms(implementation=False)),
        penalty.IMPLEMENTATION_FORM_CHECK: on_timer(
            commands.check_forms, _forms(implementation=True)
        ),
        penalty.RECORD_CHECK: on_timer(commands.check_record, _record(remote=False)),
        penalty.REMOTE_RECORD_CHECK: on_timer(commands.check_record, _record(remote=True)),
    }


def _forms(*, implementation: bool) -> Callable[[Timer], CheckForms]:
    """PEN-2 (service forms) and PEN-5 (the implementation form), from the completion."""
    return lambda timer: CheckForms(
        ticket_id=timer.stream_id,
        engineer_id=timer.payload.get("engineer_id"),
        service_on=date.fromisoformat(timer.payload["service_on"]),
        completion_event_id=timer.payload["event_id"],
        implementation=implementation,
    )


def _record(*, remote: bool) -> Callable[[Timer], CheckRecord]:
    """PEN-3 (a visit or trip) and PEN-4 (a remote service) not in the service record."""
    return lambda timer: CheckRecord(
        ticket_id=timer.stream_id,
        engineer_id=timer.payload.get("engineer_id"),
        visit_on=date.fromisoformat(timer.payload["visit_on"]),
        visit_event_id=timer.payload["event_id"],
        remote=remote,
    )
