"""Dispatch's consumers, timers and the effects every decision has on its own tables.

Reactions (they append events): `IntakeReactions` (assignment, holds, warranty,
cancellation), `QuoteReactions` (billing's quotes), `RevisitReactions` (feedback's
FBK-5 revisits). Projections (rebuilt by replay): `DispatchBoard` and
`KeyAccountFile`. Timers: DSP-3 deadlines, DSP-6/7 departure checks, PEN-7 misses.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from repairline_contracts import dispatch as d
from repairline_contracts import intake as i
from repairline_contracts import topics
from repairline_contracts.base import Event
from repairline_contracts.envelope import Envelope
from repairline_contracts.intake import GeoPoint
from repairline_dispatch import domain
from repairline_dispatch.domain.roster import pack_hours, parse_hours
from repairline_dispatch.settings import DispatchSettings
from repairline_platform.eventstore import Delivered, UnitOfWork
from repairline_platform.timers import Timer
from repairline_rules import triage
from repairline_rules.packs import PolicyPack

# Billing's and feedback's events, subscribed to by type: their classes are theirs.
QUOTE_ACCEPTED = "repairline.billing.QuoteAccepted"
QUOTE_REFUSED = "repairline.billing.QuoteRefused"
REVISIT_REQUESTED = "repairline.feedback.RevisitRequested"

SLA_TIMER = "sla"
DEPARTURE_TIMER = "departure_check"
MISSED_TIMER = "missed_check"

HOLD_VERIFICATION = "verification"


@dataclass(frozen=True)
class Ctx:
    """What dispatch's decisions need besides the database: the pack and its settings."""

    pack: PolicyPack
    settings: DispatchSettings


# -- loading ---------------------------------------------------------------------------------


async def load_visit(uow: UnitOfWork, ticket_id: str) -> tuple[list[Event], domain.Visit]:
    events = await uow.load_stream(ticket_id)
    return events, domain.fold(ticket_id, events)


def _point(lat: float | None, lon: float | None) -> GeoPoint | None:
    return None if lat is None or lon is None else GeoPoint(lat=lat, lon=lon)


async def load_engineers(
    uow: UnitOfWork,
    *,
    region: str,
    skill: str,
    pack: PolicyPack | None = None,
    ticket_id: str | None = None,
    engineer_id: str | None = None,
) -> list[domain.Engineer]:
    """Active engineers of a region and skill (or one engineer), with load and appointments."""
    if engineer_id is not None:
        where, args = "e.engineer_id = $1", [engineer_id]
    else:
        where, args = "e.region = $1 and $2 = any(e.skills) and e.active", [region, skill]
    rows = await uow.conn.fetch(
        "select e.engineer_id, e.region, e.skills, e.active, e.capacity, e.home_lat,"
        " e.home_lon, e.hours, e.service_point_id,"
        " (select count(*) from engineer_jobs j where j.engineer_id = e.engineer_id and j.open)"
        " as open_jobs"
        f" from engineers e where {where}",
        *args,
    )
    busy: dict[str, list[domain.Busy]] = {}
    if rows:
        for b in await uow.conn.fetch(
            "select engineer_id, starts_at, ends_at, lat, lon from appointments"
            " where active and engineer_id = any($1::text[]) and ticket_id <> $2",
            [r["engineer_id"] for r in rows],
            ticket_id or "",
        ):
            busy.setdefault(b["engineer_id"], []).append(
                domain.Busy(b["starts_at"], b["ends_at"], _point(b["lat"], b["lon"]))
            )
    default_hours = pack_hours(pack) if pack is not None else ()
    return [
        domain.Engineer(
            engineer_id=r["engineer_id"],
            region=r["region"],
            skills=frozenset(r["skills"]),
            open_jobs=r["open_jobs"],
            active=r["active"],
            capacity=r["capacity"],
            home=_point(r["home_lat"], r["home_lon"]),
            hours=parse_hours(json.loads(r["hours"]) if r["hours"] else None) or default_hours,
            service_point_id=r["service_point_id"],
            busy=tuple(busy.get(r["engineer_id"], ())),
        )
        for r in rows
    ]


