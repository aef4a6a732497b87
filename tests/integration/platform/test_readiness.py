"""Readiness tells the truth: a stalled consumer loop or a dead relay makes the service unready."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from repairline_contracts.topics import INTAKE_EVENTS
from repairline_platform import health
from repairline_platform.runtime import Runtime
from tests.integration.platform.dispatch import (
    add_engineer,
    assignments,
    database_of,
    dispatch_runtime,
)
from tests.support.factories import repair_requested
from tests.support.system import PG, drop_database, envelope_bytes, eventually, produce


@pytest.fixture
async def dispatch(prefix: str) -> AsyncIterator[Runtime]:
    rt = dispatch_runtime(prefix)
    await rt.start()
    await add_engineer(rt)
    try:
        yield rt
    finally:
        if rt.ready:
            await rt.stop()
        await drop_database(database_of(prefix))


async def ready(rt: Runtime) -> bool:
    ok, _ = await health.readiness(rt)
    return ok


async def not_ready(rt: Runtime) -> dict | None:
    ok, checks = await health.readiness(rt)
    return None if ok else checks


async def test_a_consumer_failing_on_a_locked_table_makes_the_service_unready_until_it_heals(
    dispatch: Runtime, prefix: str, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(health, "STALLED_SECONDS", 1.0)
    await eventually(lambda: ready(dispatch))
    _, checks = await health.readiness(dispatch)
    assert {"oldest_unpublished_seconds", "oldest_due_timer_seconds", "held_events"} <= set(checks)
    assert checks["consumers"]["dispatch.assignment"]["ok"]

    blocker = await asyncpg.connect(f"{PG}/{database_of(prefix)}")
    try:
        locked = blocker.transaction()
        await locked.start()
        await blocker.execute("lock table engineer_jobs in access exclusive mode")
        request = repair_requested()
        await produce(
            prefix + INTAKE_EVENTS, [(request.ticket_id.encode(), envelope_bytes(request))]
        )
        # the statement waits for the lock, times out, the batch is retried: a transient stall
        checks = await eventually(lambda: not_ready(dispatch), timeout=60)
        stalled = checks["consumers"]["dispatch.assignment"]
        assert not stalled["ok"] and stalled["last_error"] == "LockNotAvailableError"
        await locked.rollback()
    finally:
        await blocker.close()

    await eventually(lambda: _equals(assignments(dispatch, request.ticket_id), 1))
    await eventually(lambda: ready(dispatch))
    assert await dispatch.pool.fetchval("select count(*) from dead_letters") == 0


async def test_a_relay_that_is_not_running_makes_the_service_unready(dispatch: Runtime):
    await eventually(lambda: ready(dispatch))
    assert dispatch.relay is not None
    dispatch.relay.stop()

    checks = await eventually(lambda: not_ready(dispatch))
    assert checks["tasks"]["relay"] is False
    assert health.liveness(dispatch) == (False, ["relay"])  # the orchestrator restarts it


async def _equals(awaitable, expected) -> bool:
    return (await awaitable) == expected
