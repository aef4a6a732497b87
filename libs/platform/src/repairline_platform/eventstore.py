"""Event store and unit of work.

A command loads the state it needs, decides, and appends events here in one
PostgreSQL transaction together with its other effects. The events table is also
the outbox: the relay publishes rows whose `published_at` is null, in order.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

import asyncpg

from repairline_contracts.base import Event
from repairline_contracts.envelope import Envelope, wrap
from repairline_platform import idempotency
from repairline_platform.auth import current_principal
from repairline_platform.clock import Clock
from repairline_platform.policy import Policy, current_policy, policy_of
from repairline_platform.tracing import current_traceparent
from repairline_rules.refusals import InvalidInput

T = TypeVar("T")


class ConcurrencyError(Exception):
    """Someone else appended to the stream first; reload and decide again."""


MAX_EVENT_BYTES = 512 * 1024  # one event's envelope; Kafka refuses messages past ~1 MB


class EventTooLarge(InvalidInput):
    """An event whose envelope passes MAX_EVENT_BYTES: refused at append (HTTP 422).

    Large payloads are split by design (several events, each a page) instead.
    """

    def __init__(self, event_type: str, size: int) -> None:
        super().__init__(
            "event",
            f"{event_type} would be {size} bytes; one event may be at most {MAX_EVENT_BYTES}",
        )
        self.event_type = event_type
        self.size = size


def check_size(envelope_json: str, event_type: str) -> None:
    """Refuse an event too large to publish, before it reaches the outbox."""
    size = len(envelope_json.encode())
    if size > MAX_EVENT_BYTES:
        raise EventTooLarge(event_type, size)


async def retry_on_concurrency(attempt: Callable[[], Awaitable[T]], *, attempts: int = 4) -> T:
    """Run a load-decide-append `attempt` again when another writer moved the stream first.

    A timer, a consumer or a second request may append to the same stream between our
    load and our append; the unique (stream, version) catches it and we decide afresh.
    Two decisions that lock overlapping sets (engineers, units) may deadlock: the one
    PostgreSQL chose to fail decides afresh too. After `attempts` tries the error
    propagates (an HTTP 409, or a 503 for a deadlock).
    """
    for remaining in range(attempts - 1, -1, -1):
        try:
            return await attempt()
        except (ConcurrencyError, asyncpg.DeadlockDetectedError):
            if remaining == 0:
                raise
    raise AssertionError("attempts must be at least 1")


@dataclass(frozen=True)
class Delivered:
    """An event as a consumer sees it, with where it came from."""

    envelope: Envelope
    event: Event
    topic: str = ""
    partition: int = -1
    offset: int = -1


class Handler(Protocol):
    """Consumes events from Kafka in batches, inside one transaction per batch."""

    name: str
    topics: tuple[str, ...]
    event_types: frozenset[str]

    async def handle(self, uow: UnitOfWork, items: Sequence[Delivered]) -> None: ...


class Projection(Handler, Protocol):
    """A handler whose tables are a pure fold of events: dropped and rebuilt by replay."""

    tables: tuple[str, ...]


@dataclass(frozen=True)
class Origin:
    """What the appended events are tagged with (the CloudEvents extensions)."""

    source: str
    region: str
    policy_pack: str
    policy_version: str


def envelopes_for(
    events: Sequence[Event],
    origin: Origin,
    *,
    now: datetime,
    after_version: int,
    region: str | None,
    correlation_id: str,
    causation_id: str,
) -> list[Envelope]:
    """The envelopes of events appended after `after_version` of a stream, numbered on.

    They carry the current span's `traceparent` (the request's, or the reaction's), so
    the trace goes on through the relay to the consumers, and the caller who appended
    them (the request's principal; `system` for reactions and timers) for the audit.
    """
    traceparent = current_traceparent()
    caller = current_principal()
    policy = current_policy()
    pack = policy.pack if policy else origin.policy_pack
    version = policy.version if policy else origin.policy_version
    roles = caller.acting_as or caller.roles
    return [
        wrap(
            event,
            event_id=str(uuid.uuid4()),
            source=origin.source,
            time=now,
            region=region or origin.region,
            policy_pack=pack,
            policy_version=version,
            correlation_id=correlation_id,
            causation_id=causation_id,
            stream_version=after_version + n,
            traceparent=traceparent,
            actor=caller.subject,
            actor_role=" ".join(sorted(roles)),
            on_behalf_of=caller.on_behalf_of,
        )
        for n, event in enumerate(events, start=1)
    ]


@dataclass
class UnitOfWork:
    conn: asyncpg.Connection
    clock: Clock
    origin: Origin
    topic_for: Callable[[str], str]
    inline: Sequence[Projection] = ()
    consumer_of: Callable[[Handler], str] = lambda handler: handler.name
    """The consumer name a projection's processed marks go under (the service's own)."""
    appended: list[Envelope] = field(default_factory=list)
    claim: idempotency.Claim | None = None
    policies: dict[str, Policy | None] = field(default_factory=dict)

    def now(self) -> datetime:
        return self.clock.now()

    async def stream_version(self, stream_id: str) -> int:
        version = await self.conn.fetchval(
            "select max(stream_version) from events where stream_id = $1", stream_id
        )
        return version or 0

    async def load_stream(self, stream_id: str) -> list[Event]:
        rows = await self.conn.fetch(
            "select envelope from events where stream_id = $1 order by stream_version",
            stream_id,
        )
        envelopes = [Envelope.model_validate_json(r["envelope"]) for r in rows]
        if envelopes:
            first = envelopes[0]
            self.policies[stream_id] = policy_of(first.policypack, first.policyversion)
        return [env.event() for env in envelopes]

    async def load_streams(self, stream_ids: Sequence[str]) -> dict[str, list[Event]]:
        """Several streams in one query (each as `load_stream` gives it, an unknown one
        empty): a decision over a region's open tickets reads them all at once, not one
        round trip per ticket."""
        rows = await self.conn.fetch(
            "select stream_id, envelope from events where stream_id = any($1::text[])"
            " order by stream_id, stream_version",
            list(stream_ids),
        )
        envelopes: dict[str, list[Envelope]] = {s: [] for s in stream_ids}
        for r in rows:
            envelopes[r["stream_id"]].append(Envelope.model_validate_json(r["envelope"]))
        for stream_id, found in envelopes.items():
            if found:
                self.policies[stream_id] = policy_of(found[0].policypack, found[0].policyversion)
        return {s: [env.event() for env in found] for s, found in envelopes.items()}

    def stream_policy(self, stream_id: str) -> Policy | None:
        """The pack and version on the first event of a stream loaded in this unit."""
        return self.policies.get(stream_id)

    async def append(
        self,
        stream_id: str,
        events: Sequence[Event],
        *,
        expected_version: int | None = None,
        correlation_id: str,
        causation_id: str,
        region: str | None = None,
    ) -> list[Envelope]:
        """Append events to a stream; a concurrent writer raises ConcurrencyError."""
        if not events:
            return []
        if self.claim is None and (claim := idempotency.current()) is not None:
            await idempotency.claim_in(self.conn, claim, stream_id)  # commits with these events
            self.claim = claim
        version = (
            expected_version
            if expected_version is not None
            else await self.stream_version(stream_id)
        )
        now = self.clock.now()
        envelopes = envelopes_for(
            events,
            self.origin,
            now=now,
            after_version=version,
            region=region,
            correlation_id=correlation_id,
            causation_id=causation_id,
        )
        dumped = [env.model_dump_json() for env in envelopes]
        for env, text in zip(envelopes, dumped, strict=True):
            check_size(text, env.type)
        rows = [
            (
                env.id,
                stream_id,
                env.streamversion,
                env.type,
                env.schemaversion,
                self.topic_for(type(ev).topic),
                text,
                now,
                env.traceparent,
            )
            for env, ev, text in zip(envelopes, events, dumped, strict=True)
        ]
        items = [Delivered(env, ev) for env, ev in zip(envelopes, events, strict=True)]
        applied: list[tuple[Any, list[Delivered]]] = []  # each inline projection's events
        for projection in self.inline:
            mine = [i for i in items if i.envelope.type in projection.event_types]
            if mine:
                applied.append((projection, mine))
        # (consumer, event id) of every projection applied below: recorded with the events
        done = [(self.consumer_of(p), i.envelope.id) for p, mine in applied for i in mine]
        try:
            # one statement, atomic by itself: a unique violation aborts the enclosing
            # transaction, which every caller ends on a ConcurrencyError (the command
            # path decides afresh in a new unit, a timer in its own savepoint)
            await self.conn.execute(
                _APPEND,
                *(list(column) for column in zip(*rows, strict=True)),
                [consumer for consumer, _ in done],
                [event_id for _, event_id in done],
            )
        except asyncpg.UniqueViolationError as exc:
            raise ConcurrencyError(f"stream {stream_id} moved past version {version}") from exc
        for projection, mine in applied:
            await projection.handle(self, mine)
        self.appended.extend(envelopes)
        return envelopes

    async def schedule(
        self,
        timer_id: str,
        *,
        kind: str,
        stream_id: str,
        due_at: datetime,
        payload: dict[str, Any],
        correlation_id: str,
    ) -> bool:
        """Durable timer: fires once at `due_at` (on the service clock), survives restarts."""
        if due_at.tzinfo is None:
            raise ValueError("due_at must be timezone-aware")
        policy = current_policy()
        status = await self.conn.execute(
            "insert into timers (timer_id, kind, stream_id, due_at, payload, correlation_id,"
            " policy_pack, policy_version)"
            " values ($1, $2, $3, $4, $5::jsonb, $6, $7, $8) on conflict (timer_id) do nothing",
            timer_id,
            kind,
            stream_id,
            due_at,
            _json(payload),
            correlation_id,
            policy.pack if policy else None,
            policy.version if policy else None,
        )
        return status.endswith("1")


def _marks(first: int) -> str:
    """Record (consumer, event id) pairs as processed, from two arrays of parameters
    starting at `first`."""
    return (
        "insert into processed_events (consumer, event_id)"
        f" select * from unnest(${first}::text[], ${first + 1}::text[]) on conflict do nothing"
    )


# the events of an append, and the inline projections' marks that they applied them (one
# round trip: the projections write in the same transaction, before it commits)
_APPEND = (
    "with appended as ("
    " insert into events (event_id, stream_id, stream_version, event_type, schema_version,"
    " topic, envelope, recorded_at, traceparent)"
    " select * from unnest($1::text[], $2::text[], $3::integer[], $4::text[], $5::integer[],"
    f" $6::text[], $7::text[], $8::timestamptz[], $9::text[])) {_marks(10)}"
)


async def mark_processed(conn: asyncpg.Connection, consumer: str, event_ids: Sequence[str]) -> None:
    """Record one consumer's `event_ids` as processed (as an append does for the
    projections it applies inline)."""
    await conn.execute(_marks(1), [consumer] * len(event_ids), list(event_ids))


def _json(value: Any) -> str:
    import json

    return json.dumps(value, default=str)


UowFactory = Callable[[], Awaitable[Any]]