async def ticket_facts(uow: UnitOfWork, ticket_id: str) -> asyncpg.Record | None:
    return await uow.conn.fetchrow("select * from dispatch_tickets where ticket_id = $1", ticket_id)


def window_of(facts: asyncpg.Record) -> tuple[datetime, datetime] | None:
    if facts["window_start"] is None:
        return None
    return facts["window_start"], facts["window_end"]


async def deadlines_for(
    uow: UnitOfWork, ctx: Ctx, facts: asyncpg.Record, pauses: Sequence[Any] = ()
) -> domain.Deadlines:
    """DSP-3 for the ticket: central city, service point in the region, depot line, and
    the pauses that held the clock."""
    if facts["requested_at"] is None:
        return domain.Deadlines()
    has_point = bool(
        await uow.conn.fetchval(
            "select 1 from service_points where region = $1 limit 1", facts["region"]
        )
    )
    depot = facts["service_mode"] == "depot"
    return domain.response_deadlines(
        ctx.pack,
        received_at=facts["requested_at"],
        central_city=facts["city_tier"] in ("municipality", "provincial_capital"),
        service_point_exists=has_point,
        depot_line=facts["skill"] if depot else None,
        pauses=pauses,
    )


async def sla_resumed(
    uow: UnitOfWork, ctx: Ctx, before: domain.Visit, after: domain.Visit
) -> Event | None:
    """DSP-3: the deadlines recomputed when a pause ends (None when none ended)."""
    if not before.paused or after.paused:
        return None
    facts = await ticket_facts(uow, after.ticket_id)
    if facts is None:
        return None
    deadlines = await deadlines_for(uow, ctx, facts, after.pauses)
    return domain.decide_sla_resumed(ctx.pack, before, after, deadlines, now=uow.now())


async def escalation_on_booking(
    uow: UnitOfWork, ctx: Ctx, visit: domain.Visit, new: Sequence[Event]
) -> Event | None:
    """DSP-5: when a visit is booked (with the assignment, or later), its engineer is
    escalated to technical support if he never completed such a repair."""
    booked = [e for e in new if isinstance(e, d.AppointmentScheduled)]
    if not booked:
        return None
    facts = await ticket_facts(uow, visit.ticket_id)
    fault_kind = facts["fault_kind"] if facts else None
    engineer_id = booked[-1].engineer_id
    return domain.decide_escalation(
        ctx.pack,
        visit,
        engineer_id=engineer_id,
        product_line=visit.skill,
        fault_kind=fault_kind,
        fixed_before=await fixed_before(uow, engineer_id, visit.skill, fault_kind),
        now=uow.now(),
    )


async def fixed_before(
    uow: UnitOfWork, engineer_id: str, product_line: str | None, fault_kind: str | None
) -> bool:
    """DSP-5: has the engineer completed a repair of this line (and fault kind, if known)?"""
    return bool(
        await uow.conn.fetchval(
            "select 1 from engineer_repairs where engineer_id = $1 and product_line = $2"
            " and ($3::text is null or fault_kind = $3) limit 1",
            engineer_id,
            product_line or "",
            fault_kind,
        )
    )


# -- effects of appended events on dispatch's own tables ------------------------------------


async def append(
    uow: UnitOfWork,
    ctx: Ctx,
    ticket_id: str,
    events: Sequence[Event],
    *,
    expected_version: int,
    correlation_id: str,
    causation_id: str,
    region: str | None = None,
) -> list[Envelope]:
    """Append and apply the effects on load, waiting list, appointments and timers."""
    envelopes = await uow.append(
        ticket_id,
        events,
        expected_version=expected_version,
        correlation_id=correlation_id,
        causation_id=causation_id,
        region=region,
    )
    for event in events:
        await _effects(uow, ctx, event, correlation_id)
    return envelopes


