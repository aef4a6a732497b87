"""What counts against an engineer: his own fines (PEN-1..7), never his outlet's (FEE-5);
his missed DSP-3 deadlines in his PEN-8 assessment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from repairline_billing import domain as billing
from repairline_billing import views
from repairline_billing.projections import Penalties, SlaBreaches, Tickets
from repairline_billing.store import PgStore
from repairline_contracts.base import Decision
from repairline_contracts.dispatch import EngineerAssigned, SlaDeadlineBreached
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


async def test_pen_8_sla_component_counts_the_engineers_breached_dsp_3_deadlines(runtime_of):
    rt = await runtime_of("billing")
    assigned = EngineerAssigned(
        ticket_id="t1",
        engineer_id="e1",
        region="cn-east",
        skill="instant_water_heater",
        open_jobs_before=0,
        reason="DSP-1",
        assigned_at=NOW,
    )
    decision = Decision(pack_id=PACK.id, pack_version="1", rule_ids=("DSP-3",))
    breached = SlaDeadlineBreached(
        ticket_id="t1",
        deadline="visit",
        due_at=NOW + timedelta(hours=24),
        state="assigned",
        decision=decision,
        detected_at=NOW + timedelta(hours=24),
    )
    at = NOW + timedelta(hours=24)
    async with rt.unit_of_work() as uow:
        await Tickets().handle(uow, delivered([assigned], at=NOW, pack=PACK))
        await SlaBreaches().handle(uow, delivered([breached], at=at, pack=PACK))
        june = (datetime(2030, 6, 1, tzinfo=UTC), datetime(2030, 7, 1, tzinfo=UTC))
        facts = await PgStore(uow.conn).assessment_facts("e1", *june)
        others = await PgStore(uow.conn).assessment_facts("e2", *june)

    assert [f.kind for f in facts] == ["sla_breaches"] and others == []
    kw = {"engineer_id": "e1", "period": "2030-06", "assessed": False, "now": at}
    scored = billing.decide_assessment(PACK, facts=facts, **kw)
    clean = billing.decide_assessment(PACK, facts=[], **kw)
    assert scored.counts.sla_breaches == 1 and scored.efficiency < clean.efficiency
