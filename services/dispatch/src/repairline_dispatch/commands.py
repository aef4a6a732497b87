"""Dispatch's commands, each through the platform's one command path.

A visit command loads the ticket's stream once, decides, and appends what follows from
the decision in the same append: DSP-3 deadlines recomputed when a pause ended, DSP-5
escalation when a visit was booked, and the timers the new events call for. When the
engineer was released or a revisit opened, DSP-1 assigns again in an append of its own.
Every decision on a visit uses its ticket's pack: the one named on the ticket's stream,
resolved at the command's time inside the command (`Scope.pack`); a region's day uses
the pack the mapping gives the region (`Scope.region_pack`), each of its tickets keeping
its own pack for its deadlines, departures and bookings.
Routes call the commands that take a `Ctx` (they open their own unit of work, retried on
a concurrent write); reactions and timers call the ones that also take the unit they hold.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from repairline_contracts.base import Event
from repairline_contracts.dispatch import AppointmentScheduled, EngineerDelayed, LeftOut
from repairline_dispatch.domain import plan, roster, visit
from repairline_dispatch.domain.packs import RegionPacks
from repairline_dispatch.domain.visit import Visit, VisitState
from repairline_dispatch.settings import DispatchSettings
from repairline_dispatch.store import DispatchStore
from repairline_planning import checker
from repairline_planning.insertion import Insertion
from repairline_planning.plan import Plan
from repairline_planning.solver import plan_day
from repairline_platform import commands, visibility
from repairline_platform.commands import CommandResult
from repairline_platform.logging import get_logger
from repairline_platform.policy import deciding_with
from repairline_platform.visibility import Owners
from repairline_rules.packs import PolicyPack
from repairline_rules.refusals import IllegalTransition, NotCaughtUp, NotFound, Refused

log = get_logger(__name__)

VISIT = commands.Stream("dispatch ticket", visit.fold, region_of=lambda v: v.region, own_pack=True)
ROSTER = commands.Stream("roster record", roster.fold)


@dataclass(frozen=True)
class Ctx:
    """What dispatch's commands need: the pack source (the bound ticket's pack at a time;
    the default pack's when no ticket is bound), the packs of regions, the settings,
    units of work and the store."""

    pack_at: Callable[[datetime], PolicyPack]
    regions: RegionPacks
    settings: DispatchSettings
    unit_of_work: Callable[[], AbstractAsyncContextManager[Any]]
    store: Callable[[Any], DispatchStore]


@dataclass(frozen=True)
class Scope:
    """One command in one unit: the service, the unit, the store and the time."""

    ctx: Ctx
    uow: Any
    store: DispatchStore

    @property
    def now(self) -> datetime:
        return self.uow.now()

    @property
    def pack(self) -> PolicyPack:
        """The pack of the ticket the command is deciding on, at the command's time."""
        return self.ctx.pack_at(self.now)

    def region_pack(self, region: str | None) -> PolicyPack:
        """The region's pack for what no ticket names (its day's time zone and plan)."""
        return self.ctx.regions.of(region, self.now)

    @property
    def speed(self) -> float:
        return self.ctx.settings.travel_kmh


Decide = Callable[[Visit, Scope], "Sequence[Event] | Awaitable[Sequence[Event]]"]


# -- the visit's command path ------------------------------------------------------------------


async def on_visit(
    scope: Scope, ticket_id: str, decide: Decide, *, create: bool = False, region: str | None = None
) -> CommandResult:
    """Decide on the ticket's visit, with what follows from the decision, and append."""

    async def decided(v: Visit, _: Any) -> list[Event]:
        out = decide(v, scope)
        new = list(await out if inspect.isawaitable(out) else out)
        new += await _follow_ups(scope, v, new)
        await _schedule(scope, new)
        return new

    result = await commands.run(
        scope.uow, VISIT, ticket_id, decided, create=create, region=region, data=_state_after
    )
    if result.events and result.data["state"] == VisitState.NEW.value:
        await _reassign(scope, result)
    return result


async def _reassign(scope: Scope, released: CommandResult) -> None:
    """DSP-1 again when the command released the engineer or reopened the visit: its own
    append, caused by the event that released it."""
    revisit = "RevisitOpened" in released.events

    def decide(v: Visit, s: Scope) -> Awaitable[list[Event]]:
        return _assignment(s, v, revisit=revisit)

    with commands.bound(commands.current_context().correlation_id, released.event_ids[-1]):
        await on_visit(scope, released.stream_id, decide)


def _state_after(before: Visit, events: Sequence[Event]) -> dict[str, Any]:
    after = _evolved(before, events)
    return {"event": events[0].event_type if events else None, "state": after.state.value}


def _evolved(v: Visit, events: Sequence[Event]) -> Visit:
    for event in events:
        v = visit.evolve(v, event)
    return v


async def _follow_ups(scope: Scope, before: Visit, new: Sequence[Event]) -> list[Event]:
    """DSP-3 deadlines recomputed when a pause ended; DSP-5 escalation of a booked visit."""
    after = _evolved(before, new)
    resumed = await _sla_resumed(scope, before, after)
    escalated = await _escalation(scope, after, new)
    return [e for e in (resumed, escalated) if e is not None]


