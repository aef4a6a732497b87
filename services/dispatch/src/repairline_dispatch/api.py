"""Dispatch's HTTP routes: the roster, service points, key accounts, appointments and the
engineer's app commands for the visit. Each route turns its body into one command, or
calls one view; refusals are answered by the platform (409, 404, 422)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query

from repairline_dispatch import commands, views
from repairline_dispatch.commands import Ctx
from repairline_dispatch.domain import visit, windows
from repairline_dispatch.permissions import may
from repairline_dispatch.schemas import (
    ArrivalIn,
    CommandDone,
    CommitPlanIn,
    CompletionIn,
    ConsentIn,
    DelayDone,
    DelayIn,
    EmptyIn,
    EngineerIn,
    EscalationIn,
    InspectionIn,
    InterruptionIn,
    KeyAccountIn,
    NotFoundIn,
    PartialIn,
    PartsIn,
    PlanDone,
    PlanIn,
    ReachedIn,
    ReasonIn,
    RescheduleIn,
    SearchIn,
    SearchOut,
    ServicePointIn,
    UnreachableIn,
    WindowIn,
)
from repairline_platform.asof import AS_OF_QUERY, as_of_moment
from repairline_platform.bounds import CalendarDate, Identifier, Region
from repairline_platform.commands import CommandResult
from repairline_platform.runtime import Runtime
from repairline_rules.refusals import InvalidInput

RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": "Dispatch has no such ticket."},
    409: {"description": "Illegal in the visit's current state (named in the answer)."},
    422: {"description": "Malformed, or a rule of the visit broken (rule id named)."},
}


PLAN_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": "Dispatch has no such plan."},
    409: {"description": "The plan is superseded or already committed (named)."},
    422: {"description": "Malformed (field named), or a hard constraint broken (rule named)."},
}


def done(result: CommandResult) -> dict[str, Any]:
    """A visit command's answer: the one result shape, with the first event's id."""
    return {**result.answer(), "event_id": result.event_ids[0]}


def routes(rt: Runtime, ctx_of: Callable[[Runtime], Ctx]) -> APIRouter:
    router = APIRouter(tags=["dispatch"])
    roster_routes(router, rt, ctx_of)
    visit_routes(router, rt, ctx_of)
    engineer_app_routes(router, rt, ctx_of)
    board_routes(router, rt, ctx_of)
    plan_routes(router, rt, ctx_of)
    desk_routes(router, rt, ctx_of)
    search_routes(router, rt, ctx_of)
    return router


def roster_routes(router: APIRouter, rt: Runtime, ctx_of: Callable[[Runtime], Ctx]) -> None:
    @router.put("/engineers/{engineer_id}", dependencies=[may("roster.change")])
    async def put_engineer(engineer_id: str, body: EngineerIn) -> dict[str, Any]:
        """Add or change an engineer: an EngineerRosterChanged event on stream
        `engineer:<id>` (the roster log); tickets waiting for such an engineer are assigned."""
        result = await commands.change_engineer(body.command(engineer_id), ctx_of(rt))
        return {**result.answer("stream_id"), "engineer_id": engineer_id, **body.model_dump()}

    @router.get("/engineers", dependencies=[may("roster.read")])
    async def list_engineers() -> list[dict[str, Any]]:
        """The roster with each engineer's open jobs."""
        return await views.engineers(rt.pool)

    @router.get("/engineers/{engineer_id}/schedule", dependencies=[may("schedule.read")])
    async def schedule(engineer_id: str) -> list[dict[str, Any]]:
        """The engineer's active appointments, in order."""
        return await views.schedule(rt.pool, engineer_id)

    @router.get("/roster-log", dependencies=[may("roster.read")])
    async def roster_log(
        subject: str | None = Query(default=None, examples=["engineer:eng-hz-01"]),
    ) -> list[dict[str, Any]]:
        """Changes to engineers and service points, oldest first: a projection of the
        roster events (subject: `engineer:<id>` or `service-point:<id>`)."""
        return await views.roster_log(rt.pool, subject)

    @router.put("/service-points/{service_point_id}", dependencies=[may("roster.change")])
    async def put_service_point(service_point_id: str, body: ServicePointIn) -> dict[str, Any]:
        """Add or change a service point (a ServicePointChanged event on stream
        `service-point:<id>`); DSP-3 visit commitments need one (water-heater)."""
        cmd = body.command(service_point_id)
        result = await commands.change_service_point(cmd, ctx_of(rt))
        answer = {"service_point_id": service_point_id, **body.model_dump(mode="json")}
        return {**result.answer("stream_id"), **answer}

    @router.get("/service-points", dependencies=[may("roster.read")])
    async def list_service_points() -> list[dict[str, Any]]:
        """The service points with their region and city tier."""
        return await views.service_points(rt.pool)

    @router.put("/key-accounts/{key_account_id}", dependencies=[may("key_account.change")])
    async def put_key_account(key_account_id: str, body: KeyAccountIn) -> dict[str, Any]:
        """DSP-13: a key account (a KeyAccountChanged event on stream `key-account:<id>`);
        its tickets carry its id from intake."""
        result = await commands.change_key_account(body.command(key_account_id), ctx_of(rt))
        return {**result.answer("stream_id"), "key_account_id": key_account_id, **body.model_dump()}

    @router.get("/key-accounts/{key_account_id}/file", dependencies=[may("key_account.read")])
    async def maintenance_file(key_account_id: str) -> dict[str, Any]:
        """DSP-13: the maintenance file: repair history and failure rate."""
        return await views.maintenance_file(rt.pool, key_account_id)


