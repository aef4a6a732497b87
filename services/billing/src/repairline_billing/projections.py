"""Billing's read models, each a declared projection: batched, replayable, rebuilt by
`replay` and compared with the live one in the integration tests.

Billing's own ledgers (charges, quotes, penalties, refunds, settlements, trips,
assessments) fold billing's events; its trimmed copies of other contexts' facts fold
theirs: the tickets (intake's requests and warranty decisions, dispatch's assignments),
the rewards held for a unit and the callback grades (feedback's).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from repairline_billing.domain import CALLBACK_COMPLETED, WARRANTY_DECIDED
from repairline_contracts import topics
from repairline_contracts.base import Event
from repairline_contracts.billing import (
    ChargeAssessed,
    EngineerAssessed,
    MaintenanceContractRegistered,
    OutletRosterChanged,
    OverchargeRefunded,
    PenaltyAppealed,
    PenaltyAssessed,
    PenaltyUpheld,
    PenaltyVoided,
    QuoteAccepted,
    QuoteIssued,
    QuoteRefused,
    SettlementStatementIssued,
    TravelAllowanceGranted,
)
from repairline_contracts.dispatch import EngineerAssigned
from repairline_contracts.feedback import ExtensionRewardGranted
from repairline_contracts.intake import RepairRequested
from repairline_platform.eventstore import Delivered, UnitOfWork


def wire(event: Event) -> dict[str, Any]:
    """An event's fields as plain data: lets a handler read a type it has no class for."""
    return event.model_dump(mode="json")


# -- billing's copy of other contexts' facts ------------------------------------------------


class Tickets:
    """Copy: what billing prices a ticket from: intake's request and warranty decision,
    dispatch's assignment. Either may come before the request."""

    name = "tickets"
    topics = (topics.INTAKE_EVENTS, topics.DISPATCH_EVENTS)
    event_types = frozenset(
        {RepairRequested.event_type, EngineerAssigned.event_type, WARRANTY_DECIDED}
    )
    tables = ("billing_tickets", "ticket_assignments", "ticket_warranty")

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        for item in items:
            event = item.event
            if isinstance(event, RepairRequested):
                await _requested(uow, event)
            elif isinstance(event, EngineerAssigned):
                await uow.conn.execute(
                    "insert into ticket_assignments (ticket_id, engineer_id, service_point_id)"
                    " values ($1, $2, $3) on conflict (ticket_id) do update set"
                    " engineer_id = excluded.engineer_id,"
                    " service_point_id = excluded.service_point_id",
                    event.ticket_id,
                    event.engineer_id,
                    getattr(event, "service_point_id", None),
                )
            elif item.envelope.type == WARRANTY_DECIDED:
                await _warranty(uow, wire(event))


async def _requested(uow: UnitOfWork, event: RepairRequested) -> None:
    await uow.conn.execute(
        "insert into billing_tickets (ticket_id, product_line, city_tier,"
        " service_mode, purchase_date, region, serial_no, requested_at)"
        " values ($1, $2, $3, $4, $5, $6, $7, $8)"
        " on conflict (ticket_id) do nothing",
        event.ticket_id,
        event.product.line,
        event.city_tier.value,
        event.service_mode.value,
        event.product.purchase_date,
        event.region,
        event.product.serial_no,
        event.requested_at,
    )


async def _warranty(uow: UnitOfWork, data: dict[str, Any]) -> None:
    await uow.conn.execute(
        "insert into ticket_warranty values ($1, $2, $3, $4, $5)"
        " on conflict (ticket_id) do update set"
        " unit_in_warranty = excluded.unit_in_warranty,"
        " free_visit = excluded.free_visit, chargeable = excluded.chargeable,"
        " reason = excluded.reason",
        data["ticket_id"],
        bool(data["unit_in_warranty"]),
        bool(data["free_visit"]),
        bool(data["chargeable"]),
        str(data.get("reason", "")),
    )


class Rewards:
    """Copy: WAR-11 rewards feedback granted for a unit (by serial number)."""

    name = "rewards"
    topics = (topics.FEEDBACK_EVENTS,)
    event_types = frozenset({ExtensionRewardGranted.event_type})
    tables = ("rewards",)

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        rows = [
            (i.envelope.id, e.serial_no, e.reward, e.extended_ends_on, e.reason)
            for i in items
            if isinstance(e := i.event, ExtensionRewardGranted) and e.serial_no
        ]
        await uow.conn.executemany(
            "insert into rewards values ($1, $2, $3, $4, $5, null)"
            " on conflict (event_id) do nothing",
            rows,
        )


