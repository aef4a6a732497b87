"""Rebuild a service's projections from Kafka offset 0.

The projection tables are emptied together with their inbox state, then every
partition of the topics they read is consumed from the beginning up to the end
offsets seen at the start, through the same batch path the live consumer uses.
Refuses to run while a live consumer of the same projection is in its group.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from repairline_platform.consumer import InboxConsumer
from repairline_platform.eventstore import Handler
from repairline_platform.kafka import topic_partitions
from repairline_platform.runtime import Runtime, is_projection


class ReplayRefused(RuntimeError):
    pass


@dataclass
class ReplayStats:
    projection: str
    events: int
    applied: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


async def _active_members(bootstrap: str, group: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="repairline-replay")
    await admin.start()
    try:
        described = await admin.describe_consumer_groups([group])
        total = 0
        for response in described:
            for g in response.groups:
                total += len(g[5]) if len(g) > 5 else 0
        return total
    finally:
        await admin.close()


async def replay_projection(
    rt: Runtime, handler: Handler, *, batch_size: int = 2000, force: bool = False
) -> ReplayStats:
    s = rt.settings
    name = rt.consumer_name(handler)
    if not force and await _active_members(s.kafka_bootstrap, f"{s.topic_prefix}{name}"):
        raise ReplayRefused(
            f"{name} has live consumers; stop the {rt.name} service before replaying"
        )
    async with rt.pool.acquire() as conn, conn.transaction():
        for table in handler.tables:  # type: ignore[attr-defined]
            await conn.execute(f"truncate table {table}")
        await conn.execute("delete from processed_events where consumer = $1", name)
        await conn.execute("delete from consumer_offsets where consumer = $1", name)

    # a record dead-lettered when first consumed is recorded once per consumer: not again
    inbox = InboxConsumer(handler, consumer_name=name, unit_of_work=rt.unit_of_work)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=s.kafka_bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=8 * 1024 * 1024,
        fetch_max_bytes=32 * 1024 * 1024,
    )
    await consumer.start()
    started = time.perf_counter()
    events = applied = 0
    try:
        tps = await topic_partitions(s.kafka_bootstrap, [rt.topic(t) for t in handler.topics])
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        remaining = {tp for tp in tps if end[tp] > 0}
        while remaining:
            # fill a whole batch before writing: fewer, larger transactions
            records: list[Any] = []
            while len(records) < batch_size:
                fetched = await consumer.getmany(
                    *remaining, timeout_ms=200 if records else 1000, max_records=batch_size
                )
                got = [
                    r
                    for rs in fetched.values()
                    for r in rs
                    if r.offset < end[TopicPartition(r.topic, r.partition)]
                ]
                if not got:
                    break
                records += got
            if records:
                result = await inbox.process(records)
                events += len(records)
                applied += result.applied
            for tp in list(remaining):
                if await consumer.position(tp) >= end[tp]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()
    return ReplayStats(name, events, applied, time.perf_counter() - started)


async def replay_all(rt: Runtime, *, force: bool = False) -> list[ReplayStats]:
    return [await replay_projection(rt, h, force=force) for h in rt.handlers if is_projection(h)]
