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
from repairline_platform.eventstore import UnitOfWork
from repairline_platform.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class Timer:
    timer_id: str
    kind: str
    stream_id: str
    due_at: datetime
    payload: dict[str, Any]
    correlation_id: str


TimerHandler = Callable[[UnitOfWork, Timer], Awaitable[None]]


class TimerPoller:
    def __init__(
        self,
        unit_of_work: Callable[[], AbstractAsyncContextManager[UnitOfWork]],
        clock: Clock,
        handlers: Mapping[str, TimerHandler],
        *,
        poll_seconds: float = 0.2,
        batch: int = 100,
    ) -> None:
        self._uow = unit_of_work
        self._clock = clock
        self._handlers = handlers
        self._poll = poll_seconds
        self._batch = batch
        self._stopping = False
        self.fired = 0

    def stop(self) -> None:
        self._stopping = True

    async def run(self) -> None:
        while not self._stopping:
            try:
                fired = await self.fire_due()
            except Exception:
                log.exception("timer poll failed; retrying")
                fired = 0
            if fired < self._batch:
                await asyncio.sleep(self._poll)

    async def fire_due(self) -> int:
        """Fire every timer due now; returns how many fired."""
        async with self._uow() as uow:
            rows = await uow.conn.fetch(
                "select timer_id, kind, stream_id, due_at, payload, correlation_id from timers"
                " where fired_at is null and due_at <= $1 and kind = any($2::text[])"
                " order by due_at limit $3 for update skip locked",
                self._clock.now(),
                list(self._handlers),
                self._batch,
            )
            for row in rows:
                timer = Timer(
                    timer_id=row["timer_id"],
                    kind=row["kind"],
                    stream_id=row["stream_id"],
                    due_at=row["due_at"],
                    payload=json.loads(row["payload"]),
                    correlation_id=row["correlation_id"],
                )
                await self._handlers[timer.kind](uow, timer)
            if rows:
                await uow.conn.execute(
                    "update timers set fired_at = $1 where timer_id = any($2::text[])",
                    self._clock.now(),
                    [r["timer_id"] for r in rows],
                )
        self.fired += len(rows)
        return len(rows)