async def _sla_resumed(scope: Scope, before: Visit, after: Visit) -> Event | None:
    """DSP-3: the deadlines recomputed when a pause ends (None when none ended)."""
    if not before.paused or after.paused:
        return None
    job = await scope.store.job(after.ticket_id)
    if job is None:
        return None
    deadlines = visit.job_deadlines(
        scope.pack,
        job,
        service_point_exists=await scope.store.has_service_point(job.region),
        pauses=after.pauses,
    )
    return visit.decide_sla_resumed(scope.pack, before, after, deadlines, now=scope.now)


async def _escalation(scope: Scope, after: Visit, new: Sequence[Event]) -> Event | None:
    """DSP-5: when a visit is booked (with the assignment, or later), its engineer is
    escalated to technical support if he never completed such a repair."""
    booked = [e for e in new if isinstance(e, AppointmentScheduled)]
    if not booked:
        return None
    job = await scope.store.job(after.ticket_id)
    fault_kind = job.fault_kind if job else None
    engineer_id = booked[-1].engineer_id
    return visit.decide_escalation(
        scope.pack,
        after,
        engineer_id=engineer_id,
        product_line=after.skill,
        fault_kind=fault_kind,
        fixed_before=await scope.store.fixed_before(engineer_id, after.skill, fault_kind),
        now=scope.now,
    )


async def _assignment(scope: Scope, v: Visit, *, revisit: bool = False) -> list[Event]:
    """DSP-1 for the ticket, from the job, the engineers who could take it and DSP-3."""
    job = await scope.store.job(v.ticket_id)
    if job is None or not job.assignable or job.region is None or job.skill is None:
        return []
    # DSP-1 fits an engineer's appointments only around the customer's window
    window = visit.customer_window(v, job, revisit=revisit, now=scope.now)
    engineers = await scope.store.engineers(
        job.region, job.skill, ticket_id=v.ticket_id, appointments=window is not None
    )
    has_point = await scope.store.has_service_point(job.region)
    deadlines = visit.job_deadlines(scope.pack, job, service_point_exists=has_point)
    inserted = await _inserted(scope, v, job, revisit)
    if inserted is not None:
        return inserted
    weighed = visit.Assignment(job, engineers, deadlines, scope.speed)
    return visit.decide_assign(scope.pack, v, weighed, now=scope.now, revisit=revisit)


async def _schedule(scope: Scope, events: Sequence[Event]) -> None:
    warn = timedelta(minutes=scope.ctx.settings.sla_warning_minutes)
    await commands.schedule_timers(scope.uow, visit.timers_for(events, warn=warn))


def _scope(ctx: Ctx, uow: Any) -> Scope:
    return Scope(ctx, uow, ctx.store(uow))


async def _execute(ctx: Ctx, ticket_id: str, decide: Decide) -> CommandResult:
    """A route's command on an existing visit, in a unit of its own; a 404 when the visit
    is outside the caller's regions, or not his when an engineer acts on his own jobs."""
    guarded = visibility.guarded(f"no dispatch ticket {ticket_id}", visit_scope, decide)
    return await commands.in_unit(
        ctx.unit_of_work, lambda uow: on_visit(_scope(ctx, uow), ticket_id, guarded)
    )


def visit_scope(v: Visit) -> tuple[str | None, Owners]:
    """A visit's region and the engineer it is assigned to, for the caller's scope."""
    return v.region, Owners(engineer_id=v.engineer_id)


async def _exists(uow: Any, stream_id: str) -> bool:
    return bool(await uow.stream_version(stream_id))


# -- reactions and timers: inside the unit they hold --------------------------------------------


async def assign(cmd: visit.Assign, ctx: Ctx, uow: Any) -> CommandResult | None:
    """DSP-1: assign the ticket, or raise the alert that it waits; None when it cannot be
    assigned now (unknown, held, closed, its quote refused)."""
    scope = _scope(ctx, uow)
    job = await scope.store.job(cmd.ticket_id)
    if job is None or not job.assignable:
        return None

    def decide(v: Visit, s: Scope) -> Awaitable[list[Event]]:
        return _assignment(s, v, revisit=cmd.revisit)

    create = not await _exists(uow, cmd.ticket_id)
    return await on_visit(scope, cmd.ticket_id, decide, create=create, region=job.region)


async def end_visit(cmd: visit.EndVisit, ctx: Ctx, uow: Any) -> CommandResult | None:
    """No work (quote refused, ticket closed or cancelled); nothing when already over."""
    known = await _exists(uow, cmd.ticket_id)
    if cmd.only_if_known and not known:
        return None

    def decide(v: Visit, s: Scope) -> list[Event]:
        ended = visit.decide_end(v, reason=cmd.reason, now=s.now, quote_id=cmd.quote_id)
        return [ended] if ended is not None else []

    return await on_visit(_scope(ctx, uow), cmd.ticket_id, decide, create=not known)