def visit_routes(router: APIRouter, rt: Runtime, ctx_of: Callable[[Runtime], Ctx]) -> None:
    post = {"response_model": CommandDone, "responses": RESPONSES}

    @router.post("/tickets/{ticket_id}/appointment", **post, dependencies=[may("appointment.book")])
    async def book(ticket_id: str, body: WindowIn) -> dict[str, Any]:
        """DSP-2: book the window agreed with the customer, confirmed by INT-6's deadline."""
        return done(await commands.book_visit(body.command(ticket_id), ctx_of(rt)))

    @router.post("/tickets/{ticket_id}/reschedule", **post, dependencies=[may("appointment.book")])
    async def reschedule(ticket_id: str, body: RescheduleIn) -> dict[str, Any]:
        """DSP-2: a new window with a reason, always shown to the dispatcher; refused by the
        customer, the job goes back for another engineer (DSP-1)."""
        return done(await commands.reschedule(body.command(ticket_id), ctx_of(rt)))

    @router.post(
        "/tickets/{ticket_id}/reassignment", **post, dependencies=[may("assignment.change")]
    )
    async def reassign(ticket_id: str, body: ReasonIn) -> dict[str, Any]:
        """DSP-1: the dispatcher takes the job back and gives it to another engineer."""
        return done(await commands.reassign(body.command(ticket_id), ctx_of(rt)))

    @router.post("/tickets/{ticket_id}/escalation", **post, dependencies=[may("assignment.change")])
    async def escalation(ticket_id: str, body: EscalationIn) -> dict[str, Any]:
        """DSP-5: the dispatcher escalates the fault to technical support before the visit
        (dispatch does so itself on assignment when the engineer never fixed such a fault)."""
        return done(await commands.escalate(body.command(ticket_id), ctx_of(rt)))

    @router.post(
        "/tickets/{ticket_id}/customer-unreachable", **post, dependencies=[may("contact.record")]
    )
    async def unreachable(ticket_id: str, body: UnreachableIn) -> dict[str, Any]:
        """DSP-8: an attempt to reach the customer failed: try again later (the DSP-3 clock
        is held), or go to the address anyway and report to the coordinator when waiting
        would make the engineer late; the standard SMS where the pack sends it. The
        appointment is kept as promised."""
        return done(await commands.report_unreachable(body.command(ticket_id), ctx_of(rt)))

    @router.post(
        "/tickets/{ticket_id}/customer-reached", **post, dependencies=[may("contact.record")]
    )
    async def reached(ticket_id: str, body: ReachedIn) -> dict[str, Any]:
        """DSP-8: the customer answered; the DSP-3 clock resumes with recomputed deadlines."""
        cmd = body.command(ticket_id)
        return done(await commands.record_customer_reached(cmd, ctx_of(rt)))


