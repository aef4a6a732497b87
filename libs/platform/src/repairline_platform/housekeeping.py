"""What the platform's tables may forget, and when: a policy no redelivery can get through.

- `processed_events` (the inbox's event ids) are kept `KEEP_PROCESSED` (7 days, wall
  time). A consumer seeks to the offsets stored with its effects, so a record before
  them is never read again; what can arrive again at a later offset is an event the
  relay published twice (it crashed between sending and marking the row sent), which
  happens within seconds of the first copy. Seven days is a wide margin for that.
- Fired `timers` are kept `KEEP_FIRED_TIMERS` (30 days of the service's clock), so a
  reaction replayed within that time cannot schedule an already fired timer again.
- `idempotency_keys` are kept 48 hours (see `repairline_platform.idempotency`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from repairline_platform import idempotency

KEEP_PROCESSED = timedelta(days=7)
KEEP_FIRED_TIMERS = timedelta(days=30)


@dataclass(frozen=True)
class Trimmed:
    processed_events: int
    fired_timers: int
    idempotency_keys: int


def _count(status: str) -> int:
    return int(status.split()[-1])


async def trim(pool: asyncpg.Pool, *, wall_now: datetime, service_now: datetime) -> Trimmed:
    """Forget what the policy above allows; returns how many rows of each."""
    processed = await pool.execute(
        "delete from processed_events where processed_at < $1", wall_now - KEEP_PROCESSED
    )
    timers = await pool.execute(
        "delete from timers where fired_at < $1", service_now - KEEP_FIRED_TIMERS
    )
    keys = await idempotency.trim(pool, wall_now)
    return Trimmed(_count(processed), _count(timers), keys)
