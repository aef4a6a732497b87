"""Events published by dispatch on `repairline.dispatch.events`."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from repairline_contracts.base import Decision, Event
from repairline_contracts.topics import DISPATCH_EVENTS


class EngineerAssigned(Event):
    """An engineer was given the ticket (DSP-1)."""

    event_type: ClassVar[str] = "repairline.dispatch.EngineerAssigned"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = DISPATCH_EVENTS

    engineer_id: str
    region: str
    skill: str = Field(description="The product line the engineer was matched on.")
    open_jobs_before: int = Field(description="The engineer's open jobs when chosen.")
    reason: str = Field(description="Why this engineer was chosen.")
    assigned_at: datetime
    service_point_id: str | None = Field(
        default=None,
        description="The engineer's service point (outlet); billing settles per outlet.",
    )
    travel_minutes: int | None = Field(
        default=None, description="Travel from the engineer's previous place, if known."
    )
    visit_by: datetime | None = Field(default=None, description="DSP-3: on site by.")
    fix_by: datetime | None = Field(default=None, description="DSP-3: fixed by.")
    repair_by: datetime | None = Field(
        default=None, description="DSP-3: depot or return-to-factory repair done by."
    )
    revisit: bool = Field(default=False, description="FBK-5: a revisit after a dissatisfied call.")
    decision: Decision | None = Field(default=None, description="DSP-1 and DSP-3.")


class AssignmentWaiting(Event):
    """No engineer can take the ticket yet: it waits, visibly, instead of being dropped."""

    event_type: ClassVar[str] = "repairline.dispatch.AssignmentWaiting"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = DISPATCH_EVENTS

    region: str
    skill: str
    reason: str
    since: datetime


class ArrivedOnSite(Event):
    """The assigned engineer arrived at the customer's address."""

    event_type: ClassVar[str] = "repairline.dispatch.ArrivedOnSite"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = DISPATCH_EVENTS

    engineer_id: str
    arrived_at: datetime