def engineer_app_routes(router: APIRouter, rt: Runtime, ctx_of: Callable[[Runtime], Ctx]) -> None:
    post = {"response_model": CommandDone, "responses": RESPONSES}

    @router.post("/tickets/{ticket_id}/departure", **post, dependencies=[may("visit.report")])
    async def departure(ticket_id: str, body: EmptyIn) -> dict[str, Any]:
        """DSP-6: the engineer leaves for the customer (late if after the planned time)."""
        return done(await commands.depart(visit.Depart(ticket_id), ctx_of(rt)))

    @router.post(
        "/tickets/{ticket_id}/delay",
        response_model=DelayDone,
        responses=RESPONSES,
        dependencies=[may("visit.report")],
    )
    async def delay(ticket_id: str, body: DelayIn) -> dict[str, Any]:
        """DSP-7: the engineer will be late; the notice is checked and the answer says
        whether it came in time (too late is recorded); with an agreed new window the
        appointment is rescheduled."""
        return done(await commands.report_delay(body.command(ticket_id), ctx_of(rt)))

    @router.post("/tickets/{ticket_id}/arrival", **post, dependencies=[may("visit.report")])
    async def arrival(ticket_id: str, body: ArrivalIn) -> dict[str, Any]:
        """The assigned engineer is at the customer's address (ArrivedOnSite)."""
        return done(await commands.arrive(body.command(ticket_id), ctx_of(rt)))

    @router.post(
        "/tickets/{ticket_id}/customer-not-found", **post, dependencies=[may("visit.report")]
    )
    async def not_found(ticket_id: str, body: NotFoundIn) -> dict[str, Any]:
        """DSP-9: nobody answered; after the wait the note is left and the visit rebooked."""
        cmd = body.command(ticket_id)
        return done(await commands.report_customer_not_found(cmd, ctx_of(rt)))

    @router.post("/tickets/{ticket_id}/parts", **post, dependencies=[may("visit.report")])
    async def parts(ticket_id: str, body: PartsIn) -> dict[str, Any]:
        """DSP-4: part needed, backordered (customer told), arrived (visit rebooked, at once
        with `new_window`) or wrong on site (fetched now or a new visit)."""
        return done(await commands.report_part(body.command(ticket_id), ctx_of(rt)))

    @router.post("/tickets/{ticket_id}/interruption", **post, dependencies=[may("visit.report")])
    async def interruption(ticket_id: str, body: InterruptionIn) -> dict[str, Any]:
        """DSP-10: an urgent job came in; the urgent job is reassigned if this engineer
        had it."""
        return done(await commands.interrupt(body.command(ticket_id), ctx_of(rt)))

    @router.post("/tickets/{ticket_id}/inspection", **post, dependencies=[may("visit.report")])
    async def inspection(ticket_id: str, body: InspectionIn) -> dict[str, Any]:
        """WAR-3, WAR-4: what the engineer finds at the unit (supply voltage, wiring,
        misuse, an unauthorised repair, the card and invoice seen); intake decides the
        warranty on it, keeping the recorded proof the inspection does not state."""
        return done(await commands.record_inspection(body.command(ticket_id), ctx_of(rt)))

    @router.post("/tickets/{ticket_id}/consent", **post, dependencies=[may("visit.report")])
    async def consent(ticket_id: str, body: ConsentIn) -> dict[str, Any]:
        """DSP-11: fault reproduced, disassembly and disk work consented (signature after a
        backup offer); DSP-10: only an adult consents."""
        return done(await commands.record_consent(body.command(ticket_id), ctx_of(rt)))

    @router.post("/tickets/{ticket_id}/work-started", **post, dependencies=[may("visit.report")])
    async def work_started(ticket_id: str, body: EmptyIn) -> dict[str, Any]:
        """Work begins; a chargeable job only after its quote was accepted (DSP-11, FEE-4)."""
        return done(await commands.start_work(visit.StartWork(ticket_id), ctx_of(rt)))

    @router.post("/tickets/{ticket_id}/completion", **post, dependencies=[may("visit.report")])
    async def completion(ticket_id: str, body: CompletionIn) -> dict[str, Any]:
        """DSP-12: done, tested and signed for, the repair record filed (RepairCompleted)."""
        return done(await commands.complete(body.command(ticket_id), ctx_of(rt)))

    @router.post(
        "/tickets/{ticket_id}/partial-completion", **post, dependencies=[may("visit.report")]
    )
    async def partial(ticket_id: str, body: PartialIn) -> dict[str, Any]:
        """Partly done: the rest is carried forward to a new visit (book it next)."""
        return done(await commands.carry_forward(body.command(ticket_id), ctx_of(rt)))


