"""Intake's read models, each a declared projection: batched, replayable, compared after
replay.

- `TicketView`: a ticket's whole status, facts and timeline, from every context's events
  (intake's trimmed copy of dispatch's, billing's and feedback's facts).
- `SalesRecords`: the maker's sales records by serial number (WAR-3), from `SaleRecorded`.
- `ticket_archive()`: the other contexts' events the ticket view shows, kept by ticket,
  so `GET /tickets/{id}?as_of=T` can fold the view as it stood at T (intake's own
  events are in its event store).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from repairline_contracts import dispatch as d
from repairline_contracts import intake as i
from repairline_contracts import topics
from repairline_contracts.base import Event
from repairline_contracts.billing import ChargeAssessed
from repairline_contracts.envelope import Envelope
from repairline_contracts.feedback import CallbackDue, CallbackScheduled, ComplaintFiled
from repairline_platform.asof import StreamArchive
from repairline_platform.bulk import Rows, insert_together
from repairline_platform.eventstore import Delivered, Projection, UnitOfWork
from repairline_platform.readmodel import jsonb

# Other contexts' events the view shows, by type (their classes belong to their owners).
QUOTE_ISSUED = "repairline.billing.QuoteIssued"
QUOTE_ACCEPTED = "repairline.billing.QuoteAccepted"
QUOTE_REFUSED = "repairline.billing.QuoteRefused"
REVISIT_REQUESTED = "repairline.feedback.RevisitRequested"

# The status an event puts the ticket in (None: the status does not change), with the
# rank of the furthest stage reached. The status shown is the one of the latest event
# by (time, stream version, id), so events from different contexts may arrive in any
# order and replay still gives the same answer, even when a ticket goes round a loop
# (rebooked visits, revisits).
STATUS: dict[str, tuple[str | None, int]] = {
    i.RepairRequested.event_type: ("requested", 10),
    i.RepairRequestRefused.event_type: ("refused", 10),
    i.WarrantyDecided.event_type: (None, 10),
    i.RequestVerified.event_type: ("verified", 10),
    i.PhoneGuidanceGiven.event_type: ("phone_guidance_given", 10),
    i.VisitRequested.event_type: ("visit_requested", 10),
    i.RemedyOffered.event_type: (None, 10),
    i.RemedyChosen.event_type: ("remedy_chosen", 10),
    i.DepotIntakeRecorded.event_type: ("checked_in_at_depot", 10),
    i.DuplicateReported.event_type: (None, 10),
    d.AssignmentWaiting.event_type: ("waiting_for_engineer", 20),
    d.EngineerAssigned.event_type: ("engineer_assigned", 30),
    d.EngineerReleased.event_type: ("reassigning", 30),
    d.AppointmentScheduled.event_type: ("appointment_scheduled", 30),
    d.AppointmentRescheduled.event_type: ("appointment_scheduled", 30),
    d.RescheduleRefused.event_type: (None, 30),
    d.EngineerDeparted.event_type: ("engineer_en_route", 35),
    d.EngineerDelayed.event_type: (None, 35),
    d.LatenessNoticeDue.event_type: (None, 30),
    d.ArrivedOnSite.event_type: ("engineer_on_site", 40),
    d.CustomerNotFound.event_type: ("customer_not_found", 40),
    d.PartsRequested.event_type: (None, 30),
    d.PartsBackordered.event_type: ("waiting_for_parts", 40),
    d.PartsArrived.event_type: ("parts_arrived", 40),
    d.WrongPartOnSite.event_type: (None, 40),
    d.VisitInterrupted.event_type: (None, 40),
    d.ConsentRecorded.event_type: (None, 40),
    d.InspectionRecorded.event_type: (None, 40),
    d.CustomerSearched.event_type: (None, 40),
    d.WorkStarted.event_type: ("repair_in_progress", 45),
    d.WorkCarriedForward.event_type: ("carried_forward", 45),
    d.SlaDeadlineApproaching.event_type: (None, 10),
    d.SlaDeadlineBreached.event_type: (None, 10),
    d.SlaDeadlinesRecomputed.event_type: (None, 10),
    d.MissedAppointment.event_type: (None, 30),
    d.RevisitOpened.event_type: ("revisit", 50),
    d.RepairCompleted.event_type: ("repair_completed", 50),
    d.VisitEndedWithoutRepair.event_type: ("ended_without_repair", 50),
    QUOTE_ISSUED: ("quote_issued", 40),
    QUOTE_ACCEPTED: ("quote_accepted", 40),
    QUOTE_REFUSED: ("quote_refused", 40),
    ChargeAssessed.event_type: ("repair_completed", 50),
    CallbackScheduled.event_type: (None, 10),  # follows guidance as well as a repair
    REVISIT_REQUESTED: (None, 50),
    ComplaintFiled.event_type: (None, 10),
    CallbackDue.event_type: ("callback_due", 60),
    i.CustomerCalledForPickup.event_type: ("ready_for_pickup", 70),
    i.PickedUp.event_type: ("picked_up", 80),
    i.TicketClosed.event_type: ("closed", 80),
    i.TicketCancelled.event_type: ("cancelled", 80),
}

# What the timeline may show of an event's data: never a phone number or an address.
_SAFE = (
    "reason",
    "engineer_id",
    "resolution",
    "route",
    "chargeable",
    "unit_in_warranty",
    "free_visit",
    "window_start",
    "window_end",
    "appointment_id",
    "queue_no",
    "promised_repair_by",
    "visit_by",
    "fix_by",
    "repair_by",
    "deadline",
    "due_at",
    "notice",
    "notice_in_time",
    "quote_id",
    "total_fen",
    "case_id",
    "part",
    "fetch_now",
    "callback_due_at",
    "service_point_id",
    "late",
    "appointment_start",
    "appointment_end",
    "confirm_by",
    "confirmed_in_time",
)
_SHOWN = frozenset(_SAFE)


def summary(event: Event, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the timeline shows of an event: no personal data."""
    if isinstance(event, i.RepairRequested):
        out: dict[str, Any] = {
            "channel": event.channel.value,
            "product_line": event.product.line,
            "needs_verification": event.needs_verification,
        }
        if event.triage is not None:
            out["route"] = event.triage.route
        if event.held_for:
            out["held_for"] = list(event.held_for)
        return out
    if isinstance(event, ChargeAssessed):
        return {"total_fen": event.total_fen, "rule_ids": list(event.decision.rule_ids)}
    if isinstance(event, CallbackScheduled):
        return {"due_at": event.due_at.isoformat(), "reason": event.reason}
    if isinstance(event, CallbackDue):
        return {"due_at": event.due_at.isoformat()}
    data = data if data is not None else event.model_dump(mode="json")
    out = {k: v for k, v in data.items() if v is not None and k in _SHOWN}
    if isinstance(event, i.RemedyOffered):
        out["remedies"] = [m.kind for m in event.remedies]
    if isinstance(event, i.RemedyChosen):
        out["remedy"] = event.remedy.kind
    if isinstance(data.get("decision"), dict):
        out["rule_ids"] = list(data["decision"].get("rule_ids", ()))
    return out


