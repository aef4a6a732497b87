"""Durable timers: rows in the owning service's database, fired by a poller.

A timer fires when the service clock passes its due time (simulated or real), in
the same transaction as the events its handler appends, so it fires exactly once
and survives restarts.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from repairline_platform.clock import Clock
from repairline_platform.db import is_transient
from repairline_platform.eventstore import UnitOfWork
from repairline_platform.logging import get_logger
from repairline_platform.policy import Policy, deciding_with, policy_of

log = get_logger(__name__)


@dataclass(frozen=True)
class Timer:
    timer_id: str
    kind: str
    stream_id: str
    due_at: datetime
    payload: dict[str, Any]
    correlation_id: str
    policy: Policy | None = None


TimerHandler = Callable[[UnitOfWork, Timer], Awaitable[None]]


class TimerPoller:
    """Fires due timers, each in a savepoint of its own.

    A handler that raises rolls back only its own timer's effects; the failure is
    counted on the timer row and the timer is tried again at the next poll, until after
    `max_attempts` it is parked (with its last error and an alert) and no longer fired.
    Every other due timer keeps firing.
    """

    def __init__(
        self,
        unit_of_work: Callable[[], AbstractAsyncContextManager[UnitOfWork]],
        clock: Clock,
        handlers: Mapping[str, TimerHandler],
        *,
        poll_seconds: float = 0.2,
        batch: int = 100,
        max_attempts: int = 5,
    ) -> None:
        self._uow = unit_of_work
        self._clock = clock
        self._handlers = handlers
        self._poll = poll_seconds
        self._batch = batch
        self._max_attempts = max_attempts
        self._stopping = False
        self.fired = 0
        self.failed = 0
        self.parked = 0
        self.polls = 0
        self.poll_failures = 0  # in a row

    @property
    def kinds(self) -> tuple[str, ...]:
        """The timer kinds this poller fires."""
        return tuple(self._handlers)

    def stop(self) -> None:
        self._stopping = True

    async def run(self) -> None:
        while not self._stopping:
            try:
                fired = await self.fire_due()
                self.poll_failures = 0
            except Exception as exc:
                self.poll_failures += 1
                log.warning("timer poll failed; retrying", error=type(exc).__name__)
                await asyncio.sleep(min(self._poll * 2**self.poll_failures, 10.0))
                continue
            self.polls += 1
            if fired < self._batch:
                await asyncio.sleep(self._poll)

    async def fire_due(self) -> int:
        """Fire every timer due now; returns how many were tried."""
        async with self._uow() as uow:
            rows = await uow.conn.fetch(
                "select timer_id, kind, stream_id, due_at, payload, correlation_id, attempts,"
                " policy_pack, policy_version"
                " from timers where fired_at is null and parked_at is null and due_at <= $1"
                " and kind = any($2::text[])"
                " order by due_at limit $3 for update skip locked",
                self._clock.now(),
                list(self._handlers),
                self._batch,
            )
            fired = []
            for row in rows:
                if await self._fire_one(uow, row):
                    fired.append(row["timer_id"])
            if fired:
                await uow.conn.execute(
                    "update timers set fired_at = $1 where timer_id = any($2::text[])",
                    self._clock.now(),
                    fired,
                )
        self.fired += len(fired)
        return len(rows)

    async def _fire_one(self, uow: UnitOfWork, row: Any) -> bool:
        timer = Timer(
            timer_id=row["timer_id"],
            kind=row["kind"],
            stream_id=row["stream_id"],
            due_at=row["due_at"],
            payload=json.loads(row["payload"]),
            correlation_id=row["correlation_id"],
            policy=policy_of(row["policy_pack"], row["policy_version"]),
        )
        appended = len(uow.appended)
        try:
            async with uow.conn.transaction():  # a savepoint: this timer's effects only
                with deciding_with(timer.policy):  # the pack it was scheduled under
                    await self._handlers[timer.kind](uow, timer)
            return True
        except Exception as exc:
            del uow.appended[appended:]
            if is_transient(exc):
                log.warning("timer interrupted; it will be tried again", kind=timer.kind)
                return False
            await self._count_failure(uow, timer, row["attempts"] + 1, exc)
            return False

    async def _count_failure(
        self, uow: UnitOfWork, timer: Timer, attempts: int, exc: Exception
    ) -> None:
        self.failed += 1
        parked = attempts >= self._max_attempts
        error = f"{type(exc).__name__}: {exc}"[:1000]
        await uow.conn.execute(
            "update timers set attempts = $2, last_error = $3,"
            " parked_at = case when $4::boolean then $5::timestamptz end where timer_id = $1",
            timer.timer_id,
            attempts,
            error,
            parked,
            self._clock.now(),
        )
        if parked:
            self.parked += 1
            log.error(
                "timer parked after failing every attempt",
                alert="timer_parked",
                timer_id=timer.timer_id,
                kind=timer.kind,
                attempts=attempts,
                error=type(exc).__name__,
            )
        else:
            log.warning(
                "timer failed; it will be tried again",
                timer_id=timer.timer_id,
                kind=timer.kind,
                attempts=attempts,
                error=type(exc).__name__,
            )
