"""Dispatch HTTP API: the roster, service points, key accounts, appointments and the
engineer's app commands for the visit."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Header, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from repairline_contracts.base import Event
from repairline_contracts.dispatch import RepairRecord
from repairline_contracts.intake import CityTier
from repairline_dispatch import domain
from repairline_dispatch.domain.roster import engineer_changed, service_point_changed
from repairline_dispatch.handlers import (
    Ctx,
    _point,
    append,
    assign,
    confirm_by,
    escalation_on_booking,
    fixed_before,
    load_engineers,
    load_visit,
    record_roster,
    sla_resumed,
    ticket_facts,
)
from repairline_platform.eventstore import UnitOfWork, retry_on_concurrency
from repairline_platform.http import NotFound
from repairline_platform.logging import get_logger
from repairline_platform.runtime import Runtime
from repairline_rules import refusals

log = get_logger(__name__)

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

    name: str = Field(min_length=1, max_length=100)
    region: str = Field(min_length=1, max_length=50)
    skills: list[str] = Field(min_length=1, description="Product lines the engineer repairs.")
    active: bool = True
    capacity: int | None = Field(default=None, ge=0, description="Most open jobs at once.")
    home: GeoPointIn | None = Field(default=None, description="Home base, for travel times.")
    working_hours: list[HoursIn] | None = Field(
        default=None, description="Default: the network's business hours."
    )
    service_point_id: str | None = Field(default=None, description="The engineer's outlet.")


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

    name: str = Field(min_length=1, max_length=100)
    region: str = Field(min_length=1, max_length=50)
    city_tier: CityTier
    location: GeoPointIn | None = None
    active: bool = True


class KeyAccountIn(BaseModel):
    """DSP-13: a business customer locked to a depot, with its fleet size."""

    model_config = _ex({"organisation": "Acme Trading", "units": 40, "service_point_id": "sp-1"})

    organisation: str = Field(min_length=1, max_length=200)
    units: int = Field(ge=1, description="Machines under the account (for the failure rate).")
    service_point_id: str | None = None


class WindowIn(BaseModel):
    model_config = _ex(
        {"window_start": "2026-11-24T14:00:00+08:00", "window_end": "2026-11-24T15:00:00+08:00"}
    )

    window_start: AwareDatetime
    window_end: AwareDatetime


class RescheduleIn(WindowIn):
    model_config = _ex(
        {
            "window_start": "2026-11-24T16:00:00+08:00",
            "window_end": "2026-11-24T17:00:00+08:00",
            "reason": "previous job overran",
            "requested_by": "engineer",
            "customer_consents": True,
        }
    )

    reason: str = Field(min_length=1, max_length=500)
    requested_by: Literal["customer", "engineer", "dispatcher"] = "engineer"
    customer_consents: bool = Field(description="DSP-1: refused sends the job back.")


class ArrivalIn(BaseModel):
    model_config = _ex({"engineer_id": "eng-hz-01"})

    engineer_id: str | None = Field(default=None, description="Checked against the assignment.")


class EmptyIn(BaseModel):
    model_config = _ex({})


class DelayIn(BaseModel):
    model_config = _ex({"expected_arrival": "2026-11-24T14:40:00+08:00", "cause": "traffic"})

    expected_arrival: AwareDatetime
    cause: str | None = Field(
        default=None, description="e.g. traffic; 'too_many_customers' is never accepted."
    )
    new_window: WindowIn | None = Field(default=None, description="DSP-7: the agreed new time.")


class NotFoundIn(BaseModel):
    model_config = _ex({"at_business": False})

    at_business: bool = Field(default=False, description="DSP-9: note at the front desk.")


class PartsIn(BaseModel):
    model_config = _ex({"part": "thermostat", "status": "backordered"})

    part: str = Field(min_length=1, max_length=64)
    status: Literal["needed", "backordered", "arrived", "wrong"]
    customer_has_time: bool = Field(default=False, description="Wrong part: fetch it now.")
    new_window: WindowIn | None = Field(default=None, description="Arrived: book it at once.")


class InterruptionIn(BaseModel):
    model_config = _ex({"urgent_ticket_id": "0b7c...", "minutes_still_needed": 40})

    urgent_ticket_id: str
    minutes_still_needed: int = Field(ge=0)


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
    signed_by: str | None = None
    adult_present: bool = True


class RepairRecordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fault_found: str = Field(min_length=1, max_length=2000)
    parts_replaced: list[str] = Field(default_factory=list)
    notes: str = ""


class CompletionIn(BaseModel):
    model_config = _ex(
        {
            "resolution": "replaced the thermostat",
            "signed_by": "Li Wei",
            "repair_record": {"fault_found": "thermostat open", "parts_replaced": ["thermostat"]},
        }
    )

    resolution: str = Field(min_length=1, max_length=2000, description="What was done.")
    signed_by: str | None = Field(default=None, description="DSP-12: who signed.")
    repair_record: RepairRecordIn | None = None
    test_run_minutes: int | None = Field(default=None, ge=0, description="Installations.")


class PartialIn(BaseModel):
    model_config = _ex({"done": "old unit removed", "remaining": "mount the new tank"})

    done: str = Field(min_length=1, max_length=2000)
    remaining: str = Field(min_length=1, max_length=2000)


class ReasonIn(BaseModel):
    model_config = _ex({"reason": "engineer called away"})

    reason: str = Field(min_length=1, max_length=500)

    @field_validator("reason")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()


class EscalationIn(BaseModel):
    model_config = _ex({"reason": "intermittent fault the engineer has not seen"})

    reason: str = Field(min_length=1, max_length=500, description="DSP-5: why support is asked.")


class UnreachableIn(BaseModel):
    model_config = _ex({"attempt_at": "2026-11-24T13:20:00+08:00", "channel": "mobile"})

    attempt_at: AwareDatetime = Field(description="When the call went unanswered.")
    channel: Literal["phone", "mobile"] = Field(
        description="DSP-8: an unreachable mobile gets the standard SMS (office-equipment)."
    )


class ReachedIn(BaseModel):
    model_config = _ex({"channel": "mobile"})

    channel: Literal["phone", "mobile"] = "phone"


class CommandDone(BaseModel):
    ticket_id: str
    event: str = Field(description="The first event recorded (compatibility).")
    event_id: str
    events: list[str]
    state: str


def _window(w: WindowIn) -> tuple[datetime, datetime]:
    return w.window_start, w.window_end


def routes(rt: Runtime, ctx_of: Callable[[Runtime], Ctx]) -> APIRouter:
    router = APIRouter(tags=["dispatch"])

    def ctx() -> Ctx:
        return ctx_of(rt)

    @router.put("/engineers/{engineer_id}")
    async def put_engineer(
        engineer_id: str, body: EngineerIn, x_correlation_id: str | None = Header(default=None)
    ) -> dict[str, Any]:
        """Add or change an engineer: an EngineerRosterChanged event on stream
        `engineer:<id>` (the roster log); tickets waiting for such an engineer are assigned."""
        hours = (
            json.dumps([h.model_dump() for h in body.working_hours]) if body.working_hours else None
        )
        async with rt.unit_of_work() as uow:
            previous = await uow.conn.fetchrow(
                "select active from engineers where engineer_id = $1 for update", engineer_id
            )
            await uow.conn.execute(
                "insert into engineers (engineer_id, name, region, skills, active, updated_at,"
                " capacity, home_lat, home_lon, hours, service_point_id)"
                " values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11)"
                " on conflict (engineer_id) do update set"
                " name = excluded.name, region = excluded.region, skills = excluded.skills,"
                " active = excluded.active, updated_at = excluded.updated_at,"
                " capacity = excluded.capacity, home_lat = excluded.home_lat,"
                " home_lon = excluded.home_lon, hours = excluded.hours,"
                " service_point_id = excluded.service_point_id",
                engineer_id,
                body.name,
                body.region,
                sorted(set(body.skills)),
                body.active,
                uow.now(),
                body.capacity,
                body.home and body.home.lat,
                body.home and body.home.lon,
                hours,
                body.service_point_id,
            )
            await record_roster(
                uow,
                engineer_changed(
                    engineer_id,
                    previous,
                    body.model_dump(mode="json", exclude={"name"}),
                    now=uow.now(),
                ),
                correlation_id=x_correlation_id or str(uuid.uuid4()),
            )
            waiting = await uow.conn.fetch(
                "select ticket_id, correlation_id from waiting_tickets"
                " where region = $1 and skill = any($2::text[]) order by since",
                body.region,
                body.skills,
            )
            for w in waiting:
                await assign(
                    uow,
                    ctx(),
                    w["ticket_id"],
                    correlation_id=w["correlation_id"],
                    causation=f"engineer:{engineer_id}",
                )
        return {"engineer_id": engineer_id, **body.model_dump(), "assigned_waiting": len(waiting)}

    @router.get("/engineers")
    async def list_engineers() -> list[dict[str, Any]]:
        """The roster with each engineer's open jobs."""
        rows = await rt.pool.fetch(
            "select e.engineer_id, e.name, e.region, e.skills, e.active, e.capacity,"
            " e.service_point_id,"
            " (select count(*) from engineer_jobs j where j.engineer_id = e.engineer_id"
            "  and j.open) as open_jobs from engineers e order by e.engineer_id"
        )
        return [dict(r) for r in rows]

    @router.get("/engineers/{engineer_id}/schedule")
    async def schedule(engineer_id: str) -> list[dict[str, Any]]:
        """The engineer's active appointments, in order."""
        rows = await rt.pool.fetch(
            "select appointment_id, ticket_id, starts_at, ends_at from appointments"
            " where engineer_id = $1 and active order by starts_at",
            engineer_id,
        )
        return [dict(r) for r in rows]

    @router.get("/roster-log")
    async def roster_log(
        subject: str | None = Query(default=None, examples=["engineer:eng-hz-01"]),
    ) -> list[dict[str, Any]]:
        """Changes to engineers and service points, oldest first: a projection of the
        roster events (subject: `engineer:<id>` or `service-point:<id>`)."""
        rows = await rt.pool.fetch(
            "select event_id, subject, version, type, data, recorded_at from roster_log"
            " where $1::text is null or subject = $1 order by recorded_at, subject, version",
            subject,
        )
        return [{**dict(r), "data": json.loads(r["data"])} for r in rows]

    @router.put("/service-points/{service_point_id}")
    async def put_service_point(
        service_point_id: str,
        body: ServicePointIn,
        x_correlation_id: str | None = Header(default=None),
    ) -> dict[str, Any]:
        """Add or change a service point (a ServicePointChanged event on stream
        `service-point:<id>`); DSP-3 visit commitments need one (water-heater)."""
        async with rt.unit_of_work() as uow:
            previous = await uow.conn.fetchrow(
                "select active from service_points where service_point_id = $1 for update",
                service_point_id,
            )
            await uow.conn.execute(
                "insert into service_points (service_point_id, name, region, city_tier, lat, lon,"
                " active, updated_at) values ($1, $2, $3, $4, $5, $6, $7, $8)"
                " on conflict (service_point_id) do update set name = excluded.name,"
                " region = excluded.region, city_tier = excluded.city_tier, lat = excluded.lat,"
                " lon = excluded.lon, active = excluded.active, updated_at = excluded.updated_at",
                service_point_id,
                body.name,
                body.region,
                body.city_tier.value,
                body.location and body.location.lat,
                body.location and body.location.lon,
                body.active,
                uow.now(),
            )
            await record_roster(
                uow,
                service_point_changed(
                    service_point_id, previous, body.model_dump(mode="json"), now=uow.now()
                ),
                correlation_id=x_correlation_id or str(uuid.uuid4()),
            )
        return {"service_point_id": service_point_id, **body.model_dump(mode="json")}

    @router.get("/service-points")
    async def list_service_points() -> list[dict[str, Any]]:
        """The service points with their region and city tier."""
        rows = await rt.pool.fetch(
            "select service_point_id, name, region, city_tier, active from service_points"
            " order by service_point_id"
        )
        return [dict(r) for r in rows]

    @router.put("/key-accounts/{key_account_id}")
    async def put_key_account(key_account_id: str, body: KeyAccountIn) -> dict[str, Any]:
        """DSP-13: a key account; its tickets carry its id from intake."""
        async with rt.unit_of_work() as uow:
            await uow.conn.execute(
                "insert into key_accounts (key_account_id, organisation, units, service_point_id,"
                " updated_at) values ($1, $2, $3, $4, $5) on conflict (key_account_id) do update"
                " set organisation = excluded.organisation, units = excluded.units,"
                " service_point_id = excluded.service_point_id, updated_at = excluded.updated_at",
                key_account_id,
                body.organisation,
                body.units,
                body.service_point_id,
                uow.now(),
            )
        return {"key_account_id": key_account_id, **body.model_dump()}

    @router.get("/key-accounts/{key_account_id}/file")
    async def maintenance_file(key_account_id: str) -> dict[str, Any]:
        """DSP-13: the maintenance file: repair history and failure rate."""
        account = await rt.pool.fetchrow(
            "select * from key_accounts where key_account_id = $1", key_account_id
        )
        if account is None:
            raise NotFound(f"no key account {key_account_id}")
        history = await rt.pool.fetch(
            "select ticket_id, serial_no, product_line, requested_at, completed_at, resolution,"
            " engineer_id from repair_history where key_account_id = $1"
            " order by requested_at, ticket_id",
            key_account_id,
        )
        repaired = [h for h in history if h["completed_at"] is not None]
        units_failed = len({h["serial_no"] for h in history if h["serial_no"]})
        return {
            "key_account_id": key_account_id,
            "organisation": account["organisation"],
            "units": account["units"],
            "tickets": len(history),
            "repairs_completed": len(repaired),
            "units_failed": units_failed,
            "failure_rate": round(units_failed / account["units"], 4),
            "history": [dict(h) for h in history],
            "rule_id": "DSP-13",
        }

    async def _command(
        ticket_id: str,
        decide: Callable[[domain.Visit, UnitOfWork], Awaitable[Event | list[Event]]],
        correlation_id: str | None,
    ) -> Any:
        cid = correlation_id or str(uuid.uuid4())
        return await retry_on_concurrency(lambda: _attempt(ticket_id, decide, cid))

    async def _attempt(
        ticket_id: str,
        decide: Callable[[domain.Visit, UnitOfWork], Awaitable[Event | list[Event]]],
        cid: str,
    ) -> Any:
        if True:
            async with rt.unit_of_work() as uow:
                events, visit = await load_visit(uow, ticket_id)
                if not events:
                    raise NotFound(f"dispatch has no ticket {ticket_id}")
                decided = await decide(visit, uow)
                new = decided if isinstance(decided, list) else [decided]
                after = visit
                for event in new:
                    after = domain.evolve(after, event)
                resumed = await sla_resumed(uow, ctx(), visit, after)  # DSP-3
                escalated = await escalation_on_booking(uow, ctx(), visit, new)  # DSP-5
                for extra in (resumed, escalated):
                    if extra is not None:
                        new.append(extra)
                        after = domain.evolve(after, extra)
                envelopes = await append(
                    uow,
                    ctx(),
                    ticket_id,
                    new,
                    expected_version=len(events),
                    correlation_id=cid,
                    causation_id=f"http:{cid}",
                    region=visit.region,
                )
                if after.state is domain.VisitState.NEW:  # released: back to DSP-1
                    await assign(
                        uow, ctx(), ticket_id, correlation_id=cid, causation=envelopes[-1].id
                    )
        log.info("visit updated", ticket_id=ticket_id, event_id=envelopes[0].id, correlation_id=cid)
        return CommandDone(
            ticket_id=ticket_id,
            event=envelopes[0].type,
            event_id=envelopes[0].id,
            events=[type(e).__name__ for e in new],
            state=after.state.value,
        )

    async def _engineer(uow: UnitOfWork, visit: domain.Visit) -> domain.Engineer:
        assert visit.engineer_id is not None
        [engineer] = await load_engineers(
            uow,
            region="",
            skill="",
            pack=rt.pack,
            ticket_id=visit.ticket_id,
            engineer_id=visit.engineer_id,
        )
        return engineer

    async def _travel(
        uow: UnitOfWork, engineer: domain.Engineer, ticket_id: str, w: Any
    ) -> tuple[int, Any]:
        facts = await ticket_facts(uow, ticket_id)
        location = facts and _point(facts["lat"], facts["lon"])
        f = domain.fit(
            engineer,
            window=w,
            location=location,
            speed_kmh=ctx().settings.travel_kmh,
            zone=rt.pack.zone,
        )
        return f.travel or 0, location

    responses: dict[int | str, dict[str, Any]] = {
        404: {"description": "Dispatch has no such ticket."},
        409: {"description": "Illegal in the visit's current state (named in the answer)."},
        422: {"description": "Malformed, or a rule of the visit broken (rule id named)."},
    }

    @router.post(
        "/tickets/{ticket_id}/appointment", response_model=CommandDone, responses=responses
    )
    async def book(
        ticket_id: str, body: WindowIn, x_correlation_id: str | None = Header(default=None)
    ) -> Any:
        """DSP-2: book the window agreed with the customer, confirmed by INT-6's deadline."""

        async def decide(v: domain.Visit, uow: UnitOfWork) -> Event:
            if v.engineer_id is None:
                raise refusals.IllegalTransition("no engineer is assigned yet", v.state)
            engineer = await _engineer(uow, v)
            travel, location = await _travel(uow, engineer, ticket_id, _window(body))
            facts = await ticket_facts(uow, ticket_id)
            return domain.decide_appointment(
                rt.pack,
                v,
                engineer,
                window=_window(body),
                travel=travel,
                confirm_by=confirm_by(rt.pack, facts) if facts else None,
                now=uow.now(),
                speed_kmh=ctx().settings.travel_kmh,
                location=location,
            )

        return await _command(ticket_id, decide, x_correlation_id)

    @router.post("/tickets/{ticket_id}/reschedule", response_model=CommandDone, responses=responses)
    async def reschedule(
        ticket_id: str, body: RescheduleIn, x_correlation_id: str | None = Header(default=None)
    ) -> Any:
        """DSP-2: a new window with a reason, always shown to the dispatcher; refused by the
        customer, the job goes back for another engineer (DSP-1)."""

        async def decide(v: domain.Visit, uow: UnitOfWork) -> list[Event]:
            if v.engineer_id is None:
                raise refusals.IllegalTransition("no engineer is assigned yet", v.state)
            engineer = await _engineer(uow, v)
            travel, location = await _travel(uow, engineer, ticket_id, _window(body))
            return domain.decide_reschedule(
                rt.pack,
                v,
                engineer,
                window=_window(body),
                reason=body.reason,
                requested_by=body.requested_by,
                customer_consents=body.customer_consents,
                travel=travel,
                now=uow.now(),
                speed_kmh=ctx().settings.travel_kmh,
                location=location,
            )

        return await _command(ticket_id, decide, x_correlation_id)

    @router.post(
        "/tickets/{ticket_id}/reassignment", response_model=CommandDone, responses=responses
    )
    async def reassign(
        ticket_id: str, body: ReasonIn, x_correlation_id: str | None = Header(default=None)
    ) -> Any:
        """DSP-1: the dispatcher takes the job back and gives it to another engineer."""

        async def decide(v: domain.Visit, uow: UnitOfWork) -> Event:
            if v.state is not domain.VisitState.ASSIGNED or v.engineer_id is None:
                raise refusals.IllegalTransition(
                    f"only an assigned job can be reassigned; the visit is {v.state.value}", v.state
                )
            return domain.EngineerReleased(
                ticket_id=ticket_id,
                engineer_id=v.engineer_id,
                reason=body.reason,
                released_at=uow.now(),
            )

        return await _command(ticket_id, decide, x_correlation_id)

    @router.post("/tickets/{ticket_id}/departure", response_model=CommandDone, responses=responses)
    async def departure(
        ticket_id: str, body: EmptyIn, x_correlation_id: str | None = Header(default=None)
    ) -> Any:
        """DSP-6: the engineer leaves for the customer (late if after the planned time)."""

        async def decide(v: domain.Visit, uow: UnitOfWork) -> Event:
            return domain.decide_departure(v, now=uow.now())

        return await _command(ticket_id, decide, x_correlation_id)

    @router.post("/tickets/{ticket_id}/delay", response_model=CommandDone, responses=responses)
    async def delay(
        ticket_id: str, body: DelayIn, x_correlation_id: str | None = Header(default=None)
    ) -> Any:
        """DSP-7: the engineer will be late; the notice is checked (too late is recorded);
        with an agreed new window the appointment is rescheduled."""

        async def decide(v: domain.Visit, uow: UnitOfWork) -> list[Event]:
            delayed = domain.decide_delay(
                rt.pack, v, expected_arrival=body.expected_arrival, cause=body.cause, now=uow.now()
            )
            out: list[Event] = [delayed]
            if body.new_window is not None and delayed.agree_new_time:
                engineer = await _engineer(uow, v)
                travel, location = await _travel(uow, engineer, ticket_id, _window(body.new_window))
                out += domain.decide_reschedule(
                    rt.pack,
                    domain.evolve(v, delayed),
                    engineer,
                    window=_window(body.new_window),
                    reason=f"DSP-7 delay: {delayed.reason}",
                    requested_by="engineer",
                    customer_consents=True,
                    travel=travel,
                    now=uow.now(),
                    speed_kmh=ctx().settings.travel_kmh,
                    location=location,
                )
            return out

        return await _command(ticket_id, decide, x_correlation_id)

    @router.post("/tickets/{ticket_id}/arrival", response_model=CommandDone, responses=responses)
    async def arrival(
        ticket_id: str, body: ArrivalIn, x_correlation_id: str | None = Header(default=None)
    ) -> Any:
        """The assigned engineer is at the customer's address (ArrivedOnSite)."""

        async def decide(v: domain.Visit, uow: UnitOfWork) -> Event:
            return domain.decide_arrival(v, engineer_id=body.engineer_id, now=uow.now())

        return await _command(ticket_id, decide, x_correlation_id)

    @router.post(
        "/tickets/{ticket_id}/customer-not-found", response_model=CommandDone, responses=responses
    )
    async def not_found(
        ticket_id: str, body: NotFoundIn, x_correlation_id: str | None = Header(default=None)
    ) -> Any:
        """DSP-9: nobody answered; after the wait the note is left and the visit rebooked."""

        async def decide(v: domain.Visit, uow: UnitOfWork) -> Event:
            return domain.decide_not_found(rt.pack, v, at_business=body.at_business, now=uow.now())

        return await _command(ticket_id, decide, x_correlation_id)

    @router.post("/tickets/{ticket_id}/parts", response_model=CommandDone, responses=responses)
    async def parts(
        ticket_id: str, body: PartsIn, x_correlation_id: str | None = Header(default=None)
    ) -> Any:
        """DSP-4: part needed, backordered (customer told), arrived (visit rebooked, at once
        with `new_window`) or wrong on site (fetched now or a new visit)."""

        async def decide(v: domain.Visit, uow: UnitOfWork) -> list[Event]:
            event = domain.decide_parts(
                v,
                part=body.part,
                status=body.status,
                customer_has_time=body.customer_has_time,
                now=uow.now(),
            )
            out: list[Event] = [event]
            if body.status == "arrived" and body.new_window is not None:
                out.append(await _rebook(uow, domain.evolve(v, event), body.new_window))
            return out

        return await _command(ticket_id, decide, x_correlation_id)

    async def _rebook(uow: UnitOfWork, v: domain.Visit, w: WindowIn) -> Event:
        engineer = await _engineer(uow, v)
        travel, location = await _travel(uow, engineer, v.ticket_id, _window(w))
        return domain.decide_appointment(
            rt.pack,
            v,
            engineer,
            window=_window(w),
            travel=travel,
            confirm_by=None,
            now=uow.now(),
            speed_kmh=ctx().settings.travel_kmh,
            location=location,
        )

    @router.post(
        "/tickets/{ticket_id}/interruption", response_model=CommandDone, responses=responses
    )
    async def interruption(
        ticket_id: str, body: InterruptionIn, x_correlation_id: str | None = Header(default=None)
    ) -> Any:
        """DSP-10: an urgent job came in; the urgent job is reassigned if this engineer
        had it."""

        async def decide(v: domain.Visit, uow: UnitOfWork) -> Event:
            urgent_events, urgent = await load_visit(uow, body.urgent_ticket_id)
            released = None
            if v.engineer_id is not None:
                released = domain.release_for_urgent(
                    urgent, engineer_id=v.engineer_id, now=uow.now()
                )
            event = domain.decide_interruption(
                v,
                urgent_ticket_id=body.urgent_ticket_id,
                minutes_still_needed=body.minutes_still_needed,
                reassigned=released is not None,
                now=uow.now(),
            )
            if released is not None:
                cid = x_correlation_id or str(uuid.uuid4())
                await append(
                    uow,
                    ctx(),
                    urgent.ticket_id,
                    [released],
                    expected_version=len(urgent_events),
                    correlation_id=cid,
                    causation_id=f"http:{cid}",
                    region=urgent.region,
                )
                await assign(
                    uow, ctx(), urgent.ticket_id, correlation_id=cid, causation=f"http:{cid}"
                )
            return event

        return await _command(ticket_id, decide, x_correlation_id)

    @router.post("/tickets/{ticket_id}/consent", response_model=CommandDone, responses=responses)
    async def consent(
        ticket_id: str, body: ConsentIn, x_correlation_id: str | None = Header(default=None)
    ) -> Any:
        """DSP-11: fault reproduced, disassembly and disk work consented (signature after a
        backup offer); DSP-10: only an adult consents."""

        async def decide(v: domain.Visit, uow: UnitOfWork) -> Event:
            return domain.decide_consent(v, now=uow.now(), **body.model_dump())

        return await _command(ticket_id, decide, x_correlation_id)

    async def _quote(uow: UnitOfWork, ticket_id: str) -> tuple[bool, bool, str | None]:
        facts = await ticket_facts(uow, ticket_id)
        if facts is None:
            return False, False, None
        return bool(facts["chargeable"]), facts["quote_state"] == "accepted", facts["quote_id"]

    @router.post(
        "/tickets/{ticket_id}/work-started", response_model=CommandDone, responses=responses
    )
    async def work_started(
        ticket_id: str, body: EmptyIn, x_correlation_id: str | None = Header(default=None)
    ) -> Any:
        """Work begins; a chargeable job only after its quote was accepted (DSP-11, FEE-4)."""

        async def decide(v: domain.Visit, uow: UnitOfWork) -> Event:
            chargeable, accepted, quote_id = await _quote(uow, ticket_id)
            return domain.decide_work_start(
                v, chargeable=chargeable, quote_accepted=accepted, quote_id=quote_id, now=uow.now()
            )

        return await _command(ticket_id, decide, x_correlation_id)

    @router.post("/tickets/{ticket_id}/completion", response_model=CommandDone, responses=responses)
    async def completion(
        ticket_id: str, body: CompletionIn, x_correlation_id: str | None = Header(default=None)
    ) -> Any:
        """DSP-12: done, tested and signed for, the repair record filed (RepairCompleted)."""

        async def decide(v: domain.Visit, uow: UnitOfWork) -> Event:
            chargeable, accepted, _ = await _quote(uow, ticket_id)
            facts = await ticket_facts(uow, ticket_id)
            record = body.repair_record
            return domain.decide_completion(
                v,
                resolution=body.resolution,
                now=uow.now(),
                chargeable=chargeable,
                quote_accepted=accepted,
                signed_by=body.signed_by,
                repair_record=RepairRecord(
                    fault_found=record.fault_found,
                    parts_replaced=tuple(record.parts_replaced),
                    notes=record.notes,
                )
                if record
                else None,
                test_run_minutes=body.test_run_minutes,
                job_kind=(facts and facts["job_kind"]) or "repair",
            )

        return await _command(ticket_id, decide, x_correlation_id)

    @router.post(
        "/tickets/{ticket_id}/partial-completion", response_model=CommandDone, responses=responses
    )
    async def partial(
        ticket_id: str, body: PartialIn, x_correlation_id: str | None = Header(default=None)
    ) -> Any:
        """Partly done: the rest is carried forward to a new visit (book it next)."""

        async def decide(v: domain.Visit, uow: UnitOfWork) -> Event:
            return domain.decide_carry_forward(
                v, done=body.done, remaining=body.remaining, now=uow.now()
            )

        return await _command(ticket_id, decide, x_correlation_id)

    @router.post("/tickets/{ticket_id}/escalation", response_model=CommandDone, responses=responses)
    async def escalation(
        ticket_id: str, body: EscalationIn, x_correlation_id: str | None = Header(default=None)
    ) -> Any:
        """DSP-5: the dispatcher escalates the fault to technical support before the visit
        (dispatch does so itself on assignment when the engineer never fixed such a fault)."""

        async def decide(v: domain.Visit, uow: UnitOfWork) -> Event:
            facts = await ticket_facts(uow, ticket_id)
            fault_kind = facts and facts["fault_kind"]
            decided = domain.decide_escalation(
                rt.pack,
                v,
                engineer_id=v.engineer_id,
                product_line=v.skill,
                fault_kind=fault_kind,
                fixed_before=bool(v.engineer_id)
                and await fixed_before(uow, v.engineer_id or "", v.skill, fault_kind),
                now=uow.now(),
                manual_reason=body.reason,
            )
            assert decided is not None
            return decided

        return await _command(ticket_id, decide, x_correlation_id)

    @router.post(
        "/tickets/{ticket_id}/customer-unreachable", response_model=CommandDone, responses=responses
    )
    async def unreachable(
        ticket_id: str, body: UnreachableIn, x_correlation_id: str | None = Header(default=None)
    ) -> Any:
        """DSP-8: an attempt to reach the customer failed: try again later (the DSP-3 clock
        is held), or go to the address anyway and report to the coordinator when waiting
        would make the engineer late; the standard SMS where the pack sends it. The
        appointment is kept as promised."""

        async def decide(v: domain.Visit, uow: UnitOfWork) -> list[Event]:
            return domain.decide_unreachable(
                rt.pack, v, attempt_at=body.attempt_at, channel=body.channel, now=uow.now()
            )

        return await _command(ticket_id, decide, x_correlation_id)

    @router.post(
        "/tickets/{ticket_id}/customer-reached", response_model=CommandDone, responses=responses
    )
    async def reached(
        ticket_id: str, body: ReachedIn, x_correlation_id: str | None = Header(default=None)
    ) -> Any:
        """DSP-8: the customer answered; the DSP-3 clock resumes with recomputed deadlines."""

        async def decide(v: domain.Visit, uow: UnitOfWork) -> Event:
            return domain.decide_customer_reached(v, channel=body.channel, now=uow.now())

        return await _command(ticket_id, decide, x_correlation_id)

    @router.get("/tickets/{ticket_id}")
    async def board(ticket_id: str) -> dict[str, Any]:
        """The visit as the dispatcher sees it, with its reschedules and alerts."""
        row = await rt.pool.fetchrow("select * from dispatch_board where ticket_id = $1", ticket_id)
        if row is None:
            raise NotFound(f"dispatch has no ticket {ticket_id}")
        out = dict(row)
        out["reschedule_log"] = [
            dict(r)
            for r in await rt.pool.fetch(
                "select window_start, window_end, previous_start, previous_end, reason,"
                " requested_by, accepted, at from dispatch_reschedules where ticket_id = $1"
                " order by at",
                ticket_id,
            )
        ]
        alerts = await rt.pool.fetch(
            "select kind, detail, at from dispatch_alerts where ticket_id = $1 order by at, kind",
            ticket_id,
        )
        out["alerts"] = [{"kind": r["kind"], "at": r["at"]} for r in alerts]
        # DSP-5: escalations to technical support; DSP-3: the deadlines now in force
        out["escalations"] = [json.loads(r["detail"]) for r in alerts if r["kind"] == "escalated"]
        recomputed = [json.loads(r["detail"]) for r in alerts if r["kind"] == "sla_recomputed"]
        out["sla"] = max(recomputed, key=lambda x: x["version"]) if recomputed else None
        return out

    @router.get("/alerts")
    async def alerts(
        kind: str | None = Query(default=None, examples=["sla_breached"]),
        limit: int = Query(default=200, ge=1, le=5000),
    ) -> list[dict[str, Any]]:
        """The dispatcher's alerts: unassignable jobs, SLA, lateness, missed appointments,
        reschedules, newest first."""
        rows = await rt.pool.fetch(
            "select event_id, ticket_id, kind, detail, at from dispatch_alerts"
            " where $1::text is null or kind = $1 order by at desc, event_id limit $2",
            kind,
            limit,
        )
        return [{**dict(r), "detail": json.loads(r["detail"])} for r in rows]

    return router
