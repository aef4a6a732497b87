"""Billing's consumers: invoices on completion, penalties from the events that prove
them, and the projections (charges, quotes, penalties, refunds, settlements, trips)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from repairline_billing import domain
from repairline_contracts import topics
from repairline_contracts.base import Event
from repairline_contracts.billing import (
    ChargeAssessed,
    EngineerAssessed,
    Evidence,
    OverchargeRefunded,
    PenaltyAppealed,
    PenaltyAssessed,
    PenaltyUpheld,
    PenaltyVoided,
    QuoteAccepted,
    QuoteIssued,
    QuoteRefused,
    ServiceFormHandedIn,
    ServiceRecordFiled,
    SettlementStatementIssued,
    TravelAllowanceGranted,
)
from repairline_contracts.dispatch import ArrivedOnSite, EngineerAssigned, RepairCompleted
from repairline_contracts.feedback import ComplaintVerified, ExtensionRewardGranted
from repairline_contracts.intake import RepairRequested
from repairline_platform.eventstore import Delivered, UnitOfWork
from repairline_platform.timers import Timer

# Published by the lifecycle contexts; read here by type string and wire fields only.
WARRANTY_DECIDED = "repairline.intake.WarrantyDecided"
MISSED_APPOINTMENT = "repairline.dispatch.MissedAppointment"
CALLBACK_COMPLETED = "repairline.feedback.CallbackCompleted"

FORMS_CHECK = "forms_check"
RECORD_CHECK = "record_check"
REMOTE_RECORD_CHECK = "remote_record_check"
IMPLEMENTATION_FORM_CHECK = "implementation_form_check"


def wire(event: Event) -> dict[str, Any]:
    """An event's fields as plain data: lets a handler read a type it has no class for."""
    return event.model_dump(mode="json")


# -- facts --------------------------------------------------------------------------------


async def outlet_of(uow: UnitOfWork, engineer_id: str | None, service_point: str | None) -> Any:
    """FEE-6: the outlet credited: the assignment's service point, else the roster's."""
    if service_point:
        return service_point
    if engineer_id is None:
        return None
    return await uow.conn.fetchval(
        "select outlet_id from engineer_outlets where engineer_id = $1", engineer_id
    )


async def load_facts(uow: UnitOfWork, ticket_id: str) -> tuple[domain.TicketFacts, str] | None:
    """The ticket's facts and region, or None until its RepairRequested has arrived."""
    row = await uow.conn.fetchrow(
        "select b.*, a.engineer_id, a.service_point_id, w.unit_in_warranty, w.free_visit,"
        " w.chargeable, w.reason as warranty_reason"
        " from billing_tickets b"
        " left join ticket_assignments a using (ticket_id)"
        " left join ticket_warranty w using (ticket_id)"
        " where b.ticket_id = $1",
        ticket_id,
    )
    if row is None:
        return None
    intake_warranty = None
    if row["unit_in_warranty"] is not None:
        intake_warranty = domain.IntakeWarranty(
            unit_in_warranty=row["unit_in_warranty"],
            free_visit=row["free_visit"],
            chargeable=row["chargeable"],
            reason=row["warranty_reason"],
        )
    facts = domain.TicketFacts(
        ticket_id=ticket_id,
        product_line=row["product_line"],
        city_tier=row["city_tier"],
        service_mode=row["service_mode"],
        purchase_date=row["purchase_date"],
        serial_no=row["serial_no"],
        requested_on=None,
        engineer_id=row["engineer_id"],
        outlet_id=await outlet_of(uow, row["engineer_id"], row["service_point_id"]),
        intake_warranty=intake_warranty,
    )
    return facts, row["region"]


def with_requested_on(facts: domain.TicketFacts, requested_at: datetime | None, zone: Any):
    if requested_at is None:
        return facts
    from dataclasses import replace

    return replace(facts, requested_on=requested_at.astimezone(zone).date())