def board_routes(router: APIRouter, rt: Runtime, ctx_of: Callable[[Runtime], Ctx]) -> None:
    @router.get("/tickets/{ticket_id}", dependencies=[may("board.read")])
    async def board(
        ticket_id: str, as_of: str | None = Query(None, **AS_OF_QUERY)
    ) -> dict[str, Any]:
        """The visit as the dispatcher sees it, with its reschedules and alerts; with
        `as_of`, as it stood then (folded from its events up to that time)."""
        if as_of is None:
            return await views.board(rt.pool, ticket_id)
        moment = as_of_moment(as_of, rt.clock.now())
        return await views.board_as_of(rt.pool, ticket_id, moment)

    @router.get("/tickets/{ticket_id}/received", dependencies=[may("board.read")])
    async def received(ticket_id: str) -> dict[str, Any]:
        """What dispatch has received of the ticket from intake and billing, as its
        commands read it: chargeable, the quote and the customer's answer (FEE-4, DSP-11),
        holds in force, closed; the visit's latest inspection (`inspection_id`, which a
        quote names) and whether intake's warranty decision on it is still awaited
        (`warranty_pending`, WAR-4). A completion refused for want of an accepted quote
        that billing shows as accepted is waiting for `quote_state` here; one refused as
        `not_caught_up` after an inspection, for `warranty_pending` to be false."""
        return await views.received(rt.pool, ticket_id, rt.clock.now())

    @router.get("/board", dependencies=[may("board.read")])
    async def board_of_day(
        day: Annotated[CalendarDate, Query(examples=["2026-11-24"])],
        region: Annotated[Region | None, Query()] = None,
    ) -> list[dict[str, Any]]:
        """A region's day on the board: the visits booked that day (in the time zone of the
        region's pack) and the jobs still waiting for an engineer or a time, with their
        reason."""
        zone = ctx_of(rt).regions.of(region, rt.clock.now()).zone
        start = datetime.combine(day, time(0), zone)
        return await views.board_day(rt.pool, region, start, start + timedelta(days=1))

    @router.get("/alerts", dependencies=[may("alerts.read")])
    async def alerts(
        kind: Annotated[views.AlertKind | None, Query(examples=["sla_breached"])] = None,
        ticket_id: Identifier | None = None,
        limit: int = Query(default=200, ge=1, le=5000),
    ) -> list[dict[str, Any]]:
        """The dispatcher's alerts: unassignable jobs, SLA, lateness, missed appointments,
        reschedules, newest first; of one kind, of one ticket."""
        return await views.alerts(rt.pool, kind.value if kind else None, limit, ticket_id)


def plan_routes(router: APIRouter, rt: Runtime, ctx_of: Callable[[Runtime], Ctx]) -> None:
    post = {"response_model": PlanDone, "responses": PLAN_RESPONSES}

    @router.post("/plans", **post, dependencies=[may("plan.change")])
    async def propose(body: PlanIn) -> dict[str, Any]:
        """DSP-1..6 for a region's day: the solver plans the open tickets on the engineers'
        shifts (skills, hours and lunch, agreed windows, capacity, parts, the arrival
        margin) and records `DayPlanProposed` for review; nothing is assigned yet."""
        result = await commands.propose_day_plan(body.command(), ctx_of(rt))
        return result.answer("plan_stream")

    @router.get("/plans/{plan_id}", dependencies=[may("plan.read")])
    async def show(plan_id: str) -> dict[str, Any]:
        """A day plan: routes per engineer, unplanned tickets with the reasons, travel and
        DSP-3 misses; once committed, the tickets changed and those skipped."""
        return await views.day_plan(rt.pool, plan_id)

    @router.post("/plans/{plan_id}/commit", **post, dependencies=[may("plan.change")])
    async def commit(plan_id: str, body: CommitPlanIn) -> dict[str, Any]:
        """`DayPlanCommitted`; each ticket whose engineer or booking changes gets the usual
        `EngineerAssigned` / `AppointmentScheduled`. A booked ticket keeps its agreed window;
        a ticket changed since the plan is skipped and named; 409 when the plan is
        superseded by a later one of its day or already committed."""
        result = await commands.commit_day_plan(body.command(plan_id), ctx_of(rt))
        return result.answer("plan_stream")


