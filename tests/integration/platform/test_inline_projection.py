"""A service's own events, projected inline, are marked under the consumer's own name."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from repairline_contracts.base import Event
from repairline_contracts.envelope import Envelope
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


async def appended_inline(
    projections: Sequence[Closings], events: Sequence[Event]
) -> tuple[list[Envelope], list[tuple[str, str]]]:
    """`events` appended to one stream with `projections` inline, in a database of its
    own; the envelopes and the `(consumer, event id)` marks committed with them."""
    database = f"t{uuid.uuid4().hex[:10]}_inline"
    await db.ensure_database(PG, database)
    pool = await db.create_pool(f"{PG}/{database}", min_size=1, max_size=1)
    try:
        async with pool.acquire() as c:
            await db.migrate(c, [])
            async with c.transaction():
                uow = UnitOfWork(
                    conn=c,
                    clock=FixedClock(START),
                    origin=Origin("/intake", "cn-east", "water-heater", "1"),
                    topic_for=lambda t: t,
                    inline=list(projections),
                    consumer_of=lambda h: f"intake.{h.name}",
                )
                envelopes = await uow.append("t1", events, correlation_id="c", causation_id="c")
            marks = await c.fetch("select consumer, event_id from processed_events")
        return envelopes, sorted((m["consumer"], m["event_id"]) for m in marks)
    finally:
        await pool.close()
        await drop_database(database)


async def test_inline_marks_use_the_consumer_name_so_the_consumer_skips_own_events():
    projection = Closings()
    closed = TicketClosed(ticket_id="t1", reason="returned", closed_at=START)
    [env], marks = await appended_inline([projection], [closed])
    assert projection.seen == [env.id]
    assert marks == [("intake.closings", env.id)]


class Cancellations(Closings):
    name = "cancellations"
    event_types = frozenset({TicketCancelled.event_type})


class Both(Closings):
    name = "both"
    event_types = Closings.event_types | Cancellations.event_types


async def test_several_inline_projections_mark_each_its_own_events_in_one_statement():
    """Three projections of one append of two events: each consumer is marked for the
    events its projection read, no other, and the marks commit with the events."""
    closings, cancellations, both = Closings(), Cancellations(), Both()
    events = [
        TicketClosed(ticket_id="t1", reason="returned", closed_at=START),
        TicketCancelled(ticket_id="t1", reason="by the customer", cancelled_at=START),
    ]
    (closed, cancelled), marks = await appended_inline([closings, cancellations, both], events)
    assert (closings.seen, cancellations.seen) == ([closed.id], [cancelled.id])
    assert both.seen == [closed.id, cancelled.id]
    assert marks == sorted(
        [
            ("intake.closings", closed.id),
            ("intake.cancellations", cancelled.id),
            ("intake.both", closed.id),
            ("intake.both", cancelled.id),
        ]
    )