async def _effects(uow: UnitOfWork, ctx: Ctx, event: Event, correlation_id: str) -> None:
    t = event.ticket_id
    conn = uow.conn
    match event:
        case d.EngineerAssigned():
            await conn.execute(
                "insert into engineer_jobs (ticket_id, engineer_id, open) values ($1, $2, true)"
                " on conflict (ticket_id) do update set engineer_id = excluded.engineer_id,"
                " open = true",
                t,
                event.engineer_id,
            )
            await conn.execute("delete from waiting_tickets where ticket_id = $1", t)
            await _schedule_sla(
                uow, ctx, t, (event.visit_by, event.fix_by, event.repair_by), 0, correlation_id
            )
        case d.SlaDeadlinesRecomputed():
            await _schedule_sla(
                uow,
                ctx,
                t,
                (event.visit_by, event.fix_by, event.repair_by),
                event.version,
                correlation_id,
            )
        case d.AssignmentWaiting():
            await conn.execute(
                "insert into waiting_tickets (ticket_id, region, skill, since, correlation_id)"
                " values ($1, $2, $3, $4, $5) on conflict do nothing",
                t,
                event.region,
                event.skill,
                event.since,
                correlation_id,
            )
        case d.AppointmentScheduled() | d.AppointmentRescheduled():
            await conn.execute("update appointments set active = false where ticket_id = $1", t)
            facts = await ticket_facts(uow, t)
            await conn.execute(
                "insert into appointments (appointment_id, ticket_id, engineer_id, starts_at,"
                " ends_at, lat, lon, active) values ($1, $2, $3, $4, $5, $6, $7, true)"
                " on conflict (appointment_id) do nothing",
                event.appointment_id,
                t,
                event.engineer_id,
                event.window_start,
                event.window_end,
                facts and facts["lat"],
                facts and facts["lon"],
            )
            payload = {"appointment_id": event.appointment_id}
            for kind, due in (
                (DEPARTURE_TIMER, event.depart_by),
                (MISSED_TIMER, event.window_end),
            ):
                await uow.schedule(
                    f"{kind}:{event.appointment_id}",
                    kind=kind,
                    stream_id=t,
                    due_at=due,
                    payload=payload,
                    correlation_id=correlation_id,
                )
        case d.EngineerReleased():
            await conn.execute("update engineer_jobs set open = false where ticket_id = $1", t)
            await conn.execute("update appointments set active = false where ticket_id = $1", t)
        case (
            d.CustomerNotFound()
            | d.PartsBackordered()
            | d.WorkCarriedForward()
            | d.WrongPartOnSite()
        ):
            if not getattr(event, "fetch_now", False):
                await conn.execute("update appointments set active = false where ticket_id = $1", t)
        case d.RepairCompleted() | d.VisitEndedWithoutRepair():
            if isinstance(event, d.RepairCompleted):  # DSP-5: the engineer's experience
                await conn.execute(
                    "insert into engineer_repairs (engineer_id, product_line, fault_kind)"
                    " select $1, coalesce(skill, ''), coalesce(fault_kind, '')"
                    " from dispatch_tickets where ticket_id = $2 on conflict do nothing",
                    event.engineer_id,
                    t,
                )
            await conn.execute("update engineer_jobs set open = false where ticket_id = $1", t)
            await conn.execute("update appointments set active = false where ticket_id = $1", t)
            await conn.execute("delete from waiting_tickets where ticket_id = $1", t)


async def _schedule_sla(
    uow: UnitOfWork,
    ctx: Ctx,
    ticket_id: str,
    dues: tuple[datetime | None, datetime | None, datetime | None],
    version: int,
    correlation_id: str,
) -> None:
    """DSP-3 timers; a recomputed version gets its own timers, and the older ones, when
    they fire, find their version superseded and raise nothing."""
    warn = timedelta(minutes=ctx.settings.sla_warning_minutes)
    suffix = f":v{version}" if version else ""
    for deadline, due in zip(("visit", "fix", "repair"), dues, strict=True):
        if due is None:
            continue
        for phase, at in (("approaching", due - warn), ("breached", due)):
            await uow.schedule(
                f"{SLA_TIMER}:{ticket_id}:{deadline}:{phase}{suffix}",
                kind=SLA_TIMER,
                stream_id=ticket_id,
                due_at=at,
                payload={
                    "deadline": deadline,
                    "phase": phase,
                    "due_at": due.isoformat(),
                    "version": version,
                },
                correlation_id=correlation_id,
            )


