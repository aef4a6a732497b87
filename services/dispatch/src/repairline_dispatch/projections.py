"""Dispatch's read models, each a declared projection: batched, replayable by `replay`.

- `Jobs`: dispatch's own trimmed copy of intake's requests and billing's quotes
  (`dispatch_tickets`), applied by the reactions that read those topics, each fact just
  before they react to it.
- `RosterLog`: engineers and service points and the log of their changes, from their
  roster events.
- `Workload`: engineers' open jobs, active appointments, waiting tickets and DSP-5
  experience, from the visits' events (applied in the command's own transaction).
- `DispatchBoard` and `KeyAccountFile` (DSP-13: key accounts and their repair history):
  the dispatcher's views.
- `DayPlans`: each region's proposed and committed day plans, from the plans' events.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from repairline_contracts import dispatch as d
from repairline_contracts import intake as i
from repairline_contracts import topics
from repairline_contracts.envelope import Envelope
from repairline_dispatch import domain
from repairline_dispatch.domain.visit import (
    INTAKE_FACTS,
    QUOTE_ACCEPTED,
    QUOTE_REFUSED,
    RELEASED_BY_DISPATCHER,
)
from repairline_platform.eventstore import Delivered, UnitOfWork
from repairline_platform.readmodel import Writes

HOLD_VERIFICATION = "verification"

# which hold each intake fact releases (INT-3 verification, INT-5 phone guidance, WAR-6..9)
RELEASES = {
    i.RequestVerified.event_type: HOLD_VERIFICATION,
    i.VisitRequested.event_type: "phone_guidance",
}


def released_hold(event: Any) -> str | None:
    """The hold an intake fact releases, if any (a remedy releases only when it is repair)."""
    if isinstance(event, i.RemedyChosen):
        return "remedy_choice" if event.remedy.kind == "repair" else None
    return RELEASES.get(event.event_type)


_REQUESTED = """
    insert into dispatch_tickets as t (ticket_id, region, skill, city_tier, service_mode, lat,
        lon, window_start, window_end, key_account_id, job_kind, holds, requested_at,
        serial_no, closed, fault_kind)
    values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, false, $15)
    on conflict (ticket_id) do update set region = excluded.region,
        skill = excluded.skill, city_tier = excluded.city_tier,
        service_mode = excluded.service_mode,
        lat = case when t.location_verified then t.lat else excluded.lat end,
        lon = case when t.location_verified then t.lon else excluded.lon end,
        window_start = excluded.window_start, window_end = excluded.window_end,
        key_account_id = excluded.key_account_id, job_kind = excluded.job_kind,
        holds = excluded.holds, requested_at = excluded.requested_at,
        serial_no = excluded.serial_no, fault_kind = excluded.fault_kind