# -- billing's reference data: the outlet roster (FEE-6), contracts (FEE-8) ----------------


class Outlets:
    """Projection: outlets and the outlet each engineer's work is settled to."""

    name = "outlets"
    topics = (topics.BILLING_EVENTS,)
    event_types = frozenset({OutletRosterChanged.event_type})
    tables = ("outlets", "engineer_outlets")

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        for item in items:
            e = item.event
            assert isinstance(e, OutletRosterChanged)
            await uow.conn.execute(
                "insert into outlets values ($1, $2, $3, $4) on conflict (outlet_id) do update"
                " set name = excluded.name, region = excluded.region,"
                " updated_at = excluded.updated_at",
                e.outlet_id,
                e.name,
                e.region,
                e.changed_at,
            )
            await uow.conn.executemany(
                "insert into engineer_outlets values ($1, $2) on conflict (engineer_id)"
                " do update set outlet_id = excluded.outlet_id",
                [(engineer_id, e.outlet_id) for engineer_id in e.engineer_ids],
            )


class Contracts:
    """Projection: FEE-8 maintenance contracts by serial number."""

    name = "contracts"
    topics = (topics.BILLING_EVENTS,)
    event_types = frozenset({MaintenanceContractRegistered.event_type})
    tables = ("contracts",)

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        rows = [
            (e.contract_id, e.serial_no, e.starts_on)
            for i in items
            if isinstance(e := i.event, MaintenanceContractRegistered)
        ]
        await uow.conn.executemany(
            "insert into contracts values ($1, $2, $3) on conflict (contract_id) do update"
            " set serial_no = excluded.serial_no, starts_on = excluded.starts_on",
            rows,
        )


# -- billing's ledgers ----------------------------------------------------------------------


class Charges:
    """Projection: the invoice of each ticket."""

    name = "charges"
    topics = (topics.BILLING_EVENTS,)
    event_types = frozenset({ChargeAssessed.event_type})
    tables = ("charges",)

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        rows = []
        for item in items:
            e = item.event
            assert isinstance(e, ChargeAssessed)
            data = e.model_dump(mode="json")
            rows.append(
                (
                    e.ticket_id,
                    e.total_fen,
                    e.currency,
                    json.dumps(data["lines"]),
                    json.dumps(data["inputs"]),
                    json.dumps(data["decision"]),
                    e.assessed_at,
                    item.envelope.id,
                    e.invoice_no,
                    e.quote_id,
                    e.matches_quote,
                    e.quote_note,
                    e.engineer_id,
                    e.outlet_id,
                )
            )
        await uow.conn.executemany(
            "insert into charges (ticket_id, total_fen, currency, lines, inputs, decision,"
            " assessed_at, event_id, invoice_no, quote_id, matches_quote, quote_note,"
            " engineer_id, outlet_id)"
            " values ($1, $2, $3, $4::jsonb, $5::jsonb, $6::jsonb, $7, $8, $9, $10, $11, $12,"
            " $13, $14) on conflict (ticket_id) do nothing",
            rows,
        )


QUOTE_RANK = {"issued": 1, "accepted": 2, "refused": 2}


