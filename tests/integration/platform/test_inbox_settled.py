"""A batch that needs nothing of its consumer is settled in one statement, outside a
transaction: events its handler applied as they were appended, or records of types it
does not read. Anything else takes the transactional way (real PostgreSQL)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

import asyncpg
import pytest

from repairline_contracts.intake import RepairRequested
from repairline_contracts.topics import DISPATCH_EVENTS, INTAKE_EVENTS
from repairline_platform.consumer import InboxConsumer, Record
from repairline_platform.eventstore import Delivered, UnitOfWork, mark_processed
from tests.integration.platform.conftest import Platform
from tests.support.factories import repair_requested
from tests.support.infra import envelope_bytes

CONSUMER = "tests.settled"


class Effects:
    """One row per applied event: a second application would show as a second row."""

    name = "settled"
    topics = (INTAKE_EVENTS, DISPATCH_EVENTS)

    def __init__(self, reads: frozenset[str] = frozenset({RepairRequested.event_type})) -> None:
        self.event_types = reads

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        await uow.conn.executemany(
            "insert into effects (event_id) values ($1)", [(i.envelope.id,) for i in items]
        )


class LoggedPool:
    """The inbox's pool, with every statement sent on it recorded."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.sent: list[str] = []

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[Any]:
        async with self.pool.acquire() as conn:
            conn.add_query_logger(self._log)
            try:
                yield conn
            finally:
                conn.remove_query_logger(self._log)

    def _log(self, query: Any) -> None:
        self.sent.append(query.query)


@pytest.fixture
async def effects(platform: Platform) -> Platform:
    await platform.pool.execute("create table effects (event_id text not null)")
    return platform


def member(
    platform: Platform, handler: Effects | None = None
) -> tuple[InboxConsumer, LoggedPool, list[int]]:
    """A live consumer of its service's own topic (intake's); and how many units of work
    (transactions) it opened."""
    inbox = InboxConsumer(
        handler or Effects(), consumer_name=CONSUMER, unit_of_work=platform.unit_of_work
    )
    pool = LoggedPool(platform.pool)
    inbox.pool = pool  # type: ignore[assignment]
    inbox.applied_at_append = frozenset({INTAKE_EVENTS})
    units = [0]

    @contextlib.asynccontextmanager
    async def counted() -> AsyncIterator[UnitOfWork]:
        units[0] += 1
        async with platform.unit_of_work() as uow:
            yield uow

    inbox._uow = counted
    return inbox, pool, units


def records(first: int, count: int, topic: str = INTAKE_EVENTS) -> list[Record]:
    return [
        Record(topic, 0, n, b"k", envelope_bytes(repair_requested()))
        for n in range(first, first + count)
    ]


def ids(batch: Sequence[Record]) -> list[str]:
    return [json.loads(r.value or b"{}")["id"] for r in batch]


async def stored(platform: Platform) -> list[tuple[str, int]]:
    rows = await platform.pool.fetch(
        "select topic, next_offset from consumer_offsets where consumer = $1 order by topic",
        CONSUMER,
    )
    return [(r["topic"], r["next_offset"]) for r in rows]


async def applied(platform: Platform) -> int:
    return int(await platform.pool.fetchval("select count(*) from effects"))


async def test_events_applied_as_they_were_appended_are_settled_in_one_statement(
    effects: Platform,
):
    inbox, pool, units = member(effects)
    await inbox.process(records(0, 1))  # applied the transactional way: stored 1
    assert (await applied(effects), units[0]) == (1, 1)
    batch = records(1, 3)
    await mark_processed(effects.pool, CONSUMER, ids(batch))  # as an append does inline
    pool.sent.clear()

    result = await inbox.process(batch)

    assert (result.applied, result.duplicates) == (0, 3)
    assert len(pool.sent) == 1 and units[0] == 1  # one statement, no transaction
    assert await stored(effects) == [(INTAKE_EVENTS, 4)]
    assert await applied(effects) == 1


async def test_one_event_not_applied_yet_sends_the_batch_the_transactional_way(
    effects: Platform,
):
    inbox, _, units = member(effects)
    await inbox.process(records(0, 1))
    batch = records(1, 3)
    await mark_processed(effects.pool, CONSUMER, ids(batch)[:2])

    result = await inbox.process(batch)

    assert (result.applied, result.duplicates) == (1, 2)
    assert units[0] == 2
    assert await stored(effects) == [(INTAKE_EVENTS, 4)]
    assert await applied(effects) == 2


async def test_records_of_types_it_does_not_read_are_settled_on_any_topic(effects: Platform):
    """Other topics' events are never settled unread (they are what the consumer is
    for), unless none of them is of a type it reads."""
    inbox, pool, units = member(effects, Effects(frozenset({"repairline.intake.TicketClosed"})))
    await inbox.process(records(0, 1, DISPATCH_EVENTS))  # the first stores the offset
    pool.sent.clear()

    result = await inbox.process(records(1, 4, DISPATCH_EVENTS))

    assert (result.applied, result.ignored) == (0, 4)
    assert len(pool.sent) == 1 and units[0] == 1
    assert await stored(effects) == [(DISPATCH_EVENTS, 5)]


async def test_an_event_of_another_topic_is_applied_without_asking_first(effects: Platform):
    inbox, pool, units = member(effects)
    await inbox.process(records(0, 1, DISPATCH_EVENTS))
    pool.sent.clear()

    result = await inbox.process(records(1, 2, DISPATCH_EVENTS))

    assert result.applied == 2 and pool.sent == [] and units[0] == 2
    assert await stored(effects) == [(DISPATCH_EVENTS, 3)]


async def test_an_offset_stored_before_the_batch_starts_is_left_to_the_transactional_way(
    effects: Platform,
):
    """A gap between the stored offset and the batch is not the statement's to skip: it
    moves nothing, and the transactional way moves the offset as it always has."""
    inbox, _, units = member(effects)
    await inbox.process(records(0, 1))  # stored 1
    batch = records(5, 2)
    await mark_processed(effects.pool, CONSUMER, ids(batch))

    result = await inbox.process(batch)

    assert (result.applied, result.duplicates) == (0, 2)
    assert units[0] == 2  # the statement found the offset short of the batch
    assert await stored(effects) == [(INTAKE_EVENTS, 7)]


async def test_a_first_batch_and_a_record_to_dead_letter_go_the_transactional_way(
    effects: Platform,
):
    inbox, _, units = member(effects)
    first = records(0, 2)
    await mark_processed(effects.pool, CONSUMER, ids(first))
    await inbox.process(first)  # no offset stored yet: nothing for the statement to move
    assert units[0] == 1 and await stored(effects) == [(INTAKE_EVENTS, 2)]

    broken = Record(INTAKE_EVENTS, 0, 2, b"k", b"not json")
    result = await inbox.process([broken, *records(3, 1)])

    assert result.dead == 1 and units[0] == 2
    assert (
        await effects.pool.fetchval(
            "select count(*) from dead_letters where consumer = $1", CONSUMER
        )
        == 1
    )