async def open_revisit(cmd: visit.OpenRevisit, ctx: Ctx, uow: Any) -> CommandResult | None:
    """FBK-5: someone goes on site at once (assigned in the same decision); once per case."""
    if not await _exists(uow, cmd.ticket_id):
        return None

    def decide(v: Visit, s: Scope) -> list[Event]:
        opened = visit.decide_revisit(v, case_id=cmd.case_id, reason=cmd.reason, now=s.now)
        return [opened] if opened is not None else []

    return await on_visit(_scope(ctx, uow), cmd.ticket_id, decide)


async def check(cmd: visit.Check, ctx: Ctx, uow: Any) -> CommandResult | None:
    """A due timer: DSP-3 deadline, DSP-6/7 departure or PEN-7 missed appointment."""
    if not await _exists(uow, cmd.ticket_id):
        return None

    def decide(v: Visit, s: Scope) -> list[Event]:
        return visit.decide_check(s.pack, v, kind=cmd.kind, payload=cmd.payload, now=s.now)

    return await on_visit(_scope(ctx, uow), cmd.ticket_id, decide)


# -- the roster ---------------------------------------------------------------------------------


async def change_engineer(cmd: roster.ChangeEngineer, ctx: Ctx) -> CommandResult:
    """An EngineerRosterChanged on `engineer:<id>`; tickets waiting for such an engineer are
    assigned in the same unit, each in its own conversation."""

    async def work(uow: Any) -> CommandResult:
        stream = roster.engineer_stream(cmd.engineer_id)
        store = ctx.store(uow)
        await store.lock_engineers([cmd.engineer_id])  # no assignment weighs the old record

        def decide(previous: roster.Record | None, u: Any) -> list[Event]:
            return [roster.engineer_changed(cmd.engineer_id, previous, cmd.record, now=u.now())]

        result = await commands.run(
            uow, ROSTER, stream, decide, create=not await _exists(uow, stream)
        )
        await store.keep_name(cmd.engineer_id, cmd.name)
        waiting = await store.waiting(cmd.record["region"], cmd.record["skills"])
        for w in waiting:
            with commands.bound(w.correlation_id, f"engineer:{cmd.engineer_id}"):
                await assign(visit.Assign(w.ticket_id), ctx, uow)
        return replace(result, data={"assigned_waiting": len(waiting)})

    return await commands.in_unit(ctx.unit_of_work, work)


async def change_service_point(cmd: roster.ChangeServicePoint, ctx: Ctx) -> CommandResult:
    """A ServicePointChanged on `service-point:<id>`."""

    async def work(uow: Any) -> CommandResult:
        stream = roster.service_point_stream(cmd.service_point_id)

        def decide(previous: roster.Record | None, u: Any) -> list[Event]:
            return [
                roster.service_point_changed(
                    cmd.service_point_id, previous, cmd.record, now=u.now()
                )
            ]

        create = not await _exists(uow, stream)
        return await commands.run(uow, ROSTER, stream, decide, create=create)

    return await commands.in_unit(ctx.unit_of_work, work)


async def change_key_account(cmd: roster.ChangeKeyAccount, ctx: Ctx) -> CommandResult:
    """DSP-13: a KeyAccountChanged on `key-account:<id>`."""

    async def work(uow: Any) -> CommandResult:
        stream = roster.key_account_stream(cmd.key_account_id)

        def decide(_: roster.Record | None, u: Any) -> list[Event]:
            return [roster.key_account_changed(cmd, now=u.now())]

        create = not await _exists(uow, stream)
        return await commands.run(uow, ROSTER, stream, decide, create=create)

    return await commands.in_unit(ctx.unit_of_work, work)


# -- the routes' visit commands ------------------------------------------------------------------


async def _engineer(s: Scope, v: Visit) -> visit.Engineer:
    if v.engineer_id is None:
        raise IllegalTransition("no engineer is assigned yet", v.state)
    engineer = await s.store.engineer(v.engineer_id, ticket_id=v.ticket_id)
    if engineer is None:
        raise NotFound(f"no engineer {v.engineer_id}")
    return engineer


async def _booking(
    s: Scope, v: Visit, window: visit.Window, *, confirm: bool
) -> visit.AppointmentScheduled:
    """DSP-2: the window booked with the assigned engineer, travel from his previous job."""
    engineer = await _engineer(s, v)
    job = await s.store.job(v.ticket_id)
    location = job.location if job else None
    return visit.decide_appointment(
        s.pack,
        v,
        engineer,
        window=window,
        travel=visit.travel_for(engineer, window, location, speed_kmh=s.speed, zone=s.pack.zone),
        confirm_by=visit.confirm_by(s.pack, job) if confirm and job else None,
        now=s.now,
        speed_kmh=s.speed,
        location=location,
    )


