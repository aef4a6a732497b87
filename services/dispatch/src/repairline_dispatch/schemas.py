"""Dispatch's HTTP request and answer models, with their examples; each request turns
itself into the domain's command."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from repairline_contracts.dispatch import RepairRecord
from repairline_contracts.intake import CityTier
from repairline_dispatch.domain import plan, roster, visit
from repairline_platform import bounds
from repairline_platform.bounds import (
    MAX_CAPACITY,
    MAX_MINUTES,
    MAX_UNITS,
    CalendarDate,
    Identifier,
    Moment,
    PastDate,
    Region,
    text,
)

Name = text(100)
Line = text(500)
Text = text(2000, multi_line=True)

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _ex(example: dict[str, Any]) -> ConfigDict:
    return ConfigDict(extra="forbid", json_schema_extra={"examples": [example]})


class GeoPointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class HoursIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days: list[Weekday] = Field(min_length=1)
    start: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    end: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$")


class EngineerIn(BaseModel):
    """An engineer: region, skills (product lines), hours, home base, capacity (DSP-1)."""

    model_config = _ex(
        {
            "name": "Zhang Min",
            "region": "cn-east",
            "skills": ["instant_water_heater"],
            "capacity": 6,
            "home": {"lat": 30.27, "lon": 120.15},
            "working_hours": [{"days": ["mon", "tue", "wed"], "start": "08:30", "end": "17:30"}],
            "service_point_id": "sp-hz-01",
        }
    )

    name: Name
    region: Region
    skills: list[Identifier] = Field(
        min_length=1, max_length=100, description="Product lines the engineer repairs."
    )
    active: bool = True
    capacity: int | None = Field(
        default=None,
        ge=0,
        le=MAX_CAPACITY,
        description="Most open jobs at once (DSP-1); null, the default: unlimited.",
    )
    home: GeoPointIn | None = Field(default=None, description="Home base, for travel times.")
    working_hours: list[HoursIn] | None = Field(
        default=None, description="Default: the network's business hours."
    )
    service_point_id: Identifier | None = Field(default=None, description="The engineer's outlet.")

    def command(self, engineer_id: str) -> roster.ChangeEngineer:
        record = self.model_dump(mode="json", exclude={"name"})
        return roster.ChangeEngineer(engineer_id, self.name, record)


class ServicePointIn(BaseModel):
    """A service point (服务网点) with its city tier (FEE-1, DSP-3)."""

    model_config = _ex(
        {
            "name": "Hangzhou West outlet",
            "region": "cn-east",
            "city_tier": "provincial_capital",
            "location": {"lat": 30.27, "lon": 120.12},
        }
    )

    name: Name
    region: Region
    city_tier: CityTier
    location: GeoPointIn | None = None
    active: bool = True

    def command(self, service_point_id: str) -> roster.ChangeServicePoint:
        return roster.ChangeServicePoint(service_point_id, self.model_dump(mode="json"))


class KeyAccountIn(BaseModel):
    """DSP-13: a business customer locked to a depot, with its fleet size."""

    model_config = _ex({"organisation": "Acme Trading", "units": 40, "service_point_id": "sp-1"})

    organisation: text(200)
    units: int = Field(
        ge=1, le=MAX_UNITS, description="Machines under the account (for the failure rate)."
    )
    service_point_id: Identifier | None = None

    def command(self, key_account_id: str) -> roster.ChangeKeyAccount:
        return roster.ChangeKeyAccount(
            key_account_id, self.organisation, self.units, self.service_point_id
        )


class WindowIn(bounds.WindowIn):  # the one window shape, with the domain's window
    @property
    def window(self) -> tuple[datetime, datetime]:
        return self.start, self.end

    def command(self, ticket_id: str) -> visit.BookVisit:
        return visit.BookVisit(ticket_id, self.window)


class RescheduleIn(WindowIn):
    model_config = _ex(
        {
            "start": "2026-11-24T16:00:00+08:00",
            "end": "2026-11-24T17:00:00+08:00",
            "reason": "previous job overran",
            "requested_by": "engineer",
            "customer_consents": True,
        }
    )

    reason: Line
    requested_by: Literal["customer", "engineer", "dispatcher"] = "engineer"
    customer_consents: bool = Field(description="DSP-1: refused sends the job back.")

    def command(self, ticket_id: str) -> visit.Reschedule:  # type: ignore[override]
        by, consents = self.requested_by, self.customer_consents
        return visit.Reschedule(ticket_id, self.window, self.reason, by, consents)


class ArrivalIn(BaseModel):
    model_config = _ex({"engineer_id": "eng-hz-01"})

    engineer_id: Identifier | None = Field(
        default=None, description="Checked against the assignment."
    )

    def command(self, ticket_id: str) -> visit.Arrive:
        return visit.Arrive(ticket_id, self.engineer_id)


class EmptyIn(BaseModel):
    model_config = _ex({})


class DelayIn(BaseModel):
    model_config = _ex({"expected_arrival": "2026-11-24T14:40:00+08:00", "cause": "traffic"})

    expected_arrival: Moment
    cause: Line | None = Field(
        default=None, description="e.g. traffic; 'too_many_customers' is never accepted."
    )
    new_window: WindowIn | None = Field(default=None, description="DSP-7: the agreed new time.")

    def command(self, ticket_id: str) -> visit.ReportDelay:
        window = self.new_window.window if self.new_window else None
        return visit.ReportDelay(ticket_id, self.expected_arrival, self.cause, window)


class NotFoundIn(BaseModel):
    model_config = _ex({"at_business": False})

    at_business: bool = Field(default=False, description="DSP-9: note at the front desk.")

    def command(self, ticket_id: str) -> visit.ReportCustomerNotFound:
        return visit.ReportCustomerNotFound(ticket_id, self.at_business)


class SearchIn(BaseModel):
    model_config = _ex({"step": "knock", "at_business": False})

    step: Literal["knock", "phone"] = Field(description="DSP-9: a knock, or a phone call.")
    at_business: bool = Field(default=False, description="DSP-9: no knocking at a business.")

    def command(self, ticket_id: str) -> visit.RecordSearch:
        return visit.RecordSearch(ticket_id, self.step, self.at_business)


class SearchOut(BaseModel):
    """DSP-9: what the pack asks before 'customer not found', what was recorded, what is
    still missing (`knock`, `phone`, `wait`)."""

    arrived_at: datetime
    knocks_required: int
    knock_every_seconds: int
    knocks: list[datetime]
    phone_at: datetime
    phone_calls: list[datetime]
    leave_note_at: datetime
    note_left_at: str = Field(description="`door` or `front_desk`.")
    missing: list[Literal["knock", "phone", "wait"]]
    decision: dict[str, Any] = Field(description="The pack, its version and DSP-9.")


class PartsIn(BaseModel):
    model_config = _ex({"part": "thermostat", "status": "backordered"})

    part: text(64)
    status: Literal["needed", "backordered", "arrived", "wrong"]
    customer_has_time: bool = Field(default=False, description="Wrong part: fetch it now.")
    new_window: WindowIn | None = Field(default=None, description="Arrived: book it at once.")

    def command(self, ticket_id: str) -> visit.ReportPart:
        window = self.new_window.window if self.new_window else None
        return visit.ReportPart(ticket_id, self.part, self.status, self.customer_has_time, window)


class InterruptionIn(BaseModel):
    model_config = _ex({"urgent_ticket_id": "0b7c...", "minutes_still_needed": 40})

    urgent_ticket_id: Identifier
    minutes_still_needed: int = Field(ge=0, le=MAX_MINUTES)

    def command(self, ticket_id: str) -> visit.Interrupt:
        return visit.Interrupt(ticket_id, self.urgent_ticket_id, self.minutes_still_needed)


class ConsentIn(BaseModel):
    model_config = _ex(
        {
            "fault_reproduced": True,
            "disassembly": True,
            "disk_operation": True,
            "backup_offered": True,
            "signed_by": "Li Wei",
            "adult_present": True,
        }
    )

    fault_reproduced: bool
    disassembly: bool = False
    disk_operation: bool = False
    backup_offered: bool = False
    signed_by: Name | None = None
    adult_present: bool = True

    def command(self, ticket_id: str) -> visit.RecordConsent:
        return visit.RecordConsent(ticket_id, **self.model_dump())


class RepairRecordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fault_found: Text
    parts_replaced: list[text(64)] = Field(default_factory=list, max_length=100)
    notes: text(2000, min_length=0, multi_line=True) = ""


class CompletionIn(BaseModel):
    model_config = _ex(
        {
            "resolution": "replaced the thermostat",
            "signed_by": "Li Wei",
            "repair_record": {"fault_found": "thermostat open", "parts_replaced": ["thermostat"]},
        }
    )

    resolution: Text = Field(description="What was done.")
    signed_by: Name | None = Field(default=None, description="DSP-12: who signed.")
    repair_record: RepairRecordIn | None = None
    test_run_minutes: int | None = Field(
        default=None, ge=0, le=MAX_MINUTES, description="Installations."
    )

    def command(self, ticket_id: str) -> visit.Complete:
        r = self.repair_record
        record = (
            RepairRecord(
                fault_found=r.fault_found, parts_replaced=tuple(r.parts_replaced), notes=r.notes
            )
            if r
            else None
        )
        return visit.Complete(
            ticket_id, self.resolution, self.signed_by, record, self.test_run_minutes
        )


class PartialIn(BaseModel):
    model_config = _ex({"done": "old unit removed", "remaining": "mount the new tank"})

    done: Text
    remaining: Text

    def command(self, ticket_id: str) -> visit.CarryForward:
        return visit.CarryForward(ticket_id, self.done, self.remaining)


class ReasonIn(BaseModel):
    model_config = _ex({"reason": "engineer called away"})

    reason: Line

    @field_validator("reason")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    def command(self, ticket_id: str) -> visit.Reassign:
        return visit.Reassign(ticket_id, self.reason)

    def release(self, ticket_id: str) -> visit.Release:
        return visit.Release(ticket_id, self.reason)


class EscalationIn(BaseModel):
    model_config = _ex({"reason": "intermittent fault the engineer has not seen"})

    reason: Line = Field(description="DSP-5: why support is asked.")

    def command(self, ticket_id: str) -> visit.Escalate:
        return visit.Escalate(ticket_id, self.reason)


class UnreachableIn(BaseModel):
    model_config = _ex({"attempt_at": "2026-11-24T13:20:00+08:00", "channel": "mobile"})

    attempt_at: Moment = Field(description="When the call went unanswered.")
    channel: Literal["phone", "mobile"] = Field(
        description="DSP-8: an unreachable mobile gets the standard SMS (office-equipment)."
    )

    def command(self, ticket_id: str) -> visit.ReportUnreachable:
        return visit.ReportUnreachable(ticket_id, self.attempt_at, self.channel)


class ReachedIn(BaseModel):
    model_config = _ex({"channel": "mobile"})

    channel: Literal["phone", "mobile"] = "phone"

    def command(self, ticket_id: str) -> visit.RecordCustomerReached:
        return visit.RecordCustomerReached(ticket_id, self.channel)


class CommandDone(BaseModel):
    """Every visit command's answer: the events recorded, in the caller's conversation."""

    ticket_id: str
    event: str = Field(description="The first event recorded (compatibility).")
    event_id: str = Field(description="The first event's id (compatibility).")
    events: list[str]
    event_ids: list[str]
    correlation_id: str
    version: int = Field(description="The ticket's stream version after the command.")
    state: str = Field(description="The visit's state after the command.")


class InspectionIn(BaseModel):
    """WAR-3, WAR-4: what the engineer finds at the unit; a field left out is not stated
    and keeps what intake recorded."""

    model_config = _ex(
        {"supply_voltage_v": 250, "wiring_to_code": True, "invoice_date": "2026-03-01"}
    )

    supply_voltage_v: float | None = Field(default=None, ge=0, le=1000, allow_inf_nan=False)
    wiring_to_code: bool | None = None
    misuse: bool | None = Field(default=None, description="Misuse or poor care.")
    unauthorised_repair: bool | None = Field(
        default=None, description="Installed or repaired by an unauthorised party."
    )
    card_model: Identifier | None = Field(default=None, description="The model on the card.")
    card_serial_no: Identifier | None = Field(default=None, description="The card's serial.")
    warranty_card_date: PastDate | None = Field(default=None, description="The card seen.")
    invoice_date: PastDate | None = Field(default=None, description="The invoice seen.")

    def command(self, ticket_id: str) -> visit.RecordInspection:
        return visit.RecordInspection(ticket_id, self.model_dump(exclude_none=True))


class DelayDone(CommandDone):
    """DSP-7: the delay recorded, and what the engineer's notice was worth."""

    notice: str = Field(description="The notice owed: running_late, delay_within_half_day, ...")
    notice_in_time: bool = Field(description="False: the customer was told too late.")
    notify_customer_by: datetime | None = Field(
        description="By when the customer had to be told (with its time zone); null: at once."
    )
    reason_accepted: bool = Field(description="'Too many customers' is never accepted.")
    agree_new_time: bool = Field(description="A new time is to be agreed with the customer.")


