"""Billing HTTP API: quotes, invoices, the penalty ledger, outlet settlement, trips.

Each route validates its body, turns it into one command and runs it, or calls one
view. A command's answer is the command path's result (stream, events, ids,
correlation id, version) with what the caller reads next (the quote, the penalty, the
statement).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import PlainTextResponse

from repairline_billing import commands, views
from repairline_billing.commands import Billing
from repairline_billing.permissions import may
from repairline_billing.schemas import (
    PERIOD,
    AppealIn,
    AssessmentIn,
    ContractIn,
    FormIn,
    OutletIn,
    QuoteIn,
    RecordIn,
    RefusalIn,
    RemoteIn,
    RulingIn,
    SettlementIn,
    TripIn,
    UnreachableIn,
    accept,
)
from repairline_platform.auth import current_principal
from repairline_platform.commands import CommandResult
from repairline_platform.runtime import Runtime


def recorded(result: CommandResult) -> dict[str, Any]:
    """The answer of a command that records one event on the ticket: also its id."""
    return {**result.answer(), "event_id": result.event_ids[0]}


def routes(rt: Runtime) -> APIRouter:
    router = APIRouter(tags=["billing"])

    def billing() -> Billing:
        return Billing(rt.pack_now, rt.unit_of_work)

    _quotes(router, rt, billing)
    _penalties(router, rt, billing)
    _settlement(router, rt, billing)
    _engineers(router, rt, billing)
    return router


def _quotes(router: APIRouter, rt: Runtime, billing: Any) -> None:
    """Quotes and invoices (FEE-4), service forms and records (PEN-2..5)."""

    @router.get("/tickets/{ticket_id}/charge", dependencies=[may("charge.read")])
    async def charge(ticket_id: str) -> dict[str, Any]:
        """The invoice of a completed repair, itemised, with the rules that decided it."""
        return await views.charge(rt.pool, ticket_id)

    @router.get("/tickets/{ticket_id}/invoice", dependencies=[may("charge.read")])
    async def invoice(ticket_id: str) -> dict[str, Any]:
        """Same as /charge: the invoice issued after completion (FEE-4)."""
        return await views.charge(rt.pool, ticket_id)

    @router.post("/tickets/{ticket_id}/quotes", status_code=201, dependencies=[may("quote.issue")])
    async def issue_quote(ticket_id: str, body: QuoteIn) -> dict[str, Any]:
        """FEE-4: the engineer's quote (FEE-1 visit, price-list parts, FEE-2, FEE-3)."""
        cmd = body.command(ticket_id)
        result = await billing().execute(commands.issue_quote, cmd)
        return {**result.answer(), **await views.quote(rt.pool, cmd.quote_id)}

    @router.get("/tickets/{ticket_id}/quotes", dependencies=[may("quote.read")])
    async def list_quotes(ticket_id: str) -> list[dict[str, Any]]:
        return await views.quotes(rt.pool, ticket_id)

    @router.post(
        "/tickets/{ticket_id}/quotes/{quote_id}/acceptance", dependencies=[may("quote.answer")]
    )
    async def accept_quote(ticket_id: str, quote_id: str) -> dict[str, Any]:
        """FEE-4: the customer accepts; work may start (QuoteAccepted)."""
        cmd = accept(ticket_id, quote_id)
        return recorded(await billing().execute(commands.answer_quote, cmd))

    @router.post(
        "/tickets/{ticket_id}/quotes/{quote_id}/refusal", dependencies=[may("quote.answer")]
    )
    async def refuse_quote(ticket_id: str, quote_id: str, body: RefusalIn) -> dict[str, Any]:
        """FEE-4: the customer refuses; no work and no charge (QuoteRefused)."""
        cmd = body.command(ticket_id, quote_id)
        return recorded(await billing().execute(commands.answer_quote, cmd))

    @router.post(
        "/tickets/{ticket_id}/forms", status_code=201, dependencies=[may("service_record.file")]
    )
    async def hand_in_form(ticket_id: str, body: FormIn) -> dict[str, Any]:
        """A service form reached the office (PEN-2, PEN-5 check these)."""
        cmd = body.command(ticket_id)
        return recorded(await billing().execute(commands.file_on_ticket, cmd))

    @router.post(
        "/tickets/{ticket_id}/service-records",
        status_code=201,
        dependencies=[may("service_record.file")],
    )
    async def file_record(ticket_id: str, body: RecordIn) -> dict[str, Any]:
        """The visit, trip or remote service is in the service record (PEN-3, PEN-4)."""
        cmd = body.command(ticket_id)
        return recorded(await billing().execute(commands.file_on_ticket, cmd))

    @router.post(
        "/tickets/{ticket_id}/remote-services",
        status_code=201,
        dependencies=[may("service_record.file")],
    )
    async def report_remote(ticket_id: str, body: RemoteIn) -> dict[str, Any]:
        """The service desk logged a remote service: unrecorded by the end of the next
        day, it is fined (PEN-4)."""
        cmd = body.command(ticket_id)
        return recorded(await billing().execute(commands.report_remote_service, cmd))


