"""Billing's read models, each a declared projection: batched, replayable, rebuilt by
`replay` and compared with the live one in the integration tests.

Billing's own ledgers (charges, quotes, penalties, refunds, settlements, trips,
assessments) fold billing's events; its trimmed copies of other contexts' facts fold
theirs: the tickets (intake's requests and warranty decisions, dispatch's assignments),
the rewards held for a unit and the callback grades (feedback's).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
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
    SettlementLinesRecorded,
    SettlementStatementIssued,
    TravelAllowanceGranted,
)
from repairline_contracts.dispatch import (
    EngineerAssigned,
    InspectionRecorded,
    SlaDeadlineBreached,
)
from repairline_contracts.envelope import Envelope
from repairline_contracts.feedback import ExtensionRewardGranted
from repairline_contracts.intake import (
    PickedUp,
    RepairRequested,
    TicketCancelled,
    TicketClosed,
)
from repairline_contracts.registry import EVENT_TYPES
from repairline_platform import readmodel
from repairline_platform.eventstore import Delivered, UnitOfWork
from repairline_platform.readmodel import Writes, jsonb


def wire(event: Event) -> dict[str, Any]:
    """An event's fields as plain data: lets a handler read a type it has no class for."""
    return event.model_dump(mode="json")


# -- billing's copy of other contexts' facts ------------------------------------------------


# every event type of intake's topic: each is a version of its ticket
INTAKE_TYPES = frozenset(e.event_type for e in EVENT_TYPES if e.topic == topics.INTAKE_EVENTS)
# intake's events after which its ticket is no longer open: intake decides nothing more
# on it (an inspection included)
CLOSING_TYPES = frozenset(
    {PickedUp.event_type, TicketClosed.event_type, TicketCancelled.event_type}
)


class Tickets:
    """Copy: what billing prices a ticket from: intake's request and warranty decision
    (and what caused each decision: the engineer's inspection, for one), dispatch's
    assignment and the engineer's inspections, whether intake closed the ticket. Any of
    them may come before the request. An inspection with no decision caused by it, on a
    ticket intake has not closed, is pending for `INSPECTION_DECISION_WAIT` (WAR-4):
    intake will decide the warranty on it, and billing neither quotes nor invoices
    before (`Store.inspection_pending`).

    It also keeps the latest version of each intake ticket it has read, whatever the
    event, so that a command can tell whether billing knows what its caller was told
    (`caught_up`). The version and the facts are written by the same fold in the same
    transaction: a version seen is a version whose facts are in the copy (a version
    kept by another consumer could run ahead of the facts a quote is priced from)."""

    name = "tickets"
    topics = (topics.INTAKE_EVENTS, topics.DISPATCH_EVENTS)
    event_types = frozenset(
        {*INTAKE_TYPES, EngineerAssigned.event_type, InspectionRecorded.event_type}
    )
    tables = (
        "billing_tickets",
        "ticket_assignments",
        "ticket_warranty",
        "intake_versions",
        "warranty_causes",
        "ticket_inspections",
    )

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        writes = Writes()  # each statement writes its ticket's row of one table
        versions: dict[str, tuple[int, bool]] = {}  # ticket -> (version, closed)
        for item in items:
            event, kind = item.event, item.envelope.type
            if kind in INTAKE_TYPES:
                ticket_id, version = event.ticket_id, item.envelope.streamversion
                seen, closed = versions.get(ticket_id, (0, False))
                versions[ticket_id] = (max(version, seen), closed or kind in CLOSING_TYPES)
            if isinstance(event, RepairRequested):
                writes.add(event.ticket_id, _REQUESTED, *_requested(event, item.envelope))
            elif isinstance(event, EngineerAssigned):
                service_point = getattr(event, "service_point_id", None)
                writes.add(
                    event.ticket_id, _ASSIGNED, event.ticket_id, event.engineer_id, service_point
                )
            elif kind == WARRANTY_DECIDED:
                args = _warranty(wire(event))
                writes.add(args[0], _WARRANTY, *args)
                writes.add(args[0], _CAUSE, args[0], item.envelope.causationid)
            elif isinstance(event, InspectionRecorded):
                ticket_id, inspected_at = event.ticket_id, event.inspected_at
                writes.add(ticket_id, _INSPECTION, ticket_id, item.envelope.id, inspected_at)
        await writes.run(uow.conn)
        if versions:  # in the tickets' order: the charging reaction writes them too
            rows = [(t, v, closed) for t, (v, closed) in sorted(versions.items())]
            await uow.conn.executemany(_VERSION, rows)