async def pricing_context(uow: UnitOfWork, pack: Any, facts: domain.TicketFacts) -> dict[str, Any]:
    """WAR-10 history, WAR-11 reward and FEE-8 contract for the ticket's unit."""
    requested_at = await uow.conn.fetchval(
        "select requested_at from billing_tickets where ticket_id = $1", facts.ticket_id
    )
    facts = with_requested_on(facts, requested_at, pack.zone)
    prior: list[domain.PriorRepair] = []
    reward = None
    contract_start = None
    if facts.serial_no:
        rows = await uow.conn.fetch(
            "select c.ticket_id, c.inputs from charges c join billing_tickets b using (ticket_id)"
            " where b.serial_no = $1 and c.ticket_id <> $2",
            facts.serial_no,
            facts.ticket_id,
        )
        for r in rows:
            inputs = json.loads(r["inputs"])
            prior.append(
                domain.PriorRepair(
                    ticket_id=r["ticket_id"],
                    completed_on=datetime.fromisoformat(inputs["completed_at"])
                    .astimezone(pack.zone)
                    .date(),
                    out_of_warranty=not inputs["unit_in_warranty"],
                    parts=frozenset(p["code"] for p in inputs.get("parts", [])),
                )
            )
        found = await uow.conn.fetchrow(
            "select * from rewards where serial_no = $1"
            " and (used_by_ticket is null or used_by_ticket = $2)"
            " order by extended_ends_on desc nulls last, event_id limit 1",
            facts.serial_no,
            facts.ticket_id,
        )
        if found:
            reward = domain.Reward(found["reward"], found["extended_ends_on"], found["reason"])
        contract_start = await uow.conn.fetchval(
            "select max(starts_on) from contracts where serial_no = $1", facts.serial_no
        )
    return {
        "facts": facts,
        "prior": prior,
        "reward": reward,
        "contract_start": contract_start,
    }


class ChargeOnCompletion:
    """FEE-1, FEE-4: a completed repair is invoiced once, against its accepted quote.

    Keeps the facts billing needs from intake and dispatch. Contexts are not ordered
    against each other: a RepairCompleted that arrives before its RepairRequested is
    parked and invoiced when the request arrives.
    """

    name = "charging"
    topics = (topics.INTAKE_EVENTS, topics.DISPATCH_EVENTS)
    event_types = frozenset(
        {
            RepairRequested.event_type,
            RepairCompleted.event_type,
            EngineerAssigned.event_type,
            WARRANTY_DECIDED,
        }
    )

    def __init__(self, pack: Any) -> None:
        self.pack = pack

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        for item in items:
            event = item.event
            if isinstance(event, RepairRequested):
                await uow.conn.execute(
                    "insert into billing_tickets (ticket_id, product_line, city_tier,"
                    " service_mode, purchase_date, region, serial_no, requested_at)"
                    " values ($1, $2, $3, $4, $5, $6, $7, $8)"
                    " on conflict (ticket_id) do nothing",
                    event.ticket_id,
                    event.product.line,
                    event.city_tier.value,
                    event.service_mode.value,
                    event.product.purchase_date,
                    event.region,
                    event.product.serial_no,
                    event.requested_at,
                )
                parked = await uow.conn.fetchrow(
                    "delete from parked_completions where ticket_id = $1 returning *",
                    event.ticket_id,
                )
                if parked:
                    await self._charge(
                        uow,
                        event.ticket_id,
                        parked["completed_at"],
                        parked["correlation_id"],
                        parked["causation_id"],
                        tuple(parked["parts_replaced"] or ()),
                    )
            elif isinstance(event, EngineerAssigned):
                await uow.conn.execute(
                    "insert into ticket_assignments (ticket_id, engineer_id, service_point_id)"
                    " values ($1, $2, $3) on conflict (ticket_id) do update set"
                    " engineer_id = excluded.engineer_id,"
                    " service_point_id = excluded.service_point_id",
                    event.ticket_id,
                    event.engineer_id,
                    getattr(event, "service_point_id", None),
                )
            elif item.envelope.type == WARRANTY_DECIDED:
                data = wire(event)
                await uow.conn.execute(
                    "insert into ticket_warranty values ($1, $2, $3, $4, $5)"
                    " on conflict (ticket_id) do update set"
                    " unit_in_warranty = excluded.unit_in_warranty,"
                    " free_visit = excluded.free_visit, chargeable = excluded.chargeable,"
                    " reason = excluded.reason",
                    data["ticket_id"],
                    bool(data["unit_in_warranty"]),
                    bool(data["free_visit"]),
                    bool(data["chargeable"]),
                    str(data.get("reason", "")),
                )
            elif isinstance(event, RepairCompleted):
                record = getattr(event, "repair_record", None)
                await self._charge(
                    uow,
                    event.ticket_id,
                    event.completed_at,
                    item.envelope.correlationid,
                    item.envelope.id,
                    tuple(record.parts_replaced) if record is not None else (),
                )

    async def _charge(
        self,
        uow: UnitOfWork,
        ticket_id: str,
        completed_at: datetime,
        correlation_id: str,
        causation_id: str,
        parts_replaced: tuple[str, ...] = (),
    ) -> None:
        loaded = await load_facts(uow, ticket_id)
        if loaded is None:
            await uow.conn.execute(
                "insert into parked_completions (ticket_id, completed_at, correlation_id,"
                " causation_id, parts_replaced) values ($1, $2, $3, $4, $5)"
                " on conflict (ticket_id) do nothing",
                ticket_id,
                completed_at,
                correlation_id,
                causation_id,
                list(parts_replaced),
            )
            return
        facts, region = loaded
        account = domain.fold(ticket_id, await uow.load_stream(ticket_id))
        if account.invoiced:
            return  # already invoiced
        ctx = await pricing_context(uow, self.pack, facts)
        invoice = domain.decide_charge(
            self.pack,
            ctx["facts"],
            completed_at=completed_at,
            account=account,
            prior=ctx["prior"],
            reward=ctx["reward"],
            contract_start=ctx["contract_start"],
            parts_replaced=parts_replaced,
        )
        [env] = await uow.append(
            ticket_id,
            [invoice],
            expected_version=account.version,
            correlation_id=correlation_id,
            causation_id=causation_id,
            region=region,
        )
        if facts.serial_no and any(line.rule_id == "WAR-11" for line in invoice.lines):
            await uow.conn.execute(
                "update rewards set used_by_ticket = $1 where event_id = ("
                " select event_id from rewards where serial_no = $2 and reward = 'free_repair'"
                " and used_by_ticket is null order by event_id limit 1)",
                ticket_id,
                facts.serial_no,
            )
        parked = await uow.conn.fetch(
            "delete from parked_overcharges where ticket_id = $1 returning *", ticket_id
        )
        for p in parked:
            complaint = _complaint_from(json.loads(p["data"]))
            await settle_overcharge(
                uow, self.pack, complaint, invoice.total_fen, env.id, p["correlation_id"]
            )


