"""Inbox consumer: Kafka batches applied exactly once to PostgreSQL.

Delivery is at least once; effects are exactly once. Each batch is applied in one
transaction that also records the consumed event ids and the next offset of every
partition. On assignment the consumer seeks to the stored offsets (Kafka's own
committed offsets are only a hint), so a crash anywhere replays from the last
committed transaction and the processed-ids table turns redeliveries into no-ops.

Any number of members of one group may run (replicas); a partition that moves between
them mid-batch is never applied twice:
- claim first: an event's id is claimed (`insert ... on conflict do nothing returning`)
  before it is applied, in the transaction of its effects; only claimed events are
  applied, so a second member's copy waits for the first's commit and then finds it taken;
- offsets by compare-and-set: a partition's next offset moves only from the value this
  member read at the start of the batch; if another member moved it meanwhile, the
  partition is that member's now and the whole batch rolls back (and is retried);
- on revocation a member waits for its batch on the revoked partitions to end (or, past
  `REVOKE_WAIT_SECONDS`, abandons it: its offsets will not be stored) before the
  partitions go to another member.

A batch that needs nothing of its consumer is settled in one statement, outside a
transaction: every record is of a type the handler does not read, or was applied
already (a service's projections of its own topic apply its events as they are
appended, so their consumers mostly see events done). The statement moves each
partition's offset forward over the batch only from where the batch starts (or from
within it), and only when every event id of the batch is recorded as processed;
anything else (an event to apply, hold or dead-letter, or an offset stored before the
batch's start) goes the transactional way below, which then finds less to do.

Failures are sorted by kind:
- transient (a lost connection, a deadlock, a serialization failure, a lock or statement
  timeout, a concurrent writer): the batch raises and is retried with backoff; nothing
  is dead-lettered and no offset moves;
- deterministic (not JSON, not a CloudEvent, an unknown type, data that does not match
  its schema, a handler's own refusal): the record is dead-lettered, exactly once per
  consumer: its position, bytes (once) and a short error are recorded in the
  `dead_letters` table in the same transaction as the offsets, and the relay publishes
  a small notice of it to the dead-letter topic;
- a handled type at a schema version newer than this code: held, not lost. The event is
  parked in the consumer's database (with every later event of its stream, so a stream
  keeps its order) and applied when an upgraded consumer starts.
"""

from __future__ import annotations

import asyncio
import inspect
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiokafka import ConsumerRebalanceListener, TopicPartition
from pydantic import ValidationError

from repairline_contracts.envelope import Envelope, MalformedMessageError
from repairline_contracts.registry import NewerVersionError, UnknownEventError, is_newer_version
from repairline_platform.db import is_transient
from repairline_platform.eventstore import (
    ConcurrencyError,
    Delivered,
    Handler,
    UnitOfWork,
)
from repairline_platform.logging import get_logger
from repairline_platform.personal import personal_values, scrubbed
from repairline_platform.tracing import Tracing, handling, log_applied

log = get_logger(__name__)

EXCERPT_BYTES = 2048  # of an unreadable record, in its dead-letter notice
MAX_ERRORS = 5  # validation errors named in a dead letter; the rest are counted
MAX_ERROR_CHARS = 1000
REVOKE_WAIT_SECONDS = 20.0  # a batch in hand on a revoked partition, before it is abandoned

Partition = tuple[str, int]


class PartitionMoved(ConcurrencyError):
    """Another member of the group stored this partition's offset first (or the partition
    was revoked and the batch abandoned): the batch rolls back; it is not ours to apply."""


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
    held: int = 0


@dataclass
class _Entry:
    """One record of a batch and what to do with it."""

    record: Record
    item: Delivered | None = None  # to apply
    error: str | None = None  # to dead-letter
    held: Envelope | None = None  # to park until the consumer knows its version

    @property
    def stream(self) -> str | None:
        envelope = self.item.envelope if self.item else self.held
        return envelope.subject if envelope else None


@dataclass
class ConsumerHealth:
    """What readiness reports about one consumer loop."""

    batches: int = 0
    failing_since: float | None = None  # monotonic time of the first failure in a row
    failures: int = 0
    last_error: str = ""
    held: int = 0
    dead: int = 0
    last_batch_at: float | None = field(default=None)

    def succeeded(self) -> None:
        self.batches += 1
        self.failures = 0
        self.failing_since = None
        self.last_batch_at = time.monotonic()

    def failed(self, exc: BaseException) -> float:
        """Record a failed batch; returns how long to wait before the retry."""
        self.failures += 1
        if self.failing_since is None:
            self.failing_since = time.monotonic()
        self.last_error = type(exc).__name__
        return min(0.2 * 2 ** min(self.failures, 10), 30.0)

    def failing_for(self) -> float:
        return 0.0 if self.failing_since is None else time.monotonic() - self.failing_since