"""


class Jobs:
    """Dispatch's copy of the facts it needs from intake (the request, its holds, the
    warranty's chargeability and what caused each decision, closed or cancelled) and
    billing (the quote's state).

    Not consumed on its own: the reactions that read intake's and billing's topics apply
    each fact here just before they react to it, in the same transaction (one consumer
    per topic keeps dead letters single); replay rebuilds it from the topics. Applying a
    fact twice changes nothing (released holds are a set beside the request's holds; a
    verified location wins over the requested one)."""

    name = "jobs"
    subscribed = False
    topics = (topics.INTAKE_EVENTS, topics.BILLING_EVENTS)
    event_types = INTAKE_FACTS | {QUOTE_ACCEPTED, QUOTE_REFUSED}
    tables = ("dispatch_tickets",)

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        writes = Writes()  # every statement writes its ticket's row only
        for item in items:
            for sql, ticket_id, *args in self._statements(item):
                writes.add(ticket_id, sql, ticket_id, *args)
        await writes.run(uow.conn)

    def _statements(self, item: Delivered) -> list[tuple[Any, ...]]:
        """The statements that apply one fact, each `(sql, ticket_id, *more arguments)`."""
        e, env = item.event, item.envelope
        if env.type in (QUOTE_ACCEPTED, QUOTE_REFUSED):
            state = "accepted" if env.type == QUOTE_ACCEPTED else "refused"
            return [(_QUOTE, env.data["ticket_id"], env.data.get("quote_id"), state)]
        if isinstance(e, i.RepairRequested):
            return [(_REQUESTED, *_requested(e))]
        if isinstance(e, i.WarrantyDecided):
            return [(_CHARGEABLE, e.ticket_id, e.chargeable, env.causationid)]
        if isinstance(e, i.TicketClosed | i.TicketCancelled):
            return [(_CLOSED, e.ticket_id)]
        statements: list[tuple[Any, ...]] = []
        if isinstance(e, i.RequestVerified) and e.location is not None:
            statements.append((_VERIFIED_AT, e.ticket_id, e.location.lat, e.location.lon))
        hold = released_hold(e)
        if hold is not None:
            statements.append((_RELEASED, e.ticket_id, hold))
        return statements


_QUOTE = (
    "insert into dispatch_tickets (ticket_id, quote_id, quote_state, holds, closed)"
    " values ($1, $2, $3, '{}', false) on conflict (ticket_id) do update"
    " set quote_id = excluded.quote_id, quote_state = excluded.quote_state"
)
# the warranty's chargeability, and what caused the decision (WAR-4: an inspection's id)
_CHARGEABLE = (
    "insert into dispatch_tickets (ticket_id, chargeable, holds, closed, decided_causes)"
    " values ($1, $2, '{}', false, array[$3::text]) on conflict (ticket_id) do update"
    " set chargeable = excluded.chargeable,"
    " decided_causes = case when $3 = any(dispatch_tickets.decided_causes)"
    " then dispatch_tickets.decided_causes else dispatch_tickets.decided_causes || $3::text end"
)
_CLOSED = "update dispatch_tickets set closed = true where ticket_id = $1"
_VERIFIED_AT = (
    "update dispatch_tickets set lat = $2, lon = $3, location_verified = true where ticket_id = $1"
)
_RELEASED = (
    "update dispatch_tickets set released_holds = released_holds || $2::text"
    " where ticket_id = $1 and not ($2 = any(released_holds))"
)


def _requested(e: i.RepairRequested) -> tuple[Any, ...]:
    holds = list(e.held_for)
    if e.needs_verification:
        holds.append(HOLD_VERIFICATION)
    window = e.preferred_window
    return (
        e.ticket_id,
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


_ENGINEER = """
    insert into engineers (engineer_id, region, skills, active, updated_at, capacity,
        home_lat, home_lon, hours, service_point_id)
    values ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10)
    on conflict (engineer_id) do update set region = excluded.region,
        skills = excluded.skills, active = excluded.active, updated_at = excluded.updated_at,
        capacity = excluded.capacity, home_lat = excluded.home_lat,
        home_lon = excluded.home_lon, hours = excluded.hours,
        service_point_id = excluded.service_point_id
"""

_SERVICE_POINT = """
    insert into service_points (service_point_id, name, region, city_tier, lat, lon, active,
        updated_at)
    values ($1, $2, $3, $4, $5, $6, $7, $8)
    on conflict (service_point_id) do update set name = excluded.name,
        region = excluded.region, city_tier = excluded.city_tier, lat = excluded.lat,
        lon = excluded.lon, active = excluded.active, updated_at = excluded.updated_at