# -- assignment ------------------------------------------------------------------------------


async def assign(
    uow: UnitOfWork,
    ctx: Ctx,
    ticket_id: str,
    *,
    correlation_id: str,
    causation: str,
    revisit: bool = False,
) -> Event | None:
    """DSP-1 for one ticket: assign (and book the customer's window), or raise the alert."""
    facts = await ticket_facts(uow, ticket_id)
    if facts is None or facts["region"] is None:
        return None
    if facts["holds"] or facts["closed"] or facts["quote_state"] == "refused":
        return None
    events, visit = await load_visit(uow, ticket_id)
    region, skill = facts["region"], facts["skill"]
    engineers = await load_engineers(
        uow, region=region, skill=skill, pack=ctx.pack, ticket_id=ticket_id
    )
    window = None if revisit else window_of(facts)
    if window is not None and window[1] <= uow.now():
        window = None  # the customer's window has passed: book a new one with them
    location = _point(facts["lat"], facts["lon"])
    decided = domain.decide_assignment(
        visit,
        engineers,
        region=region,
        skill=skill,
        now=uow.now(),
        window=window,
        location=location,
        deadlines=await deadlines_for(uow, ctx, facts),
        speed_kmh=ctx.settings.travel_kmh,
        zone=ctx.pack.zone,
        revisit=revisit,
    )
    if decided is None:
        return None
    new: list[Event] = [decided]
    if isinstance(decided, d.EngineerAssigned) and window is not None:
        engineer = next(e for e in engineers if e.engineer_id == decided.engineer_id)
        booked = domain.decide_appointment(
            ctx.pack,
            domain.evolve(visit, decided),
            engineer,
            window=window,
            travel=decided.travel_minutes or 0,
            confirm_by=confirm_by(ctx.pack, facts),
            now=uow.now(),
            speed_kmh=ctx.settings.travel_kmh,
            location=location,
            customer_window=True,
        )
        new.append(booked)
        escalated = await escalation_on_booking(uow, ctx, domain.evolve(visit, decided), new)
        if escalated is not None:
            new.append(escalated)
    await append(
        uow,
        ctx,
        ticket_id,
        new,
        expected_version=len(events),
        correlation_id=correlation_id,
        causation_id=causation,
        region=region,
    )
    return decided


def confirm_by(pack: PolicyPack, facts: asyncpg.Record) -> datetime | None:
    """INT-6: the visit time is confirmed within the pack's minutes of the request."""
    if facts["requested_at"] is None:
        return None
    return triage.confirmation_deadlines(pack, received_at=facts["requested_at"]).confirm_visit_by


async def end_visit(
    uow: UnitOfWork,
    ctx: Ctx,
    ticket_id: str,
    *,
    reason: str,
    correlation_id: str,
    causation: str,
    quote_id: str | None = None,
    only_if_known: bool = False,
) -> None:
    """End the visit without repair (idempotent); `only_if_known`: not for a ticket
    dispatch never handled (a cancelled held ticket has no visit to end)."""
    events, visit = await load_visit(uow, ticket_id)
    if not events and only_if_known:
        return
    ended = domain.decide_end(visit, reason=reason, now=uow.now(), quote_id=quote_id)
    if ended is not None:
        await append(
            uow,
            ctx,
            ticket_id,
            [ended],
            expected_version=len(events),
            correlation_id=correlation_id,
            causation_id=causation,
        )