class RepairRecord(BaseModel):
    """DSP-12: what the engineer files with the service centre's archive."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    fault_found: str
    parts_replaced: tuple[str, ...] = ()
    notes: str = ""


class RepairCompleted(Event):
    """The repair is done and the customer signed the repair order (DSP-12)."""

    event_type: ClassVar[str] = "repairline.dispatch.RepairCompleted"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = DISPATCH_EVENTS

    engineer_id: str
    completed_at: datetime
    resolution: str = Field(description="What was done.")
    signed_by: str | None = Field(
        default=None, description="DSP-12: who signed the acceptance and repair order."
    )
    repair_record: RepairRecord | None = Field(
        default=None, description="DSP-12: the repair record filed to the archive."
    )
    test_run_minutes: int | None = Field(
        default=None, description="DSP-12: test run of an installation job."
    )


class EngineerReleased(Event):
    """The job was taken back from its engineer and goes back for reassignment (DSP-1)."""

    event_type: ClassVar[str] = "repairline.dispatch.EngineerReleased"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = DISPATCH_EVENTS

    engineer_id: str
    reason: str
    released_at: datetime


class AppointmentScheduled(Event):
    """A visit window agreed with the customer (DSP-2) and confirmed (INT-6)."""

    event_type: ClassVar[str] = "repairline.dispatch.AppointmentScheduled"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = DISPATCH_EVENTS

    appointment_id: str
    engineer_id: str
    window_start: datetime
    window_end: datetime
    confirm_by: datetime | None = Field(description="INT-6: confirm the visit time by.")
    confirmed_in_time: bool
    depart_by: datetime = Field(description="DSP-6: latest departure to arrive 5-10 min early.")
    travel_minutes: int
    decision: Decision
    scheduled_at: datetime


class AppointmentRescheduled(Event):
    """The window moved, with a reason; the dispatcher always sees it (DSP-2)."""

    event_type: ClassVar[str] = "repairline.dispatch.AppointmentRescheduled"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = DISPATCH_EVENTS

    appointment_id: str
    previous_appointment_id: str
    engineer_id: str
    previous_start: datetime
    previous_end: datetime
    window_start: datetime
    window_end: datetime
    reason: str
    requested_by: str = Field(description="`customer`, `engineer` or `dispatcher`.")
    depart_by: datetime
    dispatcher_notified: bool = True
    rescheduled_at: datetime


class RescheduleRefused(Event):
    """The customer refused the new time: the job goes back to the dispatcher (DSP-1)."""

    event_type: ClassVar[str] = "repairline.dispatch.RescheduleRefused"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = DISPATCH_EVENTS

    engineer_id: str
    proposed_start: datetime
    proposed_end: datetime
    reason: str
    refused_at: datetime


class EngineerDeparted(Event):
    """The engineer left for the customer (DSP-6)."""

    event_type: ClassVar[str] = "repairline.dispatch.EngineerDeparted"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = DISPATCH_EVENTS

    engineer_id: str
    departed_at: datetime
    depart_by: datetime | None
    late: bool = Field(description="Left after the planned latest departure.")


class EngineerDelayed(Event):
    """The engineer will be late; the notice owed and whether it came in time (DSP-7)."""

    event_type: ClassVar[str] = "repairline.dispatch.EngineerDelayed"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = DISPATCH_EVENTS

    engineer_id: str
    appointment_id: str
    expected_arrival: datetime
    cause: str | None
    notice: str = Field(description="running_late, delay_within_half_day, ... (DSP-7).")
    delay_minutes: int
    notify_customer_by: datetime | None
    customer_notified_at: datetime
    notice_in_time: bool = Field(description="False: the notice was given too late.")
    reason_accepted: bool = Field(description="'Too many customers' is never accepted.")
    agree_new_time: bool
    tell_dispatcher: bool
    reason: str
    decision: Decision


class LatenessNoticeDue(Event):
    """The engineer is not under way in time: the customer must be told now (DSP-6, DSP-7)."""

    event_type: ClassVar[str] = "repairline.dispatch.LatenessNoticeDue"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = DISPATCH_EVENTS

    engineer_id: str
    appointment_id: str
    depart_by: datetime
    window_start: datetime
    reason: str
    decision: Decision
    due_at: datetime


class CustomerNotFound(Event):
    """Nobody answered: knocked, phoned, waited, note left, coordinator told (DSP-9)."""

    event_type: ClassVar[str] = "repairline.dispatch.CustomerNotFound"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = DISPATCH_EVENTS

    engineer_id: str
    arrived_at: datetime
    phone_at: datetime
    leave_note_at: datetime
    note_left_at: str = Field(description="`door` or `front_desk` (未见顾客留言条).")
    reported_to: str
    reported_at: datetime
    decision: Decision


class PartsRequested(Event):
    """A part the engineer lacks was requested (DSP-4)."""

    event_type: ClassVar[str] = "repairline.dispatch.PartsRequested"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = DISPATCH_EVENTS

    part: str
    before_departure: bool
    spare_of_spare: bool = Field(description="DSP-4: the part was replaced before and failed.")
    requested_at: datetime


class PartsBackordered(Event):
    """No stock: the customer is told; the visit is booked when the part comes (DSP-4)."""

    event_type: ClassVar[str] = "repairline.dispatch.PartsBackordered"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = DISPATCH_EVENTS

    part: str
    customer_told: bool
    backordered_at: datetime


class PartsArrived(Event):
    """The part came in: the visit is booked again (DSP-4)."""

    event_type: ClassVar[str] = "repairline.dispatch.PartsArrived"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = DISPATCH_EVENTS

    part: str
    arrived_at: datetime


class WrongPartOnSite(Event):
    """Wrong part on site: fetched now if the customer has time, else a new visit (DSP-4)."""

    event_type: ClassVar[str] = "repairline.dispatch.WrongPartOnSite"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = DISPATCH_EVENTS

    part: str
    fetch_now: bool
    reported_at: datetime


class VisitInterrupted(Event):
    """An urgent job came in while on site; how long this one still needs (DSP-10)."""

    event_type: ClassVar[str] = "repairline.dispatch.VisitInterrupted"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = DISPATCH_EVENTS

    engineer_id: str
    urgent_ticket_id: str
    minutes_still_needed: int
    urgent_job_reassigned: bool
    interrupted_at: datetime


class ConsentRecorded(Event):
    """The customer's consent on site (DSP-11): reproduction, disassembly, disk work."""

    event_type: ClassVar[str] = "repairline.dispatch.ConsentRecorded"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = DISPATCH_EVENTS

    fault_reproduced: bool
    disassembly: bool
    disk_operation: bool
    backup_offered: bool
    signed_by: str | None
    recorded_at: datetime