_CAUSE = "insert into warranty_causes values ($1, $2) on conflict do nothing"
_INSPECTION = "insert into ticket_inspections values ($1, $2, $3) on conflict do nothing"
_VERSION = (
    "insert into intake_versions (ticket_id, version, closed) values ($1, $2, $3)"
    " on conflict (ticket_id) do update"
    " set version = greatest(intake_versions.version, excluded.version),"
    " closed = intake_versions.closed or excluded.closed"
)
_REQUESTED = (
    "insert into billing_tickets (ticket_id, product_line, city_tier,"
    " service_mode, purchase_date, region, serial_no, requested_at, warranty_follows,"
    " policy_pack, policy_version)"
    " values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    " on conflict (ticket_id) do nothing"
)
_ASSIGNED = (
    "insert into ticket_assignments (ticket_id, engineer_id, service_point_id)"
    " values ($1, $2, $3) on conflict (ticket_id) do update set"
    " engineer_id = excluded.engineer_id, service_point_id = excluded.service_point_id"
)
_WARRANTY = (
    "insert into ticket_warranty (ticket_id, unit_in_warranty, free_visit, chargeable,"
    " reason, exclusions, start_date, start_source, days_paused)"
    " values ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    " on conflict (ticket_id) do update set"
    " unit_in_warranty = excluded.unit_in_warranty,"
    " free_visit = excluded.free_visit, chargeable = excluded.chargeable,"
    " reason = excluded.reason, exclusions = excluded.exclusions,"
    " start_date = excluded.start_date, start_source = excluded.start_source,"
    " days_paused = excluded.days_paused"
)


def _requested(event: RepairRequested, envelope: Envelope) -> tuple[Any, ...]:
    return (
        event.ticket_id,
        event.product.line,
        event.city_tier.value,
        event.service_mode.value,
        event.product.purchase_date,
        event.region,
        event.product.serial_no,
        event.requested_at,
        event.warranty_decision_follows,
        envelope.policypack,
        envelope.policyversion,
    )


def _warranty(data: dict[str, Any]) -> tuple[Any, ...]:
    start = data.get("start_date")
    return (
        data["ticket_id"],
        bool(data["unit_in_warranty"]),
        bool(data["free_visit"]),
        bool(data["chargeable"]),
        str(data.get("reason", "")),
        [str(x) for x in data.get("exclusions") or ()],
        date.fromisoformat(start) if start else None,
        data.get("start_source"),
        int(data.get("days_paused") or 0),
    )


class Rewards:
    """Copy: WAR-11 rewards feedback granted for a unit (by serial number). Which free
    repairs are spent is read from the invoices (`store`); `used_by_ticket` stays empty."""

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
            "insert into rewards values ($1, $2, $3, $4, $5) on conflict (event_id) do nothing",
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


class Ledger(readmodel.Ledger):
    """One row per event, written once: the shape of billing's plain ledgers."""

    topics = (topics.BILLING_EVENTS,)


class Charges(Ledger):
    """Projection: the invoice of each ticket."""

    name = "charges"
    event_types = frozenset({ChargeAssessed.event_type})
    tables = ("charges",)

    def row(self, e: ChargeAssessed, event_id: str) -> tuple[Any, ...]:
        return (
            e.ticket_id,
            e.total_fen,
            e.currency,
            jsonb(e.lines),
            jsonb(e.inputs),
            jsonb(e.decision),
            e.assessed_at,
            event_id,
            e.invoice_no,
            e.quote_id,
            e.matches_quote,
            e.quote_note,
            e.engineer_id,
            e.outlet_id,
        )


QUOTE_RANK = {"issued": 1, "accepted": 2, "refused": 2, "invoiced": 3}
PENALTY_RANK = {"assessed": 1, "appealed": 2, "voided": 3, "upheld": 3}
JSONB = frozenset({"lines", "inputs", "decision", "evidence"})