# -- penalties ----------------------------------------------------------------------------


async def append_penalty(
    uow: UnitOfWork, penalty: PenaltyAssessed, *, correlation_id: str, causation_id: str
) -> bool:
    """Enter a penalty once: its id is deterministic, a second attempt changes nothing."""
    stream = domain.penalty_stream(penalty.penalty_id)
    if await uow.stream_version(stream):
        return False
    await uow.append(
        stream,
        [penalty],
        expected_version=0,
        correlation_id=correlation_id,
        causation_id=causation_id,
    )
    return True


async def settle_overcharge(
    uow: UnitOfWork,
    pack: Any,
    complaint: domain.VerifiedComplaint,
    tariff_fen: int,
    invoice_event_id: str,
    correlation_id: str,
) -> None:
    """FEE-5: refund the excess to the customer and fine the outlet, as events."""
    decided = domain.decide_overcharge(
        pack, complaint, tariff_fen=tariff_fen, invoice_event_id=invoice_event_id, now=uow.now()
    )
    if decided is None:
        return
    refund, fine = decided
    stream = f"refund:{complaint.complaint_id}"
    if await uow.stream_version(stream):
        return
    await uow.append(
        stream,
        [refund],
        expected_version=0,
        correlation_id=correlation_id,
        causation_id=complaint.event_id,
    )
    await append_penalty(uow, fine, correlation_id=correlation_id, causation_id=complaint.event_id)


def _complaint_from(data: dict[str, Any]) -> domain.VerifiedComplaint:
    return domain.VerifiedComplaint(
        complaint_id=data["complaint_id"],
        ticket_id=data["ticket_id"],
        kind=data["kind"],
        engineer_id=data.get("engineer_id"),
        outlet_id=data.get("outlet_id"),
        amount_paid_fen=data.get("amount_paid_fen"),
        verified_at=datetime.fromisoformat(data["verified_at"]),
        event_id=data["event_id"],
    )


