"""Intake HTTP API: repair requests in, the ticket's whole status out."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from repairline_contracts.base import Event
from repairline_contracts.intake import (
    Channel,
    CityTier,
    Customer,
    DealerFacts,
    GeoPoint,
    Product,
    ServiceMode,
    TimeWindow,
    Urgency,
)
from repairline_intake import domain
from repairline_platform.eventstore import UnitOfWork, retry_on_concurrency
from repairline_platform.http import Conflict, NotFound
from repairline_platform.logging import get_logger
from repairline_platform.runtime import Runtime

log = get_logger(__name__)

PhoneNumber = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9 \-]{5,19}$"),
]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Code = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[\w.\-/]+$"),
]


class CustomerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    phone: PhoneNumber | None = Field(default=None, examples=["021-5555 0101"])
    mobile: PhoneNumber | None = Field(default=None, examples=["+86 139 0000 0000"])
    address: Text | None = None
    organisation: Name | None = None
    role: Name | None = None
    business_critical: bool | None = None


class ProductIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line: Code = Field(description="Product line, e.g. instant_water_heater.")
    model: Code | None = None
    serial_no: Code | None = None
    purchase_date: date | None = Field(default=None, description="Invoice date.")


class GeoPointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lat: float = Field(ge=-90, le=90, examples=[30.2741])
    lon: float = Field(ge=-180, le=180, examples=[120.1551])


class WindowIn(BaseModel):
    """A visit window such as 14:00-15:00 local time (DSP-2)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"start": "2026-11-24T14:00:00+08:00", "end": "2026-11-24T15:00:00+08:00"}]
        },
    )

    start: AwareDatetime
    end: AwareDatetime


class DealerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dealer_id: Code | None = None
    name: Name = Field(examples=["Hangzhou Home Electric"])


class ProofIn(BaseModel):
    """What the customer can show (WAR-3) and how the unit was installed and used (WAR-4)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"invoice_date": "2026-03-01", "suspect_parts": ["tank"]}]},
    )

    invoice_date: date | None = None
    warranty_card_date: date | None = None
    other_proof_date: date | None = None
    card_model: Code | None = None
    card_serial_no: Code | None = None
    documents_altered: bool = False
    authorised_installer: bool = True
    unauthorised_repair: bool = False
    misuse: bool = False
    natural_disaster: bool = False
    supply_voltage_v: Decimal | None = Field(default=None, ge=0, le=1000)
    wiring_to_code: bool = True
    suspect_parts: list[Code] = Field(default_factory=list, description="WAR-1 parts.")


class GuaranteeIn(BaseModel):
    """WAR-6..9: what the three guarantees need to know."""

    model_config = ConfigDict(extra="forbid")

    performance_fault: bool = False
    failed_repairs: int = Field(default=0, ge=0)
    same_model_available: bool = True
    submitted_for_repair_on: date | None = None
    waiting_for_maker_parts: bool = False


class DepotIn(BaseModel):
    """INT-7: recorded at the depot counter."""

    model_config = ConfigDict(extra="forbid")

    visible_damage: Text = "none"
    non_standard_parts: Text = "none"
    data_backup_reminded: bool = Field(description="The customer was reminded to back up data.")
    voucher_signed: bool = Field(description="The customer signed the pickup voucher.")


class RepairRequestIn(BaseModel):
    """The facts of INT-3. Missing facts do not reject the request: it needs verification."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "channel": "hotline",
                    "region": "cn-east",
                    "city_tier": "provincial_capital",
                    "service_mode": "on_site",
                    "customer": {
                        "name": "Li Wei",
                        "mobile": "+86 139 0000 0000",
                        "address": "88 Example Road, Hangzhou",
                    },
                    "product": {
                        "line": "instant_water_heater",
                        "model": "WH-30",
                        "serial_no": "SN123456",
                        "purchase_date": "2025-03-01",
                    },
                    "fault_description": "No hot water; error E3 on the display",
                    "customer_wants": "repair",
                    "urgency": "normal",
                }
            ]
        },
    )

    channel: Channel
    region: Code
    city_tier: CityTier
    service_mode: ServiceMode = ServiceMode.ON_SITE
    customer: CustomerIn = Field(default_factory=CustomerIn)
    product: ProductIn
    fault_description: Text
    customer_wants: Text | None = None
    urgency: Urgency = Urgency.NORMAL
    fault_kind: Literal["misreport", "misuse", "software", "hardware", "unknown"] = Field(
        default="unknown", description="INT-5: the hotline's reading of the fault."
    )
    customer_insists_on_visit: bool = Field(
        default=False, description="INT-5: the customer refuses guidance and wants a visit."
    )
    location: GeoPointIn | None = Field(
        default=None, description="Position of the service address, for travel times."
    )
    preferred_window: WindowIn | None = Field(
        default=None, description="DSP-2: the visit window the customer asks for."
    )
    key_account_id: Code | None = Field(default=None, description="DSP-13: key account.")
    job_kind: Literal["repair", "installation"] = "repair"
    dealer: DealerIn | None = Field(
        default=None, description="INT-2, INT-4: required on the dealer channel."
    )
    proof: ProofIn | None = Field(
        default=None,
        description="WAR-3/WAR-4: proof of purchase and condition. Without it the warranty"
        " is looked up from the serial number (sales records).",
    )
    guarantee: GuaranteeIn | None = Field(default=None, description="WAR-6..9 facts.")
    depot: DepotIn | None = Field(
        default=None, description="INT-7: required on the walk-in depot channel."
    )


