"""A stream as it stood at a past moment, folded by the projection the service runs.

`GET /tickets/{id}?as_of=T` answers from the same code as the live view, with nothing
of the live view touched:

    moment = as_of_moment(as_of, rt.clock.now())  # InvalidInput naming `as_of`
    return await view_as_of(pool, TicketView(), ticket_id, moment,
                            lambda conn: views.ticket(conn, ticket_id))

`fold_as_of` creates, inside one transaction, empty temporary tables named like the
projection's (PostgreSQL looks in the session's temporary schema first, so the
projection's SQL and the view's SQL both find them), and a temporary `events` holding
only the stream's own events up to T (a projection that refolds its stream from the
event store sees no later event), folds the events, reads the answer and rolls
everything back.

The events come from two places: the service's own event store (`events`) and the
`event_archive` that a `StreamArchive` projection keeps of what it consumes from other
contexts' topics (add `StreamArchive(topics)` to the service's handlers and
`ARCHIVE_MIGRATION` to its migrations).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import asyncpg

from repairline_contracts.envelope import Envelope
from repairline_contracts.registry import CURRENT
from repairline_platform.bulk import insert_rows
from repairline_platform.clock import SystemClock
from repairline_platform.db import Migration
from repairline_platform.eventstore import Delivered, Origin, Projection, UnitOfWork
from repairline_rules.refusals import InvalidInput, NotFound

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
        await insert_rows(
            uow.conn,
            "event_archive",
            [
                (e.id, e.subject, e.time, e.streamversion, e.model_dump_json())
                for e in (i.envelope for i in items)
            ],
            conflict="on conflict (event_id) do nothing",
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


# the `as_of` query parameter, described once for every service's route
AS_OF_QUERY: dict[str, Any] = {
    "description": "Answer as it stood at this time: ISO 8601 with its offset, not in the"
    " future (422 naming `as_of`); 404 if it did not exist yet.",
    "examples": ["2026-11-20T09:00:00+08:00"],
}


def as_of_moment(text: str, now: datetime) -> datetime:
    """`as_of` as a query gives it: a timezone-aware ISO 8601 time not after `now`.

    A `+` left unencoded in a query string arrives as a space; it is read as the `+` of
    the offset it was."""
    if len(text) > 10:
        text = text[:10] + text[10:].replace(" ", "+")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            "as_of", "not an ISO 8601 time, e.g. 2026-11-20T09:00:00+08:00"
        ) from None
    if moment.tzinfo is None:
        raise InvalidInput("as_of", "give the time with its offset, e.g. +08:00 or Z")
    if moment > now:
        raise InvalidInput("as_of", f"in the future: the service's clock says {now.isoformat()}")
    return moment


async def view_as_of(
    pool: asyncpg.Pool,
    projection: Projection,
    stream_id: str,
    moment: datetime,
    read: Callable[[asyncpg.Connection], Awaitable[T]],
) -> T:
    """`read` answered from `projection` folded over the stream's events up to `moment`;
    NotFound when the stream had no event yet."""
    async with pool.acquire() as conn:
        items = await events_until(conn, stream_id, moment)
        if not items:
            raise NotFound(f"{stream_id} did not exist at {moment.isoformat()}")
        return await fold_as_of(conn, projection, items, read)


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
        await _own_events_only(conn, [i.envelope.id for i in items])
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


async def _own_events_only(conn: asyncpg.Connection, event_ids: list[str]) -> None:
    """A temporary `events` holding only the given events of the event store."""
    schema = await conn.fetchval(
        "select relnamespace::regnamespace::text from pg_class where oid = 'events'::regclass"
    )
    await conn.execute("create temporary table events (like events including all) on commit drop")
    await conn.execute(
        f"insert into pg_temp.events select * from {schema}.events"
        " where event_id = any($1::text[])",
        event_ids,
    )