def _penalties(router: APIRouter, rt: Runtime, billing: Any) -> None:
    """The penalty ledger (PEN-1..7, FEE-5): entries, appeals and rulings, refunds."""

    @router.get("/penalties", dependencies=[may("penalty.read")])
    async def list_penalties(
        engineer_id: str | None = Query(default=None),
        outlet_id: str | None = Query(default=None),
        ticket_id: str | None = Query(default=None),
        rule_id: str | None = Query(default=None),
    ) -> list[dict[str, Any]]:
        return await views.penalties(
            rt.pool,
            engineer_id=engineer_id,
            outlet_id=outlet_id,
            ticket_id=ticket_id,
            rule_id=rule_id,
        )

    @router.get("/penalties/{penalty_id}", dependencies=[may("penalty.read")])
    async def get_penalty(penalty_id: str) -> dict[str, Any]:
        return await views.penalty(rt.pool, penalty_id)

    @router.post("/penalties/{penalty_id}/appeal", dependencies=[may("penalty.appeal")])
    async def appeal(penalty_id: str, body: AppealIn) -> dict[str, Any]:
        """The penalised engineer or outlet appeals; a manager rules."""
        result = await billing().execute(commands.rule_on_penalty, body.command(penalty_id))
        return {**result.answer("stream_id"), **await views.penalty(rt.pool, penalty_id)}

    @router.post("/penalties/{penalty_id}/ruling", dependencies=[may("penalty.rule")])
    async def ruling(penalty_id: str, body: RulingIn) -> dict[str, Any]:
        """A manager voids or upholds an appealed penalty; it is never deleted."""
        cmd = body.command(penalty_id, manager_id=current_principal().subject)
        result = await billing().execute(commands.rule_on_penalty, cmd)
        return {**result.answer("stream_id"), **await views.penalty(rt.pool, penalty_id)}

    @router.get("/engineers/{engineer_id}/ledger", dependencies=[may("ledger.read")])
    async def engineer_ledger(engineer_id: str) -> dict[str, Any]:
        """PEN-1..7: the engineer's penalties, standing and voided, with escalations."""
        return await views.ledger(rt.pool, "engineer_id", engineer_id)

    @router.get("/outlets/{outlet_id}/ledger", dependencies=[may("ledger.read")])
    async def outlet_ledger(outlet_id: str) -> dict[str, Any]:
        """Fines of the outlet and of its engineers (FEE-5, PEN-1..7)."""
        return await views.ledger(rt.pool, "outlet_id", outlet_id)

    @router.get("/refunds", dependencies=[may("refund.read")])
    async def refunds(ticket_id: str | None = Query(default=None)) -> list[dict[str, Any]]:
        return await views.refunds(rt.pool, ticket_id)


