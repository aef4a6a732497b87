"""A decision that lost a deadlock (two units locking overlapping engineers or units) is
decided afresh in a new unit, like one that lost a race to append."""

from __future__ import annotations

import asyncpg

from repairline_platform.eventstore import retry_on_concurrency


async def test_a_deadlocked_attempt_is_tried_again() -> None:
    calls: list[int] = []

    async def attempt() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise asyncpg.DeadlockDetectedError("deadlock detected")
        return "decided"

    assert await retry_on_concurrency(attempt) == "decided"
    assert len(calls) == 2
