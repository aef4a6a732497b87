"""The visit: a ticket as dispatch handles it, from assignment to the signed repair.

`evolve` folds a ticket's dispatch events into a `Visit`; each `decide_*` takes the
visit and the command's facts and returns the events to append, or raises a refusal
(`IllegalTransition` naming the state the visit is in, answered 409; `Refused` naming
the rule, answered 422). Pure: no I/O, no clock (times are passed in).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from functools import reduce
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from repairline_contracts.base import Decision, Event
from repairline_contracts.dispatch import (
    AppointmentRescheduled,
    AppointmentScheduled,
    ArrivedOnSite,
    AssignmentWaiting,
    ConsentRecorded,
    CustomerNotFound,
    CustomerReached,
    CustomerSearched,
    CustomerUnreachable,
    EngineerAssigned,
    EngineerDelayed,
    EngineerDeparted,
    EngineerReleased,
    EscalatedToTechnicalSupport,
    GoingToAddressAnyway,
    InspectionRecorded,
    LatenessNoticeDue,
    MissedAppointment,
    PartsArrived,
    PartsBackordered,
    PartsRequested,
    RepairCompleted,
    RepairRecord,
    RescheduleRefused,
    RevisitOpened,
    SlaDeadlineApproaching,
    SlaDeadlineBreached,
    SlaDeadlinesRecomputed,
    SlaPause,
    StandardSmsSent,
    VisitEndedWithoutRepair,
    VisitInterrupted,
    WorkCarriedForward,
    WorkStarted,
    WrongPartOnSite,
)
from repairline_contracts.intake import (
    GeoPoint,
    RemedyChosen,
    RepairRequested,
    RequestVerified,
    TicketCancelled,
    TicketClosed,
    VisitRequested,
    WarrantyDecided,
)
from repairline_dispatch.domain.roster import Engineer, fit, rank
from repairline_rules import dispatch as rules
from repairline_rules import triage
from repairline_rules.calendar import Pause
from repairline_rules.packs import DispatchSpec, PolicyPack
from repairline_rules.refusals import IllegalTransition, Refused
from repairline_rules.timers import Due
from repairline_rules.warranty import INSPECTION_DECISION_WAIT

# DSP-12: an installation job includes a test run; its length is the pack's setting, this
# the rulebook's number where no pack is given.
INSTALLATION_TEST_RUN_MINUTES = DispatchSpec.model_fields["installation_test_run_minutes"].default


class VisitState(StrEnum):
    NEW = "new"
    WAITING = "waiting_for_engineer"
    ASSIGNED = "assigned"
    EN_ROUTE = "en_route"
    ON_SITE = "on_site"
    IN_PROGRESS = "in_progress"
    AWAITING_PARTS = "awaiting_parts"
    NEEDS_REBOOKING = "needs_rebooking"
    COMPLETED = "completed"
    ENDED = "ended"


OPEN_STATES = frozenset(
    {
        VisitState.ASSIGNED,
        VisitState.EN_ROUTE,
        VisitState.ON_SITE,
        VisitState.IN_PROGRESS,
        VisitState.AWAITING_PARTS,
        VisitState.NEEDS_REBOOKING,
    }
)


@dataclass(frozen=True)
class Appointment:
    appointment_id: str
    engineer_id: str
    start: datetime
    end: datetime
    depart_by: datetime


@dataclass(frozen=True)
class Visit:
    """The ticket as dispatch sees it: a fold of dispatch's own events."""

    ticket_id: str
    state: VisitState = VisitState.NEW
    engineer_id: str | None = None
    region: str | None = None
    skill: str | None = None
    appointment: Appointment | None = None
    appointments_made: int = 0
    arrived_at: datetime | None = None
    released: frozenset[str] = frozenset()
    parts_replaced: tuple[str, ...] = ()
    consent: ConsentRecorded | None = None
    notice_given_for: frozenset[str] = frozenset()
    revisit_cases: frozenset[str] = frozenset()
    waiting_reason: str | None = None
    pauses: tuple[Pause, ...] = ()
    waiting_for: tuple[str, ...] = ()
    sla_version: int = 0
    escalated_for: frozenset[str] = frozenset()
    unreachable_attempts: int = 0
    sms_sent_for: frozenset[str] = frozenset()
    searched: tuple[CustomerSearched, ...] = ()

    @property
    def paused(self) -> bool:
        """DSP-3: the clock is held (waiting for parts or for the customer)."""
        return bool(self.pauses) and self.pauses[-1].end is None

    @property
    def paused_for(self) -> str | None:
        return self.waiting_for[-1] if self.paused else None


def _pause(visit: Visit, waiting_for: str, at: datetime) -> Visit:
    """DSP-3: hold the clock; one pause at a time (parts take over a customer wait)."""
    if visit.paused:
        return replace(visit, waiting_for=(*visit.waiting_for[:-1], waiting_for))
    return replace(
        visit,
        pauses=(*visit.pauses, Pause(start=at)),
        waiting_for=(*visit.waiting_for, waiting_for),
    )


def _resume(visit: Visit, waiting_for: str, at: datetime) -> Visit:
    if visit.paused_for != waiting_for:
        return visit
    last = visit.pauses[-1]
    end = max(at, last.start)
    return replace(visit, pauses=(*visit.pauses[:-1], Pause(start=last.start, end=end)))


def _appointment(event: AppointmentScheduled | AppointmentRescheduled) -> Appointment:
    return Appointment(
        event.appointment_id,
        event.engineer_id,
        event.window_start,
        event.window_end,
        event.depart_by,
    )