def summarise_validation(exc: ValidationError) -> str:
    """Where and what, never the input: a 100 KB value must not be repeated per error."""
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    named = [
        f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
        for err in errors[:MAX_ERRORS]
    ]
    more = f"; and {len(errors) - MAX_ERRORS} more" if len(errors) > MAX_ERRORS else ""
    return "; ".join(named) + more


def _short(text: str) -> str:
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


def _reason(record: Record, text: str) -> str:
    """Why a record is dead-lettered, without the customer's phone, address or name that a
    driver's or a handler's message may quote from it: the reason is logged, stored and
    announced on the dead-letter topic, the record itself is only stored."""
    return _short(scrubbed(text, personal_values(record.value)))


class InboxConsumer:
    """Applies batches of records for one handler; one instance per (service, handler)."""

    def __init__(
        self,
        handler: Handler,
        *,
        consumer_name: str,
        unit_of_work: Callable[[], AbstractAsyncContextManager[UnitOfWork]],
        dead_letter: Callable[[Sequence[DeadLetter]], Any] | None = None,
    ) -> None:
        self.handler = handler
        self.name = consumer_name
        self._uow = unit_of_work
        self._dead_lettered = dead_letter
        self.health = ConsumerHealth()
        self.kafka_consumer: Callable[[], Any] | None = None  # for lag, set by the runtime
        # where its applied offsets are committed to Kafka, set by the runtime
        self.offsets_hint: KafkaOffsetsHint | None = None
        self.starts_at: datetime | None = None  # where a new group starts (None: beginning)
        self.tracing: Tracing | None = None  # a live consumer's spans, set by the runtime
        self._in_flight: set[Partition] = set()  # the partitions of the batch in hand
        self._settled = asyncio.Event()  # no batch in hand
        self._settled.set()
        self._abandoned: set[Partition] = set()  # revoked while in hand: not to be stored
        # a live consumer's pool, set by the runtime: batches needing nothing are settled
        # on it in one statement (None: every batch goes the transactional way)
        self.pool: asyncpg.Pool | None = None
        # topics whose events the handler applies as they are appended (its service's own)
        self.applied_at_append: frozenset[str] = frozenset()

    # -- reading -----------------------------------------------------------------------

    def _read(self, record: Record) -> _Entry:
        """What to do with one record: apply, ignore, dead-letter or hold."""
        try:
            envelope = Envelope.from_bytes(record.value)
            if envelope.type not in self.handler.event_types:
                if not is_newer_version(envelope.type, envelope.schemaversion):
                    envelope.event()  # still refuse what nobody can read
                return _Entry(record)
            event = envelope.event()
            return _Entry(
                record,
                item=Delivered(envelope, event, record.topic, record.partition, record.offset),
            )
        except NewerVersionError:
            return _Entry(record, held=envelope)
        except (MalformedMessageError, UnknownEventError) as exc:
            return _Entry(record, error=_reason(record, str(exc)))
        except ValidationError as exc:
            reason = f"event data does not match its schema: {summarise_validation(exc)}"
            return _Entry(record, error=_reason(record, reason))

    # -- applying ----------------------------------------------------------------------

    async def process(self, records: Sequence[Record]) -> BatchResult:
        """Apply one batch. Raises only on transient errors (the batch is then retried)."""
        self._in_flight = {(r.topic, r.partition) for r in records}
        self._settled.clear()
        try:
            return await self._process(records)
        finally:
            self._abandoned -= self._in_flight
            self._in_flight = set()
            self._settled.set()

    async def finish_or_abandon(self, revoked: set[Partition], wait_seconds: float) -> None:
        """Return once no batch on `revoked` is in hand: it ended, or it took longer than
        `wait_seconds` and is abandoned (it rolls back instead of storing those offsets)."""
        if not self._in_flight & revoked:
            return
        try:
            async with asyncio.timeout(wait_seconds):
                await self._settled.wait()
        except TimeoutError:
            self._abandoned |= revoked & self._in_flight
            log.warning("batch of revoked partitions abandoned", consumer=self.name)

    def reassigned(self, assigned: set[Partition]) -> None:
        self._abandoned -= assigned

    async def _process(self, records: Sequence[Record]) -> BatchResult:
        entries = [self._read(r) for r in records]
        settled = await self._settled_without_effects(entries)
        if settled is not None:
            return settled
        try:
            result = await self._apply(entries)
        except Exception as exc:
            if is_transient(exc):
                raise
            # Something in the batch is poison: apply one by one, dead-lettering the culprit.
            log.warning(
                "batch failed, retrying item by item", consumer=self.name, error=type(exc).__name__
            )
            result = BatchResult()
            for entry in entries:
                _add(result, await self._apply_alone(entry))
        self.health.held += result.held
        self.health.dead += result.dead
        return result

    async def _settled_without_effects(self, entries: Sequence[_Entry]) -> BatchResult | None:
        """A batch that needs nothing of this consumer, its offsets moved forward in one
        statement; None when it needs the transactional way (see the module's notes)."""
        if self.pool is None:
            return None
        items: list[Delivered] = []
        for entry in entries:
            if entry.error is not None or entry.held is not None:
                return None
            if entry.item is not None:
                if entry.record.topic not in self.applied_at_append:
                    return None  # most likely to apply: not worth a statement first
                items.append(entry.item)
        spans: dict[Partition, tuple[int, int]] = {}  # key -> (first offset, next offset)
        for entry in entries:
            r = entry.record
            first, after = spans.get((r.topic, r.partition), (r.offset, r.offset + 1))
            spans[(r.topic, r.partition)] = (min(first, r.offset), max(after, r.offset + 1))
        ids = list(dict.fromkeys(i.envelope.id for i in items))
        async with self.pool.acquire() as conn:
            if not await _forward_if_done(conn, self.name, ids, spans):
                return None
        return BatchResult(duplicates=len(items), ignored=len(entries) - len(items))

    async def _apply_alone(self, entry: _Entry) -> BatchResult:
        try:
            return await self._apply([entry])
        except Exception as exc:
            if is_transient(exc):
                raise
            reason = f"handler failed: {type(exc).__name__}: {exc}"
            return await self._apply([_Entry(entry.record, error=_reason(entry.record, reason))])

    async def _apply(self, entries: Sequence[_Entry]) -> BatchResult:
        result = BatchResult()
        letters: list[DeadLetter] = []
        async with self._uow() as uow:
            conn = uow.conn
            records = [e.record for e in entries]
            stored, blocked = await _positions_and_parked(
                conn, self.name, {e.stream for e in entries if e.stream}
            )
            entries = self._past_stored(stored, entries, result)
            to_apply = await self._park_held(conn, entries, blocked, result)
            moves = self._moves(records, stored)
            fresh = await self._claim_and_store(conn, to_apply, moves, result)
            if fresh:
                with handling(self.tracing, self.name, [i.envelope for i in fresh]):
                    await self.handler.handle(uow, fresh)  # in the events' trace
            result.applied = len(fresh)
            for entry in entries:
                if entry.error is not None and await self._record_dead(conn, entry):
                    letters.append(DeadLetter(entry.record, entry.error, self.name))
                elif entry.item is None and entry.held is None and entry.error is None:
                    result.ignored += 1
            self._still_in_hand(records)  # revoked meanwhile: rolled back, not committed
        result.dead = len(letters)
        if fresh and self.tracing is not None:  # live, not a replay: one line per event,
            # in the trace of the request behind it, once committed
            log_applied(self.tracing, self.name, [i.envelope for i in fresh], log)
        for letter in letters:
            _log_dead_letter(letter)
        if letters and self._dead_lettered is not None:
            done = self._dead_lettered(letters)
            if inspect.isawaitable(done):
                await done
        return result

    def _past_stored(
        self, stored: dict[Partition, int], entries: Sequence[_Entry], result: BatchResult
    ) -> list[_Entry]:
        """The entries at or past the stored positions: what lies before them was consumed
        already, or lies before where this consumer group starts (a seek on assignment is
        not guaranteed to win over a fetch already under way)."""
        kept = [e for e in entries if self._wanted(e.record, stored)]
        result.duplicates += len(entries) - len(kept)
        return kept

    def _wanted(self, record: Record, stored: dict[tuple[str, int], int]) -> bool:
        position = stored.get((record.topic, record.partition))
        if position is not None:
            return record.offset >= position
        # no position yet: the group is new; it starts at `starts_at` (Kafka timestamps)
        timestamp = getattr(record, "timestamp", None)
        if self.starts_at is None or timestamp is None:
            return True
        return timestamp >= self.starts_at.timestamp() * 1000

    async def _park_held(
        self,
        conn: asyncpg.Connection,
        entries: Sequence[_Entry],
        blocked: set[str],
        result: BatchResult,
    ) -> list[Delivered]:
        """Park held events and every later event of their streams (`blocked`: the streams
        with an event parked already); the rest to apply."""
        to_apply: list[Delivered] = []
        for entry in entries:
            if entry.held is None and (entry.item is None or entry.stream not in blocked):
                if entry.item is not None:
                    to_apply.append(entry.item)
                continue
            await self._park(conn, entry)
            blocked.add(entry.stream or "")
            result.held += 1
        return to_apply

    async def _park(self, conn: asyncpg.Connection, entry: _Entry) -> None:
        envelope = entry.held or (entry.item.envelope if entry.item else None)
        assert envelope is not None
        r = entry.record
        reason = (
            f"{envelope.type} version {envelope.schemaversion} is newer than this consumer"
            if entry.held is not None
            else "an earlier event of its stream is held"
        )
        status = await conn.execute(
            "insert into parked_events (consumer, origin_topic, origin_partition, origin_offset,"
            " stream_id, event_type, schema_version, record_value, reason)"
            " values ($1, $2, $3, $4, $5, $6, $7, $8, $9) on conflict do nothing",
            self.name,
            r.topic,
            r.partition,
            r.offset,
            envelope.subject,
            envelope.type,
            envelope.schemaversion,
            r.value or envelope.to_bytes(),
            reason,
        )
        if status.endswith("1"):
            log.error(
                "event held until this consumer is upgraded",
                alert="event_held",
                consumer=self.name,
                event_type=envelope.type,
                schema_version=envelope.schemaversion,
                origin_topic=r.topic,
                origin_partition=r.partition,
                origin_offset=r.offset,
                reason=reason,
            )

    async def _claim(
        self, conn: asyncpg.Connection, items: Sequence[Delivered], result: BatchResult
    ) -> list[Delivered]:
        """The items this transaction claimed (first copy of each): an id already processed,
        or being applied by another member, is not claimed (the insert waits for the other
        transaction and then finds the id taken)."""
        if not items:
            return []
        return await self._claim_and_store(conn, items, {}, result)

    async def _claim_and_store(
        self,
        conn: asyncpg.Connection,
        items: Sequence[Delivered],
        moves: dict[Partition, tuple[int | None, int]],
        result: BatchResult,
    ) -> list[Delivered]:
        """`_claim`, and each partition's next offset compared and set (`moves`: key ->
        (stored, next)), in one statement. Another member that stored one of them first
        rolls the batch back (`PartitionMoved`) before anything is applied; the row locks
        taken keep any other member from storing them until this transaction ends."""
        ids = list(dict.fromkeys(i.envelope.id for i in items))
        if not ids and not moves:
            return []  # nothing to claim, no offset to move (a batch of duplicates)
        claimed_ids, stored = await _claim_and_set(conn, self.name, ids, moves)
        if stored != len(moves):
            raise PartitionMoved(f"{self.name}: another member stored one of {sorted(moves)} first")
        claimed = set(claimed_ids)
        fresh: list[Delivered] = []
        for item in items:
            if item.envelope.id not in claimed:
                result.duplicates += 1
                continue
            claimed.discard(item.envelope.id)
            fresh.append(item)
        return fresh

    def _moves(
        self, records: Sequence[Record], stored: dict[Partition, int]
    ) -> dict[Partition, tuple[int | None, int]]:
        """Each partition of the batch whose next offset moves: key -> (stored, next)."""
        nxt: dict[Partition, int] = {}
        for r in records:
            key = (r.topic, r.partition)
            nxt[key] = max(nxt.get(key, 0), r.offset + 1)
        moves: dict[Partition, tuple[int | None, int]] = {}
        for key, offset in nxt.items():
            before = stored.get(key)
            if before is None or offset > before:  # else nothing of it applied here
                moves[key] = (before, offset)
        return moves

    def _still_in_hand(self, records: Sequence[Record]) -> None:
        """Refuse to commit a batch holding a partition revoked while it was applied."""
        for key in dict.fromkeys((r.topic, r.partition) for r in records):
            if key in self._abandoned:
                raise PartitionMoved(f"{self.name}: {key} was revoked while in hand")

    async def _record_dead(self, conn: asyncpg.Connection, entry: _Entry) -> bool:
        """Record a dead letter once per consumer and origin; False when it already was."""
        r = entry.record
        status = await conn.execute(
            "insert into dead_letters (consumer, origin_topic, origin_partition, origin_offset,"
            " record_key, record_value, size_bytes, error)"
            " values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict do nothing",
            self.name,
            r.topic,
            r.partition,
            r.offset,
            r.key,
            r.value,
            len(r.value or b""),
            entry.error,
        )
        return status.endswith("1")

    async def redrive(self, record: Record) -> int:
        """Apply one dead-lettered record again; 1 when applied (or already was)."""
        return await _redrive(self, record)

    # -- held events -------------------------------------------------------------------

    async def release_parked(self) -> int:
        """Apply the parked events this code can now read, stream by stream, in order."""
        released = 0
        async with self._uow() as uow:
            rows = await uow.conn.fetch(
                "select seq, origin_topic, origin_partition, origin_offset, stream_id,"
                " record_value from parked_events where consumer = $1 order by seq",
                self.name,
            )
        stuck: set[str] = set()
        for row in rows:
            if row["stream_id"] in stuck:
                continue
            record = Record(
                row["origin_topic"],
                row["origin_partition"],
                row["origin_offset"],
                row["stream_id"].encode(),
                bytes(row["record_value"]),
            )
            entry = self._read(record)
            if entry.held is not None:
                stuck.add(row["stream_id"])
                continue
            await self._unpark(row["seq"], entry)
            released += 1
        if released:
            log.info("held events applied", consumer=self.name, released=released)
        return released

    async def _unpark(self, seq: int, entry: _Entry) -> None:
        async with self._uow() as uow:
            await uow.conn.execute("delete from parked_events where seq = $1", seq)
            result = BatchResult()
            items = [entry.item] if entry.item is not None else []
            fresh = await self._claim(uow.conn, items, result)
            if fresh:
                await self.handler.handle(uow, fresh)
            if entry.error is not None:
                await self._record_dead(uow.conn, entry)


