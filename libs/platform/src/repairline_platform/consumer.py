"""Inbox consumer: Kafka batches applied exactly once to PostgreSQL.

Delivery is at least once; effects are exactly once. Each batch is applied in one
transaction that also records the consumed event ids and the next offset of every
partition. On assignment the consumer seeks to the stored offsets (Kafka's own
committed offsets are only a hint), so a crash anywhere replays from the last
committed transaction and the processed-ids table turns redeliveries into no-ops.

A message that cannot be read (not JSON, not a CloudEvent, unknown type or version)
or that its handler rejects goes to the dead-letter topic with its origin and the
error, and the consumer carries on.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from pydantic import ValidationError

from repairline_contracts.envelope import Envelope, MalformedMessageError
from repairline_contracts.registry import UnknownEventError
from repairline_platform.eventstore import Delivered, Handler, UnitOfWork, mark_processed
from repairline_platform.logging import get_logger

log = get_logger(__name__)

_INFRA_ERRORS = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
)


@dataclass(frozen=True)
class Record:
    """The parts of a Kafka record the inbox needs (aiokafka ConsumerRecord fits)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True)
class DeadLetter:
    record: Record
    error: str
    consumer: str


@dataclass
class BatchResult:
    applied: int = 0
    duplicates: int = 0
    ignored: int = 0
    dead: int = 0


class InboxConsumer:
    """Applies batches of records for one handler; one instance per (service, handler)."""

    def __init__(
        self,
        handler: Handler,
        *,
        consumer_name: str,
        unit_of_work: Callable[[], AbstractAsyncContextManager[UnitOfWork]],
        dead_letter: Callable[[Sequence[DeadLetter]], Any],
    ) -> None:
        self.handler = handler
        self.name = consumer_name
        self._uow = unit_of_work
        self._dead_letter = dead_letter

    def _read(self, record: Record) -> Delivered | str | None:
        """A Delivered, None when this handler does not care, or the reason it is unreadable."""
        try:
            envelope = Envelope.from_bytes(record.value)
            if envelope.type not in self.handler.event_types:
                envelope.event()  # still refuse what nobody can read
                return None
            return Delivered(
                envelope, envelope.event(), record.topic, record.partition, record.offset
            )
        except (MalformedMessageError, UnknownEventError) as exc:
            return str(exc)
        except ValidationError as exc:
            return f"event data does not match its schema: {exc.errors(include_url=False)}"

    async def process(self, records: Sequence[Record]) -> BatchResult:
        """Apply one batch. Raises only on infrastructure errors (the batch is then retried)."""
        result = BatchResult()
        items: list[Delivered] = []
        dead: list[DeadLetter] = []
        for record in records:
            read = self._read(record)
            if isinstance(read, str):
                dead.append(DeadLetter(record, read, self.name))
            elif read is None:
                result.ignored += 1
            else:
                items.append(read)
        if dead:
            await self._dead_letter(dead)
            result.dead += len(dead)
        try:
            result.applied, result.duplicates = await self._apply(records, items)
        except _INFRA_ERRORS:
            raise
        except Exception:
            # Something in the batch is poison: apply one by one, dead-lettering the culprit.
            log.warning("batch failed, retrying item by item", consumer=self.name, exc_info=True)
            result.applied = result.duplicates = 0
            for item in items:
                record = _record_of(item)
                try:
                    applied, dup = await self._apply([record], [item])
                    result.applied += applied
                    result.duplicates += dup
                except _INFRA_ERRORS:
                    raise
                except Exception as exc:
                    await self._dead_letter(
                        [DeadLetter(record, f"handler failed: {exc!r}", self.name)]
                    )
                    result.dead += 1
                    async with self._uow() as uow:
                        await _store_offsets(uow.conn, self.name, [record])
            # the ignored and dead records' offsets
            async with self._uow() as uow:
                await _store_offsets(uow.conn, self.name, records)
        return result

    async def _apply(
        self, records: Sequence[Record], items: Sequence[Delivered]
    ) -> tuple[int, int]:
        async with self._uow() as uow:
            fresh: list[Delivered] = []
            duplicates = 0
            if items:
                ids = [i.envelope.id for i in items]
                seen = {
                    r["event_id"]
                    for r in await uow.conn.fetch(
                        "select event_id from processed_events"
                        " where consumer = $1 and event_id = any($2::text[])",
                        self.name,
                        ids,
                    )
                }
                for item in items:
                    if item.envelope.id in seen:
                        duplicates += 1
                        continue
                    seen.add(item.envelope.id)
                    fresh.append(item)
                if fresh:
                    await self.handler.handle(uow, fresh)
                    await mark_processed(uow.conn, self.name, [i.envelope.id for i in fresh])
            await _store_offsets(uow.conn, self.name, records)
        return len(fresh), duplicates