class Quotes:
    """Projection: quotes and what the customer said (FEE-4)."""

    name = "quotes"
    topics = (topics.BILLING_EVENTS,)
    event_types = frozenset(
        {QuoteIssued.event_type, QuoteAccepted.event_type, QuoteRefused.event_type}
    )
    tables = ("quotes",)

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        for item in items:
            e = item.event
            if isinstance(e, QuoteIssued):
                data = e.model_dump(mode="json")
                row = (
                    e.quote_id,
                    e.ticket_id,
                    e.engineer_id,
                    e.total_fen,
                    json.dumps(data["lines"]),
                    json.dumps(data["inputs"]),
                    e.needs_customer_agreement,
                    json.dumps(data["decision"]),
                    e.issued_at,
                    "issued",
                    None,
                    None,
                    item.envelope.id,
                )
            elif isinstance(e, QuoteAccepted):
                row = (
                    e.quote_id,
                    e.ticket_id,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    "accepted",
                    e.accepted_at,
                    None,
                    None,
                )
            else:
                assert isinstance(e, QuoteRefused)
                row = (
                    e.quote_id,
                    e.ticket_id,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    "refused",
                    e.refused_at,
                    e.reason,
                    None,
                )
            await uow.conn.execute(
                """
                insert into quotes as q (quote_id, ticket_id, engineer_id, total_fen, lines,
                    inputs, needs_customer_agreement, decision, issued_at, status, status_rank,
                    decided_at, refusal_reason, event_id)
                values ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7, $8::jsonb, $9, $10, $14,
                    $11, $12, $13)
                on conflict (quote_id) do update set
                    engineer_id = coalesce(q.engineer_id, excluded.engineer_id),
                    total_fen = coalesce(q.total_fen, excluded.total_fen),
                    lines = coalesce(q.lines, excluded.lines),
                    inputs = coalesce(q.inputs, excluded.inputs),
                    needs_customer_agreement = coalesce(q.needs_customer_agreement,
                        excluded.needs_customer_agreement),
                    decision = coalesce(q.decision, excluded.decision),
                    issued_at = coalesce(q.issued_at, excluded.issued_at),
                    event_id = coalesce(q.event_id, excluded.event_id),
                    status = case when excluded.status_rank > q.status_rank
                                  then excluded.status else q.status end,
                    status_rank = greatest(q.status_rank, excluded.status_rank),
                    decided_at = coalesce(q.decided_at, excluded.decided_at),
                    refusal_reason = coalesce(q.refusal_reason, excluded.refusal_reason)
                """,
                *row,
                QUOTE_RANK[row[9]],
            )


PENALTY_RANK = {"assessed": 1, "appealed": 2, "voided": 3, "upheld": 3}


class Penalties:
    """Projection: the penalty ledger, per engineer and per outlet; never deleted."""

    name = "penalties"
    topics = (topics.BILLING_EVENTS,)
    event_types = frozenset(
        {
            PenaltyAssessed.event_type,
            PenaltyAppealed.event_type,
            PenaltyVoided.event_type,
            PenaltyUpheld.event_type,
        }
    )
    tables = ("penalties",)

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        for item in items:
            e = item.event
            base: dict[str, Any] = {"penalty_id": e.penalty_id, "ticket_id": e.ticket_id}  # type: ignore[attr-defined]
            if isinstance(e, PenaltyAssessed):
                data = e.model_dump(mode="json")
                base.update(
                    subject=e.subject,
                    engineer_id=e.engineer_id,
                    outlet_id=e.outlet_id,
                    fine_fen=e.fine_fen,
                    sanction=e.sanction,
                    payee=e.payee,
                    reason=e.reason,
                    kind=e.kind,
                    rule_ids=list(e.decision.rule_ids),
                    evidence=json.dumps(data["evidence"]),
                    decision=json.dumps(data["decision"]),
                    offence_at=e.offence_at,
                    assessed_at=e.assessed_at,
                    event_id=item.envelope.id,
                    status="assessed",
                )
            elif isinstance(e, PenaltyAppealed):
                base.update(status="appealed", appeal_reason=e.reason, appealed_at=e.appealed_at)
            elif isinstance(e, PenaltyVoided):
                base.update(
                    status="voided",
                    manager_id=e.manager_id,
                    ruling_reason=e.reason,
                    ruled_at=e.voided_at,
                )
            elif isinstance(e, PenaltyUpheld):
                base.update(
                    status="upheld",
                    manager_id=e.manager_id,
                    ruling_reason=e.reason,
                    ruled_at=e.upheld_at,
                )
            base["status_rank"] = PENALTY_RANK[base["status"]]
            columns = list(base)
            values = ", ".join(
                f"${i}::jsonb" if c in ("evidence", "decision") else f"${i}"
                for i, c in enumerate(columns, 1)
            )
            updates = ", ".join(
                f"{c} = coalesce(p.{c}, excluded.{c})"
                for c in columns
                if c not in ("penalty_id", "status", "status_rank")
            )
            await uow.conn.execute(
                f"insert into penalties as p ({', '.join(columns)}) values ({values})"
                f" on conflict (penalty_id) do update set {updates},"
                " status = case when excluded.status_rank > p.status_rank"
                " then excluded.status else p.status end,"
                " status_rank = greatest(p.status_rank, excluded.status_rank)",
                *base.values(),
            )