def facts(event: Event) -> dict[str, Any]:
    """Latest-wins facts a command or a reader needs (serial number, warranty, ...)."""
    match event:
        case i.RepairRequested():
            out: dict[str, Any] = {
                "service_mode": event.service_mode.value,
                "held_for": list(event.held_for),
            }
            if event.product.serial_no:
                out["serial_no"] = event.product.serial_no
            out.update(owners(event))
            out["contact"] = contact(event.customer)
            if event.triage is not None:
                out["triage"] = {
                    "route": event.triage.route,
                    "visit_chargeable": event.triage.visit_chargeable,
                    "reason": event.triage.reason,
                }
            return out
        case i.RequestVerified():
            verified = {"contact": contact(event.customer)}
            if event.product.serial_no:
                verified["serial_no"] = event.product.serial_no
            return verified
        case i.RepairRequestRefused():
            return {"closed": event.reason}
        case i.WarrantyDecided():
            return {
                "warranty": {
                    "unit_in_warranty": event.unit_in_warranty,
                    "free_visit": event.free_visit,
                    "chargeable": event.chargeable,
                    "reason": event.reason,
                    "rule_ids": list(event.decision.rule_ids),
                }
            }
        case i.RemedyOffered():
            return {"remedies_offered": [m.kind for m in event.remedies]}
        case i.RemedyChosen():
            return {"remedy": event.remedy.kind}
        case i.PhoneGuidanceGiven():
            return {"guidance_callback_due_at": event.callback_due_at.isoformat()}
        case i.DepotIntakeRecorded():
            return {
                "depot": {
                    "queue_no": event.queue_no,
                    "promised_repair_by": event.promised_repair_by
                    and event.promised_repair_by.isoformat(),
                }
            }
        case i.PickedUp() | i.TicketClosed() | i.TicketCancelled():
            reason = getattr(event, "reason", "picked_up")
            return {"closed": reason}
        case d.AppointmentScheduled() | d.AppointmentRescheduled():
            return {
                "appointment": {
                    "start": event.window_start.isoformat(),
                    "end": event.window_end.isoformat(),
                }
            }
        case d.RepairCompleted():
            return {"repair_completed": event.completed_at.isoformat()}
        case d.VisitEndedWithoutRepair():
            return {"closed": f"no repair: {event.reason}"}
        case d.SlaDeadlineBreached():
            return {f"sla_breached_{event.deadline}": event.due_at.isoformat()}
        case d.EngineerAssigned() | d.SlaDeadlinesRecomputed():
            return _deadlines(event)
        case d.MissedAppointment():
            return {"missed_appointment": event.appointment_start.isoformat()}
        case ComplaintFiled():
            return {"complaint_answer_by": event.answer_by.isoformat()}
    return {}