async def _rescheduling(
    s: Scope, v: Visit, window: visit.Window, reason: str, by: str, consents: bool
) -> list[Event]:
    engineer = await _engineer(s, v)
    job = await s.store.job(v.ticket_id)
    location = job.location if job else None
    return visit.decide_reschedule(
        s.pack,
        v,
        engineer,
        window=window,
        reason=reason,
        requested_by=by,
        customer_consents=consents,
        travel=visit.travel_for(engineer, window, location, speed_kmh=s.speed, zone=s.pack.zone),
        now=s.now,
        speed_kmh=s.speed,
        location=location,
    )


async def book_visit(cmd: visit.BookVisit, ctx: Ctx) -> CommandResult:
    """DSP-2: book the window agreed with the customer, confirmed by INT-6's deadline."""

    async def decide(v: Visit, s: Scope) -> list[Event]:
        return [await _booking(s, v, cmd.window, confirm=True)]

    return await _execute(ctx, cmd.ticket_id, decide)


async def reschedule(cmd: visit.Reschedule, ctx: Ctx) -> CommandResult:
    """DSP-2: a new window with a reason; refused by the customer, back to DSP-1."""

    def decide(v: Visit, s: Scope) -> Awaitable[list[Event]]:
        by, consents = cmd.requested_by, cmd.customer_consents
        return _rescheduling(s, v, cmd.window, cmd.reason, by, consents)

    return await _execute(ctx, cmd.ticket_id, decide)


async def reassign(cmd: visit.Reassign, ctx: Ctx) -> CommandResult:
    """DSP-1: the dispatcher takes the job back and gives it to another engineer."""

    def decide(v: Visit, s: Scope) -> list[Event]:
        return [visit.decide_reassignment(v, reason=cmd.reason, now=s.now)]

    return await _execute(ctx, cmd.ticket_id, decide)


async def release(cmd: visit.Release, ctx: Ctx) -> CommandResult:
    """DSP-1: the dispatcher takes the job back to his queue, with his reason."""

    def decide(v: Visit, s: Scope) -> list[Event]:
        return visit.decide_release(v, reason=cmd.reason, now=s.now)

    return await _execute(ctx, cmd.ticket_id, decide)


async def depart(cmd: visit.Depart, ctx: Ctx) -> CommandResult:
    """DSP-6: the engineer leaves for the customer (late if after the planned time)."""
    return await _execute(ctx, cmd.ticket_id, lambda v, s: [visit.decide_departure(v, now=s.now)])


async def report_delay(cmd: visit.ReportDelay, ctx: Ctx) -> CommandResult:
    """DSP-7: the notice checked; with an agreed new window, the visit is rescheduled."""

    told: dict[str, Any] = {}

    async def decide(v: Visit, s: Scope) -> list[Event]:
        delayed = visit.decide_delay(
            s.pack, v, expected_arrival=cmd.expected_arrival, cause=cmd.cause, now=s.now
        )
        told.update(_notice(delayed))
        if cmd.new_window is None or not delayed.agree_new_time:
            return [delayed]
        reason = f"DSP-7 delay: {delayed.reason}"
        moved = visit.evolve(v, delayed)
        return [delayed, *await _rescheduling(s, moved, cmd.new_window, reason, "engineer", True)]

    result = await _execute(ctx, cmd.ticket_id, decide)
    await _held_up(ctx, result, lambda v, now: plan.delayed(v, cmd.expected_arrival))
    return replace(result, data={**result.data, **told})


def _notice(delayed: EngineerDelayed) -> dict[str, Any]:
    """DSP-7: what the engineer is told of his notice: whether it came in time."""
    return {
        "notice": delayed.notice,
        "notice_in_time": delayed.notice_in_time,
        "notify_customer_by": delayed.notify_customer_by,
        "reason_accepted": delayed.reason_accepted,
        "agree_new_time": delayed.agree_new_time,
    }


async def arrive(cmd: visit.Arrive, ctx: Ctx) -> CommandResult:
    """The assigned engineer is at the customer's address."""

    def decide(v: Visit, s: Scope) -> list[Event]:
        return [visit.decide_arrival(v, engineer_id=cmd.engineer_id, now=s.now)]

    return await _execute(ctx, cmd.ticket_id, decide)


async def report_customer_not_found(cmd: visit.ReportCustomerNotFound, ctx: Ctx) -> CommandResult:
    """DSP-9: after the wait the note is left and the visit rebooked."""

    def decide(v: Visit, s: Scope) -> list[Event]:
        return [visit.decide_not_found(s.pack, v, at_business=cmd.at_business, now=s.now)]

    return await _execute(ctx, cmd.ticket_id, decide)


async def record_search(cmd: visit.RecordSearch, ctx: Ctx) -> CommandResult:
    """DSP-9: a knock or a phone call of the engineer looking for the customer."""

    def decide(v: Visit, s: Scope) -> list[Event]:
        step, at_business = cmd.step, cmd.at_business
        return [visit.decide_search(s.pack, v, step=step, at_business=at_business, now=s.now)]

    return await _execute(ctx, cmd.ticket_id, decide)