def evolve(visit: Visit, event: Event) -> Visit:
    match event:
        case AssignmentWaiting():
            return replace(
                visit,
                state=VisitState.WAITING,
                region=event.region,
                skill=event.skill,
                waiting_reason=visit.waiting_reason or event.reason,
            )
        case EngineerAssigned():
            return replace(
                visit,
                state=VisitState.ASSIGNED,
                engineer_id=event.engineer_id,
                region=event.region,
                skill=event.skill,
                appointment=None,
                arrived_at=None,
                consent=None,
            )
        case EngineerReleased():
            return replace(
                visit,
                state=VisitState.NEW,
                engineer_id=None,
                appointment=None,
                released=visit.released | {event.engineer_id},
                waiting_reason=None,  # an earlier wait's reason no longer applies
            )
        case AppointmentScheduled():
            return replace(
                visit,
                state=VisitState.ASSIGNED,
                appointment=_appointment(event),
                appointments_made=visit.appointments_made + 1,
                unreachable_attempts=0,
            )
        case AppointmentRescheduled():
            return replace(
                visit,
                appointment=_appointment(event),
                appointments_made=visit.appointments_made + 1,
                unreachable_attempts=0,
                state=VisitState.ASSIGNED
                if visit.state is VisitState.NEEDS_REBOOKING
                else visit.state,
            )
        case EngineerDeparted():
            return replace(visit, state=VisitState.EN_ROUTE)
        case EngineerDelayed():
            return replace(visit, notice_given_for=visit.notice_given_for | {event.appointment_id})
        case ArrivedOnSite():
            visit = _resume(visit, "customer", event.arrived_at)
            return replace(
                visit, state=VisitState.ON_SITE, arrived_at=event.arrived_at, searched=()
            )
        case CustomerSearched():
            return replace(visit, searched=(*visit.searched, event))
        case CustomerNotFound():
            return replace(visit, state=VisitState.NEEDS_REBOOKING, appointment=None)
        case PartsBackordered():
            visit = _pause(visit, "parts", event.backordered_at)
            return replace(visit, state=VisitState.AWAITING_PARTS, appointment=None)
        case PartsArrived():
            visit = _resume(visit, "parts", event.arrived_at)
            return replace(visit, state=VisitState.NEEDS_REBOOKING)
        case CustomerUnreachable():
            visit = replace(visit, unreachable_attempts=visit.unreachable_attempts + 1)
            if event.next_step == "try_again_later":
                return _pause(visit, "customer", event.recorded_at)
            return visit
        case GoingToAddressAnyway():
            return _resume(visit, "customer", event.decided_at)
        case CustomerReached():
            return _resume(visit, "customer", event.reached_at)
        case StandardSmsSent():
            return replace(visit, sms_sent_for=visit.sms_sent_for | {event.appointment_id})
        case SlaDeadlinesRecomputed():
            return replace(visit, sla_version=event.version)
        case EscalatedToTechnicalSupport():
            if event.engineer_id is None:
                return visit
            return replace(visit, escalated_for=visit.escalated_for | {event.engineer_id})
        case WrongPartOnSite():
            if event.fetch_now:
                return visit
            return replace(visit, state=VisitState.NEEDS_REBOOKING, appointment=None)
        case ConsentRecorded():
            return replace(visit, consent=event)
        case WorkStarted():
            return replace(visit, state=VisitState.IN_PROGRESS)
        case WorkCarriedForward():
            return replace(visit, state=VisitState.NEEDS_REBOOKING, appointment=None)
        case RepairCompleted():
            parts = event.repair_record.parts_replaced if event.repair_record else ()
            return replace(
                visit,
                state=VisitState.COMPLETED,
                appointment=None,
                parts_replaced=visit.parts_replaced + tuple(parts),
            )
        case VisitEndedWithoutRepair():
            return replace(visit, state=VisitState.ENDED, appointment=None)
        case RevisitOpened():
            return replace(
                visit,
                state=VisitState.NEW,
                engineer_id=None,
                appointment=None,
                revisit_cases=visit.revisit_cases | {event.case_id},
            )
    return visit


def fold(ticket_id: str, events: Iterable[Event]) -> Visit:
    return reduce(evolve, events, Visit(ticket_id))


def _stamp(pack: PolicyPack, *rule_ids: str) -> Decision:
    return Decision(pack_id=pack.id, pack_version=pack.version, rule_ids=tuple(rule_ids))


def _violation(rule_id: str, message: str, field: str | None = None) -> Refused:
    """A rule of the visit broken: answered 422 with the rule id (and the field, if one)."""
    details = {"field": field} if field is not None else {}
    return Refused(message, rule_id=rule_id, **details)


@dataclass(frozen=True)
class Deadlines:
    """DSP-3 deadlines of a ticket, decided from the pack."""

    visit_by: datetime | None = None
    fix_by: datetime | None = None
    repair_by: datetime | None = None
    decision: Decision | None = None


# The other contexts' facts dispatch copies and acts on; billing's are read by type
# (their classes are billing's).
INTAKE_FACTS = frozenset(
    cls.event_type
    for cls in (
        RepairRequested,
        RequestVerified,
        VisitRequested,
        RemedyChosen,
        WarrantyDecided,
        TicketClosed,
        TicketCancelled,
    )
)
QUOTE_ACCEPTED = "repairline.billing.QuoteAccepted"
QUOTE_REFUSED = "repairline.billing.QuoteRefused"


class Inspection(NamedTuple):
    """The visit's latest inspection (WAR-4): its event id and when it was recorded."""

    event_id: str
    recorded_at: datetime


@dataclass(frozen=True)
class Job:
    """What dispatch knows of a ticket from other contexts (intake's request, trimmed, and
    billing's quote): dispatch's own copy, kept by a projection of their events."""

    ticket_id: str
    region: str | None = None
    skill: str | None = None
    city_tier: str | None = None
    service_mode: str | None = None
    location: GeoPoint | None = None
    window: tuple[datetime, datetime] | None = None
    job_kind: str | None = None
    holds: tuple[str, ...] = ()
    requested_at: datetime | None = None
    chargeable: bool = False
    quote_id: str | None = None
    quote_state: str | None = None
    closed: bool = False
    fault_kind: str | None = None
    decided_causes: tuple[str, ...] = ()
    """What caused each warranty decision of intake received (event ids: an inspection's,
    for one)."""

    def inspection_pending(self, inspection: Inspection | None, now: datetime) -> bool:
        """WAR-4: intake's warranty decision on the inspection has not been received, on a
        ticket intake has not closed (it then decides nothing on an inspection), for at
        most `INSPECTION_DECISION_WAIT` after it."""
        return (
            inspection is not None
            and inspection.event_id not in self.decided_causes
            and not self.closed
            and now < inspection.recorded_at + INSPECTION_DECISION_WAIT
        )

    @property
    def assignable(self) -> bool:
        """Known, not held (INT-3, INT-5, WAR-6..9), not closed, its quote not refused."""
        return (
            self.region is not None
            and not self.holds
            and not self.closed
            and self.quote_state != "refused"
        )

    @property
    def quote_accepted(self) -> bool:
        return self.quote_state == "accepted"

    @property
    def central_city(self) -> bool:
        return self.city_tier in ("municipality", "provincial_capital")


def decide_assignment(
    visit: Visit,
    engineers: Sequence[Engineer],
    *,
    region: str,
    skill: str,
    now: datetime,
    window: tuple[datetime, datetime] | None = None,
    location: GeoPoint | None = None,
    deadlines: Deadlines | None = None,
    speed_kmh: float = 30.0,
    zone: ZoneInfo | None = None,
    revisit: bool = False,
) -> Event | None:
    """DSP-1: assign, or raise the alert that the ticket waits. None: nothing to do.

    Respects region, skills, capacity, working hours, the engineer's other
    appointments and the travel between jobs; records why the engineer was chosen and
    the DSP-3 deadlines the job is held to.
    """
    if visit.state not in (VisitState.NEW, VisitState.WAITING):
        return None
    deadlines = deadlines or Deadlines()
    zone = zone or ZoneInfo("UTC")
    able, unable = rank(
        engineers,
        region=region,
        skill=skill,
        window=window,
        location=location,
        exclude=visit.released,
        speed_kmh=speed_kmh,
        zone=zone,
    )
    if not able:
        if visit.state is VisitState.WAITING:
            return None
        if unable:
            reason = f"no engineer of region {region} with skill {skill} can take it: " + "; ".join(
                f"{f.engineer.engineer_id} {f.problem}" for f in unable
            )
        else:
            reason = f"no active engineer in region {region} with skill {skill}"
            if visit.released:
                reason += " other than " + ", ".join(sorted(visit.released))
        return AssignmentWaiting(
            ticket_id=visit.ticket_id, region=region, skill=skill, reason=reason, since=now
        )
    chosen = able[0]
    e = chosen.engineer
    if window is None and chosen.travel is None:
        reason = (
            f"DSP-1: fewest open jobs ({e.open_jobs}) among active engineers"
            f" of region {region} with skill {skill}"
        )
    else:
        parts = [f"DSP-1: region {region}, skill {skill}"]
        if window is not None:
            s, f_ = (w.astimezone(zone).strftime("%H:%M") for w in window)
            parts.append(f"free and on duty for {s}-{f_}")
        if chosen.travel is not None:
            parts.append(f"{chosen.travel} min travel at {speed_kmh:g} km/h")
        cap = f" of {e.capacity}" if e.capacity is not None else ""
        parts.append(f"{e.open_jobs}{cap} open jobs")
        if len(able) > 1:
            parts.append(f"best of {len(able)} able engineers")
        reason = "; ".join(parts)
    if deadlines.visit_by is not None:
        late = window is not None and window[0] > deadlines.visit_by
        note = " (the customer's window is later: the customer's choice)" if late else ""
        reason += f"; DSP-3 on site by {deadlines.visit_by.astimezone(zone):%Y-%m-%d %H:%M}{note}"
    made = deadlines.decision
    decision = (
        Decision(
            pack_id=made.pack_id, pack_version=made.pack_version, rule_ids=("DSP-1", *made.rule_ids)
        )
        if made is not None
        else None
    )
    return EngineerAssigned(
        ticket_id=visit.ticket_id,
        engineer_id=e.engineer_id,
        region=region,
        skill=skill,
        open_jobs_before=e.open_jobs,
        reason=reason,
        assigned_at=now,
        service_point_id=e.service_point_id,
        travel_minutes=chosen.travel,
        visit_by=deadlines.visit_by,
        fix_by=deadlines.fix_by,
        repair_by=deadlines.repair_by,
        revisit=revisit,
        decision=decision,
    )


