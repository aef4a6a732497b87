"""Outbox relay: publishes appended events to Kafka in order, then marks them sent.

One relay per service database is active at a time: it holds a PostgreSQL advisory
lock on a connection of its own, and reads and marks every batch through that very
connection, so a relay whose lock connection died cannot publish (the read fails) and
goes back to waiting for the lock. Events of one ticket leave in the order they were
appended. The producer is idempotent with acks=all; delivery is at least once and
consumers deduplicate.

The relay heals: any failure (a PostgreSQL blip, a lost lock, a fatal producer error)
ends the current turn, the producer is rebuilt after a non-retriable Kafka error, and
the relay starts over after a growing pause. A row that can never be published (larger
than a Kafka message may be) is quarantined with an alert; later events of its stream
wait behind it, other streams go on.

The relay also publishes the consumers' dead-letter notices (the `dead_letters` table)
to the dead-letter topic.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from repairline_platform.consumer import dead_letter_notice
from repairline_platform.db import ACQUIRE_TIMEOUT, advisory_key
from repairline_platform.logging import get_logger
from repairline_platform.tracing import Tracing, ids_only

log = get_logger(__name__)

# CloudEvents Kafka binding, structured mode: the value is the whole event as JSON.
STRUCTURED = [("content-type", b"application/cloudevents+json; charset=UTF-8")]

MAX_REQUEST_BYTES = 1024 * 1024  # the producer's (and the broker's default) message limit
MAX_RECORD_BYTES = MAX_REQUEST_BYTES - 16 * 1024  # room for the batch and record overhead
DEAD_LETTER_POLL_SECONDS = 1.0  # and at once when a consumer records one


def make_producer(
    bootstrap: str, client_id: str, security: Mapping[str, Any] | None = None
) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        **(security or {}),
        enable_idempotence=True,  # forces acks=all
        acks="all",
        # no lingering: the relay hands over a whole selected batch before the producer
        # runs again, so the records are batched without waiting (5 ms a hop, measured)
        linger_ms=0,
        max_batch_size=256 * 1024,
        max_request_size=MAX_REQUEST_BYTES,
        request_timeout_ms=30000,
    )


ProducerFactory = Callable[[], AIOKafkaProducer]


class OutboxRelay:
    def __init__(
        self,
        pool: asyncpg.Pool,
        producer: ProducerFactory,
        *,
        lock_name: str,
        batch_size: int = 500,
        idle_seconds: float = 0.05,
        lock_poll_seconds: float = 1.0,
        dead_letter_topic: str | None = None,
        source: str = "",
        on_published: Callable[[int], None] | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self._pool = pool
        self._make_producer = producer
        self._producer: AIOKafkaProducer | None = None
        self._lock_key = advisory_key(f"relay:{lock_name}")
        self._batch_size = batch_size
        self._idle = idle_seconds
        self._lock_poll = lock_poll_seconds
        self._dead_letter_topic = dead_letter_topic
        self._source = source
        self._on_published = on_published
        self._tracing = tracing or ids_only("relay")
        self._wake = asyncio.Event()
        self._stopping = False
        self.published = 0
        self.holding = False  # whether this relay holds the lock right now
        self.lock_attempts = 0  # failed tries to take the lock
        self.failures = 0  # turns ended by an error, in a row
        self.restarts = 0  # producers rebuilt
        self.quarantined = 0
        self._dead_letters_due = 0.0
        self.lock_pid: int | None = None  # the backend holding (or waiting for) the lock

    def wake(self, *, dead_letters: bool = False) -> None:
        if dead_letters:
            self._dead_letters_due = 0.0
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Hold the lock and publish until stopped; start over after any failure."""
        try:
            while not self._stopping:
                try:
                    await self._turn()
                    self.failures = 0
                except Exception as exc:
                    self.failures += 1
                    log.warning(
                        "outbox relay interrupted; starting over",
                        error=type(exc).__name__,
                        failures=self.failures,
                    )
                    if isinstance(exc, KafkaError) and not exc.retriable:
                        await self._drop_producer()
                    await self._sleep(min(0.2 * 2**self.failures, 10.0))
        finally:
            await self._drop_producer()

    async def _turn(self) -> None:
        async with self._pool.acquire(timeout=ACQUIRE_TIMEOUT) as conn:
            self.lock_pid = conn.get_server_pid()
            conn.hold_session_state()  # the session lock: released in full with it
            if not await self._take_lock(conn):
                return
            self.holding = True
            try:
                while not self._stopping:
                    sent = await self.publish_once(conn)
                    self.failures = 0
                    if sent < self._batch_size:
                        await self._sleep(self._idle)
                # drain what is already committed before stopping, still under the lock
                while await self.publish_once(conn):
                    pass
            finally:
                self.holding = False
                with contextlib.suppress(Exception):
                    await conn.execute("select pg_advisory_unlock_all()")

    async def _take_lock(self, conn: asyncpg.Connection) -> bool:
        while not self._stopping:
            taken = await conn.fetchval("select pg_try_advisory_lock($1)", self._lock_key)
            # The database answered: a relay standing by while another holds the lock is
            # healthy, whatever failures (an outage) came before.
            self.failures = 0
            if taken:
                log.info("outbox relay holds the lock")
                return True
            self.lock_attempts += 1
            await self._sleep(self._lock_poll)
        return False

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        self._wake.clear()

    async def _producer_ready(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = self._make_producer()
            await producer.start()
            self._producer = producer
            self.restarts += 1
        return self._producer

    async def _drop_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(Exception):
                await producer.stop()

    async def publish_once(self, conn: asyncpg.Connection) -> int:
        """Publish one batch through the lock connection; returns how many events left."""
        rows = await conn.fetch(
            "select global_position, topic, stream_id, envelope, traceparent,"
            " (envelope::jsonb ->> 'subject') as subject from events"
            " where published_at is null and quarantined_at is null"
            " and stream_id <> all(array(select stream_id from events"
            "   where quarantined_at is not null and published_at is null))"
            " and exists (select 1 from pg_locks where locktype = 'advisory'"
            "   and pid = pg_backend_pid() and granted)"  # the lock, checked with the read
            " order by global_position limit $1",
            self._batch_size,
        )
        sendable = await self._quarantine_oversized(conn, rows)
        if sendable:
            producer = await self._producer_ready()
            futures = [await self._send(producer, r) for r in sendable]
            await asyncio.gather(*futures)
            await conn.execute(
                "update events set published_at = now() where global_position = any($1::bigint[])",
                [r["global_position"] for r in sendable],
            )
            self.published += len(sendable)
            if self._on_published is not None:
                self._on_published(len(sendable))
        if time.monotonic() >= self._dead_letters_due:
            self._dead_letters_due = time.monotonic() + DEAD_LETTER_POLL_SECONDS
            await self._publish_dead_letters(conn)
        return len(rows)

    async def _send(self, producer: AIOKafkaProducer, row: Any) -> Any:
        """Hand one event to the producer, in a span of the trace that appended it."""
        with self._tracing.publish_span(row["topic"], row["traceparent"]):
            return await producer.send(
                row["topic"],
                row["envelope"].encode(),
                key=_key(row),
                headers=STRUCTURED,
            )

    async def _quarantine_oversized(self, conn: asyncpg.Connection, rows: list[Any]) -> list[Any]:
        """Rows that fit in a Kafka message; the others are quarantined with their streams'
        later rows held back (they are skipped here and by the next batches' query)."""
        held: set[str] = set()
        sendable = []
        for r in rows:
            if r["stream_id"] in held:
                continue
            size = len(r["envelope"].encode()) + len(r["stream_id"].encode())
            if size <= MAX_RECORD_BYTES:
                sendable.append(r)
                continue
            held.add(r["stream_id"])
            await self._quarantine(conn, r, f"{size} bytes exceed the {MAX_RECORD_BYTES} limit")
        return sendable

    async def _quarantine(self, conn: asyncpg.Connection, row: Any, error: str) -> None:
        await conn.execute(
            "update events set quarantined_at = now(), publish_error = $2"
            " where global_position = $1",
            row["global_position"],
            error,
        )
        self.quarantined += 1
        log.error(
            "outbox event quarantined; later events of its stream wait",
            alert="outbox_quarantined",
            global_position=row["global_position"],
            topic=row["topic"],
            stream_id=row["stream_id"],
            error=error,
        )

    async def _publish_dead_letters(self, conn: asyncpg.Connection) -> None:
        if self._dead_letter_topic is None:
            return
        rows = await conn.fetch(
            "select consumer, origin_topic, origin_partition, origin_offset, record_key,"
            " substring(record_value from 1 for 4096) as record_value, size_bytes, error"
            " from dead_letters where published_at is null order by dead_at limit 100"
        )
        if not rows:
            return
        producer = await self._producer_ready()
        now = datetime.now(UTC)
        futures = []
        for row in rows:
            key, value = dead_letter_notice(row, self._source, now)
            futures.append(await producer.send(self._dead_letter_topic, value, key=key))
        await asyncio.gather(*futures)
        await conn.execute(
            "update dead_letters set published_at = now()"
            " where (consumer, origin_topic, origin_partition, origin_offset) in"
            " (select * from unnest($1::text[], $2::text[], $3::int[], $4::bigint[]))",
            [r["consumer"] for r in rows],
            [r["origin_topic"] for r in rows],
            [r["origin_partition"] for r in rows],
            [r["origin_offset"] for r in rows],
        )


def _key(row: Any) -> bytes:
    """The Kafka key: the event's ticket (its CloudEvents subject), so every event of a
    ticket, whatever stream recorded it (penalty, refund, trip...), is in one partition."""
    return (row["subject"] or row["stream_id"]).encode()