async def search_checklist(ticket_id: str, at_business: bool, ctx: Ctx) -> dict[str, Any]:
    """DSP-9: the visit's search for the customer against the pack (read, nothing appended);
    the same 404 as a missing visit when the caller may not see it."""
    not_found = f"no dispatch ticket {ticket_id}"
    async with ctx.unit_of_work() as uow:
        events, now = await uow.load_stream(ticket_id), uow.now()
    if not events:
        raise NotFound(not_found)
    v = visit.fold(ticket_id, events)
    visibility.check(not_found, *visit_scope(v))
    with deciding_with(commands.stream_policy(uow, ticket_id)):
        pack = ctx.pack_at(now)
    return visit.search_checklist(pack, v, at_business=at_business, now=now)


async def report_part(cmd: visit.ReportPart, ctx: Ctx) -> CommandResult:
    """DSP-4: needed, backordered, arrived (booked at once with a new window) or wrong."""

    async def decide(v: Visit, s: Scope) -> list[Event]:
        event = visit.decide_parts(
            v,
            part=cmd.part,
            status=cmd.status,
            customer_has_time=cmd.customer_has_time,
            now=s.now,
        )
        if cmd.status != "arrived" or cmd.new_window is None:
            return [event]
        return [event, await _booking(s, visit.evolve(v, event), cmd.new_window, confirm=False)]

    return await _execute(ctx, cmd.ticket_id, decide)


async def interrupt(cmd: visit.Interrupt, ctx: Ctx) -> CommandResult:
    """DSP-10: an urgent job came in; it is reassigned if this engineer had it."""

    async def decide(v: Visit, s: Scope) -> list[Event]:
        released = False
        if v.engineer_id is not None and await _exists(s.uow, cmd.urgent_ticket_id):
            engineer_id = v.engineer_id

            def release(urgent: Visit, s2: Scope) -> list[Event]:
                event = visit.release_for_urgent(urgent, engineer_id=engineer_id, now=s2.now)
                return [event] if event is not None else []

            released = bool((await on_visit(s, cmd.urgent_ticket_id, release)).events)
        return [
            visit.decide_interruption(
                v,
                urgent_ticket_id=cmd.urgent_ticket_id,
                minutes_still_needed=cmd.minutes_still_needed,
                reassigned=released,
                now=s.now,
            )
        ]

    result = await _execute(ctx, cmd.ticket_id, decide)
    await _held_up(ctx, result, lambda v, now: plan.interrupted(v, cmd.minutes_still_needed, now))
    return result


async def record_inspection(cmd: visit.RecordInspection, ctx: Ctx) -> CommandResult:
    """WAR-3, WAR-4: the engineer's findings at the unit, which intake's warranty decision
    consumes."""

    async def decide(v: Visit, s: Scope) -> list[Event]:
        job = await s.store.job(v.ticket_id) or visit.Job(v.ticket_id)
        at_depot = job.service_mode == "depot"
        return [visit.decide_inspection(v, cmd, now=s.now, at_depot=at_depot)]

    return await _execute(ctx, cmd.ticket_id, decide)


async def record_consent(cmd: visit.RecordConsent, ctx: Ctx) -> CommandResult:
    """DSP-11 consent (a signature after a backup offer for disk work); DSP-10 an adult."""

    def decide(v: Visit, s: Scope) -> list[Event]:
        return [
            visit.decide_consent(
                v,
                fault_reproduced=cmd.fault_reproduced,
                disassembly=cmd.disassembly,
                disk_operation=cmd.disk_operation,
                backup_offered=cmd.backup_offered,
                signed_by=cmd.signed_by,
                adult_present=cmd.adult_present,
                now=s.now,
            )
        ]

    return await _execute(ctx, cmd.ticket_id, decide)


async def _warranty_known(s: Scope, ticket_id: str) -> visit.Job:
    """The job, once dispatch has intake's warranty decision on the visit's latest
    inspection (WAR-4: it may make the job chargeable, and a chargeable one waits for its
    quote, FEE-4); until then refused for now (409 `not_caught_up`, retry)."""
    job = await s.store.job(ticket_id) or visit.Job(ticket_id)
    if job.inspection_pending(await s.store.latest_inspection(ticket_id), s.now):
        raise NotCaughtUp(
            f"dispatch has not received intake's warranty decision on the inspection of"
            f" ticket {ticket_id} yet (WAR-4)"
        )
    return job


async def start_work(cmd: visit.StartWork, ctx: Ctx) -> CommandResult:
    """Work begins; a chargeable job only after its quote was accepted (DSP-11, FEE-4),
    and not before intake's warranty decision on the inspection (WAR-4)."""

    async def decide(v: Visit, s: Scope) -> list[Event]:
        job = await _warranty_known(s, v.ticket_id)
        return [
            visit.decide_work_start(
                v,
                chargeable=job.chargeable,
                quote_accepted=job.quote_accepted,
                quote_id=job.quote_id,
                now=s.now,
                at_depot=job.service_mode == "depot",
            )
        ]

    return await _execute(ctx, cmd.ticket_id, decide)