def _settlement(router: APIRouter, rt: Runtime, billing: Any) -> None:
    """Outlets and their monthly settlement (FEE-6); maintenance contracts (FEE-8)."""

    @router.put("/outlets/{outlet_id}", dependencies=[may("outlet.change")])
    async def put_outlet(outlet_id: str, body: OutletIn) -> dict[str, Any]:
        """The outlet roster: which outlet an engineer's work is settled to."""
        result = await billing().execute(commands.change_outlet, body.command(outlet_id))
        return {**result.answer("stream_id"), "outlet_id": outlet_id, **body.model_dump()}

    @router.get("/outlets", dependencies=[may("outlet.read")])
    async def list_outlets() -> list[dict[str, Any]]:
        return await views.outlets(rt.pool)

    @router.post(
        "/outlets/{outlet_id}/settlements", status_code=201, dependencies=[may("settlement.issue")]
    )
    async def settle(outlet_id: str, body: SettlementIn) -> dict[str, Any]:
        """FEE-6: the outlet's voucher for a month is received: fees earned minus refunds
        and fines; the maker pays within 60 days."""
        result = await billing().execute(commands.issue_statement, body.command(outlet_id))
        statement = await views.statement(rt.pool, outlet_id, body.period)
        return {**result.answer("stream_id"), **statement}

    @router.get(
        "/outlets/{outlet_id}/settlements/{period}",
        response_model=None,
        dependencies=[may("settlement.read")],
    )
    async def get_statement(
        outlet_id: str,
        period: Annotated[str, Path(pattern=PERIOD)],
        format: Literal["json", "csv"] = Query(default="json"),
    ) -> Any:
        """The statement as JSON, or as CSV (`?format=csv`, amounts in yuan)."""
        statement = await views.statement(rt.pool, outlet_id, period)
        if format == "csv":
            return PlainTextResponse(views.statement_csv(statement), media_type="text/csv")
        return statement

    @router.put("/contracts/{contract_id}", dependencies=[may("contract.register")])
    async def put_contract(contract_id: str, body: ContractIn) -> dict[str, Any]:
        """FEE-8: a maintenance contract for a unit; its visits are covered for a year."""
        result = await billing().execute(commands.register_contract, body.command(contract_id))
        contract = {"contract_id": contract_id, **body.model_dump(mode="json")}
        return {**result.answer("stream_id"), **contract}


def _engineers(router: APIRouter, rt: Runtime, billing: Any) -> None:
    """The engineer's month: unreachable records (PEN-6), trips (FEE-7), PEN-8."""

    @router.post(
        "/engineers/{engineer_id}/unreachable",
        status_code=201,
        dependencies=[may("staff.unreachable")],
    )
    async def unreachable(engineer_id: str, body: UnreachableIn) -> dict[str, Any]:
        """The coordinator could not reach the engineer (PEN-6): repeated, it is a
        warning or the manager's fine within the pack's range."""
        cmd = body.command(engineer_id)
        result = await billing().execute(commands.record_unreachable, cmd)
        return {**result.answer("stream_id"), "engineer_id": engineer_id}

    @router.post(
        "/engineers/{engineer_id}/trips", status_code=201, dependencies=[may("trip.grant")]
    )
    async def grant_trip(engineer_id: str, body: TripIn) -> dict[str, Any]:
        """FEE-7: hotel up to the cap per night, meals per trip day (halves at 12:00)."""
        result = await billing().execute(commands.grant_trip, body.command(engineer_id))
        return result.answer("stream_id")

    @router.get("/engineers/{engineer_id}/trips", dependencies=[may("trip.read")])
    async def trips(engineer_id: str) -> list[dict[str, Any]]:
        return await views.trips(rt.pool, engineer_id)

    @router.post(
        "/engineers/{engineer_id}/assessments",
        status_code=201,
        dependencies=[may("assessment.run")],
    )
    async def assess(engineer_id: str, body: AssessmentIn) -> dict[str, Any]:
        """PEN-8: assess the engineer's month from the facts billing holds (complaints,
        missed appointments, repeat failures, callback grades); once per month."""
        await billing().execute(commands.assess_engineer, body.command(engineer_id))
        [assessed] = await views.assessments(rt.pool, engineer_id, body.period)
        return assessed  # what GET answers, field for field

    @router.get(
        "/engineers/{engineer_id}/assessments",
        response_model=None,
        dependencies=[may("assessment.read")],
    )
    async def get_assessments(
        engineer_id: str,
        period: str | None = Query(default=None, pattern=PERIOD),
        format: Literal["json", "csv"] = Query(default="json"),
    ) -> Any:
        """PEN-8: the engineer's assessment of `period` (all months without it), as JSON
        or as CSV (`?format=csv`)."""
        found = await views.assessments(rt.pool, engineer_id, period)
        if format == "csv":
            return PlainTextResponse(views.assessments_csv(found), media_type="text/csv")
        return found[0] if period is not None else found