class WorkStarted(Event):
    """Work began; a chargeable job only after its quote was accepted (DSP-11, FEE-4)."""

    event_type: ClassVar[str] = "repairline.dispatch.WorkStarted"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = DISPATCH_EVENTS

    engineer_id: str
    chargeable: bool
    quote_id: str | None
    started_at: datetime


class WorkCarriedForward(Event):
    """Partly done: the rest is carried forward to a new visit."""

    event_type: ClassVar[str] = "repairline.dispatch.WorkCarriedForward"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = DISPATCH_EVENTS

    engineer_id: str
    done: str
    remaining: str
    carried_at: datetime


class VisitEndedWithoutRepair(Event):
    """No work: the quote was refused, or the ticket was closed or cancelled."""

    event_type: ClassVar[str] = "repairline.dispatch.VisitEndedWithoutRepair"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = DISPATCH_EVENTS

    engineer_id: str | None
    reason: str
    quote_id: str | None = None
    ended_at: datetime


class RevisitOpened(Event):
    """FBK-5: a dissatisfied customer; someone goes on site at once."""

    event_type: ClassVar[str] = "repairline.dispatch.RevisitOpened"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = DISPATCH_EVENTS

    case_id: str
    reason: str
    previous_engineer_id: str | None
    opened_at: datetime


class SlaDeadlineApproaching(Event):
    """A DSP-3 deadline is near and not met yet."""

    event_type: ClassVar[str] = "repairline.dispatch.SlaDeadlineApproaching"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = DISPATCH_EVENTS

    deadline: str = Field(description="`visit`, `fix` or `repair`.")
    due_at: datetime
    state: str
    decision: Decision
    detected_at: datetime


class SlaDeadlineBreached(Event):
    """A DSP-3 deadline passed and was not met."""

    event_type: ClassVar[str] = "repairline.dispatch.SlaDeadlineBreached"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = DISPATCH_EVENTS

    deadline: str = Field(description="`visit`, `fix` or `repair`.")
    due_at: datetime
    state: str
    decision: Decision
    detected_at: datetime


class MissedAppointment(Event):
    """PEN-7: a visit that neither happened nor was rescheduled with notice."""

    event_type: ClassVar[str] = "repairline.dispatch.MissedAppointment"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = DISPATCH_EVENTS

    engineer_id: str
    appointment_start: datetime
    appointment_end: datetime
    detected_at: datetime
    reason: str
    decision: Decision


class EscalatedToTechnicalSupport(Event):
    """DSP-5: a fault the engineer has never fixed goes to technical support before the
    visit (decided from dispatch's own repair history), or a dispatcher escalated it."""

    event_type: ClassVar[str] = "repairline.dispatch.EscalatedToTechnicalSupport"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = DISPATCH_EVENTS

    engineer_id: str | None = Field(description="The engineer who will make the visit.")
    product_line: str | None = None
    fault_kind: str | None = Field(default=None, description="The ticket's fault kind, if any.")
    trigger: Literal["no_prior_repair", "manual"] = Field(
        description="`no_prior_repair`: decided on assignment; `manual`: a dispatcher's call."
    )
    reason: str
    escalated_at: datetime
    decision: Decision


class CustomerUnreachable(Event):
    """DSP-8: an attempt to reach the customer failed; what follows is decided."""

    event_type: ClassVar[str] = "repairline.dispatch.CustomerUnreachable"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = DISPATCH_EVENTS

    appointment_id: str
    attempt_at: datetime
    channel: str = Field(description="`phone` (landline) or `mobile`.")
    attempt_no: int = Field(description="Attempts for this appointment, this one included.")
    next_step: str = Field(description="`try_again_later` or `go_anyway`.")
    retry_at: datetime | None = None
    depart_by: datetime | None = Field(default=None, description="DSP-6: latest departure.")
    reason: str
    recorded_at: datetime
    decision: Decision