def _record_of(item: Delivered) -> Record:
    return Record(item.topic, item.partition, item.offset, None, item.envelope.to_bytes())


async def _store_offsets(
    conn: asyncpg.Connection, consumer: str, records: Sequence[Record]
) -> None:
    nxt: dict[tuple[str, int], int] = {}
    for r in records:
        key = (r.topic, r.partition)
        nxt[key] = max(nxt.get(key, 0), r.offset + 1)
    if not nxt:
        return
    await conn.execute(
        "insert into consumer_offsets (consumer, topic, partition, next_offset)"
        " select $1, t, p, o from unnest($2::text[], $3::int[], $4::bigint[]) as x(t, p, o)"
        " on conflict (consumer, topic, partition)"
        " do update set next_offset = greatest(consumer_offsets.next_offset, excluded.next_offset)",
        consumer,
        [k[0] for k in nxt],
        [k[1] for k in nxt],
        list(nxt.values()),
    )


async def stored_offsets(pool: asyncpg.Pool, consumer: str) -> dict[tuple[str, int], int]:
    rows = await pool.fetch(
        "select topic, partition, next_offset from consumer_offsets where consumer = $1", consumer
    )
    return {(r["topic"], r["partition"]): r["next_offset"] for r in rows}


class SeekToStoredOffsets(ConsumerRebalanceListener):
    """On assignment, continue from the offsets stored with the effects, not Kafka's."""

    def __init__(self, pool: asyncpg.Pool, consumer_name: str, get_consumer: Callable[[], Any]):
        self._pool = pool
        self._name = consumer_name
        self._get_consumer = get_consumer

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        return None

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        consumer = self._get_consumer()
        if consumer is None or not assigned:
            return
        stored = await stored_offsets(self._pool, self._name)
        for tp in assigned:
            offset = stored.get((tp.topic, tp.partition))
            if offset is None:
                await consumer.seek_to_beginning(tp)
            else:
                consumer.seek(tp, offset)
        log.info("partitions assigned", consumer=self._name, partitions=len(assigned))


class DeadLetterPublisher:
    """Publishes unreadable or rejected messages, with their origin, to the dead-letter topic."""

    def __init__(self, producer: AIOKafkaProducer, topic: str, source: str, clock: Any):
        self._producer = producer
        self._topic = topic
        self._source = source
        self._clock = clock

    async def __call__(self, letters: Sequence[DeadLetter]) -> None:
        futures = []
        for letter in letters:
            r = letter.record
            now: datetime = self._clock.now()
            body = {
                "specversion": "1.0",
                "id": str(uuid.uuid4()),
                "source": self._source,
                "type": "repairline.platform.DeadLettered",
                "time": now.isoformat(),
                "subject": r.key.decode("utf-8", "replace") if r.key else "",
                "datacontenttype": "application/json",
                "data": {
                    "origin": {"topic": r.topic, "partition": r.partition, "offset": r.offset},
                    "consumer": letter.consumer,
                    "error": letter.error,
                    "payload_text": (r.value or b"").decode("utf-8", "replace"),
                },
            }
            headers = [
                ("origin_topic", r.topic.encode()),
                ("origin_partition", str(r.partition).encode()),
                ("origin_offset", str(r.offset).encode()),
            ]
            futures.append(
                await self._producer.send(
                    self._topic, json.dumps(body).encode(), key=r.key, headers=headers
                )
            )
            log.error(
                "message dead-lettered",
                consumer=letter.consumer,
                origin_topic=r.topic,
                origin_partition=r.partition,
                origin_offset=r.offset,
                error=letter.error[:500],
            )
        await asyncio.gather(*futures)