async def engineer_outlet(uow: UnitOfWork, ticket_id: str, engineer_id: str | None) -> Any:
    row = await uow.conn.fetchrow(
        "select engineer_id, service_point_id from ticket_assignments where ticket_id = $1",
        ticket_id,
    )
    service_point = row["service_point_id"] if row else None
    return await outlet_of(uow, engineer_id or (row["engineer_id"] if row else None), service_point)


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

    def __init__(self, pack: Any) -> None:
        self.pack = pack

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        p = self.pack.penalties
        for item in items:
            event = item.event
            cid = item.envelope.correlationid
            if isinstance(event, RepairCompleted):
                day = event.completed_at.astimezone(self.pack.zone).date()
                payload = {
                    "service_on": day.isoformat(),
                    "event_id": item.envelope.id,
                    "engineer_id": event.engineer_id,
                }
                if p.form_late_fen is not None:  # PEN-2
                    await uow.schedule(
                        f"forms:{event.ticket_id}",
                        kind=FORMS_CHECK,
                        stream_id=event.ticket_id,
                        due_at=domain.check_deadline(self.pack, day, p.form_grace_days),
                        payload=payload,
                        correlation_id=cid,
                    )
                if p.implementation_form_fen is not None:  # PEN-5
                    await uow.schedule(
                        f"implementation-form:{event.ticket_id}",
                        kind=IMPLEMENTATION_FORM_CHECK,
                        stream_id=event.ticket_id,
                        due_at=domain.check_deadline(self.pack, day, p.implementation_form_days),
                        payload=payload,
                        correlation_id=cid,
                    )
            elif isinstance(event, ArrivedOnSite):
                if p.visit_unrecorded_fen is not None:  # PEN-3
                    day = event.arrived_at.astimezone(self.pack.zone).date()
                    await uow.schedule(
                        f"record:{event.ticket_id}:{item.envelope.id}",
                        kind=RECORD_CHECK,
                        stream_id=event.ticket_id,
                        due_at=domain.check_deadline(self.pack, day, p.form_grace_days),
                        payload={
                            "visit_on": day.isoformat(),
                            "event_id": item.envelope.id,
                            "engineer_id": event.engineer_id,
                        },
                        correlation_id=cid,
                    )
            elif item.envelope.type == MISSED_APPOINTMENT:  # PEN-7
                await self._missed(uow, wire(event), item)

    async def _missed(self, uow: UnitOfWork, data: dict[str, Any], item: Delivered) -> None:
        engineer_id = data.get("engineer_id")
        earlier = [
            r["offence_at"]
            for r in await uow.conn.fetch(
                "select offence_at from penalties where engineer_id = $1"
                " and 'PEN-7' = any(rule_ids) and status <> 'voided' and penalty_id <> $2",
                engineer_id,
                domain.missed_penalty_id(data),
            )
        ]
        penalty = domain.decide_missed_appointment(
            self.pack,
            data,
            event_id=item.envelope.id,
            outlet_id=await engineer_outlet(uow, data["ticket_id"], engineer_id),
            earlier=earlier,
            now=uow.now(),
        )
        if penalty is not None:
            await append_penalty(
                uow,
                penalty,
                correlation_id=item.envelope.correlationid,
                causation_id=item.envelope.id,
            )


async def _handed_in(uow: UnitOfWork, ticket_id: str, zone: Any) -> dict[str, date]:
    forms: dict[str, date] = {}
    for event in await uow.load_stream(ticket_id):
        if isinstance(event, ServiceFormHandedIn):
            day = event.handed_in_at.astimezone(zone).date()
            forms[event.form] = min(forms.get(event.form, day), day)
    return forms