class StandardSmsSent(Event):
    """DSP-8: the standard SMS to an unreachable mobile (office-equipment); a record that
    it is owed and sent, without the number or the text."""

    event_type: ClassVar[str] = "repairline.dispatch.StandardSmsSent"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = DISPATCH_EVENTS

    appointment_id: str
    template: str = Field(description="The standard message's id.")
    sent_at: datetime
    decision: Decision


class GoingToAddressAnyway(Event):
    """DSP-8: waiting longer would make the engineer late: he goes to the address anyway
    and the coordinator is told; the appointment stays as promised."""

    event_type: ClassVar[str] = "repairline.dispatch.GoingToAddressAnyway"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = DISPATCH_EVENTS

    engineer_id: str
    appointment_id: str
    depart_by: datetime | None
    reported_to: str = "coordinator"
    reason: str
    decided_at: datetime
    decision: Decision


class CustomerReached(Event):
    """DSP-8: the customer answered after failed attempts; waiting for him is over."""

    event_type: ClassVar[str] = "repairline.dispatch.CustomerReached"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = DISPATCH_EVENTS

    channel: str
    reached_at: datetime


class SlaPause(BaseModel):
    """A stretch during which the DSP-3 clock did not run."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: datetime
    end: datetime
    waiting_for: str = Field(description="`parts` or `customer`.")


class SlaDeadlinesRecomputed(Event):
    """DSP-3: the clock resumed after waiting for parts or the customer; the deadlines
    move by the time it was held. Timers of older versions are superseded."""

    event_type: ClassVar[str] = "repairline.dispatch.SlaDeadlinesRecomputed"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = DISPATCH_EVENTS

    version: int = Field(description="Deadline version; 0 is the assignment's.")
    visit_by: datetime | None = None
    fix_by: datetime | None = None
    repair_by: datetime | None = None
    pauses: tuple[SlaPause, ...] = Field(description="Every pause so far.")
    resumed_at: datetime
    reason: str
    decision: Decision


class WorkingHours(BaseModel):
    """Hours an engineer works on some weekdays, local time."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    days: tuple[str, ...]
    start: str
    end: str


class EngineerRosterChanged(Event):
    """An engineer registered, changed or deactivated (DSP-1's roster); the full new
    record except the name. Stream and key: `engineer:<id>`."""

    event_type: ClassVar[str] = "repairline.dispatch.EngineerRosterChanged"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = DISPATCH_EVENTS

    ticket_id: str = Field(
        description="Not a ticket: the roster stream `engineer:<id>`, also the Kafka key."
    )
    engineer_id: str
    change: Literal["registered", "updated", "deactivated"]
    region: str
    skills: tuple[str, ...]
    active: bool
    capacity: int | None = None
    home_lat: float | None = None
    home_lon: float | None = None
    working_hours: tuple[WorkingHours, ...] | None = Field(
        default=None, description="None: the network's business hours."
    )
    service_point_id: str | None = None
    changed_at: datetime


class ServicePointChanged(Event):
    """A service point registered, changed or deactivated. Stream and key:
    `service-point:<id>`."""

    event_type: ClassVar[str] = "repairline.dispatch.ServicePointChanged"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = DISPATCH_EVENTS

    ticket_id: str = Field(
        description="Not a ticket: the roster stream `service-point:<id>`, also the Kafka key."
    )
    service_point_id: str
    change: Literal["registered", "updated", "deactivated"]
    name: str
    region: str
    city_tier: str
    lat: float | None = None
    lon: float | None = None
    active: bool
    changed_at: datetime


