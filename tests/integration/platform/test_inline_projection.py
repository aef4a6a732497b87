"""A service's own events, projected inline, are marked under the consumer's own name."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from repairline_contracts.intake import TicketCancelled, TicketClosed
from repairline_platform import db
from repairline_platform.clock import FixedClock
from repairline_platform.eventstore import Delivered, Origin, UnitOfWork
from tests.support.system import PG, drop_database

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Closings:
    name = "closings"
    topics = ("repairline.intake.events",)
    event_types = frozenset({TicketClosed.event_type})
    tables = ("closings",)

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        self.seen += [i.envelope.id for i in items]


async def test_inline_marks_use_the_consumer_name_so_the_consumer_skips_own_events():
    database = f"t{uuid.uuid4().hex[:10]}_inline"
    await db.ensure_database(PG, database)
    conn = await db.create_pool(f"{PG}/{database}", min_size=1, max_size=1)
    try:
        async with conn.acquire() as c:
            await db.migrate(c, [])
            projection = Closings()
            async with c.transaction():
                uow = UnitOfWork(
                    conn=c,
                    clock=FixedClock(START),
                    origin=Origin("/intake", "cn-east", "water-heater", "1"),
                    topic_for=lambda t: t,
                    inline=[projection],
                    consumer_of=lambda h: f"intake.{h.name}",
                )
                [env] = await uow.append(
                    "t1",
                    [TicketClosed(ticket_id="t1", reason="returned", closed_at=START)],
                    correlation_id="c",
                    causation_id="c",
                )
            marks = await c.fetch("select consumer, event_id from processed_events")
        assert projection.seen == [env.id]
        assert [(m["consumer"], m["event_id"]) for m in marks] == [("intake.closings", env.id)]
    finally:
        await conn.close()
        await drop_database(database)


class Cancellations(Closings):
    name = "cancellations"
    event_types = frozenset({TicketCancelled.event_type})


async def test_several_inline_projections_mark_each_its_own_events_in_one_statement():
    """Two projections of one append: each consumer is marked for the events it read, no
    other, and both marks commit with the events."""
    database = f"t{uuid.uuid4().hex[:10]}_inline"
    await db.ensure_database(PG, database)
    conn = await db.create_pool(f"{PG}/{database}", min_size=1, max_size=1)
    try:
        async with conn.acquire() as c:
            await db.migrate(c, [])
            closings, cancellations, both = Closings(), Cancellations(), Closings()
            both.name, both.event_types = "both", closings.event_types | cancellations.event_types
            async with c.transaction():
                uow = UnitOfWork(
                    conn=c,
                    clock=FixedClock(START),
                    origin=Origin("/intake", "cn-east", "water-heater", "1"),
                    topic_for=lambda t: t,
                    inline=[closings, cancellations, both],
                    consumer_of=lambda h: f"intake.{h.name}",
                )
                closed, cancelled = await uow.append(
                    "t1",
                    [
                        TicketClosed(ticket_id="t1", reason="returned", closed_at=START),
                        TicketCancelled(
                            ticket_id="t1", reason="by the customer", cancelled_at=START
                        ),
                    ],
                    correlation_id="c",
                    causation_id="c",
                )
            marks = await c.fetch("select consumer, event_id from processed_events")
        assert (closings.seen, cancellations.seen) == ([closed.id], [cancelled.id])
        assert sorted((m["consumer"], m["event_id"]) for m in marks) == sorted(
            [
                ("intake.closings", closed.id),
                ("intake.cancellations", cancelled.id),
                ("intake.both", closed.id),
                ("intake.both", cancelled.id),
            ]
        )
    finally:
        await conn.close()
        await drop_database(database)
