"""What feedback does when other contexts' events arrive, and when its timers fire: each
turns the event (or the due timer) into one command, caused by what it reacts to."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from repairline_contracts import topics
from repairline_contracts.dispatch import RepairCompleted
from repairline_feedback import commands
from repairline_feedback.domain.complaint import EscalateComplaint
from repairline_feedback.domain.followup import FireCallback, ScheduleCallback
from repairline_platform.commands import bound, reacting_to
from repairline_platform.eventstore import Delivered, UnitOfWork
from repairline_platform.timers import Timer, TimerHandler

# Published by intake; read by type string and wire fields (FBK-1).
PHONE_GUIDANCE_GIVEN = "repairline.intake.PhoneGuidanceGiven"


def _schedule(item: Delivered) -> ScheduleCallback:
    event = item.event
    if isinstance(event, RepairCompleted):
        return ScheduleCallback(event.ticket_id, "after_service", event.completed_at)
    guided_at = getattr(event, "guided_at", None) or item.envelope.time
    return ScheduleCallback(event.ticket_id, "after_guidance", guided_at)


class ScheduleCallbacks:
    """FBK-2: every completed repair gets a callback; FBK-1: so does phone guidance."""

    name = "callbacks"
    topics = (topics.DISPATCH_EVENTS, topics.INTAKE_EVENTS)
    event_types = frozenset({RepairCompleted.event_type, PHONE_GUIDANCE_GIVEN})

    def __init__(self, needs: commands.Needs) -> None:
        self.needs = needs

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        for item in items:
            with reacting_to(item.envelope):
                await commands.schedule_callback(
                    _schedule(item), uow, self.needs, region=item.envelope.region
                )


def timer_handlers(needs: commands.Needs) -> dict[str, TimerHandler]:
    """The callback's due time (FBK-1..3) and the complaint's answer deadline (FBK-6)."""

    async def on_callback_due(uow: UnitOfWork, timer: Timer) -> None:
        """The timer fired: the callback goes on the agents' list (CallbackDue)."""
        cmd = FireCallback(
            ticket_id=timer.stream_id,
            callback_id=timer.payload["callback_id"],
            due_at=datetime.fromisoformat(timer.payload.get("due_at", timer.due_at.isoformat())),
            attempt=int(timer.payload.get("attempt", 1)),
        )
        with _timer_context(timer):
            await commands.fire_callback(cmd, uow, needs)

    async def on_complaint_deadline(uow: UnitOfWork, timer: Timer) -> None:
        """FBK-6: the answer window has passed; an unanswered complaint is escalated."""
        cmd = EscalateComplaint(timer.stream_id.removeprefix("complaint:"))
        with _timer_context(timer):
            await commands.escalate_complaint(cmd, uow, needs)

    return {
        commands.CALLBACK_TIMER: on_callback_due,
        commands.COMPLAINT_TIMER: on_complaint_deadline,
    }


def _timer_context(timer: Timer) -> Any:
    return bound(timer.correlation_id, f"timer:{timer.timer_id}")