def response_deadlines(
    pack: PolicyPack,
    *,
    received_at: datetime,
    central_city: bool,
    service_point_exists: bool,
    depot_line: str | None,
    pauses: Sequence[Pause] = (),
) -> Deadlines:
    """DSP-3: visit and fix deadlines; for a depot or return-to-factory repair, its own.
    Pauses (waiting for parts or the customer) move them by the time they held the clock."""
    try:
        d = rules.response_deadlines(
            pack,
            received_at=received_at,
            central_city=central_city,
            service_point_exists=service_point_exists,
            product_line=depot_line,
            arrived_at_factory=received_at if depot_line else None,
            pauses=pauses,
        )
    except ValueError:
        return Deadlines()
    if depot_line:
        return Deadlines(
            repair_by=d.depot_repair_by or d.factory_repair_by, decision=Decision.of(d)
        )
    return Deadlines(visit_by=d.visit_by, fix_by=d.fix_by, decision=Decision.of(d))


def job_deadlines(
    pack: PolicyPack, job: Job, *, service_point_exists: bool, pauses: Sequence[Pause] = ()
) -> Deadlines:
    """DSP-3 for a job: central city, a service point in the region, a depot line, and the
    pauses that held the clock."""
    if job.requested_at is None:
        return Deadlines()
    return response_deadlines(
        pack,
        received_at=job.requested_at,
        central_city=job.central_city,
        service_point_exists=service_point_exists,
        depot_line=job.skill if job.service_mode == "depot" else None,
        pauses=pauses,
    )


# -- appointments (DSP-2, DSP-6, INT-6) -------------------------------------------------------


def _need(visit: Visit, states: Iterable[VisitState], action: str) -> None:
    states = tuple(states)
    if visit.state not in states:
        raise IllegalTransition(
            f"{action} is not possible: the visit is {visit.state.value}", visit.state
        )


def decide_appointment(
    pack: PolicyPack,
    visit: Visit,
    engineer: Engineer,
    *,
    window: tuple[datetime, datetime],
    travel: int,
    confirm_by: datetime | None,
    now: datetime,
    speed_kmh: float = 30.0,
    location: GeoPoint | None = None,
    customer_window: bool = False,
) -> AppointmentScheduled:
    """DSP-2: a window at the customer's convenience, confirmed by the INT-6 deadline; the
    engineer must be on duty and free (with travel) then. DSP-6 plans the departure.
    Dispatch books at least the pack's lead days ahead; ``customer_window``: the window
    the customer asked for on the call, his own choice, is booked as asked."""
    _need(visit, (VisitState.ASSIGNED, VisitState.NEEDS_REBOOKING), "booking a visit")
    if visit.appointment is not None:
        raise IllegalTransition("the visit is already booked: reschedule it instead", visit.state)
    _check_window(window, now)
    if not customer_window:
        check_lead(pack, window, now)
    problem = fit(
        engineer,
        window=window,
        location=location,
        speed_kmh=speed_kmh,
        zone=pack.zone,
        new_job=False,  # the job is already his
    )
    if problem.problem is not None:
        raise IllegalTransition(
            f"engineer {engineer.engineer_id} is {problem.problem}: pick another window"
            " or reassign (DSP-1)",
            visit.state,
        )
    plan = rules.plan_departure(pack, appointment_at=window[0], travel_minutes=travel)
    in_time = confirm_by is None or now <= confirm_by
    return AppointmentScheduled(
        ticket_id=visit.ticket_id,
        appointment_id=f"{visit.ticket_id}/{visit.appointments_made + 1}",
        engineer_id=engineer.engineer_id,
        window_start=window[0],
        window_end=window[1],
        confirm_by=confirm_by,
        confirmed_in_time=in_time,
        depart_by=plan.depart_by,
        travel_minutes=travel,
        decision=_stamp(pack, "DSP-2", "INT-6", "DSP-6"),
        scheduled_at=now,
    )


def check_lead(pack: PolicyPack, window: tuple[datetime, datetime], now: datetime) -> None:
    """DSP-2: refuse a window earlier than the pack's `appointment_min_lead_days`."""
    lead = rules.appointment_lead(pack, window_start=window[0], now=now)
    if not lead.allowed:
        raise _violation(
            "DSP-2",
            f"the window's start is too early: {lead.reason}"
            f" (dispatch.appointment_min_lead_days = {lead.min_lead_days})",
            field="start",
        )


def _check_window(window: tuple[datetime, datetime], now: datetime) -> None:
    if window[1] <= window[0]:
        raise _violation("DSP-2", "the window must end after it starts")
    if window[1] <= now:
        raise _violation("DSP-2", "the window is already over")


