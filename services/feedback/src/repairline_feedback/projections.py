"""Feedback's read models, each a declared projection: batched, replayable, and folding
the same rows whatever the order its events arrive in.

`Served` is feedback's own trimmed copy of the other contexts' facts (intake's
requests, dispatch's assignments and completions, billing's outlet); the others fold
feedback's own events.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
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
    KeyCustomerNoted,
    RevisitRequested,
    SurveyAnswered,
    SurveySampleDrawn,
)
from repairline_contracts.intake import RepairRequested, WarrantyDecided
from repairline_platform.eventstore import Delivered, UnitOfWork
from repairline_platform.readmodel import Ledger, Writes, jsonb

JSONB = ("decision", "answers")


async def upsert_each(
    uow: UnitOfWork,
    items: Sequence[Delivered],
    table: str,
    key: str,
    row: Callable[[Delivered], Mapping[str, Any]],
    merge: Callable[[Delivered], Mapping[str, str]] = lambda item: {},
) -> None:
    """Each item's row folded into `table` (`Writes.upsert`, with feedback's JSON
    columns); the batch's rows are written together (`readmodel.Writes`)."""
    writes = Writes()
    for item in items:
        writes.upsert(table, key, row(item), merge(item), jsonb=JSONB)
    await writes.run(uow.conn)


# -- callbacks (FBK-1..5) -----------------------------------------------------------------

CALLBACK_STATUS = """
    status = case
        when completed_at is not null then 'completed'
        when exhausted then 'exhausted'
        when due_attempt > attempts then 'due'
        when attempts > 0 then 'retry_pending'
        else 'scheduled' end
"""

CALLBACK_MERGE = {
    "fired_at": "least(t.fired_at, excluded.fired_at)",
    "last_fired_at": "greatest(t.last_fired_at, excluded.last_fired_at)",
    "due_attempt": "greatest(t.due_attempt, excluded.due_attempt)",
    "attempts": "greatest(t.attempts, excluded.attempts)",
    "exhausted": "t.exhausted or excluded.exhausted",
    "retry_at": "greatest(t.retry_at, excluded.retry_at)",
    "status": "t.status",
    "status_rank": "t.status_rank",
}


def _callback_row(e: Any) -> dict[str, Any]:
    match e:
        case CallbackScheduled():
            return {"reason": e.reason, "due_at": e.due_at, "decision": jsonb(e.decision)}
        case CallbackDue():
            return {
                "due_at": e.due_at,
                "fired_at": e.fired_at,
                "last_fired_at": e.fired_at,
                "due_attempt": e.attempt,
            }
        case CallbackAttempted():
            return {
                "attempts": e.attempt,
                "exhausted": e.attempts_exhausted,
                "retry_at": e.retry_at,
            }
        case CallbackCompleted():
            return {
                "grade": e.grade,
                "answers": jsonb(e.answers),
                "outcome_reason": e.reason,
                "completed_at": e.completed_at,
                "engineer_id": e.engineer_id,
                "outlet_id": e.outlet_id,
            }
    return {}


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
        await upsert_each(uow, items, "callbacks", "callback_id", _callback, _callback_merge)
        # the status follows from the folded row: once per callback, after its events
        await uow.conn.execute(
            f"update callbacks set {CALLBACK_STATUS} where callback_id = any($1::text[])",
            list({item.event.callback_id: None for item in items}),  # type: ignore[attr-defined]
        )


def _callback(item: Delivered) -> dict[str, Any]:
    e: Any = item.event
    row = {"callback_id": e.callback_id, "ticket_id": e.ticket_id, "due_at": None}
    return row | _callback_row(e) | {"status": "scheduled", "status_rank": 0}


def _callback_merge(item: Delivered) -> Mapping[str, str]:
    return CALLBACK_MERGE


# -- who was served: feedback's copy of the other contexts' facts -------------------------


def _served_row(e: Any) -> dict[str, Any]:
    match e:
        case RepairRequested():
            return {
                "region": e.region,
                "customer_name": e.customer.name,
                "mobile": e.customer.mobile,
                "phone": e.customer.phone,
                "organisation": e.customer.organisation,
                "key_account_id": getattr(e, "key_account_id", None),
                "serial_no": e.product.serial_no,
                "product_line": e.product.line,
                "purchase_date": e.product.purchase_date,
                "requested_at": e.requested_at,
            }
        case EngineerAssigned():
            return {
                "engineer_id": e.engineer_id,
                "service_point_id": getattr(e, "service_point_id", None),
            }
        case RepairCompleted():
            return {"engineer_id": e.engineer_id, "completed_at": e.completed_at}
        case ChargeAssessed():
            return {"outlet_id": e.outlet_id}
        case WarrantyDecided():
            # WAR-3, WAR-5: the date intake found the warranty runs from (the latest wins)
            return {
                "warranty_start": e.start_date,
                "warranty_source": e.start_source,
                "days_paused": e.days_paused,
            }
    return {}


WARRANTY_MERGE = {c: f"excluded.{c}" for c in ("warranty_start", "warranty_source", "days_paused")}


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
            WarrantyDecided.event_type,
        }
    )
    tables = ("served",)

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        await upsert_each(uow, items, "served", "ticket_id", _served, _served_merge)