class IntakeReactions:
    """Intake's facts in, assignments out: holds (INT-3, INT-5, WAR-6..9), the warranty's
    chargeability (FEE-4) and closed or cancelled tickets."""

    name = "assignment"
    topics = (topics.INTAKE_EVENTS,)
    event_types = frozenset(
        {
            i.RepairRequested.event_type,
            i.RequestVerified.event_type,
            i.VisitRequested.event_type,
            i.RemedyChosen.event_type,
            i.WarrantyDecided.event_type,
            i.TicketClosed.event_type,
            i.TicketCancelled.event_type,
        }
    )

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        for item in items:
            e = item.event
            t = e.ticket_id
            release: str | None = None
            match e:
                case i.RepairRequested():
                    holds = list(e.held_for)
                    if e.needs_verification:
                        holds.append(HOLD_VERIFICATION)
                    window = e.preferred_window
                    await uow.conn.execute(
                        """
                        insert into dispatch_tickets (ticket_id, region, skill, city_tier,
                            service_mode, lat, lon, window_start, window_end, key_account_id,
                            job_kind, holds, requested_at, serial_no, closed, fault_kind)
                        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
                            false, $15)
                        on conflict (ticket_id) do update set region = excluded.region,
                            skill = excluded.skill, city_tier = excluded.city_tier,
                            service_mode = excluded.service_mode, lat = excluded.lat,
                            lon = excluded.lon, window_start = excluded.window_start,
                            window_end = excluded.window_end,
                            key_account_id = excluded.key_account_id,
                            job_kind = excluded.job_kind, holds = excluded.holds,
                            requested_at = excluded.requested_at,
                            serial_no = excluded.serial_no,
                            fault_kind = excluded.fault_kind
                        """,
                        t,
                        e.region,
                        e.product.line,
                        e.city_tier.value,
                        e.service_mode.value,
                        e.location and e.location.lat,
                        e.location and e.location.lon,
                        window and window.start,
                        window and window.end,
                        e.key_account_id,
                        e.job_kind,
                        holds,
                        e.requested_at,
                        e.product.serial_no,
                        e.triage and e.triage.fault_kind,
                    )
                    if not holds:
                        await self._assign(uow, item)
                    continue
                case i.WarrantyDecided():
                    await uow.conn.execute(
                        "insert into dispatch_tickets (ticket_id, chargeable, holds, closed)"
                        " values ($1, $2, '{}', false) on conflict (ticket_id) do update"
                        " set chargeable = excluded.chargeable",
                        t,
                        e.chargeable,
                    )
                    continue
                case i.RequestVerified():
                    if e.location is not None:
                        await uow.conn.execute(
                            "update dispatch_tickets set lat = $2, lon = $3 where ticket_id = $1",
                            t,
                            e.location.lat,
                            e.location.lon,
                        )
                    release = HOLD_VERIFICATION
                case i.VisitRequested():
                    release = "phone_guidance"
                case i.RemedyChosen():
                    if e.remedy.kind != "repair":
                        continue
                    release = "remedy_choice"
                case i.TicketClosed() | i.TicketCancelled():
                    await uow.conn.execute(
                        "update dispatch_tickets set closed = true where ticket_id = $1", t
                    )
                    await end_visit(
                        uow,
                        self.ctx,
                        t,
                        reason=f"ticket {type(e).__name__.removeprefix('Ticket').lower()}:"
                        f" {e.reason}",
                        correlation_id=item.envelope.correlationid,
                        causation=item.envelope.id,
                        only_if_known=True,
                    )
                    continue
            if release is not None:
                await uow.conn.execute(
                    "update dispatch_tickets set holds = array_remove(holds, $2)"
                    " where ticket_id = $1",
                    t,
                    release,
                )
                await self._assign(uow, item)

    async def _assign(self, uow: UnitOfWork, item: Delivered) -> None:
        await assign(
            uow,
            self.ctx,
            item.event.ticket_id,
            correlation_id=item.envelope.correlationid,
            causation=item.envelope.id,
        )


