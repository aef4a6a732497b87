"""One failing timer never blocks the others: savepoint per timer, attempts counted, parked."""

from __future__ import annotations

from datetime import timedelta

from repairline_platform.eventstore import UnitOfWork
from repairline_platform.timers import Timer, TimerPoller
from tests.integration.platform.conftest import Platform, new_id, started_at


async def fire(uow: UnitOfWork, timer: Timer) -> None:
    await uow.conn.execute("insert into applied values ($1)", timer.timer_id)


async def explode(uow: UnitOfWork, timer: Timer) -> None:
    await uow.conn.execute("insert into applied values ($1)", timer.timer_id)  # rolled back
    raise RuntimeError("penalty rule table missing")


async def schedule(platform: Platform, kind: str, due_minutes: int) -> str:
    timer_id = new_id()
    async with platform.unit_of_work() as uow:
        await uow.schedule(
            timer_id,
            kind=kind,
            stream_id=new_id(),
            due_at=started_at() + timedelta(minutes=due_minutes),
            payload={},
            correlation_id="c",
        )
    return timer_id


async def test_a_timer_failing_every_time_is_parked_and_every_other_timer_fires(
    platform: Platform,
):
    broken = await schedule(platform, "broken", 1)  # due first: it used to block the rest
    good = [await schedule(platform, "callback-due", m) for m in (2, 3, 4)]
    platform.clock.advance(timedelta(hours=1))
    poller = TimerPoller(
        platform.unit_of_work,
        platform.clock,
        {"broken": explode, "callback-due": fire},
        max_attempts=3,
    )

    await poller.fire_due()
    assert sorted(await platform.applied()) == sorted(good)
    later = await schedule(platform, "callback-due", 30)
    await poller.fire_due()
    await poller.fire_due()
    await poller.fire_due()  # parked now: not tried a fourth time

    assert sorted(await platform.applied()) == sorted([*good, later])
    row = await platform.pool.fetchrow(
        "select attempts, last_error, parked_at, fired_at from timers where timer_id = $1", broken
    )
    assert row["attempts"] == 3
    assert "penalty rule table missing" in row["last_error"]
    assert row["parked_at"] is not None and row["fired_at"] is None
    assert poller.parked == 1 and poller.fired == 4
