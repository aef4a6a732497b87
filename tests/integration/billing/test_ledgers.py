"""Whose fines a ledger shows: an engineer's own (PEN-1..7), never his outlet's (FEE-5)."""

from __future__ import annotations

from datetime import UTC, datetime

from repairline_billing import domain as billing
from repairline_billing import views
from repairline_billing.projections import Penalties
from repairline_rules import load_pack
from tests.support.system import delivered

PACK = load_pack("water-heater")
NOW = datetime(2030, 6, 4, 1, 0, tzinfo=UTC)


async def test_fee_5_outlet_fine_is_not_on_the_engineers_ledger(runtime_of):
    rt = await runtime_of("billing")
    overcharge = billing.VerifiedComplaint("c1", "t1", "overcharge", "e1", "o1", 9000, NOW, "ev1")
    _refund, outlet_fine = billing.decide_overcharge(
        PACK, overcharge, tariff_fen=3000, invoice_event_id="inv1", now=NOW
    )
    attitude = billing.VerifiedComplaint("c2", "t2", "attitude", "e1", "o1", None, NOW, "ev2")
    own_fine = billing.decide_complaint_penalty(PACK, attitude, earlier=[], now=NOW)
    async with rt.unit_of_work() as uow:
        await Penalties().handle(uow, delivered([outlet_fine, own_fine], at=NOW, pack=PACK))

    engineer = await views.ledger(rt.pool, "engineer_id", "e1")
    outlet = await views.ledger(rt.pool, "outlet_id", "o1")

    assert [e["penalty_id"] for e in engineer["entries"]] == [own_fine.penalty_id]
    assert engineer["fines_fen"] == own_fine.fine_fen == 20000
    assert outlet_fine.penalty_id in [e["penalty_id"] for e in outlet["entries"]]
    assert outlet["fines_fen"] >= outlet_fine.fine_fen == 60000