class KeyAccountChanged(Event):
    """A key account (DSP-13) registered or changed: the organisation, its fleet size and
    its depot. Stream and key: `key-account:<id>`."""

    event_type: ClassVar[str] = "repairline.dispatch.KeyAccountChanged"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = DISPATCH_EVENTS

    ticket_id: str = Field(
        description="Not a ticket: the stream `key-account:<id>`, also the Kafka key."
    )
    key_account_id: str
    organisation: str
    units: int = Field(ge=1)
    service_point_id: str | None = None
    changed_at: datetime


class PlannedStop(BaseModel):
    """One visit of an engineer's planned day (times with the pack's offset)."""

    model_config = ConfigDict(frozen=True)

    ticket_id: str
    arrive: datetime = Field(description="DSP-6: planned arrival, the margin ahead of start.")
    start: datetime
    end: datetime
    depart_by: datetime
    travel_minutes: int
    reason: str = Field(description="Why the job went here, in the rules' words (DSP-1 ...).")


class PlannedRoute(BaseModel):
    """An engineer's planned day: the visits in order, the travel, the time back home."""

    model_config = ConfigDict(frozen=True)

    engineer_id: str
    stops: tuple[PlannedStop, ...]
    travel_minutes: int
    back_home: datetime


class LeftOut(BaseModel):
    """A ticket a plan or a commit did not act on, and why."""

    model_config = ConfigDict(frozen=True)

    ticket_id: str
    reason: str


class PlanFigures(BaseModel):
    """What a day plan achieves: jobs planned and left out, DSP-3 misses, travel, load."""

    model_config = ConfigDict(frozen=True)

    jobs: int
    engineers: int
    planned: int
    unplanned: int
    sla_missed: int = Field(description="DSP-3: jobs due on site that day, late or unplanned.")
    travel_min: float
    jobs_per_engineer_max: int
    jobs_per_engineer_min: int
    service_hours_spread: float


class TicketVersion(BaseModel):
    """A ticket's stream version when it was planned."""

    model_config = ConfigDict(frozen=True)

    ticket_id: str
    version: int


class DayPlanProposed(Event):
    """A region's day planned by the solver for the dispatcher to review (DSP-1..6): per
    engineer the sequence, times and travel; per ticket why it went there or why it is
    left out. Nothing is assigned until the plan is committed. Stream and key:
    `plan:<region>:<date>`."""

    event_type: ClassVar[str] = "repairline.dispatch.DayPlanProposed"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = DISPATCH_EVENTS

    ticket_id: str = Field(
        description="Not a ticket: the plan stream `plan:<region>:<date>`, also the Kafka key."
    )
    plan_id: str = Field(description="`<region>:<date>:<n>`, the n-th proposal of that day.")
    region: str
    date: str = Field(description="The planned day, ISO 8601 (YYYY-MM-DD), in the pack's zone.")
    method: str
    budget_seconds: float
    travel_model: str
    routes: tuple[PlannedRoute, ...]
    unplanned: tuple[LeftOut, ...]
    figures: PlanFigures
    based_on: tuple[TicketVersion, ...] = Field(
        description="Each planned ticket's stream version when planned: a later event on it"
        " makes the plan stale for that ticket."
    )
    pinned: tuple[str, ...] = Field(
        default=(),
        description="Tickets already booked: kept with their engineer and agreed window.",
    )
    proposed_at: datetime
    decision: Decision | None = None


class DayPlanCommitted(Event):
    """The dispatcher committed a proposed day plan: only the tickets whose engineer or
    booking changes got `EngineerAssigned` / `AppointmentScheduled`; tickets whose stream
    moved since the plan are skipped with the reason. Stream and key:
    `plan:<region>:<date>`."""

    event_type: ClassVar[str] = "repairline.dispatch.DayPlanCommitted"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = DISPATCH_EVENTS

    ticket_id: str = Field(
        description="Not a ticket: the plan stream `plan:<region>:<date>`, also the Kafka key."
    )
    plan_id: str
    committed_by: str
    changed: tuple[str, ...] = Field(description="The tickets that got events.")
    skipped: tuple[LeftOut, ...] = Field(
        description="Tickets not acted on: stale since the plan, or an agreed window the plan"
        " would move (left as booked; DSP-2 needs the customer's consent)."
    )
    committed_at: datetime