def _served(item: Delivered) -> dict[str, Any]:
    e = item.event
    row = {"ticket_id": e.ticket_id, **_served_row(e)}
    if isinstance(e, RepairRequested):  # the pack intake opened the ticket under
        row |= {
            "policy_pack": item.envelope.policypack,
            "policy_version": item.envelope.policyversion,
        }
    return row


def _served_merge(item: Delivered) -> Mapping[str, str]:
    # the engineer who completed the job wins over the one first assigned
    if isinstance(item.event, RepairCompleted):
        return {"engineer_id": "excluded.engineer_id"}
    return WARRANTY_MERGE if isinstance(item.event, WarrantyDecided) else {}


# -- complaints (FBK-6) -------------------------------------------------------------------


def _complaint_row(e: Any) -> dict[str, Any]:
    match e:
        case ComplaintFiled():
            return {
                "channel": e.channel,
                "kind": e.kind,
                "description": e.description,
                "engineer_id": e.engineer_id,
                "outlet_id": e.outlet_id,
                "amount_paid_fen": e.amount_paid_fen,
                "answer_by": e.answer_by,
                "triggers": list(e.triggers),
                "decision": jsonb(e.decision),
                "filed_at": e.filed_at,
            }
        case ComplaintAnswered():
            return {
                "answer": e.answer,
                "answered_at": e.answered_at,
                "within_deadline": e.within_deadline,
            }
        case ComplaintEscalated():
            return {"escalated_at": e.escalated_at}
        case ComplaintVerified():
            return {"verified": True, "finding": e.finding, "decided_at": e.verified_at}
        case ComplaintDismissed():
            return {"verified": False, "finding": e.finding, "decided_at": e.dismissed_at}
    return {}


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
        await upsert_each(uow, items, "complaints", "complaint_id", _complaint)


def _complaint(item: Delivered) -> dict[str, Any]:
    e: Any = item.event
    return {"complaint_id": e.complaint_id, "ticket_id": e.ticket_id, **_complaint_row(e)}


class Cases(Ledger):
    """Projection: dissatisfied cases that sent someone on site (FBK-5)."""

    name = "cases"
    topics = (topics.FEEDBACK_EVENTS,)
    event_types = frozenset({RevisitRequested.event_type})
    tables = ("cases",)

    def row(self, e: RevisitRequested, event_id: str) -> tuple[Any, ...]:
        return (
            e.case_id,
            e.ticket_id,
            e.reason,
            e.engineer_id,
            e.outlet_id,
            jsonb(e.decision),
            e.requested_at,
            event_id,
        )


# -- surveys (FBK-7, WAR-11) and key customers (FBK-2) ------------------------------------


def _survey_row(e: Any) -> dict[str, Any]:
    if isinstance(e, SurveyAnswered):
        return {
            "survey_year": e.survey_year,
            "grade": e.grade,
            "answer": e.answer,
            "constructive": e.constructive,
            "answered_at": e.answered_at,
        }
    return {"reward": e.reward, "extended_ends_on": e.extended_ends_on}


class Surveys:
    """Projection: yearly survey answers and WAR-11 rewards (FBK-7)."""

    name = "surveys"
    topics = (topics.FEEDBACK_EVENTS,)
    event_types = frozenset({SurveyAnswered.event_type, ExtensionRewardGranted.event_type})
    tables = ("surveys",)

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        await upsert_each(uow, items, "surveys", "ticket_id", _survey)


def _survey(item: Delivered) -> dict[str, Any]:
    return {"ticket_id": item.event.ticket_id, **_survey_row(item.event)}


class SurveySamples(Ledger):
    """Projection: the drawn yearly samples (FBK-7); the first drawn is the one kept."""

    name = "survey-samples"
    topics = (topics.FEEDBACK_EVENTS,)
    event_types = frozenset({SurveySampleDrawn.event_type})
    tables = ("survey_samples",)

    def row(self, e: SurveySampleDrawn, event_id: str) -> tuple[Any, ...]:
        return (
            e.survey_year,
            e.percent,
            e.population,
            list(e.sample),
            e.reason,
            jsonb(e.decision),
            e.drawn_at,
        )


class KeyCustomers:
    """Projection: key customers (FBK-2), always on the morning list; the last note wins
    (a key customer's events share one stream, so they arrive in order)."""

    name = "key-customers"
    topics = (topics.FEEDBACK_EVENTS,)
    event_types = frozenset({KeyCustomerNoted.event_type})
    tables = ("key_customers",)

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        await upsert_each(uow, items, "key_customers", "name", _key_customer, _last_note)


def _key_customer(item: Delivered) -> dict[str, Any]:
    e = item.event
    assert isinstance(e, KeyCustomerNoted)
    return {"name": e.name, "note": e.note}


def _last_note(item: Delivered) -> Mapping[str, str]:
    return {"note": "excluded.note"}


PROJECTIONS = (CallbackList, Served, Complaints, Cases, Surveys, SurveySamples, KeyCustomers)