class Refunds:
    """Projection: FEE-5 refunds."""

    name = "refunds"
    topics = (topics.BILLING_EVENTS,)
    event_types = frozenset({OverchargeRefunded.event_type})
    tables = ("refunds",)

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        for item in items:
            e = item.event
            assert isinstance(e, OverchargeRefunded)
            data = e.model_dump(mode="json")
            await uow.conn.execute(
                "insert into refunds values ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb,"
                " $9, $10) on conflict do nothing",
                e.complaint_id,
                e.ticket_id,
                e.outlet_id,
                e.charged_fen,
                e.tariff_fen,
                e.refund_fen,
                json.dumps(data["evidence"]),
                json.dumps(data["decision"]),
                e.refunded_at,
                item.envelope.id,
            )


class Settlements:
    """Projection: FEE-6 statements per outlet and period."""

    name = "settlements"
    topics = (topics.BILLING_EVENTS,)
    event_types = frozenset({SettlementStatementIssued.event_type})
    tables = ("settlements",)

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        for item in items:
            e = item.event
            assert isinstance(e, SettlementStatementIssued)
            data = e.model_dump(mode="json")
            await uow.conn.execute(
                "insert into settlements values ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9,"
                " $10, $11::jsonb, $12, $13, $14) on conflict do nothing",
                e.statement_id,
                e.outlet_id,
                e.period,
                e.fees_fen,
                e.refunds_fen,
                e.fines_fen,
                e.net_fen,
                json.dumps(data["lines"]),
                e.voucher_received_on,
                e.pay_by,
                json.dumps(data["decision"]),
                e.issued_at,
                item.envelope.id,
                e.credits_fen,
            )


class Trips:
    """Projection: FEE-7 travel allowances."""

    name = "trips"
    topics = (topics.BILLING_EVENTS,)
    event_types = frozenset({TravelAllowanceGranted.event_type})
    tables = ("trips",)

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        for item in items:
            e = item.event
            assert isinstance(e, TravelAllowanceGranted)
            await uow.conn.execute(
                "insert into trips values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb,"
                " $12, $13) on conflict do nothing",
                e.trip_id,
                e.ticket_id,
                e.engineer_id,
                e.departed_at,
                e.returned_at,
                e.trip_days,
                e.meals_fen,
                e.hotel_fen,
                e.total_fen,
                e.reason,
                json.dumps(e.decision.model_dump(mode="json")),
                e.granted_at,
                item.envelope.id,
            )


class CallbackGrades:
    """Projection: feedback's callback grades per engineer (FBK-5), facts for PEN-8."""

    name = "callback-grades"
    topics = (topics.FEEDBACK_EVENTS,)
    event_types = frozenset({CALLBACK_COMPLETED})
    tables = ("callback_grades",)

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        rows = []
        for item in items:
            data = wire(item.event)
            rows.append(
                (
                    item.envelope.id,
                    data["ticket_id"],
                    data.get("engineer_id"),
                    str(data["grade"]),
                    datetime.fromisoformat(data["completed_at"]),
                )
            )
        await uow.conn.executemany(
            "insert into callback_grades values ($1, $2, $3, $4, $5)"
            " on conflict (event_id) do nothing",
            rows,
        )


class Assessments:
    """Projection: PEN-8 assessments per engineer and month."""

    name = "assessments"
    topics = (topics.BILLING_EVENTS,)
    event_types = frozenset({EngineerAssessed.event_type})
    tables = ("assessments",)

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        for item in items:
            e = item.event
            assert isinstance(e, EngineerAssessed)
            data = e.model_dump(mode="json")
            await uow.conn.execute(
                "insert into assessments values ($1, $2, $3, $4, $5, $6, $7, $8, $9,"
                " $10::jsonb, $11::jsonb, $12, $13::jsonb, $14, $15) on conflict do nothing",
                f"{e.engineer_id}:{e.period}",
                e.engineer_id,
                e.period,
                e.attitude,
                e.quality,
                e.efficiency,
                e.satisfaction,
                e.total,
                e.band,
                json.dumps(data["counts"]),
                json.dumps(data["evidence"]),
                e.reason,
                json.dumps(data["decision"]),
                e.assessed_at,
                item.envelope.id,
            )


def all_projections() -> list[Any]:
    """Every read model of billing, as the service declares them."""
    return [
        Tickets(),
        Rewards(),
        CallbackGrades(),
        Outlets(),
        Contracts(),
        Charges(),
        Quotes(),
        Penalties(),
        Refunds(),
        Settlements(),
        Trips(),
        Assessments(),
    ]