def _deadlines(event: d.EngineerAssigned | d.SlaDeadlinesRecomputed) -> dict[str, Any]:
    """DSP-3: the deadlines dispatch set (on site by, fixed by, repaired by: a
    return-to-factory or depot repair), latest wins; none set, nothing shown."""
    dues = {"visit_by": event.visit_by, "fix_by": event.fix_by, "repair_by": event.repair_by}
    if all(due is None for due in dues.values()):
        return {}
    shown = {k: due.isoformat() if due else None for k, due in dues.items()}
    return {"deadlines": {**shown, "rule_ids": list(_rule_ids(event))}}


def _rule_ids(event: Any) -> tuple[str, ...]:
    decision = getattr(event, "decision", None)
    return decision.rule_ids if decision is not None else ("DSP-3",)


def owners(event: i.RepairRequested) -> dict[str, str]:
    """The dealer who brought the ticket and the customer account that filed it: who,
    besides the network's staff, may read it."""
    out = {}
    if event.dealer is not None and event.dealer.dealer_id:
        out["dealer_id"] = event.dealer.dealer_id
    if event.customer_id:
        out["customer_id"] = event.customer_id
    return out


def contact(customer: i.Customer) -> dict[str, str | None]:
    """How to reach the customer (personal data: the view shows it to whom needs it)."""
    return {
        "name": customer.name,
        "phone": customer.phone,
        "mobile": customer.mobile,
        "address": customer.address,
    }


def _order(env: Any) -> tuple[datetime, int, str]:
    return (env.time, env.streamversion, env.id)


class TicketView:
    """A ticket's status, facts and timeline across the four contexts (`GET /tickets/{id}`),
    and the facts intake's commands read (serial numbers on open tickets, completions)."""

    name = "ticket-view"
    topics = (
        topics.INTAKE_EVENTS,
        topics.DISPATCH_EVENTS,
        topics.BILLING_EVENTS,
        topics.FEEDBACK_EVENTS,
    )
    event_types = frozenset(STATUS)
    tables = ("ticket_view", "ticket_timeline", "ticket_facts")

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        timeline = []
        views: dict[str, dict[str, Any]] = {}
        fact_rows: dict[tuple[str, str], tuple[Any, ...]] = {}
        for item in items:
            env, e = item.envelope, item.event
            # each entry names the policy pack (and its version) that decided it
            policy = {"pack": env.policypack, "version": env.policyversion}
            entry = jsonb({**summary(e), "policy": policy})
            timeline.append((env.id, e.ticket_id, env.type, env.source, env.time, entry))
            for key, value in facts(e).items():
                row = (e.ticket_id, key, jsonb(value), *_order(env))
                current = fact_rows.get((e.ticket_id, key))
                if current is None or row[3:] > current[3:]:
                    fact_rows[(e.ticket_id, key)] = row
            _merge(views, e.ticket_id, _view_row(env, e))
        await insert_together(
            uow.conn,
            [
                Rows("ticket_timeline", timeline, _TIMELINE_TYPES, _NEW_EVENTS),
                Rows("ticket_facts", list(fact_rows.values()), _FACT_TYPES, _LATER_FACTS),
                Rows(
                    "ticket_view",
                    _view_rows(views),
                    list(_VIEW_TYPES.values()),
                    _MERGE_VIEWS,
                    columns=_VIEW,
                    alias="v",
                ),
            ],
        )