def _add(total: BatchResult, part: BatchResult) -> None:
    total.applied += part.applied
    total.duplicates += part.duplicates
    total.ignored += part.ignored
    total.dead += part.dead
    total.held += part.held


def _log_dead_letter(letter: DeadLetter) -> None:
    """One line per dead letter: where it came from and why, never the record itself."""
    r = letter.record
    log.error(
        "message dead-lettered",
        alert="dead_letter",
        consumer=letter.consumer,
        origin_topic=r.topic,
        origin_partition=r.partition,
        origin_offset=r.offset,
        size_bytes=len(r.value or b""),
        error=scrubbed(letter.error.split(":", 1)[0][:120]),
    )


async def _claim_and_set(
    conn: asyncpg.Connection,
    consumer: str,
    event_ids: list[str],
    moves: dict[Partition, tuple[int | None, int]],
) -> tuple[list[str], int]:
    """One statement: claim `event_ids` (those not processed yet come back) and store each
    partition's next offset (`moves`: key -> (before, after)) where it still is `before`
    (None: unset); returns (ids claimed, partitions stored)."""
    row = await conn.fetchrow(
        "with want (t, p, b, a) as ("
        "  select * from unnest($2::text[], $3::int[], $4::bigint[], $5::bigint[])),"
        " moved as ("
        "  update consumer_offsets o set next_offset = w.a from want w"
        "  where o.consumer = $1 and o.topic = w.t and o.partition = w.p"
        "  and w.b is not null and o.next_offset = w.b returning 1),"
        " added as ("
        "  insert into consumer_offsets (consumer, topic, partition, next_offset)"
        "  select $1, t, p, a from want where b is null on conflict do nothing returning 1),"
        " claimed as ("
        "  insert into processed_events (consumer, event_id) select $1, unnest($6::text[])"
        "  on conflict do nothing returning event_id)"
        " select array(select event_id from claimed) as claimed,"
        " (select count(*) from moved) + (select count(*) from added) as stored",
        consumer,
        *_unnested(moves),
        event_ids,
    )
    return row["claimed"], row["stored"]