async def complete(cmd: visit.Complete, ctx: Ctx) -> CommandResult:
    """DSP-12: done, tested and signed for, the repair record filed (WAR-4, FEE-4: as work
    starts, once intake's warranty decision on the inspection is received)."""

    async def decide(v: Visit, s: Scope) -> list[Event]:
        job = await _warranty_known(s, v.ticket_id)
        return [
            visit.decide_completion(
                v,
                resolution=cmd.resolution,
                now=s.now,
                chargeable=job.chargeable,
                quote_accepted=job.quote_accepted,
                signed_by=cmd.signed_by,
                repair_record=cmd.repair_record,
                test_run_minutes=cmd.test_run_minutes,
                job_kind=job.job_kind or "repair",
                pack=s.pack,
                at_depot=job.service_mode == "depot",
            )
        ]

    return await _execute(ctx, cmd.ticket_id, decide)


async def carry_forward(cmd: visit.CarryForward, ctx: Ctx) -> CommandResult:
    """Partly done: the rest is carried forward to a new visit (book it next)."""

    def decide(v: Visit, s: Scope) -> list[Event]:
        return [visit.decide_carry_forward(v, done=cmd.done, remaining=cmd.remaining, now=s.now)]

    return await _execute(ctx, cmd.ticket_id, decide)


async def escalate(cmd: visit.Escalate, ctx: Ctx) -> CommandResult:
    """DSP-5: the dispatcher escalates the fault to technical support before the visit."""

    async def decide(v: Visit, s: Scope) -> list[Event]:
        job = await s.store.job(v.ticket_id)
        fault_kind = job.fault_kind if job else None
        fixed = bool(v.engineer_id) and await s.store.fixed_before(
            v.engineer_id or "", v.skill, fault_kind
        )
        escalated = visit.decide_escalation(
            s.pack,
            v,
            engineer_id=v.engineer_id,
            product_line=v.skill,
            fault_kind=fault_kind,
            fixed_before=fixed,
            now=s.now,
            manual_reason=cmd.reason,
        )
        return [escalated] if escalated is not None else []

    return await _execute(ctx, cmd.ticket_id, decide)


async def report_unreachable(cmd: visit.ReportUnreachable, ctx: Ctx) -> CommandResult:
    """DSP-8: a failed attempt: try later (the DSP-3 clock held) or go anyway."""

    def decide(v: Visit, s: Scope) -> list[Event]:
        return visit.decide_unreachable(
            s.pack, v, attempt_at=cmd.attempt_at, channel=cmd.channel, now=s.now
        )

    return await _execute(ctx, cmd.ticket_id, decide)


async def record_customer_reached(cmd: visit.RecordCustomerReached, ctx: Ctx) -> CommandResult:
    """DSP-8: the customer answered; the DSP-3 clock resumes with recomputed deadlines."""

    def decide(v: Visit, s: Scope) -> list[Event]:
        return [visit.decide_customer_reached(v, channel=cmd.channel, now=s.now)]

    return await _execute(ctx, cmd.ticket_id, decide)


# -- day plans: a region's day planned, committed, and new tickets inserted ------------------------

PLAN = commands.Stream("day plan", plan.fold)


async def _candidates(scope: Scope, region: str) -> list[plan.Candidate]:
    """The region's open tickets, each with its visit folded from its own stream and its
    DSP-3 deadlines by its own pack (the one its stream names)."""
    has_point = await scope.store.has_service_point(region)
    jobs = [job for job in await scope.store.region_jobs(region) if job.assignable]
    streams = await scope.uow.load_streams([job.ticket_id for job in jobs])
    found = []
    for job in jobs:
        history = streams[job.ticket_id]
        v = visit.fold(job.ticket_id, history)
        with deciding_with(commands.stream_policy(scope.uow, job.ticket_id)):
            pack = scope.pack
        deadlines = visit.job_deadlines(pack, job, service_point_exists=has_point, pauses=v.pauses)
        found.append(plan.Candidate(job, v, len(history), deadlines, pack))
    return found


@dataclass(frozen=True)
class _Day:
    pack: PolicyPack
    instance: Any
    left_out: dict[str, str]
    versions: dict[str, int]


async def _day(ctx: Ctx, cmd: plan.ProposeDayPlan) -> _Day:
    async def read(uow: Any) -> _Day:
        scope = _scope(ctx, uow)
        pack = scope.region_pack(cmd.region)
        candidates = await _candidates(scope, cmd.region)
        engineers = await scope.store.region_engineers(cmd.region)
        instance, left = plan.instance_for(pack, cmd.region, cmd.day, candidates, engineers)
        return _Day(pack, instance, left, {c.job.ticket_id: c.version for c in candidates})

    return await commands.in_unit(ctx.unit_of_work, read)


