"""Intake HTTP API: repair requests in, the ticket's whole status out.

Each route validates its body, turns it into one command and runs it, or asks one view.
Refusals are answered by the platform (409 naming the state, 404, 422 naming the field
or the rule).
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Query, Request, Response

from repairline_intake import commands, views
from repairline_intake.commands import Intake
from repairline_intake.domain import ticket
from repairline_intake.permissions import may
from repairline_intake.schemas import (
    CommandAnswer,
    NotesIn,
    PickupIn,
    ProofIn,
    ReadyCallIn,
    ReasonIn,
    RemedyIn,
    RepairRequestIn,
    SaleRecordedAnswer,
    SalesRecordAnswer,
    SalesRecordIn,
    TicketCreated,
    TicketPage,
    TicketQuery,
    VerificationIn,
    VisitRequestIn,
)
from repairline_platform.asof import AS_OF_QUERY, as_of_moment
from repairline_platform.bounds import Identifier
from repairline_platform.ratelimit import RATE_LIMITED
from repairline_platform.runtime import Runtime

router = APIRouter(tags=["intake"])


def routes(rt: Runtime) -> APIRouter:
    """Intake's routes; each finds the runtime on the app it is served by."""
    return router


def _intake(request: Request) -> Intake:
    """The runtime's units of work, its packs asked for at each command's `now` (the
    ticket's, bound per command) and the mapping choosing a new ticket's pack."""
    rt: Runtime = request.app.state.runtime
    opening = partial(ticket.opening_pack, rt.packs, rt.routing)
    return Intake(rt.unit_of_work, rt.pack_now, opening=opening)


def _pool(request: Request) -> asyncpg.Pool:
    return request.app.state.runtime.pool


@router.post(
    "/tickets",
    status_code=201,
    response_model=TicketCreated,
    responses={
        409: {"description": "The serial number is already on an open ticket."},
        422: {"description": "Malformed, or refused (INT-4) with the reason."},
    },
    dependencies=[may("ticket.create"), RATE_LIMITED],
)
async def request_repair(body: RepairRequestIn, response: Response, request: Request) -> Any:
    """Record a repair request (INT-1..7) and tell the caller its numbers (INT-2).

    Triage (INT-5), warranty (WAR-1..5, from proof or the serial number), the three
    guarantees (WAR-6..9) and depot intake (INT-7) are decided at once and recorded.
    """
    result = await commands.request_repair(body.command(), _intake(request))
    response.headers["Location"] = f"/tickets/{result.stream_id}"
    return {**result.answer(), "event_id": result.event_ids[0]}


@router.post(
    "/tickets/{ticket_id}/verification",
    response_model=CommandAnswer,
    dependencies=[may("ticket.update")],
)
async def verify(ticket_id: str, body: VerificationIn, request: Request) -> Any:
    """INT-3: complete the missing facts; the ticket then goes to dispatch."""
    return (await commands.verify_request(body.command(ticket_id), _intake(request))).answer()


@router.post(
    "/tickets/{ticket_id}/guidance",
    response_model=CommandAnswer,
    dependencies=[may("ticket.guidance")],
)
async def guidance(ticket_id: str, body: NotesIn, request: Request) -> Any:
    """INT-5: phone guidance given; FBK-1's callback is due 2 hours later."""
    cmd = ticket.GiveGuidance(ticket_id, notes=body.notes)
    return (await commands.give_guidance(cmd, _intake(request))).answer()


@router.post(
    "/tickets/{ticket_id}/visit-request",
    response_model=CommandAnswer,
    dependencies=[may("ticket.update")],
)
async def visit_request(ticket_id: str, body: VisitRequestIn, request: Request) -> Any:
    """INT-5: the customer insists on a visit (paid for misreport, misuse, software)."""
    cmd = ticket.RequestVisit(ticket_id, reason=body.reason)
    return (await commands.request_visit(cmd, _intake(request))).answer()


@router.post(
    "/tickets/{ticket_id}/warranty",
    response_model=CommandAnswer,
    dependencies=[may("ticket.warranty")],
)
async def warranty(ticket_id: str, body: ProofIn, request: Request) -> Any:
    """WAR-1..5: decide the warranty from proof shown after intake."""
    cmd = body.decision(ticket_id)
    return (await commands.decide_warranty(cmd, _intake(request))).answer()