def _unnested(
    pairs: Mapping[Partition, tuple[int | None, int]],
) -> tuple[list[str], list[int], list[int | None], list[int]]:
    """A partition map of offset pairs as the four arrays a statement unnests: topics,
    partitions, first offsets, second offsets (in the map's order)."""
    keys = list(pairs)
    return (
        [k[0] for k in keys],
        [k[1] for k in keys],
        [pairs[k][0] for k in keys],
        [pairs[k][1] for k in keys],
    )


async def _forward_if_done(
    conn: asyncpg.Connection,
    consumer: str,
    event_ids: list[str],
    spans: dict[Partition, tuple[int, int]],
) -> bool:
    """One statement, on its own: if every one of `event_ids` is processed, move each
    partition's stored offset to the end of its span (`spans`: key -> (first, next))
    where it stands within the span. True when every partition then stands at or past
    its span's end; a partition stored before its span's start (or not at all) is left
    to the transactional way, and so is a batch with an event not processed yet."""
    row = await conn.fetchrow(
        "with want (t, p, a, b) as ("
        "  select * from unnest($2::text[], $3::int[], $4::bigint[], $5::bigint[])),"
        " done as ("
        "  select count(*) = cardinality($6::text[]) as all_done from processed_events"
        "  where consumer = $1 and event_id = any($6::text[])),"
        " moved as ("
        "  update consumer_offsets o set next_offset = w.b from want w, done"
        "  where done.all_done and o.consumer = $1 and o.topic = w.t and o.partition = w.p"
        "  and o.next_offset >= w.a and o.next_offset < w.b returning 1)"
        " select (select all_done from done) as all_done,"
        " (select count(*) from moved)"
        " + (select count(*) from consumer_offsets o join want w"
        "    on o.topic = w.t and o.partition = w.p"
        "    where o.consumer = $1 and o.next_offset >= w.b) as settled",
        consumer,
        *_unnested(spans),
        event_ids,
    )
    return bool(row["all_done"]) and row["settled"] == len(spans)


