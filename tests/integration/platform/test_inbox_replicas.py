"""Two members of one consumer group on one database: claim-first ids, offsets stored by
compare-and-set and a revoked partition's batch finished first, so every event is applied
exactly once, also by a handler with no unique key of its own (real Kafka, PostgreSQL)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from repairline_contracts.intake import RepairRequested
from repairline_contracts.topics import INTAKE_EVENTS
from repairline_platform.consumer import (
    BatchResult,
    InboxConsumer,
    PartitionMoved,
    Record,
    SeekToStoredOffsets,
)
from repairline_platform.db import is_transient
from repairline_platform.eventstore import Delivered, UnitOfWork
from tests.integration.platform.conftest import Platform
from tests.support.factories import repair_requested
from tests.support.infra import KAFKA, envelope_bytes, eventually, produce

CONSUMER = "tests.effects"


class CountingHandler:
    """Appends one row per applied event (no unique key), taking its time inside the
    transaction, so that a second application would show as a second row."""

    name = "effects"
    topics = (INTAKE_EVENTS,)
    event_types = frozenset({RepairRequested.event_type})

    def __init__(self, pause: float = 0.0, *, stall_first: float = 0.0) -> None:
        self.pause = pause
        self.stall_first = stall_first  # the first batch takes this long
        self.stalling = asyncio.Event()
        self.during: list[object] = []  # coroutines run inside the transaction, once each

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        await uow.conn.executemany(
            "insert into effects (event_id) values ($1)", [(i.envelope.id,) for i in items]
        )
        if self.during:
            await self.during.pop(0)  # type: ignore[misc]
        if self.stall_first and not self.stalling.is_set():
            self.stalling.set()
            await asyncio.sleep(self.stall_first)
        await asyncio.sleep(self.pause)


@pytest.fixture
async def effects(platform: Platform) -> Platform:
    await platform.pool.execute("create table effects (event_id text not null)")
    return platform


def member(platform: Platform, handler: CountingHandler) -> InboxConsumer:
    return InboxConsumer(handler, consumer_name=CONSUMER, unit_of_work=platform.unit_of_work)


async def applied(platform: Platform) -> list[int]:
    rows = await platform.pool.fetch("select count(*) as n from effects group by event_id")
    return [r["n"] for r in rows]


def records(count: int, partition: int = 0) -> list[Record]:
    return [
        Record(INTAKE_EVENTS, partition, n, b"k", envelope_bytes(repair_requested()))
        for n in range(count)
    ]


async def test_two_members_applying_the_same_batch_apply_it_once(effects: Platform):
    batch = records(3)
    first, second = member(effects, CountingHandler(0.3)), member(effects, CountingHandler(0.3))

    outcomes = await asyncio.gather(
        first.process(batch), second.process(batch), return_exceptions=True
    )

    assert await applied(effects) == [1, 1, 1]
    # the member that came second applied nothing (and let its batch go)
    assert all(isinstance(o, BatchResult | PartitionMoved) for o in outcomes)
    assert sorted(o.applied for o in outcomes if isinstance(o, BatchResult))[-1] == 3


async def test_an_offset_stored_meanwhile_by_another_member_rolls_the_batch_back(
    effects: Platform,
):
    handler = CountingHandler()
    inbox = member(effects, handler)
    await inbox.process(records(1))  # stored: next offset 1

    async def other_member_moves_on() -> None:
        async with effects.pool.acquire() as other:
            await other.execute(
                "update consumer_offsets set next_offset = 5 where consumer = $1", CONSUMER
            )

    between_reading_and_claiming(inbox, other_member_moves_on)
    with pytest.raises(PartitionMoved):
        await inbox.process(records(4)[1:])

    assert len(await applied(effects)) == 1
    assert await effects.pool.fetchval("select next_offset from consumer_offsets") == 5


async def test_a_batch_over_three_partitions_stores_none_when_another_member_moved_one(
    effects: Platform,
):
    """The partitions' offsets are compared and set in one statement, with the claim:
    one moved meanwhile by another member rolls the whole batch back, and the other two
    keep where they were."""
    handler = CountingHandler()
    inbox = member(effects, handler)
    await inbox.process([*records(1, 0), *records(1, 1)])  # stored: 0 -> 1, 1 -> 1

    async def other_member_moves_partition_1() -> None:
        async with effects.pool.acquire() as other:
            await other.execute(
                "update consumer_offsets set next_offset = 7 where consumer = $1 and partition = 1",
                CONSUMER,
            )

    between_reading_and_claiming(inbox, other_member_moves_partition_1)
    batch = [*records(3, 0)[1:], *records(3, 1)[1:], *records(2, 2)]
    with pytest.raises(PartitionMoved):
        await inbox.process(batch)

    assert len(await applied(effects)) == 2
    stored = await effects.pool.fetch(
        "select partition, next_offset from consumer_offsets where consumer = $1"
        " order by partition",
        CONSUMER,
    )
    assert [(r["partition"], r["next_offset"]) for r in stored] == [(0, 1), (1, 7)]


async def test_a_batch_over_three_partitions_is_stored_in_one_statement(effects: Platform):
    """Reading the stored offsets and the parked streams is one statement; claiming the
    events and storing every partition's next offset another: the inbox's own statements
    per batch are two, however many partitions it spans."""
    inbox = member(effects, CountingHandler())
    await inbox.process(records(1, 0))  # partition 0 stored; 1 and 2 are new
    sent: list[str] = []

    def log(q: Any) -> None:
        sent.append(q.query)

    async def logged_unit() -> Any:
        async with effects.unit_of_work() as uow:
            uow.conn.add_query_logger(log)
            try:
                yield uow
            finally:
                uow.conn.remove_query_logger(log)

    inbox._uow = contextlib.asynccontextmanager(logged_unit)
    result = await inbox.process([*records(3, 0)[1:], *records(2, 1), *records(2, 2)])

    assert result.applied == 6
    own = [q for q in sent if "effects" not in q and not q.upper().startswith("COMMIT")]
    assert len(own) == 2, own  # positions and parked streams; the claim and the offsets
    stored = await effects.pool.fetch(
        "select partition, next_offset from consumer_offsets where consumer = $1"
        " order by partition",
        CONSUMER,
    )
    assert [(r["partition"], r["next_offset"]) for r in stored] == [(0, 3), (1, 2), (2, 2)]

    sent.clear()  # the same batch again: every record lies before the stored offsets
    again = await inbox.process([*records(3, 0)[1:], *records(2, 1), *records(2, 2)])
    assert (again.applied, again.duplicates) == (0, 6)
    assert [q for q in sent if not q.upper().startswith("COMMIT")] == [own[0]]  # read only


async def test_an_applying_member_keeps_others_from_storing_its_partitions_until_it_commits(
    effects: Platform,
):
    """Once a batch is claimed its partitions' offsets are stored, locked until its
    transaction ends: another member storing meanwhile waits, then finds them moved."""
    handler = CountingHandler()
    inbox = member(effects, handler)
    await inbox.process(records(1))  # stored: next offset 1
    other_stored: list[str] = []

    async def other_member_tries() -> None:
        async with effects.pool.acquire() as other, other.transaction():
            other_stored.append(
                await other.execute(
                    "update consumer_offsets set next_offset = 9 where consumer = $1"
                    " and next_offset = 1",
                    CONSUMER,
                )
            )

    async def while_applying() -> None:
        trying = asyncio.create_task(other_member_tries())
        await asyncio.sleep(0.3)
        assert not trying.done()  # waiting for this batch's transaction
        handler.trying = trying  # type: ignore[attr-defined]

    handler.during.append(while_applying())
    await inbox.process(records(3)[1:])
    await handler.trying  # type: ignore[attr-defined]

    assert other_stored == ["UPDATE 0"]  # it found the offset moved to 3
    assert len(await applied(effects)) == 3
    assert await effects.pool.fetchval("select next_offset from consumer_offsets") == 3


def between_reading_and_claiming(inbox: InboxConsumer, step: Any) -> None:
    """Run `step` after the inbox read its stored offsets, before it claims the batch."""
    park_held = inbox._park_held

    async def then_step(*args: Any) -> Any:
        await step()
        return await park_held(*args)

    inbox._park_held = then_step  # type: ignore[method-assign]


async def test_a_revoked_partition_is_handed_over_after_its_batch_commits(effects: Platform):
    inbox = member(effects, CountingHandler(0.5))
    listener = SeekToStoredOffsets(effects.pool, CONSUMER, lambda: None, inbox=inbox)
    applying = asyncio.create_task(inbox.process(records(2)))
    await eventually(lambda: _true(bool(inbox._in_flight)), interval=0.01)

    await listener.on_partitions_revoked({TopicPartition(INTAKE_EVENTS, 0)})

    assert await applied(effects) == [1, 1]  # committed before the partition moved on
    await applying


async def test_two_members_of_one_group_apply_every_event_once_across_a_rebalance(
    effects: Platform,
):
    """The first member holds a batch of every partition while a second member joins and
    takes half of them: no event of that batch is applied by both."""
    topic = effects.topic(INTAKE_EVENTS)
    events = [envelope_bytes(repair_requested()) for _ in range(60)]
    await produce(topic, [(str(n).encode(), value) for n, value in enumerate(events)])
    slow = CountingHandler(stall_first=6.0)

    first = asyncio.create_task(_consume(effects, topic, slow))
    await asyncio.wait_for(slow.stalling.wait(), 60)
    second = asyncio.create_task(_consume(effects, topic, CountingHandler()))
    try:
        await eventually(lambda: _at_least(effects, len(events)), timeout=120)
    finally:
        for task in (first, second):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    counts = await applied(effects)
    assert len(counts) == len(events)
    assert set(counts) == {1}


async def _consume(platform: Platform, topic: str, handler: CountingHandler) -> None:
    """One member of the group: the platform's inbox and rebalance listener on aiokafka,
    a failed batch sought back to its first records as the service's subscriber does."""
    inbox = member(platform, handler)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=KAFKA,
        group_id=f"{platform.prefix}effects",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        heartbeat_interval_ms=300,
    )
    listener = SeekToStoredOffsets(platform.pool, CONSUMER, lambda: consumer, inbox=inbox)
    consumer.subscribe([topic], listener=listener)
    await consumer.start()
    try:
        while True:
            fetched = await consumer.getmany(timeout_ms=200, max_records=60)
            batch = [r for rs in fetched.values() for r in rs]
            if not batch:
                continue
            try:
                await inbox.process(batch)
            except Exception as exc:
                if not is_transient(exc):
                    raise
                _seek_back(consumer, batch)
    finally:
        await consumer.stop()


def _seek_back(consumer: AIOKafkaConsumer, batch: list[Record]) -> None:
    first: dict[TopicPartition, int] = {}
    for r in batch:
        tp = TopicPartition(r.topic, r.partition)
        first[tp] = min(first.get(tp, r.offset), r.offset)
    for tp, offset in first.items():
        if tp in consumer.assignment():
            consumer.seek(tp, offset)


async def _at_least(platform: Platform, count: int) -> bool:
    return await platform.pool.fetchval("select count(distinct event_id) from effects") >= count


async def _true(value: bool) -> bool:
    return value