class TicketCreated(BaseModel):
    ticket_id: str
    service_request_no: str
    repair_order_no: str
    needs_verification: bool
    verification_issues: list[str]
    event_id: str
    route: str | None = Field(default=None, description="INT-5: first handling.")
    held_for: list[str] = Field(default_factory=list)
    events: list[str] = Field(default_factory=list, description="Events recorded.")
    warranty: dict[str, Any] | None = None
    remedies: list[str] = Field(default_factory=list, description="WAR-6..9 choices.")
    queue_no: str | None = Field(default=None, description="INT-7: depot queue number.")
    voucher_no: str | None = Field(default=None, description="INT-7: pickup voucher.")
    promised_repair_by: datetime | None = None


class VerificationIn(BaseModel):
    """INT-3: the completed facts, checked with the dispatcher, then the customer."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "customer": {
                        "name": "Li Wei",
                        "mobile": "+86 139 0000 0000",
                        "address": "88 Example Road, Hangzhou",
                    },
                    "product": {
                        "line": "instant_water_heater",
                        "model": "WH-30",
                        "serial_no": "SN123456",
                        "purchase_date": "2026-03-01",
                    },
                    "customer_wants": "repair",
                }
            ]
        },
    )

    customer: CustomerIn
    product: ProductIn
    customer_wants: Text | None = None
    urgency: Urgency = Urgency.NORMAL
    location: GeoPointIn | None = None


class NotesIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"notes": "reset the unit; water temperature set"}]},
    )

    notes: Text


class VisitRequestIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "customer_insists"}]}
    )

    reason: Literal["customer_insists", "guidance_failed"] = "customer_insists"


class RemedyIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"kind": "exchange"}]}
    )

    kind: Literal["return", "exchange", "repair"]


class ReasonIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "fixed it himself"}]}
    )

    reason: Text


class ReadyCallIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reached": True}]})

    reached: bool = True


class PickupIn(BaseModel):
    """INT-8: the voucher, the customer's test and signature, a fee told before."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "voucher_no": "V20261124000007",
                    "tested_by_customer": True,
                    "acceptance_signed": True,
                    "fee_told_fen": 0,
                }
            ]
        },
    )

    voucher_no: Code
    tested_by_customer: bool
    acceptance_signed: bool
    fee_told_fen: int | None = Field(default=None, ge=0)