async def _positions_and_parked(
    conn: asyncpg.Connection, consumer: str, streams: set[str]
) -> tuple[dict[Partition, int], set[str]]:
    """The consumer's stored next offsets, and which of `streams` have an event parked,
    in one round trip."""
    rows = await conn.fetch(
        "select topic, partition, next_offset, null::text as stream_id from consumer_offsets"
        " where consumer = $1"
        " union all"
        " select distinct null::text, null::int, null::bigint, stream_id from parked_events"
        " where consumer = $1 and stream_id = any($2::text[])",
        consumer,
        list(streams),
    )
    stored = {
        (r["topic"], r["partition"]): r["next_offset"] for r in rows if r["topic"] is not None
    }
    return stored, {r["stream_id"] for r in rows if r["topic"] is None}


async def store_positions(
    conn: asyncpg.Connection | asyncpg.Pool, consumer: str, nxt: dict[tuple[str, int], int]
) -> None:
    """Move the stored next offsets forward (never back)."""
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


async def stored_offsets(
    pool: asyncpg.Pool | asyncpg.Connection, consumer: str
) -> dict[tuple[str, int], int]:
    rows = await pool.fetch(
        "select topic, partition, next_offset from consumer_offsets where consumer = $1", consumer
    )
    return {(r["topic"], r["partition"]): r["next_offset"] for r in rows}