def decide_reschedule(
    pack: PolicyPack,
    visit: Visit,
    engineer: Engineer,
    *,
    window: tuple[datetime, datetime],
    reason: str,
    requested_by: str,
    customer_consents: bool,
    travel: int,
    now: datetime,
    speed_kmh: float = 30.0,
    location: GeoPoint | None = None,
) -> list[Event]:
    """DSP-1, DSP-2: a new window with a reason, always reported to the dispatcher. If the
    customer refuses it, the job goes back to the dispatcher for another engineer."""
    _need(visit, (VisitState.ASSIGNED, VisitState.EN_ROUTE), "rescheduling")
    old = visit.appointment
    if old is None:
        raise IllegalTransition("there is no appointment to reschedule", visit.state)
    _check_window(window, now)
    assert visit.engineer_id is not None
    if not customer_consents:
        return [
            RescheduleRefused(
                ticket_id=visit.ticket_id,
                engineer_id=visit.engineer_id,
                proposed_start=window[0],
                proposed_end=window[1],
                reason=reason,
                refused_at=now,
            ),
            EngineerReleased(
                ticket_id=visit.ticket_id,
                engineer_id=visit.engineer_id,
                reason="DSP-1: the customer refused the new time; back to the dispatcher",
                released_at=now,
            ),
        ]
    check_lead(pack, window, now)
    problem = fit(
        engineer,
        window=window,
        location=location,
        speed_kmh=speed_kmh,
        zone=pack.zone,
        new_job=False,  # the job is already his
    )
    if problem.problem is not None:
        raise IllegalTransition(
            f"engineer {engineer.engineer_id} is {problem.problem} in the new window", visit.state
        )
    plan = rules.plan_departure(pack, appointment_at=window[0], travel_minutes=travel)
    return [
        AppointmentRescheduled(
            ticket_id=visit.ticket_id,
            appointment_id=f"{visit.ticket_id}/{visit.appointments_made + 1}",
            previous_appointment_id=old.appointment_id,
            engineer_id=visit.engineer_id,
            previous_start=old.start,
            previous_end=old.end,
            window_start=window[0],
            window_end=window[1],
            reason=reason,
            requested_by=requested_by,
            depart_by=plan.depart_by,
            dispatcher_notified=True,
            rescheduled_at=now,
        )
    ]


# -- the engineer's app ---------------------------------------------------------------------


def decide_departure(visit: Visit, *, now: datetime) -> EngineerDeparted:
    """DSP-6: departure; late when after the planned latest departure."""
    _need(visit, (VisitState.ASSIGNED,), "departure")
    assert visit.engineer_id is not None
    depart_by = visit.appointment.depart_by if visit.appointment else None
    return EngineerDeparted(
        ticket_id=visit.ticket_id,
        engineer_id=visit.engineer_id,
        departed_at=now,
        depart_by=depart_by,
        late=depart_by is not None and now > depart_by,
    )


def decide_delay(
    pack: PolicyPack,
    visit: Visit,
    *,
    expected_arrival: datetime,
    cause: str | None,
    now: datetime,
) -> EngineerDelayed:
    """DSP-7: the notice owed for the delay; given now, it is late if now is past its time."""
    _need(visit, (VisitState.ASSIGNED, VisitState.EN_ROUTE), "reporting a delay")
    appointment = visit.appointment
    if appointment is None:
        raise IllegalTransition("there is no appointment to be late for", visit.state)
    decided = rules.lateness_notice(
        pack,
        appointment_at=appointment.start,
        expected_arrival=expected_arrival,
        known_at=now,
        cause=cause,
    )
    return EngineerDelayed(
        ticket_id=visit.ticket_id,
        engineer_id=appointment.engineer_id,
        appointment_id=appointment.appointment_id,
        expected_arrival=expected_arrival,
        cause=cause,
        notice=decided.notice,
        delay_minutes=decided.delay_minutes,
        notify_customer_by=decided.notify_customer_by,
        customer_notified_at=now,
        notice_in_time=not decided.overdue,
        reason_accepted=decided.reason_accepted,
        agree_new_time=decided.agree_new_time,
        tell_dispatcher=decided.tell_dispatcher,
        reason=decided.reason,
        decision=Decision.of(decided),
    )


def decide_arrival(visit: Visit, *, engineer_id: str | None, now: datetime) -> ArrivedOnSite:
    if visit.state not in (VisitState.ASSIGNED, VisitState.EN_ROUTE):
        raise IllegalTransition(
            f"arrival needs an assigned engineer; the ticket is {visit.state.value}", visit.state
        )
    if engineer_id is not None and engineer_id != visit.engineer_id:
        raise IllegalTransition(
            f"engineer {engineer_id} is not the one assigned ({visit.engineer_id})", visit.state
        )
    assert visit.engineer_id is not None
    return ArrivedOnSite(ticket_id=visit.ticket_id, engineer_id=visit.engineer_id, arrived_at=now)


def decide_not_found(
    pack: PolicyPack, visit: Visit, *, at_business: bool, now: datetime
) -> CustomerNotFound:
    """DSP-9: knock every 30 s, phone after 5 or 10 minutes, leave the note after 15 (at
    the front desk at a business) and report to the coordinator, who books again."""
    _need(visit, (VisitState.ON_SITE,), "reporting the customer not found")
    assert visit.arrived_at is not None and visit.engineer_id is not None
    plan = rules.customer_not_found(pack, arrived_at=visit.arrived_at, at_business=at_business)
    if now < plan.leave_note_at:
        raise IllegalTransition(
            f"DSP-9: wait until {plan.leave_note_at:%H:%M} (phone at {plan.phone_at:%H:%M})"
            " before leaving the note",
            visit.state,
        )
    return CustomerNotFound(
        ticket_id=visit.ticket_id,
        engineer_id=visit.engineer_id,
        arrived_at=visit.arrived_at,
        phone_at=plan.phone_at,
        leave_note_at=plan.leave_note_at,
        note_left_at=plan.note_left_at,
        reported_to=plan.report_to,
        reported_at=now,
        decision=Decision.of(plan),
    )


def decide_search(
    pack: PolicyPack, visit: Visit, *, step: str, at_business: bool, now: datetime
) -> CustomerSearched:
    """DSP-9: the engineer on site knocked, or phoned the customer (not before the pack's
    minutes after arrival: an earlier call is not the one the pack asks for)."""
    _need(visit, (VisitState.ON_SITE,), "recording the search for the customer")
    assert visit.arrived_at is not None and visit.engineer_id is not None
    plan = rules.customer_not_found(pack, arrived_at=visit.arrived_at, at_business=at_business)
    if step == "knock" and at_business:
        raise _violation("DSP-9", "at a business the engineer waits, he does not knock", "step")
    if step == "phone" and now < plan.phone_at:
        raise _violation("DSP-9", f"DSP-9: phone from {plan.phone_at:%H:%M}", "step")
    return CustomerSearched(
        ticket_id=visit.ticket_id,
        engineer_id=visit.engineer_id,
        step=step,
        at=now,
        arrived_at=visit.arrived_at,
        phone_at=plan.phone_at,
        leave_note_at=plan.leave_note_at,
        decision=Decision.of(plan),
    )


def search_checklist(
    pack: PolicyPack, visit: Visit, *, at_business: bool, now: datetime
) -> dict[str, Any]:
    """DSP-9: what the pack asks before 'customer not found' (the knocks, a phone call,
    the wait), what the engineer recorded, and what is still missing."""
    _need(visit, (VisitState.ON_SITE,), "searching for the customer")
    assert visit.arrived_at is not None
    plan = rules.customer_not_found(pack, arrived_at=visit.arrived_at, at_business=at_business)
    knocks = [s.at for s in visit.searched if s.step == "knock"]
    calls = [s.at for s in visit.searched if s.step == "phone"]
    missing = [
        name
        for name, short in (
            ("knock", len(knocks) < len(plan.knock_at)),
            ("phone", not calls),
            ("wait", now < plan.leave_note_at),
        )
        if short
    ]
    return {
        "arrived_at": visit.arrived_at,
        "knocks_required": len(plan.knock_at),
        "knock_every_seconds": pack.dispatch.not_found.knock_interval_seconds,
        "knocks": knocks,
        "phone_at": plan.phone_at,
        "phone_calls": calls,
        "leave_note_at": plan.leave_note_at,
        "note_left_at": plan.note_left_at,
        "missing": missing,
        "decision": Decision.of(plan).model_dump(mode="json"),
    }


