"""Feedback's consumers: callbacks scheduled on completion, and the callback list."""

from __future__ import annotations

import json
from collections.abc import Sequence

from repairline_contracts import topics
from repairline_contracts.dispatch import RepairCompleted
from repairline_contracts.feedback import CallbackDue, CallbackScheduled
from repairline_feedback import domain
from repairline_platform.eventstore import Delivered, UnitOfWork
from repairline_platform.timers import Timer

CALLBACK_TIMER = "callback_due"


class ScheduleCallbacks:
    """FBK-2: every completed repair gets a callback, as a durable timer."""

    name = "callbacks"
    topics = (topics.DISPATCH_EVENTS,)
    event_types = frozenset({RepairCompleted.event_type})

    def __init__(self, pack: object) -> None:
        self.pack = pack

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        for item in items:
            event = item.event
            assert isinstance(event, RepairCompleted)
            scheduled = domain.schedule_after_service(
                self.pack, ticket_id=event.ticket_id, completed_at=event.completed_at
            )
            fresh = await uow.schedule(
                scheduled.callback_id,
                kind=CALLBACK_TIMER,
                stream_id=event.ticket_id,
                due_at=scheduled.due_at,
                payload={
                    "callback_id": scheduled.callback_id,
                    "due_at": scheduled.due_at.isoformat(),
                },
                correlation_id=item.envelope.correlationid,
            )
            if fresh:
                await uow.append(
                    event.ticket_id,
                    [scheduled],
                    correlation_id=item.envelope.correlationid,
                    causation_id=item.envelope.id,
                    region=item.envelope.region,
                )


async def on_callback_due(uow: UnitOfWork, timer: Timer) -> None:
    """The timer fired: the callback goes on the agents' list (CallbackDue)."""
    await uow.append(
        timer.stream_id,
        [
            domain.fire(
                timer.due_at,
                ticket_id=timer.stream_id,
                callback_id=timer.payload["callback_id"],
                now=uow.now(),
            )
        ],
        correlation_id=timer.correlation_id,
        causation_id=f"timer:{timer.timer_id}",
    )


class CallbackList:
    """Projection: callbacks with their status (scheduled, due)."""

    name = "callback-list"
    topics = (topics.FEEDBACK_EVENTS,)
    event_types = frozenset({CallbackScheduled.event_type, CallbackDue.event_type})
    tables = ("callbacks",)

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        rows = []
        for item in items:
            e = item.event
            if isinstance(e, CallbackScheduled):
                rows.append(
                    (
                        e.callback_id,
                        e.ticket_id,
                        e.reason,
                        e.due_at,
                        "scheduled",
                        1,
                        None,
                        json.dumps(e.decision.model_dump(mode="json")),
                    )
                )
            elif isinstance(e, CallbackDue):
                rows.append(
                    (e.callback_id, e.ticket_id, None, e.due_at, "due", 2, e.fired_at, None)
                )
        await uow.conn.executemany(
            """
            insert into callbacks as c
                (callback_id, ticket_id, reason, due_at, status, status_rank, fired_at, decision)
            values ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)
            on conflict (callback_id) do update set
                reason = coalesce(c.reason, excluded.reason),
                status = case when excluded.status_rank > c.status_rank
                              then excluded.status else c.status end,
                status_rank = greatest(c.status_rank, excluded.status_rank),
                fired_at = coalesce(c.fired_at, excluded.fired_at),
                decision = coalesce(c.decision, excluded.decision)
            """,
            rows,
        )
