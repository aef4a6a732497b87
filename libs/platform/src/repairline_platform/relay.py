"""Outbox relay: publishes appended events to Kafka in order, then marks them sent.

One relay per service database is active at a time (a PostgreSQL advisory lock), so
events of one ticket leave in the order they were appended. The producer is
idempotent with acks=all; delivery is at least once and consumers deduplicate.
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
from aiokafka import AIOKafkaProducer

from repairline_platform.db import advisory_key
from repairline_platform.logging import get_logger

log = get_logger(__name__)

# CloudEvents Kafka binding, structured mode: the value is the whole event as JSON.
STRUCTURED = [("content-type", b"application/cloudevents+json; charset=UTF-8")]


def make_producer(bootstrap: str, client_id: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        enable_idempotence=True,  # forces acks=all
        acks="all",
        linger_ms=5,
        max_batch_size=256 * 1024,
    )


class OutboxRelay:
    def __init__(
        self,
        pool: asyncpg.Pool,
        producer: AIOKafkaProducer,
        *,
        lock_name: str,
        batch_size: int = 500,
        idle_seconds: float = 0.05,
    ) -> None:
        self._pool = pool
        self._producer = producer
        self._lock_key = advisory_key(f"relay:{lock_name}")
        self._batch_size = batch_size
        self._idle = idle_seconds
        self._wake = asyncio.Event()
        self._stopping = False
        self.published = 0

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        async with self._pool.acquire() as lock_conn:
            while not self._stopping:
                if await lock_conn.fetchval("select pg_try_advisory_lock($1)", self._lock_key):
                    break
                await self._sleep(1.0)
            try:
                while not self._stopping:
                    try:
                        sent = await self.publish_once()
                    except Exception:
                        log.exception("outbox relay failed; retrying")
                        await self._sleep(1.0)
                        continue
                    if sent < self._batch_size:
                        await self._sleep(self._idle)
                # drain what is already committed before stopping
                while await self.publish_once():
                    pass
            finally:
                await lock_conn.execute("select pg_advisory_unlock_all()")

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        self._wake.clear()

    async def publish_once(self) -> int:
        rows = await self._pool.fetch(
            "select global_position, topic, stream_id, envelope from events"
            " where published_at is null order by global_position limit $1",
            self._batch_size,
        )
        if not rows:
            return 0
        futures = [
            await self._producer.send(
                r["topic"],
                r["envelope"].encode(),
                key=r["stream_id"].encode(),
                headers=STRUCTURED,
            )
            for r in rows
        ]
        await asyncio.gather(*futures)
        await self._pool.execute(
            "update events set published_at = now() where global_position = any($1::bigint[])",
            [r["global_position"] for r in rows],
        )
        self.published += len(rows)
        return len(rows)