"""


def _service_point(e: d.ServicePointChanged) -> tuple[Any, ...]:
    return (e.service_point_id, e.name, e.region, e.city_tier, e.lat, e.lon, e.active, e.changed_at)


def _engineer(e: d.EngineerRosterChanged) -> tuple[Any, ...]:
    hours = [h.model_dump(mode="json") for h in e.working_hours] if e.working_hours else None
    return (
        e.engineer_id,
        e.region,
        list(e.skills),
        e.active,
        e.changed_at,
        e.capacity,
        e.home_lat,
        e.home_lon,
        json.dumps(hours) if hours else None,
        e.service_point_id,
    )


_OFF_APPOINTMENTS = "update appointments set active = false where ticket_id = $1"
_CLOSE_JOB = "update engineer_jobs set open = false where ticket_id = $1"
_NOT_WAITING = "delete from waiting_tickets where ticket_id = $1"


class Workload:
    """What DSP-1 weighs: each engineer's open jobs and active appointments (with the
    job's location, for travel), the tickets waiting for an engineer, and the repairs
    each engineer completed (DSP-5), from the visits' events."""

    name = "workload"
    topics = (topics.DISPATCH_EVENTS,)
    event_types = frozenset(
        cls.event_type
        for cls in (
            d.EngineerAssigned,
            d.AssignmentWaiting,
            d.AppointmentScheduled,
            d.AppointmentRescheduled,
            d.EngineerReleased,
            d.CustomerNotFound,
            d.PartsBackordered,
            d.WorkCarriedForward,
            d.WrongPartOnSite,
            d.RepairCompleted,
            d.VisitEndedWithoutRepair,
        )
    )
    # engineer_open_jobs: each engineer's open jobs, counted by the database as
    # engineer_jobs changes (dispatch's migration 007)
    tables = (
        "engineer_jobs",
        "engineer_open_jobs",
        "waiting_tickets",
        "appointments",
        "engineer_repairs",
    )

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        writes = Writes()  # every statement writes its ticket's rows only
        for item in items:
            for sql, *args in self._statements(item.event, item.envelope):
                writes.add(item.event.ticket_id, sql, *args)
        await writes.run(uow.conn)

    def _statements(self, e: Any, env: Envelope) -> list[tuple[Any, ...]]:
        t = e.ticket_id
        match e:
            case d.EngineerAssigned():
                return [(_ASSIGNED, t, e.engineer_id), (_NOT_WAITING, t)]
            case d.AssignmentWaiting():
                return [(_WAITING, t, e.region, e.skill, e.since, env.correlationid)]
            case d.AppointmentScheduled() | d.AppointmentRescheduled():
                return [
                    (_OFF_APPOINTMENTS, t),
                    (
                        _APPOINTMENT,
                        e.appointment_id,
                        t,
                        e.engineer_id,
                        e.window_start,
                        e.window_end,
                    ),
                ]
            case d.EngineerReleased():
                return [(_CLOSE_JOB, t), (_OFF_APPOINTMENTS, t)]
            case d.CustomerNotFound() | d.PartsBackordered() | d.WorkCarriedForward():
                return [(_OFF_APPOINTMENTS, t)]
            case d.WrongPartOnSite():
                return [] if e.fetch_now else [(_OFF_APPOINTMENTS, t)]
            case d.RepairCompleted() | d.VisitEndedWithoutRepair():
                over = [(_CLOSE_JOB, t), (_OFF_APPOINTMENTS, t), (_NOT_WAITING, t)]
                if isinstance(e, d.RepairCompleted):  # DSP-5: the engineer's experience
                    return [(_REPAIRED, e.engineer_id, t), *over]
                return over
        return []


_ASSIGNED = (
    "insert into engineer_jobs (ticket_id, engineer_id, open) values ($1, $2, true)"
    " on conflict (ticket_id) do update set engineer_id = excluded.engineer_id, open = true"
)
_WAITING = (
    "insert into waiting_tickets (ticket_id, region, skill, since, correlation_id)"
    " values ($1, $2, $3, $4, $5) on conflict do nothing"
)
# the job's location, for travel, from dispatch's copy of the request (`Jobs`)
_APPOINTMENT = (
    "insert into appointments (appointment_id, ticket_id, engineer_id, starts_at, ends_at,"
    " lat, lon, active)"
    " select $1::text, $2::text, $3::text, $4::timestamptz, $5::timestamptz, t.lat, t.lon, true"
    " from (select 1) one left join dispatch_tickets t on t.ticket_id = $2"
    " on conflict (appointment_id) do nothing"
)
_REPAIRED = (
    "insert into engineer_repairs (engineer_id, product_line, fault_kind)"
    " select $1, coalesce(skill, ''), coalesce(fault_kind, '')"
    " from dispatch_tickets where ticket_id = $2 on conflict do nothing"
)


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
RELEASED = "released"  # the dispatcher's own release, not a job nobody can take
ALERT_KINDS = tuple(sorted(set(_ALERTS.values()) | {RELEASED}))