class InspectionRecorded(Event):
    """What the engineer found at the unit (WAR-3, WAR-4): the supply voltage, the wiring,
    misuse or a repair by someone unauthorised, and the warranty card and invoice he saw.
    Intake decides the warranty on it; a field left out (null) keeps what was recorded."""

    event_type: ClassVar[str] = "repairline.dispatch.InspectionRecorded"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = DISPATCH_EVENTS

    engineer_id: str
    inspected_at: datetime
    supply_voltage_v: float | None = Field(default=None, description="WAR-4: measured.")
    wiring_to_code: bool | None = Field(default=None, description="WAR-4.")
    misuse: bool | None = Field(default=None, description="WAR-4: misuse or poor care.")
    unauthorised_repair: bool | None = Field(
        default=None, description="WAR-4: installed or repaired by an unauthorised party."
    )
    card_model: str | None = Field(default=None, description="WAR-4: the model on the card.")
    card_serial_no: str | None = Field(default=None, description="WAR-4: the serial on the card.")
    warranty_card_date: date | None = Field(default=None, description="WAR-3: the card seen.")
    invoice_date: date | None = Field(default=None, description="WAR-3, WAR-5: the invoice seen.")

    def stated(self) -> dict[str, object]:
        """The proof fields the engineer stated (not null)."""
        fields = (
            "supply_voltage_v",
            "wiring_to_code",
            "misuse",
            "unauthorised_repair",
            "card_model",
            "card_serial_no",
            "warranty_card_date",
            "invoice_date",
        )
        return {f: getattr(self, f) for f in fields if getattr(self, f) is not None}


class CustomerSearched(Event):
    """DSP-9: before 'customer not found', the engineer on site knocked (every 30 s) or
    phoned the customer (after the pack's minutes); the pack's timeline is the decision."""

    event_type: ClassVar[str] = "repairline.dispatch.CustomerSearched"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str] = DISPATCH_EVENTS

    engineer_id: str
    step: Literal["knock", "phone"] = Field(description="What the engineer did.")
    at: datetime
    arrived_at: datetime
    phone_at: datetime = Field(description="DSP-9: phone from this time.")
    leave_note_at: datetime = Field(description="DSP-9: the note may be left from this time.")
    decision: Decision


# Roster events: keyed by `engineer:<id>` / `service-point:<id>`, not by a ticket.
ROSTER_EVENTS: tuple[type[Event], ...] = (EngineerRosterChanged, ServicePointChanged)

# Day plans: keyed by `plan:<region>:<date>`, not by a ticket.
PLAN_EVENTS: tuple[type[Event], ...] = (DayPlanProposed, DayPlanCommitted)

# Every event this context publishes, for the registry.
EVENTS: tuple[type[Event], ...] = (
    EngineerAssigned,
    AssignmentWaiting,
    ArrivedOnSite,
    RepairCompleted,
    EngineerReleased,
    AppointmentScheduled,
    AppointmentRescheduled,
    RescheduleRefused,
    EngineerDeparted,
    EngineerDelayed,
    LatenessNoticeDue,
    CustomerNotFound,
    PartsRequested,
    PartsBackordered,
    PartsArrived,
    WrongPartOnSite,
    VisitInterrupted,
    ConsentRecorded,
    WorkStarted,
    WorkCarriedForward,
    VisitEndedWithoutRepair,
    RevisitOpened,
    SlaDeadlineApproaching,
    SlaDeadlineBreached,
    MissedAppointment,
    EscalatedToTechnicalSupport,
    CustomerUnreachable,
    StandardSmsSent,
    GoingToAddressAnyway,
    CustomerReached,
    SlaDeadlinesRecomputed,
    InspectionRecorded,
    CustomerSearched,
    *ROSTER_EVENTS,
    KeyAccountChanged,
    *PLAN_EVENTS,
)

# The events of a ticket's visit (every event but the roster's and the key accounts').
TICKET_EVENTS: tuple[type[Event], ...] = tuple(
    e for e in EVENTS if e not in (*ROSTER_EVENTS, KeyAccountChanged, *PLAN_EVENTS)
)