def decide_parts(
    visit: Visit, *, part: str, status: str, customer_has_time: bool, now: datetime
) -> Event:
    """DSP-4: request before departure; no stock: the customer is told and the visit is
    booked when the part comes; wrong part: fetch now if the customer has time."""
    if status == "needed":
        _need(
            visit,
            (VisitState.ASSIGNED, VisitState.EN_ROUTE, VisitState.ON_SITE, VisitState.IN_PROGRESS),
            "requesting a part",
        )
        return PartsRequested(
            ticket_id=visit.ticket_id,
            part=part,
            before_departure=visit.state is VisitState.ASSIGNED,
            spare_of_spare=part in visit.parts_replaced,
            requested_at=now,
        )
    if status == "backordered":
        _need(
            visit,
            (
                VisitState.ASSIGNED,
                VisitState.EN_ROUTE,
                VisitState.ON_SITE,
                VisitState.IN_PROGRESS,
                VisitState.NEEDS_REBOOKING,
            ),
            "a backorder",
        )
        return PartsBackordered(
            ticket_id=visit.ticket_id, part=part, customer_told=True, backordered_at=now
        )
    if status == "arrived":
        _need(visit, (VisitState.AWAITING_PARTS,), "a part arriving")
        return PartsArrived(ticket_id=visit.ticket_id, part=part, arrived_at=now)
    _need(visit, (VisitState.ON_SITE, VisitState.IN_PROGRESS), "a wrong part on site")
    return WrongPartOnSite(
        ticket_id=visit.ticket_id, part=part, fetch_now=customer_has_time, reported_at=now
    )


def decide_interruption(
    visit: Visit,
    *,
    urgent_ticket_id: str,
    minutes_still_needed: int,
    reassigned: bool,
    now: datetime,
) -> VisitInterrupted:
    """DSP-10: an urgent job while on site: how long this one still needs."""
    _need(visit, (VisitState.ON_SITE, VisitState.IN_PROGRESS), "an interruption")
    assert visit.engineer_id is not None
    return VisitInterrupted(
        ticket_id=visit.ticket_id,
        engineer_id=visit.engineer_id,
        urgent_ticket_id=urgent_ticket_id,
        minutes_still_needed=minutes_still_needed,
        urgent_job_reassigned=reassigned,
        interrupted_at=now,
    )


def release_for_urgent(
    urgent: Visit, *, engineer_id: str, now: datetime
) -> EngineerReleased | None:
    """DSP-10: the station reassigns the urgent job when its engineer is busy on site."""
    if urgent.engineer_id != engineer_id or urgent.state is not VisitState.ASSIGNED:
        return None
    return EngineerReleased(
        ticket_id=urgent.ticket_id,
        engineer_id=engineer_id,
        reason="DSP-10: the engineer is busy on another site; the urgent job is reassigned",
        released_at=now,
    )


def decide_inspection(
    visit: Visit, cmd: RecordInspection, *, now: datetime, at_depot: bool = False
) -> InspectionRecorded:
    """WAR-3, WAR-4: what the engineer found at the unit, for intake's warranty decision;
    at the unit means on site, or at the depot once a depot job is assigned."""
    at_hand = (VisitState.ON_SITE, VisitState.IN_PROGRESS)
    _need(visit, at_hand + ((VisitState.ASSIGNED,) if at_depot else ()), "an inspection")
    assert visit.engineer_id is not None
    return InspectionRecorded(
        ticket_id=visit.ticket_id, engineer_id=visit.engineer_id, inspected_at=now, **cmd.found
    )


def decide_consent(
    visit: Visit,
    *,
    fault_reproduced: bool,
    disassembly: bool,
    disk_operation: bool,
    backup_offered: bool,
    signed_by: str | None,
    adult_present: bool,
    now: datetime,
) -> ConsentRecorded:
    """DSP-11: fault reproduced with the customer; disassembly and disk work need consent,
    disk work a signature after a backup offer. DSP-10: only an adult can consent."""
    _need(visit, (VisitState.ON_SITE, VisitState.IN_PROGRESS), "recording consent")
    if not adult_present:
        raise _violation("DSP-10", "only an adult can consent: phone the customer and wait")
    if disk_operation and not (backup_offered and signed_by):
        raise _violation("DSP-11", "a disk operation needs a backup offer and a signature")
    return ConsentRecorded(
        ticket_id=visit.ticket_id,
        fault_reproduced=fault_reproduced,
        disassembly=disassembly,
        disk_operation=disk_operation,
        backup_offered=backup_offered,
        signed_by=signed_by,
        recorded_at=now,
    )


def _paid_work_accepted(visit: Visit, chargeable: bool, quote_accepted: bool) -> None:
    # DSP-11, FEE-4: paid work is quoted and accepted before it starts.
    if chargeable and not quote_accepted:
        raise IllegalTransition(
            "chargeable job: the quote must be accepted before work starts (FEE-4, DSP-11);"
            f" the visit is {visit.state.value}",
            "awaiting_quote_acceptance",
        )


def decide_work_start(
    visit: Visit,
    *,
    chargeable: bool,
    quote_accepted: bool,
    quote_id: str | None,
    now: datetime,
    at_depot: bool = False,
) -> WorkStarted:
    """Work begins with the engineer on site; a unit repaired at the depot is at hand
    once the job is assigned (nobody travels to it)."""
    _need(
        visit, (VisitState.ON_SITE, *((VisitState.ASSIGNED,) if at_depot else ())), "starting work"
    )
    _paid_work_accepted(visit, chargeable, quote_accepted)
    assert visit.engineer_id is not None
    return WorkStarted(
        ticket_id=visit.ticket_id,
        engineer_id=visit.engineer_id,
        chargeable=chargeable,
        quote_id=quote_id if chargeable else None,
        started_at=now,
    )


def decide_completion(
    visit: Visit,
    *,
    resolution: str,
    now: datetime,
    chargeable: bool = False,
    quote_accepted: bool = False,
    signed_by: str | None = None,
    repair_record: RepairRecord | None = None,
    test_run_minutes: int | None = None,
    job_kind: str = "repair",
    pack: PolicyPack | None = None,
    at_depot: bool = False,
) -> RepairCompleted:
    """DSP-12: the customer tests and signs; an installation includes the pack's test run.
    A depot repair needs no engineer on site: the unit is at the depot."""
    if visit.state is VisitState.COMPLETED:
        raise IllegalTransition("the repair is already completed", visit.state)
    at_hand = (VisitState.ON_SITE, VisitState.IN_PROGRESS)
    if visit.state not in at_hand + ((VisitState.ASSIGNED,) if at_depot else ()):
        place = "the job assigned" if at_depot else "the engineer on site"
        raise IllegalTransition(
            f"completion needs {place} first; the ticket is {visit.state.value}", visit.state
        )
    _paid_work_accepted(visit, chargeable, quote_accepted)
    needed = pack.dispatch.installation_test_run_minutes if pack else INSTALLATION_TEST_RUN_MINUTES
    if job_kind == "installation" and (test_run_minutes or 0) < needed:
        raise _violation("DSP-12", f"an installation includes a {needed}-minute test run")
    assert visit.engineer_id is not None
    return RepairCompleted(
        ticket_id=visit.ticket_id,
        engineer_id=visit.engineer_id,
        completed_at=now,
        resolution=resolution,
        signed_by=signed_by,
        repair_record=repair_record,
        test_run_minutes=test_run_minutes,
    )


