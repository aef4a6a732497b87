"""FEE-5 across two units: a complaint judged while its ticket's invoice is being written.

The invoice's unit resumes the overcharges waiting for it; the complaint's unit parks an
overcharge when it finds no invoice. Without a lock the complaint can read "no invoice"
before the invoice commits and park after the invoice looked for what waits: the refund
is never made. `hold_invoice` makes the complaint wait for the invoice's unit."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime

from repairline_billing.store import PgStore
from tests.support.system import eventually

NOW = datetime(2026, 9, 30, 2, 0, tzinfo=UTC)


async def _waiting_for_a_lock(rt) -> bool:
    return bool(
        await rt.pool.fetchval(
            "select exists (select 1 from pg_locks where locktype = 'advisory' and not granted)"
        )
    )


async def test_fee_5_a_complaint_judged_while_the_invoice_is_written_sees_the_invoice(runtime_of):
    rt = await runtime_of("billing")
    ticket_id = str(uuid.uuid4())

    async def judge() -> tuple[int, str] | None:
        async with rt.unit_of_work() as judging:
            store = PgStore(judging.conn)
            await store.hold_invoice(ticket_id)
            return await store.invoice(ticket_id)

    async with rt.unit_of_work() as invoicing:
        store = PgStore(invoicing.conn)
        await invoicing.conn.execute(
            "insert into charges values ($1, 4000, 'CNY', '[]', '{}', $2::jsonb, $3, 'inv-1')",
            ticket_id,
            json.dumps({"rule_ids": ["FEE-1"]}),
            NOW,
        )
        await store.hold_invoice(ticket_id)
        judged = asyncio.create_task(judge())
        await eventually(lambda: _waiting_for_a_lock(rt), timeout=10)
        assert not judged.done()
        assert await store.resume_overcharges(ticket_id) == []
    assert await asyncio.wait_for(judged, 10) == (4000, "inv-1")
