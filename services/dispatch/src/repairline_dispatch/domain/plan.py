"""A region's day plan (DSP-1..6 for a whole day): the aggregate on `plan:<region>:<date>`.

A proposal (`DayPlanProposed`) is what the solver made of the region's open tickets and
its engineers' shifts; a commit (`DayPlanCommitted`) turns it into the tickets' usual
`EngineerAssigned` / `AppointmentScheduled`, only where the engineer or the booking
changes. This module is pure: it builds the planning instance from dispatch's facts,
decides the plan's events and the events a committed or inserted stop gives a ticket.

Choices the dispatcher can rely on:

- a ticket already booked keeps its engineer and its agreed window (DSP-2): the plan
  pins it, so committing never moves a customer; one the plan cannot keep is listed
  unplanned and left as booked;
- a ticket whose stream moved since the proposal (cancelled, reassigned, booked by hand)
  is skipped at commit with the reason; the rest of the plan is committed;
- a new ticket of a region and day with a committed plan is inserted into that day's
  bookings (`repairline_planning.insertion`); without one, DSP-1's greedy rule decides;
- an engineer held up on a committed day (DSP-7 late, DSP-10 interrupted) keeps the
  later visits he can still reach; the others go by insertion to a colleague who keeps
  the same agreed window, or stay his when nobody can.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from repairline_contracts.base import Decision, Event
from repairline_contracts.dispatch import (
    AppointmentScheduled,
    DayPlanCommitted,
    DayPlanProposed,
    EngineerAssigned,
    LeftOut,
    PlanFigures,
    PlannedRoute,
    PlannedStop,
    TicketVersion,
)
from repairline_contracts.intake import GeoPoint
from repairline_dispatch.domain.roster import Engineer
from repairline_dispatch.domain.visit import (
    Appointment,
    Deadlines,
    Job,
    Visit,
    VisitState,
    decide_reassignment,
)
from repairline_dispatch.domain.visit import evolve as evolve_visit
from repairline_planning import model as pm
from repairline_planning.insertion import Insertion, Placement
from repairline_planning.plan import Plan, build_plan
from repairline_planning.proposal import OFFERED_WINDOW, proposal
from repairline_planning.schedule import arrival, service_start
from repairline_planning.travel import SpeedModel, TravelModel
from repairline_rules import dispatch as rules
from repairline_rules.packs import PolicyPack
from repairline_rules.refusals import IllegalTransition, InvalidInput, NotFound

DEFAULT_DURATION = 60 * pm.MINUTE
DAY_CAPACITY = 10
LUNCH = pm.Window(12 * pm.HOUR, 13 * pm.HOUR)
WHOLE_DAY = pm.Window(0, 24 * pm.HOUR - 1)
MAX_BUDGET_SECONDS = 60.0
PLANNABLE = frozenset(
    {VisitState.NEW, VisitState.WAITING, VisitState.ASSIGNED, VisitState.NEEDS_REBOOKING}
)
RULES = ("DSP-1", "DSP-2", "DSP-3", "DSP-4", "DSP-5", "DSP-6")


# -- commands ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProposeDayPlan:
    region: str
    day: date
    budget_seconds: float | None = None


@dataclass(frozen=True)
class CommitDayPlan:
    plan_id: str
    committed_by: str


def plan_stream(region: str, day: date) -> str:
    return f"plan:{region}:{day.isoformat()}"


def stream_of(plan_id: str) -> str:
    """`<region>:<date>:<n>` -> `plan:<region>:<date>`."""
    head, _, n = plan_id.rpartition(":")
    region, _, day = head.rpartition(":")
    if not (region and n.isdigit() and _is_date(day)):
        raise InvalidInput("plan_id", f"{plan_id!r} is not <region>:<date>:<n>")
    return f"plan:{head}"


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def default_budget(jobs: int) -> float:
    """The time a dispatcher waits: 10 s for a region's day, 60 s above 500 jobs."""
    return 60.0 if jobs > 500 else 10.0


# -- the aggregate -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DayPlan:
    stream_id: str
    proposals: int = 0
    latest: DayPlanProposed | None = None
    committed: DayPlanProposed | None = None


def evolve(state: DayPlan, event: Event) -> DayPlan:
    match event:
        case DayPlanProposed():
            return replace(state, proposals=state.proposals + 1, latest=event)
        case DayPlanCommitted() if state.latest and state.latest.plan_id == event.plan_id:
            return replace(state, committed=state.latest)
    return state