def alert_kind(env_type: str, event: Any) -> str | None:
    """The alert an event raises on the board (None: none)."""
    kind = _ALERTS.get(env_type)
    waiting = isinstance(event, d.AssignmentWaiting)
    if waiting and event.reason.startswith(RELEASED_BY_DISPATCHER):
        return RELEASED
    return kind


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
        streams: dict[str, list[tuple[Envelope, Any]]] = {}
        for r in rows:
            env = Envelope.model_validate_json(r["envelope"])
            streams.setdefault(r["stream_id"], []).append((env, env.event()))
        # by ticket, once: not per ticket again; the events as the consumer read them
        delivered: dict[str, list[tuple[Envelope, Any]]] = {}
        for item in items:
            delivered.setdefault(item.event.ticket_id, []).append((item.envelope, item.event))
        board = []
        for ticket_id in tickets:
            stream = streams.get(ticket_id) or delivered[ticket_id]
            envs = [env for env, _ in stream]
            visit = domain.Visit(ticket_id)
            reschedules = 0
            service_point = None
            for _, event in stream:
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
            kind = alert_kind(env.type, e)
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
    """Projection (DSP-13): the key accounts (from `KeyAccountChanged`) and their repair
    history, for the maintenance file.

    Reads dispatch's own events only (one consumer of intake's topic per service keeps
    dead letters single); the account, serial number and line come from the ticket's
    intake facts, which dispatch stores before it ever assigns the ticket.
    """

    name = "key-account-file"
    topics = (topics.DISPATCH_EVENTS,)
    event_types = frozenset(
        {
            d.EngineerAssigned.event_type,
            d.RepairCompleted.event_type,
            d.KeyAccountChanged.event_type,
        }
    )
    tables = ("repair_history", "key_accounts")

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        accounts = [i.event for i in items if isinstance(i.event, d.KeyAccountChanged)]
        if accounts:
            await self._accounts(uow, accounts)
        await self._history(uow, [i for i in items if not isinstance(i.event, d.KeyAccountChanged)])

    async def _accounts(self, uow: UnitOfWork, accounts: Sequence[d.KeyAccountChanged]) -> None:
        await uow.conn.executemany(
            "insert into key_accounts (key_account_id, organisation, units, service_point_id,"
            " updated_at) values ($1, $2, $3, $4, $5) on conflict (key_account_id) do update"
            " set organisation = excluded.organisation, units = excluded.units,"
            " service_point_id = excluded.service_point_id, updated_at = excluded.updated_at",
            [
                (e.key_account_id, e.organisation, e.units, e.service_point_id, e.changed_at)
                for e in accounts
            ],
        )

    async def _history(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        if not items:
            return
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


class RosterLog:
    """Projection: engineers (all but the name, which the log never keeps) and service
    points as they are now, and the roster log, every change to them (oldest first by
    time and stream version), from `EngineerRosterChanged` and `ServicePointChanged`."""

    name = "roster-log"
    topics = (topics.DISPATCH_EVENTS,)
    event_types = frozenset(cls.event_type for cls in d.ROSTER_EVENTS)
    tables = ("roster_log", "engineers", "service_points")

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        for item in items:
            e = item.event
            if isinstance(e, d.EngineerRosterChanged):
                await uow.conn.execute(_ENGINEER, *_engineer(e))
            elif isinstance(e, d.ServicePointChanged):
                await uow.conn.execute(_SERVICE_POINT, *_service_point(e))
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


class DayPlans:
    """Projection: each proposed day plan (routes per engineer, unplanned tickets with the
    reasons, travel and DSP-3 figures) and, once committed, who committed it, the tickets
    that changed and those skipped, from `DayPlanProposed` and `DayPlanCommitted`. A later
    proposal of the same day marks the earlier ones superseded."""

    name = "day-plans"
    topics = (topics.DISPATCH_EVENTS,)
    event_types = frozenset(cls.event_type for cls in d.PLAN_EVENTS)
    tables = ("day_plans",)

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        for item in items:
            e = item.event
            if isinstance(e, d.DayPlanProposed):
                await self._proposed(uow, e)
            elif isinstance(e, d.DayPlanCommitted):
                await uow.conn.execute(
                    "update day_plans set state = 'committed', committed_at = $2,"
                    " committed_by = $3, changed = $4::jsonb, skipped = $5::jsonb"
                    " where plan_id = $1",
                    e.plan_id,
                    e.committed_at,
                    e.committed_by,
                    json.dumps(list(e.changed)),
                    json.dumps([s.model_dump(mode="json") for s in e.skipped]),
                )

    async def _proposed(self, uow: UnitOfWork, e: d.DayPlanProposed) -> None:
        await uow.conn.execute(
            "update day_plans set state = 'superseded' where stream_id = $1"
            " and state = 'proposed' and plan_id <> $2",
            e.ticket_id,
            e.plan_id,
        )
        content = e.model_dump(mode="json", exclude={"ticket_id", "plan_id", "region"})
        await uow.conn.execute(
            "insert into day_plans (plan_id, stream_id, region, day, state, method, proposal,"
            " proposed_at) values ($1, $2, $3, $4::date, 'proposed', $5, $6::jsonb, $7)"
            " on conflict (plan_id) do nothing",
            e.plan_id,
            e.ticket_id,
            e.region,
            date.fromisoformat(e.date),
            e.method,
            json.dumps(content),
            e.proposed_at,
        )
