"""The platform's tables forget by a policy that no redelivery can get through."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from repairline_platform import db, housekeeping
from tests.support.system import PG, drop_database

WALL = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SERVICE = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)  # a simulated clock months ahead


async def test_trims_old_inbox_ids_fired_timers_and_keys_and_keeps_the_rest():
    database = f"t{uuid.uuid4().hex[:10]}_housekeeping"
    await db.ensure_database(PG, database)
    pool = await db.create_pool(f"{PG}/{database}", min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            await db.migrate(conn, [])
        await pool.executemany(
            "insert into processed_events (consumer, event_id, processed_at) values ($1, $2, $3)",
            [("c", "old", WALL - timedelta(days=8)), ("c", "recent", WALL - timedelta(days=6))],
        )
        await pool.executemany(
            "insert into timers (timer_id, kind, stream_id, due_at, payload, correlation_id,"
            " fired_at) values ($1, 'k', 's', $2, '{}', 'c', $3)",
            [
                ("fired-long-ago", SERVICE, SERVICE - timedelta(days=31)),
                ("fired-lately", SERVICE, SERVICE - timedelta(days=29)),
                ("not-fired", SERVICE - timedelta(days=90), None),
            ],
        )
        await pool.executemany(
            "insert into idempotency_keys (key, request_hash, created_at) values ($1, 'h', $2)",
            [("k-old", WALL - timedelta(hours=49)), ("k-new", WALL - timedelta(hours=47))],
        )
        trimmed = await housekeeping.trim(pool, wall_now=WALL, service_now=SERVICE)
        assert trimmed == housekeeping.Trimmed(1, 1, 1)
        assert {
            r["event_id"] for r in await pool.fetch("select event_id from processed_events")
        } == {"recent"}
        timers = {r["timer_id"] for r in await pool.fetch("select timer_id from timers")}
        assert timers == {"fired-lately", "not-fired"}
        keys = {r["key"] for r in await pool.fetch("select key from idempotency_keys")}
        assert keys == {"k-new"}
    finally:
        await pool.close()
        await drop_database(database)