class SalesRecordIn(BaseModel):
    """WAR-3: the maker's sales record, for warranty by serial number."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"product_line": "notebook", "model": "X1", "sold_on": "2025-06-01"}]
        },
    )

    product_line: Code
    model: Code | None = None
    sold_on: date


class CommandDone(BaseModel):
    ticket_id: str
    events: list[str]
    event_ids: list[str]


def _invalid(field: str, reason: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ("body", field), "msg": reason, "type": "value_error"}])


def _proof(p: ProofIn | None) -> domain.ProofFacts | None:
    if p is None:
        return None
    data = p.model_dump()
    data["suspect_parts"] = tuple(data["suspect_parts"])
    return domain.ProofFacts(**data)


def _window(w: WindowIn | None) -> TimeWindow | None:
    return None if w is None else TimeWindow(start=w.start, end=w.end)


def _point(g: GeoPointIn | None) -> GeoPoint | None:
    return None if g is None else GeoPoint(lat=g.lat, lon=g.lon)


def routes(rt: Runtime) -> APIRouter:
    router = APIRouter(tags=["intake"])

    @router.post(
        "/tickets",
        status_code=201,
        response_model=TicketCreated,
        responses={
            409: {"description": "The serial number is already on an open ticket."},
            422: {"description": "Malformed, or refused (INT-4) with the reason."},
        },
    )
    async def request_repair(
        body: RepairRequestIn,
        response: Response,
        x_correlation_id: str | None = Header(default=None),
    ) -> Any:
        """Record a repair request (INT-1..7) and tell the caller its numbers (INT-2).

        Triage (INT-5), warranty (WAR-1..5, from proof or the serial number), the three
        guarantees (WAR-6..9) and depot intake (INT-7) are decided at once and recorded.
        """
        if body.channel is Channel.DEALER and body.dealer is None:
            raise _invalid("dealer", "the dealer channel must name the dealer (INT-2)")
        if body.channel is Channel.DEPOT:
            if body.service_mode is not ServiceMode.DEPOT:
                raise _invalid("service_mode", "a walk-in depot request is a depot repair")
            if body.depot is None:
                raise _invalid("depot", "a walk-in depot request records INT-7 facts")
        if body.preferred_window and body.preferred_window.end <= body.preferred_window.start:
            raise _invalid("preferred_window", "the window must end after it starts")
        ticket_id = str(uuid.uuid4())
        correlation_id = x_correlation_id or ticket_id
        serial = body.product.serial_no
        duplicate: tuple[str, str] | None = None
        refused: domain.RequestRefused | None = None
        async with rt.unit_of_work() as uow:
            now = uow.now()
            if serial:
                open_ticket = await uow.conn.fetchval(
                    "select f.ticket_id from ticket_facts f where f.key = 'serial_no'"
                    " and f.value = to_jsonb($1::text) and not exists (select 1 from"
                    " ticket_facts c where c.ticket_id = f.ticket_id"
                    " and c.key in ('closed', 'repair_completed')) limit 1",
                    serial,
                )
                if open_ticket is not None:
                    event = domain.duplicate_report(
                        open_ticket, channel=body.channel, serial_no=serial, now=now
                    )
                    await uow.append(
                        open_ticket,
                        [event],
                        correlation_id=correlation_id,
                        causation_id=f"http:{correlation_id}",
                    )
                    duplicate = (open_ticket, serial)
            if duplicate is None:
                seq = await uow.conn.fetchval("select nextval('ticket_numbers')")
                day = now.astimezone(rt.pack.zone).strftime("%Y%m%d")
                sold_on = None
                if body.proof is None and serial:
                    sold_on = await uow.conn.fetchval(
                        "select sold_on from sales_records where serial_no = $1", serial
                    )
                queue_no = voucher_no = None
                if body.channel is Channel.DEPOT:
                    n = await uow.conn.fetchval(
                        "insert into depot_queue (day, last_no) values ($1, 1)"
                        " on conflict (day) do update set last_no = depot_queue.last_no + 1"
                        " returning last_no",
                        day,
                    )
                    queue_no, voucher_no = f"Q{day[4:]}-{n:03d}", f"V{day}{seq:06d}"
                g = body.guarantee or GuaranteeIn()
                request = domain.NewRequest(
                    ticket_id=ticket_id,
                    service_request_no=f"SR{day}{seq:06d}",
                    repair_order_no=f"RO-{body.region.upper()}-{day}-{seq:06d}",
                    channel=body.channel,
                    region=body.region,
                    city_tier=body.city_tier,
                    service_mode=body.service_mode,
                    customer=Customer(**body.customer.model_dump()),
                    product=Product(**body.product.model_dump()),
                    fault_description=body.fault_description,
                    customer_wants=body.customer_wants,
                    urgency=body.urgency,
                    fault_kind=body.fault_kind,
                    customer_insists_on_visit=body.customer_insists_on_visit,
                    location=_point(body.location),
                    preferred_window=_window(body.preferred_window),
                    key_account_id=body.key_account_id,
                    job_kind=body.job_kind,
                    dealer=DealerFacts(**body.dealer.model_dump()) if body.dealer else None,
                    proof=_proof(body.proof),
                    guarantee=domain.GuaranteeFacts(**g.model_dump()),
                    depot=domain.DepotFacts(**body.depot.model_dump()) if body.depot else None,
                    queue_no=queue_no,
                    voucher_no=voucher_no,
                    sold_on_by_serial=sold_on,
                )
                try:
                    events: list[Event] = domain.decide_intake(rt.pack, request, now=now)
                except domain.RequestRefused as exc:
                    refused = exc
                    events = [exc.event]
                except domain.NotDecidable as exc:
                    raise _invalid("product.line", str(exc)) from exc
                envelopes = await uow.append(
                    ticket_id,
                    events,
                    expected_version=0,
                    correlation_id=correlation_id,
                    causation_id=f"http:{correlation_id}",
                    region=body.region,
                )
        if duplicate is not None:
            raise Conflict(
                f"serial number {duplicate[1]} is already on open ticket {duplicate[0]}",
                current_state="duplicate_of_open_ticket",
            )
        if refused is not None:
            log.info("repair request refused", ticket_id=ticket_id, rule_id="INT-4")
            return JSONResponse(
                status_code=422,
                content={
                    "error": "request_refused",
                    "rule_id": "INT-4",
                    "reason": refused.event.reason,
                    "ticket_id": ticket_id,
                    "event_id": envelopes[0].id,
                },
            )
        first = events[0]
        assert isinstance(first, domain.RepairRequested)
        log.info(
            "repair requested",
            ticket_id=ticket_id,
            event_id=envelopes[0].id,
            correlation_id=correlation_id,
            needs_verification=first.needs_verification,
        )
        response.headers["Location"] = f"/tickets/{ticket_id}"
        created = TicketCreated(
            ticket_id=ticket_id,
            service_request_no=first.service_request_no,
            repair_order_no=first.repair_order_no,
            needs_verification=first.needs_verification,
            verification_issues=list(first.verification_issues),
            event_id=envelopes[0].id,
            route=first.triage.route if first.triage else None,
            held_for=list(first.held_for),
            events=[type(e).__name__ for e in events],
        )
        for e in events:
            if isinstance(e, domain.WarrantyDecided):
                created.warranty = {
                    "unit_in_warranty": e.unit_in_warranty,
                    "free_visit": e.free_visit,
                    "chargeable": e.chargeable,
                    "reason": e.reason,
                    "rule_ids": list(e.decision.rule_ids),
                }
            elif isinstance(e, domain.RemedyOffered):
                created.remedies = [m.kind for m in e.remedies]
            elif isinstance(e, domain.DepotIntakeRecorded):
                created.queue_no, created.voucher_no = e.queue_no, e.voucher_no
                created.promised_repair_by = e.promised_repair_by
        return created

    async def _command(
        ticket_id: str,
        decide: Callable[[domain.IntakeTicket, UnitOfWork], Any],
        correlation_id: str | None,
    ) -> CommandDone:
        return await retry_on_concurrency(lambda: _attempt(ticket_id, decide, correlation_id))

    async def _attempt(
        ticket_id: str,
        decide: Callable[[domain.IntakeTicket, UnitOfWork], Any],
        correlation_id: str | None,
    ) -> CommandDone:
        async with rt.unit_of_work() as uow:
            events = await uow.load_stream(ticket_id)
            if not events:
                raise NotFound(f"no ticket {ticket_id}")
            ticket = domain.fold(ticket_id, events)
            try:
                decided = await decide(ticket, uow)
            except domain.IllegalTransition as exc:
                raise Conflict(str(exc), current_state=exc.state) from exc
            except domain.NotDecidable as exc:
                raise _invalid("product.line", str(exc)) from exc
            new = decided if isinstance(decided, list) else [decided]
            cid = correlation_id or str(uuid.uuid4())
            envelopes = await uow.append(
                ticket_id,
                new,
                expected_version=len(events),
                correlation_id=cid,
                causation_id=f"http:{cid}",
                region=ticket.request.region if ticket.request else None,
            )
        log.info("ticket updated", ticket_id=ticket_id, correlation_id=cid)
        return CommandDone(
            ticket_id=ticket_id,
            events=[type(e).__name__ for e in new],
            event_ids=[env.id for env in envelopes],
        )

    async def _completed(uow: UnitOfWork, ticket_id: str) -> bool:
        return bool(
            await uow.conn.fetchval(
                "select 1 from ticket_facts where ticket_id = $1 and key = 'repair_completed'",
                ticket_id,
            )
        )

    @router.post("/tickets/{ticket_id}/verification", response_model=CommandDone)
    async def verify(
        ticket_id: str, body: VerificationIn, x_correlation_id: str | None = Header(default=None)
    ) -> CommandDone:
        """INT-3: complete the missing facts; the ticket then goes to dispatch."""

        async def decide(t: domain.IntakeTicket, uow: UnitOfWork) -> Any:
            return domain.decide_verification(
                rt.pack,
                t,
                customer=Customer(**body.customer.model_dump()),
                product=Product(**body.product.model_dump()),
                customer_wants=body.customer_wants,
                urgency=body.urgency,
                location=_point(body.location),
                now=uow.now(),
            )

        return await _command(ticket_id, decide, x_correlation_id)

    @router.post("/tickets/{ticket_id}/guidance", response_model=CommandDone)
    async def guidance(
        ticket_id: str, body: NotesIn, x_correlation_id: str | None = Header(default=None)
    ) -> CommandDone:
        """INT-5: phone guidance given; FBK-1's callback is due 2 hours later."""

        async def decide(t: domain.IntakeTicket, uow: UnitOfWork) -> Any:
            return domain.decide_guidance(rt.pack, t, notes=body.notes, now=uow.now())

        return await _command(ticket_id, decide, x_correlation_id)

    @router.post("/tickets/{ticket_id}/visit-request", response_model=CommandDone)
    async def visit_request(
        ticket_id: str, body: VisitRequestIn, x_correlation_id: str | None = Header(default=None)
    ) -> CommandDone:
        """INT-5: the customer insists on a visit (paid for misreport, misuse, software)."""

        async def decide(t: domain.IntakeTicket, uow: UnitOfWork) -> Any:
            return domain.decide_visit_request(rt.pack, t, reason=body.reason, now=uow.now())

        return await _command(ticket_id, decide, x_correlation_id)

    @router.post("/tickets/{ticket_id}/warranty", response_model=CommandDone)
    async def warranty(
        ticket_id: str, body: ProofIn, x_correlation_id: str | None = Header(default=None)
    ) -> CommandDone:
        """WAR-1..5: decide the warranty from proof shown after intake."""

        async def decide(t: domain.IntakeTicket, uow: UnitOfWork) -> Any:
            proof = _proof(body)
            assert proof is not None
            return domain.decide_later_warranty(rt.pack, t, proof=proof, now=uow.now())

        return await _command(ticket_id, decide, x_correlation_id)

    @router.post("/tickets/{ticket_id}/remedy", response_model=CommandDone)
    async def remedy(
        ticket_id: str, body: RemedyIn, x_correlation_id: str | None = Header(default=None)
    ) -> CommandDone:
        """WAR-6..9: the customer's choice; a return or an exchange closes the ticket."""

        async def decide(t: domain.IntakeTicket, uow: UnitOfWork) -> Any:
            return domain.decide_remedy(t, kind=body.kind, now=uow.now())

        return await _command(ticket_id, decide, x_correlation_id)

    @router.post("/tickets/{ticket_id}/cancellation", response_model=CommandDone)
    async def cancel(
        ticket_id: str, body: ReasonIn, x_correlation_id: str | None = Header(default=None)
    ) -> CommandDone:
        """Cancel an open ticket; dispatch takes the job back from its engineer."""

        async def decide(t: domain.IntakeTicket, uow: UnitOfWork) -> Any:
            done = await _completed(uow, ticket_id)
            return domain.decide_cancellation(
                t, reason=body.reason, repair_completed=done, now=uow.now()
            )

        return await _command(ticket_id, decide, x_correlation_id)

    @router.post("/tickets/{ticket_id}/ready-call", response_model=CommandDone)
    async def ready_call(
        ticket_id: str, body: ReadyCallIn, x_correlation_id: str | None = Header(default=None)
    ) -> CommandDone:
        """INT-8: the depot repair is done and the customer is called."""

        async def decide(t: domain.IntakeTicket, uow: UnitOfWork) -> Any:
            done = await _completed(uow, ticket_id)
            return domain.decide_ready_call(
                t, repair_completed=done, reached=body.reached, now=uow.now()
            )

        return await _command(ticket_id, decide, x_correlation_id)

    @router.post("/tickets/{ticket_id}/pickup", response_model=CommandDone)
    async def pickup(
        ticket_id: str, body: PickupIn, x_correlation_id: str | None = Header(default=None)
    ) -> CommandDone:
        """INT-8: pickup with the voucher, the customer's test and signed acceptance."""

        async def decide(t: domain.IntakeTicket, uow: UnitOfWork) -> Any:
            return domain.decide_pickup(
                rt.pack,
                t,
                voucher_no=body.voucher_no,
                tested_by_customer=body.tested_by_customer,
                acceptance_signed=body.acceptance_signed,
                fee_told_fen=body.fee_told_fen,
                now=uow.now(),
            )

        return await _command(ticket_id, decide, x_correlation_id)

    @router.put("/sales-records/{serial_no}")
    async def put_sales_record(serial_no: str, body: SalesRecordIn) -> dict[str, Any]:
        """WAR-3: a unit's sale date, used when the customer has no proof of purchase."""
        async with rt.unit_of_work() as uow:
            await uow.conn.execute(
                "insert into sales_records (serial_no, product_line, model, sold_on, recorded_at)"
                " values ($1, $2, $3, $4, $5) on conflict (serial_no) do update set"
                " product_line = excluded.product_line, model = excluded.model,"
                " sold_on = excluded.sold_on, recorded_at = excluded.recorded_at",
                serial_no,
                body.product_line,
                body.model,
                body.sold_on,
                uow.now(),
            )
        return {"serial_no": serial_no, **body.model_dump(mode="json")}

    @router.get("/tickets/{ticket_id}")
    async def ticket(ticket_id: str) -> dict[str, Any]:
        """The ticket's current status, its facts and its timeline across all four services."""
        view = await rt.pool.fetchrow("select * from ticket_view where ticket_id = $1", ticket_id)
        if view is None:
            raise NotFound(f"no ticket {ticket_id}")
        timeline = await rt.pool.fetch(
            "select event_id, event_type, source, occurred_at, summary from ticket_timeline"
            " where ticket_id = $1 order by occurred_at, event_type",
            ticket_id,
        )
        facts = await rt.pool.fetch(
            "select key, value from ticket_facts where ticket_id = $1 order by key", ticket_id
        )
        out = dict(view)
        for internal in ("status_at", "status_version", "status_event", "verified"):
            out.pop(internal, None)
        out["verification_issues"] = json.loads(out["verification_issues"] or "[]")
        out["facts"] = {f["key"]: json.loads(f["value"]) for f in facts}
        out["timeline"] = [
            {
                "event_id": t["event_id"],
                "type": t["event_type"],
                "source": t["source"],
                "time": t["occurred_at"].isoformat(),
                **json.loads(t["summary"]),
            }
            for t in timeline
        ]
        return out

    return router