def fold(stream_id: str, events: Iterable[Event]) -> DayPlan:
    state = DayPlan(stream_id)
    for event in events:
        state = evolve(state, event)
    return state


def to_commit(state: DayPlan, plan_id: str) -> DayPlanProposed:
    """The proposal to commit: the latest of its day, not committed yet."""
    latest = state.latest
    if latest is None or state.proposals < int(plan_id.rpartition(":")[2] or 0):
        raise NotFound(f"no day plan {plan_id}")
    if latest.plan_id != plan_id:
        raise IllegalTransition(f"plan {plan_id} is superseded by {latest.plan_id}", "superseded")
    if state.committed is not None and state.committed.plan_id == plan_id:
        raise IllegalTransition(f"plan {plan_id} is already committed", "committed")
    return latest


# -- the instance --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A ticket of the region as dispatch holds it: its facts, its visit (folded from its
    stream, at `version`), its DSP-3 deadlines and the pack it is decided by (None: the
    day's)."""

    job: Job
    visit: Visit
    version: int
    deadlines: Deadlines
    pack: PolicyPack | None = None


def _seconds(at: datetime, day: date, pack: PolicyPack) -> int:
    local = at.astimezone(pack.zone)
    return int((local - datetime.combine(day, time(0), pack.zone)).total_seconds())


def _on_day(window: tuple[datetime, datetime], day: date, pack: PolicyPack) -> pm.Window | None:
    start, end = (_seconds(w, day, pack) for w in window)
    if end < 0 or start >= WHOLE_DAY.end:
        return None
    return pm.Window(max(start, 0), min(end, WHOLE_DAY.end))


def _pin(skill: str, engineer_id: str) -> str:
    """A booked job keeps its engineer: a skill only he has."""
    return f"{skill}@{engineer_id}"


def planning_job(c: Candidate, day: date, pack: PolicyPack) -> pm.Job | str | None:
    """The job to plan, why it is left out of this day, or None when it is not this
    day's (booked or preferred on another day, on site, over)."""
    job, v = c.job, c.visit
    if v.state is VisitState.AWAITING_PARTS:
        return "DSP-4: waiting for a part (booked again when it arrives)"
    if v.state not in PLANNABLE:
        return None
    if job.location is None or job.skill is None:
        return "no location or product line known"
    skill, agreed, window = job.skill, False, WHOLE_DAY
    if v.appointment is not None:
        booked = _on_day((v.appointment.start, v.appointment.end), day, pack)
        if booked is None:
            return None
        skill, agreed, window = _pin(job.skill, v.appointment.engineer_id), True, booked
    elif job.window is not None:
        window = _on_day(job.window, day, pack)
        if window is None:
            return None
    return pm.Job(
        job_id=job.ticket_id,
        location=pm.Point(job.location.lat, job.location.lon),
        skill=skill,
        duration=DEFAULT_DURATION,
        window=window,
        agreed=agreed,
        sla_due=_due(c.deadlines, day, pack),
    )


def _due(deadlines: Deadlines, day: date, pack: PolicyPack) -> int | None:
    """DSP-3 "on site by" when it falls on the day; one breached before the day is
    planned as any other (its timer has raised it), one due later is no constraint."""
    due = deadlines.visit_by
    if due is None or due.astimezone(pack.zone).date() != day:
        return None
    return _seconds(due, day, pack)


def _shift(e: Engineer, day: date) -> tuple[pm.Window, pm.Window] | None:
    """The engineer's hours that day and his lunch (the gap between two spans, or noon)."""
    spans = sorted((h for h in e.hours if h.applies(day)), key=lambda h: h.start_minute)
    if not spans or not e.active or e.home is None:
        return None
    shift = pm.Window(spans[0].start_minute * 60, spans[-1].end_minute * 60)
    if len(spans) > 1:
        return shift, pm.Window(spans[0].end_minute * 60, spans[1].start_minute * 60)
    lunch = LUNCH if shift.start <= LUNCH.start and LUNCH.end <= shift.end else None
    return shift, lunch or pm.Window(shift.start, shift.start)


def _engineer(e: Engineer, day: date, pins: set[str]) -> pm.Engineer | None:
    """An engineer on duty that day, with the skills of the jobs booked with him."""
    hours = _shift(e, day)
    if hours is None or e.home is None:
        return None
    return pm.Engineer(
        engineer_id=e.engineer_id,
        home=pm.Point(e.home.lat, e.home.lon),
        skills=frozenset(e.skills) | pins,
        shift=hours[0],
        lunch=hours[1],
        capacity=DAY_CAPACITY if e.capacity is None else e.capacity,
    )


def instance_for(
    pack: PolicyPack,
    region: str,
    day: date,
    candidates: Sequence[Candidate],
    engineers: Sequence[Engineer],
) -> tuple[pm.Instance, dict[str, str]]:
    """The region's day for the solver, and the tickets left out of it with the reason."""
    left: dict[str, str] = {}
    jobs: list[pm.Job] = []
    pins: dict[str, set[str]] = {}
    for c in candidates:
        made = planning_job(c, day, pack)
        if made is None or isinstance(made, str):
            if made is not None:
                left[c.job.ticket_id] = made
            continue
        jobs.append(made)
        if made.agreed and c.visit.appointment is not None:
            pins.setdefault(c.visit.appointment.engineer_id, set()).add(made.skill)
    on_duty = [_engineer(e, day, pins.get(e.engineer_id, set())) for e in engineers]
    on_shift = [e for e in on_duty if e is not None]
    margin = pack.dispatch.early_arrival_min_minutes * pm.MINUTE
    instance = pm.Instance(
        region, day, pack.timezone, tuple(jobs), tuple(on_shift), margin, pack_id=pack.id
    )
    return instance, left


def point(location: GeoPoint) -> pm.Point:
    return pm.Point(location.lat, location.lon)


def travel_model(kmh: float) -> SpeedModel:
    return SpeedModel(kmh=kmh)


def describe(travel: SpeedModel) -> str:
    park = travel.park_seconds // 60
    return f"speed {travel.kmh:g} km/h x{travel.detour:g} + {park} min"


# -- proposing -----------------------------------------------------------------------------------


def _stamp(pack: PolicyPack, *rule_ids: str) -> Decision:
    return Decision(pack_id=pack.id, pack_version=pack.version, rule_ids=tuple(rule_ids))


def decide_proposed(
    pack: PolicyPack,
    state: DayPlan,
    instance: pm.Instance,
    plan: Plan,
    *,
    left_out: dict[str, str],
    versions: dict[str, int],
    travel: SpeedModel,
    budget_seconds: float,
    now: datetime,
) -> DayPlanProposed:
    """The plan as the dispatcher reviews it, numbered in its day's stream."""
    content = proposal(instance, plan)
    routes = tuple(
        PlannedRoute(
            engineer_id=r["engineer_id"],
            travel_minutes=r["travel_minutes"],
            back_home=r["back_home"],
            stops=tuple(PlannedStop(ticket_id=s.pop("job_id"), **s) for s in r["stops"]),
        )
        for r in content["routes"]
    )
    unplanned = [LeftOut(ticket_id=u["job_id"], reason=u["reason"]) for u in content["unplanned"]]
    unplanned += [
        LeftOut(ticket_id=t, reason=f"DSP-1: not planned: {why}") for t, why in left_out.items()
    ]
    planned = [j.job_id for j in instance.jobs]
    return DayPlanProposed(
        ticket_id=state.stream_id,
        plan_id=f"{instance.region}:{instance.day.isoformat()}:{state.proposals + 1}",
        region=instance.region,
        date=instance.day.isoformat(),
        method=plan.method,
        budget_seconds=budget_seconds,
        travel_model=describe(travel),
        routes=routes,
        unplanned=tuple(sorted(unplanned, key=lambda u: u.ticket_id)),
        figures=PlanFigures(**content["figures"]),
        based_on=tuple(TicketVersion(ticket_id=t, version=versions[t]) for t in planned),
        pinned=tuple(sorted(j.job_id for j in instance.jobs if j.agreed)),
        proposed_at=now,
        decision=_stamp(pack, *RULES),
    )


# -- committing ----------------------------------------------------------------------------------


def stale(planned: int | None, version: int) -> str | None:
    """Why a ticket's stop is not committed: its stream moved since the plan."""
    if planned is None or planned == version:
        return None
    return f"stale: {version - planned} event(s) on the ticket since the plan"


def planned_versions(proposed: DayPlanProposed) -> dict[str, int]:
    return {b.ticket_id: b.version for b in proposed.based_on}


def unfit(
    engineer: Engineer | None, job: Job | None, region: str, slot: Slot, now: datetime
) -> str | None:
    """DSP-1, DSP-5 checked again at commit: the roster may have changed since the plan,
    and the planned hour may have passed."""
    if slot.window[1] <= now:
        return "the planned time has passed"
    if engineer is None or not engineer.active or engineer.region != region:
        return "the planned engineer is no longer on the region's roster"
    if job is None or job.skill not in engineer.skills:
        return f"DSP-5: {engineer.engineer_id} no longer has the skill"
    if not job.assignable:
        return "the ticket is held or closed"
    return None


@dataclass(frozen=True)
class Slot:
    """Where a plan (or the insertion) puts a ticket: engineer, window, travel, why."""

    engineer_id: str
    window: tuple[datetime, datetime]
    depart_by: datetime
    travel_minutes: int
    reason: str


def slot_of(stop: PlannedStop, engineer_id: str, plan_id: str) -> Slot:
    """A planned stop as the customer is told: arrival within an hour of the start."""
    window = (stop.start, stop.start + timedelta(seconds=OFFERED_WINDOW))
    why = f"day plan {plan_id}: {stop.reason}"
    return Slot(engineer_id, window, stop.depart_by, stop.travel_minutes, why)


def decide_planned(
    pack: PolicyPack,
    v: Visit,
    job: Job,
    engineer: Engineer,
    slot: Slot,
    *,
    deadlines: Deadlines,
    confirm_by: datetime | None,
    now: datetime,
) -> list[Event]:
    """Only what changes: the engineer if another, the booking if none (a booked visit is
    pinned to its engineer and agreed window, so it never moves)."""
    if v.state not in PLANNABLE:
        return []
    out: list[Event] = []
    if v.engineer_id != engineer.engineer_id:
        out.append(_assigned(pack, v, job, engineer, slot, deadlines, now))
    if v.appointment is None:
        out.append(_booked(pack, v, engineer, slot, confirm_by, now))
    return out


def _assigned(
    pack: PolicyPack,
    v: Visit,
    job: Job,
    e: Engineer,
    slot: Slot,
    deadlines: Deadlines,
    now: datetime,
) -> EngineerAssigned:
    made = deadlines.decision.rule_ids if deadlines.decision else ()
    return EngineerAssigned(
        ticket_id=v.ticket_id,
        engineer_id=e.engineer_id,
        region=job.region or "",
        skill=job.skill or "",
        open_jobs_before=e.open_jobs,
        reason=slot.reason,
        assigned_at=now,
        service_point_id=e.service_point_id,
        travel_minutes=slot.travel_minutes,
        visit_by=deadlines.visit_by,
        fix_by=deadlines.fix_by,
        repair_by=deadlines.repair_by,
        decision=_stamp(pack, *dict.fromkeys(("DSP-1", "DSP-5", *made))),
    )


def _booked(
    pack: PolicyPack,
    v: Visit,
    e: Engineer,
    slot: Slot,
    confirm_by: datetime | None,
    now: datetime,
) -> AppointmentScheduled:
    return AppointmentScheduled(
        ticket_id=v.ticket_id,
        appointment_id=f"{v.ticket_id}/{v.appointments_made + 1}",
        engineer_id=e.engineer_id,
        window_start=slot.window[0],
        window_end=slot.window[1],
        confirm_by=confirm_by,
        confirmed_in_time=confirm_by is None or now <= confirm_by,
        depart_by=slot.depart_by,
        travel_minutes=slot.travel_minutes,
        decision=_stamp(pack, "DSP-2", "INT-6", "DSP-6"),
        scheduled_at=now,
    )


def decide_committed(
    state: DayPlan,
    cmd: CommitDayPlan,
    changed: Sequence[str],
    skipped: Sequence[LeftOut],
    *,
    now: datetime,
) -> DayPlanCommitted:
    to_commit(state, cmd.plan_id)
    return DayPlanCommitted(
        ticket_id=state.stream_id,
        plan_id=cmd.plan_id,
        committed_by=cmd.committed_by,
        changed=tuple(changed),
        skipped=tuple(skipped),
        committed_at=now,
    )


# -- interactive insertion -------------------------------------------------------------------------


def day_of(job: Job, now: datetime, pack: PolicyPack) -> date:
    """The day a new ticket is for: its preferred times' day, else today."""
    at = job.window[0] if job.window is not None else now
    return at.astimezone(pack.zone).date()


def booked_plan(
    instance: pm.Instance, travel: TravelModel, candidates: Sequence[Candidate]
) -> Plan:
    """The committed day as it stands: every engineer's bookings of the day, in order."""
    planned = {j.job_id for j in instance.jobs if j.agreed}
    sequences: dict[str, list[tuple[datetime, str]]] = {}
    for c in candidates:
        a = c.visit.appointment
        if a is not None and c.job.ticket_id in planned:
            sequences.setdefault(a.engineer_id, []).append((a.start, c.job.ticket_id))
    ordered = {e: [t for _, t in sorted(s)] for e, s in sequences.items()}
    return build_plan(instance, travel, ordered, "committed")


def inserted_job(c: Candidate, day: date, pack: PolicyPack, now: datetime) -> pm.Job | None:
    """A new ticket for the insertion: the customer's preferred times are his agreed
    window (DSP-2, as DSP-1 books them); nothing starts before now."""
    made = planning_job(c, day, pack)
    if made is None or isinstance(made, str):
        return None
    earliest = max(made.window.start, _seconds(now, day, pack))
    if earliest > made.window.end:
        return None
    window = pm.Window(earliest, made.window.end)
    return replace(made, window=window, agreed=c.job.window is not None)


def slot_of_placement(
    pack: PolicyPack,
    instance: pm.Instance,
    job: Job,
    placement: Placement,
    travel_seconds: int,
    plan_id: str,
) -> Slot:
    start = instance.at(placement.start)
    window = job.window or (start, start + timedelta(seconds=OFFERED_WINDOW))
    minutes = round(travel_seconds / 60)
    departure = rules.plan_departure(pack, appointment_at=start, travel_minutes=minutes)
    why = (
        f"DSP-1: inserted into day plan {plan_id}: {placement.engineer_id} at stop"
        f" {placement.position + 1}, {placement.added_travel // 60} min added travel,"
        f" starts {pm.clock(placement.start)}"
    )
    return Slot(placement.engineer_id, window, departure.depart_by, minutes, why)


# -- a late engineer's day re-timed (DSP-7 delay, DSP-10 interruption) -----------------------------


@dataclass(frozen=True)
class RetimeDay:
    """An engineer of a committed day is held up at ``ticket_id`` (DSP-7 late, DSP-10
    interrupted on site) and is free to drive on at ``free_at``; his bookings from
    ``after`` on are the later visits of his day."""

    ticket_id: str
    engineer_id: str
    free_at: datetime
    rule: str
    after: datetime


def delayed(v: Visit, expected_arrival: datetime) -> RetimeDay | None:
    """DSP-7: free after the visit's service from the later of his arrival and its window."""
    a = v.appointment
    if a is None:
        return None
    done = max(expected_arrival, a.start) + timedelta(seconds=DEFAULT_DURATION)
    return RetimeDay(v.ticket_id, a.engineer_id, done, "DSP-7", a.start)


def interrupted(v: Visit, minutes_still_needed: int, now: datetime) -> RetimeDay | None:
    """DSP-10: free once the visit on site has the time it still needs."""
    if v.engineer_id is None:
        return None
    done = now + timedelta(minutes=minutes_still_needed)
    return RetimeDay(v.ticket_id, v.engineer_id, done, "DSP-10", v.arrived_at or now)


@dataclass(frozen=True)
class Move:
    ticket_id: str
    slot: Slot


@dataclass(frozen=True)
class Retimed:
    """The later visits moved to a colleague in their own window, and those kept."""

    moves: tuple[Move, ...]
    kept: tuple[str, ...]
    reason: str


def _unreachable(
    instance: pm.Instance,
    travel: TravelModel,
    engineer: pm.Engineer,
    route: Sequence[str],
    free: tuple[pm.Point, int],
) -> list[str]:
    """His later visits, driven in order from the place and time he is free, that cannot
    start inside their windows (one missed is left out and the next driven to instead)."""
    (place, clock), missed = free, []
    for job in (instance.job(t) for t in route):
        arrive = arrival(clock, travel.seconds(place, job.location), engineer.lunch)
        start = service_start(arrive, job, instance.margin, engineer.lunch)
        if start > job.latest or start + job.duration > engineer.shift.end:
            missed.append(job.job_id)
            continue
        clock, place = start + job.duration, job.location
    return missed


def decide_retime(
    pack: PolicyPack,
    instance: pm.Instance,
    travel: TravelModel,
    candidates: Sequence[Candidate],
    cmd: RetimeDay,
    *,
    origin: pm.Point,
    plan_id: str,
    now: datetime,
) -> Retimed:
    """DSP-7/DSP-10 on a committed day: the engineer's later bookings he can no longer
    reach in their agreed windows go, by insertion, to another able engineer who keeps the
    SAME window (no customer is moved without consent); one nobody can take stays his.
    `pack` is the day's (its time zone); a moved visit's departure is by its own pack."""
    day = Insertion(instance, travel, booked_plan(instance, travel, candidates))
    route = day.routes.get(cmd.engineer_id)
    visits = {c.job.ticket_id: c.visit for c in candidates}
    packs = {c.job.ticket_id: c.pack or pack for c in candidates}
    later = [s.job_id for s in route.stops if _later(visits[s.job_id], cmd)] if route else []
    free_at = _seconds(max(cmd.free_at, now), instance.day, pack)
    engineer = day.engineers.get(cmd.engineer_id)
    missed = _unreachable(instance, travel, engineer, later, (origin, free_at)) if engineer else []
    others = [e.engineer_id for e in instance.engineers if e.engineer_id != cmd.engineer_id]
    earliest = _seconds(now, instance.day, pack)
    moves, kept = [], []
    for ticket_id in missed:
        day.remove(ticket_id)
        job, a = instance.job(ticket_id), visits[ticket_id].appointment
        open_from = max(job.window.start, earliest)
        placed = None
        if a is not None and open_from <= job.window.end:
            skill = job.skill.rpartition("@")[0]
            free = replace(job, skill=skill, window=pm.Window(open_from, job.window.end))
            placed = day.insert(free, only=others)
        if placed is None or a is None:
            kept.append(ticket_id)
            continue
        slot = _moved_slot(packs[ticket_id], instance, day, placed, a, cmd, plan_id)
        moves.append(Move(ticket_id, slot))
    return Retimed(tuple(moves), tuple(kept), _retime_reason(cmd, moves, kept, plan_id))


def _later(v: Visit, cmd: RetimeDay) -> bool:
    a = v.appointment
    return v.ticket_id != cmd.ticket_id and a is not None and a.start >= cmd.after


def _moved_slot(
    pack: PolicyPack,
    instance: pm.Instance,
    day: Insertion,
    placed: Placement,
    booked: Appointment,
    cmd: RetimeDay,
    plan_id: str,
) -> Slot:
    stop = next(s for s in day.routes[placed.engineer_id].stops if s.job_id == placed.job_id)
    start, minutes = instance.at(placed.start), round(stop.travel / 60)
    departure = rules.plan_departure(pack, appointment_at=start, travel_minutes=minutes)
    why = (
        f"{cmd.rule}: {cmd.engineer_id} held up at {cmd.ticket_id} cannot reach it in its"
        f" window; moved within day plan {plan_id} to {placed.engineer_id} at stop"
        f" {placed.position + 1}, starts {pm.clock(placed.start)}, agreed window kept"
    )
    return Slot(placed.engineer_id, (booked.start, booked.end), departure.depart_by, minutes, why)


def _retime_reason(cmd: RetimeDay, moves: Sequence[Move], kept: Sequence[str], plan_id: str) -> str:
    moved = ", ".join(m.ticket_id for m in moves) or "none"
    stays = ", ".join(kept) or "none"
    return (
        f"{cmd.rule}: day plan {plan_id} re-timed for {cmd.engineer_id}: moved {moved};"
        f" kept (nobody else can keep the window, DSP-7 lateness notice applies) {stays}"
    )


def decide_moved(
    pack: PolicyPack,
    v: Visit,
    job: Job,
    engineer: Engineer,
    move: Move,
    *,
    from_engineer: str,
    deadlines: Deadlines,
    now: datetime,
) -> list[Event]:
    """Released from the held-up engineer (as a reassignment), given to the colleague and
    booked again in the very window the customer agreed; nothing if the visit moved on."""
    if v.state is not VisitState.ASSIGNED or v.engineer_id != from_engineer:
        return []
    if v.appointment is None or (v.appointment.start, v.appointment.end) != move.slot.window:
        return []
    released = decide_reassignment(v, reason=move.slot.reason, now=now)
    free = evolve_visit(v, released)
    return [
        released,
        _assigned(pack, free, job, engineer, move.slot, deadlines, now),
        _booked(pack, free, engineer, move.slot, None, now),
    ]
