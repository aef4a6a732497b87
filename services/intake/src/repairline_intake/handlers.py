"""Intake's projection: a ticket's whole status and timeline, from every context."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from repairline_contracts import topics
from repairline_contracts.base import Event
from repairline_contracts.billing import ChargeAssessed
from repairline_contracts.dispatch import (
    ArrivedOnSite,
    AssignmentWaiting,
    EngineerAssigned,
    RepairCompleted,
)
from repairline_contracts.feedback import CallbackDue, CallbackScheduled
from repairline_contracts.intake import RepairRequested
from repairline_platform.eventstore import Delivered, UnitOfWork

# Status is the furthest stage reached, so events from different contexts may
# arrive in any order and replay still gives the same answer.
STATUS: dict[str, tuple[str, int]] = {
    RepairRequested.event_type: ("requested", 10),
    AssignmentWaiting.event_type: ("waiting_for_engineer", 20),
    EngineerAssigned.event_type: ("engineer_assigned", 30),
    ArrivedOnSite.event_type: ("engineer_on_site", 40),
    RepairCompleted.event_type: ("repair_completed", 50),
    ChargeAssessed.event_type: ("repair_completed", 50),
    CallbackScheduled.event_type: ("repair_completed", 50),
    CallbackDue.event_type: ("callback_due", 60),
}


def summary(event: Event) -> dict[str, Any]:
    """What the timeline shows of an event: no personal data."""
    match event:
        case RepairRequested():
            return {
                "channel": event.channel.value,
                "product_line": event.product.line,
                "needs_verification": event.needs_verification,
            }
        case AssignmentWaiting():
            return {"reason": event.reason}
        case EngineerAssigned():
            return {"engineer_id": event.engineer_id, "reason": event.reason}
        case ArrivedOnSite():
            return {"engineer_id": event.engineer_id}
        case RepairCompleted():
            return {"engineer_id": event.engineer_id, "resolution": event.resolution}
        case ChargeAssessed():
            return {"total_fen": event.total_fen, "rule_ids": list(event.decision.rule_ids)}
        case CallbackScheduled():
            return {"due_at": event.due_at.isoformat(), "reason": event.reason}
        case CallbackDue():
            return {"due_at": event.due_at.isoformat()}
    return {}


class TicketView:
    name = "ticket-view"
    topics = (
        topics.INTAKE_EVENTS,
        topics.DISPATCH_EVENTS,
        topics.BILLING_EVENTS,
        topics.FEEDBACK_EVENTS,
    )
    event_types = frozenset(STATUS)
    tables = ("ticket_view", "ticket_timeline")

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        timeline = []
        views = []
        for item in items:
            env, e = item.envelope, item.event
            status, rank = STATUS[env.type]
            timeline.append(
                (env.id, e.ticket_id, env.type, env.source, env.time, json.dumps(summary(e)))
            )
            request = e if isinstance(e, RepairRequested) else None
            views.append(
                (
                    e.ticket_id,
                    status,
                    rank,
                    request and request.service_request_no,
                    request and request.repair_order_no,
                    request and request.channel.value,
                    request.region if request else env.region,
                    request and request.product.line,
                    request and request.needs_verification,
                    json.dumps(list(request.verification_issues)) if request else None,
                    request and request.requested_at,
                    e.engineer_id if isinstance(e, EngineerAssigned) else None,
                    e.total_fen if isinstance(e, ChargeAssessed) else None,
                    e.due_at if isinstance(e, CallbackScheduled) else None,
                    env.time,
                )
            )
        await uow.conn.execute(
            "insert into ticket_timeline"
            " select * from unnest($1::text[], $2::text[], $3::text[], $4::text[],"
            " $5::timestamptz[], $6::jsonb[]) on conflict (event_id) do nothing",
            *(list(column) for column in zip(*timeline, strict=True)),
        )
        merged = list(_merge_per_ticket(views).values())
        await uow.conn.execute(
            """
            insert into ticket_view as v (ticket_id, status, status_rank, service_request_no,
                repair_order_no, channel, region, product_line, needs_verification,
                verification_issues, requested_at, engineer_id, charge_total_fen,
                callback_due_at, updated_at)
            select * from unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[],
                $6::text[], $7::text[], $8::text[], $9::bool[], $10::jsonb[],
                $11::timestamptz[], $12::text[], $13::bigint[], $14::timestamptz[],
                $15::timestamptz[])
            on conflict (ticket_id) do update set
                status = case when excluded.status_rank > v.status_rank
                              then excluded.status else v.status end,
                status_rank = greatest(v.status_rank, excluded.status_rank),
                service_request_no = coalesce(v.service_request_no, excluded.service_request_no),
                repair_order_no = coalesce(v.repair_order_no, excluded.repair_order_no),
                channel = coalesce(v.channel, excluded.channel),
                region = coalesce(v.region, excluded.region),
                product_line = coalesce(v.product_line, excluded.product_line),
                needs_verification = coalesce(v.needs_verification, excluded.needs_verification),
                verification_issues = coalesce(v.verification_issues, excluded.verification_issues),
                requested_at = coalesce(v.requested_at, excluded.requested_at),
                engineer_id = coalesce(excluded.engineer_id, v.engineer_id),
                charge_total_fen = coalesce(excluded.charge_total_fen, v.charge_total_fen),
                callback_due_at = coalesce(excluded.callback_due_at, v.callback_due_at),
                updated_at = greatest(v.updated_at, excluded.updated_at)
            """,
            *(list(column) for column in zip(*merged, strict=True)),
        )


# Columns of a view row whose first non-null value wins, and those whose last one does;
# the same rules as the upsert above, applied inside a batch first because one
# statement cannot update a row twice.
_FIRST_WINS = range(3, 11)
_LAST_WINS = range(11, 14)


def _merge_per_ticket(rows: list[tuple[Any, ...]]) -> dict[str, tuple[Any, ...]]:
    merged: dict[str, list[Any]] = {}
    for row in rows:
        current = merged.get(row[0])
        if current is None:
            merged[row[0]] = list(row)
            continue
        if row[2] > current[2]:
            current[1], current[2] = row[1], row[2]
        for i in _FIRST_WINS:
            if current[i] is None:
                current[i] = row[i]
        for i in _LAST_WINS:
            if row[i] is not None:
                current[i] = row[i]
        current[14] = max(current[14], row[14])
    return {k: tuple(v) for k, v in merged.items()}