def _solve(instance: Any, travel: Any, budget: float) -> Plan:
    """The day plan within the budget; every hard constraint checked before it is shown."""
    if not instance.jobs or not instance.engineers:
        left = {j.job_id: "no engineer of the region is on shift" for j in instance.jobs}
        return Plan("none", {}, left)
    solved = plan_day(instance, travel, budget_seconds=budget, clock=time.monotonic)
    violations = checker.check(instance, solved, travel)
    if violations:
        found = "; ".join(f"{v.rule} {v.subject}: {v.message}" for v in violations[:5])
        raise Refused(f"the plan breaks hard constraints: {found}", rule_id=violations[0].rule)
    return solved


async def propose_day_plan(cmd: plan.ProposeDayPlan, ctx: Ctx) -> CommandResult:
    """DSP-1..6 for a region's day: read the tickets and the roster, solve off the event
    loop within the budget, and record `DayPlanProposed` (nothing is assigned yet)."""
    visibility.check(f"no region {cmd.region}", cmd.region)
    day = await _day(ctx, cmd)
    travel = plan.travel_model(ctx.settings.travel_kmh)
    budget = cmd.budget_seconds or plan.default_budget(len(day.instance.jobs))
    solved = await asyncio.to_thread(_solve, day.instance, travel, budget)
    stream = plan.plan_stream(cmd.region, cmd.day)

    def decide(state: plan.DayPlan, uow: Any) -> list[Event]:
        proposed = plan.decide_proposed(
            day.pack,
            state,
            day.instance,
            solved,
            left_out=day.left_out,
            versions=day.versions,
            travel=travel,
            budget_seconds=budget,
            now=uow.now(),
        )
        return [proposed]

    async def append(uow: Any) -> CommandResult:
        create = not await _exists(uow, stream)
        return await commands.run(uow, PLAN, stream, decide, create=create, data=_plan_data)

    return await commands.in_unit(ctx.unit_of_work, append)


def _plan_data(_: plan.DayPlan, events: Sequence[Event]) -> dict[str, Any]:
    proposed = events[0]
    figures = getattr(proposed, "figures", None)
    return {"plan_id": proposed.plan_id, "figures": figures.model_dump() if figures else None}


async def commit_day_plan(cmd: plan.CommitDayPlan, ctx: Ctx) -> CommandResult:
    """`DayPlanCommitted`, and per ticket only what changes (its own command path);
    tickets whose stream moved since the plan are skipped and named."""

    async def work(uow: Any) -> CommandResult:
        scope = _scope(ctx, uow)
        stream = plan.stream_of(cmd.plan_id)
        visibility.check(f"no day plan {cmd.plan_id}", cmd.plan_id.partition(":")[0])
        proposed = plan.to_commit(plan.fold(stream, await uow.load_stream(stream)), cmd.plan_id)
        changed: list[str] = []
        skipped: list[LeftOut] = []
        versions = plan.planned_versions(proposed)
        for route in proposed.routes:
            for stop in route.stops:
                slot = plan.slot_of(stop, route.engineer_id, proposed.plan_id)
                planned = versions.get(stop.ticket_id)
                why = await _commit_stop(scope, proposed.region, stop.ticket_id, planned, slot)
                if why is None:
                    continue
                if why:
                    skipped.append(LeftOut(ticket_id=stop.ticket_id, reason=why))
                else:
                    changed.append(stop.ticket_id)

        def decide(state: plan.DayPlan, u: Any) -> list[Event]:
            return [plan.decide_committed(state, cmd, changed, skipped, now=u.now())]

        result = await commands.run(uow, PLAN, stream, decide)
        data = {"plan_id": cmd.plan_id, "changed": changed, "skipped": len(skipped)}
        return replace(result, data=data)

    return await commands.in_unit(ctx.unit_of_work, work)


async def _commit_stop(
    scope: Scope, region: str, ticket_id: str, planned: int | None, slot: plan.Slot
) -> str | None:
    """'' when the ticket got events, None when nothing changed, else why it is skipped."""
    version = await scope.uow.stream_version(ticket_id)
    job = await scope.store.job(ticket_id)
    engineer = await scope.store.engineer(slot.engineer_id, ticket_id=ticket_id)
    why = plan.stale(planned, version) or plan.unfit(engineer, job, region, slot, scope.now)
    if why is not None or job is None or engineer is None:
        return why
    decide = _planned(job, engineer, slot)
    result = await on_visit(scope, ticket_id, decide, create=version == 0, region=job.region)
    return "" if result.events else None


async def _deadlines(s: Scope, job: visit.Job, v: Visit) -> visit.Deadlines:
    has_point = await s.store.has_service_point(job.region)
    return visit.job_deadlines(s.pack, job, service_point_exists=has_point, pauses=v.pauses)


def _planned(job: visit.Job, engineer: visit.Engineer, slot: plan.Slot) -> Decide:
    async def decide(v: Visit, s: Scope) -> list[Event]:
        return plan.decide_planned(
            s.pack,
            v,
            job,
            engineer,
            slot,
            deadlines=await _deadlines(s, job, v),
            confirm_by=visit.confirm_by(s.pack, job),
            now=s.now,
        )

    return decide