@router.post(
    "/tickets/{ticket_id}/remedy", response_model=CommandAnswer, dependencies=[may("ticket.update")]
)
async def remedy(ticket_id: str, body: RemedyIn, request: Request) -> Any:
    """WAR-6..9: the customer's choice; a return or an exchange closes the ticket."""
    cmd = ticket.ChooseRemedy(ticket_id, kind=body.kind)
    return (await commands.choose_remedy(cmd, _intake(request))).answer()


@router.post(
    "/tickets/{ticket_id}/cancellation",
    response_model=CommandAnswer,
    dependencies=[may("ticket.cancel")],
)
async def cancel(ticket_id: str, body: ReasonIn, request: Request) -> Any:
    """Cancel an open ticket; dispatch takes the job back from its engineer."""
    cmd = ticket.CancelTicket(ticket_id, reason=body.reason)
    return (await commands.cancel_ticket(cmd, _intake(request))).answer()


@router.post(
    "/tickets/{ticket_id}/ready-call",
    response_model=CommandAnswer,
    dependencies=[may("ticket.update")],
)
async def ready_call(ticket_id: str, body: ReadyCallIn, request: Request) -> Any:
    """INT-8: the depot repair is done and the customer is called."""
    cmd = ticket.CallForPickup(ticket_id, reached=body.reached)
    return (await commands.call_for_pickup(cmd, _intake(request))).answer()


@router.post(
    "/tickets/{ticket_id}/pickup", response_model=CommandAnswer, dependencies=[may("ticket.update")]
)
async def pickup(ticket_id: str, body: PickupIn, request: Request) -> Any:
    """INT-8: pickup with the voucher, the customer's test and signed acceptance."""
    cmd = ticket.HandOver(ticket_id, **body.model_dump())
    return (await commands.hand_over(cmd, _intake(request))).answer()


@router.put(
    "/sales-records/{serial_no}",
    response_model=SaleRecordedAnswer,
    dependencies=[may("sales.record")],
)
async def put_sales_record(serial_no: str, body: SalesRecordIn, request: Request) -> Any:
    """WAR-3: a unit's sale date, used when the customer has no proof of purchase."""
    result = await commands.record_sale(body.command(serial_no), _intake(request))
    return result.answer("stream_id")


@router.get("/tickets", response_model=TicketPage, dependencies=[may("ticket.read")])
async def find_tickets(request: Request, query: Annotated[TicketQuery, Query()]) -> Any:
    """Find tickets by the number the customer was given (INT-2), his phone or the
    product's serial number, or list them by status, region, engineer and request time:
    those the caller may see (his regions; an engineer's jobs, a dealer's or a customer's
    own), oldest request first, paged."""
    return await views.tickets(_pool(request), query.filter())


@router.get("/tickets/{ticket_id}", dependencies=[may("ticket.read")])
async def ticket_view(
    ticket_id: str, request: Request, as_of: str | None = Query(None, **AS_OF_QUERY)
) -> dict[str, Any]:
    """The ticket's current status, its deadlines (structured, in the pack's time zone),
    its facts and its timeline across all four services; with `as_of`, as it stood then
    (folded from its events up to that time)."""
    rt: Runtime = request.app.state.runtime
    zone = await views.ticket_zone(_pool(request), ticket_id, rt.packs, rt.routing.default)
    if as_of is None:
        return await views.ticket(_pool(request), ticket_id, zone)
    moment = as_of_moment(as_of, rt.clock.now())
    return await views.ticket_as_of(_pool(request), ticket_id, moment, zone)


@router.get(
    "/sales-records/{serial_no}",
    response_model=SalesRecordAnswer,
    responses={404: {"description": "The maker has no sale of this serial number."}},
    dependencies=[may("sales.read")],
)
async def sales_record(serial_no: Identifier, request: Request) -> Any:
    """WAR-3: the maker's sale of this unit (product line, model, sale date) and the
    warranty a request without proof of purchase would get from it today (WAR-1, WAR-5:
    until when, free visit or not, with the rules, pack and version that decide it: the
    pack the deployment's mapping routes the record's product line to)."""
    rt: Runtime = request.app.state.runtime
    now = rt.clock.now()
    return await views.sales_record(_pool(request), serial_no, rt.packs, rt.routing, now)
