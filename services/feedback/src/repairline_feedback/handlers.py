"""Feedback's consumers and timers: callbacks scheduled on completion and after phone
guidance, complaints' answer clocks, and the projections (callback list, served,
complaints, cases, surveys)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from repairline_contracts import topics
from repairline_contracts.billing import ChargeAssessed
from repairline_contracts.dispatch import EngineerAssigned, RepairCompleted
from repairline_contracts.feedback import (
    CallbackAttempted,
    CallbackCompleted,
    CallbackDue,
    CallbackScheduled,
    ComplaintAnswered,
    ComplaintDismissed,
    ComplaintEscalated,
    ComplaintFiled,
    ComplaintVerified,
    ExtensionRewardGranted,
    RevisitRequested,
    SurveyAnswered,
)
from repairline_contracts.intake import RepairRequested
from repairline_feedback import domain
from repairline_platform.eventstore import Delivered, UnitOfWork
from repairline_platform.timers import Timer

CALLBACK_TIMER = "callback_due"
COMPLAINT_TIMER = "complaint_deadline"
# Published by intake; read by type string and wire fields (FBK-1).
PHONE_GUIDANCE_GIVEN = "repairline.intake.PhoneGuidanceGiven"


async def schedule_callback(
    uow: UnitOfWork,
    scheduled: CallbackScheduled,
    *,
    correlation_id: str,
    causation_id: str,
    region: str | None = None,
    append: bool = True,
) -> bool:
    """A callback as a durable timer, and its CallbackScheduled, once."""
    fresh = await uow.schedule(
        scheduled.callback_id,
        kind=CALLBACK_TIMER,
        stream_id=scheduled.ticket_id,
        due_at=scheduled.due_at,
        payload={
            "callback_id": scheduled.callback_id,
            "due_at": scheduled.due_at.isoformat(),
            "attempt": 1,
        },
        correlation_id=correlation_id,
    )
    if fresh and append:
        await uow.append(
            scheduled.ticket_id,
            [scheduled],
            correlation_id=correlation_id,
            causation_id=causation_id,
            region=region,
        )
    return fresh


class ScheduleCallbacks:
    """FBK-2: every completed repair gets a callback; FBK-1: so does phone guidance."""

    name = "callbacks"
    topics = (topics.DISPATCH_EVENTS, topics.INTAKE_EVENTS)
    event_types = frozenset({RepairCompleted.event_type, PHONE_GUIDANCE_GIVEN})

    def __init__(self, pack: Any) -> None:
        self.pack = pack

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        for item in items:
            event = item.event
            if isinstance(event, RepairCompleted):
                scheduled = domain.schedule_after_service(
                    self.pack, ticket_id=event.ticket_id, completed_at=event.completed_at
                )
            else:
                guided_at = getattr(event, "guided_at", None) or item.envelope.time
                scheduled = domain.schedule_after_guidance(
                    self.pack, ticket_id=event.ticket_id, guided_at=guided_at
                )
            await schedule_callback(
                uow,
                scheduled,
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
                datetime.fromisoformat(timer.payload.get("due_at", timer.due_at.isoformat())),
                ticket_id=timer.stream_id,
                callback_id=timer.payload["callback_id"],
                now=uow.now(),
                attempt=int(timer.payload.get("attempt", 1)),
            )
        ],
        correlation_id=timer.correlation_id,
        causation_id=f"timer:{timer.timer_id}",
    )


def complaint_timer(pack: Any) -> Any:
    async def on_complaint_deadline(uow: UnitOfWork, timer: Timer) -> None:
        """FBK-6: the answer window has passed; an unanswered complaint is escalated."""
        stream = timer.stream_id
        events = await uow.load_stream(stream)
        complaint = domain.fold_complaint(events)
        if complaint is None:
            return
        breach = domain.decide_breach(pack, complaint, now=uow.now())
        if breach is not None:
            await uow.append(
                stream,
                [breach],
                expected_version=len(events),
                correlation_id=timer.correlation_id,
                causation_id=f"timer:{timer.timer_id}",
            )

    return on_complaint_deadline


# -- projections ---------------------------------------------------------------------------

CALLBACK_STATUS = """
    status = case
        when completed_at is not null then 'completed'
        when exhausted then 'exhausted'
        when due_attempt > attempts then 'due'
        when attempts > 0 then 'retry_pending'
        else 'scheduled' end
