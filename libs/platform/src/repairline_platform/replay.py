"""Rebuild a service's projections from Kafka offset 0.

The projection tables are emptied together with their inbox state, then every
partition of the topics they read is consumed from the beginning up to the end
offsets seen at the start, in batches of thousands, through the live consumer's batch
path without its per-event ids (`replaying`: the offsets suffice). Refuses to run while
a live consumer of the same projection is in its group.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from repairline_platform import db
from repairline_platform.eventstore import Delivered, Handler, UnitOfWork
from repairline_platform.kafka import security_options, topic_partitions
from repairline_platform.replaying import ReplayInbox, apply_all
from repairline_platform.runtime import Runtime, is_projection

BATCH_SIZE = 5000  # records per transaction; two batches are in memory at a time


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


async def _active_members(bootstrap: str, group: str, security: Any) -> int:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, client_id="repairline-replay", **security
    )
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
    rt: Runtime, handler: Handler, *, batch_size: int = BATCH_SIZE, force: bool = False
) -> ReplayStats:
    s = rt.settings
    name = rt.consumer_name(handler)
    security = security_options(s)
    if not force and await _active_members(s.kafka_bootstrap, f"{s.topic_prefix}{name}", security):
        raise ReplayRefused(
            f"{name} has live consumers; stop the {rt.name} service before replaying"
        )
    async with rt.pool.acquire() as conn, conn.transaction():
        for table in handler.tables:  # type: ignore[attr-defined]
            await conn.execute(f"truncate table {table}")
        await conn.execute("delete from processed_events where consumer = $1", name)
        await conn.execute("delete from consumer_offsets where consumer = $1", name)

    # a record dead-lettered when first consumed is recorded once per consumer: not again
    inbox = ReplayInbox(handler, consumer_name=name, unit_of_work=rt.unit_of_work)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=s.kafka_bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=8 * 1024 * 1024,
        fetch_max_bytes=32 * 1024 * 1024,
        **security,
    )
    await consumer.start()
    started = time.perf_counter()
    try:
        tps = await topic_partitions(
            s.kafka_bootstrap, [rt.topic(t) for t in handler.topics], security=security
        )
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        events, applied = await apply_all(inbox, _batches(consumer, end, batch_size))
    finally:
        await consumer.stop()
    return ReplayStats(name, events, applied, time.perf_counter() - started)


async def _batches(
    consumer: AIOKafkaConsumer, end: dict[TopicPartition, int], batch_size: int
) -> AsyncIterator[list[Any]]:
    """Every record of the partitions up to the end offsets seen at the start, in batches
    of about `batch_size` (one fetch may add up to a partition's fetch to the last)."""
    remaining = {tp for tp, offset in end.items() if offset > 0}
    while remaining:
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
            yield records
        for tp in list(remaining):
            if await consumer.position(tp) >= end[tp]:
                remaining.discard(tp)


async def replay_all(rt: Runtime, *, force: bool = False) -> list[ReplayStats]:
    return [await replay_projection(rt, h, force=force) for h in rt.handlers if is_projection(h)]


# -- as of a past moment, into a schema of its own -------------------------------------

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class UpTo:
    """A projection that sees only the events that happened at or before `until`."""

    inner: Handler
    until: datetime

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def topics(self) -> tuple[str, ...]:
        return self.inner.topics

    @property
    def event_types(self) -> frozenset[str]:
        return self.inner.event_types

    @property
    def tables(self) -> tuple[str, ...]:
        return self.inner.tables  # type: ignore[attr-defined]

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None:
        then = [i for i in items if i.envelope.time <= self.until]
        if then:
            await self.inner.handle(uow, then)


def as_of_schema(until: datetime) -> str:
    """`asof_20261119t160000z`: the default schema of a rebuild as of `until` (UTC)."""
    return f"asof_{until.astimezone(UTC):%Y%m%dt%H%M%Sz}"


async def replay_until(
    rt: Runtime, until: datetime, *, schema: str | None = None
) -> tuple[str, list[ReplayStats]]:
    """Rebuild every projection of the service as it stood at `until`, into `schema`.

    The schema gets the service's own tables (migrations) and a copy of its event store
    up to `until`; its projections are refilled from Kafka offset 0 with only the events
    that happened by then. The live tables, offsets and service are not touched, so the
    rebuild can run beside the live service and be compared with it in SQL.
    """
    if until.tzinfo is None:
        raise ValueError("until must be timezone-aware")
    schema = schema or as_of_schema(until)
    if not _SCHEMA_NAME.match(schema) or schema in ("public", "pg_catalog"):
        raise ValueError(f"not a schema name for a rebuild: {schema!r}")
    await rt.pool.execute(f"create schema if not exists {schema}")
    scoped = await asyncpg.create_pool(
        rt.settings.dsn_for(f"repairline_{rt.name}"),
        min_size=1,
        max_size=4,
        server_settings={"search_path": schema},
        **db.connect_options(rt.settings),
    )
    live = rt.pool
    try:
        async with scoped.acquire() as conn:
            await db.migrate(conn, rt.spec.migrations)
            await conn.execute("truncate table events")
            await conn.execute(
                "insert into events select * from public.events where recorded_at <= $1", until
            )
        rt.pool = scoped
        stats = [
            await replay_projection(rt, UpTo(h, until), force=True)
            for h in rt.handlers
            if is_projection(h)
        ]
    finally:
        rt.pool = live
        await scoped.close()
    return schema, stats
