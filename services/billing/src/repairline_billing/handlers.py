"""Billing's consumers: charge on completion, and the charges projection."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from repairline_billing.domain import TicketFacts, decide_charge
from repairline_contracts import topics
from repairline_contracts.billing import ChargeAssessed
from repairline_contracts.dispatch import RepairCompleted
from repairline_contracts.intake import RepairRequested
from repairline_platform.eventstore import Delivered, UnitOfWork


class ChargeOnCompletion:
    """FEE-1: a completed repair is charged by the tariff, once.

    Contexts are not ordered against each other: a RepairCompleted that arrives
    before its RepairRequested is parked and charged when the request arrives.
    """

    name = "charging"
    topics = (topics.INTAKE_EVENTS, topics.DISPATCH_EVENTS)
    event_types = frozenset({RepairRequested.event_type, RepairCompleted.event_type})

    def __init__(self, pack: object) -> None:
        self.pack = pack

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        for item in items:
            event = item.event
            if isinstance(event, RepairRequested):
                await uow.conn.execute(
                    "insert into billing_tickets (ticket_id, product_line, city_tier,"
                    " service_mode, purchase_date, region) values ($1, $2, $3, $4, $5, $6)"
                    " on conflict (ticket_id) do nothing",
                    event.ticket_id,
                    event.product.line,
                    event.city_tier.value,
                    event.service_mode.value,
                    event.product.purchase_date,
                    event.region,
                )
                parked = await uow.conn.fetchrow(
                    "delete from parked_completions where ticket_id = $1 returning *",
                    event.ticket_id,
                )
                if parked:
                    await self._charge(
                        uow,
                        event.ticket_id,
                        parked["completed_at"],
                        parked["correlation_id"],
                        parked["causation_id"],
                    )
            elif isinstance(event, RepairCompleted):
                await self._charge(
                    uow,
                    event.ticket_id,
                    event.completed_at,
                    item.envelope.correlationid,
                    item.envelope.id,
                )

    async def _charge(
        self,
        uow: UnitOfWork,
        ticket_id: str,
        completed_at: datetime,
        correlation_id: str,
        causation_id: str,
    ) -> None:
        row = await uow.conn.fetchrow(
            "select * from billing_tickets where ticket_id = $1", ticket_id
        )
        if row is None:
            await uow.conn.execute(
                "insert into parked_completions values ($1, $2, $3, $4)"
                " on conflict (ticket_id) do nothing",
                ticket_id,
                completed_at,
                correlation_id,
                causation_id,
            )
            return
        version = await uow.stream_version(ticket_id)
        if version:
            return  # already charged
        facts = TicketFacts(
            ticket_id=ticket_id,
            product_line=row["product_line"],
            city_tier=row["city_tier"],
            service_mode=row["service_mode"],
            purchase_date=row["purchase_date"],
        )
        await uow.append(
            ticket_id,
            [decide_charge(self.pack, facts, completed_at=completed_at)],
            expected_version=0,
            correlation_id=correlation_id,
            causation_id=causation_id,
            region=row["region"],
        )


class Charges:
    """Projection: the assessed charge of each ticket."""

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
                )
            )
        await uow.conn.executemany(
            "insert into charges values ($1, $2, $3, $4::jsonb, $5::jsonb, $6::jsonb, $7, $8)"
            " on conflict (ticket_id) do nothing",
            rows,
        )