def decide_carry_forward(
    visit: Visit, *, done: str, remaining: str, now: datetime
) -> WorkCarriedForward:
    """Partly done: the rest goes to a new visit with the same engineer."""
    _need(visit, (VisitState.ON_SITE, VisitState.IN_PROGRESS), "carrying work forward")
    assert visit.engineer_id is not None
    return WorkCarriedForward(
        ticket_id=visit.ticket_id,
        engineer_id=visit.engineer_id,
        done=done,
        remaining=remaining,
        carried_at=now,
    )


def decide_end(
    visit: Visit, *, reason: str, now: datetime, quote_id: str | None = None
) -> VisitEndedWithoutRepair | None:
    """No work (quote refused, ticket closed or cancelled); None when already over."""
    if visit.state in (VisitState.COMPLETED, VisitState.ENDED):
        return None
    return VisitEndedWithoutRepair(
        ticket_id=visit.ticket_id,
        engineer_id=visit.engineer_id,
        reason=reason,
        quote_id=quote_id,
        ended_at=now,
    )


def decide_revisit(
    visit: Visit, *, case_id: str, reason: str, now: datetime
) -> RevisitOpened | None:
    """FBK-5: someone goes on site at once; once per case."""
    if case_id in visit.revisit_cases:
        return None
    if visit.state not in (VisitState.COMPLETED, VisitState.ENDED):
        return None
    return RevisitOpened(
        ticket_id=visit.ticket_id,
        case_id=case_id,
        reason=reason,
        previous_engineer_id=visit.engineer_id,
        opened_at=now,
    )


# -- timers ------------------------------------------------------------------------------------


def sla_check(
    pack: PolicyPack,
    visit: Visit,
    *,
    deadline: str,
    phase: str,
    due_at: datetime,
    now: datetime,
    version: int = 0,
) -> Event | None:
    """DSP-3: a deadline approaching or breached, unless it was met, the clock is held
    (waiting for parts or the customer), or the deadline was superseded by a newer
    version (recomputed after a pause)."""
    if version != visit.sla_version or visit.paused:
        return None
    met = {
        "visit": visit.arrived_at is not None
        or visit.state in (VisitState.COMPLETED, VisitState.ENDED),
        "fix": visit.state in (VisitState.COMPLETED, VisitState.ENDED),
        "repair": visit.state in (VisitState.COMPLETED, VisitState.ENDED),
    }[deadline]
    if met or visit.state is VisitState.AWAITING_PARTS:
        return None
    cls = SlaDeadlineBreached if phase == "breached" else SlaDeadlineApproaching
    return cls(
        ticket_id=visit.ticket_id,
        deadline=deadline,
        due_at=due_at,
        state=visit.state.value,
        decision=_stamp(pack, "DSP-3"),
        detected_at=now,
    )


def departure_check(
    pack: PolicyPack, visit: Visit, *, appointment_id: str, now: datetime
) -> LatenessNoticeDue | None:
    """DSP-6, DSP-7: not under way at the latest departure and no notice given yet."""
    a = visit.appointment
    if a is None or a.appointment_id != appointment_id or visit.state is not VisitState.ASSIGNED:
        return None
    if appointment_id in visit.notice_given_for:
        return None
    return LatenessNoticeDue(
        ticket_id=visit.ticket_id,
        engineer_id=a.engineer_id,
        appointment_id=a.appointment_id,
        depart_by=a.depart_by,
        window_start=a.start,
        reason="not under way at the latest departure: tell the customer now",
        decision=_stamp(pack, "DSP-6", "DSP-7"),
        due_at=now,
    )


def missed_check(
    pack: PolicyPack, visit: Visit, *, appointment_id: str, now: datetime
) -> MissedAppointment | None:
    """PEN-7: the window ended, nobody arrived and the visit was not rescheduled."""
    a = visit.appointment
    if a is None or a.appointment_id != appointment_id:
        return None
    if visit.state not in (VisitState.ASSIGNED, VisitState.EN_ROUTE):
        return None
    notice = appointment_id in visit.notice_given_for
    return MissedAppointment(
        ticket_id=visit.ticket_id,
        engineer_id=a.engineer_id,
        appointment_start=a.start,
        appointment_end=a.end,
        detected_at=now,
        reason="no arrival by the end of the window and no reschedule"
        + ("; a delay was reported but no new time agreed" if notice else ""),
        decision=_stamp(pack, "PEN-7", "DSP-7"),
    )


# -- DSP-3 pauses ------------------------------------------------------------------------------


def decide_sla_resumed(
    pack: PolicyPack, before: Visit, after: Visit, deadlines: Deadlines, *, now: datetime
) -> SlaDeadlinesRecomputed | None:
    """DSP-3: when a pause ends (parts arrived, the customer reached or met), the deadlines
    are recomputed without the time it held and get a new version; None otherwise."""
    if not before.paused or after.paused:
        return None
    if deadlines.visit_by is None and deadlines.fix_by is None and deadlines.repair_by is None:
        return None
    held = [
        SlaPause(start=p.start, end=p.end, waiting_for=w)
        for p, w in zip(after.pauses, after.waiting_for, strict=True)
        if p.end is not None
    ]
    minutes = sum((p.end - p.start for p in held), timedelta()).total_seconds() // 60
    moved = [
        f"{name} by {due.astimezone(pack.zone):%Y-%m-%d %H:%M}"
        for name, due in (
            ("on site", deadlines.visit_by),
            ("fixed", deadlines.fix_by),
            ("repaired", deadlines.repair_by),
        )
        if due is not None
    ]
    made = deadlines.decision
    return SlaDeadlinesRecomputed(
        ticket_id=after.ticket_id,
        version=before.sla_version + 1,
        visit_by=deadlines.visit_by,
        fix_by=deadlines.fix_by,
        repair_by=deadlines.repair_by,
        pauses=tuple(held),
        resumed_at=now,
        reason=f"DSP-3: the clock was held {int(minutes)} min waiting for "
        f"{before.paused_for}; now " + ", ".join(moved),
        decision=Decision(
            pack_id=made.pack_id, pack_version=made.pack_version, rule_ids=made.rule_ids
        )
        if made is not None
        else _stamp(pack, "DSP-3"),
    )


# -- DSP-5 skills ------------------------------------------------------------------------------

ESCALATION_STATES = (
    VisitState.ASSIGNED,
    VisitState.EN_ROUTE,
    VisitState.ON_SITE,
    VisitState.IN_PROGRESS,
    VisitState.AWAITING_PARTS,
    VisitState.NEEDS_REBOOKING,
)


