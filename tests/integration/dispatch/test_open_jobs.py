"""DSP-1 weighs each candidate's open jobs: the database counts them as the jobs open,
move and close (migration 007), so that a decision reads one row per candidate instead
of counting, for each of them, jobs that grow with the network's history. The same read
locks the candidates."""

from __future__ import annotations

from repairline_dispatch.migrations import MIGRATIONS
from repairline_dispatch.projections import _ASSIGNED, _CLOSE_JOB
from repairline_dispatch.store import PgStore
from repairline_platform import db
from repairline_platform.db import advisory_key
from tests.support.system import scratch_database

ENGINEERS = ("eng-a", "eng-b", "eng-c")


async def _counted(conn) -> dict[str, int]:
    rows = await conn.fetch("select engineer_id, open_jobs from engineer_open_jobs")
    return {r["engineer_id"]: r["open_jobs"] for r in rows if r["open_jobs"]}


async def _counted_by_hand(conn) -> dict[str, int]:
    rows = await conn.fetch(
        "select engineer_id, count(*) as n from engineer_jobs where open group by engineer_id"
    )
    return {r["engineer_id"]: r["n"] for r in rows}


async def other_can_lock(pool, engineers) -> bool:
    async with pool.acquire() as conn:
        keys = [advisory_key(f"engineer:{e}") for e in engineers]
        taken = [await conn.fetchval("select pg_try_advisory_lock($1)", k) for k in keys]
        await conn.execute("select pg_advisory_unlock_all()")
        return all(taken)


async def test_dsp_1_open_jobs_follow_assignments_moves_and_closures():
    async with scratch_database("open_jobs") as pool, pool.acquire() as conn:
        await db.migrate(conn, MIGRATIONS)
        for ticket, engineer in [("t1", "eng-a"), ("t2", "eng-a"), ("t3", "eng-b")]:
            await conn.execute(_ASSIGNED, ticket, engineer)
        assert await _counted(conn) == {"eng-a": 2, "eng-b": 1}
        await conn.execute(_ASSIGNED, "t2", "eng-c")  # released and given to another
        await conn.execute(_ASSIGNED, "t3", "eng-b")  # the same engineer again
        assert await _counted(conn) == {"eng-a": 1, "eng-b": 1, "eng-c": 1}
        await conn.execute(_CLOSE_JOB, "t1")
        await conn.execute(_CLOSE_JOB, "t1")  # a redelivered closure counts once
        await conn.execute(_ASSIGNED, "t1", "eng-b")  # a closed job reopened (a revisit)
        await conn.execute("delete from engineer_jobs where ticket_id = 't2'")
        assert await _counted(conn) == await _counted_by_hand(conn) == {"eng-b": 2}
        async with conn.transaction():  # a replay empties the jobs: the counts go too
            await conn.execute("truncate table engineer_jobs")
        assert await _counted(conn) == {}


async def test_dsp_1_the_store_weighs_the_counted_open_jobs():
    async with scratch_database("open_jobs_store") as pool, pool.acquire() as conn:
        await db.migrate(conn, MIGRATIONS)
        for engineer in ENGINEERS:
            await conn.execute(
                "insert into engineers (engineer_id, region, skills, updated_at)"
                " values ($1, 'cn-east', '{instant_water_heater}', now())",
                engineer,
            )
        for n in range(5):
            await conn.execute(_ASSIGNED, f"t{n}", ENGINEERS[n % 2])
        await conn.execute(_CLOSE_JOB, "t0")
        async with conn.transaction(), pool.acquire() as other:
            store = PgStore(conn, lambda region, skills: ())
            found = await store.engineers(
                "cn-east", "instant_water_heater", ticket_id="t-new", appointments=False
            )
            for engineer in ENGINEERS:  # the candidates stay locked until the decision commits
                key = advisory_key(f"engineer:{engineer}")
                assert not await other.fetchval("select pg_try_advisory_lock($1)", key)
            assert not await store.has_service_point("cn-east")
        assert await other_can_lock(pool, ENGINEERS)
        assert {e.engineer_id: e.open_jobs for e in found} == {
            "eng-a": 2,
            "eng-b": 2,
            "eng-c": 0,
        }


async def test_dsp_1_the_upgrade_counts_the_jobs_open_before_it():
    before = [m for m in MIGRATIONS if m.name < "007"]
    assert len(before) == len(MIGRATIONS) - 1  # 007 is the migration under test
    async with scratch_database("open_jobs_upgrade") as pool, pool.acquire() as conn:
        await db.migrate(conn, before)
        await conn.execute(
            "insert into engineer_jobs (ticket_id, engineer_id, open) values"
            " ('t1', 'eng-a', true), ('t2', 'eng-a', true), ('t3', 'eng-a', false),"
            " ('t4', 'eng-b', false)"
        )
        await db.migrate(conn, MIGRATIONS)
        assert await _counted(conn) == {"eng-a": 2}
        await conn.execute(_CLOSE_JOB, "t1")
        assert await _counted(conn) == await _counted_by_hand(conn) == {"eng-a": 1}