def desk_routes(router: APIRouter, rt: Runtime, ctx_of: Callable[[Runtime], Ctx]) -> None:
    """What the console's desks ask besides the board: release, free windows, report."""

    @router.post(
        "/tickets/{ticket_id}/release",
        response_model=CommandDone,
        responses=RESPONSES,
        dependencies=[may("assignment.change")],
    )
    async def release(ticket_id: str, body: ReasonIn) -> dict[str, Any]:
        """DSP-1: the dispatcher takes an assigned job back from its engineer to his queue
        (`EngineerReleased`, then `AssignmentWaiting` with his reason); nobody is assigned
        until the roster changes. 409 unless the job is assigned."""
        return done(await commands.release(body.release(ticket_id), ctx_of(rt)))

    @router.get("/windows", dependencies=[may("windows.read")])
    async def free_windows(
        region: Region,
        product_line: Annotated[Identifier, Query(examples=["instant_water_heater"])],
        from_: Annotated[
            CalendarDate | None, Query(alias="from", description="First local day (today).")
        ] = None,
        days: Annotated[int, Query(ge=1, le=14, description="Days to look through.")] = 7,
        minutes: Annotated[int, Query(ge=30, le=480, description="Window length.")] = 60,
        limit: Annotated[int, Query(ge=1, le=20)] = 5,
    ) -> dict[str, Any]:
        """DSP-1/DSP-2: the next free visit windows in a region for a product line, in
        time order: an engineer with the skill is on duty (his hours, else the pack's
        business hours, holidays and make-up days), under his capacity and clear of his
        other appointments with travel; not before the pack's lead days. Each window
        says how many engineers could take it. The caller's regions only."""
        now, ctx = rt.clock.now(), ctx_of(rt)
        first = from_ or now.astimezone(ctx.regions.of(region, now, product_line).zone).date()
        search = windows.Search(region, product_line, first, days, minutes, limit)
        speed = ctx.settings.travel_kmh
        return await views.free_windows(rt.pool, ctx.regions, search, now=now, speed=speed)

    @router.get("/reports/visits", dependencies=[may("report.read")])
    async def visit_report(
        from_: Annotated[CalendarDate, Query(alias="from", description="First local day.")],
        to: Annotated[CalendarDate, Query(description="Last local day (included).")],
        region: Region | None = None,
    ) -> dict[str, Any]:
        """Per region and week (its Monday, in the time zone of the region's pack; the
        default pack's without a region): visits made, those on time (arrived by the end
        of the agreed window, DSP-2/DSP-6), appointments missed (PEN-7) and SLA deadlines
        breached (DSP-3). At most 366 days; the caller's regions."""
        if to < from_:
            raise InvalidInput("to", "before from")
        if (to - from_).days > 366:
            raise InvalidInput("to", "more than 366 days after from")
        pack = ctx_of(rt).regions.of(region, rt.clock.now())
        rows = await views.visit_report(rt.pool, pack.zone, from_, to, region)
        return {"time_zone": pack.timezone, "from": from_, "to": to, "weeks": rows}


def search_routes(router: APIRouter, rt: Runtime, ctx_of: Callable[[Runtime], Ctx]) -> None:
    """DSP-9: the engineer's search for a customer who does not open, before 'not found'."""

    @router.post(
        "/tickets/{ticket_id}/customer-search",
        response_model=CommandDone,
        responses=RESPONSES,
        dependencies=[may("visit.report")],
    )
    async def search(ticket_id: str, body: SearchIn) -> dict[str, Any]:
        """DSP-9: the engineer on site knocked, or phoned the customer (a call before the
        pack's minutes after arrival is refused, 422 naming `step`)."""
        return done(await commands.record_search(body.command(ticket_id), ctx_of(rt)))

    @router.get(
        "/tickets/{ticket_id}/customer-search",
        response_model=SearchOut,
        responses=RESPONSES,
        dependencies=[may("visit.report")],
    )
    async def searched(ticket_id: str, at_business: bool = Query(default=False)) -> Any:
        """DSP-9: the knocks, the phone call and the wait the pack asks before 'customer
        not found', what the engineer recorded and what is still missing."""
        return await commands.search_checklist(ticket_id, at_business, ctx_of(rt))