def _columns(rows: Iterable[Sequence[Any]]) -> list[list[Any]]:
    return [list(column) for column in zip(*rows, strict=True)]


def _view_row(env: Envelope, e: Event) -> dict[str, Any]:
    """One event's contribution to its ticket's row."""
    status, rank = STATUS[env.type]
    request = e if isinstance(e, i.RepairRequested) else None
    row = {
        "status": status,
        "order": _order(env) if status else None,
        "rank": rank,
        "service_request_no": request and request.service_request_no,
        "repair_order_no": request and request.repair_order_no,
        "channel": request and request.channel.value,
        "region": request.region if request else env.region,
        "product_line": request and request.product.line,
        "needs_verification": request and request.needs_verification,
        "verification_issues": jsonb(list(request.verification_issues)) if request else None,
        "requested_at": request and request.requested_at,
        "engineer_id": e.engineer_id
        if isinstance(e, d.EngineerAssigned | d.RepairCompleted)
        else None,
        "charge_total_fen": e.total_fen if isinstance(e, ChargeAssessed) else None,
        "callback_due_at": e.due_at if isinstance(e, CallbackScheduled) else None,
        "updated_at": env.time,
    }
    if isinstance(e, i.RequestVerified):
        row["verified"] = True
    return row


def _view_rows(views: dict[str, dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (
            ticket_id,
            v["status"] or "requested",
            v["rank"],
            v["service_request_no"],
            v["repair_order_no"],
            v["channel"],
            v["region"],
            v["product_line"],
            False if v.get("verified") else v["needs_verification"],
            v["verification_issues"],
            v["requested_at"],
            v["engineer_id"],
            v["charge_total_fen"],
            v["callback_due_at"],
            v["updated_at"],
            v["order"][0] if v["order"] else None,
            v["order"][1] if v["order"] else None,
            v["order"][2] if v["order"] else None,
            v.get("verified", False),
        )
        for ticket_id, v in views.items()
    ]


_NEW_EVENTS = "on conflict (event_id) do nothing"
# the columns' types, as the migrations declare them: the rows of a live batch go to the
# three tables in one statement (`insert_together`)
_TIMELINE_TYPES = ("text", "text", "text", "text", "timestamptz", "jsonb")
_FACT_TYPES = ("text", "text", "jsonb", "timestamptz", "integer", "text")

_LATER_FACTS = """
    on conflict (ticket_id, key) do update set
        value = excluded.value, at = excluded.at, version = excluded.version,
        event_id = excluded.event_id
    where (excluded.at, excluded.version, excluded.event_id)
        > (t.at, t.version, t.event_id)
"""

# the view's columns as a live batch writes them, in order, with their types as the
# migrations declare them
_VIEW_TYPES = {
    "ticket_id": "text",
    "status": "text",
    "status_rank": "integer",
    "service_request_no": "text",
    "repair_order_no": "text",
    "channel": "text",
    "region": "text",
    "product_line": "text",
    "needs_verification": "boolean",
    "verification_issues": "jsonb",
    "requested_at": "timestamptz",
    "engineer_id": "text",
    "charge_total_fen": "bigint",
    "callback_due_at": "timestamptz",
    "updated_at": "timestamptz",
    "status_at": "timestamptz",
    "status_version": "integer",
    "status_event": "text",
    "verified": "boolean",
}
_VIEW = tuple(_VIEW_TYPES)

# The latest status by (time, stream version, event id); first-seen request facts; the
# latest engineer, charge and callback.
_MERGE_VIEWS = """
    on conflict (ticket_id) do update set
        status = case
            when excluded.status_at is null then v.status
            when v.status_at is null then excluded.status
            when (excluded.status_at, excluded.status_version, excluded.status_event)
                 > (v.status_at, v.status_version, v.status_event)
            then excluded.status else v.status end,
        status_at = case
            when excluded.status_at is null then v.status_at
            when v.status_at is null then excluded.status_at
            when (excluded.status_at, excluded.status_version, excluded.status_event)
                 > (v.status_at, v.status_version, v.status_event)
            then excluded.status_at else v.status_at end,
        status_version = case
            when excluded.status_at is null then v.status_version
            when v.status_at is null then excluded.status_version
            when (excluded.status_at, excluded.status_version, excluded.status_event)
                 > (v.status_at, v.status_version, v.status_event)
            then excluded.status_version else v.status_version end,
        status_event = case
            when excluded.status_at is null then v.status_event
            when v.status_at is null then excluded.status_event
            when (excluded.status_at, excluded.status_version, excluded.status_event)
                 > (v.status_at, v.status_version, v.status_event)
            then excluded.status_event else v.status_event end,
        status_rank = greatest(v.status_rank, excluded.status_rank),
        service_request_no = coalesce(v.service_request_no, excluded.service_request_no),
        repair_order_no = coalesce(v.repair_order_no, excluded.repair_order_no),
        channel = coalesce(v.channel, excluded.channel),
        region = coalesce(v.region, excluded.region),
        product_line = coalesce(v.product_line, excluded.product_line),
        needs_verification = case when v.verified or excluded.verified then false
            else coalesce(v.needs_verification, excluded.needs_verification) end,
        verification_issues = coalesce(v.verification_issues, excluded.verification_issues),
        requested_at = coalesce(v.requested_at, excluded.requested_at),
        engineer_id = coalesce(excluded.engineer_id, v.engineer_id),
        charge_total_fen = coalesce(excluded.charge_total_fen, v.charge_total_fen),
        callback_due_at = coalesce(excluded.callback_due_at, v.callback_due_at),
        updated_at = greatest(v.updated_at, excluded.updated_at),
        verified = v.verified or excluded.verified
"""


_FIRST_WINS = (
    "service_request_no",
    "repair_order_no",
    "channel",
    "region",
    "product_line",
    "needs_verification",
    "verification_issues",
    "requested_at",
)
_LAST_WINS = ("engineer_id", "charge_total_fen", "callback_due_at")


def _merge(views: dict[str, dict[str, Any]], ticket_id: str, row: dict[str, Any]) -> None:
    """The upsert's rules applied inside a batch first: one statement updates a row once."""
    current = views.get(ticket_id)
    if current is None:
        views[ticket_id] = row
        return
    if row["order"] is not None and (current["order"] is None or row["order"] > current["order"]):
        current["status"], current["order"] = row["status"], row["order"]
    current["rank"] = max(current["rank"], row["rank"])
    for key in _FIRST_WINS:
        if current[key] is None:
            current[key] = row[key]
    for key in _LAST_WINS:
        if row[key] is not None:
            current[key] = row[key]
    current["updated_at"] = max(current["updated_at"], row["updated_at"])
    current["verified"] = current.get("verified", False) or row.get("verified", False)


class SalesRecords:
    """WAR-3: the latest sales record of each serial number, read by new requests."""

    name = "sales-records"
    topics = (topics.INTAKE_EVENTS,)
    event_types = frozenset({i.SaleRecorded.event_type})
    tables = ("sales_records",)

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        latest: dict[str, tuple[Any, ...]] = {}
        for item in items:
            env, e = item.envelope, item.event
            assert isinstance(e, i.SaleRecorded)
            row = (e.serial_no, e.product_line, e.model, e.sold_on, e.recorded_at)
            row += (env.streamversion, env.id)
            if e.serial_no not in latest or row[5] > latest[e.serial_no][5]:
                latest[e.serial_no] = row
        await uow.conn.execute(
            """
            insert into sales_records as s (serial_no, product_line, model, sold_on,
                recorded_at, version, event_id)
            select * from unnest($1::text[], $2::text[], $3::text[], $4::date[],
                $5::timestamptz[], $6::int[], $7::text[])
            on conflict (serial_no) do update set
                product_line = excluded.product_line, model = excluded.model,
                sold_on = excluded.sold_on, recorded_at = excluded.recorded_at,
                version = excluded.version, event_id = excluded.event_id
            where excluded.version > s.version
            """,
            *_columns(latest.values()),
        )


def ticket_archive() -> StreamArchive:
    """The other contexts' events of `TicketView`, by ticket, for `as_of`."""
    others = [t for t in TicketView.topics if t != topics.INTAKE_EVENTS]
    return StreamArchive(others, TicketView.event_types)


def all_projections() -> list[Projection]:
    """Every read model of intake, for the composition root and replay."""
    return [TicketView(), SalesRecords(), ticket_archive()]
