"""WAR-4: a copy upgraded in place. Billing's copy of the tickets started keeping what
caused each warranty decision and the engineer's inspections with migration 013; a
decision recorded before has no known cause, and an inspection from before was never
seen. A quote naming such an inspection is not held back forever: it is taken as decided
until a decision of the ticket with its cause arrives."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from repairline_billing.migrations import MIGRATIONS
from repairline_billing.projections import Tickets
from repairline_billing.store import PgStore
from repairline_contracts.envelope import wrap
from repairline_platform import db
from repairline_platform.clock import FixedClock
from repairline_platform.eventstore import Delivered, Origin, UnitOfWork
from tests.support.factories import warranty_decided
from tests.support.system import scratch_database

NOW = datetime(2030, 6, 3, 2, 0, tzinfo=UTC)


async def test_war_4_an_inspection_from_before_the_upgrade_is_taken_as_decided():
    before = [m for m in MIGRATIONS if m.name < "013"]
    assert len(before) == len(MIGRATIONS) - 1  # 013 is the migration under test
    async with scratch_database("upgrade") as pool, pool.acquire() as conn:
        await db.migrate(conn, before)
        await conn.execute(  # a decision the copy recorded before causes were kept
            "insert into ticket_warranty (ticket_id, unit_in_warranty, free_visit,"
            " chargeable, reason) values ('t-old', true, true, false, 'in warranty')"
        )
        await db.migrate(conn, MIGRATIONS)
        store = PgStore(conn)
        assert await store.decided_on("t-old", "ev-inspection-before", NOW)
        assert not await store.decided_on("t-new", "ev-inspection-before", NOW)

        decided = warranty_decided(
            "t-old", start_date=NOW.date(), start_source="invoice", days_paused=0, at=NOW
        )
        env = wrap(
            decided, event_id=str(uuid.uuid4()), source="/intake", time=NOW,
            region="cn-east", policy_pack="water-heater", policy_version="1",
            correlation_id="c", causation_id="ev-inspection-after", stream_version=2,
        )  # fmt: skip
        uow = UnitOfWork(
            conn=conn,
            clock=FixedClock(NOW),
            origin=Origin("/billing", "cn-east", "water-heater", "1"),
            topic_for=lambda t: t,
        )
        await Tickets().handle(uow, [Delivered(env, env.event())])
        assert await store.decided_on("t-old", "ev-inspection-after", NOW)
        assert not await store.decided_on("t-old", "ev-inspection-before", NOW)