class QuoteReactions:
    """Billing's quotes: accepted lets chargeable work start (FEE-4); refused ends the
    visit without repair."""

    name = "quotes"
    topics = (topics.BILLING_EVENTS,)
    event_types = frozenset({QUOTE_ACCEPTED, QUOTE_REFUSED})

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        for item in items:
            data = item.envelope.data
            t, quote_id = data["ticket_id"], data.get("quote_id")
            accepted = item.envelope.type == QUOTE_ACCEPTED
            await uow.conn.execute(
                "insert into dispatch_tickets (ticket_id, quote_id, quote_state, holds, closed)"
                " values ($1, $2, $3, '{}', false) on conflict (ticket_id) do update"
                " set quote_id = excluded.quote_id, quote_state = excluded.quote_state",
                t,
                quote_id,
                "accepted" if accepted else "refused",
            )
            if not accepted:
                await end_visit(
                    uow,
                    self.ctx,
                    t,
                    reason=f"quote refused: {data.get('reason', '')}".rstrip(": "),
                    correlation_id=item.envelope.correlationid,
                    causation=item.envelope.id,
                    quote_id=quote_id,
                )


class RevisitReactions:
    """FBK-5: a dissatisfied customer gets someone on site at once."""

    name = "revisits"
    topics = (topics.FEEDBACK_EVENTS,)
    event_types = frozenset({REVISIT_REQUESTED})

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        for item in items:
            data = item.envelope.data
            t = data["ticket_id"]
            events, visit = await load_visit(uow, t)
            opened = domain.decide_revisit(
                visit, case_id=data["case_id"], reason=data["reason"], now=uow.now()
            )
            if opened is None:
                continue
            await append(
                uow,
                self.ctx,
                t,
                [opened],
                expected_version=len(events),
                correlation_id=item.envelope.correlationid,
                causation_id=item.envelope.id,
                region=visit.region,
            )
            await uow.conn.execute(
                "update dispatch_tickets set window_start = null, window_end = null"
                " where ticket_id = $1",
                t,
            )
            await assign(
                uow,
                self.ctx,
                t,
                correlation_id=item.envelope.correlationid,
                causation=item.envelope.id,
                revisit=True,
            )


# -- timers ------------------------------------------------------------------------------------


def timer_handlers(ctx: Ctx) -> dict[str, Any]:
    async def fire(uow: UnitOfWork, timer: Timer) -> None:
        events, visit = await load_visit(uow, timer.stream_id)
        now = uow.now()
        p = timer.payload
        if timer.kind == SLA_TIMER:
            decided = domain.sla_check(
                ctx.pack,
                visit,
                deadline=p["deadline"],
                phase=p["phase"],
                due_at=datetime.fromisoformat(p["due_at"]),
                now=now,
                version=p.get("version", 0),
            )
        elif timer.kind == DEPARTURE_TIMER:
            decided = domain.departure_check(
                ctx.pack, visit, appointment_id=p["appointment_id"], now=now
            )
        else:
            decided = domain.missed_check(
                ctx.pack, visit, appointment_id=p["appointment_id"], now=now
            )
        if decided is not None:
            await append(
                uow,
                ctx,
                timer.stream_id,
                [decided],
                expected_version=len(events),
                correlation_id=timer.correlation_id,
                causation_id=f"timer:{timer.timer_id}",
                region=visit.region,
            )

    return {SLA_TIMER: fire, DEPARTURE_TIMER: fire, MISSED_TIMER: fire}


# -- projections -------------------------------------------------------------------------------

_ALERTS = {
    d.AssignmentWaiting.event_type: "unassignable",
    d.SlaDeadlineApproaching.event_type: "sla_approaching",
    d.SlaDeadlineBreached.event_type: "sla_breached",
    d.LatenessNoticeDue.event_type: "lateness_notice_due",
    d.MissedAppointment.event_type: "missed_appointment",
    d.RescheduleRefused.event_type: "reschedule_refused",
    d.AppointmentRescheduled.event_type: "rescheduled",
    d.EngineerDelayed.event_type: "engineer_delayed",
    d.CustomerNotFound.event_type: "customer_not_found",
    d.PartsBackordered.event_type: "parts_backordered",
    d.VisitInterrupted.event_type: "interrupted",
    d.RevisitOpened.event_type: "revisit",
    d.EscalatedToTechnicalSupport.event_type: "escalated",
    d.CustomerUnreachable.event_type: "customer_unreachable",
    d.StandardSmsSent.event_type: "standard_sms_sent",
    d.GoingToAddressAnyway.event_type: "going_anyway",
    d.SlaDeadlinesRecomputed.event_type: "sla_recomputed",
}


