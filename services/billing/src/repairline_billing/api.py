"""Billing HTTP API: quotes, invoices, the penalty ledger, outlet settlement, trips."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter, Header, Query
from fastapi.responses import PlainTextResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from repairline_billing import domain
from repairline_billing.handlers import (
    REMOTE_RECORD_CHECK,
    append_penalty,
    assessment_facts,
    engineer_outlet,
    load_facts,
    pricing_context,
)
from repairline_contracts.billing import (
    RemoteServiceReported,
    ServiceFormHandedIn,
    ServiceRecordFiled,
    SettlementLine,
    SettlementStatementIssued,
    StaffUnreachableRecorded,
)
from repairline_contracts.envelope import Envelope
from repairline_platform.http import Conflict, NotFound
from repairline_platform.logging import get_logger
from repairline_platform.runtime import Runtime
from repairline_rules.packs import NotInPack, UnknownProduct

log = get_logger(__name__)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PartIn(_In):
    code: str = Field(min_length=1, description="Part code from the pack's price list.")
    quantity: int = Field(default=1, gt=0)


class QuoteIn(_In):
    engineer_id: str | None = None
    parts: list[PartIn] = Field(default_factory=list)
    distance_km: Decimal = Field(default=Decimal(0), ge=0, description="FEE-2, from the city.")
    agreed_travel_fee_fen: int | None = Field(default=None, ge=0, description="FEE-2.")
    extra_wiring_m: int = Field(default=0, ge=0, description="FEE-3, metres of supply line.")


class RefusalIn(_In):
    reason: str = Field(min_length=1, max_length=500)


class FormIn(_In):
    form: Literal["implementation", "acceptance", "implementation_plan", "service_feedback"]
    engineer_id: str | None = None


class RecordIn(_In):
    activity: Literal["visit", "trip", "remote"]
    engineer_id: str | None = None


class RemoteIn(_In):
    engineer_id: str = Field(min_length=1)


class UnreachableIn(_In):
    ticket_id: str = Field(min_length=1, description="The job the engineer was sought for.")
    note: str = Field(default="", max_length=1000)
    fine_fen: int | None = Field(
        default=None, ge=0, description="PEN-6: the manager's fine (20-50 yuan); none: warning."
    )


class AppealIn(_In):
    reason: str = Field(min_length=1, max_length=1000)


class RulingIn(_In):
    void: bool = Field(description="True voids the penalty, False upholds it.")
    manager_id: str = Field(min_length=1)
    reason: str = Field(min_length=1, max_length=1000)


class OutletIn(_In):
    name: str = Field(min_length=1, max_length=200)
    region: str = Field(min_length=1, max_length=50)
    engineer_ids: list[str] = Field(default_factory=list, description="Engineers of the outlet.")


class SettlementIn(_In):
    period: str = Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", description="`YYYY-MM`.")


class AssessmentIn(_In):
    period: str = Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", description="`YYYY-MM`.")


class TripIn(_In):
    ticket_id: str = Field(min_length=1)
    departed_at: AwareDatetime
    returned_at: AwareDatetime
    hotel_fen_per_night: list[int] = Field(default_factory=list)


class ContractIn(_In):
    serial_no: str = Field(min_length=1)
    starts_on: date


def _j(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _charge(row: Any) -> dict[str, Any]:
    return {
        "ticket_id": row["ticket_id"],
        "invoice_no": row["invoice_no"],
        "total_fen": row["total_fen"],
        "currency": row["currency"],
        "lines": _j(row["lines"]),
        "inputs": _j(row["inputs"]),
        "decision": _j(row["decision"]),
        "assessed_at": row["assessed_at"].isoformat(),
        "quote_id": row["quote_id"],
        "matches_quote": row["matches_quote"],
        "quote_note": row["quote_note"],
        "engineer_id": row["engineer_id"],
        "outlet_id": row["outlet_id"],
        "event_id": row["event_id"],
    }


def _quote(row: Any) -> dict[str, Any]:
    return {
        "quote_id": row["quote_id"],
        "ticket_id": row["ticket_id"],
        "engineer_id": row["engineer_id"],
        "status": row["status"],
        "total_fen": row["total_fen"],
        "lines": _j(row["lines"]),
        "inputs": _j(row["inputs"]),
        "needs_customer_agreement": row["needs_customer_agreement"],
        "decision": _j(row["decision"]),
        "issued_at": _iso(row["issued_at"]),
        "decided_at": _iso(row["decided_at"]),
        "refusal_reason": row["refusal_reason"],
    }


def _penalty(row: Any) -> dict[str, Any]:
    return {
        "penalty_id": row["penalty_id"],
        "ticket_id": row["ticket_id"],
        "subject": row["subject"],
        "engineer_id": row["engineer_id"],
        "outlet_id": row["outlet_id"],
        "rule_ids": list(row["rule_ids"] or []),
        "fine_fen": row["fine_fen"],
        "sanction": row["sanction"],
        "payee": row["payee"],
        "reason": row["reason"],
        "kind": row["kind"],
        "status": row["status"],
        "evidence": _j(row["evidence"]),
        "decision": _j(row["decision"]),
        "offence_at": _iso(row["offence_at"]),
        "assessed_at": _iso(row["assessed_at"]),
        "appeal_reason": row["appeal_reason"],
        "manager_id": row["manager_id"],
        "ruling_reason": row["ruling_reason"],
        "event_id": row["event_id"],
    }


def _statement(row: Any) -> dict[str, Any]:
    return {
        "statement_id": row["statement_id"],
        "outlet_id": row["outlet_id"],
        "period": row["period"],
        "fees_fen": row["fees_fen"],
        "refunds_fen": row["refunds_fen"],
        "fines_fen": row["fines_fen"],
        "credits_fen": row["credits_fen"],
        "net_fen": row["net_fen"],
        "lines": _j(row["lines"]),
        "voucher_received_on": row["voucher_received_on"].isoformat(),
        "pay_by": _iso(row["pay_by"]),
        "decision": _j(row["decision"]),
        "issued_at": row["issued_at"].isoformat(),
        "event_id": row["event_id"],
    }


def _assessment(row: Any) -> dict[str, Any]:
    return {
        "engineer_id": row["engineer_id"],
        "period": row["period"],
        **{k: row[k] for k in ("attitude", "quality", "efficiency", "satisfaction", "total")},
        "band": row["band"],
        "counts": _j(row["counts"]),
        "evidence": _j(row["evidence"]),
        "reason": row["reason"],
        "decision": _j(row["decision"]),
        "assessed_at": row["assessed_at"].isoformat(),
        "event_id": row["event_id"],
    }


ASSESSMENT_COUNTS = (
    "attitude_complaints",
    "quality_complaints",
    "repeat_failures",
    "missed_appointments",
    "lateness_complaints",
    "sla_breaches",
    "satisfied",
    "average",
    "dissatisfied",
)


def assessments_csv(assessments: list[dict[str, Any]]) -> str:
    """PEN-8 assessments as CSV: one row per engineer and month, scores and counts."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    scores = ("attitude", "quality", "efficiency", "satisfaction", "total")
    writer.writerow(["engineer_id", "period", *scores, "band", *ASSESSMENT_COUNTS, "rule_ids"])
    for a in assessments:
        writer.writerow(
            [
                a["engineer_id"],
                a["period"],
                *(a[k] for k in scores),
                a["band"],
                *(a["counts"][k] for k in ASSESSMENT_COUNTS),
                " ".join(a["decision"]["rule_ids"]),
            ]
        )
    return out.getvalue()