"""


class CallbackList:
    """Projection: callbacks with their attempts, outcome and status."""

    name = "callback-list"
    topics = (topics.FEEDBACK_EVENTS,)
    event_types = frozenset(
        {
            CallbackScheduled.event_type,
            CallbackDue.event_type,
            CallbackAttempted.event_type,
            CallbackCompleted.event_type,
        }
    )
    tables = ("callbacks",)

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        for item in items:
            e = item.event
            row: dict[str, Any] = {
                "callback_id": e.callback_id,  # type: ignore[attr-defined]
                "ticket_id": e.ticket_id,
            }
            if isinstance(e, CallbackScheduled):
                row.update(
                    reason=e.reason,
                    due_at=e.due_at,
                    decision=json.dumps(e.decision.model_dump(mode="json")),
                )
            elif isinstance(e, CallbackDue):
                row.update(
                    due_at=e.due_at,
                    fired_at=e.fired_at,
                    last_fired_at=e.fired_at,
                    due_attempt=e.attempt,
                )
            elif isinstance(e, CallbackAttempted):
                row.update(attempts=e.attempt, exhausted=e.attempts_exhausted, retry_at=e.retry_at)
            elif isinstance(e, CallbackCompleted):
                row.update(
                    grade=e.grade,
                    answers=json.dumps(e.answers.model_dump(mode="json")),
                    outcome_reason=e.reason,
                    completed_at=e.completed_at,
                    engineer_id=e.engineer_id,
                    outlet_id=e.outlet_id,
                )
            row.setdefault("due_at", None)
            cols = list(row)
            values = ", ".join(
                f"${i}::jsonb" if c in ("decision", "answers") else f"${i}"
                for i, c in enumerate(cols, 1)
            )
            merge = {
                "fired_at": "least(c.fired_at, excluded.fired_at)",
                "last_fired_at": "greatest(c.last_fired_at, excluded.last_fired_at)",
                "due_attempt": "greatest(c.due_attempt, excluded.due_attempt)",
                "attempts": "greatest(c.attempts, excluded.attempts)",
                "exhausted": "c.exhausted or excluded.exhausted",
                "retry_at": "greatest(c.retry_at, excluded.retry_at)",
            }
            updates = ", ".join(
                f"{c} = {merge.get(c, f'coalesce(c.{c}, excluded.{c})')}"
                for c in cols
                if c != "callback_id"
            )
            await uow.conn.execute(
                f"insert into callbacks as c ({', '.join(cols)}, status, status_rank)"
                f" values ({values}, 'scheduled', 0)"
                f" on conflict (callback_id) do update set {updates}",
                *row.values(),
            )
            await uow.conn.execute(
                f"update callbacks set {CALLBACK_STATUS} where callback_id = $1", row["callback_id"]
            )


class Served:
    """Projection: every ticket served, with who served it, for lists and reports.

    Holds the customer's contact for the callback staff; it never goes to a log.
    """

    name = "served"
    topics = (topics.INTAKE_EVENTS, topics.DISPATCH_EVENTS, topics.BILLING_EVENTS)
    event_types = frozenset(
        {
            RepairRequested.event_type,
            EngineerAssigned.event_type,
            RepairCompleted.event_type,
            ChargeAssessed.event_type,
        }
    )
    tables = ("served",)

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        for item in items:
            e = item.event
            row: dict[str, Any] = {"ticket_id": e.ticket_id}
            if isinstance(e, RepairRequested):
                row.update(
                    region=e.region,
                    customer_name=e.customer.name,
                    mobile=e.customer.mobile,
                    phone=e.customer.phone,
                    organisation=e.customer.organisation,
                    key_account_id=getattr(e, "key_account_id", None),
                    serial_no=e.product.serial_no,
                    product_line=e.product.line,
                    purchase_date=e.product.purchase_date,
                    requested_at=e.requested_at,
                )
            elif isinstance(e, EngineerAssigned):
                row.update(
                    engineer_id=e.engineer_id,
                    service_point_id=getattr(e, "service_point_id", None),
                )
            elif isinstance(e, RepairCompleted):
                row.update(engineer_id=e.engineer_id, completed_at=e.completed_at)
            elif isinstance(e, ChargeAssessed):
                row.update(outlet_id=e.outlet_id)
            cols = list(row)
            values = ", ".join(f"${i}" for i in range(1, len(cols) + 1))
            # the engineer who completed the job wins over the one first assigned
            updates = ", ".join(
                f"{c} = excluded.{c}"
                if c == "engineer_id" and isinstance(e, RepairCompleted)
                else f"{c} = coalesce(s.{c}, excluded.{c})"
                for c in cols
                if c != "ticket_id"
            )
            await uow.conn.execute(
                f"insert into served as s ({', '.join(cols)}) values ({values})"
                f" on conflict (ticket_id) do update set {updates}"
                if updates
                else "insert into served (ticket_id) values ($1) on conflict do nothing",
                *row.values(),
            )


class Complaints:
    """Projection: complaints, their answer clock and outcome (FBK-6)."""

    name = "complaints"
    topics = (topics.FEEDBACK_EVENTS,)
    event_types = frozenset(
        {
            ComplaintFiled.event_type,
            ComplaintAnswered.event_type,
            ComplaintEscalated.event_type,
            ComplaintVerified.event_type,
            ComplaintDismissed.event_type,
        }
    )
    tables = ("complaints",)

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        for item in items:
            e = item.event
            row: dict[str, Any] = {
                "complaint_id": e.complaint_id,  # type: ignore[attr-defined]
                "ticket_id": e.ticket_id,
            }
            if isinstance(e, ComplaintFiled):
                row.update(
                    channel=e.channel,
                    kind=e.kind,
                    description=e.description,
                    engineer_id=e.engineer_id,
                    outlet_id=e.outlet_id,
                    amount_paid_fen=e.amount_paid_fen,
                    answer_by=e.answer_by,
                    triggers=list(e.triggers),
                    decision=json.dumps(e.decision.model_dump(mode="json")),
                    filed_at=e.filed_at,
                )
            elif isinstance(e, ComplaintAnswered):
                row.update(
                    answer=e.answer, answered_at=e.answered_at, within_deadline=e.within_deadline
                )
            elif isinstance(e, ComplaintEscalated):
                row.update(escalated_at=e.escalated_at)
            elif isinstance(e, ComplaintVerified):
                row.update(verified=True, finding=e.finding, decided_at=e.verified_at)
            elif isinstance(e, ComplaintDismissed):
                row.update(verified=False, finding=e.finding, decided_at=e.dismissed_at)
            cols = list(row)
            values = ", ".join(
                f"${i}::jsonb" if c == "decision" else f"${i}" for i, c in enumerate(cols, 1)
            )
            updates = ", ".join(
                f"{c} = coalesce(p.{c}, excluded.{c})" for c in cols if c != "complaint_id"
            )
            await uow.conn.execute(
                f"insert into complaints as p ({', '.join(cols)}) values ({values})"
                f" on conflict (complaint_id) do update set {updates}",
                *row.values(),
            )


class Cases:
    """Projection: dissatisfied cases that sent someone on site (FBK-5)."""

    name = "cases"
    topics = (topics.FEEDBACK_EVENTS,)
    event_types = frozenset({RevisitRequested.event_type})
    tables = ("cases",)

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        for item in items:
            e = item.event
            assert isinstance(e, RevisitRequested)
            await uow.conn.execute(
                "insert into cases values ($1, $2, $3, $4, $5, $6::jsonb, $7, $8)"
                " on conflict do nothing",
                e.case_id,
                e.ticket_id,
                e.reason,
                e.engineer_id,
                e.outlet_id,
                json.dumps(e.decision.model_dump(mode="json")) if e.decision else None,
                e.requested_at,
                item.envelope.id,
            )


class Surveys:
    """Projection: yearly survey answers and WAR-11 rewards (FBK-7)."""

    name = "surveys"
    topics = (topics.FEEDBACK_EVENTS,)
    event_types = frozenset({SurveyAnswered.event_type, ExtensionRewardGranted.event_type})
    tables = ("surveys",)

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        for item in items:
            e = item.event
            if isinstance(e, SurveyAnswered):
                row: dict[str, Any] = {
                    "ticket_id": e.ticket_id,
                    "survey_year": e.survey_year,
                    "grade": e.grade,
                    "answer": e.answer,
                    "constructive": e.constructive,
                    "answered_at": e.answered_at,
                }
            else:
                assert isinstance(e, ExtensionRewardGranted)
                row = {
                    "ticket_id": e.ticket_id,
                    "reward": e.reward,
                    "extended_ends_on": e.extended_ends_on,
                }
            cols = list(row)
            values = ", ".join(f"${i}" for i in range(1, len(cols) + 1))
            updates = ", ".join(
                f"{c} = coalesce(s.{c}, excluded.{c})" for c in cols if c != "ticket_id"
            )
            await uow.conn.execute(
                f"insert into surveys as s ({', '.join(cols)}) values ({values})"
                f" on conflict (ticket_id) do update set {updates}",
                *row.values(),
            )