class DispatchBoard:
    """Projection: each ticket's visit (state, engineer, appointment, reschedules) folded
    from its whole stream, and the dispatcher's alerts and reschedule log."""

    name = "board"
    topics = (topics.DISPATCH_EVENTS,)
    event_types = frozenset(cls.event_type for cls in d.TICKET_EVENTS)
    tables = ("dispatch_board", "dispatch_alerts", "dispatch_reschedules")

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        tickets = sorted({item.event.ticket_id for item in items})
        rows = await uow.conn.fetch(
            "select stream_id, envelope from events where stream_id = any($1::text[])"
            " order by stream_id, stream_version",
            tickets,
        )
        streams: dict[str, list[Envelope]] = {}
        for r in rows:
            streams.setdefault(r["stream_id"], []).append(
                Envelope.model_validate_json(r["envelope"])
            )
        board = []
        for ticket_id in tickets:
            envs = streams.get(ticket_id) or [
                i.envelope for i in items if i.event.ticket_id == ticket_id
            ]
            visit = domain.Visit(ticket_id)
            reschedules = 0
            service_point = None
            for env in envs:
                event = env.event()
                visit = domain.evolve(visit, event)
                if isinstance(event, d.AppointmentRescheduled):
                    reschedules += 1
                if isinstance(event, d.EngineerAssigned):
                    service_point = event.service_point_id
            a = visit.appointment
            board.append(
                (
                    ticket_id,
                    visit.state.value,
                    len(envs),
                    visit.engineer_id,
                    visit.region,
                    visit.skill,
                    visit.waiting_reason,
                    max(env.time for env in envs),
                    a and a.start,
                    a and a.end,
                    reschedules,
                    service_point,
                    envs[-1].type.rsplit(".", 1)[-1],
                )
            )
        await uow.conn.executemany(
            """
            insert into dispatch_board as b (ticket_id, state, state_rank, engineer_id, region,
                skill, waiting_reason, updated_at, appointment_start, appointment_end,
                reschedules, service_point_id, last_event)
            values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
            on conflict (ticket_id) do update set
                state = excluded.state, state_rank = excluded.state_rank,
                engineer_id = excluded.engineer_id, region = excluded.region,
                skill = excluded.skill, waiting_reason = excluded.waiting_reason,
                updated_at = excluded.updated_at,
                appointment_start = excluded.appointment_start,
                appointment_end = excluded.appointment_end,
                reschedules = excluded.reschedules,
                service_point_id = excluded.service_point_id, last_event = excluded.last_event
            where excluded.state_rank >= b.state_rank
            """,
            board,
        )
        alerts, log = [], []
        for item in items:
            env, e = item.envelope, item.event
            kind = _ALERTS.get(env.type)
            if kind is None:
                continue
            data = e.model_dump(mode="json")
            alerts.append((env.id, e.ticket_id, kind, json.dumps(data), env.time))
            if isinstance(e, d.AppointmentRescheduled | d.RescheduleRefused):
                refused = isinstance(e, d.RescheduleRefused)
                log.append(
                    (
                        env.id,
                        e.ticket_id,
                        e.engineer_id,
                        None if refused else e.previous_start,
                        None if refused else e.previous_end,
                        e.proposed_start if refused else e.window_start,
                        e.proposed_end if refused else e.window_end,
                        e.reason,
                        "customer" if refused else e.requested_by,
                        not refused,
                        env.time,
                    )
                )
        if alerts:
            await uow.conn.executemany(
                "insert into dispatch_alerts (event_id, ticket_id, kind, detail, at)"
                " values ($1, $2, $3, $4::jsonb, $5) on conflict do nothing",
                alerts,
            )
        if log:
            await uow.conn.executemany(
                "insert into dispatch_reschedules (event_id, ticket_id, engineer_id,"
                " previous_start, previous_end, window_start, window_end, reason, requested_by,"
                " accepted, at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
                " on conflict do nothing",
                log,
            )


