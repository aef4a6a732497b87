"""Other contexts' events and due timers, each turned into one dispatch command.

`IntakeReactions` (intake's requests, holds, closed and cancelled tickets), `QuoteReactions`
(billing's refused quotes end the visit) and `RevisitReactions` (feedback's FBK-5
revisits) decide and append; they never write a read model themselves. Being the one
consumer of the other context's topic, each applies the fact to dispatch's copy (the
`Jobs` projection, given by the composition root, not consumed on its own) just before
it reacts to it, in the same transaction. Timers: DSP-3 deadlines, DSP-6/7 departure
checks, PEN-7 missed appointments.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from repairline_contracts import intake as i
from repairline_contracts import topics
from repairline_dispatch import commands
from repairline_dispatch.domain import visit
from repairline_platform.commands import bound, reacting_to
from repairline_platform.eventstore import Delivered, UnitOfWork
from repairline_platform.timers import Timer

# Feedback's event, subscribed to by type: its class is feedback's.
REVISIT_REQUESTED = "repairline.feedback.RevisitRequested"


class Copy(Protocol):
    """A projection of another context's facts that a reaction brings up to date first."""

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None: ...


class IntakeReactions:
    """Intake's facts in, assignments out: a request not held, or a hold released
    (INT-3, INT-5, WAR-6..9), is assigned; a closed or cancelled ticket's visit ends."""

    name = "assignment"
    topics = (topics.INTAKE_EVENTS,)
    event_types = visit.INTAKE_FACTS

    def __init__(self, ctx: commands.Ctx, jobs: Copy) -> None:
        self.ctx = ctx
        self.jobs = jobs

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        for item in items:
            await self.jobs.handle(uow, [item])
            command = self.command(item.event)
            if command is not None:
                with reacting_to(item.envelope):
                    await self.run(command, uow)

    @staticmethod
    def command(e: Any) -> visit.Assign | visit.EndVisit | None:
        match e:
            case i.RepairRequested() | i.RequestVerified() | i.VisitRequested():
                return visit.Assign(e.ticket_id)
            case i.RemedyChosen():
                return visit.Assign(e.ticket_id) if e.remedy.kind == "repair" else None
            case i.TicketClosed() | i.TicketCancelled():
                how = type(e).__name__.removeprefix("Ticket").lower()
                reason = f"ticket {how}: {e.reason}"
                return visit.EndVisit(e.ticket_id, reason=reason, only_if_known=True)
        return None

    async def run(self, command: visit.Assign | visit.EndVisit, uow: UnitOfWork) -> None:
        if isinstance(command, visit.Assign):
            await commands.assign(command, self.ctx, uow)
        else:
            await commands.end_visit(command, self.ctx, uow)


class QuoteReactions:
    """Billing's quotes: accepted lets chargeable work start (FEE-4, read from the copy);
    refused ends the visit without repair."""

    name = "quotes"
    topics = (topics.BILLING_EVENTS,)
    event_types = frozenset({visit.QUOTE_ACCEPTED, visit.QUOTE_REFUSED})

    def __init__(self, ctx: commands.Ctx, jobs: Copy) -> None:
        self.ctx = ctx
        self.jobs = jobs

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        for item in items:
            await self.jobs.handle(uow, [item])
            if item.envelope.type != visit.QUOTE_REFUSED:
                continue
            data = item.envelope.data
            reason = f"quote refused: {data.get('reason', '')}".rstrip(": ")
            ended = visit.EndVisit(data["ticket_id"], reason=reason, quote_id=data.get("quote_id"))
            with reacting_to(item.envelope):
                await commands.end_visit(ended, self.ctx, uow)


class RevisitReactions:
    """FBK-5: a dissatisfied customer gets someone on site at once."""

    name = "revisits"
    topics = (topics.FEEDBACK_EVENTS,)
    event_types = frozenset({REVISIT_REQUESTED})

    def __init__(self, ctx: commands.Ctx) -> None:
        self.ctx = ctx

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        for item in items:
            data = item.envelope.data
            opened = visit.OpenRevisit(data["ticket_id"], data["case_id"], data["reason"])
            with reacting_to(item.envelope):
                await commands.open_revisit(opened, self.ctx, uow)


def timer_handlers(ctx: commands.Ctx) -> dict[str, Any]:
    """DSP-3 deadlines, DSP-6/7 departure checks and PEN-7 missed appointments."""

    async def fire(uow: UnitOfWork, timer: Timer) -> None:
        with bound(timer.correlation_id, f"timer:{timer.timer_id}"):
            due = visit.Check(timer.stream_id, timer.kind, timer.payload)
            await commands.check(due, ctx, uow)

    return {kind: fire for kind in (visit.SLA_TIMER, visit.DEPARTURE_TIMER, visit.MISSED_TIMER)}
