"""An in-memory event store and unit of work: a hand-written fake for command unit tests.

It keeps the contract the command path relies on (streams, versions, a concurrent
writer caught by the expected version, durable timers, all-or-nothing units) so a
command runs in microseconds without Kafka or PostgreSQL. Integration tests use the
real ones.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from repairline_contracts.base import Event
from repairline_contracts.envelope import Envelope
from repairline_platform.clock import Clock
from repairline_platform.eventstore import ConcurrencyError, Origin, envelopes_for
from repairline_platform.policy import Policy, current_policy, policy_of


@dataclass
class ScheduledTimer:
    timer_id: str
    kind: str
    stream_id: str
    due_at: datetime
    payload: dict[str, Any]
    correlation_id: str
    policy: Policy | None = None  # the pack it was scheduled under, bound when it fires


@dataclass
class InMemoryEventStore:
    """Streams of envelopes and timers, committed only when a unit of work succeeds."""

    clock: Clock
    origin: Origin = field(
        default_factory=lambda: Origin(
            source="/memory", region="cn-east", policy_pack="test", policy_version="1"
        )
    )
    streams: dict[str, list[Envelope]] = field(default_factory=dict)
    timers: dict[str, ScheduledTimer] = field(default_factory=dict)

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[InMemoryUnitOfWork]:
        uow = InMemoryUnitOfWork(self)
        yield uow
        uow.commit()

    def events(self, stream_id: str) -> list[Event]:
        return [env.event() for env in self.streams.get(stream_id, [])]

    def envelopes(self) -> list[Envelope]:
        return [env for stream in self.streams.values() for env in stream]


class InMemoryUnitOfWork:
    """Reads see committed streams plus this unit's own appends; nothing leaks on error."""

    def __init__(self, store: InMemoryEventStore) -> None:
        self.store = store
        self.clock = store.clock
        self.origin = store.origin
        self.appended: list[Envelope] = []
        self._pending: dict[str, list[Envelope]] = {}
        self._timers: dict[str, ScheduledTimer] = {}

    def now(self) -> datetime:
        return self.clock.now()

    def _stream(self, stream_id: str) -> list[Envelope]:
        return self.store.streams.get(stream_id, []) + self._pending.get(stream_id, [])

    async def stream_version(self, stream_id: str) -> int:
        return len(self._stream(stream_id))

    async def load_stream(self, stream_id: str) -> list[Event]:
        return [env.event() for env in self._stream(stream_id)]

    async def load_streams(self, stream_ids: Sequence[str]) -> dict[str, list[Event]]:
        return {s: await self.load_stream(s) for s in stream_ids}

    def stream_policy(self, stream_id: str) -> Policy | None:
        """The pack and version on the stream's first event, as PostgreSQL's unit answers."""
        stream = self._stream(stream_id)
        return policy_of(stream[0].policypack, stream[0].policyversion) if stream else None

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
        if not events:
            return []
        version = len(self._stream(stream_id))
        if expected_version is not None and expected_version != version:
            raise ConcurrencyError(f"stream {stream_id} moved past version {expected_version}")
        envelopes = envelopes_for(
            events,
            self.origin,
            now=self.clock.now(),
            after_version=version,
            region=region,
            correlation_id=correlation_id,
            causation_id=causation_id,
        )
        self._pending.setdefault(stream_id, []).extend(envelopes)
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
        if due_at.tzinfo is None:
            raise ValueError("due_at must be timezone-aware")
        if timer_id in self.store.timers or timer_id in self._timers:
            return False
        self._timers[timer_id] = ScheduledTimer(
            timer_id, kind, stream_id, due_at, dict(payload), correlation_id, current_policy()
        )
        return True

    def commit(self) -> None:
        for stream_id, envelopes in self._pending.items():
            self.store.streams.setdefault(stream_id, []).extend(envelopes)
        self.store.timers.update(self._timers)
        self._pending, self._timers = {}, {}
