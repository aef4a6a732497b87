"""Supervised background tasks and a readiness that tells the truth.

Readiness is false when the database does not answer, when a background task (relay,
timers) is dead or failing, when a consumer loop has failed for longer than
`STALLED_SECONDS`, or when the outbox or the due timers fall behind by more than
`LAG_SECONDS` of service time. Its answer lists every check with its figures (oldest
unpublished event, oldest due timer, consumer lag per partition, held events, dead
letters, parked timers, quarantined outbox rows), so an operator sees why.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from repairline_platform.logging import get_logger

if TYPE_CHECKING:
    from repairline_platform.runtime import Runtime

log = get_logger(__name__)

STALLED_SECONDS = 30.0
LAG_SECONDS = 60.0
TASK_FAILURES = 3  # a relay or timer loop failing this many times in a row is not ready


def supervise(
    name: str, run: Callable[[], Awaitable[None]], wanted: Callable[[], bool]
) -> asyncio.Task[None]:
    """Run `run` as a task, restarted with backoff whenever it ends by an error.

    It ends for good when `run` returns (the component was stopped) or when the service
    no longer wants it (`wanted()` false after a failure).
    """

    async def loop() -> None:
        failures = 0
        while True:
            try:
                await run()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                log.error(
                    "background task failed; restarting",
                    alert="task_restarted",
                    task=name,
                    error=type(exc).__name__,
                    failures=failures,
                )
                if not wanted():
                    return
                await asyncio.sleep(min(0.5 * 2**failures, 30.0))

    return asyncio.create_task(loop(), name=name)


def liveness(rt: Runtime) -> tuple[bool, list[str]]:
    """Alive unless a background task of a started service has ended for good (restart me)."""
    dead = [t.get_name() for t in rt._tasks if t.done()] if rt.ready else []
    return not dead, dead


async def readiness(rt: Runtime) -> tuple[bool, dict[str, Any]]:
    """Whether the service is ready, and the figures that say why."""
    checks: dict[str, Any] = {"started": rt.ready}
    if not rt.ready:
        return False, checks
    try:
        async with asyncio.timeout(3.0):
            checks.update(await _database_figures(rt))
    except Exception as exc:
        checks["database"] = f"unavailable: {type(exc).__name__}"
        return False, checks
    checks["tasks"] = {t.get_name(): not t.done() for t in rt._tasks}
    checks["relay"] = _relay(rt)
    checks["timers"] = _timers(rt)
    checks["consumers"] = await _consumers(rt)
    ok = (
        all(checks["tasks"].values())
        and checks["relay"]["ok"]
        and checks["timers"]["ok"]
        and all(c["ok"] for c in checks["consumers"].values())
        and checks["oldest_unpublished_seconds"] <= LAG_SECONDS
        and checks["oldest_due_timer_seconds"] <= LAG_SECONDS
    )
    return ok, checks


async def _database_figures(rt: Runtime) -> dict[str, Any]:
    now = rt.clock.now()
    row = await rt.pool.fetchrow(
        "select"
        " (select min(recorded_at) from events"
        "   where published_at is null and quarantined_at is null) as oldest_unpublished,"
        " (select count(*) from events"
        "   where quarantined_at is not null and published_at is null) as quarantined,"
        " (select min(due_at) from timers where fired_at is null and parked_at is null"
        "   and kind = any($1::text[])) as oldest_timer,"
        " (select count(*) from timers where parked_at is not null and fired_at is null)"
        "   as parked_timers,"
        " (select count(*) from parked_events) as held_events,"
        " (select count(*) from dead_letters) as dead_letters",
        list(rt.timers.kinds) if rt.timers is not None else [],
    )

    def age(at: Any) -> float:
        return max((now - at).total_seconds(), 0.0) if at is not None else 0.0

    return {
        "database": "ok",
        "oldest_unpublished_seconds": age(row["oldest_unpublished"]),
        "oldest_due_timer_seconds": age(row["oldest_timer"]),
        "quarantined_outbox_events": row["quarantined"],
        "parked_timers": row["parked_timers"],
        "held_events": row["held_events"],
        "dead_letters": row["dead_letters"],
    }


def _relay(rt: Runtime) -> dict[str, Any]:
    relay = rt.relay
    if relay is None:
        return {"ok": False}
    return {
        "ok": relay.failures < TASK_FAILURES,
        "holds_lock": relay.holding,
        "published": relay.published,
        "failures": relay.failures,
    }


def _timers(rt: Runtime) -> dict[str, Any]:
    timers = rt.timers
    if timers is None:
        return {"ok": True}
    return {
        "ok": timers.poll_failures < TASK_FAILURES,
        "fired": timers.fired,
        "failed": timers.failed,
        "parked": timers.parked,
    }


async def _consumers(rt: Runtime) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for inbox in rt.inboxes:
        health = inbox.health
        out[inbox.name] = {
            "ok": health.failing_for() <= STALLED_SECONDS,
            "failing_seconds": round(health.failing_for(), 1),
            "last_error": health.last_error,
            "lag": await _lag(rt, inbox),
        }
    return out


async def _lag(rt: Runtime, inbox: Any) -> int | None:
    """Records behind the partitions' high watermarks, as last fetched by the consumer;
    None until it has fetched from every partition assigned to it."""
    consumer = inbox.kafka_consumer() if inbox.kafka_consumer else None
    if consumer is None:
        return None
    stored = {
        (r["topic"], r["partition"]): r["next_offset"]
        for r in await rt.pool.fetch(
            "select topic, partition, next_offset from consumer_offsets where consumer = $1",
            inbox.name,
        )
    }
    return lag_behind(
        {(tp.topic, tp.partition): consumer.highwater(tp) for tp in consumer.assignment()}, stored
    )


def lag_behind(
    highwaters: Mapping[tuple[str, int], int | None], stored: Mapping[tuple[str, int], int]
) -> int | None:
    """Records between each partition's stored offset and its high watermark, summed;
    None while a partition's high watermark is unknown (no fetch from it has returned
    yet: a bulk-fetching consumer waits up to `REPAIRLINE_SETTLE_WAIT_MS`), which is not
    the same as caught up."""
    if any(high is None for high in highwaters.values()):
        return None
    return sum(max(high - stored.get(tp, 0), 0) for tp, high in highwaters.items())  # type: ignore[operator]