def _merge(
    writes: Writes, table: str, key: str, values: dict[str, Any], ranks: dict[str, int]
) -> None:
    """Upsert a row whose facts may arrive in any order: a column once set keeps its
    value, and the status only moves to a higher rank."""
    values = {**values, "status_rank": ranks[values["status"]]}
    writes.upsert(table, key, values, readmodel.RANKED_STATUS, jsonb=JSONB)


class Quotes:
    """Projection: quotes, what the customer said (FEE-4), and the invoice that billed an
    accepted one (`invoiced`)."""

    name = "quotes"
    topics = (topics.BILLING_EVENTS,)
    event_types = frozenset(
        {
            QuoteIssued.event_type,
            QuoteAccepted.event_type,
            QuoteRefused.event_type,
            ChargeAssessed.event_type,
        }
    )
    tables = ("quotes",)

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        writes = Writes()
        for item in items:
            e = item.event
            if isinstance(e, ChargeAssessed) and e.quote_id is None:
                continue  # an invoice without a quote
            values: dict[str, Any] = {"quote_id": e.quote_id, "ticket_id": e.ticket_id}  # type: ignore[attr-defined]
            if isinstance(e, QuoteIssued):
                values.update(
                    engineer_id=e.engineer_id,
                    total_fen=e.total_fen,
                    lines=jsonb(e.lines),
                    inputs=jsonb(e.inputs),
                    needs_customer_agreement=e.needs_customer_agreement,
                    decision=jsonb(e.decision),
                    issued_at=e.issued_at,
                    event_id=item.envelope.id,
                    status="issued",
                )
            elif isinstance(e, QuoteAccepted):
                values.update(status="accepted", decided_at=e.accepted_at)
            elif isinstance(e, QuoteRefused):
                values.update(status="refused", decided_at=e.refused_at, refusal_reason=e.reason)
            elif isinstance(e, ChargeAssessed):
                values.update(status="invoiced")
            _merge(writes, "quotes", "quote_id", values, QUOTE_RANK)
        await writes.run(uow.conn)


class Penalties:
    """Projection: the penalty ledger, per engineer and per outlet; never deleted."""

    name = "penalties"
    topics = (topics.BILLING_EVENTS,)
    event_types = frozenset(
        e.event_type for e in (PenaltyAssessed, PenaltyAppealed, PenaltyVoided, PenaltyUpheld)
    )
    tables = ("penalties",)

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        writes = Writes()
        for item in items:
            e = item.event
            values: dict[str, Any] = {"penalty_id": e.penalty_id, "ticket_id": e.ticket_id}  # type: ignore[attr-defined]
            values.update(_penalty_facts(e, item.envelope.id))
            _merge(writes, "penalties", "penalty_id", values, PENALTY_RANK)
        await writes.run(uow.conn)


def _penalty_facts(e: Event, event_id: str) -> dict[str, Any]:
    if isinstance(e, PenaltyAssessed):
        return {
            "subject": e.subject,
            "engineer_id": e.engineer_id,
            "outlet_id": e.outlet_id,
            "fine_fen": e.fine_fen,
            "sanction": e.sanction,
            "payee": e.payee,
            "reason": e.reason,
            "kind": e.kind,
            "rule_ids": list(e.decision.rule_ids),
            "evidence": jsonb(e.evidence),
            "decision": jsonb(e.decision),
            "offence_at": e.offence_at,
            "assessed_at": e.assessed_at,
            "event_id": event_id,
            "status": "assessed",
        }
    if isinstance(e, PenaltyAppealed):
        return {"status": "appealed", "appeal_reason": e.reason, "appealed_at": e.appealed_at}
    ruled_at = e.voided_at if isinstance(e, PenaltyVoided) else e.upheld_at  # type: ignore[attr-defined]
    return {
        "status": "voided" if isinstance(e, PenaltyVoided) else "upheld",
        "manager_id": e.manager_id,  # type: ignore[attr-defined]
        "ruling_reason": e.reason,  # type: ignore[attr-defined]
        "ruled_at": ruled_at,
    }