def decide_escalation(
    pack: PolicyPack,
    visit: Visit,
    *,
    engineer_id: str | None,
    product_line: str | None,
    fault_kind: str | None,
    fixed_before: bool,
    now: datetime,
    manual_reason: str | None = None,
) -> EscalatedToTechnicalSupport | None:
    """DSP-5: a fault the engineer has never fixed (no completed repair of this product
    line, and of this fault kind when the ticket has one) goes to technical support
    before the visit, when the visit is booked, once per engineer; a dispatcher may
    escalate any open visit."""
    if manual_reason is not None:
        _need(visit, ESCALATION_STATES, "an escalation")
        return EscalatedToTechnicalSupport(
            ticket_id=visit.ticket_id,
            engineer_id=engineer_id,
            product_line=product_line,
            fault_kind=fault_kind,
            trigger="manual",
            reason=f"DSP-5: {manual_reason}",
            escalated_at=now,
            decision=_stamp(pack, "DSP-5"),
        )
    if fixed_before or engineer_id is None or engineer_id in visit.escalated_for:
        return None
    fault = f" ({fault_kind} fault)" if fault_kind else ""
    return EscalatedToTechnicalSupport(
        ticket_id=visit.ticket_id,
        engineer_id=engineer_id,
        product_line=product_line,
        fault_kind=fault_kind,
        trigger="no_prior_repair",
        reason=f"DSP-5: engineer {engineer_id} has never completed a repair of"
        f" {product_line}{fault}: technical support is consulted before the visit",
        escalated_at=now,
        decision=_stamp(pack, "DSP-5"),
    )


# -- DSP-8 unreachable customer -----------------------------------------------------------------


def decide_unreachable(
    pack: PolicyPack, visit: Visit, *, attempt_at: datetime, channel: str, now: datetime
) -> list[Event]:
    """DSP-8: record the failed attempt; the standard SMS where the pack sends one; when
    the next try would come after the latest departure, go to the address anyway and
    tell the coordinator. The appointment is never moved for it."""
    _need(visit, (VisitState.ASSIGNED, VisitState.EN_ROUTE), "reporting the customer unreachable")
    a = visit.appointment
    if a is None:
        raise IllegalTransition("there is no appointment to reach the customer about", visit.state)
    decided = rules.unreachable_customer(
        pack,
        attempt_at=attempt_at,
        depart_by=a.depart_by,
        channel="mobile" if channel == "mobile" else "phone",
        sms_already_sent=a.appointment_id in visit.sms_sent_for,
    )
    out: list[Event] = [
        CustomerUnreachable(
            ticket_id=visit.ticket_id,
            appointment_id=a.appointment_id,
            attempt_at=attempt_at,
            channel=channel,
            attempt_no=visit.unreachable_attempts + 1,
            next_step=decided.next_step,
            retry_at=decided.retry_at,
            depart_by=a.depart_by,
            reason=decided.reason,
            recorded_at=now,
            decision=Decision.of(decided),
        )
    ]
    if decided.send_standard_sms:
        out.append(
            StandardSmsSent(
                ticket_id=visit.ticket_id,
                appointment_id=a.appointment_id,
                template="unreachable_customer",
                sent_at=now,
                decision=Decision.of(decided),
            )
        )
    if decided.next_step == "go_anyway":
        out.append(
            GoingToAddressAnyway(
                ticket_id=visit.ticket_id,
                engineer_id=a.engineer_id,
                appointment_id=a.appointment_id,
                depart_by=a.depart_by,
                reported_to=decided.report_to or "coordinator",
                reason=decided.reason,
                decided_at=now,
                decision=Decision.of(decided),
            )
        )
    return out


def decide_customer_reached(visit: Visit, *, channel: str, now: datetime) -> CustomerReached:
    """DSP-8: the customer answered; the wait for him (and the SLA pause) ends."""
    if visit.paused_for != "customer":
        raise IllegalTransition("nobody is waiting for the customer", visit.state)
    return CustomerReached(ticket_id=visit.ticket_id, channel=channel, reached_at=now)


# -- DSP-1 the dispatcher takes a job back ------------------------------------------------------


def decide_reassignment(visit: Visit, *, reason: str, now: datetime) -> EngineerReleased:
    """DSP-1: only an assigned job can be taken back; it goes to another engineer."""
    return _taken_back(visit, "reassigned", reason=reason, now=now)


def _taken_back(visit: Visit, done: str, *, reason: str, now: datetime) -> EngineerReleased:
    if visit.state is not VisitState.ASSIGNED or visit.engineer_id is None:
        raise IllegalTransition(
            f"only an assigned job can be {done}; the visit is {visit.state.value}",
            visit.state,
        )
    return EngineerReleased(
        ticket_id=visit.ticket_id, engineer_id=visit.engineer_id, reason=reason, released_at=now
    )


RELEASED_BY_DISPATCHER = "released by the dispatcher: "
"""How the wait of a job the dispatcher released begins (the rest is his reason)."""


def decide_release(visit: Visit, *, reason: str, now: datetime) -> list[Event]:
    """DSP-1: the dispatcher takes an assigned job back to his queue without giving it to
    anyone yet; it waits there with his reason (DSP-1 offers it again when the roster
    changes, to an engineer other than the one released)."""
    released = _taken_back(visit, "released", reason=reason, now=now)
    if visit.region is None or visit.skill is None:
        raise IllegalTransition("the job has no region or skill to wait in", visit.state)
    waiting = AssignmentWaiting(
        ticket_id=visit.ticket_id,
        region=visit.region,
        skill=visit.skill,
        reason=f"{RELEASED_BY_DISPATCHER}{reason}",
        since=now,
    )
    return [released, waiting]


# -- DSP-1 with the customer's window (INT-6) -----------------------------------------------------


def confirm_by(pack: PolicyPack, job: Job) -> datetime | None:
    """INT-6: the visit time is confirmed within the pack's minutes of the request."""
    if job.requested_at is None:
        return None
    return triage.confirmation_deadlines(pack, received_at=job.requested_at).confirm_visit_by


def customer_window(
    visit: Visit, job: Job, *, revisit: bool, now: datetime
) -> tuple[datetime, datetime] | None:
    """The window the customer asked for on the call, unless it has passed (book a new one
    with him) or this is a revisit (FBK-5: someone goes at once, whatever the old window)."""
    if revisit or visit.revisit_cases or job.window is None:
        return None
    return job.window if job.window[1] > now else None


@dataclass(frozen=True)
class Assignment:
    """What DSP-1 weighs for one ticket besides the visit: the job, the engineers of its
    region and skill, its DSP-3 deadlines, and the travel speed."""

    job: Job
    engineers: Sequence[Engineer]
    deadlines: Deadlines
    speed_kmh: float


def decide_assign(
    pack: PolicyPack, visit: Visit, a: Assignment, *, now: datetime, revisit: bool = False
) -> list[Event]:
    """DSP-1: assign (and book the customer's window, DSP-2 and INT-6), or raise the alert
    that the ticket waits; nothing when the job cannot be assigned now."""
    job = a.job
    if not job.assignable or job.region is None or job.skill is None:
        return []
    window = customer_window(visit, job, revisit=revisit, now=now)
    decided = decide_assignment(
        visit,
        a.engineers,
        region=job.region,
        skill=job.skill,
        now=now,
        window=window,
        location=job.location,
        deadlines=a.deadlines,
        speed_kmh=a.speed_kmh,
        zone=pack.zone,
        revisit=revisit,
    )
    if decided is None:
        return []
    if not isinstance(decided, EngineerAssigned) or window is None:
        return [decided]
    engineer = next(e for e in a.engineers if e.engineer_id == decided.engineer_id)
    booked = decide_appointment(
        pack,
        evolve(visit, decided),
        engineer,
        window=window,
        travel=decided.travel_minutes or 0,
        confirm_by=confirm_by(pack, job),
        now=now,
        speed_kmh=a.speed_kmh,
        location=job.location,
        customer_window=True,
    )
    return [decided, booked]