def timer_handlers(pack: Any) -> dict[str, Any]:
    """The penalty clocks: each checks, once its deadline has passed, what was handed in."""

    async def penalise(uow: UnitOfWork, timer: Timer, penalty: Any) -> None:
        if penalty is not None:
            await append_penalty(
                uow,
                penalty,
                correlation_id=timer.correlation_id,
                causation_id=f"timer:{timer.timer_id}",
            )

    def forms(decide: Any, date_argument: str) -> Any:
        """PEN-2 (service forms) and PEN-5 (implementation form): what was handed in by when."""

        async def check(uow: UnitOfWork, timer: Timer) -> None:
            ticket_id = timer.stream_id
            engineer_id = timer.payload.get("engineer_id")
            penalty = decide(
                pack,
                ticket_id=ticket_id,
                engineer_id=engineer_id,
                outlet_id=await engineer_outlet(uow, ticket_id, engineer_id),
                handed_in=await _handed_in(uow, ticket_id, pack.zone),
                on=uow.now().astimezone(pack.zone).date(),
                completion_event_id=timer.payload["event_id"],
                now=uow.now(),
                **{date_argument: date.fromisoformat(timer.payload["service_on"])},
            )
            await penalise(uow, timer, penalty)

        return check

    def records(activities: tuple[str, ...], *, remote: bool) -> Any:
        """PEN-3 (visit or trip) and PEN-4 (remote service) not written into the record."""

        async def check(uow: UnitOfWork, timer: Timer) -> None:
            ticket_id = timer.stream_id
            engineer_id = timer.payload.get("engineer_id")
            recorded = any(
                isinstance(e, ServiceRecordFiled) and e.activity in activities
                for e in await uow.load_stream(ticket_id)
            )
            penalty = domain.decide_record_check(
                pack,
                ticket_id=ticket_id,
                engineer_id=engineer_id,
                outlet_id=await engineer_outlet(uow, ticket_id, engineer_id),
                recorded=recorded,
                visit_event_id=timer.payload["event_id"],
                visit_on=date.fromisoformat(timer.payload["visit_on"]),
                now=uow.now(),
                **({"remote": True} if remote else {}),
            )
            await penalise(uow, timer, penalty)

        return check

    return {
        FORMS_CHECK: forms(domain.decide_forms_check, "service_on"),
        IMPLEMENTATION_FORM_CHECK: forms(domain.decide_implementation_form_check, "implemented_on"),
        RECORD_CHECK: records(("visit", "trip"), remote=False),
        REMOTE_RECORD_CHECK: records(("remote",), remote=True),
    }


class ComplaintOutcomes:
    """PEN-1 and FEE-5 from verified complaints; WAR-11 rewards held for the unit."""

    name = "complaint-outcomes"
    topics = (topics.FEEDBACK_EVENTS,)
    event_types = frozenset({ComplaintVerified.event_type, ExtensionRewardGranted.event_type})

    def __init__(self, pack: Any) -> None:
        self.pack = pack

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        for item in items:
            event = item.event
            cid = item.envelope.correlationid
            if isinstance(event, ExtensionRewardGranted):
                if event.serial_no:
                    await uow.conn.execute(
                        "insert into rewards values ($1, $2, $3, $4, $5, null)"
                        " on conflict (event_id) do nothing",
                        item.envelope.id,
                        event.serial_no,
                        event.reward,
                        event.extended_ends_on,
                        event.reason,
                    )
                continue
            assert isinstance(event, ComplaintVerified)
            engineer_id = event.engineer_id
            outlet_id = event.outlet_id or await engineer_outlet(uow, event.ticket_id, engineer_id)
            complaint = domain.VerifiedComplaint(
                complaint_id=event.complaint_id,
                ticket_id=event.ticket_id,
                kind=event.kind,
                engineer_id=engineer_id,
                outlet_id=outlet_id,
                amount_paid_fen=event.amount_paid_fen,
                verified_at=event.verified_at,
                event_id=item.envelope.id,
            )
            if "FEE-5" in event.triggers:
                invoice = await uow.conn.fetchrow(
                    "select total_fen, event_id from charges where ticket_id = $1",
                    event.ticket_id,
                )
                if invoice is None:
                    data = {
                        **wire(event),
                        "outlet_id": outlet_id,
                        "event_id": item.envelope.id,
                    }
                    await uow.conn.execute(
                        "insert into parked_overcharges values ($1, $2, $3::jsonb, $4)"
                        " on conflict do nothing",
                        event.complaint_id,
                        event.ticket_id,
                        json.dumps(data),
                        cid,
                    )
                else:
                    await settle_overcharge(
                        uow, self.pack, complaint, invoice["total_fen"], invoice["event_id"], cid
                    )
            if "PEN-1" in event.triggers:
                earlier = [
                    (r["kind"], r["offence_at"])
                    for r in await uow.conn.fetch(
                        "select kind, offence_at from penalties where engineer_id = $1"
                        " and 'PEN-1' = any(rule_ids) and status <> 'voided'"
                        " and penalty_id <> $2",
                        engineer_id,
                        f"PEN-1:{event.complaint_id}",
                    )
                ]
                penalty = domain.decide_complaint_penalty(
                    self.pack, complaint, earlier=earlier, now=uow.now()
                )
                if penalty is not None:
                    await append_penalty(
                        uow, penalty, correlation_id=cid, causation_id=item.envelope.id
                    )


# -- projections ---------------------------------------------------------------------------