class Refunds(Ledger):
    """Projection: FEE-5 refunds."""

    name = "refunds"
    event_types = frozenset({OverchargeRefunded.event_type})
    tables = ("refunds",)

    def row(self, e: OverchargeRefunded, event_id: str) -> tuple[Any, ...]:
        return (
            e.complaint_id,
            e.ticket_id,
            e.outlet_id,
            e.charged_fen,
            e.tariff_fen,
            e.refund_fen,
            jsonb(e.evidence),
            jsonb(e.decision),
            e.refunded_at,
            event_id,
        )


class Settlements(Ledger):
    """Projection: FEE-6 statements per outlet and period, their paged lines put together.

    The pages of a statement come just before it on its stream (one partition, in
    order), so when the statement arrives its pages are in `settlement_pages`.
    """

    name = "settlements"
    event_types = frozenset(
        {SettlementStatementIssued.event_type, SettlementLinesRecorded.event_type}
    )
    tables = ("settlements", "settlement_pages")

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        pages = [i for i in items if isinstance(i.event, SettlementLinesRecorded)]
        await uow.conn.executemany(
            "insert into settlement_pages (statement_id, page, lines) values ($1, $2, $3)"
            " on conflict do nothing",
            [(p.event.statement_id, p.event.page, jsonb(p.event.lines)) for p in pages],
        )
        for item in items:
            if isinstance(item.event, SettlementStatementIssued):
                lines = await self._lines(uow, item.event)
                await super().handle(uow, [item])
                await uow.conn.execute(
                    "update settlements set lines = $2::jsonb where statement_id = $1",
                    item.event.statement_id,
                    lines,
                )

    @staticmethod
    async def _lines(uow: UnitOfWork, e: SettlementStatementIssued) -> str:
        if e.page_count == 0:
            return jsonb(e.lines)
        return await uow.conn.fetchval(
            "select coalesce(jsonb_agg(line order by page, n), '[]'::jsonb)::text"
            " from settlement_pages, jsonb_array_elements(lines) with ordinality as l(line, n)"
            " where statement_id = $1",
            e.statement_id,
        )

    def row(self, e: SettlementStatementIssued, event_id: str) -> tuple[Any, ...]:
        return (
            e.statement_id,
            e.outlet_id,
            e.period,
            e.fees_fen,
            e.refunds_fen,
            e.fines_fen,
            e.net_fen,
            jsonb(e.lines),
            e.voucher_received_on,
            e.pay_by,
            jsonb(e.decision),
            e.issued_at,
            event_id,
            e.credits_fen,
        )


class Trips(Ledger):
    """Projection: FEE-7 travel allowances."""

    name = "trips"
    event_types = frozenset({TravelAllowanceGranted.event_type})
    tables = ("trips",)

    def row(self, e: TravelAllowanceGranted, event_id: str) -> tuple[Any, ...]:
        return (
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
            jsonb(e.decision),
            e.granted_at,
            event_id,
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


class SlaBreaches:
    """Copy: dispatch's missed DSP-3 deadlines, facts for PEN-8's efficiency."""

    name = "sla-breaches"
    topics = (topics.DISPATCH_EVENTS,)
    event_types = frozenset({SlaDeadlineBreached.event_type})
    tables = ("sla_breaches",)

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        rows = [
            (item.envelope.id, e.ticket_id, e.deadline, e.detected_at)
            for item in items
            if isinstance(e := item.event, SlaDeadlineBreached)
        ]
        await uow.conn.executemany(
            "insert into sla_breaches values ($1, $2, $3, $4) on conflict (event_id) do nothing",
            rows,
        )


class Assessments(Ledger):
    """Projection: PEN-8 assessments per engineer and month."""

    name = "assessments"
    event_types = frozenset({EngineerAssessed.event_type})
    tables = ("assessments",)

    def row(self, e: EngineerAssessed, event_id: str) -> tuple[Any, ...]:
        return (
            f"{e.engineer_id}:{e.period}",
            e.engineer_id,
            e.period,
            e.attitude,
            e.quality,
            e.efficiency,
            e.satisfaction,
            e.total,
            e.band,
            jsonb(e.counts),
            jsonb(e.evidence),
            e.reason,
            jsonb(e.decision),
            e.assessed_at,
            event_id,
        )


def all_projections() -> list[Any]:
    """Every read model of billing, as the service declares them."""
    return [
        Tickets(),
        Rewards(),
        CallbackGrades(),
        SlaBreaches(),
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