def travel_for(
    engineer: Engineer,
    window: tuple[datetime, datetime],
    location: GeoPoint | None,
    *,
    speed_kmh: float,
    zone: ZoneInfo,
) -> int:
    """DSP-6: minutes from the engineer's previous appointment (or home) to the job."""
    return (
        fit(engineer, window=window, location=location, speed_kmh=speed_kmh, zone=zone).travel or 0
    )


# -- timers: what is checked when ---------------------------------------------------------------

SLA_TIMER = "sla"
DEPARTURE_TIMER = "departure_check"
MISSED_TIMER = "missed_check"


def _sla_dues(
    ticket_id: str,
    dues: tuple[datetime | None, datetime | None, datetime | None],
    version: int,
    warn: timedelta,
) -> list[Due]:
    """DSP-3: approaching and breached per deadline; a recomputed version has its own
    timers, and the older ones, when they fire, find their version superseded."""
    suffix = f":v{version}" if version else ""
    out = []
    for deadline, due in zip(("visit", "fix", "repair"), dues, strict=True):
        if due is None:
            continue
        for phase, at in (("approaching", due - warn), ("breached", due)):
            payload = {"deadline": deadline, "phase": phase, "due_at": due.isoformat()}
            out.append(
                Due(
                    f"{SLA_TIMER}:{ticket_id}:{deadline}:{phase}{suffix}",
                    SLA_TIMER,
                    ticket_id,
                    at,
                    {**payload, "version": version},
                )
            )
    return out


def timers_for(events: Sequence[Event], *, warn: timedelta) -> list[Due]:
    """The checks the decided events call for: DSP-3 deadlines on assignment and on their
    recomputation; DSP-6/7 departure and PEN-7 missed appointment for each booking."""
    out: list[Due] = []
    for event in events:
        match event:
            case EngineerAssigned():
                dues = (event.visit_by, event.fix_by, event.repair_by)
                out += _sla_dues(event.ticket_id, dues, 0, warn)
            case SlaDeadlinesRecomputed():
                dues = (event.visit_by, event.fix_by, event.repair_by)
                out += _sla_dues(event.ticket_id, dues, event.version, warn)
            case AppointmentScheduled() | AppointmentRescheduled():
                payload: dict[str, object] = {"appointment_id": event.appointment_id}
                for kind, due in (
                    (DEPARTURE_TIMER, event.depart_by),
                    (MISSED_TIMER, event.window_end),
                ):
                    out.append(
                        Due(f"{kind}:{event.appointment_id}", kind, event.ticket_id, due, payload)
                    )
    return out


def decide_check(
    pack: PolicyPack, visit: Visit, *, kind: str, payload: dict[str, object], now: datetime
) -> list[Event]:
    """A due timer's check: DSP-3 deadline, DSP-6/7 departure or PEN-7 missed appointment."""
    if kind == SLA_TIMER:
        decided: Event | None = sla_check(
            pack,
            visit,
            deadline=str(payload["deadline"]),
            phase=str(payload["phase"]),
            due_at=datetime.fromisoformat(str(payload["due_at"])),
            now=now,
            version=int(payload.get("version", 0)),  # type: ignore[call-overload]
        )
    elif kind == DEPARTURE_TIMER:
        decided = departure_check(
            pack, visit, appointment_id=str(payload["appointment_id"]), now=now
        )
    else:
        decided = missed_check(pack, visit, appointment_id=str(payload["appointment_id"]), now=now)
    return [decided] if decided is not None else []


# -- the visit's commands ---------------------------------------------------------------------

Window = tuple[datetime, datetime]


@dataclass(frozen=True)
class Assign:
    """DSP-1: assign the ticket (a revisit, FBK-5, goes at once whatever the old window)."""

    ticket_id: str
    revisit: bool = False


@dataclass(frozen=True)
class BookVisit:
    """DSP-2: book the window agreed with the customer (INT-6 confirmation)."""

    ticket_id: str
    window: Window


@dataclass(frozen=True)
class Reschedule:
    ticket_id: str
    window: Window
    reason: str
    requested_by: str
    customer_consents: bool


@dataclass(frozen=True)
class Reassign:
    ticket_id: str
    reason: str


@dataclass(frozen=True)
class Release:
    ticket_id: str
    reason: str


@dataclass(frozen=True)
class Depart:
    ticket_id: str


@dataclass(frozen=True)
class ReportDelay:
    ticket_id: str
    expected_arrival: datetime
    cause: str | None
    new_window: Window | None = None


@dataclass(frozen=True)
class Arrive:
    ticket_id: str
    engineer_id: str | None = None


@dataclass(frozen=True)
class ReportCustomerNotFound:
    ticket_id: str
    at_business: bool = False


@dataclass(frozen=True)
class RecordSearch:
    ticket_id: str
    step: str
    at_business: bool = False


@dataclass(frozen=True)
class ReportPart:
    ticket_id: str
    part: str
    status: str
    customer_has_time: bool = False
    new_window: Window | None = None


@dataclass(frozen=True)
class Interrupt:
    ticket_id: str
    urgent_ticket_id: str
    minutes_still_needed: int


@dataclass(frozen=True)
class RecordConsent:
    ticket_id: str
    fault_reproduced: bool
    disassembly: bool = False
    disk_operation: bool = False
    backup_offered: bool = False
    signed_by: str | None = None
    adult_present: bool = True


@dataclass(frozen=True)
class RecordInspection:
    ticket_id: str
    found: dict[str, Any]
    """The findings stated, by InspectionRecorded's field names."""


@dataclass(frozen=True)
class StartWork:
    ticket_id: str


@dataclass(frozen=True)
class Complete:
    ticket_id: str
    resolution: str
    signed_by: str | None = None
    repair_record: RepairRecord | None = None
    test_run_minutes: int | None = None


@dataclass(frozen=True)
class CarryForward:
    ticket_id: str
    done: str
    remaining: str


@dataclass(frozen=True)
class Escalate:
    ticket_id: str
    reason: str


@dataclass(frozen=True)
class ReportUnreachable:
    ticket_id: str
    attempt_at: datetime
    channel: str


@dataclass(frozen=True)
class RecordCustomerReached:
    ticket_id: str
    channel: str = "phone"


@dataclass(frozen=True)
class EndVisit:
    """No work: the quote refused, the ticket closed or cancelled. `only_if_known`: not for
    a ticket dispatch never handled (a cancelled held ticket has no visit to end)."""

    ticket_id: str
    reason: str
    quote_id: str | None = None
    only_if_known: bool = False


@dataclass(frozen=True)
class OpenRevisit:
    """FBK-5: a dissatisfied customer gets someone on site at once."""

    ticket_id: str
    case_id: str
    reason: str


@dataclass(frozen=True)
class Check:
    """A due timer's check on the visit."""

    ticket_id: str
    kind: str
    payload: dict[str, object]