class Charges:
    """Projection: the invoice of each ticket."""

    name = "charges"
    topics = (topics.BILLING_EVENTS,)
    event_types = frozenset({ChargeAssessed.event_type})
    tables = ("charges",)

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        rows = []
        for item in items:
            e = item.event
            assert isinstance(e, ChargeAssessed)
            data = e.model_dump(mode="json")
            rows.append(
                (
                    e.ticket_id,
                    e.total_fen,
                    e.currency,
                    json.dumps(data["lines"]),
                    json.dumps(data["inputs"]),
                    json.dumps(data["decision"]),
                    e.assessed_at,
                    item.envelope.id,
                    e.invoice_no,
                    e.quote_id,
                    e.matches_quote,
                    e.quote_note,
                    e.engineer_id,
                    e.outlet_id,
                )
            )
        await uow.conn.executemany(
            "insert into charges (ticket_id, total_fen, currency, lines, inputs, decision,"
            " assessed_at, event_id, invoice_no, quote_id, matches_quote, quote_note,"
            " engineer_id, outlet_id)"
            " values ($1, $2, $3, $4::jsonb, $5::jsonb, $6::jsonb, $7, $8, $9, $10, $11, $12,"
            " $13, $14) on conflict (ticket_id) do nothing",
            rows,
        )


QUOTE_RANK = {"issued": 1, "accepted": 2, "refused": 2}


class Quotes:
    """Projection: quotes and what the customer said (FEE-4)."""

    name = "quotes"
    topics = (topics.BILLING_EVENTS,)
    event_types = frozenset(
        {QuoteIssued.event_type, QuoteAccepted.event_type, QuoteRefused.event_type}
    )
    tables = ("quotes",)

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        for item in items:
            e = item.event
            if isinstance(e, QuoteIssued):
                data = e.model_dump(mode="json")
                row = (
                    e.quote_id,
                    e.ticket_id,
                    e.engineer_id,
                    e.total_fen,
                    json.dumps(data["lines"]),
                    json.dumps(data["inputs"]),
                    e.needs_customer_agreement,
                    json.dumps(data["decision"]),
                    e.issued_at,
                    "issued",
                    None,
                    None,
                    item.envelope.id,
                )
            elif isinstance(e, QuoteAccepted):
                row = (
                    e.quote_id,
                    e.ticket_id,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    "accepted",
                    e.accepted_at,
                    None,
                    None,
                )
            else:
                assert isinstance(e, QuoteRefused)
                row = (
                    e.quote_id,
                    e.ticket_id,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    "refused",
                    e.refused_at,
                    e.reason,
                    None,
                )
            await uow.conn.execute(
                """
                insert into quotes as q (quote_id, ticket_id, engineer_id, total_fen, lines,
                    inputs, needs_customer_agreement, decision, issued_at, status, status_rank,
                    decided_at, refusal_reason, event_id)
                values ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7, $8::jsonb, $9, $10, $14,
                    $11, $12, $13)
                on conflict (quote_id) do update set
                    engineer_id = coalesce(q.engineer_id, excluded.engineer_id),
                    total_fen = coalesce(q.total_fen, excluded.total_fen),
                    lines = coalesce(q.lines, excluded.lines),
                    inputs = coalesce(q.inputs, excluded.inputs),
                    needs_customer_agreement = coalesce(q.needs_customer_agreement,
                        excluded.needs_customer_agreement),
                    decision = coalesce(q.decision, excluded.decision),
                    issued_at = coalesce(q.issued_at, excluded.issued_at),
                    event_id = coalesce(q.event_id, excluded.event_id),
                    status = case when excluded.status_rank > q.status_rank
                                  then excluded.status else q.status end,
                    status_rank = greatest(q.status_rank, excluded.status_rank),
                    decided_at = coalesce(q.decided_at, excluded.decided_at),
                    refusal_reason = coalesce(q.refusal_reason, excluded.refusal_reason)
                """,
                *row,
                QUOTE_RANK[row[9]],
            )


PENALTY_RANK = {"assessed": 1, "appealed": 2, "voided": 3, "upheld": 3}