# -- where a new consumer group starts ---------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
BEGINNING = "beginning"
NOW = "now"
StartPosition = str | datetime  # BEGINNING, NOW, or a timezone-aware time


def start_position(handler: Handler) -> StartPosition:
    """Where a consumer group that has never stored an offset starts.

    A handler may say so with a `start_from` attribute (`"beginning"`, `"now"` or a
    timezone-aware datetime). Otherwise projections (handlers with `tables`) rebuild
    from the beginning of the log and reactions start from now: a new reaction must not
    react to years of history.
    """
    declared = getattr(handler, "start_from", None)
    if declared is not None:
        if isinstance(declared, datetime) and declared.tzinfo is None:
            raise ValueError(f"{handler.name}: start_from must be timezone-aware")
        return declared
    return BEGINNING if hasattr(handler, "tables") else NOW


async def start_time(pool: asyncpg.Pool, consumer: str, position: StartPosition) -> datetime | None:
    """The time a consumer starts from (None: the beginning); "now" is fixed at first start."""
    if position == BEGINNING:
        return None
    if isinstance(position, datetime):
        return position
    # a consumer that stored offsets before start positions existed keeps reading from the
    # beginning of the partitions it has not reached yet: it is not new
    existing = await pool.fetchval(
        "select exists (select 1 from consumer_offsets where consumer = $1)", consumer
    )
    await pool.execute(
        "insert into consumer_starts (consumer, started_at) values ($1, $2)"
        " on conflict (consumer) do nothing",
        consumer,
        _EPOCH if existing else datetime.now(UTC),
    )
    return await pool.fetchval(
        "select started_at from consumer_starts where consumer = $1", consumer
    )