class KeyAccountFile:
    """Projection (DSP-13): key accounts' repair history, for the maintenance file.

    Reads dispatch's own events only (one consumer of intake's topic per service keeps
    dead letters single); the account, serial number and line come from the ticket's
    intake facts, which dispatch stores before it ever assigns the ticket.
    """

    name = "key-account-file"
    topics = (topics.DISPATCH_EVENTS,)
    event_types = frozenset({d.EngineerAssigned.event_type, d.RepairCompleted.event_type})
    tables = ("repair_history",)

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        tickets = sorted({item.event.ticket_id for item in items})
        facts = {
            r["ticket_id"]: r
            for r in await uow.conn.fetch(
                "select ticket_id, key_account_id, serial_no, skill, requested_at"
                " from dispatch_tickets where ticket_id = any($1::text[])"
                " and key_account_id is not null",
                tickets,
            )
        }
        merged: dict[str, list[Any]] = {}
        for item in items:
            e = item.event
            f = facts.get(e.ticket_id)
            if f is None:
                continue
            row = merged.setdefault(
                e.ticket_id,
                [
                    e.ticket_id,
                    f["key_account_id"],
                    f["serial_no"],
                    f["skill"],
                    f["requested_at"],
                    None,
                    None,
                    None,
                ],
            )
            if isinstance(e, d.RepairCompleted) and (row[5] is None or e.completed_at > row[5]):
                row[5:8] = [e.completed_at, e.resolution, e.engineer_id]
        if not merged:
            return
        await uow.conn.executemany(
            """
            insert into repair_history as h (ticket_id, key_account_id, serial_no, product_line,
                requested_at, completed_at, resolution, engineer_id)
            values ($1, $2, $3, $4, $5, $6, $7, $8)
            on conflict (ticket_id) do update set
                completed_at = case when h.completed_at is null
                    or excluded.completed_at > h.completed_at
                    then excluded.completed_at else h.completed_at end,
                resolution = case when h.completed_at is null
                    or excluded.completed_at > h.completed_at
                    then excluded.resolution else h.resolution end,
                engineer_id = case when h.completed_at is null
                    or excluded.completed_at > h.completed_at
                    then excluded.engineer_id else h.engineer_id end
            """,
            [tuple(r) for r in merged.values()],
        )


# -- the roster as events -------------------------------------------------------------------


async def record_roster(
    uow: UnitOfWork,
    event: d.EngineerRosterChanged | d.ServicePointChanged,
    *,
    correlation_id: str,
) -> Envelope:
    """Append a roster change to its own stream (`engineer:<id>`, `service-point:<id>`),
    in the transaction that changed the table."""
    [envelope] = await uow.append(
        event.ticket_id,
        [event],
        correlation_id=correlation_id,
        causation_id=f"http:{correlation_id}",
    )
    return envelope


class RosterLog:
    """Projection: the roster log, every change to engineers and service points, from
    their events (oldest first by time and stream version)."""

    name = "roster-log"
    topics = (topics.DISPATCH_EVENTS,)
    event_types = frozenset(cls.event_type for cls in d.ROSTER_EVENTS)
    tables = ("roster_log",)

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        await uow.conn.executemany(
            "insert into roster_log (event_id, subject, version, type, data, recorded_at)"
            " values ($1, $2, $3, $4, $5::jsonb, $6) on conflict do nothing",
            [
                (
                    item.envelope.id,
                    item.event.ticket_id,
                    item.envelope.streamversion,
                    item.envelope.type.rsplit(".", 1)[-1],
                    json.dumps(item.event.model_dump(mode="json", exclude={"ticket_id"})),
                    item.envelope.time,
                )
                for item in items
            ],
        )