class Penalties:
    """Projection: the penalty ledger, per engineer and per outlet; never deleted."""

    name = "penalties"
    topics = (topics.BILLING_EVENTS,)
    event_types = frozenset(
        {
            PenaltyAssessed.event_type,
            PenaltyAppealed.event_type,
            PenaltyVoided.event_type,
            PenaltyUpheld.event_type,
        }
    )
    tables = ("penalties",)

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        for item in items:
            e = item.event
            base: dict[str, Any] = {"penalty_id": e.penalty_id, "ticket_id": e.ticket_id}  # type: ignore[attr-defined]
            if isinstance(e, PenaltyAssessed):
                data = e.model_dump(mode="json")
                base.update(
                    subject=e.subject,
                    engineer_id=e.engineer_id,
                    outlet_id=e.outlet_id,
                    fine_fen=e.fine_fen,
                    sanction=e.sanction,
                    payee=e.payee,
                    reason=e.reason,
                    kind=e.kind,
                    rule_ids=list(e.decision.rule_ids),
                    evidence=json.dumps(data["evidence"]),
                    decision=json.dumps(data["decision"]),
                    offence_at=e.offence_at,
                    assessed_at=e.assessed_at,
                    event_id=item.envelope.id,
                    status="assessed",
                )
            elif isinstance(e, PenaltyAppealed):
                base.update(status="appealed", appeal_reason=e.reason, appealed_at=e.appealed_at)
            elif isinstance(e, PenaltyVoided):
                base.update(
                    status="voided",
                    manager_id=e.manager_id,
                    ruling_reason=e.reason,
                    ruled_at=e.voided_at,
                )
            elif isinstance(e, PenaltyUpheld):
                base.update(
                    status="upheld",
                    manager_id=e.manager_id,
                    ruling_reason=e.reason,
                    ruled_at=e.upheld_at,
                )
            base["status_rank"] = PENALTY_RANK[base["status"]]
            columns = list(base)
            values = ", ".join(
                f"${i}::jsonb" if c in ("evidence", "decision") else f"${i}"
                for i, c in enumerate(columns, 1)
            )
            updates = ", ".join(
                f"{c} = coalesce(p.{c}, excluded.{c})"
                for c in columns
                if c not in ("penalty_id", "status", "status_rank")
            )
            await uow.conn.execute(
                f"insert into penalties as p ({', '.join(columns)}) values ({values})"
                f" on conflict (penalty_id) do update set {updates},"
                " status = case when excluded.status_rank > p.status_rank"
                " then excluded.status else p.status end,"
                " status_rank = greatest(p.status_rank, excluded.status_rank)",
                *base.values(),
            )


class Refunds:
    """Projection: FEE-5 refunds."""

    name = "refunds"
    topics = (topics.BILLING_EVENTS,)
    event_types = frozenset({OverchargeRefunded.event_type})
    tables = ("refunds",)

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        for item in items:
            e = item.event
            assert isinstance(e, OverchargeRefunded)
            data = e.model_dump(mode="json")
            await uow.conn.execute(
                "insert into refunds values ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb,"
                " $9, $10) on conflict do nothing",
                e.complaint_id,
                e.ticket_id,
                e.outlet_id,
                e.charged_fen,
                e.tariff_fen,
                e.refund_fen,
                json.dumps(data["evidence"]),
                json.dumps(data["decision"]),
                e.refunded_at,
                item.envelope.id,
            )


class Settlements:
    """Projection: FEE-6 statements per outlet and period."""

    name = "settlements"
    topics = (topics.BILLING_EVENTS,)
    event_types = frozenset({SettlementStatementIssued.event_type})
    tables = ("settlements",)

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        for item in items:
            e = item.event
            assert isinstance(e, SettlementStatementIssued)
            data = e.model_dump(mode="json")
            await uow.conn.execute(
                "insert into settlements values ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9,"
                " $10, $11::jsonb, $12, $13, $14) on conflict do nothing",
                e.statement_id,
                e.outlet_id,
                e.period,
                e.fees_fen,
                e.refunds_fen,
                e.fines_fen,
                e.net_fen,
                json.dumps(data["lines"]),
                e.voucher_received_on,
                e.pay_by,
                json.dumps(data["decision"]),
                e.issued_at,
                item.envelope.id,
                e.credits_fen,
            )


class Trips:
    """Projection: FEE-7 travel allowances."""

    name = "trips"
    topics = (topics.BILLING_EVENTS,)
    event_types = frozenset({TravelAllowanceGranted.event_type})
    tables = ("trips",)

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        for item in items:
            e = item.event
            assert isinstance(e, TravelAllowanceGranted)
            await uow.conn.execute(
                "insert into trips values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb,"
                " $12, $13) on conflict do nothing",
                e.trip_id,
                e.ticket_id,
                e.engineer_id,
                e.departed_at,
                e.returned_at,
                e.trip_days,
                e.meals_fen,
                e.hotel_fen,
                e.total_fen,
                e.reason,
                json.dumps(e.decision.model_dump(mode="json")),
                e.granted_at,
                item.envelope.id,
            )