class KafkaOffsetsHint:
    """The offsets a consumer applied, committed to Kafka at most once every `every`
    seconds, for Kafka's own tools to show its lag.

    The stored offsets are in PostgreSQL with the effects (`SeekToStoredOffsets`), so
    Kafka's committed offsets are only a hint. Committed after every batch, they cost a
    round trip in the consumer's loop and a write to the broker's offsets log per batch:
    at a few events a second, a batch is one event. So the batches' next offsets are
    gathered and committed once `every` seconds after the first of them, in the
    background, for the partitions the consumer still has; a commit that fails is
    dropped, since the next one carries on.
    """

    def __init__(self, get_consumer: Callable[[], Any], every: float, timeout: float = 10.0):
        self._get_consumer = get_consumer
        self._every = every
        self._timeout = timeout  # aiokafka retries a refused commit for as long as it lasts
        self._pending: dict[TopicPartition, int] = {}
        self._sent: dict[TopicPartition, int] = {}  # never committed backwards
        self._task: asyncio.Task[None] | None = None
        self.commits = 0

    def applied(self, records: Sequence[Any]) -> None:
        """A batch applied: its partitions' next offsets are committed within `every`."""
        after: dict[tuple[str, int], int] = {}  # each partition's next offset in the batch
        for r in records:
            key = (r.topic, r.partition)
            after[key] = max(after.get(key, 0), r.offset + 1)
        for (topic, partition), offset in after.items():
            tp = TopicPartition(topic, partition)
            if offset > max(self._pending.get(tp, 0), self._sent.get(tp, 0)):
                self._pending[tp] = offset
        if self._pending and self.idle:
            self._task = asyncio.create_task(self._commit_later(), name="kafka-offsets-hint")

    async def _commit_later(self) -> None:
        await asyncio.sleep(self._every)
        pending, self._pending = self._pending, {}
        consumer = self._get_consumer()
        if consumer is None:
            return
        # a partition that moved to another member meanwhile is that member's to commit
        assigned = consumer.assignment()
        pending = {tp: offset for tp, offset in pending.items() if tp in assigned}
        if not pending:
            return
        try:
            async with asyncio.timeout(self._timeout):
                await consumer.commit(pending)
            self.commits += 1
            self._sent.update(pending)
        except Exception as exc:  # a hint: the next commit carries on
            log.debug("offsets hint not committed", error=type(exc).__name__)

    @property
    def idle(self) -> bool:
        """Nothing waits to be committed."""
        return self._task is None or self._task.done()

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()