class PlanIn(BaseModel):
    """A region's day to plan (DSP-1..6), with the time the dispatcher will wait."""

    model_config = _ex({"region": "cn-east", "day": "2026-12-03", "budget_seconds": 10})

    region: Region
    day: CalendarDate = Field(description="The day to plan, in the pack's time zone.")
    budget_seconds: float | None = Field(
        default=None,
        gt=0,
        le=plan.MAX_BUDGET_SECONDS,
        description="The solver's time; default 10 s, 60 s above 500 tickets.",
    )

    def command(self) -> plan.ProposeDayPlan:
        return plan.ProposeDayPlan(self.region, self.day, self.budget_seconds)


class CommitPlanIn(BaseModel):
    """Who commits the plan (the dispatcher's id)."""

    model_config = _ex({"committed_by": "dispatcher-7"})

    committed_by: text(64)

    def command(self, plan_id: str) -> plan.CommitDayPlan:
        return plan.CommitDayPlan(plan_id, self.committed_by)


class PlanDone(BaseModel):
    """A plan command's answer: the plan stream's events, and the plan's id."""

    plan_stream: str
    plan_id: str
    events: list[str]
    event_ids: list[str]
    correlation_id: str
    version: int
    figures: dict[str, float | int] | None = None
    changed: list[str] | None = None
    skipped: int | None = None