class CallbackGrades:
    """Projection: feedback's callback grades per engineer (FBK-5), facts for PEN-8."""

    name = "callback-grades"
    topics = (topics.FEEDBACK_EVENTS,)
    event_types = frozenset({CALLBACK_COMPLETED})
    tables = ("callback_grades",)

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        rows = []
        for item in items:
            data = wire(item.event)
            rows.append(
                (
                    item.envelope.id,
                    data["ticket_id"],
                    data.get("engineer_id"),
                    str(data["grade"]),
                    datetime.fromisoformat(data["completed_at"]),
                )
            )
        await uow.conn.executemany(
            "insert into callback_grades values ($1, $2, $3, $4, $5)"
            " on conflict (event_id) do nothing",
            rows,
        )


class Assessments:
    """Projection: PEN-8 assessments per engineer and month."""

    name = "assessments"
    topics = (topics.BILLING_EVENTS,)
    event_types = frozenset({EngineerAssessed.event_type})
    tables = ("assessments",)

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        for item in items:
            e = item.event
            assert isinstance(e, EngineerAssessed)
            data = e.model_dump(mode="json")
            await uow.conn.execute(
                "insert into assessments values ($1, $2, $3, $4, $5, $6, $7, $8, $9,"
                " $10::jsonb, $11::jsonb, $12, $13::jsonb, $14, $15) on conflict do nothing",
                f"{e.engineer_id}:{e.period}",
                e.engineer_id,
                e.period,
                e.attitude,
                e.quality,
                e.efficiency,
                e.satisfaction,
                e.total,
                e.band,
                json.dumps(data["counts"]),
                json.dumps(data["evidence"]),
                e.reason,
                json.dumps(data["decision"]),
                e.assessed_at,
                item.envelope.id,
            )


async def assessment_facts(
    uow: UnitOfWork, engineer_id: str, start: datetime, end: datetime
) -> list[domain.AssessmentFact]:
    """PEN-8: what billing holds about the engineer in [start, end), with its proof."""
    facts: list[domain.AssessmentFact] = []
    kinds = {
        "attitude": "attitude_complaints",
        "quality": "quality_complaints",
        "lateness": "lateness_complaints",
    }
    for r in await uow.conn.fetch(
        "select * from penalties where engineer_id = $1 and offence_at >= $2"
        " and offence_at < $3 and status <> 'voided'"
        " and ('PEN-1' = any(rule_ids) or 'PEN-7' = any(rule_ids))",
        engineer_id,
        start,
        end,
    ):
        if "PEN-7" in (r["rule_ids"] or []):
            kind = "missed_appointments"
        elif r["kind"] in kinds:
            kind = kinds[r["kind"]]
        else:
            continue
        evidence = r["evidence"]
        proof = (json.loads(evidence) if isinstance(evidence, str) else evidence)[0]
        facts.append(domain.AssessmentFact(kind, Evidence(**proof)))
    # WAR-10: a repair of this engineer that failed again and was repaired free
    for r in await uow.conn.fetch(
        "select c.event_id, c.ticket_id, c.inputs->>'free_reason' as why from charges c"
        " join billing_tickets b using (ticket_id)"
        " where c.assessed_at >= $2 and c.assessed_at < $3"
        " and c.inputs->>'free_reason' like 'WAR-10%'"
        " and $1 = (select p.engineer_id from charges p join billing_tickets pb"
        "   using (ticket_id) where pb.serial_no = b.serial_no and p.ticket_id <> c.ticket_id"
        "   and p.assessed_at < c.assessed_at order by p.assessed_at desc limit 1)",
        engineer_id,
        start,
        end,
    ):
        facts.append(
            domain.AssessmentFact(
                "repeat_failures",
                Evidence(
                    event_id=r["event_id"],
                    event_type=ChargeAssessed.event_type,
                    ticket_id=r["ticket_id"],
                    note=r["why"],
                ),
            )
        )
    for r in await uow.conn.fetch(
        "select * from callback_grades where engineer_id = $1 and completed_at >= $2"
        " and completed_at < $3",
        engineer_id,
        start,
        end,
    ):
        facts.append(
            domain.AssessmentFact(
                r["grade"],
                Evidence(
                    event_id=r["event_id"],
                    event_type=CALLBACK_COMPLETED,
                    ticket_id=r["ticket_id"],
                    note=f"callback graded {r['grade']}",
                ),
            )
        )
    return facts