class SeekToStoredOffsets(ConsumerRebalanceListener):
    """On assignment, continue from the offsets stored with the effects, not Kafka's.

    A partition without a stored offset starts at the handler's start position: the
    first offset at or after its start time (stored at once, so lag is measured from
    there), or the beginning.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        consumer_name: str,
        get_consumer: Callable[[], Any],
        starts_at: datetime | None = None,
        inbox: InboxConsumer | None = None,
    ):
        self._pool = pool
        self._name = consumer_name
        self._get_consumer = get_consumer
        self._starts_at = starts_at
        self._inbox = inbox

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        """The batch in hand on these partitions ends (or is abandoned) before they go."""
        if self._inbox is not None and revoked:
            partitions = {(tp.topic, tp.partition) for tp in revoked}
            await self._inbox.finish_or_abandon(partitions, REVOKE_WAIT_SECONDS)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        consumer = self._get_consumer()
        if consumer is None or not assigned:
            return
        if self._inbox is not None:
            self._inbox.reassigned({(tp.topic, tp.partition) for tp in assigned})
        stored = await stored_offsets(self._pool, self._name)
        fresh = [tp for tp in assigned if (tp.topic, tp.partition) not in stored]
        starts = await self._start_offsets(consumer, fresh)
        for tp in assigned:
            offset = stored.get((tp.topic, tp.partition), starts.get(tp))
            if offset is None:
                await consumer.seek_to_beginning(tp)
            else:
                consumer.seek(tp, offset)
        log.info("partitions assigned", consumer=self._name, partitions=len(assigned))

    async def _start_offsets(self, consumer: Any, fresh: list[TopicPartition]) -> dict[Any, int]:
        if not fresh or self._starts_at is None:
            return {}
        ms = int(self._starts_at.timestamp() * 1000)
        # the ends are read first: a record appended between the two look-ups has an
        # offset at or past them, so falling back to them can never skip it
        ends = await consumer.end_offsets(fresh)
        found = await consumer.offsets_for_times(dict.fromkeys(fresh, ms))
        starts = {tp: (found[tp].offset if found.get(tp) else ends[tp]) for tp in fresh}
        await store_positions(
            self._pool, self._name, {(tp.topic, tp.partition): o for tp, o in starts.items()}
        )
        return starts


# -- the dead-letter topic ---------------------------------------------------------------


def dead_letter_notice(row: Any, source: str, now: datetime) -> tuple[bytes | None, bytes]:
    """The small CloudEvent announcing one dead letter: origin, consumer, error, an excerpt.

    Its id is derived from consumer and origin, so a reader deduplicates republished
    notices; the record's full bytes stay in the consumer's `dead_letters` table.
    """
    import json

    value: bytes = bytes(row["record_value"] or b"")
    key = bytes(row["record_key"])[:256] if row["record_key"] is not None else None
    origin = {
        "topic": row["origin_topic"],
        "partition": row["origin_partition"],
        "offset": row["origin_offset"],
    }
    ident = f"{row['consumer']}/{origin['topic']}/{origin['partition']}/{origin['offset']}"
    body = {
        "specversion": "1.0",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, ident)),
        "source": source,
        "type": "repairline.platform.DeadLettered",
        "time": now.isoformat(),
        "subject": key.decode("utf-8", "replace")[:200] if key else "",
        "datacontenttype": "application/json",
        "data": {
            "origin": origin,
            "consumer": row["consumer"],
            "error": row["error"],
            "size_bytes": row["size_bytes"],
            "payload_text": _excerpt(value),
            "payload_truncated": len(value) > EXCERPT_BYTES,
        },
    }
    return key, json.dumps(body).encode()


def _excerpt(value: bytes) -> str:
    """The start of a dead-lettered record, its customer's phone, address and name
    blanked out (the full record stays in the consumer's `dead_letters` table)."""
    return scrubbed(value[:EXCERPT_BYTES].decode("utf-8", "replace"), personal_values(value))


async def wait_backoff(health: ConsumerHealth, exc: BaseException) -> None:
    await asyncio.sleep(health.failed(exc))


# -- redrive -----------------------------------------------------------------------------


class Redriver:
    """Applies the dead letters an operator asked to redrive, through the consumer that
    failed them (`repairline deadletters redrive`). Idempotent: an event already applied is
    a duplicate, a redriven letter is not redriven again, and one that still fails keeps
    its new error for the operator."""

    def __init__(self, pool: asyncpg.Pool, inboxes: Sequence[InboxConsumer], poll: float = 1.0):
        self._pool = pool
        self._inboxes = {i.name: i for i in inboxes}
        self._poll = poll
        self._stopping = False

    def stop(self) -> None:
        self._stopping = True

    async def run(self) -> None:
        while not self._stopping:
            await self.redrive_requested()
            await asyncio.sleep(self._poll)

    async def redrive_requested(self) -> int:
        rows = await self._pool.fetch(
            "select consumer, origin_topic, origin_partition, origin_offset, record_key,"
            " record_value from dead_letters where redrive_requested_at is not null"
            " and redriven_at is null and consumer = any($1::text[])"
            " order by origin_topic, origin_partition, origin_offset",
            list(self._inboxes),
        )
        done = 0
        for row in rows:
            record = Record(
                row["origin_topic"],
                row["origin_partition"],
                row["origin_offset"],
                row["record_key"],
                row["record_value"],
            )
            done += await self._inboxes[row["consumer"]].redrive(record)
        return done


async def _redrive_outcome(
    conn: asyncpg.Connection, consumer: str, record: Record, error: str | None
) -> None:
    await conn.execute(
        "update dead_letters set redrive_requested_at = null, redrive_error = $5,"
        " redriven_at = case when $5::text is null then now() else null end"
        " where consumer = $1 and origin_topic = $2 and origin_partition = $3"
        " and origin_offset = $4",
        consumer,
        record.topic,
        record.partition,
        record.offset,
        error,
    )


async def _redrive(inbox: InboxConsumer, record: Record) -> int:
    entry = inbox._read(record)
    error = entry.error or ("still newer than this consumer" if entry.held else None)
    if error is None and entry.item is not None:
        try:
            async with inbox._uow() as uow:
                fresh = await inbox._claim(uow.conn, [entry.item], BatchResult())
                if fresh:
                    await inbox.handler.handle(uow, fresh)
                await _redrive_outcome(uow.conn, inbox.name, record, None)
            log.info("dead letter redriven", consumer=inbox.name, origin_offset=record.offset)
            return 1
        except Exception as exc:
            if is_transient(exc):
                raise
            error = _short(f"handler failed: {type(exc).__name__}: {exc}")
    async with inbox._uow() as uow:
        await _redrive_outcome(uow.conn, inbox.name, record, error)
    log.warning("dead letter not redriven", consumer=inbox.name, origin_offset=record.offset)
    return 0
