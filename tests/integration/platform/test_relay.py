"""A relay that heals: the lock re-checked on every batch, producers rebuilt, poison quarantined."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import asyncpg
import pytest

from repairline_contracts.envelope import wrap
from repairline_contracts.topics import INTAKE_EVENTS
from repairline_platform.db import advisory_key
from repairline_platform.eventstore import EventTooLarge
from repairline_platform.health import TASK_FAILURES
from repairline_platform.relay import MAX_RECORD_BYTES, OutboxRelay, make_producer
from repairline_rules.refusals import InvalidInput
from tests.integration.platform.conftest import Platform, new_id
from tests.support.factories import repair_requested
from tests.support.system import KAFKA, PG, eventually, read_topic


class Relays:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.tasks: list[asyncio.Task[None]] = []
        self.relays: list[OutboxRelay] = []

    def start(self) -> OutboxRelay:
        relay = OutboxRelay(
            self.platform.pool,
            lambda: make_producer(KAFKA, f"{self.platform.prefix}relay"),
            lock_name=self.platform.prefix,
            idle_seconds=0.02,
            lock_poll_seconds=0.1,
        )
        self.relays.append(relay)
        self.tasks.append(asyncio.create_task(relay.run()))
        return relay


@pytest.fixture
async def relays(platform: Platform) -> AsyncIterator[Relays]:
    running = Relays(platform)
    yield running
    for relay in running.relays:
        relay.stop()
    await asyncio.wait_for(asyncio.gather(*running.tasks, return_exceptions=True), 30)


async def append(platform: Platform, streams: list[str], per_stream: int = 1) -> None:
    for _ in range(per_stream):
        for stream in streams:
            async with platform.unit_of_work() as uow:
                await uow.append(
                    stream, [repair_requested(stream)], correlation_id="c", causation_id="t"
                )


async def unpublished(platform: Platform) -> int:
    return await platform.pool.fetchval("select count(*) from events where published_at is null")


async def all_published(platform: Platform) -> bool:
    return await unpublished(platform) == 0


async def versions_on_topic(platform: Platform) -> dict[str, list[int]]:
    """Stream versions per stream in the order the topic holds them (first copy of each)."""
    out: dict[str, list[int]] = {}
    for r in await read_topic(platform.topic(INTAKE_EVENTS)):
        body = json.loads(r.value)
        versions = out.setdefault(body["subject"], [])
        if body["streamversion"] not in versions:
            versions.append(body["streamversion"])
    return out


async def test_two_relays_and_a_killed_lock_connection_never_publish_without_the_lock(
    platform: Platform, relays: Relays
):
    streams = [new_id() for _ in range(4)]
    first = relays.start()
    await eventually(lambda: _true(first.holding))
    await append(platform, streams)
    await eventually(lambda: all_published(platform))

    # the lock connection dies and another node takes the lock before this relay can
    other_node = await asyncpg.connect(
        f"{PG}/{await platform.pool.fetchval('select current_database()')}"
    )
    try:
        await platform.pool.execute("select pg_terminate_backend($1)", first.lock_pid)
        key = advisory_key(f"relay:{platform.prefix}")
        await eventually(
            lambda: other_node.fetchval("select pg_try_advisory_lock($1)", key), interval=0.01
        )
        second = relays.start()
        await append(platform, streams, per_stream=2)
        tries = (first.lock_attempts, second.lock_attempts)
        await eventually(
            lambda: _true(
                first.lock_attempts >= tries[0] + 3 and second.lock_attempts >= tries[1] + 3
            )
        )
        # both relays are alive and asking; neither holds the lock, so nothing left
        assert not first.holding and not second.holding
        assert await unpublished(platform) == 2 * len(streams)
    finally:
        await other_node.close()  # the other node goes away: its lock with it

    await eventually(lambda: all_published(platform))
    holder = first if first.holding else second
    assert holder.holding and not (first.holding and second.holding)

    # the holder's connection dies while events keep coming: no stall
    await platform.pool.execute("select pg_terminate_backend($1)", holder.lock_pid)
    await append(platform, streams, per_stream=2)
    await eventually(lambda: all_published(platform))

    on_topic = await versions_on_topic(platform)
    assert all(on_topic[s] == [1, 2, 3, 4, 5] for s in streams)


async def test_the_producer_is_rebuilt_after_a_fatal_error(platform: Platform, relays: Relays):
    relay = relays.start()
    await eventually(lambda: _true(relay.holding))
    stream = new_id()
    await append(platform, [stream])
    await eventually(lambda: all_published(platform))
    assert relay.restarts == 1

    assert relay._producer is not None
    await relay._producer.stop()  # a producer that refuses every later batch
    await append(platform, [stream])

    await eventually(lambda: all_published(platform))
    assert relay.restarts == 2
    assert (await versions_on_topic(platform))[stream] == [1, 2]


async def test_a_poison_outbox_row_is_quarantined_and_only_its_stream_waits(
    platform: Platform, relays: Relays
):
    stuck, free = new_id(), new_id()
    await _insert_oversized(platform, stuck)  # written before events were bounded at append
    await append(platform, [stuck, free])

    relay = relays.start()
    await eventually(lambda: _published_streams(platform, {free}))

    rows = await platform.pool.fetch(
        "select stream_version, published_at, quarantined_at, publish_error from events"
        " where stream_id = $1 order by stream_version",
        stuck,
    )
    assert rows[0]["quarantined_at"] is not None and "exceed" in rows[0]["publish_error"]
    assert rows[1]["published_at"] is None and rows[1]["quarantined_at"] is None
    assert relay.quarantined == 1
    await append(platform, [free])
    await eventually(lambda: _published_count(platform, free, 2))
    assert stuck not in await versions_on_topic(platform)


async def test_an_event_too_large_is_refused_at_append_with_a_clear_error(platform: Platform):
    huge = repair_requested().model_copy(update={"fault_description": "x" * 600_000})
    with pytest.raises(EventTooLarge) as refused:
        async with platform.unit_of_work() as uow:
            await uow.append(huge.ticket_id, [huge], correlation_id="c", causation_id="t")
    assert isinstance(refused.value, InvalidInput)  # the edge answers it as a 422
    assert "RepairRequested" in refused.value.reason and "at most" in refused.value.reason
    assert await platform.pool.fetchval("select count(*) from events") == 0


async def _insert_oversized(platform: Platform, stream: str) -> None:
    event = repair_requested(stream).model_copy(
        update={"fault_description": "x" * (MAX_RECORD_BYTES + 1000)}
    )
    envelope = wrap(
        event,
        event_id=new_id(),
        source="/tests",
        time=platform.clock.now(),
        region="cn-east",
        policy_pack="water-heater",
        policy_version="t",
        correlation_id="c",
        causation_id="t",
        stream_version=1,
    )
    await platform.pool.execute(
        "insert into events (event_id, stream_id, stream_version, event_type, schema_version,"
        " topic, envelope, recorded_at) values ($1, $2, 1, $3, 1, $4, $5, $6)",
        envelope.id,
        stream,
        envelope.type,
        platform.topic(INTAKE_EVENTS),
        envelope.model_dump_json(),
        platform.clock.now(),
    )


async def _published_streams(platform: Platform, streams: set[str]) -> bool:
    rows = await platform.pool.fetch(
        "select distinct stream_id from events where published_at is not null"
    )
    return {r["stream_id"] for r in rows} == streams


async def _published_count(platform: Platform, stream: str, n: int) -> bool:
    count = await platform.pool.fetchval(
        "select count(*) from events where stream_id = $1 and published_at is not null", stream
    )
    return count == n


async def _true(value: bool) -> bool:
    return value


async def test_the_kafka_key_is_the_ticket_not_the_stream(platform: Platform, relays: Relays):
    """A penalty, refund, trip or settlement stream is keyed by the ticket its events name
    (the CloudEvents subject), so a ticket's events share a partition."""
    ticket_id = new_id()
    async with platform.unit_of_work() as uow:
        await uow.append(
            f"penalty:PEN-1:{ticket_id}",
            [repair_requested(ticket_id)],
            correlation_id="c",
            causation_id="t",
        )
    relays.start()
    await eventually(lambda: all_published(platform))

    keys = {r.key for r in await read_topic(platform.topic(INTAKE_EVENTS))}
    assert keys == {ticket_id.encode()}


async def test_a_standby_relay_is_healthy_again_once_the_database_answers(
    platform: Platform, relays: Relays
):
    """After an outage the relay that does not get the lock stands by: its failures from
    the outage are not held against it (readiness counts them), or a PostgreSQL restart
    would leave every standby instance not ready until the holder goes away."""
    holder = relays.start()
    await eventually(lambda: _true(holder.holding))
    standby = relays.start()
    await eventually(lambda: _true(standby.lock_attempts > 0))

    dead = standby.lock_pid  # its connection dies, as in an outage
    await platform.pool.execute("select pg_terminate_backend($1)", dead)
    await eventually(lambda: _true(standby.lock_pid != dead))
    # a few seconds without the database leave a count that readiness refuses
    standby.failures = TASK_FAILURES

    tries = standby.lock_attempts
    await eventually(lambda: _true(standby.lock_attempts > tries))
    assert holder.holding and not standby.holding
    assert standby.failures == 0