def statement_csv(statement: dict[str, Any]) -> str:
    """A settlement statement as CSV: yuan with two decimals, computed from fen."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "outlet_id",
            "period",
            "kind",
            "ticket_id",
            "ref_id",
            "rule_id",
            "description",
            "amount_yuan",
        ]
    )
    for line in statement["lines"]:
        writer.writerow(
            [
                statement["outlet_id"],
                statement["period"],
                line["kind"],
                line["ticket_id"],
                line["ref_id"],
                line["rule_id"],
                line["description"],
                domain.yuan(line["amount_fen"]),
            ]
        )
    for label, key, sign in (
        ("fees", "fees_fen", 1),
        ("refunds", "refunds_fen", -1),
        ("fines", "fines_fen", -1),
        ("credits", "credits_fen", 1),
        ("net", "net_fen", 1),
    ):
        writer.writerow(
            [
                statement["outlet_id"],
                statement["period"],
                f"total:{label}",
                "",
                "",
                "FEE-6",
                f"pay by {statement['pay_by']}",
                domain.yuan(sign * statement[key]),
            ]
        )
    return out.getvalue()


def routes(rt: Runtime) -> APIRouter:
    router = APIRouter(tags=["billing"])

    # -- quotes and invoices (FEE-4) ------------------------------------------------------

    @router.get("/tickets/{ticket_id}/charge")
    async def charge(ticket_id: str) -> dict[str, Any]:
        """The invoice of a completed repair, itemised, with the rules that decided it."""
        row = await rt.pool.fetchrow("select * from charges where ticket_id = $1", ticket_id)
        if row is None:
            raise NotFound(f"no charge assessed for ticket {ticket_id}")
        return _charge(row)

    @router.get("/tickets/{ticket_id}/invoice")
    async def invoice(ticket_id: str) -> dict[str, Any]:
        """Same as /charge: the invoice issued after completion (FEE-4)."""
        return await charge(ticket_id)

    @router.post("/tickets/{ticket_id}/quotes", status_code=201)
    async def issue_quote(
        ticket_id: str, body: QuoteIn, x_correlation_id: str | None = Header(default=None)
    ) -> dict[str, Any]:
        """FEE-4: the engineer's quote (FEE-1 visit, price-list parts, FEE-2, FEE-3)."""
        cid = x_correlation_id or str(uuid.uuid4())
        async with rt.unit_of_work() as uow:
            loaded = await load_facts(uow, ticket_id)
            if loaded is None:
                raise NotFound(f"billing has no ticket {ticket_id} yet")
            facts, region = loaded
            events = await uow.load_stream(ticket_id)
            account = domain.fold(ticket_id, events)
            ctx = await pricing_context(uow, rt.pack, facts)
            try:
                quote = domain.decide_quote(
                    rt.pack,
                    account,
                    ctx["facts"],
                    domain.QuoteRequest(
                        parts=tuple((p.code, p.quantity) for p in body.parts),
                        distance_km=body.distance_km,
                        agreed_travel_fee_fen=body.agreed_travel_fee_fen,
                        extra_wiring_m=body.extra_wiring_m,
                        engineer_id=body.engineer_id,
                    ),
                    quote_id=f"Q-{uuid.uuid4().hex[:12]}",
                    now=uow.now(),
                    prior=ctx["prior"],
                    reward=ctx["reward"],
                    contract_start=ctx["contract_start"],
                )
            except domain.IllegalTransition as exc:
                raise Conflict(str(exc), current_state=exc.state) from exc
            except (UnknownProduct, NotInPack) as exc:
                raise Conflict(str(exc), current_state=account.state) from exc
            [env] = await uow.append(
                ticket_id,
                [quote],
                expected_version=account.version,
                correlation_id=cid,
                causation_id=f"http:{cid}",
                region=region,
            )
        log.info("quote issued", ticket_id=ticket_id, event_id=env.id, correlation_id=cid)
        row = await rt.pool.fetchrow("select * from quotes where quote_id = $1", quote.quote_id)
        return _quote(row)

    @router.get("/tickets/{ticket_id}/quotes")
    async def list_quotes(ticket_id: str) -> list[dict[str, Any]]:
        rows = await rt.pool.fetch(
            "select * from quotes where ticket_id = $1 order by issued_at", ticket_id
        )
        return [_quote(r) for r in rows]

    async def _decide_quote(ticket_id: str, decide: Any, cid: str | None) -> dict[str, Any]:
        cid = cid or str(uuid.uuid4())
        async with rt.unit_of_work() as uow:
            events = await uow.load_stream(ticket_id)
            if not events:
                raise NotFound(f"no quote for ticket {ticket_id}")
            account = domain.fold(ticket_id, events)
            region = await uow.conn.fetchval(
                "select region from billing_tickets where ticket_id = $1", ticket_id
            )
            try:
                event = decide(account, uow.now())
            except domain.IllegalTransition as exc:
                raise Conflict(str(exc), current_state=exc.state) from exc
            [env] = await uow.append(
                ticket_id,
                [event],
                expected_version=account.version,
                correlation_id=cid,
                causation_id=f"http:{cid}",
                region=region,
            )
        log.info("quote decided", ticket_id=ticket_id, event_id=env.id, correlation_id=cid)
        return {"ticket_id": ticket_id, "event": env.type, "event_id": env.id}

    @router.post("/tickets/{ticket_id}/quotes/{quote_id}/acceptance")
    async def accept_quote(
        ticket_id: str, quote_id: str, x_correlation_id: str | None = Header(default=None)
    ) -> dict[str, Any]:
        """FEE-4: the customer accepts; work may start (QuoteAccepted)."""
        return await _decide_quote(
            ticket_id,
            lambda acc, now: domain.decide_acceptance(acc, quote_id, now=now),
            x_correlation_id,
        )

    @router.post("/tickets/{ticket_id}/quotes/{quote_id}/refusal")
    async def refuse_quote(
        ticket_id: str,
        quote_id: str,
        body: RefusalIn,
        x_correlation_id: str | None = Header(default=None),
    ) -> dict[str, Any]:
        """FEE-4: the customer refuses; no work and no charge (QuoteRefused)."""
        return await _decide_quote(
            ticket_id,
            lambda acc, now: domain.decide_refusal(acc, quote_id, reason=body.reason, now=now),
            x_correlation_id,
        )

    async def _ticket_fact(ticket_id: str, make: Any) -> dict[str, Any]:
        cid = str(uuid.uuid4())
        async with rt.unit_of_work() as uow:
            region = await uow.conn.fetchval(
                "select region from billing_tickets where ticket_id = $1", ticket_id
            )
            if region is None:
                raise NotFound(f"billing has no ticket {ticket_id} yet")
            [env] = await uow.append(
                ticket_id,
                [make(uow.now())],
                correlation_id=cid,
                causation_id=f"http:{cid}",
                region=region,
            )
        return {"ticket_id": ticket_id, "event": env.type, "event_id": env.id}

    @router.post("/tickets/{ticket_id}/forms", status_code=201)
    async def hand_in_form(ticket_id: str, body: FormIn) -> dict[str, Any]:
        """A service form reached the office (PEN-2, PEN-5 check these)."""
        return await _ticket_fact(
            ticket_id,
            lambda now: ServiceFormHandedIn(
                ticket_id=ticket_id, engineer_id=body.engineer_id, form=body.form, handed_in_at=now
            ),
        )

    @router.post("/tickets/{ticket_id}/service-records", status_code=201)
    async def file_record(ticket_id: str, body: RecordIn) -> dict[str, Any]:
        """The visit, trip or remote service is in the service record (PEN-3, PEN-4)."""
        return await _ticket_fact(
            ticket_id,
            lambda now: ServiceRecordFiled(
                ticket_id=ticket_id,
                engineer_id=body.engineer_id,
                activity=body.activity,
                filed_at=now,
            ),
        )

    @router.post("/tickets/{ticket_id}/remote-services", status_code=201)
    async def report_remote(ticket_id: str, body: RemoteIn) -> dict[str, Any]:
        """The service desk logged a remote service: unrecorded by the end of the next
        day, it is fined (PEN-4)."""
        cid = str(uuid.uuid4())
        async with rt.unit_of_work() as uow:
            now = uow.now()
            [env] = await uow.append(
                ticket_id,
                [
                    RemoteServiceReported(
                        ticket_id=ticket_id, engineer_id=body.engineer_id, reported_at=now
                    )
                ],
                correlation_id=cid,
                causation_id=f"http:{cid}",
            )
            day = now.astimezone(rt.pack.zone).date()
            if rt.pack.penalties.remote_unrecorded_fen is not None:
                await uow.schedule(
                    f"remote-record:{env.id}",
                    kind=REMOTE_RECORD_CHECK,
                    stream_id=ticket_id,
                    due_at=domain.check_deadline(rt.pack, day, rt.pack.penalties.form_grace_days),
                    payload={
                        "visit_on": day.isoformat(),
                        "event_id": env.id,
                        "engineer_id": body.engineer_id,
                    },
                    correlation_id=cid,
                )
        return {"ticket_id": ticket_id, "event": env.type, "event_id": env.id}

    @router.post("/engineers/{engineer_id}/unreachable", status_code=201)
    async def unreachable(engineer_id: str, body: UnreachableIn) -> dict[str, Any]:
        """The coordinator could not reach the engineer (PEN-6): repeated, it is a
        warning or the manager's fine within the pack's range."""
        cid = str(uuid.uuid4())
        stream = f"staff:{engineer_id}"
        async with rt.unit_of_work() as uow:
            events = await uow.load_stream(stream)
            recorded = StaffUnreachableRecorded(
                ticket_id=body.ticket_id,
                engineer_id=engineer_id,
                note=body.note,
                recorded_at=uow.now(),
            )
            [env] = await uow.append(
                stream,
                [recorded],
                expected_version=len(events),
                correlation_id=cid,
                causation_id=f"http:{cid}",
            )
            records = []
            for row in await uow.conn.fetch(
                "select envelope from events where stream_id = $1 order by stream_version",
                stream,
            ):
                stored = Envelope.model_validate_json(row["envelope"])
                records.append((stored.id, stored.subject, stored.time))
            try:
                penalty = domain.decide_unreachable(
                    rt.pack,
                    engineer_id=engineer_id,
                    outlet_id=await engineer_outlet(uow, body.ticket_id, engineer_id),
                    records=records,
                    fine_fen=body.fine_fen,
                    now=uow.now(),
                )
            except ValueError as exc:
                raise Conflict(str(exc), current_state="recorded") from exc
            if penalty is not None:
                await append_penalty(uow, penalty, correlation_id=cid, causation_id=env.id)
        return {
            "engineer_id": engineer_id,
            "event_id": env.id,
            "penalty_id": penalty.penalty_id if penalty else None,
        }

    # -- penalty ledger -------------------------------------------------------------------

    @router.get("/penalties")
    async def list_penalties(
        engineer_id: str | None = Query(default=None),
        outlet_id: str | None = Query(default=None),
        ticket_id: str | None = Query(default=None),
        rule_id: str | None = Query(default=None),
    ) -> list[dict[str, Any]]:
        rows = await rt.pool.fetch(
            "select * from penalties where ($1::text is null or engineer_id = $1)"
            " and ($2::text is null or outlet_id = $2) and ($3::text is null or ticket_id = $3)"
            " and ($4::text is null or $4 = any(rule_ids))"
            " order by offence_at, penalty_id",
            engineer_id,
            outlet_id,
            ticket_id,
            rule_id,
        )
        return [_penalty(r) for r in rows]

    @router.get("/penalties/{penalty_id}")
    async def get_penalty(penalty_id: str) -> dict[str, Any]:
        row = await rt.pool.fetchrow("select * from penalties where penalty_id = $1", penalty_id)
        if row is None:
            raise NotFound(f"no penalty {penalty_id}")
        return _penalty(row)

    async def _penalty_command(penalty_id: str, decide: Any) -> dict[str, Any]:
        cid = str(uuid.uuid4())
        stream = domain.penalty_stream(penalty_id)
        async with rt.unit_of_work() as uow:
            events = await uow.load_stream(stream)
            state = domain.fold_penalty(penalty_id, events)
            if state is None:
                raise NotFound(f"no penalty {penalty_id}")
            try:
                event = decide(state, events[0].ticket_id, uow.now())
            except domain.IllegalTransition as exc:
                raise Conflict(str(exc), current_state=exc.state) from exc
            await uow.append(
                stream,
                [event],
                expected_version=len(events),
                correlation_id=cid,
                causation_id=f"http:{cid}",
            )
        return await get_penalty(penalty_id)

    @router.post("/penalties/{penalty_id}/appeal")
    async def appeal(penalty_id: str, body: AppealIn) -> dict[str, Any]:
        """The penalised engineer or outlet appeals; a manager rules."""
        return await _penalty_command(
            penalty_id,
            lambda s, t, now: domain.decide_appeal(s, t, reason=body.reason, now=now),
        )

    @router.post("/penalties/{penalty_id}/ruling")
    async def ruling(penalty_id: str, body: RulingIn) -> dict[str, Any]:
        """A manager voids or upholds an appealed penalty; it is never deleted."""
        return await _penalty_command(
            penalty_id,
            lambda s, t, now: domain.decide_ruling(
                s, t, void=body.void, manager_id=body.manager_id, reason=body.reason, now=now
            ),
        )

    async def _ledger(column: str, key: str) -> dict[str, Any]:
        rows = await rt.pool.fetch(
            f"select * from penalties where {column} = $1 order by offence_at, penalty_id", key
        )
        entries = [_penalty(r) for r in rows]
        standing = [e for e in entries if e["status"] != "voided"]
        return {
            column: key,
            "fines_fen": sum(e["fine_fen"] or 0 for e in standing),
            "standing": len(standing),
            "voided": len(entries) - len(standing),
            "escalations": [
                {"penalty_id": e["penalty_id"], "sanction": e["sanction"], "reason": e["reason"]}
                for e in standing
                if e["sanction"] in ("dismissal", "demotion_or_dismissal")
                or (e["reason"] or "").startswith("repeat offence")
            ],
            "entries": entries,
        }

    @router.get("/engineers/{engineer_id}/ledger")
    async def engineer_ledger(engineer_id: str) -> dict[str, Any]:
        """PEN-1..7: the engineer's penalties, standing and voided, with escalations."""
        return await _ledger("engineer_id", engineer_id)

    @router.get("/outlets/{outlet_id}/ledger")
    async def outlet_ledger(outlet_id: str) -> dict[str, Any]:
        """Fines of the outlet and of its engineers (FEE-5, PEN-1..7)."""
        return await _ledger("outlet_id", outlet_id)

    @router.get("/refunds")
    async def refunds(ticket_id: str | None = Query(default=None)) -> list[dict[str, Any]]:
        rows = await rt.pool.fetch(
            "select * from refunds where ($1::text is null or ticket_id = $1) order by refunded_at",
            ticket_id,
        )
        return [
            {
                **{
                    k: r[k]
                    for k in (
                        "complaint_id",
                        "ticket_id",
                        "outlet_id",
                        "charged_fen",
                        "tariff_fen",
                        "refund_fen",
                        "event_id",
                    )
                },
                "evidence": _j(r["evidence"]),
                "decision": _j(r["decision"]),
                "refunded_at": r["refunded_at"].isoformat(),
            }
            for r in rows
        ]

    # -- outlets and settlement (FEE-6) ---------------------------------------------------

    @router.put("/outlets/{outlet_id}")
    async def put_outlet(outlet_id: str, body: OutletIn) -> dict[str, Any]:
        """The outlet roster: which outlet an engineer's work is settled to."""
        async with rt.unit_of_work() as uow:
            await uow.conn.execute(
                "insert into outlets values ($1, $2, $3, $4) on conflict (outlet_id) do update"
                " set name = excluded.name, region = excluded.region,"
                " updated_at = excluded.updated_at",
                outlet_id,
                body.name,
                body.region,
                uow.now(),
            )
            for engineer_id in body.engineer_ids:
                await uow.conn.execute(
                    "insert into engineer_outlets values ($1, $2) on conflict (engineer_id)"
                    " do update set outlet_id = excluded.outlet_id",
                    engineer_id,
                    outlet_id,
                )
        return {"outlet_id": outlet_id, **body.model_dump()}

    @router.get("/outlets")
    async def list_outlets() -> list[dict[str, Any]]:
        rows = await rt.pool.fetch(
            "select o.*, coalesce(array_agg(e.engineer_id order by e.engineer_id)"
            " filter (where e.engineer_id is not null), '{}') as engineer_ids"
            " from outlets o left join engineer_outlets e using (outlet_id)"
            " group by o.outlet_id order by o.outlet_id"
        )
        return [
            {
                "outlet_id": r["outlet_id"],
                "name": r["name"],
                "region": r["region"],
                "engineer_ids": list(r["engineer_ids"]),
            }
            for r in rows
        ]

    @router.post("/outlets/{outlet_id}/settlements", status_code=201)
    async def settle(outlet_id: str, body: SettlementIn) -> dict[str, Any]:
        """FEE-6: the outlet's voucher for a month is received: fees earned minus refunds
        and fines; the maker pays within 60 days."""
        cid = str(uuid.uuid4())
        start, end = domain.period_bounds(rt.pack, body.period)
        stream = f"settlement:{outlet_id}:{body.period}"
        async with rt.unit_of_work() as uow:
            if await uow.stream_version(stream):
                raise Conflict(
                    f"the {body.period} statement of {outlet_id} is already issued",
                    current_state="issued",
                )
            lines: list[SettlementLine] = []
            for r in await uow.conn.fetch(
                "select * from charges where outlet_id = $1 and assessed_at >= $2"
                " and assessed_at < $3",
                outlet_id,
                start,
                end,
            ):
                lines.append(
                    SettlementLine(
                        kind="fee",
                        ref_id=r["event_id"],
                        ticket_id=r["ticket_id"],
                        amount_fen=r["total_fen"],
                        rule_id="FEE-1",
                        description=f"invoice {r['invoice_no'] or r['ticket_id']}",
                    )
                )
            for r in await uow.conn.fetch(
                "select * from refunds where outlet_id = $1 and refunded_at >= $2"
                " and refunded_at < $3",
                outlet_id,
                start,
                end,
            ):
                lines.append(
                    SettlementLine(
                        kind="refund",
                        ref_id=r["complaint_id"],
                        ticket_id=r["ticket_id"],
                        amount_fen=-r["refund_fen"],
                        rule_id="FEE-5",
                        description="overcharge refunded to the customer",
                    )
                )
            for r in await uow.conn.fetch(
                "select * from penalties where outlet_id = $1 and assessed_at >= $2"
                " and assessed_at < $3 and status <> 'voided' and fine_fen > 0",
                outlet_id,
                start,
                end,
            ):
                lines.append(
                    SettlementLine(
                        kind="fine",
                        ref_id=r["penalty_id"],
                        ticket_id=r["ticket_id"],
                        amount_fen=-r["fine_fen"],
                        rule_id=(r["rule_ids"] or ["PEN-1"])[0],
                        description=f"{r['subject']} {r['engineer_id'] or ''}: {r['reason']}",
                    )
                )
            # FEE-6: fines voided after an earlier statement deducted them come back
            earlier = [
                Envelope.model_validate_json(r["envelope"]).event()
                for r in await uow.conn.fetch(
                    "select envelope from events where event_type = $1"
                    " and left(stream_id, $2) = $3 order by global_position",
                    SettlementStatementIssued.event_type,
                    len(f"settlement:{outlet_id}:"),
                    f"settlement:{outlet_id}:",
                )
            ]
            deducted = {line.ref_id for e in earlier for line in e.lines if line.kind == "fine"}
            voided = []
            for penalty_id in sorted(deducted):
                state = domain.fold_penalty(
                    penalty_id, await uow.load_stream(domain.penalty_stream(penalty_id))
                )
                if state is not None and state.status == "voided":
                    voided.append(penalty_id)
            lines.extend(domain.void_credits(earlier, voided))  # type: ignore[arg-type]
            statement = domain.decide_statement(
                rt.pack,
                outlet_id=outlet_id,
                period=body.period,
                lines=lines,
                voucher_received_on=uow.now().astimezone(rt.pack.zone).date(),
                now=uow.now(),
            )
            await uow.append(
                stream,
                [statement],
                expected_version=0,
                correlation_id=cid,
                causation_id=f"http:{cid}",
            )
        return await get_statement(outlet_id, body.period)

    @router.get("/outlets/{outlet_id}/settlements/{period}", response_model=None)
    async def get_statement(
        outlet_id: str, period: str, format: Literal["json", "csv"] = Query(default="json")
    ) -> Any:
        """The statement as JSON, or as CSV (`?format=csv`, amounts in yuan)."""
        row = await rt.pool.fetchrow(
            "select * from settlements where outlet_id = $1 and period = $2", outlet_id, period
        )
        if row is None:
            raise NotFound(f"no {period} statement for outlet {outlet_id}")
        statement = _statement(row)
        if format == "csv":
            return PlainTextResponse(statement_csv(statement), media_type="text/csv")
        return statement

    # -- travel allowance (FEE-7) and contracts (FEE-8) ------------------------------------

    @router.post("/engineers/{engineer_id}/trips", status_code=201)
    async def grant_trip(engineer_id: str, body: TripIn) -> dict[str, Any]:
        """FEE-7: hotel up to the cap per night, meals per trip day (halves at 12:00)."""
        cid = str(uuid.uuid4())
        trip_id = f"TRIP-{uuid.uuid4().hex[:12]}"
        async with rt.unit_of_work() as uow:
            try:
                granted = domain.decide_trip(
                    rt.pack,
                    ticket_id=body.ticket_id,
                    trip_id=trip_id,
                    engineer_id=engineer_id,
                    departed_at=body.departed_at,
                    returned_at=body.returned_at,
                    hotel_fen_per_night=body.hotel_fen_per_night,
                    now=uow.now(),
                )
            except NotInPack as exc:
                raise Conflict(str(exc), current_state="no-travel-allowance") from exc
            except ValueError as exc:
                raise Conflict(str(exc), current_state="invalid-trip") from exc
            await uow.append(
                f"trip:{trip_id}",
                [granted],
                expected_version=0,
                correlation_id=cid,
                causation_id=f"http:{cid}",
            )
        return granted.model_dump(mode="json")

    @router.get("/engineers/{engineer_id}/trips")
    async def trips(engineer_id: str) -> list[dict[str, Any]]:
        rows = await rt.pool.fetch(
            "select * from trips where engineer_id = $1 order by departed_at", engineer_id
        )
        return [
            {
                **{
                    k: r[k]
                    for k in (
                        "trip_id",
                        "ticket_id",
                        "engineer_id",
                        "trip_days",
                        "meals_fen",
                        "hotel_fen",
                        "total_fen",
                        "reason",
                    )
                },
                "departed_at": r["departed_at"].isoformat(),
                "returned_at": r["returned_at"].isoformat(),
                "decision": _j(r["decision"]),
            }
            for r in rows
        ]

    # -- assessment (PEN-8) ----------------------------------------------------------------

    @router.post("/engineers/{engineer_id}/assessments", status_code=201)
    async def assess(engineer_id: str, body: AssessmentIn) -> dict[str, Any]:
        """PEN-8: assess the engineer's month from the facts billing holds (complaints,
        missed appointments, repeat failures, callback grades); once per month."""
        cid = str(uuid.uuid4())
        start, end = domain.period_bounds(rt.pack, body.period)
        stream = domain.assessment_stream(engineer_id, body.period)
        async with rt.unit_of_work() as uow:
            try:
                assessed = domain.decide_assessment(
                    rt.pack,
                    engineer_id=engineer_id,
                    period=body.period,
                    facts=await assessment_facts(uow, engineer_id, start, end),
                    assessed=bool(await uow.stream_version(stream)),
                    now=uow.now(),
                )
            except domain.IllegalTransition as exc:
                raise Conflict(str(exc), current_state=exc.state) from exc
            await uow.append(
                stream,
                [assessed],
                expected_version=0,
                correlation_id=cid,
                causation_id=f"http:{cid}",
            )
        return await get_assessments(engineer_id, body.period)

    @router.get("/engineers/{engineer_id}/assessments", response_model=None)
    async def get_assessments(
        engineer_id: str,
        period: str | None = Query(default=None, pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$"),
        format: Literal["json", "csv"] = Query(default="json"),
    ) -> Any:
        """PEN-8: the engineer's assessment of `period` (all months without it), as JSON
        or as CSV (`?format=csv`)."""
        rows = await rt.pool.fetch(
            "select * from assessments where engineer_id = $1"
            " and ($2::text is null or period = $2) order by period",
            engineer_id,
            period,
        )
        found = [_assessment(r) for r in rows]
        if period is not None and not found:
            raise NotFound(f"no {period} assessment for engineer {engineer_id}")
        if format == "csv":
            return PlainTextResponse(assessments_csv(found), media_type="text/csv")
        return found[0] if period is not None else found

    @router.put("/contracts/{contract_id}")
    async def put_contract(contract_id: str, body: ContractIn) -> dict[str, Any]:
        """FEE-8: a maintenance contract for a unit; its visits are covered for a year."""
        if rt.pack.fees.contract is None:
            raise Conflict(
                f"pack {rt.pack.id} has no maintenance contracts (FEE-8)",
                current_state="no-contracts",
            )
        await rt.pool.execute(
            "insert into contracts values ($1, $2, $3) on conflict (contract_id) do update"
            " set serial_no = excluded.serial_no, starts_on = excluded.starts_on",
            contract_id,
            body.serial_no,
            body.starts_on,
        )
        return {"contract_id": contract_id, **body.model_dump(mode="json")}

    return router
