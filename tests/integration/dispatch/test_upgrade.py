"""WAR-4: dispatch's copy upgraded in place. Migration 006 starts keeping what caused each
warranty decision; the inspections recorded before it are taken as decided, so no visit
under way at the upgrade is held back waiting for a cause that was never kept."""

from __future__ import annotations

from datetime import UTC, datetime

from repairline_dispatch.domain.visit import Inspection
from repairline_dispatch.migrations import MIGRATIONS
from repairline_dispatch.store import job_of
from repairline_platform import db
from tests.support.system import scratch_database


async def test_war_4_the_inspections_before_the_upgrade_are_taken_as_decided():
    before = [m for m in MIGRATIONS if m.name < "006"]
    upgrade = [m for m in MIGRATIONS if m.name.startswith("006")]
    assert len(upgrade) == 1  # 006 is the migration under test
    async with scratch_database("upgrade") as pool, pool.acquire() as conn:
        await db.migrate(conn, before)
        await conn.execute(
            "insert into dispatch_tickets (ticket_id, holds, closed) values"
            " ('t-inspected', '{}', false), ('t-not', '{}', false)"
        )
        for version, (event_id, kind) in enumerate(
            [
                ("ev-assigned", "repairline.dispatch.EngineerAssigned"),
                ("ev-inspection", "repairline.dispatch.InspectionRecorded"),
            ],
            1,
        ):
            await conn.execute(
                "insert into events (event_id, stream_id, stream_version, event_type,"
                " schema_version, topic, envelope, recorded_at)"
                " values ($1, 't-inspected', $2, $3, 1, 'dispatch', '{}', now())",
                event_id,
                version,
                kind,
            )
        await db.migrate(conn, [*before, *upgrade])
        rows = await conn.fetch("select * from dispatch_tickets order by ticket_id")
    jobs = {r["ticket_id"]: job_of(r) for r in rows}
    assert jobs["t-inspected"].decided_causes == ("ev-inspection",)
    inspection = Inspection("ev-inspection", datetime.now(UTC))
    assert not jobs["t-inspected"].inspection_pending(inspection, datetime.now(UTC))
    assert jobs["t-not"].decided_causes == ()