async def _inserted(scope: Scope, v: Visit, job: visit.Job, revisit: bool) -> list[Event] | None:
    """A new ticket of a region and day with a committed plan: placed into the day's
    bookings at its best feasible place; None (DSP-1's greedy rule decides) without a
    committed plan or a place."""
    if revisit or v.state not in (VisitState.NEW, VisitState.WAITING) or job.region is None:
        return None
    day = plan.day_of(job, scope.now, scope.region_pack(job.region))
    stream = plan.plan_stream(job.region, day)
    committed = plan.fold(stream, await scope.uow.load_stream(stream)).committed
    if committed is None:
        return None
    placed = await _place(scope, v, job, day, committed.plan_id)
    if placed is None:
        return None
    engineer, slot = placed
    return await _planned(job, engineer, slot)(v, scope)


async def _place(
    scope: Scope, v: Visit, job: visit.Job, day: date, plan_id: str
) -> tuple[visit.Engineer, plan.Slot] | None:
    """The insertion into the day's bookings as they stand (the committed plan, and the
    tickets inserted or cancelled since), never back to an engineer who released it."""
    region = job.region or ""
    day_pack = scope.region_pack(region)
    candidates = await _candidates(scope, region)
    others = [c for c in candidates if c.job.ticket_id != job.ticket_id]
    this = [c for c in candidates if c.job.ticket_id == job.ticket_id]
    new = plan.inserted_job(this[0], day, day_pack, scope.now) if this else None
    if new is None:
        return None
    engineers = await scope.store.region_engineers(region)
    instance, _ = plan.instance_for(day_pack, region, day, others, engineers)
    travel = plan.travel_model(scope.speed)
    day_plan = Insertion(instance, travel, plan.booked_plan(instance, travel, others))
    able = [e.engineer_id for e in instance.engineers if e.engineer_id not in v.released]
    placement = day_plan.insert(new, only=able)
    if placement is None:
        return None
    stop = next(s for s in day_plan.routes[placement.engineer_id].stops if s.job_id == new.job_id)
    slot = plan.slot_of_placement(scope.pack, instance, job, placement, stop.travel, plan_id)
    return next(e for e in engineers if e.engineer_id == placement.engineer_id), slot


# -- a held-up engineer's committed day (DSP-7 late, DSP-10 interrupted) -------------------------


async def _held_up(
    ctx: Ctx, result: CommandResult, made: Callable[[Visit, datetime], plan.RetimeDay | None]
) -> None:
    """After a delay or an interruption was recorded: his committed day re-timed, in a
    unit of its own, caused by the event that reported it."""
    if not result.events:
        return

    async def work(uow: Any) -> None:
        scope = _scope(ctx, uow)
        v = visit.fold(result.stream_id, await uow.load_stream(result.stream_id))
        cmd = made(v, scope.now)
        if cmd is not None:
            with commands.bound(commands.current_context().correlation_id, result.event_ids[-1]):
                await retime_day(cmd, scope)

    await commands.in_unit(ctx.unit_of_work, work)


async def retime_day(cmd: plan.RetimeDay, scope: Scope) -> plan.Retimed | None:
    """The later visits he cannot reach in their agreed windows go, each through its own
    command path, to a colleague who keeps the window; None without a committed plan."""
    late = await scope.store.job(cmd.ticket_id)
    if late is None or late.region is None or late.location is None:
        return None
    day_pack = scope.region_pack(late.region)
    day = cmd.free_at.astimezone(day_pack.zone).date()
    stream = plan.plan_stream(late.region, day)
    committed = plan.fold(stream, await scope.uow.load_stream(stream)).committed
    if committed is None:
        return None
    candidates = [
        c for c in await _candidates(scope, late.region) if c.job.ticket_id != cmd.ticket_id
    ]
    engineers = await scope.store.region_engineers(late.region)
    instance, _ = plan.instance_for(day_pack, late.region, day, candidates, engineers)
    travel = plan.travel_model(scope.speed)
    decided = plan.decide_retime(
        day_pack,
        instance,
        travel,
        candidates,
        cmd,
        origin=plan.point(late.location),
        plan_id=committed.plan_id,
        now=scope.now,
    )
    jobs = {c.job.ticket_id: c.job for c in candidates}
    by_id = {e.engineer_id: e for e in engineers}
    for move in decided.moves:
        job, engineer = jobs[move.ticket_id], by_id[move.slot.engineer_id]
        await on_visit(scope, move.ticket_id, _moved(job, engineer, move, cmd.engineer_id))
    if decided.moves or decided.kept:
        log.info(
            "day plan re-timed", rule=cmd.rule, plan_id=committed.plan_id, reason=decided.reason
        )
    return decided


def _moved(job: visit.Job, engineer: visit.Engineer, move: plan.Move, held_up: str) -> Decide:
    async def decide(v: Visit, s: Scope) -> list[Event]:
        return plan.decide_moved(
            s.pack,
            v,
            job,
            engineer,
            move,
            from_engineer=held_up,
            deadlines=await _deadlines(s, job, v),
            now=s.now,
        )

    return decide
