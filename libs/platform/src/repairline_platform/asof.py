"""A stream as it stood at a past moment, folded by the projection the service runs.

`GET /tickets/{id}?as_of=T` answers from the same code as the live view, with nothing
of the live view touched:

    async with rt.pool.acquire() as conn:
        items = await events_until(conn, ticket_id, as_of)
        return await fold_as_of(conn, TicketView(), items, lambda c: views.ticket(c, ticket_id))

`fold_as_of` creates, inside one transaction, empty temporary tables named like the
projection's (PostgreSQL looks in the session's temporary schema first, so the
projection's SQL and the view's SQL both find them), folds the events into them, reads
the answer and rolls everything back.

The events come from two places: the service's own event store (`events`) and the
`event_archive` that a `StreamArchive` projection keeps of what it consumes from other
contexts' topics (add `StreamArchive(topics)` to the service's handlers and
`ARCHIVE_MIGRATION` to its migrations).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TypeVar

import asyncpg

from repairline_contracts.envelope import Envelope
from repairline_contracts.registry import CURRENT
from repairline_platform.clock import SystemClock
from repairline_platform.db import Migration
from repairline_platform.eventstore import Delivered, Origin, Projection, UnitOfWork

T = TypeVar("T")

ARCHIVE_MIGRATION = Migration(
    "900_event_archive",
    """
create table if not exists event_archive (
    event_id text primary key,
    stream_id text not null,
    event_time timestamptz not null,
    stream_version integer not null,
    envelope text not null
);
create index if not exists event_archive_stream on event_archive (stream_id, event_time);
""",
)


class StreamArchive:
    """Keeps every consumed envelope by stream (the CloudEvents subject), for `as_of`."""

    name = "event-archive"
    tables = ("event_archive",)

    def __init__(self, topics: Sequence[str], event_types: frozenset[str] | None = None):
        self.topics = tuple(topics)
        self.event_types = event_types or frozenset(
            t for t, cls in CURRENT.items() if cls.topic in self.topics
        )

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        await uow.conn.executemany(
            "insert into event_archive (event_id, stream_id, event_time, stream_version,"
            " envelope) values ($1, $2, $3, $4, $5) on conflict (event_id) do nothing",
            [
                (e.id, e.subject, e.time, e.streamversion, e.model_dump_json())
                for e in (i.envelope for i in items)
            ],
        )


async def events_until(
    conn: asyncpg.Connection, stream_id: str, until: datetime
) -> list[Delivered]:
    """The stream's events that happened at or before `until`, in the order they happened:
    its own from the event store, the other contexts' from the archive (if kept)."""
    if until.tzinfo is None:
        raise ValueError("until must be timezone-aware")
    archived = await conn.fetchval("select to_regclass('event_archive') is not null")
    rows = await conn.fetch(
        "select envelope from events where stream_id = $1"
        + (" union select envelope from event_archive where stream_id = $1" if archived else ""),
        stream_id,
    )
    envelopes = {e.id: e for e in (Envelope.model_validate_json(r["envelope"]) for r in rows)}
    ordered = sorted(
        (e for e in envelopes.values() if e.time <= until),
        key=lambda e: (e.time, e.streamversion, e.id),
    )
    return [Delivered(e, e.event()) for e in ordered]


async def fold_as_of(
    conn: asyncpg.Connection,
    projection: Projection,
    items: Sequence[Delivered],
    read: Callable[[asyncpg.Connection], Awaitable[T]],
) -> T:
    """Fold `items` with `projection` into empty copies of its tables and `read` them;
    nothing is kept (the transaction is rolled back)."""
    transaction = conn.transaction()
    await transaction.start()
    try:
        for table in projection.tables:
            await conn.execute(
                f"create temporary table {table} (like {table} including all) on commit drop"
            )
        uow = UnitOfWork(
            conn=conn,
            clock=SystemClock(),
            origin=Origin(source="/as-of", region="", policy_pack="", policy_version=""),
            topic_for=lambda topic: topic,
        )
        mine = [i for i in items if i.envelope.type in projection.event_types]
        if mine:
            await projection.handle(uow, mine)
        return await read(conn)
    finally:
        await transaction.rollback()
